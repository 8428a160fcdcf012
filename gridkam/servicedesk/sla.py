"""SLA policies and the SLA clock of service requests (issue 6 item 2, DOMAIN.md "Service").

- ``sla_defaults`` / ``sla_policies_load``: the default policy of every tier × type × priority, from the
  public service commitments (third tier, normal priority) made tighter for higher tiers and priorities.
- ``sla_apply`` / ``sla_resume``: the due and warning times of a request's targets, stored on the request
  (computed with ``gridkam.core.clocks`` when the request is logged and again when a pause ends).
- ``sla_state``: per target, where it stands now, for pages.
- ``sla_sweep``: the periodic job: compares the stored times with now in bulk, warns the assignee at
  ``SLA_WARN_SHARE`` of a target, records breaches and escalates (team lead, then the nearest supervisor).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from simple_history.utils import bulk_create_with_history

from gridkam.core import clocks
from gridkam.core.choices import ClockKind
from gridkam.customers.choices import Tier
from gridkam.engagement.choices import NotificationEvent
from gridkam.engagement.models import Task
from gridkam.engagement.notifications import notify_many
from gridkam.users.choices import Role
from gridkam.users.models import User

from .choices import OPEN_STATUSES, EventKind, Priority, RequestType, SlaTarget
from .models import RequestEvent, ServiceRequest, SlaPolicy

# Multipliers of the third tier's (normal priority) minutes.
TIER_FACTORS = {Tier.SPECIAL: 0.5, Tier.FIRST: 0.6, Tier.SECOND: 0.8, Tier.THIRD: 1.0}
PRIORITY_FACTORS = {Priority.URGENT: 0.5, Priority.HIGH: 0.75, Priority.NORMAL: 1.0, Priority.LOW: 1.5}
MIN_TARGET_MINUTES = 5
# Level 2 follows level 1 after half the resolution target in wall minutes, at least this.
MIN_ESCALATION_MINUTES = 30
BATCH = 2000
# Who an escalation goes to, in its notification.
LEAD_ROLE = gettext_lazy("the team lead")
SUPERVISOR_ROLE = gettext_lazy("the supervisor")

# target -> (minutes field of the policy, due, warn, met, warned flag, breached flag) on the request.
TARGETS = (SlaTarget.RESPONSE, SlaTarget.ONSITE, SlaTarget.RESOLUTION)
MINUTES_FIELD = {
    SlaTarget.RESPONSE: "response_minutes",
    SlaTarget.ONSITE: "onsite_minutes",
    SlaTarget.RESOLUTION: "resolution_minutes",
}
MET_FIELD = {SlaTarget.RESPONSE: "responded_at", SlaTarget.ONSITE: "onsite_at", SlaTarget.RESOLUTION: "resolved_at"}


def due_field(target: str) -> str:
    return f"{target}_due_at"


def warn_field(target: str) -> str:
    return f"{target}_warn_at"


def warned_field(target: str) -> str:
    return f"{target}_warned"


def breached_field(target: str) -> str:
    return f"{target}_breached"


# ---------------------------------------------------------------------------------------------- defaults


def working_day_minutes() -> int:
    """The minutes of working hours in one working day (settings GRIDKAM["WORKING_HOURS"])."""
    periods = clocks.parse_working_hours(settings.GRIDKAM["WORKING_HOURS"])
    return sum(
        (dt.datetime.combine(dt.date.min, end) - dt.datetime.combine(dt.date.min, start)).seconds // 60
        for start, end in periods
    )


def base_targets() -> dict[str, tuple[str, int, int | None, int]]:
    """Third tier, normal priority: request type -> (clock, response, on site, resolution) minutes."""
    day = working_day_minutes()
    working = ClockKind.WORKING
    return {
        # 24x7: notify within 10 minutes, on site within 45 minutes (urban), restored within 3 h of arrival.
        RequestType.REPAIR: (ClockKind.AROUND_THE_CLOCK, 10, 45, 45 + 180),
        RequestType.COMPLAINT: (working, day, None, 5 * day),
        RequestType.METERING: (working, day, None, 5 * day),
        RequestType.POWER_QUALITY: (working, day, None, 10 * day),
        RequestType.BILLING_INQUIRY: (working, day, None, 5 * day),
        RequestType.CAPACITY_CHANGE: (working, day, None, 10 * day),
        RequestType.CONSULTATION: (working, 4 * 60, None, 5 * day),
        RequestType.OTHER: (working, day, None, 5 * day),
    }


def scaled(minutes: int, tier: str, priority: str) -> int:
    """The third tier's normal-priority minutes for a tier and priority: rounded half up, at least 5."""
    value = minutes * TIER_FACTORS[tier] * PRIORITY_FACTORS[priority]
    return max(MIN_TARGET_MINUTES, math.floor(value + 0.5))


