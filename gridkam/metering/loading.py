"""The readings loader: a readings file (long or 96-point daily, CSV or XLSX) into readings and their rollups.

``readings_import`` streams the file through ``parsing.iter_readings``; ``chunks_import`` does the rest:

1. The batch row is written first, outside the transaction, so that a crash leaves a "failed" record and
   nothing else. A dry run writes no batch.
2. Each chunk is completed in polars: metering point ids (codes resolved once, a few thousand per query), the
   local day and the time-of-use period of the interval START (tariff version in effect on that day), and the
   physical-maximum check. Rejected lines are dropped and the rest appended to a temporary staging table
   (COPY on PostgreSQL, executemany on SQLite): the file is never held whole in memory.
3. Duplicates (point, interval end) are found in SQL on the staging table, so they are caught across chunks.
4. A rejected line and no ``skip_invalid`` (or a file-level error): the transaction is rolled back and the
   batch marked "rejected" with the rejections.
5. Staged readings are classified against the stored ones (new, changed, unchanged); the previous values of
   changed readings go to ReadingUndo; one INSERT … ON CONFLICT writes the new and changed ones.
6. Rollups of the touched (point, day) keys, their months and accounts, and the accounts' MonthlyUsage are
   recomputed in SQL (rollups.py).

Steps 2–6 run in one transaction. No step loops over readings in Python: the number of queries depends on the
number of chunks, metering points (one lookup per few thousand codes), tariffs and months, never on the readings.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import logging
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridkam.customers.importing import import_scope_path
from gridkam.customers.models import MeteringPoint
from gridkam.tariffs.calendar import NO_PERIOD, TouCalendar, parse_calendar
from gridkam.tariffs.models import TariffVersion

from .choices import BatchStatus, FileFormat
from .models import ImportBatch
from .rollups import TOUCHED, Dialect, rollups_refresh, temp_table_create, temp_tables_drop

logger = logging.getLogger(__name__)

STAGE = "gk_stage"
INTERVAL = datetime.timedelta(minutes=15)
INTERVAL_SECONDS = 900
# Codes per lookup query: well under SQLite's and PostgreSQL's parameter limits.
LOOKUP_CHUNK = 2000
# The outcome and the batch list the first gaps only; a file with thousands of gaps says so by itself.
GAPS_LISTED = 1000
# A file-level problem (unreadable file, bad header) is reported as a rejection of "line 0", the whole file.
FILE_LINE = 0
HASH_BLOCK = 1 << 20
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
) -> ImportOutcome:
    """Import a readings file. ``progress(done, total)`` is called after each chunk, in bytes of the file."""
    # Imported here, not at module level, so the loader (and chunks_import) can be used without the parser.
    from . import parsing

    stream, owned = _binary_stream(data)
    try:
        sha256, size = _digest(stream)

        def chunks() -> Iterator:
            try:
                for chunk in parsing.iter_readings(stream, file_format=file_format, file_name=file_name):
                    yield chunk
                    if progress is not None:
                        progress(min(stream.tell(), size), size)
            except parsing.FileFormatError as exc:
                empty = pl.DataFrame(schema=_CHUNK_SCHEMA)
                yield parsing.Chunk(frame=empty, rejected=[parsing.Rejection(line=FILE_LINE, errors=[str(exc)])])

        return chunks_import(
            chunks(),
            file_name=file_name,
            file_format=file_format,
            file_sha256=sha256,
            user=user,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
        )
    finally:
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
) -> ImportOutcome:
    """Import parsed chunks (``frame`` and ``rejected``, the parsing.Chunk contract) as one batch."""
    batch = None
    if not dry_run:
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


class _Loader:
    """One import's state: the point and tariff caches, the rejections, the months staged."""

    def __init__(self, *, batch: ImportBatch | None, user, skip_invalid: bool):
        self.batch = batch
        self.user = user
        self.skip_invalid = skip_invalid
        self.dialect = Dialect.current()
        self.zone = ZoneInfo(settings.TIME_ZONE)
        self.ratio = Decimal(str(settings.GRIDKAM.get("READING_MAX_LOAD_RATIO", 2.0)))
        self.points: dict[str, tuple[int, int, int, str | None]] = {}  # code → id, account, max kWh‰, tariff
        self.unknown: set[str] = set()
        self.calendars: dict[str, list[tuple[datetime.date, TouCalendar]]] = {}
        self.rejected: dict[int, list[str]] = {}
        self.months: set[datetime.date] = set()
        self.rows = 0

    def run(self, chunks: Iterable) -> ImportOutcome:
        with connection.cursor() as cursor:
            temp_tables_drop(cursor, STAGE)  # a leftover of an earlier run in this session
            cursor.execute(STAGE_DDL, [])
            for chunk in chunks:
                self._stage_chunk(cursor, chunk)
            self._duplicates(cursor)
            outcome = ImportOutcome(rows=self.rows, batch=self.batch.pk if self.batch else None)
            outcome.gaps = self._gaps(cursor)
            outcome.rejected = [{"line": line, "errors": errors} for line, errors in sorted(self.rejected.items())]
            if FILE_LINE in self.rejected or (self.rejected and not self.skip_invalid):
                return outcome
            self._classify(cursor, outcome)
            if self.batch is None:  # dry run
                return outcome
            if self.dialect.postgresql:
                self._partitions_ensure(cursor)
            self._write(cursor)
            temp_table_create(
                cursor, TOUCHED, f"SELECT DISTINCT metering_point_id, day FROM {STAGE} WHERE action <> %s", [UNCHANGED]
            )
            rollups_refresh(user=self.user)
            temp_tables_drop(cursor, TOUCHED, STAGE)
        outcome.committed = True
        _batch_finish(self.batch, outcome, status=BatchStatus.COMMITTED, extra=self._extent)
        return outcome

    # -- per chunk -------------------------------------------------------------------------------------------

    def _reject(self, line: int, errors: Iterable[str]) -> None:
        listed = self.rejected.setdefault(int(line), [])
        for error in errors:
            if error not in listed:
                listed.append(error)

    def _stage_chunk(self, cursor, chunk) -> None:
        frame: pl.DataFrame = chunk.frame
        self.rows += frame.height
        bad_lines = set()
        for rejection in chunk.rejected:
            self._reject(rejection.line, rejection.errors)
            bad_lines.add(int(rejection.line))
        if frame.height == 0:
            return
        self._resolve(frame.get_column("point").unique().to_list())
        known = pl.DataFrame(
            [(code, *values) for code, values in self.points.items()],
            schema={
                "point": pl.Utf8,
                "metering_point_id": pl.Int64,
                "_account": pl.Int64,
                "_max_milli": pl.Int64,
                "_tariff": pl.Utf8,
            },
            orient="row",
        )
        frame = frame.join(known, on="point", how="left")
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
            return
        frame = self._day_and_period(frame)
        self.months.update(frame.get_column("day").dt.truncate("1mo").unique().to_list())
        self._stage_write(cursor, frame)

    def _resolve(self, codes: list[str]) -> None:
        """Look up codes not seen before: id, account, physical maximum and tariff of each."""
        missing = [code for code in codes if code is not None and code not in self.points and code not in self.unknown]
        tariffs: set[str] = set()
        for start in range(0, len(missing), LOOKUP_CHUNK):
            part = missing[start : start + LOOKUP_CHUNK]
            points = MeteringPoint.objects.filter(code__in=part)
            scope = import_scope_path(self.user)
            if scope is not None:
                # A point outside the importing user's unit reads as unknown, as in the master-data import.
                points = points.filter(account__customer__org_unit__path__startswith=scope)
            rows = points.values_list("code", "pk", "account_id", "account__capacity_kva", "account__tariff_id")
            for code, pk, account_id, capacity_kva, tariff in rows:
                # kWh in 15 minutes at ratio × capacity, in thousandths: capacity × 0.25 h × ratio × 1000.
                limit = int((capacity_kva * 250 * self.ratio).to_integral_value(rounding=ROUND_FLOOR))
                self.points[code] = (pk, account_id, limit, tariff)
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
        start = (pl.col("interval_end") - pl.duration(minutes=15)).dt.convert_time_zone(settings.TIME_ZONE)
        frame = frame.with_columns(start.dt.replace_time_zone(None).alias("_start"))
        frame = frame.with_columns(pl.col("_start").dt.date().alias("day"))
        periods = np.full(frame.height, NO_PERIOD, dtype=np.int8)
        tariff_column = frame.get_column("_tariff")
        starts = frame.get_column("_start").to_numpy()
        for tariff in tariff_column.drop_nulls().unique().to_list():
            versions = self.calendars.get(tariff) or []
            if not versions:
                continue
            mask = (tariff_column == tariff).fill_null(False).to_numpy()
            selected_starts = starts[mask]
            effective = np.array([effective_from for effective_from, _cal in versions], dtype="datetime64[D]")
            # The version in effect on the start's day; before the first one, the first one (as
            # tariffs.selectors.tariff_version_current does for a date before every version).
            which = np.searchsorted(effective, selected_starts.astype("datetime64[D]"), side="right") - 1
            which[which < 0] = 0
            codes = np.empty(selected_starts.shape, dtype=np.int8)
            for index, (_effective, calendar) in enumerate(versions):
                selected = which == index
                if selected.any():
                    codes[selected] = calendar.period_codes(selected_starts[selected])
            periods[mask] = codes
        period = pl.Series("period", periods, dtype=pl.Int16)
        return frame.with_columns(pl.when(period >= 0).then(period).otherwise(None).alias("period"))

    def _stage_write(self, cursor, frame: pl.DataFrame) -> None:
        if self.dialect.postgresql:
            out = frame.select(
                "line",
                "metering_point_id",
                pl.col("interval_end").dt.strftime("%Y-%m-%d %H:%M:%S+00"),
                pl.col("day").dt.strftime("%Y-%m-%d"),
                "period",
                _decimal_text("kwh_milli"),
                _decimal_text("lag_milli"),
                _decimal_text("lead_milli"),
                pl.col("estimated").fill_null(False),
            )
            buffer = io.BytesIO()
            out.write_csv(buffer, include_header=False, null_value="")
            with cursor.copy(f"COPY {STAGE} ({', '.join(STAGE_COLUMNS)}) FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(buffer.getbuffer())
            return
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

    # -- whole-file checks -----------------------------------------------------------------------------------

    def _code(self, point_id: int) -> str:
        if not hasattr(self, "_codes"):
            self._codes = {values[0]: code for code, values in self.points.items()}
        return self._codes[point_id]

    def _local(self, epoch: int) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(epoch, tz=self.zone)

    def _duplicates(self, cursor) -> None:
        """Every line holding a (point, interval end) that another line holds too is rejected."""
        d = self.dialect
        duplicated = (
            f"SELECT metering_point_id, interval_end FROM {STAGE} "
            "GROUP BY metering_point_id, interval_end HAVING COUNT(*) > 1"
        )
        cursor.execute(
            f"SELECT s.line, s.metering_point_id, {d.epoch('s.interval_end')} FROM {STAGE} s "
            f"JOIN ({duplicated}) dup ON dup.metering_point_id = s.metering_point_id "
            "AND dup.interval_end = s.interval_end ORDER BY s.line",
            [],
        )
        lines_by_key: dict[tuple[int, int], list[int]] = {}
        for line, point_id, epoch in cursor.fetchall():
            lines_by_key.setdefault((point_id, int(epoch)), []).append(line)
        if not lines_by_key:
            return
        for (point_id, epoch), lines in lines_by_key.items():
            message = _("Metering point “%(code)s” has more than one reading ending %(time)s (lines %(lines)s).") % {
                "code": self._code(point_id),
                "time": self._local(epoch).strftime("%Y-%m-%d %H:%M"),
                "lines": ", ".join(str(line) for line in lines),
            }
            for line in lines:
                self._reject(line, [message])
        # With skip_invalid the duplicated lines are left out whole, like any rejected line.
        cursor.execute(
            f"DELETE FROM {STAGE} WHERE line IN (SELECT s.line FROM {STAGE} s JOIN ({duplicated}) dup "
            "ON dup.metering_point_id = s.metering_point_id AND dup.interval_end = s.interval_end)",
            [],
        )

    def _gaps(self, cursor) -> list[dict]:
        """Runs of missing quarter-hours between a point's first and last interval in the file."""
        epoch = self.dialect.epoch("interval_end")
        cursor.execute(
            f"""
            SELECT metering_point_id, previous, e FROM (
                SELECT metering_point_id, {epoch} AS e,
                       LAG({epoch}) OVER (PARTITION BY metering_point_id ORDER BY interval_end) AS previous
                FROM {STAGE}
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
        return gaps

    # -- writing ---------------------------------------------------------------------------------------------

    def _classify(self, cursor, outcome: ImportOutcome) -> None:
        d = self.dialect
        # A file without reactive energy (wide96 has no leading kvarh; a blank cell) keeps what is stored:
        # re-sending active energy must not erase the reactive readings of an earlier, fuller file.
        cursor.execute(
            f"UPDATE {STAGE} SET kvarh_lag = COALESCE({STAGE}.kvarh_lag, r.kvarh_lag), "
            f"kvarh_lead = COALESCE({STAGE}.kvarh_lead, r.kvarh_lead) "
            f"FROM metering_reading r WHERE r.metering_point_id = {STAGE}.metering_point_id "
            f"AND r.interval_end = {STAGE}.interval_end "
            f"AND ({STAGE}.kvarh_lag IS NULL OR {STAGE}.kvarh_lead IS NULL)",
            [],
        )
        changed = " OR ".join(d.distinct(f"r.{name}", f"{STAGE}.{name}") for name in READING_VALUES)
        cursor.execute(
            f"UPDATE {STAGE} SET action = CASE WHEN {changed} THEN %s ELSE %s END "
            f"FROM metering_reading r WHERE r.metering_point_id = {STAGE}.metering_point_id "
            f"AND r.interval_end = {STAGE}.interval_end",
            [CHANGED, UNCHANGED],
        )
        cursor.execute(
            f"""SELECT COALESCE(SUM(CASE WHEN action = %s THEN 1 ELSE 0 END), 0),
                       COALESCE(SUM(CASE WHEN action = %s THEN 1 ELSE 0 END), 0),
                       COALESCE(SUM(CASE WHEN action = %s THEN 1 ELSE 0 END), 0),
                       COUNT(DISTINCT metering_point_id), MIN({d.epoch("interval_end")}), MAX({d.epoch("interval_end")})
                FROM {STAGE}""",
            [NEW, CHANGED, UNCHANGED],
        )
        inserted, updated, unchanged, points, first, last = cursor.fetchone()
        outcome.inserted, outcome.updated, outcome.unchanged = int(inserted), int(updated), int(unchanged)
        self._extent = {
            "points": int(points),
            "first_interval_end": self._local(int(first)) if first is not None else None,
            "last_interval_end": self._local(int(last)) if last is not None else None,
        }

    def _partitions_ensure(self, cursor) -> None:
        """Monthly partitions ``metering_reading_yYYYYmMM`` for the months staged, before any row goes in. A
        partition holds the intervals STARTING in its local month, like the monthly rollups, so its bounds are
        the month's first interval end (00:15 on the 1st) inclusive to the next month's exclusive."""
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'metering_reading'::regclass",
            [],
        )
        existing = {name for (name,) in cursor.fetchall()}
        for month in sorted(self.months):
            name = f"metering_reading_y{month.year:04d}m{month.month:02d}"
            if name in existing:
                continue
            following = (month + datetime.timedelta(days=32)).replace(day=1)
            low = datetime.datetime.combine(month, datetime.time(), tzinfo=self.zone) + INTERVAL
            high = datetime.datetime.combine(following, datetime.time(), tzinfo=self.zone) + INTERVAL
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF metering_reading "
                f"FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')",
                [],
            )

    def _write(self, cursor) -> None:
        batch_id = self.batch.pk
        cursor.execute(
            f"""INSERT INTO metering_readingundo (batch_id, metering_point_id, interval_end, kwh, kvarh_lag,
                                                  kvarh_lead, estimated, previous_batch_id)
                SELECT %s, r.metering_point_id, r.interval_end, r.kwh, r.kvarh_lag, r.kvarh_lead, r.estimated,
                       r.batch_id
                FROM {STAGE} s
                JOIN metering_reading r ON r.metering_point_id = s.metering_point_id AND r.interval_end = s.interval_end
                WHERE s.action = %s""",
            [batch_id, CHANGED],
        )
        columns = ("day", "period", "kwh", "kvarh_lag", "kvarh_lead", "estimated", "batch_id")
        cursor.execute(
            f"""INSERT INTO metering_reading (metering_point_id, interval_end, {", ".join(columns)})
                SELECT metering_point_id, interval_end, day, period, kwh, kvarh_lag, kvarh_lead, estimated, %s
                FROM {STAGE} WHERE action <> %s
                ON CONFLICT (metering_point_id, interval_end) DO UPDATE SET
                {", ".join(f"{name} = excluded.{name}" for name in columns)}""",
            [batch_id, UNCHANGED],
        )


# -- helpers -------------------------------------------------------------------------------------------------


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
