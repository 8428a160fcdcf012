"""Writes of the outage part: the grid model and the supply import, outages from draft to finished, announcing them
(notices with the lead-time checks, sent to contacts and users), acknowledgements and follow-ups.

Lead times (the public service commitments; settings ``OUTAGE_PLANNED_LEAD_DAYS``, ``OUTAGE_IMPORTANT_LEAD_HOURS``):
a planned outage is announced at least 7 days before it starts, to everyone; before a temporary maintenance outage
important users are told at least 24 hours ahead; faults are told when they happen. An announcement later than that
needs a reason; it is recorded on the outage (``lead_breach``, ``late_reason``) and on each notice told late.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from gridkam.customers.choices import AssignmentRole, ImportanceClass
from gridkam.customers.importing import ImportFileError, read_rows
from gridkam.customers.models import AccountAssignment, Customer, ElectricityAccount
from gridkam.engagement.choices import NotificationEvent
from gridkam.engagement.notifications import notify_many
from gridkam.engagement.plans import can_tailor
from gridkam.users.choices import Role
from gridkam.users.models import User
from gridkam.users.permissions import is_active_user, manages_portfolios

from .bounds import year_in_range
from .choices import SUPPLY_ROLE_ALIASES, AckChannel, FollowUpKind, OutageKind, OutageStatus, SupplyRole
from .models import AccountSupply, Feeder, Outage, OutageNotice, Substation
from .selectors import affected_accounts, affected_customers, outage_feeder_ids

SUPPLY_COLUMNS = ("account_no", "feeder_code", "role")
NOTIFIED_ROLES = (AssignmentRole.MANAGER, AssignmentRole.BACKUP_MANAGER)


def planned_lead_days() -> int:
    return int(settings.GRIDKAM.get("OUTAGE_PLANNED_LEAD_DAYS", 7))


def important_lead_hours() -> int:
    return int(settings.GRIDKAM.get("OUTAGE_IMPORTANT_LEAD_HOURS", 24))


# --- Permissions ------------------------------------------------------------------------------------------------


def can_plan(user) -> bool:
    """Create, edit, announce, finish and cancel outages, keep feeders and import supplies: supervisors (of a unit)
    and administrators."""
    return manages_portfolios(user)


def can_follow_up(user, customer: Customer) -> bool:
    """Record a phone acknowledgement and a follow-up: the customer's account team, supervisors, administrators."""
    return can_tailor(user, customer)


def follow_up_customer_ids(user, customer_ids: Iterable[int]) -> set[int]:
    """Of ``customer_ids``, those whose notices the user may acknowledge by phone and follow up (``can_follow_up``
    for many customers in one query)."""
    ids = set(customer_ids)
    if not ids or not is_active_user(user) or user.is_customer_user:
        return set()
    if user.is_administrator:
        return ids
    rule = Q(assignments__user=user, assignments__end_date__isnull=True)
    if user.is_supervisor and user.org_unit_id:
        rule |= Q(org_unit__path__startswith=user.org_unit.path)
    return set(Customer.objects.filter(rule, pk__in=ids).values_list("pk", flat=True).distinct())


# --- Grid model -------------------------------------------------------------------------------------------------


@transaction.atomic
def substation_save(*, substation: Substation) -> Substation:
    substation.full_clean()
    substation.save()
    return substation


@transaction.atomic
def feeder_save(*, feeder: Feeder) -> Feeder:
    feeder.code = (feeder.code or "").strip()
    feeder.full_clean()
    feeder.save()
    return feeder


@transaction.atomic
def supply_save(*, supply: AccountSupply) -> AccountSupply:
    supply.full_clean()
    supply.save()
    return supply


@transaction.atomic
def supply_delete(*, supply: AccountSupply) -> None:
    supply.delete()


def _role(raw: str) -> str | None:
    text = raw.strip()
    if text.lower() in SupplyRole.values:
        return text.lower()
    return SUPPLY_ROLE_ALIASES.get(text)


