"""The bill run of a month in a province-sized database (issue 5: under 60 s for 20,000 accounts on PostgreSQL).

The session's demo seed (bench/conftest.py: 20,000 customers, about 25,000 electricity accounts on the sample
tariffs, with their contract terms) gets one month of quantities for every account, written in bulk; then
``bill_run`` bills the month as ``manage.py bill_run --period`` does: every account that is not closed, in chunks
of GRIDKAM["BILL_RUN_CHUNK"], each priced by the engine with its lines stored. Each round starts from a month
without bills (the previous round's are removed in the setup, outside the time); a re-run that replaces every
draft is timed once more and reported in extra_info. Times are reported, not asserted (STYLE.md); the bills
written and the reasons for the accounts not billed are checked. On PostgreSQL the run commits for real, chunk by
chunk, as in production (see the test's docstring); what the benchmark wrote is removed at the end.

``BENCH_ACCOUNTS`` (bench/conftest.py) makes a smaller province; ``BENCH_BILL_RUN_ROUNDS`` sets the rounds.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection, transaction

from .conftest import BIG, BenchDatabase

MONTH = dt.date(2026, 3, 1)  # every sample tariff has a published version in effect
ROUNDS = int(os.environ.get("BENCH_BILL_RUN_ROUNDS", "2"))
SEED = 2026
# Time-of-use shares of a month's energy (sharp, peak, flat, valley, deep valley) by load pattern.
SHARES = (
    (Decimal("0.04"), Decimal("0.30"), Decimal("0.36"), Decimal("0.30"), Decimal("0")),
    (Decimal("0"), Decimal("0.22"), Decimal("0.38"), Decimal("0.40"), Decimal("0")),
    (Decimal("0.06"), Decimal("0.34"), Decimal("0.40"), Decimal("0.20"), Decimal("0")),
)
CENT = Decimal("0.01")


def month_usage_seed(month: dt.date) -> int:
    """One month of quantities for every account, in bulk (no history: these are benchmark rows), from its
    capacity and a load factor: energy split by period, reactive energy for a power factor around 0.9, and a
    maximum demand that sometimes exceeds a declared contract demand."""
    from gridkam.customers.models import ElectricityAccount
    from gridkam.tariffs.choices import UsageSource
    from gridkam.tariffs.models import MonthlyUsage

    rng = random.Random(SEED)
    rows = []
    for pk, capacity, contract in ElectricityAccount.objects.order_by("pk").values_list(
        "pk", "capacity_kva", "contract_demand_kw"
    ):
        load_factor = Decimal(str(round(rng.uniform(0.25, 0.75), 3)))
        demand = (capacity * Decimal(str(round(rng.uniform(0.45, 0.9), 3)))).quantize(Decimal("0.001"))
        if contract and rng.random() < 0.15:
            demand = (contract * Decimal("1.12")).quantize(Decimal("0.001"))
        energy = (demand * 720 * load_factor).quantize(CENT)
        shares = SHARES[pk % len(SHARES)]
        values = [(energy * share).quantize(CENT) for share in shares]
        rows.append(
            MonthlyUsage(
                account_id=pk,
                month=month,
                sharp_kwh=values[0],
                peak_kwh=values[1],
                flat_kwh=values[2],
                valley_kwh=values[3],
                deep_valley_kwh=values[4],
                lagging_kvarh=(energy * Decimal(str(round(rng.uniform(0.3, 0.6), 3)))).quantize(CENT),
                leading_kvarh=(energy * Decimal("0.01")).quantize(CENT),
                max_demand_kw=demand,
                source=UsageSource.IMPORTED,
            )
        )
    MonthlyUsage.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def bills_clear(month: dt.date) -> None:
    """Remove the month's bills, their lines and history rows, so that the next round bills from scratch."""
    from gridkam.billing.models import Bill, BillLine

    with transaction.atomic():
        BillLine.objects.filter(bill__period=month).delete()
        Bill.history.filter(period=month).delete()
        Bill.objects.filter(period=month)._raw_delete(Bill.objects.db)


@pytest.mark.django_db
def test_bill_run_month(benchmark, bench_db: BenchDatabase):
    """On PostgreSQL the run works on a connection of its own (another thread), in autocommit: each chunk commits
    for real, as in production, deferred constraint checks included. Inside the test's transaction each chunk
    would be a savepoint of one long transaction, which made the run twice as slow. (A transactional test would
    flush the database at its end, under the benchmarks after it.) SQLite's in-memory test database is one
    connection's: there the run stays in the test's transaction. What the benchmark wrote is removed at the end."""
    if connection.vendor != "postgresql":
        _measured(benchmark)
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_own_connection, benchmark).result()


def _own_connection(benchmark) -> None:
    from django.db import connections

    try:
        _measured(benchmark)
    finally:
        connections.close_all()


def _measured(benchmark) -> None:
    from django.test import override_settings

    from gridkam.billing.models import BillRun
    from gridkam.tariffs.models import MonthlyUsage

    from .conftest import BENCH_SETTINGS

    with override_settings(**BENCH_SETTINGS):
        usage_before = MonthlyUsage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        runs_before = BillRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        try:
            _bill_run_month(benchmark)
        finally:
            bills_clear(MONTH)
            BillRun.objects.filter(pk__gt=runs_before).delete()
            MonthlyUsage.objects.filter(pk__gt=usage_before).delete()


def _bill_run_month(benchmark) -> None:
    from gridkam.billing.billrun import bill_run
    from gridkam.billing.choices import BillStatus
    from gridkam.billing.models import Bill, BillLine
    from gridkam.customers.choices import AccountStatus
    from gridkam.customers.models import ElectricityAccount

    started = time.monotonic()
    usage_rows = month_usage_seed(MONTH)
    seed_seconds = round(time.monotonic() - started, 1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    accounts = ElectricityAccount.objects.exclude(status=AccountStatus.CLOSED).count()

    runs = []

    def run_month():
        runs.append(bill_run(period=MONTH))

    benchmark.pedantic(run_month, setup=lambda: bills_clear(MONTH), rounds=ROUNDS, iterations=1, warmup_rounds=0)
    run = runs[-1]
    assert run.accounts == accounts and run.chunks_done == run.chunks
    assert run.created + len(run.skipped) == accounts and run.replaced == 0
    assert Bill.objects.filter(period=MONTH, status=BillStatus.DRAFT).count() == run.created > 0.9 * accounts

    # Once more on top of the drafts: every one is replaced (deleted and created again).
    started = time.monotonic()
    rerun = bill_run(period=MONTH)
    rerun_seconds = round(time.monotonic() - started, 2)
    assert rerun.replaced == run.created and rerun.created == 0

    benchmark.extra_info.update(
        accounts=accounts,
        customers_seeded=BIG,
        usage_rows=usage_rows,
        usage_seed_seconds=seed_seconds,
        bills=run.created,
        bill_lines=BillLine.objects.filter(bill__period=MONTH).count(),
        not_billed=dict(Counter(entry["reason"] for entry in run.skipped)),
        chunks=run.chunks,
        rerun_replacing_seconds=rerun_seconds,
        database=connection.vendor,
    )
