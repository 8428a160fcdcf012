"""Writing power-quality events: staff entry and edits, a customer's report from the portal, and opening a
service request for an event (once: a second call returns the request already linked).

Staff who change master data (administrators, supervisors, account managers, field engineers) record and edit
events of the customers they see; a portal user reports events of the accounts of its own enterprise. The
severity is (re)computed on every save from ``classify.classify``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridkam.core.api_views import WRITER_ROLES
from gridkam.customers.models import Customer, ElectricityAccount
from gridkam.servicedesk.choices import Channel, Priority, RequestType
from gridkam.servicedesk.models import ServiceRequest
from gridkam.servicedesk.services import request_create
from gridkam.users.permissions import is_active_user

from .choices import MEASURED_KINDS, PqSource, SagCurve, Severity
from .classify import UNITS, classify
from .models import PowerQualityEvent

# Fields a form or the API sets; the rest is the services' own.
EDITABLE_FIELDS = (
    "account",
    "metering_point",
    "kind",
    "started_at",
    "duration_ms",
    "residual_pct",
    "value",
    "limit_value",
    "phases",
    "description",
    "production_stopped",
    "loss_yuan",
)


def sag_curve() -> str:
    curve = str(settings.GRIDKAM.get("PQ_SAG_CURVE", SagCurve.ITIC))
    return curve if curve in SagCurve.values else SagCurve.ITIC


def can_record(user, customer: Customer | None = None) -> bool:
    """Staff whose role changes master data, for a customer they see (any customer when none is given)."""
    if not is_active_user(user) or user.is_customer_user:
        return False
    if not (user.is_administrator or user.role in WRITER_ROLES):
        return False
    return customer is None or Customer.objects.visible_to(user).filter(pk=customer.pk).exists()


def can_report(user, account: ElectricityAccount) -> bool:
    """A portal user for an account of a customer it sees."""
    return (
        is_active_user(user)
        and user.is_customer_user
        and ElectricityAccount.objects.visible_to(user).filter(pk=account.pk).exists()
    )


def event_classify(event: PowerQualityEvent, *, curve: str | None = None) -> PowerQualityEvent:
    """Set the event's unit, severity, outside-tolerance flag and applied limit from its measurements."""
    result = classify(
        kind=event.kind,
        duration_ms=event.duration_ms,
        residual_pct=event.residual_pct,
        value=event.value,
        limit=event.limit_value,
        voltage_kv=event.account.voltage_kv if event.account_id else None,
        curve=curve or sag_curve(),
    )
    event.unit = UNITS.get(event.kind, "%" if event.kind not in MEASURED_KINDS else "")
    event.severity = result.severity
    event.outside_tolerance = result.outside
    event.applied_limit = result.limit
    return event


# No event starts before this local date: earlier starts are typing errors (and a start near year 1 overflows
# when converted to UTC). Clocks may run a little ahead of ours: a start up to FUTURE_TOLERANCE ahead is accepted.
EARLIEST_START = dt.date(2000, 1, 1)
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


def start_too_early() -> str:
    return _("The start cannot be before %(date)s.") % {"date": EARLIEST_START.isoformat()}


def start_in_future() -> str:
    return _("The start cannot be in the future.")


def start_error(started_at: dt.datetime | None, *, now: dt.datetime) -> str | None:
    """Why ``started_at`` cannot be an event's start (before EARLIEST_START, or in the future beyond
    FUTURE_TOLERANCE), else None. Used by the staff form, the portal report, the API and the CSV import."""
    if started_at is None:
        return None
    if started_at.date() < EARLIEST_START:
        return start_too_early()
    if started_at > now + FUTURE_TOLERANCE:
        return start_in_future()
    return None


