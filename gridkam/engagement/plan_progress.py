"""Service plans against what was delivered: per customer, per team (of the item's owner) or per owner, the plan
occurrences falling due in a span of days, how many were done (on time or late), how many are overdue (still
planned past their due date) and how many are still to come. One grouped query; shared by the plan-against-actual
page and the service metrics."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from .choices import OccurrenceStatus
from .models import PlanOccurrence

GROUPS = {
    "customer": ("customer_id", "customer__name"),
    "team": ("owner__team_id", "owner__team__name"),
    "owner": ("owner_id", "owner__display_name"),
    "activity": ("activity", "activity"),
}


@dataclass(frozen=True)
class Progress:
    key: object  # the customer's, team's or owner's id, or the activity code (None: no team / no owner)
    name: str
    due: int  # occurrences due in the span, cancelled ones left out
    done: int
    done_late: int  # done after their due date
    overdue: int  # still planned, due date passed
    upcoming: int  # still planned, not yet due

    @property
    def done_share(self) -> float | None:
        """Done ÷ due in the span, or None when nothing was due."""
        return self.done / self.due if self.due else None


def plan_progress(
    occurrences: QuerySet[PlanOccurrence],
    *,
    by: str,
    start: dt.date,
    end: dt.date,
    today: dt.date | None = None,
) -> list[Progress]:
    """Group the occurrences due from ``start`` to ``end`` (inclusive) by ``by`` (customer, team, owner or
    activity), most overdue first. ``occurrences`` is already scoped to what the reader sees."""
    if by not in GROUPS:
        raise ValueError(f"by must be one of {sorted(GROUPS)}")
    today = today or timezone.localdate()
    key, name = GROUPS[by]
    # Owners without a display name are named by their username (one more column, same query).
    columns = (key, name, "owner__username") if by == "owner" else (key, name)
    planned = Q(status=OccurrenceStatus.PLANNED)
    rows = (
        occurrences.filter(due_date__gte=start, due_date__lte=end)
        .exclude(status=OccurrenceStatus.CANCELLED)
        .values(*columns)
        .annotate(
            due=Count("pk"),
            done=Count("pk", filter=Q(status=OccurrenceStatus.DONE)),
            done_late=Count("pk", filter=Q(status=OccurrenceStatus.DONE, done_on__gt=F("due_date"))),
            overdue=Count("pk", filter=planned & Q(due_date__lt=today)),
            upcoming=Count("pk", filter=planned & Q(due_date__gte=today)),
        )
        .order_by("-overdue", name, key)
    )
    return [
        Progress(
            key=row[key],
            name=str(row[name] or row.get("owner__username") or ""),
            due=row["due"],
            done=row["done"],
            done_late=row["done_late"],
            overdue=row["overdue"],
            upcoming=row["upcoming"],
        )
        for row in rows
    ]
