"""The readings loader: a readings file (long or 96-point daily, CSV or XLSX) into readings and their rollups.

``readings_import`` streams the file through ``parsing.iter_readings``; ``chunks_import`` does the rest. On
PostgreSQL three threads overlap: the file is parsed a chunk ahead (``_prefetched``), the loader checks and prepares
the next chunk, and the chunk before it is written by binary COPY (``_CopyPipe``, on the import's own connection).

1. The batch row is written first, outside the transaction, so that a crash leaves a "failed" record and
   nothing else. A dry run writes no batch.
2. Each chunk is completed in polars: metering point ids (codes resolved once, a few thousand per query), the
   local day and the time-of-use period of the interval START (tariff version in effect on that day), and the
   physical-maximum check. Rejected lines are dropped and the rest written (binary COPY on PostgreSQL,
   executemany on SQLite): the file is never held whole in memory.
3. Where the rows go depends on their month (on PostgreSQL; SQLite stages everything):
   - a month whose partition exists already: to a temporary staging table, to be compared with the stored
     readings;
   - a month without a partition yet (nothing stored can be overwritten): straight into a new table that
     becomes the month's partition at the end. It is loaded without indexes or foreign keys, which are added
     once in bulk (a sorted index build, one set-based check per foreign key) instead of row by row, and it is
     attached just before the commit. Its rows are all new: their daily sums per metering point, and the
     per-interval sums of accounts with several billing points, are taken in polars as the chunks pass (exact
     integer thousandths) and merged in SQL (rollups.py). The line numbers of these rows go to a temporary
     file, read back only to name the lines of duplicated readings.
4. Duplicates (point, interval end) are found across chunks: GROUP BY on the staging table, the primary key
   build on a new partition. Gaps are looked for only among the points whose readings do not cover their
   span exactly (counted per point as the chunks pass).
5. A rejected line and no ``skip_invalid`` (or a file-level error): the transaction is rolled back and the
   batch marked "rejected" with the rejections.
6. Staged readings are classified against the stored ones (new, changed, unchanged); the previous values of
   changed readings go to ReadingUndo; one INSERT … ON CONFLICT writes the new and changed ones.
7. Rollups of the touched (point, day) keys, their months and accounts, and the accounts' MonthlyUsage are
   recomputed in SQL (rollups.py).

Steps 2–7 run in one transaction. No step loops over readings in Python: the number of queries depends on the
number of chunks, months, metering points (one lookup per few thousand codes) and tariffs, never on the readings.

Locks: a new partition's table is created under a transaction-level advisory lock on its month, so two imports
never build the same month; an import that finds the lock taken stages that month instead (and waits for the
lock before it writes). Adding the foreign keys takes SHARE ROW EXCLUSIVE locks on the metering points and
import batches (as creating a partition always did): writes to those tables wait for the commit. The attach,
the import's last statement, briefly takes ACCESS EXCLUSIVE locks on them, so reads wait for the commit too.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import itertools
import logging
import os
import queue
import re
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from gridkam.customers.choices import MeteringPurpose
from gridkam.customers.importing import import_scope_path
from gridkam.customers.models import MeteringPoint
from gridkam.tariffs.calendar import NO_PERIOD, TouCalendar, parse_calendar
from gridkam.tariffs.models import TariffVersion

from .choices import BatchStatus, FileFormat
from .models import ImportBatch
from .rollups import (
    ACCOUNT_INTERVAL_PARTS_COLUMNS,
    POINT_DAY_PARTS_COLUMNS,
    SLOT_BITS,
    SLOT_SHIFT,
    TOUCHED,
    Dialect,
    rollups_refresh,
    temp_table_create,
    temp_tables_drop,
)

logger = logging.getLogger(__name__)

STAGE = "gk_stage"
# Daily sums per metering point, and sums per account and interval of billing points of accounts with more than one,
# of the rows going to new partitions (rollups.POINT_DAY_PARTS_COLUMNS, rollups.ACCOUNT_INTERVAL_PARTS_COLUMNS).
PARTS = "gk_point_day_parts"
ACCOUNT_PARTS = "gk_account_interval_parts"
# Point days of new partitions whose sums must be taken from the readings after all (duplicates left out).
DIRTY = "gk_point_day_dirty"
READINGS = "metering_reading"
INTERVAL = datetime.timedelta(minutes=15)
INTERVAL_SECONDS = 900
# Codes per lookup query: well under SQLite's and PostgreSQL's parameter limits.
LOOKUP_CHUNK = 2000
# The outcome and the batch list the first gaps only; a file with thousands of gaps says so by itself.
GAPS_LISTED = 1000
# A file-level problem (unreadable file, bad header) is reported as a rejection of "line 0", the whole file.
FILE_LINE = 0
HASH_BLOCK = 1 << 20
# Memory for the import's own sorts and hashes (duplicates, gaps, rollups) and index builds, this transaction only.
WORK_MEM = "512MB"
MAINTENANCE_WORK_MEM = "1GB"
# Advisory lock keys of "a partition of metering_reading is being built": this prefix (ASCII "GKRD") and the month.
PARTITION_LOCK = 0x474B5244 << 32
# Readings per parsed chunk, and chunks parsed ahead of the one being prepared. About five chunks are in memory at
# once (parsed ahead, prepared, being copied): the import's peak memory follows these, not the file's size.
CHUNK_ROWS = 300_000
PREFETCH = 1
# Rows of the line-number spill read back at a time when duplicates are named.
SPILL_BLOCK_ROWS = 1 << 20
STAGE_COLUMNS = (
    "line",
    "metering_point_id",
    "interval_end",
    "day",
    "period",
    "kwh",
    "kvarh_lag",
    "kvarh_lead",
    "estimated",
)
# Column types that mean the same on both databases (SQLite reads them by affinity, like Django's own tables).
STAGE_DDL = f"""
    CREATE TEMP TABLE {STAGE} (
        line bigint NOT NULL,
        metering_point_id bigint NOT NULL,
        interval_end timestamptz NOT NULL,
        day date NOT NULL,
        period smallint NULL,
        kwh numeric(14, 3) NOT NULL,
        kvarh_lag numeric(14, 3) NULL,
        kvarh_lead numeric(14, 3) NULL,
        estimated boolean NOT NULL,
        action smallint NOT NULL DEFAULT 0
    )
