"""Issue 4: one month of 15-minute readings for 10,000 metering points (28.8 million readings, the steel plant's
year repeated with offsets) imported into PostgreSQL, rollups included.

Targets: 250,000 readings a second or better end to end, reported as a ratio to a raw COPY of the same file into an
unindexed table in the same run (aim ≤ 2×), and a peak memory of the import under 1 GiB whatever the file size.
Times and memory are reported, not asserted (STYLE.md); what is asserted is that the import did what it should.

One test, three measurements, in this order:

1. ``raw COPY``: the file as it is, streamed in 1 MiB blocks into a new table of text and numeric columns
   without indexes, and committed; once before the import and once after it, the ratio taken to the faster.
2. ``readings_import``: the file through the loader in this process into an empty readings table (no partition for
   the month yet, as in a fresh database), rollups and monthly quantities included, committed. This is the
   benchmark's own time (``benchmark.pedantic``, one round: a round takes minutes).
3. ``import_readings --json`` in a process of its own, after the readings are emptied again: its wall time and,
   from the operating system, its peak resident memory.

Scale: ``GRIDKAM_BENCH_POINTS`` (default 10,000; 500 make a quick run); ``GRIDKAM_BENCH_ORDER`` ``point`` (default:
each point's month in one run of rows) or ``time`` (every point's reading of an interval, then the next interval).
The file is written once under ``GRIDKAM_BENCH_CACHE`` (default ``DATA_DIR/bench``, about 1.3 GB at 10,000
points) and reused. PostgreSQL only: on SQLite the test is skipped. Results: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from .readings_db import bench_points_delete, bench_points_seed, checkpoint, raw_copy, readings_clear
from .readings_file import POINT_PREFIX, ReadingsFileSpec, point_codes, readings_file

POINTS = int(os.environ.get("GRIDKAM_BENCH_POINTS", "10000"))
ORDER = os.environ.get("GRIDKAM_BENCH_ORDER", "point")
MANAGE = Path(settings.BASE_DIR) / "manage.py"
GIB = 1 << 30


@dataclass
class ReadingsBench:
    spec: ReadingsFileSpec
    path: Path
    accounts: int


def _cache_dir() -> Path:
    return Path(os.environ.get("GRIDKAM_BENCH_CACHE") or Path(settings.DATA_DIR) / "bench")


def _partitions_drop(spec: ReadingsFileSpec) -> None:
    """The month partitions of the file: dropped, so that the import finds the readings table as a fresh database
    has it (partitions are created as data arrives)."""
    months = {(spec.first_day + datetime.timedelta(days=n)).replace(day=1) for n in range(spec.days)}
    with connection.cursor() as cursor:
        for month in sorted(months):
            cursor.execute(f"DROP TABLE IF EXISTS metering_reading_y{month.year:04d}m{month.month:02d}", [])


def _read_through(path: Path) -> None:
    """Read the file once, so that the COPYs and the import all find it in the page cache (the first reader of a
    cold file would otherwise pay for the disk)."""
    with open(path, "rb") as source:
        while source.read(16 << 20):
            pass


def _empty(spec: ReadingsFileSpec) -> None:
    readings_clear()
    _partitions_drop(spec)


@pytest.fixture(scope="module")
def readings_bench(django_db_setup, django_db_blocker):
    if connection.vendor != "postgresql":
        pytest.skip(
            "the readings import benchmark needs PostgreSQL: DATABASE_URL=postgres://… (make bench runs it on "
            "127.0.0.1:5432 when that answers)"
        )
    spec = ReadingsFileSpec(points=POINTS, order=ORDER)
    started = time.monotonic()
    path = readings_file(spec, _cache_dir())
    _read_through(path)
    print(f"\nreadings file {path} ({path.stat().st_size / 1e6:,.0f} MB) ready in {time.monotonic() - started:.1f} s")
    with django_db_blocker.unblock():
        _empty(spec)
        bench_points_delete(POINT_PREFIX)
        accounts = bench_points_seed(point_codes(spec.points))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE", [])
        try:
            yield ReadingsBench(spec=spec, path=path, accounts=accounts)
        finally:
            _empty(spec)
            bench_points_delete(POINT_PREFIX)


def _machine() -> dict:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        "",
    )
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version", [])
        (version,) = cursor.fetchone()
    return {"cpu": model, "cores": os.cpu_count(), "postgresql": version}


def _database_url() -> str:
    """The test database this process uses, as a URL for a child process."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _import_in_child(path: Path) -> tuple[float, int, dict]:
    """``manage.py import_readings FILE --json`` in a process of its own: wall seconds, peak resident memory in
    bytes (the kernel's figure for that very process, from wait4) and the JSON outcome."""
    env = {**os.environ, "DATABASE_URL": _database_url(), "DB_CONN_MAX_AGE": "0"}
    command = [sys.executable, str(MANAGE), "import_readings", str(path), "--format", "long", "--json"]
    started = time.perf_counter()
    with (
        open(os.devnull, "wb") as devnull,
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=devnull) as child,
    ):
        out = child.stdout.read()
        _pid, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    assert child.returncode == 0, out.decode()[-2000:]
    return seconds, usage.ru_maxrss * 1024, json.loads(out)


