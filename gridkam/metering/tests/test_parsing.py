"""Readings files to checked readings: the long and wide96 shapes, CSV and XLSX, encodings, the row checks
with their line numbers, whole-file refusals, and chunked, streaming reading."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from django.conf import settings
from django.utils import translation
from hypothesis import given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st

from gridkam.metering.parsing import (
    FRAME_SCHEMA,
    FileFormatError,
    Rejection,
    iter_readings,
    thousandths,
)

LONG_HEADER = "metering_point,interval_end,kwh,kvarh_lag,kvarh_lead"
P_HEADER = ",".join(f"p{k}" for k in range(1, 97))
Q_HEADER = ",".join(f"q{k}" for k in range(1, 97))


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def csv_bytes(*lines: str, encoding: str = "utf-8", newline: str = "\n") -> bytes:
    return (newline.join(lines) + newline).encode(encoding)


def parse(data, file_format: str = "long", **kwargs) -> tuple[pl.DataFrame, list[Rejection]]:
    chunks = list(iter_readings(data, file_format=file_format, file_name=kwargs.pop("file_name", "test.csv"), **kwargs))
    frame = pl.concat([c.frame for c in chunks]) if chunks else pl.DataFrame(schema=FRAME_SCHEMA)
    return frame, [r for c in chunks for r in c.rejected]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(*args) -> datetime:
    """A Shanghai wall-clock time (UTC+8, no daylight saving) in UTC."""
    return datetime(*args, tzinfo=UTC) - timedelta(hours=8)


# --- long ---------------------------------------------------------------------------------------------------


def test_long_times_with_offset_or_local_become_utc():
    frame, rejected = parse(
        csv_bytes(
            LONG_HEADER,
            "M1,2025-07-01 10:15,1,,",
            "M1,2025-07-01T10:30:00,1,,",
            "M1,2025/07/01 10:45,1,,",
            "M1,2025-07-01T11:00:00+08:00,1,,",
            "M1,2025-07-01T03:15:00Z,1,,",
            "M1,2025-07-01T03:30:00+00:00,1,,",
            "M1,2025-07-01T09:45:00+0630,1,,",
            "M1,2025-07-01 11:45:00.000,1,,",
        )
    )
    assert rejected == []
    assert frame.schema == pl.Schema(FRAME_SCHEMA)
    assert frame["interval_end"].to_list() == [
        local(2025, 7, 1, 10, 15),
        local(2025, 7, 1, 10, 30),
        local(2025, 7, 1, 10, 45),
        utc(2025, 7, 1, 3, 0),
        utc(2025, 7, 1, 3, 15),
        utc(2025, 7, 1, 3, 30),
        utc(2025, 7, 1, 3, 15),
        local(2025, 7, 1, 11, 45),
    ]
    assert frame["line"].to_list() == list(range(2, 10))


def test_24_00_is_midnight_of_the_next_day():
    frame, rejected = parse(
        csv_bytes(
            LONG_HEADER,
            "M1,2025-07-31 23:45,1,,",
            "M1,2025-07-31 24:00,2,,",
            "M1,2025-12-31 24:00,3,,",
            "M1,2025-02-28T24:00:00+08:00,4,,",
            "M1,2024/02/28 24:00,5,,",
        )
    )
    assert rejected == []
    assert frame["interval_end"].to_list() == [
        local(2025, 7, 31, 23, 45),
        local(2025, 8, 1, 0, 0),
        local(2026, 1, 1, 0, 0),
        local(2025, 3, 1, 0, 0),
        local(2024, 2, 29, 0, 0),
    ]


def test_values_become_exact_thousandths_rounded_half_up():
    texts = {
        "1": 1_000,
        "1.5": 1_500,
        ".5": 500,
        "2.": 2_000,
        "+3.1": 3_100,
        "007.250": 7_250,
        "0.0005": 1,
        "0.00049999999": 0,
        "1.2345": 1_235,
        "1.23449999999999999": 1_234,
        "2.0004999": 2_000,
        "0.1234567890123456789": 123,
        "-0": 0,
        "-0.000": 0,
        "99999999999.999": 99_999_999_999_999,
        " 4.25 ": 4_250,
    }
    lines = [
        f"M1,2025-07-01 {h:02d}:{m:02d},{text},{text},{text}"
        for (h, m), text in zip(list(quarters())[: len(texts)], texts, strict=True)
    ]
    frame, rejected = parse(csv_bytes(LONG_HEADER, *lines))
    assert rejected == []
    expected = list(texts.values())
    assert frame["kwh_milli"].to_list() == expected
    assert frame["lag_milli"].to_list() == expected
    assert frame["lead_milli"].to_list() == expected


def quarters():
    for h in range(24):
        for m in (15, 30, 45):
            yield h, m


def test_optional_columns_in_any_order():
    frame, rejected = parse(csv_bytes("KWH , Interval_End,metering_point", "1.5,2025-07-01 10:15, M1 "))
    assert rejected == []
    assert frame.row(0, named=True) == {
        "line": 2,
        "point": "M1",
        "interval_end": local(2025, 7, 1, 10, 15),
        "kwh_milli": 1500,
        "lag_milli": None,
        "lead_milli": None,
        "estimated": False,
    }


def test_estimated_flag():
    frame, rejected = parse(
        csv_bytes(
            "metering_point,interval_end,kwh,estimated",
            "M1,2025-07-01 10:15,1,1",
            "M1,2025-07-01 10:30,1,y",
            "M1,2025-07-01 10:45,1,0",
            "M1,2025-07-01 11:00,1,N",
            "M1,2025-07-01 11:15,1,",
            "M1,2025-07-01 11:30,1,maybe",
        )
    )
    assert frame["estimated"].to_list() == [True, True, False, False, False]
    assert rejected == [Rejection(7, ["estimated: “maybe” is not 0, 1, Y or N."])]


def test_every_rejection_names_its_column_and_line():
    frame, rejected = parse(
        csv_bytes(
            LONG_HEADER,
            "M1,2025-07-01 10:15,1,,",  # 2: fine
            ",2025-07-01 10:15,1,,",  # 3
            "M1,yesterday,1,,",  # 4
            "M1,2025-02-30 10:15,1,,",  # 5
            "M1,2025-07-01 24:15,1,,",  # 6
            "M1,2025-07-01 10:07,1,,",  # 7
            "M1,2025-07-01 10:15:30,1,,",  # 8
            "M1,2025-07-01T10:15:00.5+08:00,1,,",  # 9
            "M1,,1,,",  # 10
            "M1,2025-07-01 10:30,abc,,",  # 11
            "M1,2025-07-01 10:30,1e3,,",  # 12
            "M1,2025-07-01 10:30,-0.001,,",  # 13
            "M1,2025-07-01 10:30,,,",  # 14
            "M1,2025-07-01 10:30,123456789012,,",  # 15
            'M1,2025-07-01 10:30,"1,5",,',  # 16
            "M1,2025-07-01 10:30,1,-2,x",  # 17
            "M1,2025-07-01 10:30,1,,,",  # 18
            "M1,2025-07-01 10:30,1",  # 19
            ",2025-07-01 10:10,-1,,",  # 20
            "M1,2025-07-01 10:30,2,,",  # 21: fine
        )
    )
    assert frame["line"].to_list() == [2, 21]
    assert rejected == [
        Rejection(3, ["metering_point: missing value."]),
        Rejection(4, ["interval_end: “yesterday” is not a valid time."]),
        Rejection(5, ["interval_end: “2025-02-30 10:15” is not a valid time."]),
        Rejection(6, ["interval_end: “2025-07-01 24:15” is not a valid time."]),
        Rejection(7, ["interval_end: 2025-07-01 10:07 is not on a quarter-hour."]),
        Rejection(8, ["interval_end: 2025-07-01 10:15:30 is not on a quarter-hour."]),
        Rejection(9, ["interval_end: 2025-07-01T10:15:00.5+08:00 is not on a quarter-hour."]),
        Rejection(10, ["interval_end: missing value."]),
        Rejection(11, ["kwh: “abc” is not a number."]),
        Rejection(12, ["kwh: “1e3” is not a number."]),
        Rejection(13, ["kwh: “-0.001” is negative."]),
        Rejection(14, ["kwh: missing value."]),
        Rejection(15, ["kwh: “123456789012” is too large."]),
        Rejection(16, ["kwh: “1,5” is not a number."]),
        Rejection(17, ["kvarh_lag: “-2” is negative.", "kvarh_lead: “x” is not a number."]),
        Rejection(18, ["The row has 6 fields; the header has 5."]),
        Rejection(19, ["The row has 3 fields; the header has 5."]),
        Rejection(
            20,
            [
                "metering_point: missing value.",
                "interval_end: 2025-07-01 10:10 is not on a quarter-hour.",
                "kwh: “-1” is negative.",
            ],
        ),
    ]


def test_long_values_are_cut_short_in_messages():
    _, rejected = parse(csv_bytes("metering_point,interval_end,kwh", f"M1,2025-07-01 10:15,{'9' * 30}x{'9' * 30}"))
    assert rejected == [Rejection(2, [f"kwh: “{'9' * 30}x{'9' * 9}…” is not a number."])]


# --- encodings, CSV dialect -----------------------------------------------------------------------------------


def test_utf8_with_bom():
    frame, rejected = parse(
        b"\xef\xbb\xbf" + csv_bytes("metering_point,interval_end,kwh", "计量点1,2025-07-01 10:15,1")
    )
    assert rejected == []
    assert frame["point"].to_list() == ["计量点1"]


def test_gb18030():
    data = csv_bytes("metering_point,interval_end,kwh", "计量点１,2025-07-01 10:15,1", "計量點2,2025-07-01 10:30,2")
    frame, rejected = parse(data.decode().encode("gb18030"))
    assert rejected == []
    assert frame["point"].to_list() == ["计量点１", "計量點2"]


def test_gb18030_decided_after_ascii_chunks():
    lines = [f"M{i},2025-07-01 10:15,1" for i in range(20)] + ["计量点,2025-07-01 10:15,1"]
    frame, _ = parse(csv_bytes("metering_point,interval_end,kwh", *lines, encoding="gb18030"), chunk_rows=5)
    assert frame["point"].to_list()[-1] == "计量点"


def test_text_in_neither_encoding_is_refused_with_its_line():
    data = csv_bytes("metering_point,interval_end,kwh", "M1,2025-07-01 10:15,1") + b"M\xff,2025-07-01 10:30,1\n"
    with pytest.raises(FileFormatError, match=r"line 3: the text is neither UTF-8 nor GB18030"):
        parse(data)


def test_utf8_file_with_a_broken_line_later_is_refused():
    data = csv_bytes("metering_point,interval_end,kwh", "计量点,2025-07-01 10:15,1") + b"M\xff,2025-07-01 10:30,1\n"
    with pytest.raises(FileFormatError, match=r"line 3: the text is not UTF-8"):
        parse(data, chunk_rows=1)


def test_crlf_quotes_and_blank_lines():
    data = csv_bytes(
        LONG_HEADER,
        '"M,1","2025-07-01 10:15","1.5","",""',
        "",
        '"M ""2""",2025-07-01 10:30,2,,',
        '"multi',
        'line",2025-07-01 10:45,3,,',
        "M4,2025-07-01 11:00,x,,",
        newline="\r\n",
    )
    frame, rejected = parse(data)
    assert frame.select("line", "point", "kwh_milli").rows() == [
        (2, "M,1", 1500),
        (4, 'M "2"', 2000),
        (5, "multi\r\nline", 3000),
    ]
    assert rejected == [Rejection(7, ["kwh: “x” is not a number."])]


