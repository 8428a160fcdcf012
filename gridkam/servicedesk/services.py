"""Service requests: logging, routing, the state machine, replies, internal notes and attachments.

Every change is atomic and recorded as a ``RequestEvent`` (customer-visible or internal). The SLA fields
are set by ``gridkam.servicedesk.sla`` (``sla_apply`` when the request is logged, ``sla_resume`` when a pause
for the customer ends); this module keeps ``responded_at``, ``onsite_at``, ``resolved_at`` and the pauses.

State machine: new → assigned → in progress ⇄ waiting for the customer; in progress → resolved → closed;
resolved → in progress (not fixed after all); resolved or closed → reopened (in progress) until
``reopen_until`` (resolved/closed + GRIDKAM["REQUEST_REOPEN_DAYS"] days).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from gridkam.customers.choices import AssignmentRole
from gridkam.customers.models import AccountAssignment, Customer
from gridkam.engagement.choices import NotificationEvent
from gridkam.engagement.notifications import notify

from .choices import EventKind, RequestStatus, RequestType
from .models import RequestAttachment, RequestEvent, RequestPause, ServiceRequest
from .permissions import can_act, can_log, can_write_as_customer, is_staff_user, sees_customer

S = RequestStatus

# Plain status changes; reopening (from resolved or closed, within the window) is ``request_reopen``.
TRANSITIONS: dict[str, set[str]] = {
    S.NEW: {S.ASSIGNED},
    S.ASSIGNED: {S.IN_PROGRESS},
    S.IN_PROGRESS: {S.WAITING_CUSTOMER, S.RESOLVED},
    S.WAITING_CUSTOMER: {S.IN_PROGRESS},
    S.RESOLVED: {S.CLOSED, S.IN_PROGRESS},
    S.CLOSED: set(),
}
FIELD_TYPES = {RequestType.REPAIR, RequestType.POWER_QUALITY, RequestType.METERING}

# Accepted attachments: content type by the file's first bytes (not its name).
ATTACHMENT_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)


class RequestStateError(ValidationError):
    """A status change the state machine does not allow now."""


def reopen_days() -> int:
    return int(settings.GRIDKAM.get("REQUEST_REOPEN_DAYS", 7))


def attachment_max_bytes() -> int:
    return int(float(settings.GRIDKAM.get("REQUEST_ATTACHMENT_MAX_MB", 10)) * 1024 * 1024)


def allowed_transitions(request: ServiceRequest, *, now: dt.datetime | None = None) -> list[str]:
    """The statuses the request may move to now (reopen shown as in progress when the window is open)."""
    now = now or timezone.now()
    targets = set(TRANSITIONS[request.status])
    if request.status == S.NEW and request.assignee_id is None:
        targets.discard(S.ASSIGNED)
    if request.status == S.CLOSED and can_reopen(request, now=now):
        targets.add(S.IN_PROGRESS)
    return [status for status in S.values if status in targets]


# Sent inside the transaction that closes a request (``request``, ``now``): the surveys app asks the customer.
request_closed = Signal()
# Sent inside the transaction that rates a request (``request``, ``now``): its open surveys count as answered.
request_rated = Signal()

RATING_COMMENT_MAX = 1000


def can_rate(request: ServiceRequest) -> bool:
    """A resolved or closed request not rated yet: its customer may give it 1–5 once."""
    return request.status in (S.RESOLVED, S.CLOSED) and request.satisfaction is None


def can_reopen(request: ServiceRequest, *, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return request.status in (S.RESOLVED, S.CLOSED) and request.reopen_until is not None and now <= request.reopen_until


# --- helpers ------------------------------------------------------------------------------------------


def _sla(name: str):
    """A function of the SLA part, or None while it is not there."""
    try:
        from . import sla
    except ImportError:  # pragma: no cover - the SLA part ships in the same slice
        return None
    return getattr(sla, name, None)


def _event(request, kind, *, user, now, internal=True, body="", data=None) -> RequestEvent:
    return RequestEvent.objects.create(
        request=request, kind=kind, at=now, actor=user, internal=internal, body=body, data=data or {}
    )


def _require_act(request, user) -> None:
    if not can_act(user, request):
        raise PermissionError(_("You may not work on this request."))


def _user_label(user) -> str:
    return str(user) if user is not None else ""


def sniff_content_type(head: bytes) -> str | None:
    for signature, content_type in ATTACHMENT_SIGNATURES:
        if head.startswith(signature):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def attachment_check(upload) -> str:
    """The upload's real content type; ValidationError on ``attachments`` if too large or not an image/PDF."""
    name = getattr(upload, "name", "") or "file"
    size = getattr(upload, "size", None) or 0
    if size > attachment_max_bytes():
        raise ValidationError(
            {
                "attachments": _("%(name)s is larger than %(max)s MB.")
                % {"name": name, "max": settings.GRIDKAM.get("REQUEST_ATTACHMENT_MAX_MB", 10)}
            }
        )
    if size == 0:
        raise ValidationError({"attachments": _("%(name)s is empty.") % {"name": name}})
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    content_type = sniff_content_type(head)
    if content_type is None:
        raise ValidationError(
            {"attachments": _("%(name)s is not an image (JPEG, PNG, GIF, WebP) or a PDF.") % {"name": name}}
        )
    return content_type