@transaction.atomic
def supplies_import(*, data: bytes, user) -> dict[str, Any]:
    """Import account–feeder links from CSV or XLSX (columns ``account_no``, ``feeder_code``, ``role``: main/backup or
    主供/备供). All or nothing: every rejected row is reported with its line and reason and nothing is written.
    A link already there is updated (its role) or left unchanged, never repeated.

    Returns ``{"created", "updated", "unchanged", "rejected": [{"line", "errors": {column: [messages]}}]}``."""
    if not can_plan(user):
        raise PermissionError(_("Only supervisors and administrators import feeder links."))
    result: dict[str, Any] = {"created": 0, "updated": 0, "unchanged": 0, "rejected": []}
    try:
        rows = read_rows(data, SUPPLY_COLUMNS)
    except ImportFileError as exc:
        result["rejected"] = [exc.as_rejected()]
        return result
    account_nos = {r.values["account_no"] for r in rows}
    feeder_codes = {r.values["feeder_code"] for r in rows}
    accounts = {
        a.account_no: a
        for a in ElectricityAccount.objects.visible_to(user).filter(account_no__in=account_nos).only("pk", "account_no")
    }
    feeders = {f.code: f for f in Feeder.objects.visible_to(user).filter(code__in=feeder_codes).only("pk", "code")}
    existing = {
        (s.account_id, s.feeder_id): s
        for s in AccountSupply.objects.filter(
            account_id__in=[a.pk for a in accounts.values()], feeder_id__in=[f.pk for f in feeders.values()]
        )
    }
    seen: dict[tuple[int, int], int] = {}
    create: list[AccountSupply] = []
    update: list[AccountSupply] = []
    for row in rows:
        errors: dict[str, list[str]] = {}
        values = row.values
        if row.too_wide:
            errors.setdefault("row", []).append(_("The row has more cells than the header."))
        account = accounts.get(values["account_no"])
        if not values["account_no"]:
            errors["account_no"] = [_("Enter the account number.")]
        elif account is None:
            errors["account_no"] = [_("No account %(no)s among the accounts you see.") % {"no": values["account_no"]}]
        feeder = feeders.get(values["feeder_code"])
        if not values["feeder_code"]:
            errors["feeder_code"] = [_("Enter the feeder code.")]
        elif feeder is None:
            errors["feeder_code"] = [
                _("No feeder %(code)s among the feeders you see.") % {"code": values["feeder_code"]}
            ]
        role = _role(values["role"]) if values["role"] else SupplyRole.MAIN
        if role is None:
            errors["role"] = [_("Write main or backup (主供 or 备供).")]
        if account is not None and feeder is not None:
            key = (account.pk, feeder.pk)
            if key in seen:
                errors.setdefault("row", []).append(
                    _("Repeats line %(line)s (same account and feeder).") % {"line": seen[key]}
                )
            else:
                seen[key] = row.line
        if errors:
            result["rejected"].append({"line": row.line, "errors": errors})
            continue
        link = existing.get((account.pk, feeder.pk))
        if link is None:
            create.append(AccountSupply(account_id=account.pk, feeder_id=feeder.pk, role=role))
        elif link.role != role:
            link.role = role
            update.append(link)
        else:
            result["unchanged"] += 1
    if result["rejected"]:
        result["unchanged"] = 0
        return result
    AccountSupply.objects.bulk_create(create, batch_size=2000)
    AccountSupply.objects.bulk_update(update, ["role"], batch_size=2000)
    result["created"], result["updated"] = len(create), len(update)
    return result


# --- Outages ----------------------------------------------------------------------------------------------------


def next_number(now: dt.datetime) -> str:
    """The next free number of the (local) day: TD20260315-01."""
    prefix = "TD" + timezone.localtime(now).strftime("%Y%m%d") + "-"
    last = Outage.objects.filter(number__startswith=prefix).order_by("-number").values_list("number", flat=True).first()
    return f"{prefix}{(int(last[len(prefix) :]) + 1) if last else 1:02d}"


def _require_plan(user, outage: Outage | None = None) -> None:
    if not can_plan(user):
        raise PermissionError(_("Only supervisors and administrators plan and announce outages."))