"""
# Staged reading classes.
NEW, CHANGED, UNCHANGED = 0, 1, 2
READING_VALUES = ("kwh", "kvarh_lag", "kvarh_lead", "estimated")
# The frame columns the staging table's columns are written from, the columns a new partition is written with and
# theirs, and the binary COPY type of frame columns other than int8 (kWh and kvarh are thousandths, written as
# numeric).
_STAGE_SOURCES = (
    "line",
    "metering_point_id",
    "interval_end",
    "day",
    "period",
    "kwh_milli",
    "lag_milli",
    "lead_milli",
    "estimated",
)
READING_COLUMNS = (*STAGE_COLUMNS[1:], "batch_id")
_READING_SOURCES = (*_STAGE_SOURCES[1:], "batch_id")
_FRAME_TYPES = {
    "interval_end": "timestamptz",
    "day": "date",
    "period": "int2",
    "kwh_milli": "milli",
    "lag_milli": "milli",
    "lead_milli": "milli",
    "estimated": "bool",
}
_PARTS_TYPES = {"day": "date"}


@dataclass
class ImportOutcome:
    """What an import did (or, dry run or rejected, would have done); ``as_dict`` is the --json contract."""

    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[dict] = field(default_factory=list)
    committed: bool = False
    batch: int | None = None
    gaps: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "committed": self.committed,
            "batch": self.batch,
            "gaps": self.gaps,
        }


# -- entry points --------------------------------------------------------------------------------------------


def readings_import(
    *,
    data: bytes | BinaryIO | str | os.PathLike,
    file_name: str,
    file_format: str,
    user=None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Callable[[int, int], None] | None = None,
    batch: ImportBatch | None = None,
) -> ImportOutcome:
    """Import a readings file. ``progress(done, total)`` is called after each chunk, in bytes of the file.
    ``batch``: a batch row created beforehand (a queued background import); otherwise one is created here."""
    # Imported here, not at module level, so the loader (and chunks_import) can be used without the parser.
    from . import parsing

    stream, owned = _binary_stream(data)
    chunks: Iterator | None = None
    try:
        sha256, size = _digest(stream)

        def parsed() -> Iterator:
            # Runs in the parsing thread (_prefetched): no database here.
            try:
                for chunk in parsing.iter_readings(
                    stream, file_format=file_format, file_name=file_name, chunk_rows=CHUNK_ROWS
                ):
                    yield chunk, min(stream.tell(), size)
            except parsing.FileFormatError as exc:
                empty = pl.DataFrame(schema=_CHUNK_SCHEMA)
                rejection = parsing.Rejection(line=FILE_LINE, errors=[str(exc)])
                yield parsing.Chunk(frame=empty, rejected=[rejection]), size

        def loaded() -> Iterator:
            for chunk, done in _prefetched(parsed()):
                yield chunk
                if progress is not None:
                    progress(done, size)

        chunks = loaded()
        return chunks_import(
            chunks,
            file_name=file_name,
            file_format=file_format,
            file_sha256=sha256,
            user=user,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            batch=batch,
        )
    finally:
        if chunks is not None:
            chunks.close()  # stops the parsing thread before the file is closed
        if owned:
            stream.close()


def chunks_import(
    chunks: Iterable,
    *,
    file_name: str,
    file_format: str,
    file_sha256: str = "",
    user=None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    batch: ImportBatch | None = None,
) -> ImportOutcome:
    """Import parsed chunks (``frame`` and ``rejected``, the parsing.Chunk contract) as one batch.

    ``batch``: an existing batch row (queued by a background import) that this run fills in; it is marked
    running here. Ignored by a dry run, which writes no batch."""
    if dry_run:
        batch = None
    elif batch is not None:
        batch.status = BatchStatus.RUNNING
        batch.file_sha256 = file_sha256 or batch.file_sha256
        batch.save(update_fields=["status", "file_sha256"])
    else:
        batch = ImportBatch.objects.create(
            file_name=file_name[:255],
            file_sha256=file_sha256,
            file_format=file_format,
            skip_invalid=skip_invalid,
            created_by=user,
        )
    try:
        with transaction.atomic():
            outcome = _Loader(batch=batch, user=user, skip_invalid=skip_invalid).run(chunks)
            if not outcome.committed:
                transaction.set_rollback(True)
    except BaseException:
        if batch is not None:
            _batch_failed(batch)
        raise
    if batch is not None and not outcome.committed:
        _batch_finish(batch, outcome, status=BatchStatus.REJECTED)
    return outcome


def file_format_guess(path: str | os.PathLike) -> str | None:
    """``long`` or ``wide96`` from the header row of a CSV or XLSX file; None when the header says neither."""
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            from openpyxl import load_workbook

            workbook = load_workbook(path, read_only=True, data_only=True)
            try:
                header = next(workbook.worksheets[0].iter_rows(max_row=1, values_only=True), ())
            finally:
                workbook.close()
            names = [str(cell or "") for cell in header]
        else:
            with path.open("rb") as fh:
                first = fh.readline()
            try:
                text = first.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = first.decode("gb18030", errors="replace")
            names = text.split(",")
    except (OSError, zipfile.BadZipFile, ValueError, KeyError, IndexError):
        return None
    names = {name.strip().strip('"').lower() for name in names}
    if {"metering_point", "date", "p1"} <= names:
        return FileFormat.WIDE96
    if {"metering_point", "interval_end"} <= names:
        return FileFormat.LONG
    return None


# -- the load ------------------------------------------------------------------------------------------------

_CHUNK_SCHEMA = {
    "line": pl.Int64,
    "point": pl.Utf8,
    "interval_end": pl.Datetime("us", "UTC"),
    "kwh_milli": pl.Int64,
    "lag_milli": pl.Int64,
    "lead_milli": pl.Int64,
    "estimated": pl.Boolean,
}


_KNOWN_SCHEMA = {
    "point": pl.Utf8,
    "metering_point_id": pl.Int64,
    "account_id": pl.Int64,
    "_max_milli": pl.Int64,
    "_tariff": pl.Utf8,
    "_summed": pl.Boolean,
}


@dataclass
class _Fresh:
    """A month without a partition: the table its rows go to, attached as the partition at the end."""

    month: datetime.date
    table: str
    low: str
    high: str
    rows: int = 0


class _Loader:
    """One import's state: the point and tariff caches, the rejections, where each month's rows go, the per-point
    counts of what was written."""

    def __init__(self, *, batch: ImportBatch | None, user, skip_invalid: bool):
        self.batch = batch
        self.user = user
        self.skip_invalid = skip_invalid
        self.dialect = Dialect.current()
        self.zone = ZoneInfo(settings.TIME_ZONE)
        self.ratio = Decimal(str(settings.GRIDKAM.get("READING_MAX_LOAD_RATIO", 2.0)))
        # code → id, account, max kWh‰, tariff, summed with other billing points in the account's rollups
        self.points: dict[str, tuple[int, int, int, str | None, bool]] = {}
        self._known = pl.DataFrame(schema=_KNOWN_SCHEMA)
        self.unknown: set[str] = set()
        self.calendars: dict[str, list[tuple[datetime.date, TouCalendar]]] = {}
        self.rejected: dict[int, list[str]] = {}
        self.rows = 0
        # Month → its new partition, or None: staged and compared with the stored readings.
        self.months: dict[datetime.date, _Fresh | None] = {}
        self.staged = 0
        # Per metering point: first and last interval end (epoch seconds) and readings written.
        self.coverage: pl.DataFrame | None = None
        self.duplicated_points: set[int] = set()
        self.dropped_duplicates = False
        # (metering point, epoch, line) of the rows written to new partitions, for naming duplicated lines.
        self.spill: BinaryIO | None = None
        self.pipe: _CopyPipe | None = None

    @property
    def fresh(self) -> list[_Fresh]:
        return [target for target in self.months.values() if target is not None]

    def run(self, chunks: Iterable) -> ImportOutcome:
        with connection.cursor() as cursor:
            try:
                self._prepare(cursor)
                self._stream(cursor, chunks)
                self._duplicates(cursor)
                outcome = ImportOutcome(rows=self.rows, batch=self.batch.pk if self.batch else None)
                outcome.gaps = self._gaps(cursor)
                outcome.rejected = [{"line": line, "errors": errors} for line, errors in sorted(self.rejected.items())]
                if FILE_LINE in self.rejected or (self.rejected and not self.skip_invalid):
                    return outcome
                self._classify(cursor, outcome)
                if self.batch is None:  # dry run
                    return outcome
                self._write(cursor)
                self._fresh_complete(cursor)
                self._touched(cursor)
                fresh = bool(self.fresh)
                rollups_refresh(
                    user=self.user,
                    readings=self._readings_source(),
                    point_days=PARTS if fresh else None,
                    account_intervals=ACCOUNT_PARTS if fresh else None,
                )
                # Last: attaching locks the metering points and batches against reads until the commit.
                self._fresh_attach(cursor)
                temp_tables_drop(cursor, TOUCHED, STAGE, PARTS, ACCOUNT_PARTS, DIRTY)
            finally:
                if self.pipe is not None:
                    self.pipe.wait(raise_error=False)
                if self.spill is not None:
                    self.spill.close()
        outcome.committed = True
        _batch_finish(self.batch, outcome, status=BatchStatus.COMMITTED, extra=self._extent)
        return outcome

    def _prepare(self, cursor) -> None:
        temp_tables_drop(cursor, STAGE, PARTS, ACCOUNT_PARTS, DIRTY)  # leftovers of an earlier run in this session
        cursor.execute(STAGE_DDL, [])
        if self.dialect.postgresql:
            cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'", [])
            cursor.execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'", [])
            for table, columns in ((PARTS, POINT_DAY_PARTS_COLUMNS), (ACCOUNT_PARTS, ACCOUNT_INTERVAL_PARTS_COLUMNS)):
                types = ", ".join(f"{name} {'date' if name == 'day' else 'bigint'}" for name in columns)
                cursor.execute(f"CREATE TEMP TABLE {table} ({types})", [])
            cursor.execute(f"CREATE TEMP TABLE {DIRTY} (metering_point_id bigint, day date)", [])
            self.pipe = _CopyPipe(connection)

    # -- per chunk -------------------------------------------------------------------------------------------

    def _stream(self, cursor, chunks: Iterable) -> None:
        """Stage every chunk. On PostgreSQL a chunk's COPYs run in the pipe's thread while the next chunk is
        prepared; the points of the next chunk are looked up in between, while the connection is free."""
        iterator = iter(chunks)
        chunk = next(iterator, None)
        if chunk is not None:
            self._resolve_chunk(chunk)
        while chunk is not None:
            copies = self._stage_chunk(cursor, chunk)
            following = next(iterator, None)
            if self.pipe is not None:
                self.pipe.wait()
            if following is not None:
                self._resolve_chunk(following)
            if copies:
                self.pipe.send(copies)
            chunk = following
        if self.pipe is not None:
            self.pipe.wait()

    def _reject(self, line: int, errors: Iterable[str]) -> None:
        listed = self.rejected.setdefault(int(line), [])
        for error in errors:
            if error not in listed:
                listed.append(error)

    def _resolve_chunk(self, chunk) -> None:
        if chunk.frame.height:
            self._resolve(chunk.frame.get_column("point").unique().to_list())

    def _stage_chunk(self, cursor, chunk) -> list[_Copy]:
        """Check a chunk (its points looked up already) and write it, or (PostgreSQL) return its COPYs."""
        frame: pl.DataFrame = chunk.frame
        self.rows += frame.height
        bad_lines = set()
        for rejection in chunk.rejected:
            self._reject(rejection.line, rejection.errors)
            bad_lines.add(int(rejection.line))
        if frame.height == 0:
            return []
        if self._known.height != len(self.points):
            # Points are only ever added (in order): the frame of those known grows by the new ones.
            added = pl.DataFrame(
                [(code, *values) for code, values in itertools.islice(self.points.items(), self._known.height, None)],
                schema=_KNOWN_SCHEMA,
                orient="row",
            )
            self._known = pl.concat([self._known, added])
        frame = frame.join(self._known, on="point", how="left")
        for line, code in frame.filter(pl.col("metering_point_id").is_null()).select("line", "point").unique().rows():
            self._reject(line, [_("Unknown metering point “%(code)s”.") % {"code": code}])
            bad_lines.add(line)
        too_large = frame.filter(pl.col("kwh_milli") > pl.col("_max_milli"))
        for line, code, kwh_milli, max_milli in too_large.select("line", "point", "kwh_milli", "_max_milli").rows():
            self._reject(
                line,
                [
                    _(
                        "%(kwh)s kWh in one interval is beyond the physical maximum of metering point “%(code)s” "
                        "(%(max)s kWh from its account's capacity)."
                    )
                    % {"kwh": _milli_text(kwh_milli), "code": code, "max": _milli_text(max_milli)}
                ],
            )
            bad_lines.add(line)
        if bad_lines:
            frame = frame.filter(~pl.col("line").is_in(list(bad_lines)))
        if frame.height == 0:
            return []
        frame = self._day_and_period(frame)
        days = _point_days(frame)
        self._cover(days)
        copies: list[_Copy] = []
        month = pl.col("day").dt.truncate("1mo")
        months = days.get_column("day").dt.truncate("1mo").unique().sort().to_list()
        fresh = []
        for first in months:
            target = self._target(cursor, first)
            if target is not None:
                fresh.append(first)
                part = frame if len(months) == 1 else frame.filter(month == first)
                copies.append(self._fresh_write(target, part))
        if fresh:
            if len(fresh) < len(months):
                days, summed = days.filter(month.is_in(fresh)), frame.filter(month.is_in(fresh))
                frame = frame.filter(~month.is_in(fresh))
            else:
                summed, frame = frame, frame.clear()
            copies.append(_Copy.of(PARTS, days, _PARTS_TYPES, POINT_DAY_PARTS_COLUMNS))
            summed = summed.filter(pl.col("_summed"))
            if summed.height:
                copies.append(
                    _Copy.of(ACCOUNT_PARTS, _account_intervals(summed), _PARTS_TYPES, ACCOUNT_INTERVAL_PARTS_COLUMNS)
                )
        if frame.height:
            copies += self._stage_write(cursor, frame)
        return copies

    def _resolve(self, codes: list[str]) -> None:
        """Look up codes not seen before: id, account, physical maximum and tariff of each, and whether it is a
        billing point of an account with others (whose account rollups sum the points interval by interval)."""
        missing = [code for code in codes if code is not None and code not in self.points and code not in self.unknown]
        tariffs: set[str] = set()
        for start in range(0, len(missing), LOOKUP_CHUNK):
            part = missing[start : start + LOOKUP_CHUNK]
            points = MeteringPoint.objects.filter(code__in=part)
            scope = import_scope_path(self.user)
            if scope is not None:
                # A point outside the importing user's unit reads as unknown, as in the master-data import.
                points = points.filter(account__customer__org_unit__path__startswith=scope)
            rows = list(
                points.values_list(
                    "code", "pk", "account_id", "account__capacity_kva", "account__tariff_id", "purpose"
                ).annotate(
                    billing_points=Count(
                        "account__metering_points", filter=Q(account__metering_points__purpose=MeteringPurpose.BILLING)
                    )
                )
            )
            for code, pk, account_id, capacity_kva, tariff, purpose, billing_points in rows:
                # kWh in 15 minutes at ratio × capacity, in thousandths: capacity × 0.25 h × ratio × 1000.
                limit = int((capacity_kva * 250 * self.ratio).to_integral_value(rounding=ROUND_FLOOR))
                summed = purpose == MeteringPurpose.BILLING and billing_points > 1
                self.points[code] = (pk, account_id, limit, tariff, summed)
                if tariff and tariff not in self.calendars:
                    tariffs.add(tariff)
            self.unknown.update(set(part) - set(self.points))
        if tariffs:
            for tariff in tariffs:
                self.calendars[tariff] = []
            versions = (
                TariffVersion.objects.published()
                .filter(tariff__code__in=tariffs)
                .order_by("tariff__code", "effective_from")
                .values_list("tariff__code", "effective_from", "calendar")
            )
            for code, effective_from, calendar in versions:
                self.calendars[code].append((effective_from, parse_calendar(calendar)))

    def _day_and_period(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The local day and the time-of-use period of each interval's start."""
        offset = self._fixed_offset(frame.get_column("interval_end"))
        if offset is not None:
            # One UTC offset over the chunk (always, for Asia/Shanghai): plain arithmetic, no time zone rules.
            start = pl.col("interval_end").dt.replace_time_zone(None) + (offset - INTERVAL)
        else:
            start = (pl.col("interval_end") - INTERVAL).dt.convert_time_zone(settings.TIME_ZONE)
            start = start.dt.replace_time_zone(None)
        frame = frame.with_columns(start.alias("_start"))
        frame = frame.with_columns(pl.col("_start").dt.date().alias("day"))
        periods = np.full(frame.height, NO_PERIOD, dtype=np.int8)
        tariff_column = frame.get_column("_tariff")
        # Interval starts as quarter-hours since 1970 (local wall time): the calendar is looked up once per
        # quarter-hour of the chunk's span, not once per reading.
        quarters = frame.get_column("_start").dt.epoch("s").to_numpy() // INTERVAL_SECONDS
        for tariff in tariff_column.drop_nulls().unique().to_list():
            versions = self.calendars.get(tariff) or []
            if not versions:
                continue
            mask = (tariff_column == tariff).fill_null(False).to_numpy()
            selected = quarters[mask]
            first = int(selected.min())
            periods[mask] = self._period_table(versions, first, int(selected.max()))[selected - first]
        period = pl.Series("period", periods, dtype=pl.Int16)
        return frame.with_columns(pl.when(period >= 0).then(period).otherwise(None).alias("period"))

    @staticmethod
    def _period_table(versions: list[tuple[datetime.date, TouCalendar]], first: int, last: int) -> np.ndarray:
        """The period of every quarter-hour start from ``first`` to ``last`` (quarter-hours since 1970, local)."""
        starts = (np.arange(first, last + 1, dtype=np.int64) * INTERVAL_SECONDS).astype("datetime64[s]")
        effective = np.array([effective_from for effective_from, _cal in versions], dtype="datetime64[D]")
        # The version in effect on the start's day; before the first one, the first one (as
        # tariffs.selectors.tariff_version_current does for a date before every version).
        which = np.searchsorted(effective, starts.astype("datetime64[D]"), side="right") - 1
        which[which < 0] = 0
        codes = np.empty(starts.shape, dtype=np.int8)
        for index, (_effective, calendar) in enumerate(versions):
            selected = which == index
            if selected.any():
                codes[selected] = calendar.period_codes(starts[selected])
        return codes

    def _fixed_offset(self, ends: pl.Series) -> datetime.timedelta | None:
        """The local zone's UTC offset if it is the same on every day the chunk's intervals start on, else None.
        Checked at each UTC midnight of the span: offsets change for months at a time, never within a day."""
        first, last = ends.min(), ends.max()
        if first is None:
            return None
        day = (first - INTERVAL).replace(hour=0, minute=0, second=0, microsecond=0)
        offsets = set()
        while day <= last + datetime.timedelta(days=1):
            offsets.add(day.astimezone(self.zone).utcoffset())
            if len(offsets) > 1:
                return None
            day += datetime.timedelta(days=1)
        return offsets.pop()

    def _cover(self, days: pl.DataFrame) -> None:
        """Count the readings per point, with their first and last interval end (epoch seconds)."""
        counts = days.group_by("metering_point_id").agg(pl.col("first").min(), pl.col("last").max(), pl.col("n").sum())
        if self.coverage is not None:
            counts = (
                pl.concat([self.coverage, counts])
                .group_by("metering_point_id")
                .agg(pl.col("first").min(), pl.col("last").max(), pl.col("n").sum())
            )
        self.coverage = counts

    def _target(self, cursor, month: datetime.date) -> _Fresh | None:
        """Where the readings of ``month`` go, decided at its first reading: a new partition when the month has
        none (and no other import is building it), the staging table otherwise."""
        if month in self.months:
            return self.months[month]
        target = None
        if self.dialect.postgresql:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_partition_lock(month)])
            (locked,) = cursor.fetchone()
            name = _partition_name(month)
            cursor.execute("SELECT to_regclass(%s)", [name])
            if locked and cursor.fetchone()[0] is None:
                low, high = self._bounds(month)
                target = _Fresh(month=month, table=name, low=low, high=high)
                # The partition's bounds as a constraint, checked row by row as the rows arrive, spare the
                # attach a scan of the whole table.
                cursor.execute(
                    f"CREATE TABLE {name} (LIKE {READINGS} INCLUDING DEFAULTS, CONSTRAINT {name}_bounds "
                    f"CHECK (interval_end >= '{low}' AND interval_end < '{high}'))",
                    [],
                )
        self.months[month] = target
        return target

    def _bounds(self, month: datetime.date) -> tuple[str, str]:
        """A month partition holds the intervals STARTING in its local month, like the monthly rollups: from the
        month's first interval end (00:15 on the 1st) inclusive to the next month's exclusive."""
        following = (month + datetime.timedelta(days=32)).replace(day=1)
        low = datetime.datetime.combine(month, datetime.time(), tzinfo=self.zone) + INTERVAL
        high = datetime.datetime.combine(following, datetime.time(), tzinfo=self.zone) + INTERVAL
        return low.isoformat(), high.isoformat()

    def _stage_write(self, cursor, frame: pl.DataFrame) -> list[_Copy]:
        self.staged += frame.height
        if self.dialect.postgresql:
            return [_Copy.of(STAGE, frame, _FRAME_TYPES, STAGE_COLUMNS, sources=_STAGE_SOURCES)]
        # SQLite: the format Django itself stores datetimes, dates and decimals in, so keys compare equal.
        out = frame.select(
            "line",
            "metering_point_id",
            pl.col("interval_end").dt.strftime("%Y-%m-%d %H:%M:%S"),
            pl.col("day").dt.strftime("%Y-%m-%d"),
            "period",
            _decimal_text("kwh_milli"),
            _decimal_text("lag_milli"),
            _decimal_text("lead_milli"),
            pl.col("estimated").fill_null(False).cast(pl.Int8),
        )
        placeholders = ", ".join(["%s"] * len(STAGE_COLUMNS))
        cursor.executemany(f"INSERT INTO {STAGE} ({', '.join(STAGE_COLUMNS)}) VALUES ({placeholders})", out.iter_rows())
        return []

    def _fresh_write(self, target: _Fresh, frame: pl.DataFrame) -> _Copy:
        target.rows += frame.height
        if self.spill is None:
            self.spill = tempfile.TemporaryFile()  # noqa: SIM115 - closed at the end of run()
        keys = frame.select("metering_point_id", pl.col("interval_end").dt.epoch("s"), "line").to_numpy()
        self.spill.write(np.ascontiguousarray(keys, dtype=np.int64).tobytes())
        frame = frame.with_columns(pl.lit(self.batch.pk if self.batch else None, pl.Int64).alias("batch_id"))
        return _Copy.of(target.table, frame, _FRAME_TYPES, READING_COLUMNS, sources=_READING_SOURCES)

    # -- whole-file checks -----------------------------------------------------------------------------------

    def _code(self, point_id: int) -> str:
        if not hasattr(self, "_codes"):
            self._codes = {values[0]: code for code, values in self.points.items()}
        return self._codes[point_id]

    def _local(self, epoch: int) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(epoch, tz=self.zone)

    def _duplicated(self, lines_by_key: dict[tuple[int, int], list[int]]) -> None:
        """Reject every line holding a (point, interval end) that another line holds too."""
        for (point_id, epoch), lines in sorted(lines_by_key.items()):
            lines.sort()
            message = _("Metering point “%(code)s” has more than one reading ending %(time)s (lines %(lines)s).") % {
                "code": self._code(point_id),
                "time": self._local(epoch).strftime("%Y-%m-%d %H:%M"),
                "lines": ", ".join(str(line) for line in lines),
            }
            for line in lines:
                self._reject(line, [message])
            self.duplicated_points.add(point_id)

    def _duplicates(self, cursor) -> None:
        if self.staged:
            self._staged_duplicates(cursor)
        for target in self.fresh:
            self._fresh_duplicates(cursor, target)

    def _staged_duplicates(self, cursor) -> None:
        d = self.dialect
        duplicated = (
            f"SELECT metering_point_id, interval_end FROM {STAGE} "
            "GROUP BY metering_point_id, interval_end HAVING COUNT(*) > 1"
        )
        cursor.execute(
            f"SELECT s.line, s.metering_point_id, {d.epoch('s.interval_end')} FROM {STAGE} s "
            f"JOIN ({duplicated}) dup ON dup.metering_point_id = s.metering_point_id "
            "AND dup.interval_end = s.interval_end",
            [],
        )
        lines_by_key: dict[tuple[int, int], list[int]] = {}
        for line, point_id, epoch in cursor.fetchall():
            lines_by_key.setdefault((point_id, int(epoch)), []).append(line)
        if not lines_by_key:
            return
        self._duplicated(lines_by_key)
        # With skip_invalid the duplicated lines are left out whole, like any rejected line.
        cursor.execute(
            f"DELETE FROM {STAGE} WHERE line IN (SELECT s.line FROM {STAGE} s JOIN ({duplicated}) dup "
            "ON dup.metering_point_id = s.metering_point_id AND dup.interval_end = s.interval_end)",
            [],
        )
        self.staged -= cursor.rowcount
        self.dropped_duplicates = True

    def _fresh_duplicates(self, cursor, target: _Fresh) -> None:
        """The primary key of a new partition, built now: its build is the duplicate check. When it fails, the
        duplicated keys are found and their lines read back from the spill."""
        primary_key = self._primary_key(cursor)
        try:
            with transaction.atomic():
                cursor.execute(f"ALTER TABLE {target.table} ADD CONSTRAINT {target.table}_pkey {primary_key}", [])
            return
        except IntegrityError:
            pass
        duplicated = (
            f"SELECT metering_point_id, interval_end FROM {target.table} "
            "GROUP BY metering_point_id, interval_end HAVING COUNT(*) > 1"
        )
        cursor.execute(f"SELECT metering_point_id, {self.dialect.epoch('interval_end')} FROM ({duplicated}) d", [])
        keys = pl.DataFrame(cursor.fetchall(), schema={"point": pl.Int64, "epoch": pl.Int64}, orient="row")
        lines_by_key: dict[tuple[int, int], list[int]] = {}
        for point_id, epoch, line in self._spilled_lines(keys).rows():
            lines_by_key.setdefault((point_id, epoch), []).append(line)
        self._duplicated(lines_by_key)
        if not self.skip_invalid:
            return
        # The duplicated readings are left out whole; the sums of their days are taken from the readings left.
        cursor.execute(
            f"INSERT INTO {DIRTY} SELECT DISTINCT r.metering_point_id, r.day FROM {target.table} r "
            f"JOIN ({duplicated}) d ON d.metering_point_id = r.metering_point_id AND d.interval_end = r.interval_end",
            [],
        )
        cursor.execute(
            f"DELETE FROM {target.table} r USING ({duplicated}) d "
            "WHERE d.metering_point_id = r.metering_point_id AND d.interval_end = r.interval_end",
            [],
        )
        target.rows -= cursor.rowcount
        cursor.execute(
            f"DELETE FROM {PARTS} p USING {DIRTY} d WHERE p.metering_point_id = d.metering_point_id AND p.day = d.day",
            [],
        )
        cursor.execute(
            f"DELETE FROM {ACCOUNT_PARTS} p USING {DIRTY} d JOIN customers_meteringpoint mp "
            "ON mp.id = d.metering_point_id WHERE p.account_id = mp.account_id AND p.day = d.day",
            [],
        )
        cursor.execute(f"ALTER TABLE {target.table} ADD CONSTRAINT {target.table}_pkey {primary_key}", [])
        self.dropped_duplicates = True

    def _primary_key(self, cursor) -> str:
        if not hasattr(self, "_primary_key_sql"):
            cursor.execute(
                f"SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = '{READINGS}'::regclass "
                "AND contype = 'p'",
                [],
            )
            (self._primary_key_sql,) = cursor.fetchone()
        return self._primary_key_sql

    def _spilled_lines(self, keys: pl.DataFrame) -> pl.DataFrame:
        """``point``, ``epoch`` and ``line`` of the spilled rows whose (point, epoch) is in ``keys``."""
        found = []
        self.spill.seek(0)
        while block := self.spill.read(SPILL_BLOCK_ROWS * 24):
            rows = np.frombuffer(block, dtype=np.int64).reshape(-1, 3)
            spilled = pl.DataFrame(rows, schema=["point", "epoch", "line"], orient="row")
            found.append(spilled.join(keys, on=["point", "epoch"], how="semi"))
        self.spill.seek(0, io.SEEK_END)
        return pl.concat(found)

    def _gaps(self, cursor) -> list[dict]:
        """Runs of missing quarter-hours between a point's first and last interval in the file, looked for among
        the points whose count of readings falls short of their span (or that had duplicates)."""
        if self.coverage is None:
            return []
        suspects = (
            set(
                self.coverage.filter(
                    (pl.col("last") - pl.col("first")) // INTERVAL_SECONDS + 1 != pl.col("n")
                ).get_column("metering_point_id")
            )
            | self.duplicated_points
        )
        if not suspects:
            return []
        epoch = self.dialect.epoch("interval_end")
        temp_table_create(cursor, "gk_gap_points", f"SELECT metering_point_id FROM {STAGE} WHERE 1 = 0")
        cursor.executemany("INSERT INTO gk_gap_points (metering_point_id) VALUES (%s)", [(p,) for p in suspects])
        sources = " UNION ALL ".join(
            f"SELECT metering_point_id, interval_end FROM {table} "
            "WHERE metering_point_id IN (SELECT metering_point_id FROM gk_gap_points)"
            for table in [STAGE, *(target.table for target in self.fresh)]
        )
        cursor.execute(
            f"""
            SELECT metering_point_id, previous, e FROM (
                SELECT metering_point_id, {epoch} AS e,
                       LAG({epoch}) OVER (PARTITION BY metering_point_id ORDER BY interval_end) AS previous
                FROM ({sources}) s
            ) x
            WHERE e - previous > %s
            ORDER BY metering_point_id, e
            LIMIT %s
            """,
            [INTERVAL_SECONDS, GAPS_LISTED],
        )
        gaps = []
        for point_id, previous, end in cursor.fetchall():
            previous, end = int(previous), int(end)
            gaps.append(
                {
                    "metering_point": self._code(point_id),
                    "from": self._local(previous + INTERVAL_SECONDS).isoformat(),
                    "to": self._local(end - INTERVAL_SECONDS).isoformat(),
                    "intervals": (end - previous) // INTERVAL_SECONDS - 1,
                }
            )
        temp_tables_drop(cursor, "gk_gap_points")
        return gaps

    # -- writing ---------------------------------------------------------------------------------------------

    def _classify(self, cursor, outcome: ImportOutcome) -> None:
        if self.staged:
            self._staged_classify(cursor, outcome)
        outcome.inserted += sum(target.rows for target in self.fresh)
        self._extent = self._extent_of(cursor)

    def _staged_classify(self, cursor, outcome: ImportOutcome) -> None:
        d = self.dialect
        if d.postgresql:
            cursor.execute(f"ANALYZE {STAGE}", [])
        # A file without reactive energy (wide96 has no leading kvarh; a blank cell) keeps what is stored:
        # re-sending active energy must not erase the reactive readings of an earlier, fuller file.
        cursor.execute(
            f"UPDATE {STAGE} SET kvarh_lag = COALESCE({STAGE}.kvarh_lag, r.kvarh_lag), "
            f"kvarh_lead = COALESCE({STAGE}.kvarh_lead, r.kvarh_lead) "
            f"FROM {READINGS} r WHERE r.metering_point_id = {STAGE}.metering_point_id "
            f"AND r.interval_end = {STAGE}.interval_end "
            f"AND ({STAGE}.kvarh_lag IS NULL OR {STAGE}.kvarh_lead IS NULL)",
            [],
        )
        changed = " OR ".join(d.distinct(f"r.{name}", f"{STAGE}.{name}") for name in READING_VALUES)
        cursor.execute(
            f"UPDATE {STAGE} SET action = CASE WHEN {changed} THEN %s ELSE %s END "
            f"FROM {READINGS} r WHERE r.metering_point_id = {STAGE}.metering_point_id "
            f"AND r.interval_end = {STAGE}.interval_end",
            [CHANGED, UNCHANGED],
        )
        cursor.execute(
            f"""SELECT COALESCE(SUM(CASE WHEN action = %s THEN 1 ELSE 0 END), 0),
                       COALESCE(SUM(CASE WHEN action = %s THEN 1 ELSE 0 END), 0),
                       COALESCE(SUM(CASE WHEN action = %s THEN 1 ELSE 0 END), 0)
                FROM {STAGE}""",
            [NEW, CHANGED, UNCHANGED],
        )
        inserted, updated, unchanged = cursor.fetchone()
        outcome.inserted, outcome.updated, outcome.unchanged = int(inserted), int(updated), int(unchanged)

    def _extent_of(self, cursor) -> dict:
        """Points, first and last interval end of what is written: counted as the chunks passed, or (when
        duplicated readings were left out) from the tables."""
        if self.dropped_duplicates:
            epoch = self.dialect.epoch("interval_end")
            sources = " UNION ALL ".join(
                f"SELECT metering_point_id, interval_end FROM {table}"
                for table in [STAGE, *(target.table for target in self.fresh)]
            )
            cursor.execute(
                f"SELECT COUNT(DISTINCT metering_point_id), MIN({epoch}), MAX({epoch}) FROM ({sources}) s", []
            )
            points, first, last = cursor.fetchone()
        elif self.coverage is not None:
            points = self.coverage.height
            first, last = self.coverage.get_column("first").min(), self.coverage.get_column("last").max()
        else:
            points, first, last = 0, None, None
        return {
            "points": int(points),
            "first_interval_end": self._local(int(first)) if first is not None else None,
            "last_interval_end": self._local(int(last)) if last is not None else None,
        }

    def _partitions_ensure(self, cursor) -> None:
        """Monthly partitions ``metering_reading_yYYYYmMM`` for the staged months that have none yet (another
        import was building them when their rows arrived: its lock is waited for), before any row goes in."""
        cursor.execute(
            f"SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            f"WHERE i.inhparent = '{READINGS}'::regclass",
            [],
        )
        existing = {name for (name,) in cursor.fetchall()}
        for month in sorted(month for month, target in self.months.items() if target is None):
            name = _partition_name(month)
            if name in existing:
                continue
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_partition_lock(month)])
            low, high = self._bounds(month)
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {READINGS} FOR VALUES FROM ('{low}') TO ('{high}')",
                [],
            )

    def _write(self, cursor) -> None:
        """The staged readings that are new or changed, and the previous values of the changed ones."""
        if not self.staged:
            return
        if self.dialect.postgresql:
            self._partitions_ensure(cursor)
        batch_id = self.batch.pk
        cursor.execute(
            f"""INSERT INTO metering_readingundo (batch_id, metering_point_id, interval_end, kwh, kvarh_lag,
                                                  kvarh_lead, estimated, previous_batch_id)
                SELECT %s, r.metering_point_id, r.interval_end, r.kwh, r.kvarh_lag, r.kvarh_lead, r.estimated,
                       r.batch_id
                FROM {STAGE} s
                JOIN {READINGS} r ON r.metering_point_id = s.metering_point_id AND r.interval_end = s.interval_end
                WHERE s.action = %s""",
            [batch_id, CHANGED],
        )
        columns = ("day", "period", "kwh", "kvarh_lag", "kvarh_lead", "estimated", "batch_id")
        cursor.execute(
            f"""INSERT INTO {READINGS} (metering_point_id, interval_end, {", ".join(columns)})
                SELECT metering_point_id, interval_end, day, period, kwh, kvarh_lag, kvarh_lead, estimated, %s
                FROM {STAGE} WHERE action <> %s
                ON CONFLICT (metering_point_id, interval_end) DO UPDATE SET
                {", ".join(f"{name} = excluded.{name}" for name in columns)}""",
            [batch_id, UNCHANGED],
        )

    def _fresh_complete(self, cursor) -> None:
        """Give the new partitions the parent's other indexes and its foreign keys (each checked in one query,
        not row by row), and statistics."""
        if not self.fresh:
            return
        cursor.execute(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = %s::regclass "
            "AND NOT i.indisprimary",
            [READINGS],
        )
        indexes = [definition for (definition,) in cursor.fetchall()]
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype = 'f' ORDER BY conname",
            [READINGS],
        )
        foreign_keys = cursor.fetchall()
        for target in self.fresh:
            for definition in indexes:
                cursor.execute(_index_on(definition, target.table), [])
            # Statistics first: they give the foreign keys' checks (and the rollups) their plans.
            cursor.execute(f"ANALYZE {target.table}", [])
            for name, definition in foreign_keys:
                cursor.execute(f"ALTER TABLE {target.table} ADD CONSTRAINT {name} {definition}", [])
        cursor.execute(f"ANALYZE {PARTS}", [])
        cursor.execute(f"ANALYZE {ACCOUNT_PARTS}", [])

    def _touched(self, cursor) -> None:
        """The (point, day) keys whose rollups are recomputed: staged readings written, and every day of the new
        partitions (those whose sums were taken as the chunks passed, and those left to the readings)."""
        keys = [f"SELECT metering_point_id, day FROM {STAGE} WHERE action <> {UNCHANGED}"]
        if self.fresh:
            keys += [f"SELECT metering_point_id, day FROM {PARTS}"]
            if self.dropped_duplicates:
                keys += [f"SELECT metering_point_id, day FROM {DIRTY}"]
        temp_table_create(
            cursor, TOUCHED, f"SELECT DISTINCT metering_point_id, day FROM ({' UNION ALL '.join(keys)}) k"
        )
        if self.dialect.postgresql:
            cursor.execute(f"ANALYZE {TOUCHED}", [])

    def _readings_source(self) -> str:
        if not self.fresh:
            return READINGS
        tables = [READINGS, *(target.table for target in self.fresh)]
        return "(" + " UNION ALL ".join(f"SELECT * FROM {table}" for table in tables) + ")"

    def _fresh_attach(self, cursor) -> None:
        for target in self.fresh:
            cursor.execute(
                f"ALTER TABLE {READINGS} ATTACH PARTITION {target.table} "
                f"FOR VALUES FROM ('{target.low}') TO ('{target.high}')",
                [],
            )
            cursor.execute(f"ALTER TABLE {target.table} DROP CONSTRAINT {target.table}_bounds", [])


