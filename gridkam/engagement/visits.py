"""Visits (走访) and on-site services delivered to key accounts: recording one delivers a plan occurrence and turns
its follow-up actions into tasks or service requests, all in one transaction; and the reads of visits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from gridkam.customers.models import Customer, ElectricityAccount
from gridkam.servicedesk.choices import Channel, Priority, RequestType
from gridkam.servicedesk.permissions import is_staff_user, sees_customer
from gridkam.servicedesk.services import request_assign, request_create

from .choices import Activity, FollowUpKind, OccurrenceStatus
from .models import PlanOccurrence, Task, Visit, VisitFollowUp
from .notifications import task_assigned_notify
from .plans import can_tailor

FOLLOW_UP_DAYS = 7  # a task's due date when none is given


def can_record_visit(user, customer: Customer) -> bool:
    """The customer's account team, supervisors of its unit and administrators (as for tailoring its plan)."""
    return can_tailor(user, customer)


def matching_occurrence(*, customer: Customer, activity: str, visited_on: dt.date) -> PlanOccurrence | None:
    """The planned occurrence a visit delivers by default: the open one of the same activity whose window holds
    the visit's day, else the oldest one already overdue on that day."""
    planned = PlanOccurrence.objects.filter(
        customer=customer, activity=activity, status=OccurrenceStatus.PLANNED, item__active=True
    )
    in_window = planned.filter(starts_on__lte=visited_on, due_date__gte=visited_on).order_by("due_date", "pk").first()
    if in_window is not None:
        return in_window
    return planned.filter(due_date__lt=visited_on).order_by("due_date", "pk").first()


def _serves(user, customer: Customer) -> bool:
    return user is not None and is_staff_user(user) and sees_customer(user, customer)


def _follow_up_errors(rows: Sequence[dict], customer: Customer, visited_on, today: dt.date) -> list[str]:
    messages = []
    for n, row in enumerate(rows, start=1):
        kind = row.get("kind")
        problems = []
        if kind not in FollowUpKind.values:
            problems.append(_("choose a task or a service request"))
        if not (row.get("description") or "").strip():
            problems.append(_("describe the action"))
        elif len(row["description"].strip()) > 300:
            problems.append(_("describe the action in at most 300 characters"))
        assignee = row.get("assignee")
        if assignee is not None and not _serves(assignee, customer):
            problems.append(_("choose an assignee who serves this customer"))
        if kind == FollowUpKind.TASK:
            due = row.get("due_date")
            if due is not None and isinstance(visited_on, dt.date) and due < visited_on:
                problems.append(_("the due date cannot be before the visit"))
        if kind == FollowUpKind.REQUEST:
            if row.get("request_type") not in RequestType.values:
                problems.append(_("choose the request type"))
            if row.get("priority") not in (None, "", *Priority.values):
                problems.append(_("choose a priority"))
        if problems:
            messages.append(_("Action %(n)s: %(problems)s.") % {"n": n, "problems": _("; ").join(problems)})
    return messages


@transaction.atomic
def visit_record(
    *,
    customer: Customer,
    activity: str = Activity.VISIT,
    visited_on: dt.date,
    user,
    account: ElectricityAccount | None = None,
    participants: Iterable = (),
    customer_participants: str = "",
    purpose: str = "",
    findings: str = "",
    occurrence: PlanOccurrence | None = None,
    follow_ups: Sequence[dict] = (),
    today: dt.date | None = None,
) -> Visit:
    """Record a visit: the plan occurrence it delivers is marked done (``occurrence``, or the one
    ``matching_occurrence`` finds; none is fine), and each follow-up (``{kind: task|request, description,
    due_date, assignee, request_type, priority}``) becomes a task or a service request (channel "visit").
    Any error leaves nothing written."""
    today = today or timezone.localdate()
    if not can_record_visit(user, customer):
        raise PermissionError(_("You may not record visits of this customer."))
    participants = list(participants or ())
    follow_ups = list(follow_ups or ())
    errors: dict = {}
    if activity not in Activity.values:
        errors["activity"] = _("Choose an activity.")
    if not isinstance(visited_on, dt.date):
        errors["visited_on"] = _("Enter the date of the visit.")
    elif visited_on > today:
        errors["visited_on"] = _("A visit cannot be recorded before it happens.")
    if account is not None and account.customer_id != customer.pk:
        errors["account"] = _("The account does not belong to this customer.")
    if any(not _serves(person, customer) for person in participants):
        errors["participants"] = _("Choose staff members who serve this customer.")
    for name, value, limit in (("customer_participants", customer_participants, 300), ("purpose", purpose, 200)):
        if len(value or "") > limit:
            errors[name] = _("At most %(n)s characters.") % {"n": limit}
    if occurrence is not None:
        if occurrence.customer_id != customer.pk:
            errors["occurrence"] = _("The plan item is not this customer's.")
        elif occurrence.status != OccurrenceStatus.PLANNED:
            errors["occurrence"] = _("The plan item is done or cancelled already.")
        elif "activity" not in errors and occurrence.activity != activity:
            errors["occurrence"] = _("The plan item is of another activity.")
        elif "visited_on" not in errors and visited_on < occurrence.starts_on:
            errors["occurrence"] = _("The plan item's window opens on %(day)s, after the visit.") % {
                "day": occurrence.starts_on.isoformat()
            }
    if problems := _follow_up_errors(follow_ups, customer, visited_on, today):
        errors["follow_ups"] = problems
    if errors:
        raise ValidationError(errors)
    if occurrence is None:
        occurrence = matching_occurrence(customer=customer, activity=activity, visited_on=visited_on)
    else:
        # Lock it, so that two people recording the same occurrence do not both mark it.
        occurrence = PlanOccurrence.objects.select_for_update().get(pk=occurrence.pk)
        if occurrence.status != OccurrenceStatus.PLANNED:
            raise ValidationError({"occurrence": _("The plan item is done or cancelled already.")})
    visit = Visit.objects.create(
        customer=customer,
        account=account,
        activity=activity,
        visited_on=visited_on,
        customer_participants=(customer_participants or "").strip(),
        purpose=(purpose or "").strip(),
        findings=findings or "",
        created_by=user,
    )
    if participants:
        visit.participants.set(participants)
    if occurrence is not None:
        PlanOccurrence.objects.filter(pk=occurrence.pk).update(
            status=OccurrenceStatus.DONE, done_on=visited_on, visit=visit
        )
    _follow_ups_create(visit, follow_ups, user=user, today=today)
    return visit