# Transactional: the import commits for real, deferred constraint checks included (a test transaction would roll
# them back unchecked); pytest-django empties the database afterwards, so pytest runs this test last.
@pytest.mark.django_db(transaction=True)
def test_import_readings_month(benchmark, readings_bench: ReadingsBench, django_db_blocker):
    from gridkam.metering.loading import readings_import
    from gridkam.metering.models import AccountMonthlyRollup, PointDailyRollup, PointMonthlyRollup, Reading

    spec, path = readings_bench.spec, readings_bench.path
    with django_db_blocker.unblock():
        copy_before, copied = raw_copy(path)
        assert copied == spec.readings
        checkpoint()

        def run():
            return readings_import(data=path, file_name=path.name, file_format="long")

        outcome = benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
        import_seconds = benchmark.stats.stats.max
        # The COPY again, after the import: on a shared machine one COPY alone makes a noisy yardstick. The
        # ratio is taken to the faster of the two (the harder comparison).
        copy_after, _copied = raw_copy(path)
        copy_seconds = min(copy_before, copy_after)
        assert outcome.committed and not outcome.rejected and not outcome.gaps
        assert (outcome.rows, outcome.inserted) == (spec.readings, spec.readings)
        assert Reading.objects.count() == spec.readings
        assert PointDailyRollup.objects.count() == spec.points * spec.days
        assert PointMonthlyRollup.objects.count() == spec.points
        assert AccountMonthlyRollup.objects.count() == readings_bench.accounts

        _empty(spec)
        checkpoint()
        child_seconds, peak_rss, child_outcome = _import_in_child(path)
        assert child_outcome["committed"] and child_outcome["inserted"] == spec.readings
        machine = _machine()

    ratio = import_seconds / copy_seconds
    benchmark.extra_info.update(
        readings=spec.readings,
        points=spec.points,
        days=spec.days,
        order=spec.order,
        file_bytes=path.stat().st_size,
        raw_copy_seconds=round(copy_seconds, 1),
        raw_copy_seconds_before_and_after=[round(copy_before, 1), round(copy_after, 1)],
        raw_copy_readings_per_second=round(spec.readings / copy_seconds),
        import_seconds=round(import_seconds, 1),
        readings_per_second=round(spec.readings / import_seconds),
        ratio_to_raw_copy=round(ratio, 2),
        child_import_seconds=round(child_seconds, 1),
        child_readings_per_second=round(spec.readings / child_seconds),
        child_peak_rss_mib=round(peak_rss / (1 << 20)),
        **machine,
    )
    print(
        f"\n{spec.readings:,} readings ({spec.points:,} points × {spec.days} days, {spec.order} order): raw COPY "
        f"{copy_before:.1f} s before, {copy_after:.1f} s after ({spec.readings / copy_seconds:,.0f}/s at best); "
        f"readings_import {import_seconds:.1f} s "
        f"({spec.readings / import_seconds:,.0f}/s), {ratio:.2f}× the COPY; import_readings in a process of its own "
        f"{child_seconds:.1f} s ({spec.readings / child_seconds:,.0f}/s), peak RSS {peak_rss / (1 << 20):,.0f} MiB "
        f"({'under' if peak_rss < GIB else 'OVER'} 1 GiB). {machine}"
    )