# -- parsing ahead ---------------------------------------------------------------------------------------------


def _prefetched(items: Iterator, depth: int = PREFETCH) -> Iterator:
    """``items`` produced in a thread of their own, up to ``depth`` ahead of the consumer, so that parsing (polars
    and numpy, which release the GIL) runs while the database takes the chunk before. The thread speaks the
    caller's language; an exception raised in it is raised here; closing this generator stops and joins it.
    The producer must not use the database (a thread has a connection of its own, outside the transaction)."""
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    finished = object()
    language = translation.get_language()

    def put(item: tuple) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        with translation.override(language):
            try:
                for item in items:
                    if not put((item, None)):
                        return
                put((finished, None))
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
                put((None, exc))
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()

    thread = threading.Thread(target=produce, name="readings-parser", daemon=True)
    thread.start()
    try:
        while True:
            item, error = handoff.get()
            if error is not None:
                raise error
            if item is finished:
                return
            yield item
    finally:
        stop.set()
        thread.join()


# -- binary COPY -----------------------------------------------------------------------------------------------

_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
_COPY_TRAILER = b"\xff\xff"
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 UTC, PostgreSQL's epoch, in Unix microseconds
_PG_EPOCH_DAYS = 10_957
_COPY_BLOCK_ROWS = 1 << 15
_FIXED = {"int8": ">i8", "int2": ">i2", "bool": "u1", "date": ">i4", "timestamptz": ">i8"}