def _attachments_check(attachments: Iterable) -> list[tuple[object, str]]:
    return [(upload, attachment_check(upload)) for upload in attachments or ()]


def _attachments_save(request, event, checked, *, user, internal: bool) -> list[RequestAttachment]:
    saved = []
    for upload, content_type in checked:
        name = (getattr(upload, "name", "") or "file").rsplit("/", 1)[-1][:200]
        saved.append(
            RequestAttachment.objects.create(
                request=request,
                event=event,
                file=upload,
                name=name,
                content_type=content_type,
                size=upload.size,
                internal=internal,
                uploaded_by=user,
            )
        )
    return saved


def _notify_holder(request, event: str, to_user, *, user, reason: str = "", previous=None) -> None:
    """Tell the new holder of the request (not when they did it themselves); sent after commit."""
    context = {
        "number": request.number,
        "title": request.title,
        "customer": request.customer.name,
        "by": _user_label(user),
        "reason": reason,
        "previous": _user_label(previous),
    }
    link = reverse("servicedesk:request_detail", args=[request.pk])
    notify(recipients=[to_user], event=event, context=context, link=link, actor=user)


def account_team(customer: Customer) -> dict[str, object]:
    """The customer's current account team: {role: user}."""
    rows = AccountAssignment.objects.filter(customer=customer, end_date__isnull=True).select_related("user")
    return {row.role: row.user for row in rows}


def route(customer: Customer, request_type: str):
    """(team, assignee) for a new request of the customer: the manager's team; the field engineer for
    field work (repair, power quality, metering) if the customer has one, else the manager."""
    team_members = account_team(customer)
    manager = team_members.get(AssignmentRole.MANAGER)
    engineer = team_members.get(AssignmentRole.FIELD_ENGINEER)
    team = manager.team if manager is not None and manager.team_id else None
    if request_type in FIELD_TYPES and engineer is not None and engineer.is_active:
        assignee = engineer
    elif manager is not None and manager.is_active:
        assignee = manager
    else:
        assignee = None
    return team, assignee


