"""My work: one queue per person of what is waiting for them, a month calendar of it, and the team view from which
leads move work between the members of their team.

The queue merges four sources, each read with one query (its customer joined) so that the number of queries does
not grow with the number of items:

- ``request``: open service requests assigned to the person; due at the nearest SLA target not met yet, with the
  SLA badge of the request list (``servicedesk.selectors.sla_badge``, from the stored fields only);
- ``plan_item``: service-plan occurrences the person owns that are still planned and whose window has opened or
  which fall due within the horizon (overdue ones included);
- ``warning``: open fee-recovery risk warnings on the customers the person currently manages (account manager in
  ``AccountAssignment``): the warning follows the customer, not the person it was first given to;
- ``task``: open tasks assigned to the person. A task raised for a risk warning that is still open is left out:
  the warning stands for it (closing the warning marks its task done; ``billing.risk``);
- ``message``: the conversations (``gridkam.messaging``) of the customers the person serves (current account team)
  with customer messages the person has not read; due when the oldest of them was sent, overdue once it has waited
  GRIDKAM["MESSAGE_REPLY_HOURS"] hours (24). Reading the thread takes it off the queue.

Every source is scoped to the customers the *viewer* sees (``Customer.objects.visible_to``): the person
themselves, or a lead looking at a member of their team.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from gridkam.billing.choices import RiskLevel, WarningStatus
from gridkam.billing.models import RiskWarning
from gridkam.core.ids import id_from
from gridkam.customers.choices import AssignmentRole
from gridkam.customers.models import AccountAssignment, Customer
from gridkam.messaging.selectors import unread_threads
from gridkam.servicedesk.choices import SlaTarget
from gridkam.servicedesk.models import ServiceRequest
from gridkam.servicedesk.permissions import is_staff_user, sees_customer
from gridkam.servicedesk.selectors import TargetState, sla_badge
from gridkam.users.models import Team, User

from .choices import Activity, NotificationEvent, OccurrenceStatus, PlanChangeKind
from .models import PlanChange, PlanOccurrence, Task
from .notifications import notify
from .plan_notices import occurrence_link
from .services import reassign_errors

REQUEST, PLAN_ITEM, WARNING, TASK, MESSAGE = "request", "plan_item", "warning", "task", "message"
KINDS = (REQUEST, PLAN_ITEM, WARNING, TASK, MESSAGE)
KIND_LABELS = {
    REQUEST: gettext_lazy("Service request"),
    PLAN_ITEM: gettext_lazy("Plan item"),
    WARNING: gettext_lazy("Risk warning"),
    TASK: pgettext_lazy("work item", "Task"),
    MESSAGE: gettext_lazy("Unread messages"),
}
KIND_CHOICES = [(kind, KIND_LABELS[kind]) for kind in KINDS]
# Kinds whose items a lead may move to another member of the team (a warning follows its customer's manager).
REASSIGNABLE = (REQUEST, PLAN_ITEM, TASK)
HORIZON_DAYS = 30

_MET = {SlaTarget.RESPONSE: "responded_at", SlaTarget.ONSITE: "onsite_at", SlaTarget.RESOLUTION: "resolved_at"}


_SENTINEL = 987654321987


@functools.lru_cache(maxsize=32)
def _pattern(name: str, prefix: str) -> str:
    return reverse(name, args=[_SENTINEL])


@functools.lru_cache(maxsize=32)
def _plain_path(name: str, prefix: str) -> str:
    return reverse(name)


def object_path(name: str, pk: int) -> str:
    """``reverse(name, args=[pk])`` for a URL taking one integer, reversed once per name (a queue has hundreds of
    rows; reversing each costs more than the rest of the row)."""
    return _pattern(name, get_script_prefix()).replace(str(_SENTINEL), str(int(pk)))


@dataclass(frozen=True)
class WorkItem:
    """One thing waiting for someone. ``due`` is a datetime for requests (their nearest SLA target) and a date
    otherwise; ``None`` only for a request without an SLA due time."""

    kind: str
    id: int
    title: str
    customer_id: int
    customer_name: str
    due: dt.datetime | dt.date | None
    overdue: bool
    detail: str = ""  # request number, account number, activity window: what tells the item apart
    sla: TargetState | None = None
    customer_initials: str = ""
    link: str = ""  # a task's own link (the page it is about)

    @property
    def key(self) -> str:
        """``kind:id``: how a form or the API names the item."""
        return f"{self.kind}:{self.id}"

    @property
    def url(self) -> str:
        """Where to act on it: the request, the record-visit form for the plan item it delivers, the account's risk
        warnings, the task's own link."""
        if self.kind == REQUEST:
            return object_path("servicedesk:request_detail", self.id)
        if self.kind == PLAN_ITEM:
            return f"{_plain_path('plans:visit_create', get_script_prefix())}?occurrence={int(self.id)}"
        if self.kind == WARNING:
            return f"{reverse('billing:risk_warnings')}?{urlencode({'q': self.detail})}"
        if self.kind == TASK and self.link:
            return self.link
        if self.kind == MESSAGE:
            return object_path("messaging:thread", self.customer_id)
        return object_path("customers:customer_detail", self.customer_id)

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])

    @property
    def due_date(self) -> dt.date | None:
        """The local day the item falls due on (a request's due time in the current time zone)."""
        if isinstance(self.due, dt.datetime):
            return timezone.localtime(self.due).date()
        return self.due

    @property
    def has_time(self) -> bool:
        return isinstance(self.due, dt.datetime)

    @property
    def sort_at(self) -> dt.datetime:
        """A moment to order by: a due date counts as the end of that day (local time); no due time last."""
        if self.due is None:
            return dt.datetime.max.replace(tzinfo=dt.UTC)
        if isinstance(self.due, dt.datetime):
            return self.due
        next_day = dt.datetime.combine(self.due + dt.timedelta(days=1), dt.time.min)
        return timezone.make_aware(next_day)


