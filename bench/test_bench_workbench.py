"""The collections workbench at province scale (issue 5: under 200 ms with a constant query count).

On the session's demo utility (20,000 customers, about 25,000 electricity accounts) the test writes a
billing picture in bulk: three monthly bills per account, of which about 30 % of the accounts have one to
three issued bills past due and unpaid (some partly paid); risk scores (two days) for half the accounts;
open dunning cases at various steps for a third of the accounts in arrears. It first writes that picture for
20 accounts only and counts the queries of the page, then for all and asserts the same count; then it times
the first page in the default order (risk level, then arrears) for the province supervisor (every account)
and a city billing clerk. Times are reported, not asserted. Results: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from .conftest import BIG, SEED, BenchDatabase, _login

ROUNDS = 15
URL = "/billing/workbench/"
USERS = ("gd_supervisor", "hz_clerk")
BATCH = 5000


def _month(today: datetime.date, back: int) -> datetime.date:
    year, month = divmod(today.year * 12 + today.month - 1 - back, 12)
    return datetime.date(year, month + 1, 1)


def seed_billing(account_ids: list[int], *, rng: random.Random, today: datetime.date) -> dict[str, int]:
    """Bills, risk scores and dunning cases for these accounts, in bulk."""
    from gridkam.billing.choices import BillKind, BillStatus, DunningStatus, DunningStepKind, RiskLevel
    from gridkam.billing.models import Bill, DunningCase, DunningStep, RiskScore
    from gridkam.users.models import User

    clerk = User.objects.get(username="hz_clerk")
    bills, scores, late = [], [], []
    for account_id in account_ids:
        in_arrears = rng.random() < 0.30
        overdue_months = rng.randint(1, 3) if in_arrears else 0
        for back in (3, 2, 1):
            period = _month(today, back)
            issue = (period + datetime.timedelta(days=32)).replace(day=1)
            due = issue + datetime.timedelta(days=15)
            total = Decimal(rng.randint(20_000, 3_000_000)) / 100
            unpaid = 3 - back < overdue_months  # the oldest months are the ones left unpaid
            paid = Decimal("0") if unpaid else total
            if unpaid and rng.random() < 0.25:
                paid = (total / 2).quantize(Decimal("0.01"))
            bills.append(
                Bill(
                    account_id=account_id,
                    period=period,
                    kind=BillKind.REGULAR,
                    status=BillStatus.ISSUED,
                    total=total,
                    amount_paid=paid,
                    issue_date=issue,
                    due_date=due,
                    settled_on=None if paid < total else due,
                )
            )
        if in_arrears:
            late.append(account_id)
        if rng.random() < 0.5:
            for day in (today - datetime.timedelta(days=30), today):
                level = rng.choice(RiskLevel.values)
                scores.append(
                    RiskScore(
                        account_id=account_id,
                        scored_on=day,
                        score=Decimal(rng.randint(0, 1000)) / 10,
                        level=level,
                        factors=[],
                    )
                )
    Bill.objects.bulk_create(bills, batch_size=BATCH)
    RiskScore.objects.bulk_create(scores, batch_size=BATCH)
    dunned = [pk for pk in late if rng.random() < 1 / 3]
    cases = DunningCase.objects.bulk_create(
        [
            DunningCase(
                account_id=pk,
                status=DunningStatus.OPEN,
                opened_on=today - datetime.timedelta(days=20),
                arrears_at_open=1,
            )
            for pk in dunned
        ],
        batch_size=BATCH,
    )
    if not all(case.pk for case in cases):  # a backend that does not return ids from bulk inserts
        cases = list(DunningCase.objects.filter(account_id__in=dunned, status=DunningStatus.OPEN))
    steps = []
    kinds = list(DunningStepKind)[:3]
    for case in cases:
        for n, kind in enumerate(kinds[: rng.randint(1, 3)]):
            steps.append(
                DunningStep(
                    case=case,
                    kind=kind,
                    done_on=case.opened_on + datetime.timedelta(days=6 * n),
                    done_by=clerk,
                    suspension_planned_on=case.opened_on + datetime.timedelta(days=6 * n + 5)
                    if kind == DunningStepKind.SUSPENSION_NOTICE
                    else None,
                )
            )
    DunningStep.objects.bulk_create(steps, batch_size=BATCH)
    return {"bills": len(bills), "in_arrears": len(late), "risk_scores": len(scores), "cases": len(cases)}


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return len(queries)


@pytest.mark.django_db
@pytest.mark.parametrize("username", USERS)
def test_workbench_first_page(benchmark, bench_db: BenchDatabase, username: str):
    from gridkam.customers.models import ElectricityAccount
    from gridkam.users.models import User

    today = timezone.localdate()
    rng = random.Random(SEED)
    user = User.objects.get(username=username)
    visible = list(ElectricityAccount.objects.visible_to(user).order_by("pk").values_list("pk", flat=True))
    others = list(ElectricityAccount.objects.exclude(pk__in=visible).order_by("pk").values_list("pk", flat=True))
    client = _login(username)

    # 20 accounts first: the query count of the page with a handful of rows.
    seed_billing(visible[:20], rng=rng, today=today)
    small_queries = count_queries(client, URL)
    seeded = seed_billing(visible[20:] + others, rng=rng, today=today)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    queries = count_queries(client, URL)
    response = client.get(URL)
    listed = response.context["paginator"].count

    benchmark.extra_info.update(
        url=URL,
        user=username,
        queries=queries,
        queries_at_20_accounts=small_queries,
        accounts=ElectricityAccount.objects.count(),
        visible_accounts=len(visible),
        listed_in_arrears=listed,
        customers=BIG,
        **seeded,
    )
    result = benchmark.pedantic(client.get, args=(URL,), rounds=ROUNDS, iterations=1, warmup_rounds=2)
    assert result.status_code == 200
    assert queries == small_queries, f"{queries} queries with {listed} rows, {small_queries} with a handful"
    assert listed > 0