@dataclass
class _Copy:
    """One COPY of a frame's columns into a table in PostgreSQL's binary format: the column values as numpy
    arrays (NULLs apart), encoded a block of rows at a time when the COPY runs. Types: int8, int2, bool, date,
    timestamptz and milli (integer thousandths, written as numeric with three decimals)."""

    statement: str
    kinds: list[str]
    values: list[np.ndarray]
    nulls: list[np.ndarray | None]

    @classmethod
    def of(
        cls,
        table: str,
        frame: pl.DataFrame,
        types: dict[str, str],
        columns: Sequence[str],
        sources: Sequence[str] | None = None,
    ) -> _Copy:
        kinds, values, nulls = [], [], []
        for source in sources or columns:
            kind = types.get(source, "int8")
            series = frame.get_column(source)
            nulls.append(series.is_null().to_numpy() if series.null_count() else None)
            if kind == "timestamptz":
                series = series.dt.epoch("us") - _PG_EPOCH_US
            elif kind == "date":
                series = series.cast(pl.Int32) - _PG_EPOCH_DAYS
            values.append(series.fill_null(False if kind == "bool" else 0).to_numpy())
            kinds.append(kind)
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT binary)"
        return cls(statement=statement, kinds=kinds, values=values, nulls=nulls)

    def blocks(self) -> Iterator[bytes]:
        yield _COPY_SIGNATURE
        yield from _binary_tuples(self.kinds, self.values, self.nulls)
        yield _COPY_TRAILER