@dataclass(frozen=True)
class WorkQueue:
    items: list[WorkItem]
    counts: dict[str, int] = field(default_factory=dict)  # per kind
    overdue: dict[str, int] = field(default_factory=dict)  # overdue per kind

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def overdue_total(self) -> int:
        return sum(self.overdue.values())


def _order_key(item: WorkItem):
    return (not item.overdue, item.sort_at, KINDS.index(item.kind), item.id)


def _kind_key(item: WorkItem):
    return (KINDS.index(item.kind), not item.overdue, item.sort_at, item.id)


SORTS = {"due": _order_key, "kind": _kind_key}
DEFAULT_SORT = "due"


def work_sort(items: Iterable[WorkItem], sort: str = DEFAULT_SORT) -> list[WorkItem]:
    """By due (overdue first, then soonest; the default) or by kind; ``-`` before the key reverses."""
    key = sort.lstrip("-")
    if key not in SORTS:
        key, sort = DEFAULT_SORT, DEFAULT_SORT
    return sorted(items, key=SORTS[key], reverse=sort.startswith("-"))


def work_filter(
    items: Iterable[WorkItem], *, kinds: Sequence[str] = (), overdue: bool = False, q: str = ""
) -> list[WorkItem]:
    """The items of some kinds, only overdue ones, or of customers whose name (or pinyin initials) has ``q``."""
    q = (q or "").strip().lower()
    return [
        item
        for item in items
        if (not kinds or item.kind in kinds)
        and (not overdue or item.overdue)
        and (not q or q in item.customer_name.lower() or q in item.customer_initials.lower())
    ]


# --- the sources -------------------------------------------------------------------------------------------------


def _visible(viewer) -> QuerySet[Customer]:
    return Customer.objects.visible_to(viewer).values("pk")


def _seen(viewer, path: str = "customer_id") -> Exists:
    """The row's customer is one the viewer sees (``Customer.objects.visible_to``), checked per row. Rows are
    found first by their holder's index (a few hundred); ``customer_id IN (visible customers)`` would instead
    make SQLite list every customer a supervisor or a team sees (thousands) for each source."""
    return Exists(Customer.objects.visible_to(viewer).filter(pk=OuterRef(path)))


def _nearest_due(request: ServiceRequest) -> dt.datetime | None:
    """The earliest due time among the request's targets not met yet."""
    dues = [
        getattr(request, f"{target}_due_at")
        for target, met in _MET.items()
        if getattr(request, met) is None and getattr(request, f"{target}_due_at") is not None
    ]
    return min(dues) if dues else None


def _raised_for_open_warning() -> Exists:
    """The task was raised for a risk warning that is still open (found by the warning's task index)."""
    return Exists(RiskWarning.objects.exclude(status=WarningStatus.CLOSED).filter(task_id=OuterRef("pk")))


REQUEST_FIELDS = (
    "pk",
    "number",
    "title",
    "paused_at",
    "customer_id",
    "customer__name",
    "customer__name_initials",
    *(f"{t}_{suffix}" for t in _MET for suffix in ("due_at", "warn_at", "warned", "breached")),
    *_MET.values(),
)


