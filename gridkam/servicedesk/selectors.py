"""Reading service requests: lists, one request with its timeline, SLA state from the stored fields."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from gridkam.customers.models import AccountAssignment, Customer
from gridkam.users.models import User

from .choices import OPEN_STATUSES, Priority, RequestStatus, SlaTarget
from .models import RequestAttachment, RequestEvent, ServiceRequest

# Highest priority first when sorted ascending.
PRIORITY_RANK = Case(
    *[When(priority=value, then=Value(rank)) for rank, value in enumerate(Priority.values)],
    default=Value(len(Priority.values)),
    output_field=IntegerField(),
)


def requests_visible(user) -> QuerySet[ServiceRequest]:
    """The requests the user sees, with what a list row shows (no query per row)."""
    return ServiceRequest.objects.visible_to(user).select_related("customer", "assignee", "team", "account")


def request_for_user(*, user, pk) -> ServiceRequest:
    """One request the user sees (DoesNotExist otherwise)."""
    return (
        ServiceRequest.objects.visible_to(user)
        .select_related(
            "customer__org_unit", "assignee", "team", "account", "metering_point", "created_by", "sla_policy"
        )
        .get(pk=pk)
    )


def request_events(*, request: ServiceRequest, user) -> list[RequestEvent]:
    """The request's timeline as the user may read it (portal users: no internal events or attachments)."""
    customer_user = getattr(user, "is_customer_user", False)
    attachments = RequestAttachment.objects.order_by("pk")
    events = RequestEvent.objects.filter(request=request).select_related("actor")
    if customer_user:
        events = events.filter(internal=False)
        attachments = attachments.filter(internal=False)
    rows = list(events.prefetch_related(Prefetch("attachments", queryset=attachments)).order_by("at", "pk"))
    labels = dict(RequestStatus.choices)
    for event in rows:  # status changes named in the reader's language
        data = event.data if isinstance(event.data, dict) else {}
        event.from_label = labels.get(data.get("from"), "") if isinstance(data.get("from"), str) else ""
        event.to_label = labels.get(data.get("to"), "") if isinstance(data.get("to"), str) else ""
    return rows


def attachment_for_user(*, user, pk) -> RequestAttachment:
    attachments = RequestAttachment.objects.filter(request__in=ServiceRequest.objects.visible_to(user).values("pk"))
    if getattr(user, "is_customer_user", False):
        attachments = attachments.filter(internal=False)
    return attachments.get(pk=pk)


def customer_requests_recent(customer: Customer, user, limit: int = 5) -> list[ServiceRequest]:
    """The customer's latest requests (open first) for the customer 360 page; empty if not visible."""
    done = Case(When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField())
    return list(
        requests_visible(user)
        .filter(customer=customer)
        .annotate(done=done)
        .order_by("done", "-created_at", "-pk")[:limit]
    )


def handover_candidates(request: ServiceRequest) -> QuerySet[User]:
    """Who may take the request over: the customer's account team, the members of its team and the
    supervisors of its unit (and above) — staff who see the customer."""
    customer = request.customer
    ancestors = [*customer.org_unit.ancestor_paths(), customer.org_unit.path]
    team_users = AccountAssignment.objects.filter(customer=customer, end_date__isnull=True).values("user_id")
    condition = Q(pk__in=team_users) | Q(role="supervisor", org_unit__path__in=ancestors)
    if request.team_id:
        condition |= Q(team_id=request.team_id)
    return User.objects.filter(condition, is_active=True, customer__isnull=True).order_by("username").distinct()


@dataclass(frozen=True)
class TargetState:
    target: str
    label: str
    due_at: dt.datetime | None
    met_at: dt.datetime | None
    state: str  # "met", "met_late", "breached", "warned", "running", "paused", "none"

    @property
    def css(self) -> str:
        return {
            "met": "success",
            "met_late": "warning",
            "breached": "danger",
            "warned": "warning",
            "running": "secondary",
            "paused": "info",
        }.get(self.state, "light")


def sla_targets(request: ServiceRequest, now: dt.datetime | None = None) -> list[TargetState]:
    """Each target of the request with its due time and state, from the stored fields only (``sla.target_state``)."""
    from .sla import MET_FIELD, due_field, target_state

    now = now or timezone.now()
    states = []
    for target in (SlaTarget.RESPONSE, SlaTarget.ONSITE, SlaTarget.RESOLUTION):
        state = target_state(request, target, now)
        due = getattr(request, due_field(target))
        if state is None or (due is None and state not in ("met", "met_late")):
            continue
        states.append(TargetState(target, SlaTarget(target).label, due, getattr(request, MET_FIELD[target]), state))
    return states


def sla_badge(request: ServiceRequest, now: dt.datetime | None = None) -> TargetState | None:
    """The most pressing open target of the request (for list rows), or None."""
    order = {"breached": 0, "warned": 1, "paused": 2, "running": 3}
    pending = [t for t in sla_targets(request, now) if t.state in order]
    if not pending:
        return None
    return min(pending, key=lambda t: (order[t.state], t.due_at))
