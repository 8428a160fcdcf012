"""My work at province scale (issue 6: under 150 ms with a constant query count).

On the session's demo utility (20,000 customers) the test makes an account manager in a Huizhou team (so he sees his
team's portfolio, thousands of customers) who manages 40 customers himself, and writes in bulk:

- his work: 200 open service requests (a fifth breached, a fifth past their 80 % warning, the rest running), 300
  plan occurrences of those customers' plans (overdue, window open, due within the horizon and beyond it), 50 open
  tasks and 20 open risk warnings;
- everyone else's: a plan for every customer of the province with twelve monthly visits (240,000 occurrences),
  20,000 open requests, 20,000 tasks and 5,000 warnings held by the customers' own managers.

It first gives him five items and counts the queries of ``my_work()`` and of the page; then writes the rest and
asserts the same counts; then times, for 15 rounds, ``my_work()`` (``selector``) and the first page of
``/work/`` through the test client (``page``: middleware, view, queries, template). Times are reported, not
asserted. Results: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from .conftest import BIG, SEED, BenchDatabase, _login

ROUNDS = 15
URL = "/work/"
BATCH = 5000
USERNAME = "work-bench-manager"
OWN_CUSTOMERS = 40


def _user():
    from gridkam.customers.choices import AssignmentRole
    from gridkam.customers.models import AccountAssignment
    from gridkam.users.choices import Role
    from gridkam.users.models import User

    colleague = User.objects.select_related("team", "org_unit").get(username="hz_manager1")
    user = User.objects.create(
        username=USERNAME,
        display_name="基准经理",
        role=Role.ACCOUNT_MANAGER,
        org_unit=colleague.org_unit,
        team=colleague.team,
    )
    # Forty of his team's customers become his (as managers hand portfolios over); fewer on a small seed.
    mine = list(
        AccountAssignment.objects.filter(
            user__team_id=colleague.team_id, role=AssignmentRole.MANAGER, end_date__isnull=True
        )
        .order_by("customer_id")
        .values_list("customer_id", flat=True)[:OWN_CUSTOMERS]
    )
    assert len(mine) >= 5, "the demo team holds too few customers"
    AccountAssignment.objects.filter(customer_id__in=mine, role=AssignmentRole.MANAGER, end_date__isnull=True).update(
        user=user
    )
    return user, mine


def _plans(customer_ids, year, owner_of) -> dict[int, tuple[int, int]]:
    """A plan with one monthly-visit item per customer: {customer: (plan id, item id)}."""
    from gridkam.engagement.choices import Activity, Frequency
    from gridkam.engagement.models import PlanItem, ServicePlan

    ServicePlan.objects.bulk_create(
        [ServicePlan(customer_id=c, year=year, tier="second") for c in customer_ids], batch_size=BATCH
    )
    plans = dict(ServicePlan.objects.filter(customer_id__in=customer_ids, year=year).values_list("customer_id", "pk"))
    PlanItem.objects.bulk_create(
        [
            PlanItem(plan_id=plans[c], activity=Activity.VISIT, frequency=Frequency.MONTHLY, owner_id=owner_of.get(c))
            for c in customer_ids
        ],
        batch_size=BATCH,
    )
    items = dict(PlanItem.objects.filter(plan_id__in=plans.values()).values_list("plan__customer_id", "pk"))
    return {c: (plans[c], items[c]) for c in customer_ids}


def _occurrence(item_id, customer_id, owner_id, seq, due, status="planned"):
    from gridkam.engagement.choices import Activity
    from gridkam.engagement.models import PlanOccurrence

    return PlanOccurrence(
        item_id=item_id,
        customer_id=customer_id,
        owner_id=owner_id,
        activity=Activity.VISIT,
        seq=seq,
        starts_on=due - dt.timedelta(days=14),
        due_date=due,
        status=status,
    )


def _request(n, customer_id, assignee_id, now, rng, team_id=None):
    from gridkam.servicedesk.models import ServiceRequest

    kind = rng.random()
    if kind < 0.2:  # breached
        due, warn, breached = now - dt.timedelta(hours=rng.randint(1, 48)), None, True
    elif kind < 0.4:  # past its warning time
        due, warn, breached = now + dt.timedelta(hours=rng.randint(1, 8)), now - dt.timedelta(minutes=30), False
    else:
        due, warn, breached = now + dt.timedelta(hours=rng.randint(9, 200)), None, False
    return ServiceRequest(
        number=f"MWB{n:09d}",
        customer_id=customer_id,
        request_type="consultation",
        channel="manager_line",
        title=f"基准请求{n}",
        status="assigned",
        team_id=team_id,
        assignee_id=assignee_id,
        created_at=now - dt.timedelta(days=1),
        resolution_due_at=due,
        resolution_warn_at=warn or due - dt.timedelta(hours=8),
        resolution_breached=breached,
        resolution_warned=breached,
    )


def _task(customer_id, assignee_id, due, n):
    from gridkam.engagement.models import Task

    return Task(title=f"基准任务{n}", customer_id=customer_id, assignee_id=assignee_id, due_date=due)


def _warning(account_id, due):
    from gridkam.billing.models import RiskWarning

    return RiskWarning(account_id=account_id, level="high", due_date=due)


def seed_own(user, mine, *, today, now, rng, counts, occurrence_days=(-60, 90)) -> int:
    """The user's own work: ``counts`` = (requests, occurrences, tasks, warnings)."""
    from gridkam.billing.models import RiskWarning
    from gridkam.customers.models import ElectricityAccount
    from gridkam.engagement.models import PlanItem, PlanOccurrence, ServicePlan, Task
    from gridkam.servicedesk.models import ServiceRequest

    n_requests, n_occurrences, n_tasks, n_warnings = counts
    start = ServiceRequest.objects.count()
    ServiceRequest.objects.bulk_create(
        [_request(start + k, mine[k % len(mine)], user.pk, now, rng, user.team_id) for k in range(n_requests)]
    )
    have = set(ServicePlan.objects.filter(customer_id__in=mine, year=today.year).values_list("customer_id", flat=True))
    _plans([c for c in mine if c not in have], today.year, {c: user.pk for c in mine})
    items = dict(
        PlanItem.objects.filter(plan__customer_id__in=mine, plan__year=today.year).values_list(
            "plan__customer_id", "pk"
        )
    )
    # Due from 60 days ago to 90 days ahead: overdue, window open, within the horizon, beyond it.
    PlanOccurrence.objects.bulk_create(
        [
            _occurrence(items[c], c, user.pk, k % 12 + 1, today + dt.timedelta(days=rng.randint(*occurrence_days)))
            for k in range(n_occurrences)
            for c in [mine[k % len(mine)]]
        ]
    )
    Task.objects.bulk_create(
        [
            _task(mine[k % len(mine)], user.pk, today + dt.timedelta(days=rng.randint(-10, 20)), k)
            for k in range(n_tasks)
        ]
    )
    accounts = dict(
        ElectricityAccount.objects.filter(customer_id__in=mine).order_by("pk").values_list("customer_id", "pk")
    )
    RiskWarning.objects.bulk_create(
        [
            _warning(accounts[mine[k % len(mine)]], today + dt.timedelta(days=rng.randint(-5, 10)))
            for k in range(n_warnings)
        ]
    )
    return sum(counts)