def _requests(holder, viewer, now) -> list[WorkItem]:
    # Plain rows rather than model instances: the SLA state reads stored fields only (``sla.target_state``), and
    # building hundreds of instances costs more than the query.
    rows = ServiceRequest.objects.open().filter(_seen(viewer), assignee=holder).values(*REQUEST_FIELDS).order_by()
    items = []
    for row in rows:
        sr = SimpleNamespace(**row)
        badge = sla_badge(sr, now)
        items.append(
            WorkItem(
                kind=REQUEST,
                id=sr.pk,
                title=sr.title,
                customer_id=sr.customer_id,
                customer_name=row["customer__name"],
                customer_initials=row["customer__name_initials"],
                due=_nearest_due(sr),
                overdue=badge is not None and badge.state == "breached",
                detail=sr.number,
                sla=badge,
            )
        )
    return items


def _occurrences(holder, viewer, today, *, horizon_end=None, window=None) -> list[WorkItem]:
    rows = PlanOccurrence.objects.filter(_seen(viewer), owner=holder, status=OccurrenceStatus.PLANNED)
    if window is not None:
        rows = rows.filter(due_date__gte=window[0], due_date__lte=window[1])
    else:
        rows = rows.filter(Q(starts_on__lte=today) | Q(due_date__lte=horizon_end))
    rows = rows.order_by().values_list(
        "pk", "activity", "seq", "starts_on", "due_date", "customer_id", "customer__name", "customer__name_initials"
    )
    labels = {value: str(label) for value, label in Activity.choices}
    title, opens = _("%(activity)s (no. %(seq)s)"), _("window opens %(day)s")
    return [
        WorkItem(
            kind=PLAN_ITEM,
            id=pk,
            title=title % {"activity": labels.get(activity, activity), "seq": seq},
            customer_id=customer_id,
            customer_name=name,
            customer_initials=initials,
            due=due,
            overdue=due < today,
            detail=opens % {"day": starts.isoformat()},
        )
        for pk, activity, seq, starts, due, customer_id, name, initials in rows
    ]


def _managed_customers(holder) -> QuerySet:
    return AccountAssignment.objects.filter(user=holder, role=AssignmentRole.MANAGER, end_date__isnull=True).values(
        "customer_id"
    )


def _warnings(holder, viewer, today) -> list[WorkItem]:
    rows = (
        RiskWarning.objects.filter(_seen(viewer, "account__customer_id"))
        .exclude(status=WarningStatus.CLOSED)
        .filter(account__customer__in=_managed_customers(holder))
        .order_by()
        .values_list(
            "pk",
            "level",
            "due_date",
            "account__account_no",
            "account__customer_id",
            "account__customer__name",
            "account__customer__name_initials",
        )
    )
    levels = {value: str(label) for value, label in RiskLevel.choices}
    title = _("Fee-recovery risk: %(level)s")
    return [
        WorkItem(
            kind=WARNING,
            id=pk,
            title=title % {"level": levels.get(level, level)},
            customer_id=customer_id,
            customer_name=name,
            customer_initials=initials,
            due=due,
            overdue=due < today,
            detail=account_no,
        )
        for pk, level, due, account_no, customer_id, name, initials in rows
    ]


def _tasks(holder, viewer, today) -> list[WorkItem]:
    rows = (
        Task.objects.filter(_seen(viewer))
        .open()
        .filter(assignee=holder)
        .exclude(_raised_for_open_warning())
        .order_by()
        .values_list("pk", "title", "due_date", "link", "customer_id", "customer__name", "customer__name_initials")
    )
    return [
        WorkItem(
            kind=TASK,
            id=pk,
            title=title,
            customer_id=customer_id,
            customer_name=name,
            customer_initials=initials,
            due=due,
            overdue=due < today,
            link=link,
        )
        for pk, title, due, link, customer_id, name, initials in rows
    ]


def _messages(holder, viewer, now) -> list[WorkItem]:
    # One grouped query (``messaging.selectors.unread_threads``): a row per conversation with unread messages.
    waited = dt.timedelta(hours=float(settings.GRIDKAM.get("MESSAGE_REPLY_HOURS", 24)))
    items = []
    for row in unread_threads(holder=holder, viewer=viewer):
        n = row["n"]
        items.append(
            WorkItem(
                kind=MESSAGE,
                id=row["conversation_id"],
                title=ngettext("%(n)s unread message", "%(n)s unread messages", n) % {"n": n},
                customer_id=row["conversation__customer_id"],
                customer_name=row["conversation__customer__name"],
                customer_initials=row["conversation__customer__name_initials"],
                due=row["first"],
                overdue=row["first"] + waited < now,
                detail=(row["conversation__last_message__body"] or "")[:60],
            )
        )
    return items