def test_file_without_final_newline():
    frame, _ = parse(b"metering_point,interval_end,kwh\nM1,2025-07-01 10:15,1\nM1,2025-07-01 10:30,2")
    assert frame["kwh_milli"].to_list() == [1000, 2000]


def test_unclosed_quote_is_refused():
    with pytest.raises(FileFormatError, match=r"line 3: a quoted value is never closed"):
        parse(csv_bytes("metering_point,interval_end,kwh", "M1,2025-07-01 10:15,1", '"M2,2025-07-01 10:30,1'))


# --- whole-file refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "“test.csv” is empty."),
        (b"\n\n", "“test.csv” is empty."),
        ("metering_point,interval_end,kwh\n".encode("utf-16"), "“test.csv” is UTF-16 text"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "is an old Excel file (.xls)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "“test.csv” is not a CSV or XLSX file."),
        (b"PK\x03\x04garbage", "“test.csv” cannot be read as an XLSX workbook"),
    ],
)
def test_unusable_files_are_refused(data, message):
    with pytest.raises(FileFormatError) as error:
        parse(data)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("header", "file_format", "message"),
    [
        (
            "metering_point,interval_end",
            "long",
            "Missing columns: kwh. The header must be "
            "metering_point,interval_end,kwh[,kvarh_lag][,kvarh_lead][,estimated].",
        ),
        ("metering_point,interval_end,kwh,temperature,Note 2", "long", "Unknown columns: temperature, “note 2”."),
        ("metering_point,interval_end,kwh,KWH", "long", "Columns given twice: kwh."),
        ("metering_point,,interval_end,kwh", "long", "Header cells without a name in columns 2."),
        ("meter,interval_end,kwh", "long", "Missing columns: metering_point. Unknown columns: meter."),
        (f"metering_point,date,{P_HEADER.replace(',p96', '')}", "wide96", "Missing columns: p96."),
        ("metering_point,date,p1,p2", "wide96", "Missing columns: p3–p96."),
        (f"metering_point,date,{P_HEADER},q1,q2,q5", "wide96", "Missing columns: q3, q4, q6–q96."),
        (f"metering_point,date,{P_HEADER},p97", "wide96", "Unknown columns: p97."),
        ("metering_point,interval_end,kwh", "wide96", "Missing columns: date, p1–p96. Unknown columns: interval_end"),
    ],
)
def test_header_problems_are_refused_naming_the_columns(header, file_format, message):
    with pytest.raises(FileFormatError) as error:
        parse(csv_bytes(header, "x"), file_format)
    assert message in str(error.value)


