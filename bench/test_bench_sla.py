"""The SLA job over 200,000 open service requests (issue 6: under 10 s; PostgreSQL).

Requests are inserted in bulk (COPY; the benchmark runs on PostgreSQL only) for a few customers made here, with
their warning and due times stored as ``sla_apply`` would have: most run quietly towards targets days ahead or
were dealt with by earlier sweeps; in each of the groups of about 1/60 of them a threshold is crossed now (the
warning time, the due time, the time for the second escalation level), and another group waits for the
customer (paused, ignored). ``sla_sweep`` is timed at that moment; before each round the crossed groups are put
back. Times are reported, not asserted (STYLE.md); the number of queries is asserted to stay small.
``BENCH_SLA_REQUESTS=20000`` makes a quicker run.
"""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

REQUESTS = int(os.environ.get("BENCH_SLA_REQUESTS", "200000"))
ROUNDS = 3
NOW = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)
GROUPS = 60
# Groups by pk % GROUPS (the title says which): 0 warning now, 1 breach now, 2 second escalation level now,
# 3 paused, 4 handled by earlier sweeps; the others run towards targets ahead.
WARN, BREACH, LEVEL2, PAUSED, HANDLED = range(5)


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


def _people():
    from gridkam.core.choices import OrgUnitKind
    from gridkam.core.services import org_unit_create
    from gridkam.core.testing import make_customer, make_user
    from gridkam.servicedesk.sla import sla_policies_load
    from gridkam.users.choices import Role
    from gridkam.users.models import Team

    sla_policies_load()
    root = org_unit_create(code="SLAB", name="SLA基准省", kind=OrgUnitKind.PROVINCE)
    city = org_unit_create(code="SLAB1", name="SLA基准市", kind=OrgUnitKind.CITY, parent=root)
    make_user("sla-bench-boss", role=Role.SUPERVISOR, org_unit=city)
    lead = make_user("sla-bench-lead", role=Role.ACCOUNT_MANAGER, org_unit=city)
    team = Team.objects.create(name="SLA基准班", org_unit=city, lead=lead)
    managers = [make_user(f"sla-bench-m{i}", role=Role.ACCOUNT_MANAGER, org_unit=city) for i in range(10)]
    customers = [make_customer(name=f"SLA基准客户{i}", org_unit=city) for i in range(20)]
    return team, managers, customers


COLUMNS = (
    "number",
    "customer_id",
    "request_type",
    "channel",
    "priority",
    "title",
    "status",
    "team_id",
    "assignee_id",
    "created_at",
    "sla_policy_id",
    "clock",
    "response_warn_at",
    "response_due_at",
    "responded_at",
    "resolution_warn_at",
    "resolution_due_at",
    "response_warned",
    "response_breached",
    "escalation_level",
    "next_escalation_at",
    "paused_at",
)


def _rows(team, managers, customers, policy_id):
    minute = dt.timedelta(minutes=1)
    for i in range(REQUESTS):
        group = i % GROUPS
        created = NOW - dt.timedelta(hours=2)
        warn = due = NOW + dt.timedelta(hours=1 + i % 150)
        warned = breached = False
        level, next_at, paused, status, responded = 0, None, None, "assigned", None
        if group == WARN:
            warn, due = NOW - (i % 5) * minute, NOW + (2 + i % 50) * minute
        elif group == BREACH:
            warn, due, warned = NOW - 20 * minute, NOW - (i % 5) * minute, True
        elif group == LEVEL2:
            warn, due, warned, breached = NOW - 3 * 60 * minute, NOW - 2 * 60 * minute, True, True
            level, next_at = 1, NOW - minute
        elif group == PAUSED:
            warn, due, paused, status = NOW - 20 * minute, NOW - minute, NOW - 60 * minute, "waiting_customer"
        elif group == HANDLED:
            warn, due, warned, breached, level = NOW - 3 * 60 * minute, NOW - 2 * 60 * minute, True, True, 2
        elif group % 3 == 0:
            responded = created + 5 * minute  # met long ago: its times are in the past, never warned
            warn, due = NOW - 60 * minute, NOW - 30 * minute
        yield (
            f"SLA-B{i:08d}",
            customers[i % len(customers)].pk,
            "repair",
            "95598",
            "normal",
            f"group{group}",
            status,
            team.pk,
            managers[i % len(managers)].pk,
            created,
            policy_id,
            "24x7",
            warn,
            due,
            responded,
            NOW + dt.timedelta(days=2),
            NOW + dt.timedelta(days=3),
            warned,
            breached,
            level,
            next_at,
            paused,
        )


def _insert(rows) -> None:
    from gridkam.servicedesk.models import ServiceRequest

    _copy(ServiceRequest, COLUMNS, rows)


def _reset() -> None:
    """Put the groups crossing a threshold now back as they were before the sweep."""
    from gridkam.engagement.models import Task
    from gridkam.servicedesk.models import RequestEvent, ServiceRequest

    RequestEvent.objects.filter(at=NOW).delete()
    Task.objects.filter(source__in=("sla_warning", "sla_escalation"), link__startswith="/service/requests/").delete()
    mine = ServiceRequest.objects.filter(number__startswith="SLA-B")
    mine.filter(title=f"group{WARN}").update(response_warned=False)
    mine.filter(title=f"group{BREACH}").update(response_breached=False, escalation_level=0, next_escalation_at=None)
    mine.filter(title=f"group{LEVEL2}").update(escalation_level=1, next_escalation_at=NOW - dt.timedelta(minutes=1))


@pytest.mark.django_db
def test_sla_sweep(benchmark):
    from gridkam.servicedesk.models import ServiceRequest, SlaPolicy
    from gridkam.servicedesk.sla import sla_sweep

    if connection.vendor != "postgresql":
        pytest.skip("the SLA job is measured on PostgreSQL (BENCH_PG in the Makefile)")
    started = time.monotonic()
    team, managers, customers = _people()
    policy = SlaPolicy.objects.get(tier="third", request_type="repair", priority="normal")
    _insert(_rows(team, managers, customers, policy.pk))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seed_seconds = round(time.monotonic() - started, 1)
    assert ServiceRequest.objects.filter(number__startswith="SLA-B").count() == REQUESTS

    def expected(group: int) -> int:
        return len(range(group, REQUESTS, GROUPS))

    with CaptureQueriesContext(connection) as queries:
        first = sla_sweep(now=NOW)
    assert first["warned"] == expected(WARN)
    assert first["breached"] == expected(BREACH)
    assert first["escalated_lead"] == expected(BREACH)
    assert first["escalated_supervisor"] == expected(LEVEL2)
    assert first["tasks"] == expected(WARN) + expected(BREACH) + expected(LEVEL2)
    crossing = first["tasks"]
    # A fixed handful of statements plus batches of 2,000 (ids in updates, inserted rows).
    assert len(queries) <= 30 + 4 * (crossing // 2000 + 1)
    again = sla_sweep(now=NOW)
    assert again["tasks"] == again["events"] == 0

    result = benchmark.pedantic(sla_sweep, kwargs={"now": NOW}, setup=_reset, rounds=ROUNDS, iterations=1)
    assert result["tasks"] == crossing
    benchmark.extra_info.update(
        requests=REQUESTS,
        seed_seconds=seed_seconds,
        crossing=crossing,
        summary={k: v for k, v in first.items() if k != "now"},
        queries=len(queries),
        target_seconds=10,
    )
