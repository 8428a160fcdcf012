"""The kill test: ``manage.py import_readings`` killed (SIGKILL) in the middle of a large import leaves nothing of it
in the database, neither readings nor undo rows nor rollups nor monthly quantities, and its batch is not committed.

The importing process is a real one, so it needs a database that it can see: the test database, in a transactional
test. On SQLite pytest's test database lives in this process's memory, so the test runs on PostgreSQL only (CI runs
the suite on both). The moment to kill is read from PostgreSQL itself: the importing session holds a write lock on
the daily rollups once its readings are written and their rollups are being recomputed, all in one transaction.
"""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from gridkam.metering.choices import BatchStatus, FailureReason
from gridkam.metering.loading import readings_import
from gridkam.metering.models import (
    AccountDailyRollup,
    AccountMonthlyRollup,
    ImportBatch,
    PointDailyRollup,
    PointMonthlyRollup,
    Reading,
    ReadingUndo,
)
from gridkam.metering.services import batches_interrupted_mark
from gridkam.tariffs.models import MonthlyUsage

from .factories import assert_rollups_consistent, make_points, make_tariff

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the killed process needs a database it can share: PostgreSQL (pytest's SQLite database is in memory)",
)
# 24 points × 120 days × 96 quarter-hours = 276,480 readings (about 10 MB): the import takes seconds, so there is
# time to catch it inside its transaction.
POINTS = 24
DAYS = 120
# A year no other test writes, so that the partitions the killed import would have created can be looked for.
FIRST_DAY = datetime.date(2030, 1, 1)
TIMEOUT = 60


def long_file_write(path: Path, codes: list[str], *, days: int, first_day: datetime.date, kwh: str = "12.5") -> int:
    """A long-format readings file: every quarter-hour of ``days`` days for each point. Returns the readings."""
    stamps = []
    for offset in range(days):
        day = first_day + datetime.timedelta(days=offset)
        for i in range(1, 97):
            minutes = i * 15
            stamps.append(f"{day} {minutes // 60:02d}:{minutes % 60:02d}" if i < 96 else f"{day} 24:00")
    with path.open("w", encoding="utf-8") as out:
        out.write("metering_point,interval_end,kwh,kvarh_lag\n")
        for code in codes:
            out.writelines(f"{code},{stamp},{kwh},3.25\n" for stamp in stamps)
    return len(codes) * len(stamps)


def database_url(settings_dict: dict) -> str:
    """The test database as a DATABASE_URL, for a process started by the test."""
    user = quote(settings_dict["USER"] or "", safe="")
    password = quote(settings_dict["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict["HOST"] or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    return f"postgres://{credentials}{host}{port}/{quote(settings_dict['NAME'], safe='')}"


def session_writing(table: str) -> int | None:
    """The database session (other than this one) holding a write lock on ``table``, if any."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_locks WHERE relation = %s::regclass AND mode = 'RowExclusiveLock' AND granted "
            "AND pid <> pg_backend_pid()",
            [table],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def session_gone(pid: int, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone() is None:
                return True
            time.sleep(0.05)
    return False


def test_an_import_killed_midway_leaves_nothing_of_it(transactional_db, tmp_path):
    points = make_points(POINTS, tariff=make_tariff())
    codes = [point.code for point in points]
    # Data from before: the killed import overwrites a day of it, so it would have written undo rows too.
    earlier_day = FIRST_DAY + datetime.timedelta(days=3)
    earlier = tmp_path / "earlier.csv"
    long_file_write(earlier, codes[:1], days=1, first_day=earlier_day, kwh="1")
    first = readings_import(data=earlier, file_name=earlier.name, file_format="long")
    assert first.committed
    before = {
        "readings": set(Reading.objects.values_list("metering_point_id", "interval_end", "kwh", "batch_id")),
        "point_days": set(PointDailyRollup.objects.values_list("metering_point_id", "day", "kwh_total")),
        "usage": set(MonthlyUsage.objects.values_list("account_id", "month", "flat_kwh")),
    }

    big = tmp_path / "big.csv"
    long_file_write(big, codes, days=DAYS, first_day=FIRST_DAY)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "DB_CONN_MAX_AGE": "0",
        "GRIDKAM_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("CELERY_BROKER_URL", None)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "import_readings", str(big), "--json"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        session = None
        while session is None and process.poll() is None and time.monotonic() < deadline:
            session = session_writing("metering_pointdailyrollup")
            if session is None:
                time.sleep(0.01)
        if session is None:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"never caught the import recomputing rollups (exit {process.returncode}): {out!r} {err!r}")
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        # The server notices its client is gone when the running statement ends, and rolls back.
        if not session_gone(session, timeout=10):
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [session])
            assert session_gone(session, timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL

    killed = ImportBatch.objects.exclude(pk=first.batch).get()
    assert killed.status == BatchStatus.RUNNING
    assert killed.rows == killed.inserted == 0
    assert not Reading.objects.filter(batch=killed).exists()
    assert not ReadingUndo.objects.filter(batch=killed).exists()
    assert (
        set(Reading.objects.values_list("metering_point_id", "interval_end", "kwh", "batch_id")) == (before["readings"])
    )
    assert set(PointDailyRollup.objects.values_list("metering_point_id", "day", "kwh_total")) == before["point_days"]
    assert PointMonthlyRollup.objects.count() == AccountMonthlyRollup.objects.count() == 1
    assert AccountDailyRollup.objects.count() == 1
    assert set(MonthlyUsage.objects.values_list("account_id", "month", "flat_kwh")) == before["usage"]
    assert_rollups_consistent()
    # The monthly partitions for its later months were created in the killed transaction, and went with it.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'metering_reading'::regclass AND c.relname LIKE %s",
            [f"metering_reading_y{FIRST_DAY.year}%"],
        )
        assert [name for (name,) in cursor.fetchall()] == [f"metering_reading_y{FIRST_DAY.year}m01"]

    # The stuck batch is recognised as interrupted once it shows no sign of life.
    assert batches_interrupted_mark(older_than=datetime.timedelta(0)) == [killed.pk]
    killed.refresh_from_db()
    assert (killed.status, killed.failure) == (BatchStatus.FAILED, FailureReason.INTERRUPTED)