class _CopyPipe:
    """Runs a chunk's COPYs in a thread of its own while the loader prepares the next chunk, so that PostgreSQL and
    polars work at the same time. The thread uses the import's psycopg connection directly: psycopg serialises it
    with the loader's own queries (which wait for the COPY), and Django's connection handling is not involved."""

    def __init__(self, wrapper) -> None:
        wrapper.ensure_connection()
        self.wrapper = wrapper
        self.raw = wrapper.connection
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def send(self, copies: list[_Copy]) -> None:
        self.wait()
        self.thread = threading.Thread(target=self._run, args=(copies,), name="readings-copy", daemon=True)
        self.thread.start()

    def _run(self, copies: list[_Copy]) -> None:
        try:
            with self.raw.cursor() as cursor:
                for job in copies:
                    with cursor.copy(job.statement) as copy:
                        for block in job.blocks():
                            copy.write(block)
        except BaseException as exc:  # noqa: BLE001 - raised in the loader's thread by wait()
            self.error = exc

    def wait(self, *, raise_error: bool = True) -> None:
        """Wait for the COPYs sent last; raise what failed in them (as Django's database errors)."""
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        if self.error is None:
            return
        error, self.error = self.error, None
        if not raise_error:
            # Another error is on its way up; this one may be its cause.
            logger.error("A COPY of the readings import failed", exc_info=error)
            return
        with self.wrapper.wrap_database_errors:
            raise error


