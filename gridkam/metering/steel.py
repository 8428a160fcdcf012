"""The shared steel plant year (shared/data/steel/README.md) as GridKAM readings, and as files in the two
import formats, for tests, demos and benchmarks.

Pure code (polars, no ORM). How the source is read:

- ``date`` (``dd/mm/yyyy HH:MM``) is the END of the interval. The row that closes a day at midnight carries
  that day's date: ``01/01/2018 00:00`` comes right after ``01/01/2018 23:45`` and is read as 24:00 on
  1 January, that is 2018-01-02 00:00. Exactly the rows at 00:00 right after 23:45 of the same date are
  moved; the result must then run strictly forward in file order, or ``ValueError`` is raised rather than
  a guess made.
- The plant is in Korea, but its clock times are taken as Asia/Shanghai local times, as if it were one of
  our key accounts: its days, shifts and weeks stay where the file has them.
- kWh from ``Usage_kWh``, lagging kvarh from ``Lagging_Current_Reactive_Power_kVarh``, leading kvarh from
  ``Leading_Current_Reactive_Power_kVarh``, as integer thousandths read exactly from the text.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import polars as pl

from .parsing import FRAME_SCHEMA, LOCAL_TIME_ZONE, P_COLUMNS, Q_COLUMNS, thousandths

__all__ = ["STEEL_CSV", "steel_rows", "write_long", "write_wide96"]

# A gzip copy of the published file ships with the code (data/README.md: source and CC BY 4.0 licence), so
# tests, the demo and the benchmarks have it on any machine.
STEEL_CSV = Path(
    os.environ.get("GRIDKAM_STEEL_CSV") or Path(__file__).resolve().parent / "data" / "steel_industry_2018.csv.gz"
)

_VALUES = {
    "kwh_milli": "Usage_kWh",
    "lag_milli": "Lagging_Current_Reactive_Power_kVarh",
    "lead_milli": "Leading_Current_Reactive_Power_kVarh",
}
_QUARTER = pl.duration(minutes=15)


def steel_rows(path: str | os.PathLike = STEEL_CSV) -> pl.DataFrame:
    """The file's rows in file order: ``interval_end`` (UTC) and ``kwh_milli``, ``lag_milli``,
    ``lead_milli`` (thousandths of kWh / kvarh)."""
    source = pl.read_csv(_plain(path), infer_schema=False, columns=["date", *_VALUES.values()])
    clock = pl.col("date").str.strptime(pl.Datetime("us"), "%d/%m/%Y %H:%M", strict=True)
    previous = clock.shift(1)
    closes_previous_day = (
        (clock.dt.time() == pl.time(0, 0))
        & (previous.dt.date() == clock.dt.date())
        & (previous.dt.time() == pl.time(23, 45))
    )
    local = pl.when(closes_previous_day).then(clock + pl.duration(days=1)).otherwise(clock)
    rows = source.select(
        pl.int_range(2, pl.len() + 2).alias("line"),
        local.dt.replace_time_zone(LOCAL_TIME_ZONE).dt.convert_time_zone("UTC").alias("interval_end"),
        *(thousandths(pl.col(column)).alias(name) for name, column in _VALUES.items()),
    )
    backwards = rows.filter(pl.col("interval_end").diff() <= pl.duration(seconds=0))
    if backwards.height:
        raise ValueError(f"{path}, line {backwards['line'][0]}: the time does not follow the row before it.")
    for name, column in _VALUES.items():
        bad = rows.filter(pl.col(name).is_null())
        if bad.height:
            raise ValueError(f"{path}, line {bad['line'][0]}: {column} is not a non-negative decimal.")
    return rows.drop("line").cast({"interval_end": FRAME_SCHEMA["interval_end"]})


def _plain(path: str | os.PathLike) -> str | os.PathLike | bytes:
    """The file's bytes, decompressed when it is the shipped ``.gz`` copy."""
    if str(path).endswith(".gz"):
        return gzip.decompress(Path(path).read_bytes())
    return path


def _decimal_text(milli: pl.Expr) -> pl.Expr:
    """Thousandths as decimal text with three decimals (``3170`` → ``3.170``); blank when null."""
    return pl.format("{}.{}", milli // 1000, (milli % 1000).cast(pl.String).str.zfill(3))


def _local(interval_end: pl.Expr) -> pl.Expr:
    return interval_end.dt.convert_time_zone(LOCAL_TIME_ZONE).dt.replace_time_zone(None)


def write_long(df: pl.DataFrame, point: str, path: str | os.PathLike) -> None:
    """``df`` (as from ``steel_rows``) as a ``long`` CSV for one metering point; local times without offset,
    midnight as 00:00 of the next day."""
    df.select(
        pl.lit(point).alias("metering_point"),
        _local(pl.col("interval_end")).dt.strftime("%Y-%m-%d %H:%M").alias("interval_end"),
        _decimal_text(pl.col("kwh_milli")).alias("kwh"),
        _decimal_text(pl.col("lag_milli")).alias("kvarh_lag"),
        _decimal_text(pl.col("lead_milli")).alias("kvarh_lead"),
    ).write_csv(path, line_terminator="\n")


def write_wide96(df: pl.DataFrame, point: str, path: str | os.PathLike) -> None:
    """``df`` (as from ``steel_rows``) as a ``wide96`` CSV for one metering point: one row per local day
    of the interval starts, P1 (00:15) … P96 (24:00) and Q1 … Q96 (lagging kvarh); missing intervals are
    blank. The format has no leading kvarh."""
    end = _local(pl.col("interval_end"))
    day = (end - _QUARTER).dt.date()
    cells = df.select(
        day.alias("date"),
        ((end - day.cast(pl.Datetime("us"))).dt.total_minutes() // 15).cast(pl.String).alias("k"),
        _decimal_text(pl.col("kwh_milli")).alias("p"),
        _decimal_text(pl.col("lag_milli")).alias("q"),
    )
    days = cells.select(pl.col("date").unique().sort())
    for letter, columns in (("p", P_COLUMNS), ("q", Q_COLUMNS)):
        wide = cells.with_columns((letter + pl.col("k")).alias("k")).pivot(on="k", index="date", values=letter)
        wide = wide.with_columns(pl.lit(None, pl.String).alias(c) for c in columns if c not in wide.columns)
        days = days.join(wide.select("date", *columns), on="date", how="left")
    days.select(
        pl.lit(point).alias("metering_point"),
        pl.col("date").dt.strftime("%Y-%m-%d"),
        *P_COLUMNS,
        *Q_COLUMNS,
    ).write_csv(path, line_terminator="\n")