def test_header_only_gives_no_chunks():
    assert list(iter_readings(csv_bytes(LONG_HEADER), file_format="long", file_name="x.csv")) == []


def test_trailing_unnamed_header_cells_are_ignored():
    frame, rejected = parse(
        csv_bytes("metering_point,interval_end,kwh,,", "M1,2025-07-01 10:15,1,,", "M1,2025-07-01 10:30,2")
    )
    assert rejected == []
    assert frame["kwh_milli"].to_list() == [1000, 2000]


def test_unknown_file_format_is_a_programming_error():
    with pytest.raises(ValueError, match="file_format"):
        list(iter_readings(b"", file_format="wide", file_name="x.csv"))


# --- wide96 -------------------------------------------------------------------------------------------------------


def wide_row(point: str, day: str, p: list[str], q: list[str] | None = None) -> str:
    return ",".join([point, day, *p, *(q or [])])


def test_wide96_one_reading_per_filled_cell_blank_cells_are_gaps():
    p = [f"{k}.5" for k in range(1, 97)]
    q = [f"0.{k:03d}" for k in range(1, 97)]
    p[0] = p[40] = q[0] = q[40] = ""
    q[1] = ""
    frame, rejected = parse(
        csv_bytes(
            f"metering_point,date,{P_HEADER},{Q_HEADER}",
            wide_row("M1", "2025-07-31", p, q),
            wide_row("M2", "2025/08/01", [""] * 96, [""] * 96),
        ),
        "wide96",
    )
    assert rejected == []
    assert frame.height == 94
    assert set(frame["line"]) == {2}
    first, last = frame.row(0, named=True), frame.row(-1, named=True)
    assert first["interval_end"] == local(2025, 7, 31, 0, 30)
    assert (first["kwh_milli"], first["lag_milli"]) == (2500, None)
    assert last["interval_end"] == local(2025, 8, 1, 0, 0)
    assert (last["kwh_milli"], last["lag_milli"], last["lead_milli"], last["estimated"]) == (96500, 96, None, False)
    assert local(2025, 7, 31, 10, 15) not in frame["interval_end"].to_list()  # P41 was blank
    assert frame["interval_end"].is_sorted()