def _binary_layout(kinds: Sequence[str], null_mask: int) -> tuple[np.dtype, np.ndarray]:
    """The record of one binary COPY tuple whose columns in ``null_mask`` (bit i: column i) are NULL, and a
    template record with the field count, the lengths and the numeric headers filled in."""
    fields: list[tuple] = [("n", ">i2")]
    for index, kind in enumerate(kinds):
        fields.append((f"l{index}", ">i4"))
        if null_mask >> index & 1:
            continue
        if kind == "milli":
            # numeric: 4 base-10000 digits, weight 2 (the first digit counts 10000²), positive, 3 decimals.
            fields += [(f"h{index}", ">i2", (4,)), (f"c{index}", ">i2", (4,))]
        else:
            fields.append((f"c{index}", _FIXED[kind]))
    dtype = np.dtype(fields)
    template = np.zeros(1, dtype)
    template["n"] = len(kinds)
    for index, kind in enumerate(kinds):
        if null_mask >> index & 1:
            template[f"l{index}"] = -1
        elif kind == "milli":
            template[f"l{index}"] = 16
            template[f"h{index}"] = (4, 2, 0, 3)
        else:
            template[f"l{index}"] = np.dtype(_FIXED[kind]).itemsize
    return dtype, template


def _binary_tuples(kinds: Sequence[str], values: Sequence[np.ndarray], nulls: Sequence[np.ndarray | None]):
    """The rows as binary COPY tuples, in blocks; rows with NULLs in the same columns are grouped (a fixed layout
    per group), so their order is not kept."""
    pattern = np.zeros(len(values[0]), dtype=np.int64)
    for index, null in enumerate(nulls):
        if null is not None:
            pattern |= null.astype(np.int64) << index
    masks = np.unique(pattern)
    for mask in masks.tolist():
        rows = np.flatnonzero(pattern == mask) if len(masks) > 1 else None
        dtype, template = _binary_layout(kinds, mask)
        total = len(values[0]) if rows is None else len(rows)
        for start in range(0, total, _COPY_BLOCK_ROWS):
            stop = min(start + _COPY_BLOCK_ROWS, total)
            picked = slice(start, stop) if rows is None else rows[start:stop]
            out = np.empty(stop - start, dtype)
            out[:] = template
            for index, kind in enumerate(kinds):
                if mask >> index & 1:
                    continue
                column = values[index][picked]
                if kind == "milli":
                    if (column < 0).any():
                        out[f"h{index}"][:, 2] = np.where(column < 0, 0x4000, 0)
                        column = np.abs(column)
                    whole, fraction = np.divmod(column, 1000)
                    high = whole // 10_000
                    top = high // 10_000
                    digits = np.empty((stop - start, 4), dtype=np.int16)
                    digits[:, 0] = top
                    digits[:, 1] = high - top * 10_000
                    digits[:, 2] = whole - high * 10_000
                    digits[:, 3] = fraction * 10
                    out[f"c{index}"] = digits
                else:
                    out[f"c{index}"] = column
            yield out.tobytes()


