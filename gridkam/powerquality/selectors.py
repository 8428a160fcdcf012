"""Reading power-quality events: the list as the user sees it, one event, the charts and an account's summary."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from gridkam.customers.models import ElectricityAccount

from .choices import PqKind
from .classify import curve_points
from .models import PowerQualityEvent, PqImport
from .services import sag_curve


def events_visible(user) -> QuerySet[PowerQualityEvent]:
    """The events the user sees (those of the customers it sees), with what a list row shows."""
    return PowerQualityEvent.objects.visible_to(user).select_related(
        "account__customer", "metering_point", "service_request"
    )


def event_get(*, user, pk) -> PowerQualityEvent:
    """One event the user sees (DoesNotExist otherwise)."""
    return (
        PowerQualityEvent.objects.visible_to(user)
        .select_related("account__customer", "metering_point", "service_request", "import_batch", "reported_by")
        .get(pk=pk)
    )


def import_get(*, user, pk) -> PqImport:
    return PqImport.objects.visible_to(user).get(pk=pk)


def chart_data(events: QuerySet[PowerQualityEvent], *, limit: int = 5000) -> dict:
    """The sag scatter (duration ms, residual %, outside?) with the tolerance curve, and events per month by kind.

    Two queries whatever the number of events; the scatter keeps the latest ``limit`` sags.
    """
    sags = list(
        events.filter(kind=PqKind.SAG, duration_ms__isnull=False, residual_pct__isnull=False)
        .order_by("-started_at")
        .values_list("pk", "duration_ms", "residual_pct", "outside_tolerance")[:limit]
    )
    monthly = (
        events.order_by()
        .annotate(month=TruncMonth("started_at"))
        .values("month", "kind")
        .annotate(n=Count("pk"))
        .order_by("month")
    )
    by_month: dict[str, dict[str, int]] = defaultdict(dict)
    for row in monthly:
        month = row["month"]
        label = (timezone.localtime(month) if timezone.is_aware(month) else month).strftime("%Y-%m")
        by_month[label][row["kind"]] = by_month[label].get(row["kind"], 0) + row["n"]
    months = sorted(by_month)
    return {
        "inside": [[max(d, 1), float(r), pk] for pk, d, r, out in sags if not out],
        "outside": [[max(d, 1), float(r), pk] for pk, d, r, out in sags if out],
        "curve": curve_points(sag_curve()),
        "months": months,
        "kinds": [
            {"code": kind, "name": str(label), "counts": [by_month[m].get(kind, 0) for m in months]}
            for kind, label in PqKind.choices
            if any(by_month[m].get(kind) for m in months)
        ],
    }


def account_summary(*, user, account: ElectricityAccount, now: dt.datetime | None = None) -> dict:
    """Events of the account in the last 12 months by kind (and how many were outside tolerance). One query."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=365)
    rows = (
        PowerQualityEvent.objects.visible_to(user)
        .filter(account=account, started_at__gte=since)
        .values("kind")
        .annotate(n=Count("pk"), outside=Count("pk", filter=Q(outside_tolerance=True)))
        .order_by()
    )
    counts = {row["kind"]: (row["n"], row["outside"]) for row in rows}
    kinds = [
        {"code": kind, "name": label, "count": counts[kind][0], "outside": counts[kind][1]}
        for kind, label in PqKind.choices
        if kind in counts
    ]
    return {
        "since": since,
        "kinds": kinds,
        "total": sum(k["count"] for k in kinds),
        "outside": sum(k["outside"] for k in kinds),
    }