def _validate(event: PowerQualityEvent, *, now: dt.datetime) -> None:
    errors: dict[str, list[str]] = {}
    start_problem = start_error(event.started_at, now=now)
    try:
        # full_clean would convert a start near year 1 to UTC and overflow: the start is checked here instead.
        exclude = ["natural_key", "severity", "applied_limit", "unit", "created_at"]
        event.full_clean(exclude=exclude + (["started_at"] if start_problem else []))
    except ValidationError as exc:
        errors = exc.message_dict
    if start_problem:
        errors.setdefault("started_at", []).append(start_problem)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def event_save(*, event: PowerQualityEvent, user, now: dt.datetime | None = None) -> PowerQualityEvent:
    """Record a new event entered by staff, or save an edited one (its source and import stay as they were)."""
    now = now or timezone.now()
    if event.account_id is None:
        raise ValidationError({"account": _("Choose the account.")})
    if not can_record(user, event.account.customer):
        raise PermissionError(_("You may not record power-quality events for this customer."))
    if event.pk is None:
        event.source = event.source or PqSource.STAFF
        event.reported_by = user
        event.created_at = now
    _validate(event, now=now)
    event_classify(event)
    event.save()
    return event


@transaction.atomic
def event_report(
    *,
    account: ElectricityAccount,
    kind: str,
    started_at: dt.datetime,
    user,
    duration_ms: int | None = None,
    phases: str = "",
    description: str = "",
    production_stopped: bool = False,
    loss_yuan: Decimal | None = None,
    open_request: bool = False,
    now: dt.datetime | None = None,
) -> PowerQualityEvent:
    """A portal user reports an event at one of its accounts; with ``open_request`` a power-quality service
    request is logged for it through the service desk (channel: portal) and linked."""
    now = now or timezone.now()
    if not can_report(user, account):
        raise PermissionError(_("You may not report events for this account."))
    event = PowerQualityEvent(
        account=account,
        kind=kind,
        started_at=started_at,
        duration_ms=duration_ms,
        phases=phases,
        description=description,
        production_stopped=production_stopped,
        loss_yuan=loss_yuan,
        source=PqSource.CUSTOMER,
        reported_by=user,
        created_at=now,
    )
    _validate(event, now=now)
    event_classify(event)
    event.save()
    if open_request:
        event_open_request(event=event, user=user, now=now)
    return event


def _request_title(event: PowerQualityEvent) -> str:
    local = timezone.localtime(event.started_at)
    return _("%(kind)s at %(account)s on %(start)s") % {
        "kind": event.get_kind_display(),
        "account": event.account.account_no,
        "start": local.strftime("%Y-%m-%d %H:%M"),
    }


def _request_description(event: PowerQualityEvent) -> str:
    lines = [event.description.strip()] if event.description.strip() else []
    if event.duration_ms is not None:
        lines.append(_("Duration: %(ms)s ms") % {"ms": event.duration_ms})
    if event.residual_pct is not None:
        lines.append(_("Residual voltage: %(pct)s %%") % {"pct": event.residual_pct})
    if event.value is not None:
        lines.append(_("Measured: %(value)s %(unit)s") % {"value": event.value, "unit": event.unit})
    if event.production_stopped:
        lines.append(_("Production stopped."))
    if event.loss_yuan is not None:
        lines.append(_("Estimated loss: %(yuan)s yuan") % {"yuan": event.loss_yuan})
    return "\n".join(lines)


def event_open_request(
    *, event: PowerQualityEvent, user, priority: str | None = None, now: dt.datetime | None = None
) -> tuple[ServiceRequest, bool]:
    """Open a power-quality service request for the event and link it; (request, created).

    Idempotent: an event has one request. The row is locked first, so two clicks at once log one request.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = PowerQualityEvent.objects.select_for_update().select_related("account__customer").get(pk=event.pk)
        if locked.service_request_id is not None:
            event.service_request = locked.service_request
            return locked.service_request, False
        customer = locked.account.customer
        if user.is_customer_user:
            if not can_report(user, locked.account):
                raise PermissionError(_("You may not report events for this account."))
            channel = Channel.PORTAL
        else:
            if not can_record(user, customer):
                raise PermissionError(_("You may not record power-quality events for this customer."))
            channel = Channel.MANAGER_LINE
        if priority is None:
            severe = locked.severity == Severity.SEVERE or locked.production_stopped
            priority = Priority.HIGH if severe else Priority.NORMAL
        request = request_create(
            customer=customer,
            account=locked.account,
            metering_point=locked.metering_point,
            request_type=RequestType.POWER_QUALITY,
            channel=channel,
            priority=priority,
            title=_request_title(locked)[:200],
            description=_request_description(locked),
            user=user,
            now=now,
        )
        PowerQualityEvent.objects.filter(pk=locked.pk).update(service_request=request)
        event.service_request = request
        return request, True
