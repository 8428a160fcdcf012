"""Data makers shared by the account-health tests: requests, risk scores, monthly quantities and plan items made
directly (not through their services), dated relative to the day scored."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django.utils import timezone

from gridkam.billing.models import RiskScore
from gridkam.engagement.choices import Activity, Frequency, OccurrenceStatus
from gridkam.engagement.models import PlanItem, PlanOccurrence, ServicePlan
from gridkam.servicedesk.choices import Channel, RequestStatus, RequestType
from gridkam.servicedesk.models import ServiceRequest
from gridkam.tariffs.models import MonthlyUsage

D = dt.date(2026, 7, 1)
_numbers = itertools.count(1)


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A local instant on ``day``."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def request(
    customer,
    *,
    logged: dt.datetime | None = None,
    closed: dt.datetime | None = None,
    satisfaction: int | None = None,
    request_type: str = RequestType.REPAIR,
    breached: str | None = None,
    due: dt.datetime | None = None,
) -> ServiceRequest:
    """A request of ``customer`` logged at ``logged`` (default ten days before D), closed at ``closed`` with a
    rating; ``breached`` names a target (response / onsite / resolution) breached, due at ``due``."""
    logged = logged or at(D - dt.timedelta(days=10))
    fields = {}
    if breached:
        fields[f"{breached}_breached"] = True
        fields[f"{breached}_due_at"] = due or logged + dt.timedelta(hours=2)
    return ServiceRequest.objects.create(
        number=f"HT{next(_numbers):08d}",
        customer=customer,
        request_type=request_type,
        channel=Channel.MANAGER_LINE,
        title="测试工单",
        status=RequestStatus.CLOSED if closed else RequestStatus.ASSIGNED,
        created_at=logged,
        closed_at=closed,
        satisfaction=satisfaction,
        **fields,
    )


def risk(account, scored_on: dt.date, level: str, score: str = "50.0") -> RiskScore:
    return RiskScore.objects.update_or_create(
        account=account, scored_on=scored_on, defaults={"level": level, "score": Decimal(score)}
    )[0]


def usage(account, month: str, kwh: str | int) -> MonthlyUsage:
    """Quantities of ``month`` ("2026-04"), split over two time-of-use periods."""
    half = Decimal(str(kwh)) / 2
    return MonthlyUsage.objects.update_or_create(
        account=account, month=dt.date.fromisoformat(f"{month}-01"), defaults={"peak_kwh": half, "valley_kwh": half}
    )[0]


def occurrence(customer, due: dt.date, status: str = OccurrenceStatus.PLANNED, done_on: dt.date | None = None):
    plan, _ = ServicePlan.objects.get_or_create(customer=customer, year=due.year, defaults={"tier": "third"})
    item = PlanItem.objects.create(plan=plan, activity=Activity.VISIT, frequency=Frequency.MONTHLY)
    if status == OccurrenceStatus.DONE and done_on is None:
        done_on = due
    return PlanOccurrence.objects.create(
        item=item,
        customer=customer,
        activity=Activity.VISIT,
        seq=1,
        starts_on=due - dt.timedelta(days=20),
        due_date=due,
        status=status,
        done_on=done_on,
    )


def make_unhealthy(account) -> None:
    """Data that scores the account well below 40: severe risk, five complaints all breached, half the energy of a
    year earlier, no plan item done, ratings of 1."""
    customer = account.customer
    risk(account, D - dt.timedelta(days=1), "severe", "90.0")
    for k in range(5):
        request(
            customer,
            logged=at(D - dt.timedelta(days=30 + k)),
            closed=at(D - dt.timedelta(days=20 + k)),
            satisfaction=1,
            request_type=RequestType.COMPLAINT,
            breached="resolution",
        )
    for month in ("2025-04", "2025-05", "2025-06"):
        usage(account, month, 1000)
    for month in ("2026-04", "2026-05", "2026-06"):
        usage(account, month, 500)
    occurrence(customer, D - dt.timedelta(days=40))