def test_wide96_without_q_and_date_forms():
    p = ["1"] * 96
    frame, rejected = parse(
        csv_bytes(
            f"Metering_Point,DATE,{P_HEADER.upper().replace('P', 'P0', 9)}",
            wide_row("M1", "2025-07-01", p),
            wide_row("M1", "20250702", p),
            wide_row("M1", "2025/7/3", p),
            wide_row("M1", "2025-07-04 00:00:00", p),
        ),
        "wide96",
    )
    assert rejected == []
    assert frame.height == 4 * 96
    assert frame["lag_milli"].null_count() == frame.height
    days = frame.group_by("line").agg(pl.col("interval_end").min()).sort("line")["interval_end"].to_list()
    assert days == [local(2025, 7, d, 0, 15) for d in range(1, 5)]


def test_wide96_rejects_the_whole_row_naming_cells():
    good = ["1"] * 96
    bad = list(good)
    bad[3], bad[10] = "-1", "x"
    q_without_p = ["1"] * 96
    q_without_p[4] = ""
    frame, rejected = parse(
        csv_bytes(
            f"metering_point,date,{P_HEADER},{Q_HEADER}",
            wide_row("M1", "2025-07-01", good, good),
            wide_row("M1", "2025-07-02", bad, good),
            wide_row("M1", "2025-07-03", q_without_p, good),
            wide_row("", "2025-02-30", good, ["y"] + good[1:]),
            wide_row("M1", "", good, good),
            "M1,2025-07-06,1,2",
            wide_row("M1", "2025-07-07", good, good),
        ),
        "wide96",
    )
    assert sorted(set(frame["line"])) == [2, 8]
    assert rejected == [
        Rejection(3, ["p4: “-1” is negative.", "p11: “x” is not a number."]),
        Rejection(4, ["q5: “1” is given but p5 is blank."]),
        Rejection(
            5,
            ["metering_point: missing value.", "date: “2025-02-30” is not a valid date.", "q1: “y” is not a number."],
        ),
        Rejection(6, ["date: missing value."]),
        Rejection(7, ["The row has 4 fields; the header has 194."]),
    ]


