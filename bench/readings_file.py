"""The readings file of the issue-4 import benchmark: one month of 15-minute data for many metering points, made
from the shipped steel plant year (gridkam/metering/steel.py).

Each point gets the steel plant's curve from its own offset into the year (wrapping round at the end) and its own
scale (0.5 to 3 times), so no two points carry the same values and every point has the plant's shape: shifts,
weekends, a holiday here and there. The file is in the **long** format (``metering_point,interval_end,kwh,
kvarh_lag,kvarh_lead``, local times without offset, 24:00 written as 00:00 of the next day): one row per reading,
the heaviest shape to parse and the one acquisition systems export bulk data in. Rows run point by point (each
point's month in one run, as a per-meter export comes out) unless ``order="time"`` (every point's reading of an
interval, then the next interval, as a snapshot export comes out).

The file is written block by block (a few hundred points, or a day of intervals, at a time), so memory stays at
a block's worth whatever the number of points, and it is written once: it is cached under a name that carries
every parameter and the generator's version, and written to a temporary name first, so an interrupted run never
leaves a half file behind to be reused.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

# Bump when the file's content changes for the same parameters: the cached copies are then written again.
GENERATOR_VERSION = 1
INTERVALS_PER_DAY = 96
POINT_PREFIX = "BR"
# Points per block in point order (× 2,880 rows a month ≈ 720,000 rows); days per block in time order.
POINTS_PER_BLOCK = 250
DAYS_PER_BLOCK = 1
SCALE_PERMILLE = (500, 3000)
HEADER = ("metering_point", "interval_end", "kwh", "kvarh_lag", "kvarh_lead")


@dataclass(frozen=True)
class ReadingsFileSpec:
    """What the file holds: ``points`` metering points × ``days`` days from ``first_day`` (local)."""

    points: int = 10_000
    first_day: datetime.date = datetime.date(2025, 9, 1)
    days: int = 30
    seed: int = 2026
    order: str = "point"

    def __post_init__(self) -> None:
        if self.order not in ("point", "time"):
            raise ValueError(f"order must be 'point' or 'time', not {self.order!r}")
        if self.points < 1 or self.days < 1:
            raise ValueError("points and days must be at least 1")

    @property
    def readings(self) -> int:
        return self.points * self.days * INTERVALS_PER_DAY

    @property
    def file_name(self) -> str:
        return (
            f"readings-long-{self.points}p-{self.first_day:%Y%m%d}-{self.days}d-{self.order}"
            f"-s{self.seed}-v{GENERATOR_VERSION}.csv"
        )


def point_codes(points: int) -> list[str]:
    return [f"{POINT_PREFIX}{index:06d}" for index in range(points)]


def offsets_and_scales(spec: ReadingsFileSpec, year_intervals: int) -> tuple[np.ndarray, np.ndarray]:
    """Each point's first interval in the steel year and its scale in thousandths, drawn from the seed."""
    rng = np.random.default_rng(spec.seed)
    offsets = rng.integers(0, year_intervals, spec.points)
    scales = rng.integers(SCALE_PERMILLE[0], SCALE_PERMILLE[1] + 1, spec.points)
    return offsets, scales


def readings_file(spec: ReadingsFileSpec, directory: str | os.PathLike) -> Path:
    """The path of the benchmark file for ``spec`` in ``directory``, written first if it is not there yet."""
    directory = Path(directory)
    path = directory / spec.file_name
    if path.is_file():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        readings_file_write(spec, partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def readings_file_write(spec: ReadingsFileSpec, path: str | os.PathLike) -> None:
    """Write the file for ``spec`` to ``path``, block by block."""
    # Imported here: steel.py reads Django's translation machinery through parsing.py.
    from gridkam.metering.steel import steel_rows

    year = steel_rows()
    values = np.stack([year[column].to_numpy() for column in ("kwh_milli", "lag_milli", "lead_milli")])
    offsets, scales = offsets_and_scales(spec, year.height)
    intervals = spec.days * INTERVALS_PER_DAY
    first = datetime.datetime.combine(spec.first_day, datetime.time())
    ends = pl.datetime_range(
        first + datetime.timedelta(minutes=15),
        first + datetime.timedelta(days=spec.days),
        interval="15m",
        eager=True,
    ).dt.strftime("%Y-%m-%d %H:%M")
    codes = pl.Series(point_codes(spec.points))
    with open(path, "wb") as out:
        out.write((",".join(HEADER) + "\n").encode())
        if spec.order == "point":
            for start in range(0, spec.points, POINTS_PER_BLOCK):
                chosen = np.arange(start, min(start + POINTS_PER_BLOCK, spec.points))
                position = (offsets[chosen, None] + np.arange(intervals)) % year.height  # point × interval
                _block(values, scales, chosen, position, codes, ends, np.arange(intervals)).write_csv(
                    out, include_header=False, float_precision=3, line_terminator="\n"
                )
        else:
            step = DAYS_PER_BLOCK * INTERVALS_PER_DAY
            chosen = np.arange(spec.points)
            for start in range(0, intervals, step):
                columns = np.arange(start, min(start + step, intervals))
                # interval × point, so that the rows run interval by interval
                position = (offsets[None, chosen] + columns[:, None]) % year.height
                block = _block(
                    values,
                    scales,
                    np.broadcast_to(chosen, position.shape),
                    position,
                    codes,
                    ends,
                    np.broadcast_to(columns[:, None], position.shape),
                )
                block.write_csv(out, include_header=False, float_precision=3, line_terminator="\n")


def _block(
    values: np.ndarray,
    scales: np.ndarray,
    points: np.ndarray,
    position: np.ndarray,
    codes: pl.Series,
    ends: pl.Series,
    intervals: np.ndarray,
) -> pl.DataFrame:
    """Rows of a block: ``position`` (2-D, row-major order is file order) indexes the steel year; ``points`` and
    ``intervals`` index ``codes`` and ``ends`` and broadcast to its shape (1-D: ``points`` one per row of
    ``position``, ``intervals`` one per column)."""
    shape = position.shape
    point_grid = np.broadcast_to(points[:, None], shape) if points.ndim == 1 else points
    end_grid = np.broadcast_to(intervals[None, :], shape) if intervals.ndim == 1 else intervals
    scale = scales[point_grid]
    # Integer thousandths scaled half-up; as float the value prints back exactly with three decimals.
    kwh, lag, lead = ((values[i][position] * scale + 500) // 1000 / 1000 for i in range(3))
    return pl.DataFrame(
        {
            "metering_point": codes.gather(point_grid.ravel()),
            "interval_end": ends.gather(end_grid.ravel()),
            "kwh": kwh.ravel(),
            "kvarh_lag": lag.ravel(),
            "kvarh_lead": lead.ravel(),
        }
    )