def sla_defaults() -> list[dict]:
    """The default policy of every tier × request type × priority, as field dicts."""
    rows = []
    for tier in Tier.values:
        for request_type, (clock, response, onsite, resolution) in base_targets().items():
            for priority in Priority.values:
                rows.append(
                    {
                        "tier": tier,
                        "request_type": str(request_type),
                        "priority": priority,
                        "clock": str(clock),
                        "response_minutes": scaled(response, tier, priority),
                        "onsite_minutes": None if onsite is None else scaled(onsite, tier, priority),
                        "resolution_minutes": scaled(resolution, tier, priority),
                    }
                )
    return rows


POLICY_VALUE_FIELDS = ("clock", "response_minutes", "onsite_minutes", "resolution_minutes")


@transaction.atomic
def sla_policies_load(*, overwrite: bool = False, user=None) -> dict[str, int]:
    """Create the default policies that are missing; existing rows (maybe edited) are left alone unless
    ``overwrite``, which resets them to the defaults. Idempotent. Returns counts created/updated/unchanged."""
    existing = {(p.tier, p.request_type, p.priority): p for p in SlaPolicy.objects.all()}
    create, update = [], []
    unchanged = 0
    for row in sla_defaults():
        key = (row["tier"], row["request_type"], row["priority"])
        policy = existing.get(key)
        if policy is None:
            create.append(SlaPolicy(updated_by=user, **row))
        elif overwrite and any(getattr(policy, name) != row[name] for name in POLICY_VALUE_FIELDS):
            for name in POLICY_VALUE_FIELDS:
                setattr(policy, name, row[name])
            policy.updated_by = user
            update.append(policy)
        else:
            unchanged += 1
    if create:
        bulk_create_with_history(create, SlaPolicy, batch_size=BATCH, default_user=user)
    for policy in update:  # at most 96 rows, on an explicit reset: saved one by one for their history
        policy.save()
    return {"created": len(create), "updated": len(update), "unchanged": unchanged}


