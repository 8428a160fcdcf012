"""SLA policies, clocks of requests (nights, weekends, the statutory calendar, pauses) and the SLA sweep."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.core import workdays
from gridkam.core.choices import ClockKind
from gridkam.core.services import statutory_days_load
from gridkam.core.testing import make_user
from gridkam.customers.choices import Tier
from gridkam.engagement.models import Task
from gridkam.servicedesk import sla
from gridkam.servicedesk.choices import EventKind, Priority, RequestStatus, RequestType
from gridkam.servicedesk.models import RequestEvent, RequestPause, ServiceRequest, SlaPolicy
from gridkam.users.choices import Role

CN = ZoneInfo("Asia/Shanghai")
_numbers = itertools.count(1)


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CN)


def make_request(
    customer, *, created_at, request_type=RequestType.COMPLAINT, priority=Priority.NORMAL, apply=True, **fields
):
    request = ServiceRequest.objects.create(
        number=f"SR-T-{next(_numbers):06d}",
        customer=customer,
        request_type=request_type,
        channel="manager_line",
        priority=priority,
        title="停电报修",
        created_at=created_at,
        **fields,
    )
    if apply:
        sla.sla_apply(request, now=created_at)
    return request


@pytest.fixture
def policies(db):
    sla.sla_policies_load()


def policy(tier, request_type, priority):
    return SlaPolicy.objects.get(tier=tier, request_type=request_type, priority=priority)


# ------------------------------------------------------------------------------------------ defaults


def test_defaults_cover_every_tier_type_priority():
    rows = sla.sla_defaults()
    assert len(rows) == len(Tier.values) * len(RequestType.values) * len(Priority.values)
    assert len({(r["tier"], r["request_type"], r["priority"]) for r in rows}) == len(rows)
    assert all(r["response_minutes"] >= 5 and r["resolution_minutes"] >= 5 for r in rows)
    assert all((r["onsite_minutes"] is None) == (r["request_type"] != RequestType.REPAIR) for r in rows)


def test_defaults_values():
    table = {(r["tier"], r["request_type"], r["priority"]): r for r in sla.sla_defaults()}
    repair = table[(Tier.THIRD, RequestType.REPAIR, Priority.NORMAL)]
    assert (repair["clock"], repair["response_minutes"], repair["onsite_minutes"], repair["resolution_minutes"]) == (
        ClockKind.AROUND_THE_CLOCK,
        10,
        45,
        225,
    )
    complaint = table[(Tier.THIRD, RequestType.COMPLAINT, Priority.NORMAL)]
    assert (complaint["clock"], complaint["response_minutes"], complaint["resolution_minutes"]) == (
        ClockKind.WORKING,
        450,
        2250,
    )
    # Special tier (×0.5), urgent (×0.5): 450 × 0.25 = 112.5 → 113, 2250 × 0.25 = 562.5 → 563.
    special = table[(Tier.SPECIAL, RequestType.COMPLAINT, Priority.URGENT)]
    assert (special["response_minutes"], special["resolution_minutes"]) == (113, 563)
    # At least 5 minutes: 10 × 0.5 × 0.5 = 2.5.
    assert table[(Tier.SPECIAL, RequestType.REPAIR, Priority.URGENT)]["response_minutes"] == 5
    # First tier high repair on site: 45 × 0.6 × 0.75 = 20.25 → 20; low third tier: 45 × 1.5 = 67.5 → 68.
    assert table[(Tier.FIRST, RequestType.REPAIR, Priority.HIGH)]["onsite_minutes"] == 20
    assert table[(Tier.THIRD, RequestType.REPAIR, Priority.LOW)]["onsite_minutes"] == 68
    assert table[(Tier.THIRD, RequestType.CONSULTATION, Priority.NORMAL)]["response_minutes"] == 240
    assert table[(Tier.THIRD, RequestType.POWER_QUALITY, Priority.NORMAL)]["resolution_minutes"] == 4500
    assert table[(Tier.SECOND, RequestType.CAPACITY_CHANGE, Priority.NORMAL)]["resolution_minutes"] == 3600


def test_working_day_minutes_follow_the_settings(settings):
    assert sla.working_day_minutes() == 450
    settings.GRIDKAM = {**settings.GRIDKAM, "WORKING_HOURS": [("09:00", "12:00"), ("13:00", "18:00")]}
    assert sla.working_day_minutes() == 480
    table = {(r["tier"], r["request_type"], r["priority"]): r for r in sla.sla_defaults()}
    assert table[(Tier.THIRD, RequestType.METERING, Priority.NORMAL)]["resolution_minutes"] == 2400


@pytest.mark.django_db
def test_load_is_idempotent_and_keeps_edited_rows():
    total = len(sla.sla_defaults())
    assert sla.sla_policies_load() == {"created": total, "updated": 0, "unchanged": 0}
    assert sla.sla_policies_load() == {"created": 0, "updated": 0, "unchanged": total}
    edited = policy(Tier.FIRST, RequestType.METERING, Priority.HIGH)
    edited.response_minutes = 99
    edited.save()
    assert sla.sla_policies_load()["updated"] == 0
    edited.refresh_from_db()
    assert edited.response_minutes == 99
    assert sla.sla_policies_load(overwrite=True) == {"created": 0, "updated": 1, "unchanged": total - 1}
    edited.refresh_from_db()
    assert edited.response_minutes == 203  # 450 × 0.6 × 0.75 = 202.5
    assert edited.history.count() == 3  # created, edited, reset


@pytest.mark.django_db
def test_load_command_json():
    out = StringIO()
    call_command("load_sla_defaults", "--json", stdout=out)
    assert json.loads(out.getvalue())["created"] == SlaPolicy.objects.count()
    out = StringIO()
    call_command("load_sla_defaults", "--json", "--overwrite", stdout=out)
    assert json.loads(out.getvalue())["created"] == 0


# ------------------------------------------------------------------------------------------ sla_apply


def test_apply_repair_around_the_clock_over_the_night(p, policies):
    request = make_request(p.a1, request_type=RequestType.REPAIR, created_at=at(2026, 3, 10, 23, 50))
    request.refresh_from_db()
    assert request.sla_policy == policy(Tier.THIRD, RequestType.REPAIR, Priority.NORMAL)
    assert request.clock == ClockKind.AROUND_THE_CLOCK
    assert request.response_due_at == at(2026, 3, 11, 0, 0)
    assert request.response_warn_at == at(2026, 3, 10, 23, 58)
    assert request.onsite_due_at == at(2026, 3, 11, 0, 35)
    assert request.onsite_warn_at == at(2026, 3, 11, 0, 26)  # ceil(45 × 0.8) = 36
    assert request.resolution_due_at == at(2026, 3, 11, 3, 35)


def test_apply_working_clock_over_the_night(p, policies):
    # Tuesday 17:00: 30 working minutes that evening, the rest on Wednesday.
    request = make_request(p.a1, created_at=at(2026, 3, 10, 17, 0))
    assert request.clock == ClockKind.WORKING
    assert request.response_due_at == at(2026, 3, 11, 17, 0)
    assert request.response_warn_at == at(2026, 3, 11, 15, 30)  # 360 minutes
    assert request.onsite_due_at is None and request.onsite_warn_at is None
    assert request.resolution_due_at == at(2026, 3, 17, 17, 0)


def test_apply_over_a_weekend(p, policies):
    request = make_request(p.a1, created_at=at(2026, 3, 13, 17, 0))  # Friday
    assert request.response_due_at == at(2026, 3, 16, 17, 0)  # Monday


def test_apply_over_the_spring_festival(p, policies):
    statutory_days_load(years=[2026])
    workdays.cache_clear()
    assert workdays.is_working_day(dt.date(2026, 2, 14))  # Saturday, make-up working day
    assert not workdays.is_working_day(dt.date(2026, 2, 16))
    assert not workdays.is_working_day(dt.date(2026, 2, 23))
    assert workdays.is_working_day(dt.date(2026, 2, 28))  # Saturday, make-up working day
    # Friday before: due on the make-up Saturday.
    friday = make_request(p.a1, created_at=at(2026, 2, 13, 17, 0))
    assert friday.response_due_at == at(2026, 2, 14, 17, 0)
    # The make-up Saturday evening: the holidays do not count; 4 days from Tue 24th, the rest on Sat 28th.
    saturday = make_request(p.a1, created_at=at(2026, 2, 14, 17, 0))
    assert saturday.response_due_at == at(2026, 2, 24, 17, 0)
    assert saturday.resolution_due_at == at(2026, 2, 28, 17, 0)


def test_apply_tier_and_fallback(p, policies):
    p.a2.tier = Tier.SPECIAL
    p.a2.save()
    request = make_request(p.a2, priority=Priority.URGENT, created_at=at(2026, 3, 9, 9, 0))
    assert request.sla_policy == policy(Tier.SPECIAL, RequestType.COMPLAINT, Priority.URGENT)
    assert request.response_due_at == at(2026, 3, 9, 10, 53)  # 113 working minutes
    # Without a policy for the tier: the third tier's.
    SlaPolicy.objects.filter(tier=Tier.SPECIAL).delete()
    request = make_request(p.a2, priority=Priority.URGENT, created_at=at(2026, 3, 9, 9, 0))
    assert request.sla_policy == policy(Tier.THIRD, RequestType.COMPLAINT, Priority.URGENT)
    # No policy at all: no SLA.
    SlaPolicy.objects.all().delete()
    request = make_request(p.a2, created_at=at(2026, 3, 9, 9, 0))
    request.refresh_from_db()
    assert request.sla_policy is None and request.response_due_at is None and request.resolution_due_at is None
    assert [row.state for row in sla.sla_state(request, at(2026, 3, 9, 10, 0))] == ["none"]


def test_pause_and_resume_push_the_due_time(p, policies):
    request = make_request(p.a1, created_at=at(2026, 3, 9, 9, 0))  # Monday
    assert request.response_due_at == at(2026, 3, 10, 9, 0)
    # Waiting for the customer Monday 10:00-14:00: 120 + 30 working minutes.
    pause = RequestPause.objects.create(request=request, started_at=at(2026, 3, 9, 10, 0))
    request.paused_at = pause.started_at
    request.status = RequestStatus.WAITING_CUSTOMER
    request.save()
    states = {row.target: row for row in sla.sla_state(request, at(2026, 3, 9, 11, 0))}
    assert states["response"].state == "paused"
    assert states["response"].minutes_left == 450 - 60
    pause.ended_at = at(2026, 3, 9, 14, 0)
    pause.save()
    request.paused_at = None
    request.status = RequestStatus.IN_PROGRESS
    request.save()
    sla.sla_resume(request, now=pause.ended_at)
    request.refresh_from_db()
    assert request.response_due_at == at(2026, 3, 10, 11, 30)
    assert request.response_warn_at == at(2026, 3, 10, 9, 0) - dt.timedelta(minutes=90) + dt.timedelta(minutes=150)
    # A met target keeps its times.
    request.responded_at = at(2026, 3, 9, 15, 0)
    request.save()
    assert request.resolution_due_at == at(2026, 3, 16, 11, 30)
    RequestPause.objects.create(request=request, started_at=at(2026, 3, 9, 15, 0), ended_at=at(2026, 3, 9, 16, 0))
    sla.sla_resume(request, now=at(2026, 3, 9, 16, 0))
    request.refresh_from_db()
    assert request.response_due_at == at(2026, 3, 10, 11, 30)
    assert request.resolution_due_at == at(2026, 3, 16, 14, 0)  # one more hour, over the lunch break


def test_sla_state(p, policies):
    start = at(2026, 3, 9, 9, 0)
    request = make_request(p.a1, request_type=RequestType.REPAIR, created_at=start)
    rows = sla.sla_state(request, start + dt.timedelta(minutes=5))
    assert [row.target for row in rows] == ["response", "onsite", "resolution"]
    assert [row.state for row in rows] == ["running", "running", "running"]
    assert rows[0].minutes_left == 5
    assert sla.sla_state(request, start + dt.timedelta(minutes=8))[0].state == "warned"
    breached = sla.sla_state(request, start + dt.timedelta(minutes=13))[0]
    assert (breached.state, breached.minutes_left) == ("breached", -3)
    request.responded_at = start + dt.timedelta(minutes=4)
    request.onsite_at = start + dt.timedelta(minutes=50)
    assert [row.state for row in sla.sla_state(request, start + dt.timedelta(minutes=60))] == [
        "met",
        "met_late",
        "running",
    ]


# ------------------------------------------------------------------------------------------ the sweep


def repair(p, start, **fields):
    fields.setdefault("team", p.team_a)
    fields.setdefault("assignee", p.colleague)
    fields.setdefault("status", RequestStatus.ASSIGNED)
    return make_request(p.a1, request_type=RequestType.REPAIR, created_at=start, **fields)


def test_warning_exactly_at_80_percent(p, policies):
    start = at(2026, 3, 9, 9, 0)
    request = repair(p, start)
    assert sla.sla_sweep(now=start + dt.timedelta(minutes=8) - dt.timedelta(seconds=1))["warned"] == 0
    summary = sla.sla_sweep(now=start + dt.timedelta(minutes=8))
    assert (summary["warned"], summary["breached"], summary["tasks"]) == (1, 0, 1)
    request.refresh_from_db()
    assert request.response_warned and not request.response_breached and not request.onsite_warned
    event = RequestEvent.objects.get(request=request, kind=EventKind.SLA_WARNING)
    assert event.internal and event.data == {"target": "response", "level": 0, "to_user": p.colleague.pk}
    task = Task.objects.get(assignee=p.colleague)
    assert task.link == f"/service/requests/{request.pk}/"
    assert task.due_date == dt.date(2026, 3, 9) and task.customer == p.a1 and task.source == "sla_warning"
    # Idempotent.
    again = sla.sla_sweep(now=start + dt.timedelta(minutes=8))
    assert (again["warned"], again["breached"], again["tasks"], again["events"]) == (0, 0, 0, 0)
    assert RequestEvent.objects.count() == 1 and Task.objects.count() == 1


def test_breach_escalates_to_the_lead_then_the_supervisor(p, policies):
    province_supervisor = make_user("boss", role=Role.SUPERVISOR, org_unit=p.province)
    start = at(2026, 3, 9, 9, 0)
    request = repair(p, start)
    breach_at = start + dt.timedelta(minutes=10)
    summary = sla.sla_sweep(now=breach_at)
    assert (summary["breached"], summary["escalated_lead"], summary["escalated_supervisor"]) == (1, 1, 0)
    request.refresh_from_db()
    assert request.response_breached and request.response_warned and request.escalation_level == 1
    assert request.next_escalation_at == breach_at + dt.timedelta(minutes=112)  # half of 225
    lead_task = Task.objects.get(assignee=p.manager)  # the team lead
    assert lead_task.source == "sla_escalation" and lead_task.link == f"/service/requests/{request.pk}/"
    escalation = RequestEvent.objects.get(request=request, kind=EventKind.ESCALATION)
    assert escalation.data == {"target": "response", "level": 1, "to_user": p.manager.pk}
    assert RequestEvent.objects.get(request=request, kind=EventKind.SLA_BREACH).data["target"] == "response"
    # Not yet time for level 2 (the on-site target is warned meanwhile).
    sla.sla_sweep(now=breach_at + dt.timedelta(minutes=111))
    request.refresh_from_db()
    assert request.escalation_level == 1 and request.onsite_breached
    assert not Task.objects.filter(assignee=p.supervisor).exists()
    # Level 2: the nearest supervisor (city A), not the province's.
    summary = sla.sla_sweep(now=breach_at + dt.timedelta(minutes=112))
    assert summary["escalated_supervisor"] == 1
    request.refresh_from_db()
    assert request.escalation_level == 2 and request.next_escalation_at is None
    assert Task.objects.filter(assignee=p.supervisor).count() == 1
    assert not Task.objects.filter(assignee=province_supervisor).exists()
    level2 = RequestEvent.objects.get(request=request, kind=EventKind.ESCALATION, data__level=2)
    assert level2.data == {"target": "response", "level": 2, "to_user": p.supervisor.pk}
    # Idempotent, and nothing more after level 2.
    tasks, events = Task.objects.count(), RequestEvent.objects.count()
    sla.sla_sweep(now=breach_at + dt.timedelta(minutes=112))
    sla.sla_sweep(now=breach_at + dt.timedelta(minutes=150))
    assert Task.objects.count() == tasks
    # Only the resolution breach (at 225 minutes) could still come; it has not.
    assert RequestEvent.objects.count() == events


def test_without_a_team_lead_straight_to_the_supervisor(p, policies):
    p.team_a.lead = None
    p.team_a.save()
    start = at(2026, 3, 9, 9, 0)
    request = repair(p, start)
    summary = sla.sla_sweep(now=start + dt.timedelta(minutes=10))
    assert (summary["escalated_lead"], summary["escalated_supervisor"]) == (0, 1)
    request.refresh_from_db()
    assert request.escalation_level == 2
    assert Task.objects.filter(assignee=p.supervisor, source="sla_escalation").count() == 1


def test_met_target_is_not_warned_nor_breached(p, policies):
    start = at(2026, 3, 9, 9, 0)
    request = repair(p, start, responded_at=start + dt.timedelta(minutes=3))
    summary = sla.sla_sweep(now=start + dt.timedelta(minutes=20))
    assert (summary["warned"], summary["breached"]) == (0, 0)
    request.refresh_from_db()
    assert not request.response_warned and not request.response_breached


def test_closed_and_paused_requests_are_ignored(p, policies):
    start = at(2026, 3, 9, 9, 0)
    repair(p, start, status=RequestStatus.CLOSED)
    repair(p, start, status=RequestStatus.RESOLVED)
    repair(p, start, status=RequestStatus.WAITING_CUSTOMER, paused_at=start + dt.timedelta(minutes=1))
    summary = sla.sla_sweep(now=start + dt.timedelta(hours=10))
    assert (summary["warned"], summary["breached"], summary["tasks"], summary["events"]) == (0, 0, 0, 0)
    assert not ServiceRequest.objects.filter(response_breached=True).exists()


def test_unassigned_request_warned_without_a_task(p, policies):
    start = at(2026, 3, 9, 9, 0)
    repair(p, start, assignee=None, team=None, status=RequestStatus.NEW)
    summary = sla.sla_sweep(now=start + dt.timedelta(minutes=8))
    assert (summary["warned"], summary["tasks"]) == (1, 0)


def _bulk_requests(p, n, start):
    due = start + dt.timedelta(minutes=10)
    ServiceRequest.objects.bulk_create(
        ServiceRequest(
            number=f"SR-B-{next(_numbers):06d}",
            customer=p.a1 if i % 2 else p.a3,
            request_type=RequestType.REPAIR,
            channel="95598",
            title="批量",
            status=RequestStatus.ASSIGNED,
            team=p.team_a,
            assignee=p.colleague,
            created_at=start,
            sla_policy=policy(Tier.THIRD, RequestType.REPAIR, Priority.NORMAL),
            clock=ClockKind.AROUND_THE_CLOCK,
            response_warn_at=start + dt.timedelta(minutes=8),
            response_due_at=due,
            resolution_warn_at=start + dt.timedelta(minutes=180),
            resolution_due_at=start + dt.timedelta(minutes=225),
        )
        for i in range(n)
    )


@pytest.mark.parametrize("step", ["warn", "breach", "level2"])
def test_sweep_query_count_is_constant(p, policies, step):
    start = at(2026, 3, 9, 9, 0)
    moments = {
        "warn": [start + dt.timedelta(minutes=8)],
        "breach": [start + dt.timedelta(minutes=10)],
        "level2": [start + dt.timedelta(minutes=10), start + dt.timedelta(minutes=10 + 112)],
    }[step]
    counts = []
    for n in (10, 60):  # SQLite splits bulk INSERTs at 999 parameters: 60 tasks stay in one
        ServiceRequest.objects.all().delete()
        _bulk_requests(p, n, start)
        for moment in moments[:-1]:
            sla.sla_sweep(now=moment)
        with CaptureQueriesContext(connection) as queries:
            summary = sla.sla_sweep(now=moments[-1])
        assert summary["tasks"] == n
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_sweep_command(p, policies):
    start = at(2026, 3, 9, 9, 0)
    repair(p, start)
    out = StringIO()
    call_command("sla_sweep", "--json", "--now", (start + dt.timedelta(minutes=8)).isoformat(), stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["warned"] == 1 and "seconds" in summary
    out = StringIO()
    call_command("sla_sweep", "--now", "2026-03-09T09:30", stdout=out)
    assert out.getvalue()
    with pytest.raises(Exception) as error:
        call_command("sla_sweep", "--now", "yesterday")
    assert getattr(error.value, "returncode", None) == 1


def test_celery_task(p, policies):
    from gridkam.servicedesk.tasks import sla_sweep_task

    assert sla_sweep_task.name == "servicedesk.sla_sweep"
    assert sla_sweep_task.apply().get()["warned"] == 0


def test_targets_partial_renders_the_state(p, policies):
    from django.template.loader import render_to_string

    start = at(2026, 3, 9, 9, 0)
    request = repair(p, start, responded_at=start + dt.timedelta(minutes=2))
    html = render_to_string(
        "servicedesk/_sla_targets.html", {"sla": sla.sla_state(request, start + dt.timedelta(minutes=50))}
    )
    assert 'data-target="response" data-state="met"' in html
    assert 'data-target="onsite" data-state="breached"' in html
    assert 'data-target="resolution" data-state="running"' in html


def test_describe_minutes(settings):
    settings.LANGUAGE_CODE = "en"
    from django.utils import translation

    with translation.override("en"):
        assert sla.describe_minutes(45, ClockKind.AROUND_THE_CLOCK) == "45 minutes"
        assert sla.describe_minutes(225, ClockKind.AROUND_THE_CLOCK) == "3 h 45 min"
        assert sla.describe_minutes(450, ClockKind.WORKING) == "1 working day"
        assert sla.describe_minutes(2250, ClockKind.WORKING) == "5 working days"
        assert sla.describe_minutes(240, ClockKind.WORKING) == "4 working hours"
        assert sla.describe_minutes(None, ClockKind.WORKING) == "—"


def test_no_second_level_once_resolved(p, policies):
    start = at(2026, 3, 9, 9, 0)
    request = repair(p, start)
    sla.sla_sweep(now=start + dt.timedelta(minutes=10))
    ServiceRequest.objects.filter(pk=request.pk).update(
        status=RequestStatus.RESOLVED, resolved_at=start + dt.timedelta(minutes=30)
    )
    summary = sla.sla_sweep(now=start + dt.timedelta(hours=5))
    assert (summary["escalated_supervisor"], summary["breached"], summary["tasks"]) == (0, 0, 0)
    request.refresh_from_db()
    assert request.escalation_level == 1