def _follow_ups_create(visit: Visit, rows: Sequence[dict], *, user, today: dt.date) -> None:
    link = reverse("plans:visit_detail", args=[visit.pk])
    context = _("Follow-up of the visit of %(day)s") % {"day": visit.visited_on.isoformat()}
    tasks, made = [], []
    for row in rows:
        description = row["description"].strip()
        if row["kind"] == FollowUpKind.TASK:
            task = Task(
                title=description[:200],
                detail=context,
                customer=visit.customer,
                account=visit.account,
                assignee=row.get("assignee") or user,
                due_date=row.get("due_date") or today + dt.timedelta(days=FOLLOW_UP_DAYS),
                source="visit",
                link=link,
                created_by=user,
            )
            tasks.append(task)
            made.append(VisitFollowUp(visit=visit, kind=FollowUpKind.TASK, description=description, task=task))
        else:
            request = request_create(
                customer=visit.customer,
                request_type=row["request_type"],
                channel=Channel.VISIT,
                priority=row.get("priority") or Priority.NORMAL,
                title=description[:200],
                description=f"{context}\n{visit.findings}".strip(),
                account=visit.account,
                user=user,
            )
            assignee = row.get("assignee")
            if assignee is not None and assignee.pk != request.assignee_id:
                request_assign(request=request, assignee=assignee, user=user, reason=context)
            made.append(
                VisitFollowUp(visit=visit, kind=FollowUpKind.REQUEST, description=description, service_request=request)
            )
    Task.objects.bulk_create(tasks)
    # Tasks given to someone else are told to them (in the app now; e-mail and SMS once this commits).
    task_assigned_notify(tasks=tasks, actor=user)
    for follow_up in made:  # the tasks have their ids now
        follow_up.task_id = follow_up.task.pk if follow_up.task is not None else None
    VisitFollowUp.objects.bulk_create(made)


# --- reads --------------------------------------------------------------------------------------------------------


def visits_visible(user) -> QuerySet[Visit]:
    """The visits the user sees, with what a list row shows (participants prefetched: one more query)."""
    return (
        Visit.objects.visible_to(user)
        .select_related("customer", "account", "created_by")
        .prefetch_related("participants")
    )


def visit_get(*, user, pk) -> Visit:
    follow_ups = VisitFollowUp.objects.select_related("task__assignee", "service_request__assignee").order_by("pk")
    return (
        Visit.objects.visible_to(user)
        .select_related("customer__org_unit", "account", "created_by")
        .prefetch_related("participants", Prefetch("follow_ups", queryset=follow_ups), "occurrences__item")
        .get(pk=pk)
    )


def open_occurrences(customer: Customer, today: dt.date | None = None) -> QuerySet[PlanOccurrence]:
    """The customer's planned occurrences a visit may deliver (for the record-visit form): those whose window has
    opened (a visit does not deliver next quarter's or next year's work in advance)."""
    today = today or timezone.localdate()
    return PlanOccurrence.objects.filter(
        customer=customer, status=OccurrenceStatus.PLANNED, item__active=True, starts_on__lte=today
    ).order_by("due_date", "pk")