@transaction.atomic
def outage_save(*, outage: Outage, feeders: Iterable[Feeder], user, now: dt.datetime | None = None) -> Outage:
    """Create or change an outage (draft or announced: a changed window is sent by announcing again). The feeders
    must be ones the user sees."""
    _require_plan(user)
    now = now or timezone.now()
    feeders = list(feeders)
    errors: dict[str, Any] = _year_errors(outage, ("planned_start", "planned_end"))
    if errors:  # out-of-range times would overflow in the checks below
        raise ValidationError(errors)
    if outage.pk:
        stored = Outage.objects.filter(pk=outage.pk).values("status", "kind", "announced_at").first()
        if stored is None or stored["status"] not in (OutageStatus.DRAFT, OutageStatus.ANNOUNCED):
            raise ValidationError(_("A started, finished or cancelled outage cannot be changed."))
        if stored["announced_at"] is not None and outage.kind != stored["kind"]:
            # The notices went out, and their lead times were checked, for the announced kind.
            errors["kind"] = _(
                "The kind of an announced outage cannot be changed. Cancel it and create a new outage instead."
            )
    if not feeders:
        errors["feeders"] = _("Choose at least one feeder.")
    else:
        visible = set(
            Feeder.objects.visible_to(user).filter(pk__in=[f.pk for f in feeders]).values_list("pk", flat=True)
        )
        if any(f.pk not in visible for f in feeders):
            errors["feeders"] = _("Choose feeders of your unit.")
    if outage.kind not in OutageKind.values:
        errors["kind"] = _("Choose the kind of outage.")
    if not (outage.reason or "").strip():
        errors["reason"] = _("Give the reason.")
    if not outage.pk:
        outage.number = next_number(now)
        outage.created_by = user
        outage.status = OutageStatus.DRAFT
    try:
        outage.full_clean(exclude=["feeders", "created_by"])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, messages)
    if errors:
        raise ValidationError(errors)
    outage.reason = outage.reason.strip()
    for attempt in range(5):
        try:
            with transaction.atomic():
                outage.save()
            break
        except IntegrityError:
            if attempt == 4:
                raise
            outage.number = next_number(now)
    outage.feeders.set(feeders)
    return outage