def _queue(items: list[WorkItem]) -> WorkQueue:
    items = work_sort(items)
    counts = Counter(item.kind for item in items)
    overdue = Counter(item.kind for item in items if item.overdue)
    return WorkQueue(
        items=items,
        counts={kind: counts.get(kind, 0) for kind in KINDS},
        overdue={kind: overdue.get(kind, 0) for kind in KINDS},
    )


def work_queue(
    *,
    holder,
    viewer,
    today: dt.date | None = None,
    horizon_days: int = HORIZON_DAYS,
    now: dt.datetime | None = None,
) -> WorkQueue:
    """``holder``'s queue as ``viewer`` may see it (the same person on "My work"; a lead on the team view)."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    horizon_end = today + dt.timedelta(days=horizon_days)
    items = [
        *_requests(holder, viewer, now),
        *_occurrences(holder, viewer, today, horizon_end=horizon_end),
        *_warnings(holder, viewer, today),
        *_tasks(holder, viewer, today),
        *_messages(holder, viewer, now),
    ]
    return _queue(items)


def my_work(user, today: dt.date | None = None, horizon_days: int = HORIZON_DAYS, *, now=None) -> WorkQueue:
    """The user's own queue: five queries whatever its length. Portal users have no work queue."""
    if not is_staff_user(user):
        raise PermissionError(_("Customers' users have no work queue."))
    return work_queue(holder=user, viewer=user, today=today, horizon_days=horizon_days, now=now)


# --- calendar ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarDay:
    day: dt.date
    in_month: bool
    is_today: bool
    items: list[WorkItem]


@dataclass(frozen=True)
class WorkCalendar:
    month: dt.date  # first day of the month shown
    weeks: list[list[CalendarDay]]
    previous: dt.date
    next: dt.date
    overdue_before: int  # overdue items falling due before the grid (not on it)
    holder: User

    @property
    def items(self) -> list[WorkItem]:
        return [item for week in self.weeks for day in week for item in day.items]


def parse_month(value: str | None, today: dt.date) -> dt.date:
    """``YYYY-MM`` as the first of that month; the current month for anything else (years 1900–2999 only: the grid
    reaches into the months around the one shown)."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        if 1900 <= year <= 2999 and 1 <= month <= 12:
            return dt.date(year, month, 1)
    except ValueError:
        pass
    return today.replace(day=1)


def work_calendar(*, holder, viewer, month: dt.date, today: dt.date | None = None, now=None) -> WorkCalendar:
    """A Monday-first month grid with the holder's open items on the local days they fall due: every open request,
    warning, task and unread thread, and the planned occurrences due on a day of the grid. One query per source."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    month = month.replace(day=1)
    weeks_of_days = calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    first, last = weeks_of_days[0][0], weeks_of_days[-1][-1]
    items = [
        *_requests(holder, viewer, now),
        *_occurrences(holder, viewer, today, window=(first, last)),
        *_warnings(holder, viewer, today),
        *_tasks(holder, viewer, today),
        *_messages(holder, viewer, now),
    ]
    by_day: dict[dt.date, list[WorkItem]] = {}
    overdue_before = 0
    for item in work_sort(items):
        day = item.due_date
        if day is None:
            continue
        if first <= day <= last:
            by_day.setdefault(day, []).append(item)
        elif day < first and item.overdue:
            overdue_before += 1
    weeks = [
        [CalendarDay(day, day.month == month.month, day == today, by_day.get(day, [])) for day in week]
        for week in weeks_of_days
    ]
    previous = (month - dt.timedelta(days=1)).replace(day=1)
    following = (month + dt.timedelta(days=32)).replace(day=1)
    return WorkCalendar(month, weeks, previous, following, overdue_before, holder)


# --- teams -------------------------------------------------------------------------------------------------------


def teams_led(user) -> QuerySet[Team]:
    """The teams whose work the user may see and rebalance: all for administrators; for supervisors those of
    their unit and below; for anyone the teams they lead."""
    if not is_staff_user(user):
        return Team.objects.none()
    if user.is_administrator:
        return Team.objects.all()
    condition = Q(lead=user)
    if user.is_supervisor and user.org_unit_id:
        condition |= Q(org_unit__path__startswith=user.org_unit.path)
    return Team.objects.filter(condition)


