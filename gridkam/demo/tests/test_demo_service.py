"""The demo's service requests (gridkam/demo/service.py): six months worked through the real services, a mix of
closed, late and open requests, the SLA sweep run at the end; deterministic for a seed and a day."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F, Q
from django.utils import timezone

from gridkam.customers.choices import AssignmentRole
from gridkam.customers.models import AccountAssignment, Customer
from gridkam.demo.service import _now, demo_service_load
from gridkam.engagement.choices import DeliveryStatus
from gridkam.engagement.models import NotificationDelivery, Task
from gridkam.servicedesk.choices import OPEN_STATUSES, EventKind, RequestStatus, RequestType
from gridkam.servicedesk.models import RequestEvent, RequestPause, ServiceRequest
from gridkam.servicedesk.sla import sla_sweep

pytestmark = pytest.mark.django_db

S = RequestStatus
DAY = dt.date(2026, 6, 17)  # a Wednesday
BREACHED = Q(response_breached=True) | Q(onsite_breached=True) | Q(resolution_breached=True)


def seed_customers(accounts: int = 30) -> None:
    call_command(
        "seed_demo",
        "--no-grid",
        "--accounts",
        str(accounts),
        "--usage-months",
        "0",
        "--readings-accounts",
        "0",
        "--billing-months",
        "0",
        "--no-plans",
        "--service-requests",
        "0",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )


def fingerprint() -> list[tuple]:
    return list(
        ServiceRequest.objects.order_by("number").values_list(
            "number",
            "customer__name",
            "request_type",
            "channel",
            "priority",
            "status",
            "title",
            "assignee__username",
            "created_at",
            "responded_at",
            "resolved_at",
            "closed_at",
            "satisfaction",
            "resolution_breached",
        )
    )


def test_demo_service_history():
    """One load (a second or two), every property of it."""
    seed_customers()
    summary = demo_service_load(seed=3, today=DAY, count=80)
    now = _now(DAY)
    requests = ServiceRequest.objects.all()

    # Counts.
    assert summary["requests"] == 80 == requests.count()
    assert summary["open"] == requests.filter(status__in=OPEN_STATUSES).count()
    assert summary["closed"] == requests.filter(status=S.CLOSED).count()
    assert summary["breached"] == requests.filter(BREACHED).count()
    assert summary["closed"] > summary["open"] > 0

    # Six months up to now, every recorded time in order and not after now.
    assert not requests.filter(created_at__lt=now - dt.timedelta(days=230)).exists()
    assert requests.filter(created_at__lt=now - dt.timedelta(days=120)).exists()
    for field in ("created_at", "responded_at", "onsite_at", "resolved_at", "closed_at"):
        assert not requests.filter(**{f"{field}__gt": now}).exists()
    assert not requests.filter(responded_at__lt=F("created_at")).exists()
    assert not requests.filter(resolved_at__lt=F("responded_at")).exists()
    assert not requests.filter(closed_at__lt=F("resolved_at")).exists()

    # A mix of types and states.
    assert requests.filter(request_type=RequestType.REPAIR).exists()
    assert requests.values("request_type").distinct().count() >= 5
    statuses = set(requests.values_list("status", flat=True))
    assert {S.ASSIGNED, S.IN_PROGRESS, S.WAITING_CUSTOMER, S.RESOLVED, S.CLOSED} <= statuses
    # Closed: most within their SLA, some late (flagged, with the breach event at the due time), scored.
    closed = requests.filter(status=S.CLOSED)
    late = closed.filter(BREACHED)
    assert 0 < late.count() < closed.count() / 2
    breach = RequestEvent.objects.filter(kind=EventKind.SLA_BREACH, request__in=late).first()
    assert breach is not None and breach.at < breach.request.closed_at
    assert closed.filter(satisfaction__isnull=False).count() > closed.count() / 2
    assert not requests.filter(status__in=OPEN_STATUSES, satisfaction__isnull=False).exists()
    assert not closed.filter(resolution_due_at__isnull=True).exists()
    # Repairs closed were attended on site.
    assert not closed.filter(request_type=RequestType.REPAIR, onsite_at__isnull=True).exists()
    # Waiting for the customer: the clock stopped, an open pause.
    waiting = requests.filter(status=S.WAITING_CUSTOMER)
    assert not waiting.filter(paused_at__isnull=True).exists()
    assert RequestPause.objects.filter(request__in=waiting, ended_at__isnull=True).count() == waiting.count()
    # Reopened and closed again.
    assert RequestEvent.objects.filter(kind=EventKind.REOPENED).count() == summary["reopened"] == 2
    # The sweep: open requests near their deadline warned, past it breached and escalated, with tasks.
    assert summary["sla_warned"] > 0 and summary["sla_escalated"] > 0
    open_breached = requests.filter(BREACHED, status__in=OPEN_STATUSES)
    assert open_breached.exists() and not open_breached.filter(escalation_level=0).exists()
    assert requests.filter(status__in=OPEN_STATUSES, resolution_warned=True, resolution_breached=False).exists()
    assert Task.objects.filter(source="sla_warning").exists()
    assert Task.objects.filter(source="sla_escalation").exists()
    # Running the sweep's job again at the same moment finds nothing new.
    again = sla_sweep(now=now)
    assert again["warned"] == again["breached"] == 0

    # Demo customers only, worked by their current account team.
    demo_customers = set(Customer.objects.values_list("pk", flat=True))
    team = set(AccountAssignment.objects.filter(end_date__isnull=True).values_list("customer_id", "user_id"))
    for customer_id, created_by, assignee in requests.values_list("customer_id", "created_by_id", "assignee_id"):
        assert customer_id in demo_customers
        assert (customer_id, created_by) in team
        assert (customer_id, assignee) in team
    actors = RequestEvent.objects.filter(actor__isnull=False).values_list("request__customer_id", "actor_id")
    assert actors.exists()
    assert all(pair in team for pair in actors)


def test_same_seed_and_day_give_the_same_requests():
    seed_customers(20)
    demo_service_load(seed=5, today=DAY, count=30)
    first = fingerprint()
    Task.objects.all().delete()
    ServiceRequest.objects.all().delete()
    demo_service_load(seed=5, today=DAY, count=30)
    assert fingerprint() == first
    ServiceRequest.objects.all().delete()
    demo_service_load(seed=6, today=DAY, count=30)
    assert fingerprint() != first


def test_nothing_without_requests_or_customers():
    assert demo_service_load(count=10)["requests"] == 0
    seed_customers(5)
    assert demo_service_load(count=0)["requests"] == 0
    assert not ServiceRequest.objects.exists()


def test_seed_demo_loads_plans_and_service_requests():
    out = io.StringIO()
    call_command(
        "seed_demo",
        "--no-grid",
        "--accounts",
        "20",
        "--usage-months",
        "0",
        "--readings-accounts",
        "0",
        "--billing-months",
        "0",
        "--service-requests",
        "25",
        "--json",
        stdout=out,
        stderr=io.StringIO(),
    )
    summary = json.loads(out.getvalue())
    assert summary["service"]["requests"] == 25
    assert summary["service"]["open"] > 0
    assert {"breached", "closed"} <= set(summary["service"])
    assert summary["plans"]["plans"] == Customer.objects.filter(service_plans__isnull=False).distinct().count() > 0
    # The demo's own requests plus the follow-ups of the recorded visits.
    assert ServiceRequest.objects.count() >= 25
    assert ServiceRequest.objects.filter(created_at__lte=timezone.now()).count() == ServiceRequest.objects.count()
    # The demo's people are invented: nothing is left for a worker or the retry job to send them (here, as with a
    # broker, the after-commit sends have not run).
    assert NotificationDelivery.objects.exists()
    assert not NotificationDelivery.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]).exists()


def test_seed_demo_human_output_and_bad_count():
    out = io.StringIO()
    call_command(
        "seed_demo",
        "--no-grid",
        "--accounts",
        "10",
        "--usage-months",
        "0",
        "--readings-accounts",
        "0",
        "--billing-months",
        "0",
        "--no-plans",
        "--service-requests",
        "12",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert "12" in out.getvalue()
    assert ServiceRequest.objects.count() == 12
    with pytest.raises(CommandError) as error:
        call_command("seed_demo", "--accounts", "5", "--service-requests", "-1")
    assert error.value.returncode == 2


def test_a_second_load_gives_a_history_to_customers_without_one_only():
    seed_customers(20)
    demo_service_load(seed=2, today=DAY, count=30)
    with_history = set(ServiceRequest.objects.values_list("customer_id", flat=True))
    seed_customers(8)
    managed = AccountAssignment.objects.filter(end_date__isnull=True, role=AssignmentRole.MANAGER)
    without = set(managed.values_list("customer_id", flat=True)) - with_history
    assert len(without) >= 8
    summary = demo_service_load(seed=2, today=DAY)
    assert summary["requests"] == round(len(without) * 1.75)
    assert ServiceRequest.objects.count() == 30 + summary["requests"]
    latest = ServiceRequest.objects.order_by("-pk")[: summary["requests"]]
    assert {r.customer_id for r in latest} <= without