def _year_errors(obj, names: Iterable[str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name in names:
        try:
            year_in_range(getattr(obj, name))
        except ValidationError as exc:
            errors[name] = exc.messages
    return errors


def lead_time_late(*, kind: str, start: dt.datetime, now: dt.datetime, important: bool) -> bool:
    """Whether telling a customer ``now`` about an outage starting at ``start`` breaks the commitments: planned
    outages ≥ 7 days ahead (everyone); temporary maintenance ≥ 24 h ahead (important users); faults none."""
    if kind == OutageKind.PLANNED:
        return start - now < dt.timedelta(days=planned_lead_days())
    if kind == OutageKind.MAINTENANCE and important:
        return start - now < dt.timedelta(hours=important_lead_hours())
    return False


def _recipients(customer_ids: list[int]) -> dict[int, set[int]]:
    """The users told in the app, per customer: its portal users (and those of the group it is granted to) and its
    current account managers. Two queries."""
    from gridkam.users.models import PortalScope

    told: dict[int, set[int]] = {pk: set() for pk in customer_ids}
    for user_id, customer_id in User.objects.filter(
        role=Role.CUSTOMER_USER, is_active=True, customer_id__in=customer_ids
    ).values_list("pk", "customer_id"):
        told[customer_id].add(user_id)
    for user_id, customer_id in PortalScope.objects.filter(
        customer_id__in=customer_ids, user__is_active=True
    ).values_list("user_id", "customer_id"):
        told[customer_id].add(user_id)
    for user_id, customer_id in AccountAssignment.objects.filter(
        customer_id__in=customer_ids, end_date__isnull=True, role__in=NOTIFIED_ROLES
    ).values_list("user_id", "customer_id"):
        told[customer_id].add(user_id)
    return told


def notice_context(notice: OutageNotice, outage: Outage, *, cancelled: bool = False) -> dict[str, Any]:
    local = timezone.localtime
    return {
        "number": outage.number,
        "kind": str(outage.get_kind_display()),
        "customer": notice.customer.name,
        "start": local(notice.planned_start).strftime("%Y-%m-%d %H:%M"),
        "end": local(notice.planned_end).strftime("%Y-%m-%d %H:%M"),
        "accounts": "、".join(notice.account_nos),
        "scope": outage.scope,
        "reason": outage.reason,
        "updated": notice.version > 1,
        "backup": notice.backup_available,
        "cancelled": cancelled,
    }


@transaction.atomic
def outage_announce(*, outage: Outage, user, late_reason: str = "", now: dt.datetime | None = None) -> dict[str, int]:
    """Announce the outage (or announce it again): one notice per affected customer, sent to its contacts (e-mail,
    SMS, after commit) and in the app to its portal users and account managers.

    Announcing again sends only the notices that are new (a customer newly affected) or whose window changed (their
    ``version`` grows and the acknowledgement is asked for again); unchanged notices are not repeated. A notice told
    later than the commitments needs ``late_reason``; the breach is recorded.

    A customer told before whose feeders are no longer in the outage is told it is not affected any more (the
    cancellation message) and its notice is withdrawn: it no longer waits for acknowledgement and is not counted.
    Should it be affected again, its notice comes back as a new version.

    Returns ``{"notices", "created", "updated", "unchanged", "late", "withdrawn"}`` (``notices``: the live ones)."""
    _require_plan(user)
    now = now or timezone.now()
    outage = Outage.objects.select_for_update().get(pk=outage.pk)
    if outage.status not in (OutageStatus.DRAFT, OutageStatus.ANNOUNCED):
        raise ValidationError(_("Only a draft or announced outage can be announced."))
    if outage.kind != OutageKind.FAULT and outage.planned_start <= now:
        raise ValidationError({"planned_start": _("The outage has started already; record its actual times instead.")})
    feeder_ids = outage_feeder_ids(outage)
    groups = affected_customers(affected_accounts(feeder_ids=feeder_ids))
    existing = {n.customer_id: n for n in OutageNotice.objects.filter(outage=outage)}
    late_reason = (late_reason or "").strip()
    to_send: list[OutageNotice] = []
    created = updated = unchanged = late_count = 0
    for group in groups:
        customer = group.customer
        notice = existing.get(customer.pk)
        changed = (
            notice is None
            or notice.withdrawn_at is not None
            or (notice.planned_start, notice.planned_end) != (outage.planned_start, outage.planned_end)
        )
        if not changed:
            unchanged += 1
            continue
        late = lead_time_late(
            kind=outage.kind,
            start=outage.planned_start,
            now=now,
            important=customer.importance_class != ImportanceClass.NONE,
        )
        late_count += late
        account_nos = [a.account.account_no for a in group.accounts]
        if notice is None:
            notice = OutageNotice(outage=outage, customer=customer, first_sent_at=now, version=1)
            created += 1
        else:
            notice.version += 1
            notice.acknowledged_at = None
            notice.acknowledged_by = None
            notice.ack_channel = ""
            notice.ack_person = ""
            notice.withdrawn_at = None
            updated += 1
        notice.importance_class = customer.importance_class
        notice.tier = customer.tier
        notice.account_nos = account_nos
        notice.backup_available = group.backup_available
        notice.planned_start = outage.planned_start
        notice.planned_end = outage.planned_end
        notice.sent_at = now
        notice.late = late
        notice.deliveries = []
        to_send.append(notice)
    if late_count and not late_reason:
        raise ValidationError(
            {
                "late_reason": ngettext(
                    "%(n)s customer would be told later than the commitment (%(days)s days ahead for planned "
                    "outages, %(hours)s hours ahead for important users before temporary maintenance). Give the "
                    "reason to announce it anyway.",
                    "%(n)s customers would be told later than the commitment (%(days)s days ahead for planned "
                    "outages, %(hours)s hours ahead for important users before temporary maintenance). Give the "
                    "reason to announce it anyway.",
                    late_count,
                )
                % {"n": late_count, "days": planned_lead_days(), "hours": important_lead_hours()}
            }
        )
    affected_ids = {group.customer.pk for group in groups}
    dropped = [n for n in existing.values() if n.customer_id not in affected_ids and n.withdrawn_at is None]
    for notice in dropped:
        notice.withdrawn_at = now
    new = [n for n in to_send if n.pk is None]
    old = [n for n in to_send if n.pk is not None]
    OutageNotice.objects.bulk_create(new, batch_size=500)
    OutageNotice.objects.bulk_update(
        old,
        [
            "version",
            "acknowledged_at",
            "acknowledged_by",
            "ack_channel",
            "ack_person",
            "importance_class",
            "tier",
            "account_nos",
            "backup_available",
            "planned_start",
            "planned_end",
            "sent_at",
            "late",
            "deliveries",
            "withdrawn_at",
        ],
        batch_size=500,
    )
    OutageNotice.objects.bulk_update(dropped, ["withdrawn_at"], batch_size=500)
    fields = ["status", "announced_at", "announced_by"]
    outage.status = OutageStatus.ANNOUNCED
    outage.announced_at = now
    outage.announced_by = user
    if late_count:
        outage.lead_breach = True
        outage.late_reason = late_reason[:300]
        fields += ["lead_breach", "late_reason"]
    outage.save(update_fields=fields)
    if new and new[0].pk is None:  # backends that do not return ids from bulk inserts
        ids = dict(OutageNotice.objects.filter(outage=outage).values_list("customer_id", "pk"))
        for notice in new:
            notice.pk = ids[notice.customer_id]
    _tell(to_send, outage, actor=user)
    _tell(dropped, outage, actor=user, cancelled=True)
    return {
        "notices": len(groups),
        "created": created,
        "updated": updated,
        "unchanged": unchanged,
        "late": late_count,
        "withdrawn": len(dropped),
    }


def _tell(notices: list[OutageNotice], outage: Outage, *, actor, cancelled: bool = False) -> None:
    """In the app now (delivered after commit by the notification machinery); contacts after commit."""
    if not notices:
        return
    recipients = _recipients([n.customer_id for n in notices])
    staff = set(
        AccountAssignment.objects.filter(
            customer_id__in=[n.customer_id for n in notices], end_date__isnull=True
        ).values_list("user_id", flat=True)
    )
    portal = reverse("outages:portal_list")
    detail = reverse("outages:outage_detail", args=[outage.pk])
    with translation.override(settings.LANGUAGE_CODE):
        notify_many(
            (
                (user_id, NotificationEvent.OUTAGE_NOTICE, notice_context(notice, outage, cancelled=cancelled), link)
                for notice in notices
                for user_id in sorted(recipients[notice.customer_id])
                for link in [detail if user_id in staff else portal]
            ),
            actor=actor,
        )
    ids = [n.pk for n in notices]
    from .tasks import send_notices

    transaction.on_commit(lambda: send_notices.delay(ids, cancelled))


def notices_deliver(notice_ids: Iterable[int], *, cancelled: bool = False, now: dt.datetime | None = None) -> dict:
    """Send notices to their customers' contacts: e-mail over one connection of Django's mail backend, SMS through
    the configured backend in one batch. Each notice records where it went (``deliveries``). One failure does not
    stop the others. Returns ``{"email", "sms", "failed"}``."""
    from django.core.mail import EmailMessage, get_connection

    from gridkam.customers.models import Contact
    from gridkam.engagement.notifications import render_message
    from gridkam.engagement.sms import SmsMessage, sms_backend

    now = now or timezone.now()
    notices = list(OutageNotice.objects.filter(pk__in=list(notice_ids)).select_related("outage", "customer"))
    contacts: dict[int, list] = {}
    for contact in Contact.objects.filter(customer_id__in={n.customer_id for n in notices}).order_by("role", "name"):
        contacts.setdefault(contact.customer_id, []).append(contact)
    counts = {"email": 0, "sms": 0, "failed": 0}
    at = now.isoformat()
    sms: list[tuple[OutageNotice, Any]] = []
    connection = get_connection(fail_silently=False)
    with translation.override(settings.LANGUAGE_CODE):
        for notice in notices:
            title, text = render_message(
                NotificationEvent.OUTAGE_NOTICE, notice_context(notice, notice.outage, cancelled=cancelled)
            )
            notice.deliveries = []
            for contact in contacts.get(notice.customer_id, []):
                if contact.email:
                    entry = {"channel": "email", "name": contact.name, "address": contact.email, "at": at}
                    try:
                        EmailMessage(subject=title, body=text, to=[contact.email], connection=connection).send()
                        entry.update(ok=True, error="")
                        counts["email"] += 1
                    except Exception as exc:  # one address failing must not stop the others
                        entry.update(ok=False, error=str(exc)[:200])
                        counts["failed"] += 1
                    notice.deliveries.append(entry)
                if contact.phone:
                    sms.append((notice, contact, SmsMessage(phone=contact.phone, text=title)))
    if sms:
        try:
            results = list(sms_backend().send_messages([m for _n, _c, m in sms]))
        except Exception as exc:  # the gateway failed the batch: every message records it
            results = [(False, str(exc)[:200])] * len(sms)
        for (notice, contact, message), (ok, error) in zip(sms, results, strict=False):
            notice.deliveries.append(
                {"channel": "sms", "name": contact.name, "address": message.phone, "at": at, "ok": ok, "error": error}
            )
            counts["sms" if ok else "failed"] += 1
    OutageNotice.objects.bulk_update(notices, ["deliveries"], batch_size=500)
    return counts


@transaction.atomic
def outage_record_actual(
    *, outage: Outage, actual_start: dt.datetime, actual_end: dt.datetime | None = None, user
) -> Outage:
    """Record when the supply actually went off (in progress) and came back (finished; the duration computed)."""
    _require_plan(user)
    if outage.status == OutageStatus.CANCELLED:
        raise ValidationError(_("The outage was cancelled."))
    errors = _year_errors(
        SimpleNamespace(actual_start=actual_start, actual_end=actual_end), ("actual_start", "actual_end")
    )
    if errors:  # out-of-range times would overflow in the comparisons below
        raise ValidationError(errors)
    if actual_start is None:
        errors["actual_start"] = _("Enter when the supply went off.")
    elif actual_start > timezone.now():
        errors["actual_start"] = _("The actual start cannot be in the future.")
    if actual_end is not None:
        if actual_start is not None and actual_end <= actual_start:
            errors["actual_end"] = _("The actual end must be after the actual start.")
        elif actual_end > timezone.now():
            errors["actual_end"] = _("The actual end cannot be in the future.")
    if errors:
        raise ValidationError(errors)
    outage.actual_start = actual_start
    outage.actual_end = actual_end
    if actual_end is not None:
        outage.status = OutageStatus.FINISHED
        outage.duration_minutes = round((actual_end - actual_start).total_seconds() / 60)
    else:
        outage.status = OutageStatus.IN_PROGRESS
        outage.duration_minutes = None
    outage.save(update_fields=["actual_start", "actual_end", "status", "duration_minutes"])
    return outage


@transaction.atomic
def outage_cancel(*, outage: Outage, reason: str, user) -> Outage:
    """Cancel a draft or announced outage; customers already told (and not withdrawn) are told it is cancelled."""
    _require_plan(user)
    if outage.status not in (OutageStatus.DRAFT, OutageStatus.ANNOUNCED):
        raise ValidationError(_("Only a draft or announced outage can be cancelled."))
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Give the reason.")})
    outage.status = OutageStatus.CANCELLED
    outage.cancel_reason = reason.strip()[:300]
    outage.save(update_fields=["status", "cancel_reason"])
    notices = list(OutageNotice.objects.filter(outage=outage, withdrawn_at__isnull=True).select_related("customer"))
    _tell(notices, outage, actor=user, cancelled=True)
    return outage


# --- Acknowledgements and follow-ups ----------------------------------------------------------------------------


class NoticeClosedError(ValidationError):
    """The notice cannot be acknowledged any more (its outage was cancelled or is over, or it was withdrawn)."""


def notice_closed_reason(notice: OutageNotice) -> str | None:
    """Why the notice can no longer be acknowledged, or None when it can."""
    if notice.withdrawn_at is not None:
        return _("The outage no longer affects this customer: there is nothing to acknowledge.")
    if notice.outage.status == OutageStatus.CANCELLED:
        return _("The outage was cancelled: there is nothing to acknowledge.")
    if notice.outage.status == OutageStatus.FINISHED:
        return _("The outage is over: there is nothing to acknowledge.")
    return None


@transaction.atomic
def notice_acknowledge(*, notice: OutageNotice, user, person: str = "", now: dt.datetime | None = None) -> OutageNotice:
    """The customer acknowledges the notice's current version: a portal user in the portal, or staff recording a
    phone call (``person``: who confirmed at the customer). Acknowledging again changes nothing. A notice of a
    cancelled or finished outage, or a withdrawn one, is refused (``NoticeClosedError``)."""
    now = now or timezone.now()
    if not is_active_user(user):
        raise PermissionError(_("Sign in first."))
    if user.is_customer_user:
        if not Customer.objects.visible_to(user).filter(pk=notice.customer_id).exists():
            raise PermissionError(_("This notice is not for your enterprise."))
        channel = AckChannel.PORTAL
    else:
        if not can_follow_up(user, notice.customer):
            raise PermissionError(_("Only the customer's account team and supervisors record acknowledgements."))
        if not (person or "").strip():
            raise ValidationError({"person": _("Who confirmed on the phone?")})
        channel = AckChannel.PHONE
    notice = OutageNotice.objects.select_for_update().get(pk=notice.pk)
    notice.outage = Outage.objects.select_for_update().get(pk=notice.outage_id)
    reason = notice_closed_reason(notice)
    if reason:
        raise NoticeClosedError(reason, code="closed")
    if notice.acknowledged_at is not None:
        return notice
    notice.acknowledged_at = now
    notice.acknowledged_by = user
    notice.ack_channel = channel
    notice.ack_person = (person or "").strip()[:100] if channel == AckChannel.PHONE else str(user)[:100]
    notice.save(update_fields=["acknowledged_at", "acknowledged_by", "ack_channel", "ack_person"])
    return notice


@transaction.atomic
def notice_follow_up(
    *,
    notice: OutageNotice,
    kind: str,
    description: str,
    user,
    visited_on: dt.date | None = None,
    now: dt.datetime | None = None,
) -> OutageNotice:
    """The customer was hurt by the outage: flag the notice and open a follow-up, a service request (routed to the
    account team, high priority for important users) or a recorded visit, linked to the notice. Once per notice."""
    from gridkam.engagement.visits import visit_record
    from gridkam.servicedesk.choices import Channel, Priority, RequestType
    from gridkam.servicedesk.services import request_create

    now = now or timezone.now()
    if not can_follow_up(user, notice.customer):
        raise PermissionError(_("Only the customer's account team and supervisors record follow-ups."))
    notice = OutageNotice.objects.select_for_update().select_related("outage", "customer").get(pk=notice.pk)
    errors = {}
    if notice.outage.actual_start is None:
        errors["kind"] = _("Record the outage's actual start first.")
    elif notice.has_follow_up:
        errors["kind"] = _("This notice has a follow-up already.")
    if kind not in FollowUpKind.values:
        errors["kind"] = _("Choose a service request or a visit.")
    if not (description or "").strip():
        errors["description"] = _("Describe how the customer was hurt.")
    if kind == FollowUpKind.VISIT and visited_on is None:
        errors["visited_on"] = _("Enter the date of the visit.")
    if errors:
        raise ValidationError(errors)
    description = description.strip()
    title = _("Follow-up of outage %(number)s") % {"number": notice.outage.number}
    if kind == FollowUpKind.REQUEST:
        notice.follow_up_request = request_create(
            customer=notice.customer,
            request_type=RequestType.REPAIR,
            channel=Channel.MANAGER_LINE,
            priority=Priority.HIGH if notice.important else Priority.NORMAL,
            title=title,
            description=description,
            user=user,
            now=now,
        )
    else:
        notice.follow_up_visit = visit_record(
            customer=notice.customer,
            visited_on=visited_on,
            user=user,
            purpose=title[:200],
            findings=description,
            today=timezone.localdate(now),
        )
    notice.hurt = True
    notice.hurt_note = description
    notice.save(update_fields=["hurt", "hurt_note", "follow_up_request", "follow_up_visit"])
    return notice
