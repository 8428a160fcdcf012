"""Service metrics counted by the database: SLA compliance per target (met, breached, pending: open and not yet
due, paused, finished without the target) by team, tier, type and month; backlog aging at the bucket boundaries;
wall-clock times with mean and median; visits against plan; scoping; a constant number of queries."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.core.testing import make_customer
from gridkam.customers.choices import Tier
from gridkam.customers.models import Customer
from gridkam.engagement.choices import Activity, Frequency, OccurrenceStatus
from gridkam.engagement.models import PlanItem, PlanOccurrence, ServicePlan
from gridkam.servicedesk import metrics
from gridkam.servicedesk.choices import Channel, RequestStatus, RequestType
from gridkam.servicedesk.metrics import MetricsFilter, service_metrics
from gridkam.servicedesk.models import ServiceRequest
from gridkam.users.models import Team

from .conftest import NOW, SHANGHAI

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
SPAN = MetricsFilter(start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31))
_numbers = itertools.count(1)


def req(customer, *, created, team=None, request_type=RequestType.OTHER, status=RequestStatus.CLOSED, **fields):
    """A request with its SLA fields given by hand (the metrics read only stored fields)."""
    return ServiceRequest.objects.create(
        number=f"SRT-{next(_numbers):06d}",
        customer=customer,
        request_type=request_type,
        channel=Channel.MANAGER_LINE,
        title="测试",
        status=status,
        team=team,
        created_at=created,
        **fields,
    )


@pytest.fixture
def data(p):
    """The hand-built set (NOW is Monday 2026-03-16 10:00 Shanghai); expected numbers in the tests."""
    p.a2.tier = Tier.FIRST
    p.a2.save(update_fields=["tier"])
    t = p.team_a
    c1 = NOW - 10 * D
    r = {}
    # Response met, on site late (breached), resolution met.
    r["met"] = req(
        p.a1, created=c1, team=t, request_type=RequestType.REPAIR,
        response_due_at=c1 + H, responded_at=c1 + H / 2,
        onsite_due_at=c1 + 4 * H, onsite_at=c1 + 5 * H,
        resolution_due_at=c1 + 24 * H, resolved_at=c1 + 20 * H,
    )  # fmt: skip
    c2 = NOW - 5 * D
    # Response recorded late and flagged; resolution flagged and still open.
    r["flagged"] = req(
        p.a2, created=c2, team=t, request_type=RequestType.COMPLAINT, status=RequestStatus.IN_PROGRESS,
        response_due_at=c2 + H, responded_at=c2 + 2 * H, response_breached=True,
        resolution_due_at=c2 + 24 * H, resolution_breached=True,
    )  # fmt: skip
    c3 = NOW - 2 * H
    # Not yet due: pending on both targets.
    r["undecided"] = req(
        p.a3, created=c3, request_type=RequestType.CONSULTATION, status=RequestStatus.NEW,
        response_due_at=NOW + H, resolution_due_at=NOW + 22 * H,
    )  # fmt: skip
    c4 = NOW - 3 * D
    # Response met; waiting for the customer with the stored resolution due time passed: pending.
    r["paused"] = req(
        p.a1, created=c4, team=t, request_type=RequestType.METERING, status=RequestStatus.WAITING_CUSTOMER,
        response_due_at=c4 + H, responded_at=c4 + dt.timedelta(minutes=10),
        resolution_due_at=NOW - H, paused_at=NOW - D,
    )  # fmt: skip
    c5 = NOW - D
    # Open, past due on response and on site, flags not yet set by the sweep: breached; resolution not yet due.
    r["overdue"] = req(
        p.a1, created=c5, team=t, request_type=RequestType.REPAIR, status=RequestStatus.NEW,
        response_due_at=c5 + H, onsite_due_at=c5 + 4 * H, resolution_due_at=NOW + H,
    )  # fmt: skip
    c8 = dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI)
    # No policy (no due times): counted as a request and in the times, not in compliance.
    r["no_policy"] = req(p.a3, created=c8, team=t, responded_at=c8 + 3 * H, resolved_at=c8 + 6 * H)
    # Outside the span but open: in the backlog only.
    r["old"] = req(p.a1, created=NOW - 86 * D, team=t, status=RequestStatus.ASSIGNED, resolution_due_at=NOW - 80 * D)
    # City B: the outsider's customer.
    r["b1"] = req(
        p.b1, created=NOW - D, request_type=RequestType.REPAIR, status=RequestStatus.IN_PROGRESS,
        response_due_at=NOW, responded_at=NOW - 20 * H,
    )  # fmt: skip
    return r


def counts(row, target):
    count = row.targets[target]
    return (count.met, count.breached, count.pending)


def test_compliance_by_team_per_target(p, data):
    m = service_metrics(user=p.manager, filters=SPAN, now=NOW)
    team, none = m.by_team
    assert (team.key, team.requests) == (p.team_a.pk, 5)
    assert counts(team, "response") == (2, 2, 0) and team.response.compliance == 0.5
    assert counts(team, "onsite") == (0, 2, 0) and team.onsite.compliance == 0.0
    assert counts(team, "resolution") == (1, 1, 2) and team.resolution.compliance == 0.5
    assert (none.key, none.requests) == (None, 1)
    assert counts(none, "response") == (0, 0, 1) and none.response.compliance is None
    assert none.overall.compliance is None
    assert (m.overall.overall.met, m.overall.overall.breached) == (3, 5)
    assert m.overall.overall.compliance == 3 / 8
    assert m.overall.requests == 6


def test_compliance_by_tier_and_type(p, data):
    m = service_metrics(user=p.manager, filters=SPAN, now=NOW)
    tiers = {row.key: row for row in m.by_tier}
    assert set(tiers) == {Tier.FIRST, Tier.THIRD}
    assert counts(tiers[Tier.FIRST], "response") == (0, 1, 0)
    assert counts(tiers[Tier.FIRST], "resolution") == (0, 1, 0)
    assert counts(tiers[Tier.THIRD], "response") == (2, 1, 1)
    assert counts(tiers[Tier.THIRD], "resolution") == (1, 0, 3)
    assert [row.key for row in m.by_tier] == [Tier.FIRST, Tier.THIRD]  # in the choices' order
    types = {row.key: row for row in m.by_type}
    assert counts(types[RequestType.REPAIR], "response") == (1, 1, 0)
    assert counts(types[RequestType.REPAIR], "onsite") == (0, 2, 0)
    assert counts(types[RequestType.COMPLAINT], "response") == (0, 1, 0)
    assert counts(types[RequestType.METERING], "resolution") == (0, 0, 1)
    assert counts(types[RequestType.CONSULTATION], "resolution") == (0, 0, 1)
    assert types[RequestType.OTHER].requests == 1 and types[RequestType.OTHER].overall.applicable == 0


def test_finished_without_the_target_recorded_is_pending_not_breached(p):
    created = NOW - 10 * D
    req(
        p.a1, created=created, team=p.team_a, request_type=RequestType.REPAIR,
        response_due_at=created + H, responded_at=created + H / 4,
        onsite_due_at=created + 4 * H, resolution_due_at=created + 24 * H, resolved_at=created + 2 * H,
    )  # fmt: skip
    (row,) = service_metrics(user=p.manager, filters=SPAN, now=NOW).by_team
    assert counts(row, "onsite") == (0, 0, 1)  # fixed remotely: nobody needed on site
    assert counts(row, "resolution") == (1, 0, 0)


def test_a_request_met_exactly_at_its_due_time_is_met(p):
    created = NOW - D
    req(p.a1, created=created, response_due_at=created + H, responded_at=created + H)
    (row,) = service_metrics(user=p.manager, filters=SPAN, now=NOW).by_team
    assert counts(row, "response") == (1, 0, 0)


def test_monthly_trend(p, data):
    trend = service_metrics(user=p.manager, filters=SPAN, now=NOW).trend
    assert [row.name for row in trend] == ["2026-01", "2026-02", "2026-03"]
    assert [row.requests for row in trend] == [0, 1, 5]
    assert trend[0].overall.compliance is None and trend[1].overall.compliance is None
    assert trend[2].overall.compliance == 3 / 8


def test_span_is_local_days(p):
    before = dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=SHANGHAI)
    first = dt.datetime(2026, 1, 1, 0, 0, tzinfo=SHANGHAI)  # 2025-12-31 16:00 UTC
    last = dt.datetime(2026, 3, 31, 23, 59, 59, tzinfo=SHANGHAI)
    after = dt.datetime(2026, 4, 1, 0, 0, tzinfo=SHANGHAI)
    for created in (before, first, last, after):
        req(p.a1, created=created, team=p.team_a)
    m = service_metrics(user=p.manager, filters=SPAN, now=NOW)
    assert m.overall.requests == 2
    assert [row.requests for row in m.trend] == [1, 0, 1]


def test_backlog_aging_buckets_and_boundaries(p):
    ages = {
        "lt_1d": [D - dt.timedelta(seconds=1), dt.timedelta(0)],
        "d1_3": [D, 3 * D - dt.timedelta(seconds=1)],
        "d3_7": [3 * D, 7 * D - dt.timedelta(seconds=1)],
        "d7_30": [7 * D, 30 * D - dt.timedelta(seconds=1)],
        "ge_30d": [30 * D, 400 * D],
    }
    for age_list in ages.values():
        for age in age_list:
            req(p.a1, created=NOW - age, team=p.team_a, status=RequestStatus.IN_PROGRESS)
    req(p.a1, created=NOW - 2 * D, team=p.team_a, status=RequestStatus.RESOLVED)  # not open
    req(p.a2, created=NOW - 2 * D, request_type=RequestType.REPAIR, status=RequestStatus.WAITING_CUSTOMER)
    m = service_metrics(user=p.manager, filters=SPAN, now=NOW)
    assert m.backlog.as_dict() == {"lt_1d": 2, "d1_3": 3, "d3_7": 2, "d7_30": 2, "ge_30d": 2}
    by_team = {row.key: row.as_dict() for row in m.backlog_by_team}
    assert by_team[p.team_a.pk] == {"lt_1d": 2, "d1_3": 2, "d3_7": 2, "d7_30": 2, "ge_30d": 2}
    assert by_team[None] == {"lt_1d": 0, "d1_3": 1, "d3_7": 0, "d7_30": 0, "ge_30d": 0}
    by_type = {row.key: row.total for row in m.backlog_by_type}
    assert by_type == {RequestType.OTHER: 10, RequestType.REPAIR: 1}


def test_times_mean_and_median(p, data):
    m = service_metrics(user=p.manager, filters=SPAN, now=NOW)
    overall = m.times_overall
    # First response: 0.5 h, 2 h, 10 min and 3 h (even count: the median is the mean of the middle two).
    assert overall.response.count == 4
    assert overall.response.mean_hours == pytest.approx((0.5 + 2 + 1 / 6 + 3) / 4, abs=1e-3)
    assert overall.response.median_hours == pytest.approx(1.25, abs=1e-3)
    assert (overall.resolution.count, overall.resolution.mean_hours) == (2, pytest.approx(13, abs=1e-3))
    assert overall.resolution.median_hours == pytest.approx(13, abs=1e-3)
    tiers = {row.key: row for row in m.times_by_tier}
    # The third tier: 0.5 h, 10 min, 3 h (odd count: the middle one).
    assert tiers[Tier.THIRD].response.count == 3
    assert tiers[Tier.THIRD].response.median_hours == pytest.approx(0.5, abs=1e-3)
    assert tiers[Tier.THIRD].response.mean_hours == pytest.approx((0.5 + 1 / 6 + 3) / 3, abs=1e-3)
    assert tiers[Tier.FIRST].response.median_hours == pytest.approx(2, abs=1e-3)
    assert (tiers[Tier.FIRST].resolution.count, tiers[Tier.FIRST].resolution.median_hours) == (0, None)
    types = {row.key: row for row in m.times_by_type}
    assert types[RequestType.REPAIR].resolution.median_hours == pytest.approx(20, abs=1e-3)
    assert types[RequestType.OTHER].resolution.median_hours == pytest.approx(6, abs=1e-3)
    assert types[RequestType.CONSULTATION].response.count == 0


def test_times_are_wall_clock_across_nights(p):
    created = dt.datetime(2026, 3, 13, 17, 0, tzinfo=SHANGHAI)  # Friday evening
    req(p.a1, created=created, responded_at=created + 64 * H)  # Monday 09:00
    assert service_metrics(user=p.manager, filters=SPAN, now=NOW).times_overall.response.median_hours == 64


def test_filters_narrow(p, data):
    assert service_metrics(user=p.manager, filters=_with(tier=Tier.FIRST), now=NOW).overall.requests == 1
    assert service_metrics(user=p.manager, filters=_with(request_type="repair"), now=NOW).overall.requests == 2
    assert service_metrics(user=p.manager, filters=_with(team=p.team_a), now=NOW).overall.requests == 5
    assert service_metrics(user=p.admin, filters=_with(unit=p.city_b), now=NOW).overall.requests == 1
    assert service_metrics(user=p.admin, filters=_with(unit=p.province), now=NOW).overall.requests == 7
    assert service_metrics(user=p.manager, filters=_with(priority="urgent"), now=NOW).overall.requests == 0


def _with(**changes) -> MetricsFilter:
    return MetricsFilter(**{"start": SPAN.start, "end": SPAN.end, **changes})


def test_scoping_outsider_supervisor_admin(p, data):
    outsider = service_metrics(user=p.outsider, filters=SPAN, now=NOW)
    assert outsider.overall.requests == 1  # B1's only: none of city A's
    assert outsider.backlog.total == 1
    assert outsider.times_overall.response.count == 1
    assert service_metrics(user=p.supervisor, filters=SPAN, now=NOW).overall.requests == 6
    assert service_metrics(user=p.admin, filters=SPAN, now=NOW).overall.requests == 7
    assert service_metrics(user=p.manager, filters=SPAN, now=NOW).backlog.total == 5
    # A customer of city A outside the team's portfolio: its unit's supervisor sees it, the manager does not.
    other = make_customer(name="惠州新材料有限公司", org_unit=p.city_a)
    req(other, created=NOW - D, status=RequestStatus.NEW, response_due_at=NOW - 20 * H)
    assert service_metrics(user=p.supervisor, filters=SPAN, now=NOW).overall.requests == 7
    assert service_metrics(user=p.supervisor, filters=SPAN, now=NOW).overall.response.breached == 3
    assert service_metrics(user=p.manager, filters=SPAN, now=NOW).overall.requests == 6
    assert service_metrics(user=p.outsider, filters=SPAN, now=NOW).overall.requests == 1


def occurrence(customer, owner, due, status=OccurrenceStatus.PLANNED, done_on=None):
    plan, _ = ServicePlan.objects.get_or_create(customer=customer, year=due.year, defaults={"tier": customer.tier})
    item = PlanItem.objects.create(plan=plan, activity=Activity.VISIT, frequency=Frequency.MONTHLY, owner=owner)
    return PlanOccurrence.objects.create(
        item=item, owner=owner, customer=customer, activity=Activity.VISIT, seq=due.month,
        starts_on=due.replace(day=1), due_date=due, status=status, done_on=done_on,
    )  # fmt: skip


@pytest.fixture
def visits(p):
    done = OccurrenceStatus.DONE
    occurrence(p.a1, p.manager, dt.date(2026, 1, 31), done, dt.date(2026, 1, 20))
    occurrence(p.a2, p.manager, dt.date(2026, 2, 28), done, dt.date(2026, 3, 5))  # late
    occurrence(p.a1, p.manager, dt.date(2026, 3, 10))  # overdue
    occurrence(p.a1, p.manager, dt.date(2026, 3, 31))  # upcoming
    occurrence(p.a1, p.manager, dt.date(2026, 2, 15), OccurrenceStatus.CANCELLED)
    occurrence(p.a1, p.manager, dt.date(2026, 4, 30))  # after the span
    occurrence(p.a3, p.colleague, dt.date(2026, 2, 28), done, dt.date(2026, 2, 27))
    occurrence(p.b1, p.outsider, dt.date(2026, 2, 28))


def test_visits_against_plan_by_team_and_owner(p, visits):
    m = service_metrics(user=p.manager, filters=SPAN, now=NOW)
    (team,) = m.visits_by_team
    assert (team.key, team.due, team.done, team.done_late, team.overdue, team.upcoming) == (p.team_a.pk, 5, 3, 1, 1, 1)
    owners = {row.key: row for row in m.visits_by_owner}
    assert set(owners) == {p.manager.pk, p.colleague.pk}
    assert (owners[p.manager.pk].due, owners[p.manager.pk].done, owners[p.manager.pk].overdue) == (4, 2, 1)
    assert (owners[p.colleague.pk].due, owners[p.colleague.pk].done) == (1, 1)
    assert (m.visits_due, m.visits_done, m.visits_overdue) == (5, 3, 1)
    outsider = service_metrics(user=p.outsider, filters=SPAN, now=NOW)
    assert [(row.key, row.due) for row in outsider.visits_by_owner] == [(p.outsider.pk, 1)]
    Customer.objects.filter(pk=p.a2.pk).update(tier=Tier.FIRST)
    Customer.objects.exclude(pk=p.a2.pk).update(tier=Tier.THIRD)
    assert service_metrics(user=p.manager, filters=_with(tier=Tier.FIRST), now=NOW).visits_due == 1  # A2's
    assert service_metrics(user=p.manager, filters=_with(tier=Tier.SPECIAL), now=NOW).visits_due == 0


def _queries(user) -> int:
    with CaptureQueriesContext(connection) as ctx:
        service_metrics(user=user, filters=SPAN, now=NOW)
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_requests_teams_or_months(p):
    req(p.a1, created=NOW - D, team=p.team_a, response_due_at=NOW, responded_at=NOW - H)
    occurrence(p.a1, p.manager, dt.date(2026, 2, 1))
    p.supervisor.refresh_from_db()
    one = _queries(p.supervisor)
    teams = [Team.objects.create(name=f"班组{i}", org_unit=p.city_a) for i in range(4)]
    for i in range(60):
        created = NOW - (i % 70) * D - i * H
        req(
            p.a1 if i % 2 else p.a2, created=created, team=teams[i % 4],
            request_type=RequestType.values[i % len(RequestType.values)],
            status=RequestStatus.NEW if i % 3 else RequestStatus.CLOSED,
            response_due_at=created + H, responded_at=created + (i % 3) * H,
            resolution_due_at=created + 24 * H, resolved_at=None if i % 3 else created + i * H,
        )  # fmt: skip
        occurrence(p.a3, p.colleague, dt.date(2026, 1 + i % 3, 10))
    p.supervisor.refresh_from_db()
    assert _queries(p.supervisor) == one
    assert metrics.service_metrics(user=p.supervisor, filters=SPAN, now=NOW).overall.requests == 61