def seed_others(user, mine, *, today, now, rng) -> dict[str, int]:
    """Everyone else's work across the province, held by each customer's own manager."""
    from gridkam.billing.models import RiskWarning
    from gridkam.customers.choices import AssignmentRole
    from gridkam.customers.models import AccountAssignment, ElectricityAccount
    from gridkam.engagement.models import PlanOccurrence, Task
    from gridkam.servicedesk.models import ServiceRequest

    owner_of = dict(
        AccountAssignment.objects.filter(role=AssignmentRole.MANAGER, end_date__isnull=True)
        .exclude(customer_id__in=mine)
        .values_list("customer_id", "user_id")
    )
    customers = sorted(owner_of)
    plans = _plans(customers, today.year, owner_of)
    occurrences = [
        _occurrence(
            plans[c][1],
            c,
            owner_of[c],
            month,
            dt.date(today.year, month, 28),
            "done" if dt.date(today.year, month, 28) < today and rng.random() < 0.8 else "planned",
        )
        for c in customers
        for month in range(1, 13)
    ]
    PlanOccurrence.objects.bulk_create(occurrences, batch_size=BATCH)
    start = ServiceRequest.objects.count()
    picks = [rng.choice(customers) for _ in range(20_000)]
    ServiceRequest.objects.bulk_create(
        [_request(start + k, c, owner_of[c], now, rng) for k, c in enumerate(picks)], batch_size=BATCH
    )
    Task.objects.bulk_create(
        [
            _task(c, owner_of[c], today + dt.timedelta(days=rng.randint(-10, 30)), k)
            for k, c in enumerate(rng.choice(customers) for _ in range(20_000))
        ],
        batch_size=BATCH,
    )
    accounts = list(ElectricityAccount.objects.exclude(customer_id__in=mine).values_list("pk", flat=True))
    RiskWarning.objects.bulk_create(
        [
            _warning(a, today + dt.timedelta(days=rng.randint(-5, 10)))
            for a in rng.sample(accounts, min(5_000, len(accounts) // 4))
        ],
        batch_size=BATCH,
    )
    return {
        "occurrences": len(occurrences),
        "requests": 20_000,
        "tasks": 20_000,
        "warnings": min(5_000, len(accounts) // 4),
    }


def _queries(func) -> int:
    with CaptureQueriesContext(connection) as queries:
        func()
    return len(queries)


@pytest.mark.django_db
@pytest.mark.parametrize("what", ["selector", "page"])
def test_my_work(benchmark, bench_db: BenchDatabase, what: str):
    from gridkam.customers.models import Customer
    from gridkam.engagement.work import my_work
    from gridkam.users.models import User

    now = timezone.now()
    today = timezone.localdate(now)
    rng = random.Random(SEED)
    user, mine = _user()
    client = _login(USERNAME)

    def fresh_user():
        return User.objects.get(pk=user.pk)  # as a request has it: nothing cached on it

    def selector():
        return my_work(fresh_user(), today)

    def page():
        response = client.get(URL)
        assert response.status_code == 200
        return response

    # Five items first: the query counts with a handful of rows.
    small_items = seed_own(user, mine, today=today, now=now, rng=rng, counts=(1, 2, 1, 1), occurrence_days=(-5, 5))
    few = selector()
    assert few.total == small_items
    small = {"selector": _queries(selector), "page": _queries(page)}
    own = seed_own(user, mine, today=today, now=now, rng=rng, counts=(200, 300, 50, 20))
    others = seed_others(user, mine, today=today, now=now, rng=rng)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    queue = selector()
    large = {"selector": _queries(selector), "page": _queries(page)}
    assert queue.total > 400, queue.counts
    assert large == small, f"{large} queries with {queue.total} items, {small} with {few.total}"

    benchmark.extra_info.update(
        url=URL if what == "page" else "my_work()",
        queries=large[what],
        queries_with_5_items=small[what],
        items=queue.total,
        counts=queue.counts,
        overdue=queue.overdue,
        own_rows_written=own + small_items,
        others=others,
        customers=BIG,
        own_customers=len(mine),
        visible_customers=Customer.objects.visible_to(user).count(),
        target_ms=150,
    )
    result = benchmark.pedantic(selector if what == "selector" else page, rounds=ROUNDS, iterations=1, warmup_rounds=2)
    assert result is not None
