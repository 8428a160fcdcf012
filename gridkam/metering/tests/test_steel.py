"""The shared steel plant year: read with its midnight quirk resolved, written as long and wide96 files that
parse back to the same readings."""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest
from django.utils import translation

from gridkam.metering.parsing import iter_readings
from gridkam.metering.steel import STEEL_CSV, steel_rows, write_long, write_wide96

pytestmark = pytest.mark.skipif(
    not STEEL_CSV.exists(), reason=f"the steel data set is not at {STEEL_CSV} (set GRIDKAM_STEEL_CSV)"
)

POINT = "STEEL-1"


def local(*args) -> datetime:
    """A Shanghai wall-clock time (UTC+8) in UTC."""
    return datetime(*args, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture(scope="module")
def rows() -> pl.DataFrame:
    return steel_rows()


def parsed(path, file_format) -> pl.DataFrame:
    with translation.override("en"):
        chunks = list(iter_readings(path, file_format=file_format, file_name=path.name))
    assert [r for c in chunks for r in c.rejected] == []
    return pl.concat(c.frame for c in chunks)


def test_a_year_of_quarter_hours_from_00_15_on_new_years_day(rows):
    assert rows.height == 35_040
    assert rows["interval_end"][0] == local(2018, 1, 1, 0, 15)
    assert rows["interval_end"][-1] == local(2019, 1, 1, 0, 0)
    # The quirk resolved, the year is complete and in order: every step is one quarter-hour.
    assert rows["interval_end"].diff().drop_nulls().unique().to_list() == [timedelta(minutes=15)]


def test_midnight_row_closes_the_day_it_is_dated(rows):
    # Line 97 of the file: "01/01/2018 00:00,3.42,3.46,0,…" right after "01/01/2018 23:45,3.67,…".
    assert rows.row(95, named=True) == {
        "interval_end": local(2018, 1, 2, 0, 0),
        "kwh_milli": 3420,
        "lag_milli": 3460,
        "lead_milli": 0,
    }
    assert rows.row(94, named=True)["interval_end"] == local(2018, 1, 1, 23, 45)
    assert rows.row(96, named=True)["interval_end"] == local(2018, 1, 2, 0, 15)


def test_totals_match_the_source_to_the_thousandth(rows):
    with gzip.open(STEEL_CSV, "rt", encoding="utf-8-sig", newline="") as source:
        records = list(csv.DictReader(source))
    for column, name in (
        ("Usage_kWh", "kwh_milli"),
        ("Lagging_Current_Reactive_Power_kVarh", "lag_milli"),
        ("Leading_Current_Reactive_Power_kVarh", "lead_milli"),
    ):
        total = sum(Decimal(r[column]) for r in records)
        assert Decimal(rows[name].sum()) / 1000 == total, column


def test_long_and_wide96_files_parse_back_to_the_same_readings(rows, tmp_path):
    write_long(rows, POINT, tmp_path / "steel_long.csv")
    write_wide96(rows, POINT, tmp_path / "steel_wide96.csv")
    long = parsed(tmp_path / "steel_long.csv", "long")
    wide = parsed(tmp_path / "steel_wide96.csv", "wide96")

    assert long.height == wide.height == 35_040
    assert set(long["point"]) == set(wide["point"]) == {POINT}
    assert long.select("interval_end", "kwh_milli", "lag_milli", "lead_milli").equals(rows)
    assert not long["estimated"].any()
    same = ["point", "interval_end", "kwh_milli", "lag_milli", "estimated"]
    assert wide.select(same).equals(long.select(same))
    # wide96 has no column for leading kvarh (Q is lagging).
    assert wide["lead_milli"].null_count() == wide.height
    assert wide["kwh_milli"].sum() == rows["kwh_milli"].sum()


def test_written_files_use_local_times_and_the_next_day_for_midnight(rows, tmp_path):
    write_long(rows.head(97), POINT, tmp_path / "long.csv")
    lines = (tmp_path / "long.csv").read_text().splitlines()
    assert lines[0] == "metering_point,interval_end,kwh,kvarh_lag,kvarh_lead"
    assert lines[1] == "STEEL-1,2018-01-01 00:15,3.170,2.950,0.000"
    assert lines[96] == "STEEL-1,2018-01-02 00:00,3.420,3.460,0.000"

    write_wide96(rows.head(97), POINT, tmp_path / "wide.csv")
    with open(tmp_path / "wide.csv", newline="") as wide:
        header, first, second = list(csv.reader(wide))
    assert header == ["metering_point", "date", *(f"p{k}" for k in range(1, 97)), *(f"q{k}" for k in range(1, 97))]
    assert first[:3] == ["STEEL-1", "2018-01-01", "3.170"]
    assert (first[header.index("p96")], first[header.index("q96")]) == ("3.420", "3.460")
    # The second day holds its first quarter-hour only: the others are blank, a gap.
    assert second[:3] == ["STEEL-1", "2018-01-02", "3.200"] and set(second[3:98]) == {""}


def write_source(path, *stamps: str) -> None:
    lines = ["date,Usage_kWh,Lagging_Current_Reactive_Power_kVarh,Leading_Current_Reactive_Power_kVarh"]
    lines += [f"{stamp},1,0.5,0" for stamp in stamps]
    path.write_text("\n".join(lines) + "\n")


def test_midnight_dated_the_next_day_is_left_alone(tmp_path):
    write_source(tmp_path / "usual.csv", "01/01/2018 23:45", "02/01/2018 00:00", "02/01/2018 00:15")
    ends = steel_rows(tmp_path / "usual.csv")["interval_end"].to_list()
    assert ends == [local(2018, 1, 1, 23, 45), local(2018, 1, 2, 0, 0), local(2018, 1, 2, 0, 15)]


def test_a_midnight_that_fits_neither_reading_is_refused(tmp_path):
    # 00:00 after 23:30: not the quirk's place, and as dated it would go back in time.
    write_source(tmp_path / "odd.csv", "01/01/2018 23:30", "01/01/2018 00:00", "02/01/2018 00:15")
    with pytest.raises(ValueError, match="line 3: the time does not follow the row before it"):
        steel_rows(tmp_path / "odd.csv")


def test_a_bad_value_is_refused(tmp_path):
    write_source(tmp_path / "bad.csv", "01/01/2018 00:15")
    text = (tmp_path / "bad.csv").read_text().replace(",1,0.5,0", ",-1,0.5,0")
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(ValueError, match="line 2: Usage_kWh is not a non-negative decimal"):
        steel_rows(tmp_path / "bad.csv")