def may_lead(user) -> bool:
    return teams_led(user).exists()


def team_members(teams: QuerySet[Team]) -> QuerySet[User]:
    return (
        User.objects.filter(team__in=teams, is_active=True, customer__isnull=True)
        .select_related("team")
        .order_by("team__name", "display_name", "username")
    )


def member_led(user, member_id) -> User | None:
    """The member if ``user`` leads (supervises, administers) one of their teams, else None."""
    try:
        member_id = int(member_id)
    except (TypeError, ValueError):
        return None
    if not 0 < member_id < 2**63:
        return None
    return team_members(teams_led(user)).filter(pk=member_id).first()


def _at_risk() -> Q:
    """An open request with a target not met that is warned or breached (``sla.target_state``), for counting in
    SQL: flagged by the sweep, or its warning or due time passed while not waiting for the customer."""
    now = timezone.now()
    condition = Q(pk__in=[])
    for target, met in _MET.items():
        running = Q(paused_at__isnull=True) & (
            Q(**{f"{target}_warned": True}) | Q(**{f"{target}_warn_at__lte": now}) | Q(**{f"{target}_due_at__lte": now})
        )
        condition |= Q(**{f"{met}__isnull": True}) & (Q(**{f"{target}_breached": True}) | running)
    return condition


@dataclass(frozen=True)
class MemberLoad:
    member: User
    requests: int = 0
    sla_at_risk: int = 0
    plan_due: int = 0
    plan_overdue: int = 0
    tasks: int = 0
    tasks_overdue: int = 0
    warnings: int = 0

    @property
    def total(self) -> int:
        return self.requests + self.plan_due + self.tasks + self.warnings


def team_load(*, viewer, teams: QuerySet[Team] | None = None, today=None, horizon_days: int = HORIZON_DAYS):
    """Per member of the teams the viewer leads: the counts of their queue (as the viewer sees it). One grouped
    query per source, plus the members."""
    today = today or timezone.localdate()
    horizon_end = today + dt.timedelta(days=horizon_days)
    teams = teams_led(viewer) if teams is None else teams
    members = list(team_members(teams))
    ids = [m.pk for m in members]
    seen = _seen(viewer)
    requests = {
        row["assignee_id"]: row
        for row in ServiceRequest.objects.filter(seen, assignee_id__in=ids)
        .open()
        .values("assignee_id")
        .annotate(n=Count("pk"), at_risk=Count("pk", filter=_at_risk()))
        .order_by()
    }
    plans = {
        row["owner_id"]: row
        for row in PlanOccurrence.objects.filter(seen, owner_id__in=ids, status=OccurrenceStatus.PLANNED)
        .filter(Q(starts_on__lte=today) | Q(due_date__lte=horizon_end))
        .values("owner_id")
        .annotate(n=Count("pk"), overdue=Count("pk", filter=Q(due_date__lt=today)))
        .order_by()
    }
    tasks = {
        row["assignee_id"]: row
        for row in Task.objects.filter(seen, assignee_id__in=ids)
        .open()
        .exclude(_raised_for_open_warning())
        .values("assignee_id")
        .annotate(n=Count("pk"), overdue=Count("pk", filter=Q(due_date__lt=today)))
        .order_by()
    }
    warnings = dict(
        AccountAssignment.objects.filter(seen, user_id__in=ids, role=AssignmentRole.MANAGER, end_date__isnull=True)
        .filter(customer__accounts__risk_warnings__status__in=[WarningStatus.OPEN, WarningStatus.ACKNOWLEDGED])
        .values("user_id")
        .annotate(n=Count("customer__accounts__risk_warnings", distinct=True))
        .order_by()
        .values_list("user_id", "n")
    )
    empty = {"n": 0, "at_risk": 0, "overdue": 0}
    return [
        MemberLoad(
            member=m,
            requests=requests.get(m.pk, empty)["n"],
            sla_at_risk=requests.get(m.pk, empty)["at_risk"],
            plan_due=plans.get(m.pk, empty)["n"],
            plan_overdue=plans.get(m.pk, empty)["overdue"],
            tasks=tasks.get(m.pk, empty)["n"],
            tasks_overdue=tasks.get(m.pk, empty)["overdue"],
            warnings=warnings.get(m.pk, 0),
        )
        for m in members
    ]


