"""Fee-recovery risk scoring of a province (issue 5: 20,000 accounts in under 10 s on PostgreSQL).

Every account of the bench database gets 12 to 24 months of issued bills and monthly quantities (seeded in
bulk: COPY on PostgreSQL, bulk_create elsewhere): most pay on time, some late, a few stop paying and consume
less. ``risk_score_all`` is then timed as of the day after the last bill's month: the first run (which raises
the warnings and tasks of every account entering high risk) once, then the nightly re-run over several rounds.
Times are reported, not asserted (STYLE.md); the number of queries is asserted to stay small.
"""

from __future__ import annotations

import datetime as dt
import io
import time

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from .conftest import BIG, BenchDatabase

ROUNDS = 5
AS_OF = dt.date(2026, 11, 1)
LAST_MONTH = dt.date(2026, 10, 1)
SEED = 2026


def _month(index: int) -> dt.date:
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, 1)


def _plan(account_ids: list[int], rng: np.random.Generator):
    """Bills and quantities of each account: rows of (account, period, total, issue, due, settled) and
    (account, month, kWh)."""
    last = LAST_MONTH.year * 12 + LAST_MONTH.month - 1
    bills, usage = [], []
    for account_id in account_ids:
        months = int(rng.integers(12, 25))
        kind = rng.random()
        base = float(10 ** rng.uniform(4.5, 7))  # monthly bill, yuan
        unpaid = 0
        late = 0.0
        falling = 0.0
        if kind > 0.97:  # heading into default
            unpaid, late, falling = int(rng.integers(2, 6)), 30.0, 0.4
        elif kind > 0.85:  # chronic late payer
            late = float(rng.uniform(5, 45))
        for k in range(months + 3):  # quantities three months further back than the bills
            index = last - (months + 2) + k
            trend = 1 - falling * max(0, k - months) / 3
            usage.append((account_id, _month(index), round(base / 0.6 * trend * rng.uniform(0.9, 1.1), 2)))
        for k in range(months):
            index = last - months + 1 + k
            period = _month(index)
            issue = _month(index + 1)
            due = issue + dt.timedelta(days=14)
            total = round(base * rng.uniform(0.8, 1.2), 2)
            if k >= months - unpaid:
                settled = None
            elif late and rng.random() < 0.7:
                settled = due + dt.timedelta(days=int(rng.exponential(late)) + 1)
            else:
                settled = due - dt.timedelta(days=int(rng.integers(0, 10)))
            if settled is not None and settled >= AS_OF:
                settled = None
            bills.append((account_id, period, total, issue, due, settled))
    return bills, usage


def _copy(model, columns: tuple[str, ...], rows) -> None:
    """COPY rows of ``columns`` into the model's table; every other column gets the field's default."""
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    given = {name: k for k, name in enumerate(columns)}
    defaults = []
    for f in fields:
        if f.attname in given:
            defaults.append(None)
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults.append(now)
        else:
            defaults.append(f.get_db_prep_save(f.get_default(), connection))
    names = ", ".join(f.column for f in fields)
    order = [(given.get(f.attname), default) for f, default in zip(fields, defaults, strict=True)]
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {model._meta.db_table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[k] if k is not None else default for k, default in order])


def _seed(account_ids: list[int]) -> tuple[int, int]:
    from gridkam.billing.models import Bill
    from gridkam.tariffs.models import MonthlyUsage

    rng = np.random.default_rng(SEED)
    bills_n = usage_n = 0
    chunk = 2000
    for start in range(0, len(account_ids), chunk):
        bills, usage = _plan(account_ids[start : start + chunk], rng)
        bills_n += len(bills)
        usage_n += len(usage)
        if connection.vendor == "postgresql":
            _copy(
                Bill,
                ("account_id", "period", "status", "source", "total", "amount_paid", "issue_date", "due_date")
                + ("settled_on",),
                ((a, p, "issued", "imported", t, t if s else 0, i, d, s) for a, p, t, i, d, s in bills),
            )
            _copy(
                MonthlyUsage,
                ("account_id", "month", "flat_kwh", "source"),
                ((a, m, k, "imported") for a, m, k in usage),
            )
        else:
            Bill.objects.bulk_create(
                [
                    Bill(
                        account_id=a,
                        period=p,
                        status="issued",
                        source="imported",
                        total=t,
                        amount_paid=t if s else 0,
                        issue_date=i,
                        due_date=d,
                        settled_on=s,
                    )
                    for a, p, t, i, d, s in bills
                ],
                batch_size=2000,
            )
            MonthlyUsage.objects.bulk_create(
                [MonthlyUsage(account_id=a, month=m, flat_kwh=k, source="imported") for a, m, k in usage],
                batch_size=2000,
            )
    return bills_n, usage_n


@pytest.mark.django_db
def test_risk_score_all(benchmark, bench_db: BenchDatabase):
    from gridkam.billing.models import Bill, RiskScore, RiskWarning
    from gridkam.billing.risk import risk_score_all, scorecard_current
    from gridkam.customers.models import ElectricityAccount
    from gridkam.engagement.models import Task
    from gridkam.tariffs.models import MonthlyUsage

    started = time.monotonic()
    billed = set(Bill.objects.values_list("account_id", flat=True).distinct())
    with_usage = set(MonthlyUsage.objects.values_list("account_id", flat=True).distinct())
    ids = [
        pk
        for pk in ElectricityAccount.objects.exclude(status="closed").order_by("pk").values_list("pk", flat=True)
        if pk not in billed and pk not in with_usage
    ]
    bills_n, usage_n = _seed(ids)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seed_seconds = round(time.monotonic() - started, 1)
    scorecard_current()

    first_started = time.monotonic()
    with CaptureQueriesContext(connection) as first_queries:
        first = risk_score_all(today=AS_OF)
    first_seconds = round(time.monotonic() - first_started, 2)
    accounts = ElectricityAccount.objects.exclude(status="closed").count()
    assert first["accounts"] == accounts
    assert first["warnings"] == RiskWarning.objects.count() == Task.objects.filter(source="risk_warning").count()

    with CaptureQueriesContext(connection) as queries:
        again = risk_score_all(today=AS_OF)
    assert again["warnings"] == 0
    # A fixed handful of queries plus one insert per 2,000 scores.
    assert len(queries) <= 12 + 2 * (accounts // 2000 + 1)

    result = benchmark.pedantic(risk_score_all, kwargs={"today": AS_OF}, rounds=ROUNDS, iterations=1)
    assert result["accounts"] == accounts
    assert RiskScore.objects.filter(scored_on=AS_OF).count() == accounts
    benchmark.extra_info.update(
        accounts=accounts,
        bench_accounts=BIG,
        bills=bills_n,
        usage_months=usage_n,
        seed_seconds=seed_seconds,
        first_run_seconds=first_seconds,
        first_run_warnings=first["warnings"],
        first_run_queries=len(first_queries),
        rerun_queries=len(queries),
        levels=first["levels"],
        target_seconds=10,
    )
    out = io.StringIO()
    out.write(f"first run {first_seconds} s ({first['warnings']} warnings), levels {first['levels']}")
    print(out.getvalue())