# -- sums taken as the chunks pass -----------------------------------------------------------------------------


def _period_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Energy by period as columns p0…p4 and pn (none), NULL where the reading is in another."""
    kwh, period = pl.col("kwh_milli"), pl.col("period")
    return frame.with_columns(
        *(pl.when(period == index).then(kwh).alias(f"p{index}") for index in range(5)),
        pl.when(period.is_null()).then(kwh).alias("pn"),
    )


def _slot() -> pl.Expr:
    """An interval's slot in its day (rollups.SLOT_SHIFT)."""
    since = pl.col("interval_end").dt.epoch("s") - pl.col("day").cast(pl.Int64) * 86_400
    return since // INTERVAL_SECONDS + SLOT_SHIFT


def _point_days(frame: pl.DataFrame) -> pl.DataFrame:
    """Daily sums per point in thousandths (``POINT_DAY_PARTS_COLUMNS``), with the first and last interval end in
    epoch seconds."""
    kwh, end = pl.col("kwh_milli"), pl.col("interval_end")
    return (
        _period_columns(frame)
        .group_by("metering_point_id", "day")
        .agg(
            *(pl.col(f"p{index}").sum() for index in range(5)),
            pl.col("pn").sum(),
            kwh.sum().alias("e"),
            pl.col("lag_milli").sum().alias("lag_e"),
            pl.col("lead_milli").sum().alias("lead_e"),
            (kwh * SLOT_BITS + (SLOT_BITS - 1) - _slot()).max().alias("max_key"),
            pl.len().cast(pl.Int64).alias("n"),
            pl.col("estimated").cast(pl.Int64).sum().alias("est"),
            end.min().dt.epoch("s").alias("first"),
            end.max().dt.epoch("s").alias("last"),
        )
    )