def describe_minutes(minutes: int | None, clock: str) -> str:
    """A target for people: "45 minutes", "3 h 45 min" on the 24×7 clock; "1 working day", "4 working hours"
    on the working clock."""
    if minutes is None:
        return "—"
    if clock == ClockKind.WORKING:
        day = working_day_minutes()
        if minutes >= day and minutes % day == 0:
            return ngettext("%(n)s working day", "%(n)s working days", minutes // day) % {"n": minutes // day}
        if minutes >= day:
            return _("%(days)s working days") % {"days": f"{minutes / day:.1f}"}
        if minutes % 60 == 0:
            return ngettext("%(n)s working hour", "%(n)s working hours", minutes // 60) % {"n": minutes // 60}
        return _("%(h)s h %(m)s min (working)") % {"h": minutes // 60, "m": minutes % 60}
    if minutes < 60:
        return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}
    if minutes % 60 == 0:
        return _("%(h)s h") % {"h": minutes // 60}
    return _("%(h)s h %(m)s min") % {"h": minutes // 60, "m": minutes % 60}


# ---------------------------------------------------------------------------------------------- per request


def policy_for(request: ServiceRequest) -> SlaPolicy | None:
    """The policy of the request's customer tier, type and priority; the third tier's as a fallback."""
    tier = request.customer.tier
    policies = {
        p.tier: p
        for p in SlaPolicy.objects.filter(
            tier__in={tier, Tier.THIRD}, request_type=request.request_type, priority=request.priority
        )
    }
    return policies.get(tier) or policies.get(Tier.THIRD)


def _pauses(request: ServiceRequest) -> list[clocks.Pause]:
    return list(request.pauses.order_by("started_at").values_list("started_at", "ended_at"))


def _target_minutes(policy: SlaPolicy, target: str) -> int | None:
    return getattr(policy, MINUTES_FIELD[target])


def warn_share() -> float:
    """The share of a target after which the assignee is warned (settings GRIDKAM["SLA_WARN_SHARE"], 0.8)."""
    return float(settings.GRIDKAM.get("SLA_WARN_SHARE", 0.8))


def _set_times(request: ServiceRequest, policy: SlaPolicy, targets, pauses) -> list[str]:
    share = warn_share()
    fields = []
    for target in targets:
        minutes = _target_minutes(policy, target)
        if minutes is None:
            due = warn = None
        else:
            due = clocks.deadline(request.created_at, minutes, policy.clock, pauses)
            warn = clocks.deadline(request.created_at, math.ceil(minutes * share), policy.clock, pauses)
        setattr(request, due_field(target), due)
        setattr(request, warn_field(target), warn)
        fields += [due_field(target), warn_field(target)]
    return fields


def sla_apply(request: ServiceRequest, *, now: dt.datetime | None = None) -> ServiceRequest:
    """Apply the policy of the request's tier, type and priority: store the clock and each target's due and
    warning times (counted from ``created_at``). Without a policy the SLA fields are cleared."""
    if request.created_at is None:
        request.created_at = now or timezone.now()
    policy = policy_for(request)
    request.sla_policy = policy
    fields = ["sla_policy", "clock"]
    if policy is None:
        for target in TARGETS:
            setattr(request, due_field(target), None)
            setattr(request, warn_field(target), None)
            fields += [due_field(target), warn_field(target)]
    else:
        request.clock = policy.clock
        fields += _set_times(request, policy, TARGETS, _pauses(request) if request.pk else [])
    if request.pk:
        request.save(update_fields=fields)
    return request


def sla_resume(request: ServiceRequest, *, now: dt.datetime | None = None) -> ServiceRequest:
    """After a pause ended (or changed): recompute the due and warning times of the targets not yet met,
    with all the request's pauses (the clock stood still during them)."""
    policy = request.sla_policy
    if policy is None:
        return request
    open_targets = [t for t in TARGETS if getattr(request, MET_FIELD[t]) is None]
    if open_targets:
        fields = _set_times(request, policy, open_targets, _pauses(request))
        request.save(update_fields=fields)
    return request


@dataclass(frozen=True)
class TargetState:
    target: str
    label: str
    due_at: dt.datetime | None
    warn_at: dt.datetime | None
    met_at: dt.datetime | None
    state: str  # met / met_late / running / warned / breached / paused / none
    minutes_left: int | None  # on the request's clock; negative once breached

    @property
    def minutes_over(self) -> int | None:
        """Minutes past the due time once breached."""
        return -self.minutes_left if self.minutes_left is not None and self.minutes_left < 0 else None

    def __getitem__(self, key):  # callers may treat it as a dict
        return getattr(self, key)


def target_state(request: ServiceRequest, target: str, now: dt.datetime) -> str | None:
    """Where one target stands, from the stored fields only (no clock arithmetic: list pages use it per row):
    met / met_late; breached once the sweep flagged it; paused while waiting for the customer (the due time moves
    when the pause ends); breached when past due; warned from 80 %; running; None without a due time."""
    due = getattr(request, due_field(target))
    warn = getattr(request, warn_field(target))
    met = getattr(request, MET_FIELD[target])
    if met is not None:
        return "met" if due is None or met <= due else "met_late"
    if getattr(request, f"{target}_breached", False):
        return "breached"
    if request.paused_at is not None:
        return "paused"
    if due is None:
        return None
    if now >= due:
        return "breached"
    if getattr(request, f"{target}_warned", False) or (warn is not None and now >= warn):
        return "warned"
    return "running"


def sla_state(request: ServiceRequest, now: dt.datetime | None = None) -> list[TargetState]:
    """Where each target of the request stands at ``now``, with the minutes left on its clock (targets the policy
    does not have are left out; a request without a policy has one "none" row for the resolution)."""
    now = now or timezone.now()
    policy = request.sla_policy
    rows = []
    pauses = None
    for target in TARGETS:
        if policy is not None and _target_minutes(policy, target) is None:
            continue
        due = getattr(request, due_field(target))
        left = None
        if policy is None:
            if target != SlaTarget.RESOLUTION:
                continue
            state = "none"
        else:
            state = target_state(request, target, now) or "paused"
        if state == "paused" and due is not None and request.paused_at is not None:
            if pauses is None:
                pauses = _pauses(request)
            done = [(start, end) for start, end in pauses if end is not None]
            left = clocks.elapsed(request.paused_at, due, request.clock, done)
        elif state == "breached" and due is not None:
            left = -clocks.elapsed(due, now, request.clock)
        elif state in ("running", "warned"):
            left = clocks.elapsed(now, due, request.clock)
        warn = getattr(request, warn_field(target))
        met = getattr(request, MET_FIELD[target])
        rows.append(TargetState(target, str(SlaTarget(target).label), due, warn, met, state, left))
    return rows


# ---------------------------------------------------------------------------------------------- the sweep


def _link(pk: int) -> str:
    return f"/service/requests/{pk}/"


def _local_date(moment: dt.datetime | None, now: dt.datetime) -> dt.date:
    return timezone.localdate(moment or now)


def _task(row: dict, *, assignee_id: int, title: str, due: dt.datetime | None, now, source: str) -> Task:
    return Task(
        title=title[:200],
        detail=row["title"][:500],
        customer_id=row["customer_id"],
        account_id=row["account_id"],
        assignee_id=assignee_id,
        due_date=_local_date(due, now),
        source=source,
        link=_link(row["pk"]),
    )


def _event(row: dict, kind: str, now, body: str, **data) -> RequestEvent:
    return RequestEvent(request_id=row["pk"], kind=kind, at=now, internal=True, body=body, data=data)


def _update_flag(ids: list[int], **values) -> None:
    for start in range(0, len(ids), BATCH):
        ServiceRequest.objects.filter(pk__in=ids[start : start + BATCH]).update(**values)


def _supervisors_by_path() -> list[tuple[str, int]]:
    """(org unit path, user id) of the active supervisors, longest path first."""
    rows = User.objects.filter(role=Role.SUPERVISOR, is_active=True, org_unit__isnull=False).values_list(
        "org_unit__path", "pk"
    )
    return sorted(rows, key=lambda row: -len(row[0]))


def nearest_supervisors(unit_path: str, supervisors: list[tuple[str, int]]) -> list[int]:
    """The supervisors of the nearest unit up the org path from ``unit_path`` (itself included)."""
    found: list[int] = []
    found_path = None
    for path, user_id in supervisors:
        if found_path is not None and path != found_path:
            break
        if unit_path.startswith(path):
            found_path = path
            found.append(user_id)
    return found


SWEEP_VALUES = (
    "pk",
    "number",
    "title",
    "customer_id",
    "customer__name",
    "account_id",
    "assignee_id",
    "team__lead_id",
    "customer__org_unit__path",
    "sla_policy__resolution_minutes",
    "escalation_level",
)


def _notice(row: dict, recipient_id: int, event: str, target: str, due: str, role=None) -> tuple:
    """A notification item (``notify_many``) of the sweep; labels stay lazy, rendered in the message language."""
    context = {
        "number": row["number"],
        "title": row["title"],
        "customer": row["customer__name"],
        "target": SlaTarget(target).label,
        "due": due,
    }
    if role is not None:
        context["role"] = role
    return (recipient_id, event, context, _link(row["pk"]))


def _due_text(moment: dt.datetime | None, zone: dt.tzinfo | None = None) -> str:
    """Local time for people; the sweep passes the zone (looked up once, not per row)."""
    if moment is None:
        return ""
    return moment.astimezone(zone or timezone.get_current_timezone()).strftime("%Y-%m-%d %H:%M")


def _open_running():
    return ServiceRequest.objects.filter(status__in=OPEN_STATUSES, paused_at__isnull=True)


@transaction.atomic
def sla_sweep(*, now: dt.datetime | None = None) -> dict:
    """Warn, record breaches and escalate, for all open requests not waiting for the customer.

    A fixed number of statements whatever the number of requests: per target one SELECT of the requests
    that cross the warning time or the due time, bulk INSERTs of the events and tasks and one UPDATE of
    the flags (in batches); then one pass for the second escalation level. Running it again at the same
    ``now`` finds nothing new (the flags and the escalation level say what was done).
    """
    now = now or timezone.now()
    events: list[RequestEvent] = []
    tasks: list[Task] = []
    notices: list[tuple] = []
    zone = timezone.get_current_timezone()
    summary = {"warned": 0, "breached": 0, "escalated_lead": 0, "escalated_supervisor": 0, "tasks": 0}
    supervisors: list[tuple[str, int]] | None = None
    # Requests breached in this sweep: pk -> (row, first target breached).
    newly_breached: dict[int, tuple[dict, str]] = {}

    for target in TARGETS:
        label = str(SlaTarget(target).label)
        pending = _open_running().filter(**{f"{MET_FIELD[target]}__isnull": True})
        # Warnings: 80 % of the target has run, not yet due (a target found already due is only breached).
        rows = list(
            pending.filter(
                **{f"{warn_field(target)}__lte": now, f"{due_field(target)}__gt": now, warned_field(target): False}
            ).values(*SWEEP_VALUES, due_at=F(due_field(target)))
        )
        for row in rows:
            due_text = _due_text(row["due_at"], zone)
            body = _("%(target)s is due at %(due)s.") % {"target": label, "due": due_text}
            events.append(
                _event(row, EventKind.SLA_WARNING, now, body, target=target, level=0, to_user=row["assignee_id"])
            )
            if row["assignee_id"]:
                title = _("SLA warning: %(number)s %(target)s due soon") % {"number": row["number"], "target": label}
                tasks.append(
                    _task(
                        row,
                        assignee_id=row["assignee_id"],
                        title=title,
                        due=row["due_at"],
                        now=now,
                        source="sla_warning",
                    )
                )
                notices.append(_notice(row, row["assignee_id"], NotificationEvent.SLA_WARNING, target, due_text))
        _update_flag([row["pk"] for row in rows], **{warned_field(target): True})
        summary["warned"] += len(rows)

        # Breaches.
        rows = list(
            pending.filter(**{f"{due_field(target)}__lte": now, breached_field(target): False}).values(
                *SWEEP_VALUES, due_at=F(due_field(target))
            )
        )
        for row in rows:
            body = _("%(target)s was due at %(due)s.") % {
                "target": label,
                "due": timezone.localtime(row["due_at"]).strftime("%Y-%m-%d %H:%M"),
            }
            events.append(
                _event(row, EventKind.SLA_BREACH, now, body, target=target, level=row["escalation_level"], to_user=None)
            )
            if row["escalation_level"] == 0 and row["pk"] not in newly_breached:
                newly_breached[row["pk"]] = (row, target)
        _update_flag([row["pk"] for row in rows], **{breached_field(target): True, warned_field(target): True})
        summary["breached"] += len(rows)

    # Level 1: the team lead of the request's team; without one, straight to level 2.
    by_delay: dict[int, list[int]] = defaultdict(list)
    to_supervisor: list[tuple[dict, str]] = []
    for row, target in newly_breached.values():
        lead = row["team__lead_id"]
        if lead is None:
            to_supervisor.append((row, target))
            continue
        label = str(SlaTarget(target).label)
        title = _("SLA breached: %(number)s %(target)s") % {"number": row["number"], "target": label}
        tasks.append(_task(row, assignee_id=lead, title=title, due=now, now=now, source="sla_escalation"))
        events.append(_event(row, EventKind.ESCALATION, now, title, target=target, level=1, to_user=lead))
        notices.append(
            _notice(row, lead, NotificationEvent.SLA_ESCALATION, target, _due_text(row["due_at"], zone), LEAD_ROLE)
        )
        resolution = row["sla_policy__resolution_minutes"] or 0
        by_delay[max(MIN_ESCALATION_MINUTES, resolution // 2)].append(row["pk"])
        summary["escalated_lead"] += 1
    for delay, ids in by_delay.items():
        _update_flag(ids, escalation_level=1, next_escalation_at=now + dt.timedelta(minutes=delay))

    # Level 2: still breached after the lead had the time, or no lead.
    due_rows = list(
        _open_running()
        .filter(escalation_level=1, next_escalation_at__lte=now)
        .values(
            *SWEEP_VALUES,
            *(breached_field(t) for t in TARGETS),
            *(due_field(t) for t in TARGETS),
        )
    )
    for row in due_rows:
        target = next((t for t in TARGETS if row[breached_field(t)]), SlaTarget.RESOLUTION)
        to_supervisor.append((row, target))
    if to_supervisor:
        supervisors = _supervisors_by_path()
    for row, target in to_supervisor:
        label = str(SlaTarget(target).label)
        title = _("SLA escalated: %(number)s %(target)s") % {"number": row["number"], "target": label}
        recipients = nearest_supervisors(row["customer__org_unit__path"] or "", supervisors or [])
        due_text = _due_text(row.get("due_at") or row.get(due_field(target)), zone)
        for user_id in recipients:
            tasks.append(_task(row, assignee_id=user_id, title=title, due=now, now=now, source="sla_escalation"))
            events.append(_event(row, EventKind.ESCALATION, now, title, target=target, level=2, to_user=user_id))
            notices.append(_notice(row, user_id, NotificationEvent.SLA_ESCALATION, target, due_text, SUPERVISOR_ROLE))
        if not recipients:
            events.append(_event(row, EventKind.ESCALATION, now, title, target=target, level=2, to_user=None))
        summary["escalated_supervisor"] += 1
    _update_flag([row["pk"] for row, _target in to_supervisor], escalation_level=2, next_escalation_at=None)

    RequestEvent.objects.bulk_create(events, batch_size=BATCH)
    Task.objects.bulk_create(tasks, batch_size=BATCH)
    # In-app, e-mail and SMS notices of the same warnings and escalations (sent after commit).
    summary["notifications"] = len(notify_many(notices))
    summary["tasks"] = len(tasks)
    summary["events"] = len(events)
    summary["now"] = now.isoformat()
    return summary