def next_number(now: dt.datetime) -> str:
    """The next free number of the (local) day: SR20260315-0001."""
    prefix = "SR" + timezone.localtime(now).strftime("%Y%m%d") + "-"
    last = (
        ServiceRequest.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    sequence = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


# --- logging ------------------------------------------------------------------------------------------


def request_create(
    *,
    customer: Customer,
    request_type: str,
    channel: str,
    priority: str,
    title: str,
    description: str = "",
    account=None,
    metering_point=None,
    user,
    now: dt.datetime | None = None,
    attachments: Iterable = (),
) -> ServiceRequest:
    """Log a request of the customer, route it to its account team and start its SLA clock."""
    now = now or timezone.now()
    if not can_log(user, customer):
        raise PermissionError(_("You may not log requests for this customer."))
    errors = {}
    if account is not None and account.customer_id != customer.pk:
        errors["account"] = _("The account does not belong to this customer.")
    if metering_point is not None:
        if account is None:
            account = metering_point.account
            if account.customer_id != customer.pk:
                errors["metering_point"] = _("The metering point does not belong to this customer.")
        elif metering_point.account_id != account.pk:
            errors["metering_point"] = _("The metering point does not belong to this account.")
    if not (title or "").strip():
        errors["title"] = _("Enter a title.")
    if errors:
        raise ValidationError(errors)
    checked = _attachments_check(attachments)
    team, assignee = route(customer, request_type)
    with transaction.atomic():
        for attempt in range(5):
            try:
                with transaction.atomic():
                    request = ServiceRequest.objects.create(
                        number=next_number(now),
                        customer=customer,
                        account=account,
                        metering_point=metering_point,
                        request_type=request_type,
                        channel=channel,
                        priority=priority,
                        title=title.strip(),
                        description=description,
                        status=S.ASSIGNED if assignee else S.NEW,
                        team=team,
                        assignee=assignee,
                        created_by=user,
                        created_at=now,
                    )
                break
            except IntegrityError:
                if attempt == 4:
                    raise
        if apply := _sla("sla_apply"):
            apply(request, now=now)
            request.save()
        created = _event(
            request, EventKind.CREATED, user=user, now=now, internal=False, body=description, data={"channel": channel}
        )
        _attachments_save(request, created, checked, user=user, internal=False)
        if assignee is not None:
            _event(
                request,
                EventKind.ASSIGNED,
                user=user,
                now=now,
                data={"to": assignee.pk, "to_name": _user_label(assignee), "routed": True},
            )
            _notify_holder(request, NotificationEvent.REQUEST_ASSIGNED, assignee, user=user)
    return request


# --- assignment ---------------------------------------------------------------------------------------


def _check_holder(request, to_user, field: str) -> None:
    if to_user is None or not is_staff_user(to_user) or not sees_customer(to_user, request.customer):
        raise ValidationError({field: _("Choose a staff member who serves this customer.")})


def request_assign(*, request: ServiceRequest, assignee, user, reason: str = "", now=None) -> ServiceRequest:
    """Give the request to a staff member who sees its customer (a new request becomes assigned)."""
    now = now or timezone.now()
    _require_act(request, user)
    _check_holder(request, assignee, "assignee")
    if not request.is_open:
        raise RequestStateError({"status": _("A resolved or closed request cannot be reassigned.")})
    with transaction.atomic():
        previous = request.assignee
        request.assignee = assignee
        if assignee.team_id and request.team_id is None:
            request.team_id = assignee.team_id
        if request.status == S.NEW:
            request.status = S.ASSIGNED
        request.save()
        _event(
            request,
            EventKind.ASSIGNED,
            user=user,
            now=now,
            body=reason,
            data={
                "from": previous.pk if previous else None,
                "from_name": _user_label(previous),
                "to": assignee.pk,
                "to_name": _user_label(assignee),
                "reason": reason,
            },
        )
        if previous is None or previous.pk != assignee.pk:
            _notify_holder(request, NotificationEvent.REQUEST_ASSIGNED, assignee, user=user, reason=reason)
    return request


def request_handover(*, request: ServiceRequest, to_user, user, reason: str, now=None) -> ServiceRequest:
    """Hand the request over to another person, with a reason (recorded with from and to)."""
    now = now or timezone.now()
    _require_act(request, user)
    errors = {}
    if not (reason or "").strip():
        errors["reason"] = _("Say why the request is handed over.")
    try:
        _check_holder(request, to_user, "to_user")
    except ValidationError as error:
        errors.update(error.message_dict)
    if not errors and to_user.pk == request.assignee_id:
        errors["to_user"] = _("The request is already with this person.")
    if errors:
        raise ValidationError(errors)
    if not request.is_open:
        raise RequestStateError({"status": _("A resolved or closed request cannot be handed over.")})
    with transaction.atomic():
        previous = request.assignee
        request.assignee = to_user
        if request.status == S.NEW:
            request.status = S.ASSIGNED
        request.save()
        _event(
            request,
            EventKind.HANDOVER,
            user=user,
            now=now,
            body=reason.strip(),
            data={
                "from": previous.pk if previous else None,
                "from_name": _user_label(previous),
                "to": to_user.pk,
                "to_name": _user_label(to_user),
                "reason": reason.strip(),
            },
        )
        _notify_holder(
            request, NotificationEvent.REQUEST_HANDOVER, to_user, user=user, reason=reason.strip(), previous=previous
        )
    return request


# --- state machine ------------------------------------------------------------------------------------


def _end_pause(request, now) -> None:
    RequestPause.objects.filter(request=request, ended_at__isnull=True).update(ended_at=now)
    request.paused_at = None


def request_status(
    *, request: ServiceRequest, status: str, user, note: str = "", now: dt.datetime | None = None
) -> ServiceRequest:
    """Move the request along the state machine (closed → in progress is a reopen, within its window)."""
    now = now or timezone.now()
    _require_act(request, user)
    if status not in S.values:
        raise RequestStateError({"status": _("Unknown status.")})
    if request.status == S.CLOSED and status == S.IN_PROGRESS:
        return request_reopen(request=request, user=user, reason=note, now=now)
    if status not in TRANSITIONS[request.status]:
        raise RequestStateError(
            {
                "status": _("A request cannot go from “%(from)s” to “%(to)s”.")
                % {"from": S(request.status).label, "to": S(status).label}
            }
        )
    if status == S.ASSIGNED and request.assignee_id is None:
        raise RequestStateError({"status": _("Assign the request to someone first.")})
    with transaction.atomic():
        previous = request.status
        resumed = False
        if previous == S.WAITING_CUSTOMER:
            _end_pause(request, now)
            resumed = True
        if status == S.WAITING_CUSTOMER:
            RequestPause.objects.create(request=request, started_at=now)
            request.paused_at = now
        if status == S.IN_PROGRESS and request.responded_at is None:
            request.responded_at = now
        if status == S.RESOLVED:
            request.resolved_at = now
            request.reopen_until = now + dt.timedelta(days=reopen_days())
        if status == S.CLOSED:
            request.closed_at = now
            request.reopen_until = now + dt.timedelta(days=reopen_days())
        if previous == S.RESOLVED and status == S.IN_PROGRESS:
            request.resolved_at = None
            request.reopen_until = None
        request.status = status
        if resumed and (resume := _sla("sla_resume")):
            resume(request, now=now)
        request.save()
        _event(
            request,
            EventKind.STATUS,
            user=user,
            now=now,
            internal=False,
            body=note,
            data={"from": previous, "to": status},
        )
        if status == S.CLOSED:
            request_closed.send(sender=ServiceRequest, request=request, now=now)
    return request


def request_rate(
    *, request: ServiceRequest, user, score: int, comment: str = "", now: dt.datetime | None = None
) -> ServiceRequest:
    """The customer's rating of a resolved or closed request (1–5 and a comment), once: the one satisfaction
    number that service metrics, health scores and surveys read. Only the customer's portal users rate."""
    now = now or timezone.now()
    if not getattr(user, "is_customer_user", False) or not user.is_active:
        raise PermissionError(_("Only the customer rates its requests."))
    if not ServiceRequest.objects.visible_to(user).filter(pk=request.pk).exists():
        raise PermissionError(_("You may not work on this request."))
    errors = {}
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        errors["score"] = _("Give a score from 1 to 5.")
    comment = (comment or "").strip()
    if len(comment) > RATING_COMMENT_MAX:
        errors["comment"] = _("Keep the comment under %(n)s characters.") % {"n": RATING_COMMENT_MAX}
    if errors:
        raise RequestStateError(errors)
    if request.status not in (S.RESOLVED, S.CLOSED):
        raise RequestStateError({"score": _("A request is rated once it is resolved.")})
    with transaction.atomic():
        # Conditional: a rating given meanwhile (another tab, a survey answered by link) is never overwritten.
        if not ServiceRequest.objects.filter(pk=request.pk, satisfaction__isnull=True).update(satisfaction=score):
            raise RequestStateError({"score": _("This request has been rated already.")})
        request.satisfaction = score
        _event(request, EventKind.RATED, user=user, now=now, internal=False, body=comment, data={"score": score})
        request_rated.send(sender=ServiceRequest, request=request, now=now, user=user)
    return request


def request_reopen(*, request: ServiceRequest, user, reason: str = "", now: dt.datetime | None = None):
    """Reopen a resolved or closed request (back in progress) while its reopen window lasts."""
    now = now or timezone.now()
    _require_act(request, user)
    if request.status not in (S.RESOLVED, S.CLOSED):
        raise RequestStateError({"status": _("Only a resolved or closed request can be reopened.")})
    if not can_reopen(request, now=now):
        raise RequestStateError({"status": _("The time to reopen this request has passed.")})
    with transaction.atomic():
        previous = request.status
        request.status = S.IN_PROGRESS
        request.resolved_at = None
        request.closed_at = None
        request.reopen_until = None
        request.save()
        _event(
            request,
            EventKind.REOPENED,
            user=user,
            now=now,
            internal=False,
            body=reason,
            data={"from": previous, "to": S.IN_PROGRESS},
        )
    return request


def request_onsite(*, request: ServiceRequest, user, at: dt.datetime | None = None, now=None) -> ServiceRequest:
    """Record the arrival on site (the on-site target of repairs)."""
    now = now or timezone.now()
    at = at or now
    _require_act(request, user)
    if not request.is_open:
        raise RequestStateError({"status": _("The request is no longer open.")})
    if request.onsite_at is not None:
        raise ValidationError({"at": _("The arrival on site is already recorded.")})
    if at > now + dt.timedelta(minutes=5):
        raise ValidationError({"at": _("The arrival cannot be in the future.")})
    if at < request.created_at:
        raise ValidationError({"at": _("The arrival cannot be before the request was logged.")})
    with transaction.atomic():
        request.onsite_at = at
        request.save()
        _event(request, EventKind.ONSITE, user=user, now=now, internal=False, data={"at": at.isoformat()})
    return request


# --- replies and notes --------------------------------------------------------------------------------


def _message(request, *, user, body, attachments, kind, internal, now):
    now = now or timezone.now()
    if kind == EventKind.CUSTOMER_REPLY:
        if not can_write_as_customer(user, request):
            raise PermissionError(_("You may not write on this request."))
    else:
        _require_act(request, user)
    if request.status == S.CLOSED:
        raise ValidationError({"body": _("The request is closed; reopen it to write on it.")})
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write the text.")})
    checked = _attachments_check(attachments)
    with transaction.atomic():
        if kind == EventKind.REPLY and request.responded_at is None:
            request.responded_at = now
            request.save()
        event = _event(request, kind, user=user, now=now, internal=internal, body=body)
        _attachments_save(request, event, checked, user=user, internal=internal)
    return event


def request_reply(*, request: ServiceRequest, user, body: str, attachments=(), now=None) -> RequestEvent:
    """A reply the customer sees (the first one meets the first-response target)."""
    return _message(
        request, user=user, body=body, attachments=attachments, kind=EventKind.REPLY, internal=False, now=now
    )


def request_note(*, request: ServiceRequest, user, body: str, attachments=(), now=None) -> RequestEvent:
    """An internal note: never shown to the customer."""
    return _message(request, user=user, body=body, attachments=attachments, kind=EventKind.NOTE, internal=True, now=now)


def request_customer_reply(*, request: ServiceRequest, user, body: str, attachments=(), now=None) -> RequestEvent:
    """The customer's own message on its request, from the portal (it is not a response of ours). A request waiting
    for the customer goes back in progress (its SLA clock runs again). The request's holder is told (its assignee;
    without one, the customer's account manager)."""
    now = now or timezone.now()
    with transaction.atomic():
        event = _message(
            request,
            user=user,
            body=body,
            attachments=attachments,
            kind=EventKind.CUSTOMER_REPLY,
            internal=False,
            now=now,
        )
        if request.status == S.WAITING_CUSTOMER:
            _end_pause(request, now)
            request.status = S.IN_PROGRESS
            if resume := _sla("sla_resume"):
                resume(request, now=now)
            request.save()
            data = {"from": S.WAITING_CUSTOMER, "to": S.IN_PROGRESS}
            _event(request, EventKind.STATUS, user=user, now=now, internal=False, data=data)
    holder = request.assignee or account_team(request.customer).get(AssignmentRole.MANAGER)
    if holder is not None:
        context = {
            "number": request.number,
            "title": request.title,
            "customer": request.customer.name,
            "by": _user_label(user),
            "excerpt": event.body[:120],
        }
        link = reverse("servicedesk:request_detail", args=[request.pk])
        event_kind = NotificationEvent.REQUEST_CUSTOMER_REPLY
        notify(recipients=[holder], event=event_kind, context=context, link=link, actor=user)
    return event