def test_wide96_chunk_rows_counts_readings():
    rows = [wide_row("M1", f"2025-07-{d:02d}", ["1"] * 96) for d in range(1, 6)]
    chunks = list(
        iter_readings(
            csv_bytes(f"metering_point,date,{P_HEADER}", *rows), file_format="wide96", file_name="w.csv", chunk_rows=200
        )
    )
    assert [sorted(set(c.frame["line"])) for c in chunks] == [[2, 3], [4, 5], [6]]


# --- XLSX --------------------------------------------------------------------------------------------------------


def xlsx(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.create_sheet("ignored").append(["not", "read"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_xlsx_long_first_sheet_with_typed_cells():
    data = xlsx(
        [
            ["metering_point", "interval_end", "kwh", "kvarh_lag", "estimated"],
            ["M1", datetime(2025, 7, 1, 10, 15), 1.25, 0.1 + 0.2, True],
            [],
            # Excel's binary day fractions: 10:29:59.999999 is 10:30.
            ["M1", datetime(2025, 7, 1, 10, 29, 59, 999_999), 1e-5, None, "N"],
            ["M1", "2025-07-01T10:45:00+08:00", 3, 12, None],
            [1001, "2025-07-01 24:00", "0.0005", None, False],
            ["M1", datetime(2025, 7, 1, 11, 7), -1, None, None],
            ["M1", "2025-07-01 11:15", 1, None, None, "extra"],
        ]
    )
    frame, rejected = parse(data, file_name="readings.xlsx")
    assert frame.select("line", "point", "interval_end", "kwh_milli", "lag_milli", "estimated").rows() == [
        (2, "M1", local(2025, 7, 1, 10, 15), 1250, 300, True),
        (4, "M1", local(2025, 7, 1, 10, 30), 0, None, False),
        (5, "M1", local(2025, 7, 1, 10, 45), 3000, 12000, False),
        (6, "1001", local(2025, 7, 2, 0, 0), 1, None, False),
    ]
    assert rejected == [
        Rejection(7, ["interval_end: 2025-07-01 11:07:00 is not on a quarter-hour.", "kwh: “-1” is negative."]),
        Rejection(8, ["The row has 6 fields; the header has 5."]),
    ]


def test_xlsx_wide96_and_chunks():
    header = ["metering_point", "date", *(f"p{k}" for k in range(1, 97))]
    data = xlsx([header] + [["M1", datetime(2025, 7, d), *([0.25] * 96)] for d in range(1, 4)])
    chunks = list(iter_readings(data, file_format="wide96", file_name="w.xlsx", chunk_rows=96))
    assert [c.frame.height for c in chunks] == [96, 96, 96]
    frame = pl.concat(c.frame for c in chunks)
    assert frame["kwh_milli"].sum() == 3 * 96 * 250
    assert frame["interval_end"].max() == local(2025, 7, 4, 0, 0)


def test_xlsx_header_problems_are_refused():
    with pytest.raises(FileFormatError, match="Missing columns: kwh"):
        parse(xlsx([["metering_point", "interval_end"], ["M1", "2025-07-01 10:15"]]), file_name="x.xlsx")


# --- chunks and streaming ---------------------------------------------------------------------------------------


def test_chunks_hold_chunk_rows_rows_with_their_lines():
    rows = [f"M1,2025-07-01 {h:02d}:{m:02d},{i}" for i, (h, m) in enumerate(list(quarters())[:35])]
    chunks = list(
        iter_readings(
            csv_bytes("metering_point,interval_end,kwh", *rows), file_format="long", file_name="x.csv", chunk_rows=10
        )
    )
    assert [c.frame["line"].to_list() for c in chunks] == [
        list(range(2, 12)),
        list(range(12, 22)),
        list(range(22, 32)),
        list(range(32, 37)),
    ]
    assert pl.concat(c.frame for c in chunks)["kwh_milli"].to_list() == [i * 1000 for i in range(35)]


def test_chunks_count_rows_not_lines():
    rows = [f"M1,2025-07-01 {h:02d}:{m:02d},1" for h, m in list(quarters())[:5]]
    data = csv_bytes(
        "", "metering_point,interval_end,kwh", rows[0], "", "", rows[1], '"M', '1",2025-07-01 10:00,1', *rows[2:], "bad"
    )
    chunks = list(iter_readings(data, file_format="long", file_name="x.csv", chunk_rows=2))
    assert [(c.frame["line"].to_list(), [r.line for r in c.rejected]) for c in chunks] == [
        ([3, 6], []),
        ([7, 9], []),
        ([10, 11], []),
        ([], [12]),
    ]


class CountingReader(io.RawIOBase):
    """A binary file that counts the bytes handed out."""

    def __init__(self, path: Path) -> None:
        self.file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.bytes_read += len(data)
        return data

    def close(self) -> None:
        self.file.close()
        super().close()


def long_file(path: Path, rows: int) -> Path:
    frame = pl.select(i=pl.int_range(rows)).select(
        metering_point=pl.format("P{}", (pl.col("i") % 50).cast(pl.String)),
        interval_end=(pl.datetime(2025, 1, 1) + pl.duration(minutes=15 * (pl.col("i") // 50 + 1))).dt.strftime(
            "%Y-%m-%d %H:%M"
        ),
        kwh=pl.format("{}.{}", pl.col("i") % 997, (pl.col("i") % 1000).cast(pl.String).str.zfill(3)),
        kvarh_lag=pl.lit("1.5"),
        kvarh_lead=pl.lit("0"),
    )
    frame.write_csv(path)
    return path


def test_large_file_is_streamed_chunk_by_chunk(tmp_path):
    path = long_file(tmp_path / "long.csv", 500_000)
    size = path.stat().st_size
    reader = CountingReader(path)
    chunks = iter_readings(reader, file_format="long", file_name="long.csv", chunk_rows=100_000)
    first = next(chunks)
    assert first.frame.height == 100_000
    assert reader.bytes_read < size / 2  # the first chunk came before most of the file was read
    heights = [first.frame.height] + [c.frame.height for c in chunks]
    assert heights == [100_000] * 5
    assert reader.bytes_read == size
    reader.close()


MEASURE = """
import json, resource, sys
import django
django.setup()
from gridkam.metering.parsing import iter_readings
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rows = sum(c.frame.height for c in iter_readings(sys.argv[1], file_format="long", file_name="x.csv", chunk_rows=50_000))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": rows, "growth_kib": after - before}))
"""


def test_peak_memory_follows_chunk_size_not_file_size(tmp_path):
    path = long_file(tmp_path / "long.csv", 500_000)
    env = os.environ | {"DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings")}
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=settings.BASE_DIR,
    )
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["rows"] == 500_000
    # ~21 MB of CSV; 50,000-row chunks keep the parser's growth far below a slurp of a multi-GB file.
    assert measured["growth_kib"] < 256 * 1024


def test_path_and_file_object_inputs(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(csv_bytes("metering_point,interval_end,kwh", "M1,2025-07-01 10:15,1"))
    for data in (path, str(path)):
        assert parse(data)[0].height == 1
    with open(path, "rb") as stream:
        assert parse(stream)[0].height == 1
        assert not stream.closed


def test_thousandths_expression():
    values = pl.Series(["3.17", "0", " 2.0005 ", "-1", "x", None, ""]).to_frame("t")
    assert values.select(thousandths(pl.col("t"))).to_series().to_list() == [3170, 0, 2001, None, None, None, None]


def test_dates_in_wide96_are_local_days():
    # 1 January 2018, P1: 00:15 Shanghai is 16:15 UTC on 31 December 2017.
    frame, _ = parse(
        csv_bytes(f"metering_point,date,{P_HEADER}", wide_row("M", "2018-01-01", ["1"] + [""] * 95)), "wide96"
    )
    assert frame["interval_end"].to_list() == [utc(2017, 12, 31, 16, 15)]
    assert date(2018, 1, 1) == (frame["interval_end"][0] + timedelta(hours=8)).date()


def test_plain_decimals_take_a_shortcut_to_the_same_thousandths():
    plain = ["0", "1", "1.5", "2.", "007.250", "0.001", "12345678901.234", "99999999999.999", "4.25", "3.100"]
    lines = [
        f"M1,2025-07-01 {h:02d}:{m:02d},{text},{text},{text}" for (h, m), text in zip(quarters(), plain, strict=False)
    ]
    shortcut, _ = parse(csv_bytes(LONG_HEADER, *lines))
    # One value that is not plain (a sign) sends the chunk through the general rules.
    general, _ = parse(csv_bytes(LONG_HEADER, *lines, "M1,2025-07-01 23:45,+1,+1,+1"))
    expected = [0, 1_000, 1_500, 2_000, 7_250, 1, 12_345_678_901_234, 99_999_999_999_999, 4_250, 3_100]
    for column in ("kwh_milli", "lag_milli", "lead_milli"):
        assert shortcut[column].to_list() == general[column].to_list()[:-1] == expected


@settings_hypothesis(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**11 - 1), st.integers(0, 999), st.integers(0, 3)), min_size=1, max_size=40))
def test_plain_decimal_shortcut_is_exact(values):
    texts = [
        f"{whole}.{fraction:03d}"[: len(str(whole)) + (decimals and decimals + 1)]
        for whole, fraction, decimals in values
    ]
    lines = [f"M1,2025-07-01 {h:02d}:{m:02d},{text}" for (h, m), text in zip(quarters(), texts, strict=False)]
    frame, rejected = parse(csv_bytes("metering_point,interval_end,kwh", *lines))
    assert rejected == []
    assert frame["kwh_milli"].to_list() == [int(Decimal(text) * 1000) for text in texts]