# --- rebalancing ---------------------------------------------------------------------------------------------------


@transaction.atomic
def occurrence_reassign(*, occurrence: PlanOccurrence, owner, user, reason: str) -> PlanOccurrence:
    """Give one planned occurrence to another owner (the item keeps its owner), recorded as a plan change with
    the names before and after and the reason."""
    reason, errors = reassign_errors(
        reason=reason, target=owner, customer=occurrence.customer, holder_id=occurrence.owner_id
    )
    if occurrence.status != OccurrenceStatus.PLANNED:
        errors["id"] = _("Only a planned occurrence can be moved.")
    if errors:
        raise ValidationError(errors)
    item = occurrence.item
    before = str(occurrence.owner) if occurrence.owner_id else ""
    occurrence.owner = owner
    occurrence.save(update_fields=["owner"])
    PlanChange.objects.create(
        plan_id=item.plan_id,
        item=item,
        kind=PlanChangeKind.OWNER,
        before=before[:200],
        after=str(owner)[:200],
        reason=reason[:500],
        user=user,
    )
    notify(
        recipients=[owner],
        event=NotificationEvent.PLAN_ITEM_DUE,
        context={
            "activity": occurrence.get_activity_display(),
            "customer": occurrence.customer.name,
            "due": occurrence.due_date.isoformat(),
        },
        link=occurrence_link(occurrence.pk),
        actor=user,
    )
    return occurrence


HOLDER_FIELD = {REQUEST: "assignee_id", PLAN_ITEM: "owner_id", TASK: "assignee_id"}


def _load(kind: str, item_id: int, viewer):
    visible = _visible(viewer)
    if kind == REQUEST:
        return ServiceRequest.objects.filter(customer__in=visible).select_related("customer__org_unit").get(pk=item_id)
    if kind == PLAN_ITEM:
        return PlanOccurrence.objects.filter(customer__in=visible).select_related("customer", "item").get(pk=item_id)
    return Task.objects.filter(customer__in=visible).select_related("customer").get(pk=item_id)


def work_reassign(*, user, kind: str, item_id: int, to_user, reason: str):
    """Move one request, plan occurrence or task from a member of a team the user leads (supervises,
    administers) to another member of the same team who sees the customer, with a reason.

    ``ValidationError`` by field (``kind``, ``id``, ``to_user``, ``reason``) for anything the user may not do
    or that makes no sense; requests are handed over (``servicedesk.services.request_handover``: the reason is on
    the request's timeline), tasks reassigned (``task_reassign``), occurrences given to the new owner
    (``occurrence_reassign``: a plan change)."""
    from gridkam.servicedesk.services import request_handover

    from .services import task_reassign

    if kind not in REASSIGNABLE:
        raise ValidationError({"kind": _("Only service requests, plan items and tasks can be moved.")})
    try:
        obj = _load(kind, int(item_id), user)
    except (
        ValueError,
        TypeError,
        OverflowError,
        ServiceRequest.DoesNotExist,
        PlanOccurrence.DoesNotExist,
        Task.DoesNotExist,
    ):
        raise ValidationError({"id": _("No such item in your view.")}) from None
    holder_id = getattr(obj, HOLDER_FIELD[kind])
    holder = member_led(user, holder_id) if holder_id else None
    if holder is None:
        raise ValidationError({"id": _("This item is not with a member of a team you lead.")})
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = _("Say why the work is moved.")
    if to_user is None or to_user.team_id != holder.team_id or not to_user.is_active or to_user.is_customer_user:
        errors["to_user"] = _("Choose another member of the same team.")
    elif not sees_customer(to_user, obj.customer):
        errors["to_user"] = _("This member does not serve the customer.")
    elif to_user.pk == holder.pk:
        errors["to_user"] = _("The item is already with this person.")
    if errors:
        raise ValidationError(errors)
    if kind == REQUEST:
        try:
            return request_handover(request=obj, to_user=to_user, user=user, reason=reason)
        except PermissionError as error:
            raise ValidationError({"id": str(error)}) from None
    if kind == TASK:
        return task_reassign(task=obj, assignee=to_user, user=user, reason=reason)
    return occurrence_reassign(occurrence=obj, owner=to_user, user=user, reason=reason)


def parse_item_key(value: str) -> tuple[str, int] | None:
    """``kind:id`` from a form or the API, or None."""
    kind, _sep, raw = (value or "").partition(":")
    item_id = id_from(raw)
    if kind not in KINDS or item_id is None:
        return None
    return kind, item_id