def _account_intervals(frame: pl.DataFrame) -> pl.DataFrame:
    """Active energy of billing points summed per account and interval, in thousandths, and whether any of those
    readings was estimated (``ACCOUNT_INTERVAL_PARTS_COLUMNS``): an interval whose points came in different chunks
    has a row from each, which rollups.py adds up."""
    return frame.group_by("account_id", "day", _slot().alias("slot")).agg(
        pl.col("kwh_milli").sum().alias("e"), pl.col("estimated").cast(pl.Int64).max().alias("est")
    )


# -- helpers -------------------------------------------------------------------------------------------------


def _partition_name(month: datetime.date) -> str:
    return f"{READINGS}_y{month.year:04d}m{month.month:02d}"


def _partition_lock(month: datetime.date) -> int:
    return PARTITION_LOCK | (month.year * 100 + month.month)


_INDEX_DEFINITION = re.compile(r"^CREATE (UNIQUE )?INDEX \S+ ON (?:ONLY )?\S+ (USING .*)$")


def _index_on(definition: str, table: str) -> str:
    """A parent index's definition (``pg_get_indexdef``) for a table of its own, under a name PostgreSQL picks."""
    match = _INDEX_DEFINITION.match(definition)
    if match is None:
        raise ValueError(f"Unexpected index definition: {definition}")
    return f"CREATE {match[1] or ''}INDEX ON {table} {match[2]}"


def _decimal_text(name: str) -> pl.Expr:
    """Thousandths as decimal text ("12.345"), exactly; null stays null."""
    value = pl.col(name)
    magnitude = value.abs()
    text = pl.format(
        "{}{}.{}",
        pl.when(value < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        magnitude // 1000,
        (magnitude % 1000).cast(pl.Utf8).str.zfill(3),
    )
    return pl.when(value.is_null()).then(None).otherwise(text).alias(name)


def _milli_text(milli: int) -> str:
    return str(Decimal(milli).scaleb(-3))


def _binary_stream(data) -> tuple[BinaryIO, bool]:
    if isinstance(data, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(data)), True
    if isinstance(data, str | os.PathLike):
        return open(data, "rb"), True  # noqa: SIM115 - closed by the caller's finally
    return data, False


def _digest(stream: BinaryIO) -> tuple[str, int]:
    """SHA-256 and size of the stream, read in blocks; the stream is put back where it was."""
    start = stream.tell()
    digest = hashlib.sha256()
    while block := stream.read(HASH_BLOCK):
        digest.update(block)
    size = stream.tell() - start
    stream.seek(start)
    return digest.hexdigest(), size


def _batch_finish(batch: ImportBatch, outcome: ImportOutcome, *, status: str, extra: dict | None = None) -> None:
    batch.status = status
    batch.finished_at = timezone.now()
    batch.rows = outcome.rows
    batch.inserted, batch.updated, batch.unchanged = outcome.inserted, outcome.updated, outcome.unchanged
    batch.rejected = outcome.rejected
    batch.rejected_count = len(outcome.rejected)
    batch.gaps = outcome.gaps
    for name, value in (extra or {}).items():
        setattr(batch, name, value)
    batch.save()


def _batch_failed(batch: ImportBatch) -> None:
    try:
        ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.FAILED, finished_at=timezone.now())
    except DatabaseError:  # the connection itself may be what failed; the batch then stays "running"
        logger.exception("Could not mark readings import %s as failed", batch.pk)
