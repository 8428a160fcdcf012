"""Notices of plan items falling due: once a day, each owner hears of the planned occurrences falling due within
``GRIDKAM["PLAN_DUE_NOTICE_DAYS"]`` days (7 by default), so that the visit can be arranged in time. Run by the
``engagement.plan_due_notices`` Celery beat job each morning and by ``plan_due_notices`` (the command). Each owner is
told of an occurrence once: occurrences already noticed (a ``plan_item_due`` notification to the owner with the
occurrence's link) are left out, so a day the job did not run, or an item added within the week, is caught up the
next morning. Bulk: three queries and the notifications' inserts, whatever the count."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .choices import Activity, NotificationEvent, OccurrenceStatus
from .models import Notification, PlanOccurrence
from .notifications import notify_many

DEFAULT_NOTICE_DAYS = 7


def notice_days() -> int:
    return int(settings.GRIDKAM.get("PLAN_DUE_NOTICE_DAYS", DEFAULT_NOTICE_DAYS))


def occurrence_link(occurrence_id: int) -> str:
    from django.urls import reverse

    return f"{reverse('plans:visit_create')}?occurrence={int(occurrence_id)}"


@transaction.atomic
def plan_due_notices(*, today: dt.date | None = None, days: int | None = None) -> dict[str, int]:
    """Tell the owners of the planned occurrences due from ``today`` to ``today + days`` who have not been told yet.
    Returns ``{"due": n, "notified": m}`` (n: occurrences in that span)."""
    today = today or timezone.localdate()
    days = notice_days() if days is None else days
    last = today + dt.timedelta(days=days)
    rows = list(
        PlanOccurrence.objects.filter(
            due_date__gte=today, due_date__lte=last, status=OccurrenceStatus.PLANNED, owner__isnull=False
        )
        .order_by("pk")
        .values_list("pk", "owner_id", "activity", "customer__name", "due_date")
    )
    links = {row[0]: occurrence_link(row[0]) for row in rows}
    told = set(
        Notification.objects.filter(
            event=NotificationEvent.PLAN_ITEM_DUE, link__in=list(links.values()), recipient_id__in={r[1] for r in rows}
        ).values_list("recipient_id", "link")
    )
    labels = dict(Activity.choices)
    items = [
        (
            owner_id,
            NotificationEvent.PLAN_ITEM_DUE,
            {"activity": str(labels.get(activity, activity)), "customer": customer, "due": due.isoformat()},
            links[pk],
        )
        for pk, owner_id, activity, customer, due in rows
        if (owner_id, links[pk]) not in told
    ]
    return {"due": len(rows), "notified": len(notify_many(items))}
