"""Writes of the inspections part: the plan rules, recording an inspection (checklist, photos, dangers raised from
failed items), the danger's lifecycle (notice delivered, rectifying, waiting for re-inspection, re-inspected:
closed or a new deadline) and the daily escalation of overdue dangers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from gridkam.core.workdays import next_working_day
from gridkam.customers.choices import AssignmentRole, ImportanceClass, Tier
from gridkam.customers.models import AccountAssignment, Customer
from gridkam.engagement.choices import NotificationEvent
from gridkam.engagement.notifications import notify_many
from gridkam.servicedesk.services import sniff_content_type
from gridkam.users.choices import Role

from .choices import (
    DANGER_STEPS,
    REINSPECTABLE,
    ChecklistItem,
    CheckResult,
    DangerEventKind,
    DangerStatus,
    EscalationLevel,
    InspectionKind,
    LegalBasis,
    Severity,
)
from .models import DangerEvent, HiddenDanger, Inspection, InspectionInterval, InspectionItem, InspectionPhoto

RECORDER_ROLES = (Role.FIELD_ENGINEER, Role.ACCOUNT_MANAGER, Role.SUPERVISOR)
PHOTO_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")

# The legal basis a danger found at each checklist item usually cites, as a paraphrase of the rule (the default of a
# danger raised from the item; the API takes another basis and the exact article of the province's practice).
ITEM_BASIS: dict[str, tuple[str, str]] = {
    ChecklistItem.PROTECTION: (
        LegalBasis.SUPPLY_REGULATIONS,
        "《电力供应与使用条例》：用户受电工程的设计、施工和受电设施的运行维护应当符合国家和电力行业标准。",
    ),
    ChecklistItem.EARTHING: (
        LegalBasis.BUSINESS_RULES,
        "《供电营业规则》：用户应加强对受电设施的运行维护，确保安全运行。",
    ),
    ChecklistItem.EMERGENCY_POWER: (
        LegalBasis.GBT_29328,
        "GB/T 29328-2018：重要电力用户均应配置自备应急电源，容量不应小于保安负荷的120%。",
    ),
    ChecklistItem.GENERATOR_INTERLOCK: (
        LegalBasis.BUSINESS_RULES,
        "《供电营业规则》：用户自备电源应装设可靠的闭锁装置，不得向电网倒送电。",
    ),
    ChecklistItem.ELECTRICIANS: (
        LegalBasis.SUPPLY_REGULATIONS,
        "《电力供应与使用条例》：用户的受电设施须由持证电工运行维护。",
    ),
    ChecklistItem.EQUIPMENT_TESTS: (
        LegalBasis.BUSINESS_RULES,
        "《供电营业规则》：用户受电设施应按规定进行预防性试验。",
    ),
    ChecklistItem.REACTIVE_COMPENSATION: (
        LegalBasis.BUSINESS_RULES,
        "《供电营业规则》：用户应装设无功补偿设备，功率因数应达到规定标准。",
    ),
    ChecklistItem.SAFETY_TOOLS: (
        LegalBasis.ELECTRICITY_LAW,
        "《中华人民共和国电力法》：用户用电不得危害供电、用电安全和扰乱供电、用电秩序。",
    ),
}


def default_interval_months(tier: str, importance_class: str) -> int:
    """The seeded plan (docs/inspections.md): special-class important users every 3 months, first-class 6,
    second-class and temporary 6 for the special and first tiers else 12; other customers 6 for the special tier,
    else 12."""
    if importance_class == ImportanceClass.SPECIAL:
        return 3
    if importance_class == ImportanceClass.FIRST:
        return 6
    if importance_class in (ImportanceClass.SECOND, ImportanceClass.TEMPORARY):
        return 6 if tier in (Tier.SPECIAL, Tier.FIRST) else 12
    return 6 if tier == Tier.SPECIAL else 12


def deadline_days(severity: str) -> int:
    return int(settings.GRIDKAM["INSPECTION_DEADLINE_DAYS"][severity])


def default_deadline(severity: str, found_on: dt.date) -> dt.date:
    """The rectification deadline of a danger found on ``found_on``: the days of its severity, moved to the next
    working day when they end on a holiday or weekend (the customer's contractor does not work then)."""
    return next_working_day(found_on + dt.timedelta(days=deadline_days(severity)), inclusive=True)


def escalate_days() -> int:
    return int(settings.GRIDKAM["INSPECTION_ESCALATE_DAYS"])


def may_record(user) -> bool:
    """Who records inspections and works on dangers: field engineers, account managers, supervisors, admins."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and (user.is_administrator or user.role in RECORDER_ROLES)
    )


def may_edit_rules(user) -> bool:
    return bool(user is not None and user.is_authenticated and (user.is_administrator or user.is_supervisor))


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(_("You may not do this."))


# --- Plan rules ---------------------------------------------------------------------------------------------------


@transaction.atomic
def intervals_save(*, values: Mapping[tuple[str, str], int], user) -> int:
    """Set the months of (tier, importance class) rules; returns how many changed. ValidationError on ``months``."""
    _require(may_edit_rules(user))
    errors = [f"{tier}/{cls}" for (tier, cls), months in values.items() if not 1 <= int(months) <= 60]
    if errors:
        raise ValidationError({"interval_months": _("An interval is 1 to 60 months.")})
    unknown = [key for key in values if key[0] not in Tier.values or key[1] not in ImportanceClass.values]
    if unknown:
        raise ValidationError({"interval_months": _("Unknown tier or importance class.")})
    rows = {(r.tier, r.importance_class): r for r in InspectionInterval.objects.select_for_update()}
    changed, created = [], []
    for key, months in values.items():
        row = rows.get(key)
        if row is None:
            created.append(
                InspectionInterval(tier=key[0], importance_class=key[1], interval_months=int(months), updated_by=user)
            )
        elif row.interval_months != int(months):
            row.interval_months = int(months)
            row.updated_by = user
            row.updated_at = timezone.now()
            changed.append(row)
    InspectionInterval.objects.bulk_update(changed, ["interval_months", "updated_by", "updated_at"])
    InspectionInterval.objects.bulk_create(created)
    return len(changed) + len(created)


# --- Inspections -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DangerInput:
    """A danger to raise from a failed checklist item (or, with ``item`` blank, from the inspection as a whole)."""

    description: str
    severity: str
    item: str = ""
    legal_basis: str = ""
    legal_basis_text: str = ""
    requirement: str = ""
    deadline: dt.date | None = None


def photo_max_bytes() -> int:
    return int(settings.GRIDKAM["INSPECTION_PHOTO_MAX_MB"]) * 1024 * 1024


def photo_check(upload) -> str:
    """The photo's real content type; ValidationError on ``photos`` if too large, empty or not an image."""
    name = getattr(upload, "name", "") or "file"
    size = getattr(upload, "size", None) or 0
    if size > photo_max_bytes():
        raise ValidationError(
            {
                "photos": _("%(name)s is larger than %(max)s MB.")
                % {"name": name, "max": settings.GRIDKAM["INSPECTION_PHOTO_MAX_MB"]}
            }
        )
    if size == 0:
        raise ValidationError({"photos": _("%(name)s is empty.") % {"name": name}})
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    content_type = sniff_content_type(head)
    if content_type not in PHOTO_TYPES:
        raise ValidationError({"photos": _("%(name)s is not an image (JPEG, PNG, GIF, WebP).") % {"name": name}})
    return content_type


def _photos_save(inspection: Inspection, checked: Sequence[tuple[object, str]], *, user) -> None:
    for upload, content_type in checked:
        InspectionPhoto.objects.create(
            inspection=inspection,
            file=upload,
            name=(getattr(upload, "name", "") or "photo").rsplit("/", 1)[-1][:200],
            content_type=content_type,
            size=upload.size,
            uploaded_by=user,
        )


def _next_numbers(year: int, count: int) -> list[str]:
    prefix = f"YH{year}"
    last = HiddenDanger.objects.filter(number__startswith=prefix).aggregate(n=Max("number"))["n"]
    start = int(last[len(prefix) :]) + 1 if last else 1
    return [f"{prefix}{n:05d}" for n in range(start, start + count)]


def _check_date(date: dt.date | None, *, field: str = "date", today: dt.date) -> None:
    if date is None:
        raise ValidationError({field: _("Enter the date.")})
    if date > today:
        raise ValidationError({field: _("An inspection cannot be recorded ahead of its date.")})


def _danger_errors(dangers: Sequence[DangerInput], results: Mapping[str, str], date: dt.date) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for danger in dangers:
        key = f"danger_{danger.item}" if danger.item else "dangers"
        if danger.item and results.get(danger.item) != CheckResult.FAIL:
            errors.setdefault(key, []).append(_("A danger is raised from a failed item."))
        if danger.severity not in Severity.values:
            errors.setdefault(key, []).append(_("Choose the severity."))
        if not danger.description.strip():
            errors.setdefault(key, []).append(_("Describe the danger."))
        if danger.legal_basis and danger.legal_basis not in LegalBasis.values:
            errors.setdefault(key, []).append(_("Choose the legal basis."))
        if danger.deadline is not None and danger.deadline <= date:
            errors.setdefault(key, []).append(_("The deadline comes after the inspection."))
    return errors


@transaction.atomic
def inspection_record(
    *,
    customer: Customer,
    date: dt.date,
    kind: str,
    inspector,
    user,
    results: Mapping[str, tuple[str, str]],
    conclusion: str = "",
    dangers: Sequence[DangerInput] = (),
    photos: Iterable = (),
    today: dt.date | None = None,
) -> Inspection:
    """Record an inspection: its checklist ``results`` (item → (result, remark), every standard item once), its
    photos and the dangers raised from its failed items. All or nothing; ValidationError with field messages."""
    _require(may_record(user))
    today = today or timezone.localdate()
    _check_date(date, today=today)
    errors: dict[str, list[str]] = {}
    if kind not in (InspectionKind.PERIODIC, InspectionKind.SPECIAL):
        errors["kind"] = [_("Record a re-inspection from the danger it looks at.")]
    if inspector is None or not may_record(inspector):
        errors["inspector"] = [_("The inspector is a field engineer, account manager or supervisor.")]
    missing = [code for code in ChecklistItem.values if code not in results]
    if missing:
        errors["items"] = [_("Give a result for every checklist item.")]
    for code, (result, _remark) in results.items():
        if code not in ChecklistItem.values or result not in CheckResult.values:
            errors.setdefault("items", []).append(_("Unknown checklist item or result."))
            break
        if result == CheckResult.FAIL and not (_remark or "").strip():
            errors[f"remark_{code}"] = [_("Say what failed.")]
    flat = {code: value[0] for code, value in results.items()}
    errors.update(_danger_errors(dangers, flat, date))
    if errors:
        raise ValidationError(errors)
    checked = [(upload, photo_check(upload)) for upload in photos or ()]

    inspection = Inspection.objects.create(
        customer=customer, date=date, kind=kind, inspector=inspector, conclusion=conclusion.strip(), created_by=user
    )
    InspectionItem.objects.bulk_create(
        [
            InspectionItem(inspection=inspection, item=code, result=results[code][0], remark=results[code][1].strip())
            for code in ChecklistItem.values
        ]
    )
    _photos_save(inspection, checked, user=user)
    if dangers:
        _dangers_raise(inspection, dangers, user=user)
    return inspection


def _dangers_raise(inspection: Inspection, dangers: Sequence[DangerInput], *, user) -> list[HiddenDanger]:
    numbers = _next_numbers(inspection.date.year, len(dangers))
    rows = []
    for number, danger in zip(numbers, dangers, strict=True):
        basis, text = ITEM_BASIS.get(danger.item, (LegalBasis.OTHER, ""))
        rows.append(
            HiddenDanger(
                number=number,
                customer_id=inspection.customer_id,
                inspection=inspection,
                item=danger.item,
                description=danger.description.strip(),
                severity=danger.severity,
                legal_basis=danger.legal_basis or basis,
                legal_basis_text=(danger.legal_basis_text or "").strip() or (text if not danger.legal_basis else ""),
                requirement=danger.requirement.strip(),
                deadline=danger.deadline or default_deadline(danger.severity, inspection.date),
                raised_by=user,
            )
        )
    try:
        with transaction.atomic():
            created = HiddenDanger.objects.bulk_create(rows)
    except IntegrityError:
        # Another inspection took the same numbers meanwhile.
        raise ValidationError({"dangers": _("Someone else raised dangers at the same moment; save again.")}) from None
    if not all(d.pk for d in created):
        created = list(HiddenDanger.objects.filter(number__in=numbers).order_by("number"))
    DangerEvent.objects.bulk_create(
        [
            DangerEvent(danger=d, kind=DangerEventKind.RAISED, actor=user, status=d.status, deadline=d.deadline)
            for d in created
        ]
    )
    return created


# --- Danger lifecycle --------------------------------------------------------------------------------------------


def _locked(danger: HiddenDanger) -> HiddenDanger:
    return HiddenDanger.objects.select_for_update().get(pk=danger.pk)


@transaction.atomic
def danger_deliver_notice(
    *, danger: HiddenDanger, delivered_on: dt.date, signed_by: str, user, today: dt.date | None = None
) -> HiddenDanger:
    """Record that the rectification notice was delivered to the customer and signed for: the danger is notified."""
    _require(may_record(user))
    danger = _locked(danger)
    today = today or timezone.localdate()
    errors = {}
    if danger.status == DangerStatus.CLOSED:
        errors["delivered_on"] = [_("The danger is closed.")]
    if delivered_on is None or delivered_on > today:
        errors["delivered_on"] = [_("Enter the day the notice was delivered (not a future day).")]
    elif delivered_on < danger.inspection.date:
        errors["delivered_on"] = [_("The notice cannot be delivered before the inspection.")]
    if not (signed_by or "").strip():
        errors["signed_by"] = [_("Who signed for the notice?")]
    if errors:
        raise ValidationError(errors)
    danger.notice_delivered_on = delivered_on
    danger.notice_signed_by = signed_by.strip()[:100]
    if danger.status == DangerStatus.OPEN:
        danger.status = DangerStatus.NOTIFIED
    danger.save(update_fields=["notice_delivered_on", "notice_signed_by", "status"])
    DangerEvent.objects.create(
        danger=danger,
        kind=DangerEventKind.NOTICE_DELIVERED,
        actor=user,
        status=danger.status,
        note=_("Signed by %(name)s on %(day)s.") % {"name": danger.notice_signed_by, "day": delivered_on.isoformat()},
    )
    return danger


@transaction.atomic
def danger_advance(*, danger: HiddenDanger, to: str, user, note: str = "") -> HiddenDanger:
    """The customer rectifies (``rectifying``) or reports the danger rectified (``reinspection``)."""
    _require(may_record(user))
    danger = _locked(danger)
    if to not in DANGER_STEPS.get(danger.status, ()):
        raise ValidationError({"status": _("The danger cannot move to this status now.")})
    danger.status = to
    danger.save(update_fields=["status"])
    DangerEvent.objects.create(danger=danger, kind=DangerEventKind.STATUS, actor=user, status=to, note=note.strip())
    return danger


@transaction.atomic
def danger_reinspect(
    *,
    danger: HiddenDanger,
    user,
    date: dt.date,
    passed: bool,
    remark: str = "",
    new_deadline: dt.date | None = None,
    inspector=None,
    photos: Iterable = (),
    today: dt.date | None = None,
) -> Inspection:
    """Record the re-inspection of a danger: passed closes it; failed sets a new deadline (and the escalation
    starts again from it)."""
    _require(may_record(user))
    danger = _locked(danger)
    today = today or timezone.localdate()
    inspector = inspector or user
    _check_date(date, today=today)
    errors: dict[str, list[str]] = {}
    if danger.status not in REINSPECTABLE:
        errors["passed"] = [_("A danger is re-inspected once its notice was delivered, until it is closed.")]
    if date < danger.inspection.date:
        errors["date"] = [_("The re-inspection cannot be before the inspection that found the danger.")]
    if not passed:
        if new_deadline is None:
            errors["new_deadline"] = [_("A failed re-inspection sets a new deadline.")]
        elif new_deadline <= date:
            errors["new_deadline"] = [_("The new deadline comes after the re-inspection.")]
        if not remark.strip():
            errors["remark"] = [_("Say what is still wrong.")]
    if not may_record(inspector):
        errors["inspector"] = [_("The inspector is a field engineer, account manager or supervisor.")]
    if errors:
        raise ValidationError(errors)
    checked = [(upload, photo_check(upload)) for upload in photos or ()]
    inspection = Inspection.objects.create(
        customer_id=danger.customer_id,
        date=date,
        kind=InspectionKind.REINSPECTION,
        inspector=inspector,
        conclusion=remark.strip(),
        danger=danger,
        created_by=user,
    )
    _photos_save(inspection, checked, user=user)
    if passed:
        danger.status = DangerStatus.CLOSED
        danger.closed_on = date
        kind = DangerEventKind.REINSPECTED_PASSED
    else:
        danger.status = DangerStatus.RECTIFYING
        danger.deadline = new_deadline
        danger.escalation_level = EscalationLevel.NONE
        danger.escalated_on = None
        kind = DangerEventKind.REINSPECTED_FAILED
    danger.save(update_fields=["status", "closed_on", "deadline", "escalation_level", "escalated_on"])
    DangerEvent.objects.create(
        danger=danger,
        kind=kind,
        actor=user,
        status=danger.status,
        note=remark.strip(),
        deadline=None if passed else new_deadline,
    )
    return inspection


# --- Escalation --------------------------------------------------------------------------------------------------


# Closed dangers, and dangers the customer reported rectified (waiting for the utility's re-inspection).
NOT_ESCALATED = (DangerStatus.CLOSED, DangerStatus.REINSPECTION)


def target_level(danger: HiddenDanger, today: dt.date) -> int:
    """The escalation an overdue danger should have reached: the account manager on the first day past the deadline;
    the supervisors ``INSPECTION_ESCALATE_DAYS`` days after the manager was told (major dangers at once).

    A danger waiting for re-inspection is not escalated: the customer reported it rectified and the wait is the
    utility's, not the customer's."""
    if danger.status in NOT_ESCALATED or danger.deadline >= today:
        return EscalationLevel.NONE
    if danger.severity == Severity.MAJOR:
        return EscalationLevel.SUPERVISORS
    told = danger.escalated_on if danger.escalation_level >= EscalationLevel.MANAGER else today
    if (today - told).days >= escalate_days():
        return EscalationLevel.SUPERVISORS
    return EscalationLevel.MANAGER


def _supervisors_by_customer(customers: Sequence[Customer]) -> dict[int, list[int]]:
    """The supervisors of each customer's org unit: those of the nearest unit up the tree that has any."""
    from gridkam.users.models import User

    supervisors = list(
        User.objects.filter(role=Role.SUPERVISOR, is_active=True, org_unit__isnull=False).values_list(
            "pk", "org_unit__path"
        )
    )
    result: dict[int, list[int]] = {}
    for customer in customers:
        path = customer.org_unit.path
        matching = [(len(p), pk) for pk, p in supervisors if path.startswith(p)]
        deepest = max((length for length, _pk in matching), default=None)
        result[customer.pk] = [pk for length, pk in matching if length == deepest]
    return result


@transaction.atomic
def dangers_escalate(*, today: dt.date | None = None) -> dict[str, int]:
    """Escalate the overdue dangers one level or two (safe to run again: a level is told once).

    The level recorded is the one somebody was told at: without a current account manager the supervisors are told
    at once (level 2); when nobody can be told (no manager, no supervisors) the danger stays as it is and the next
    run tries again. Dangers waiting for re-inspection are left alone (see ``target_level``)."""
    today = today or timezone.localdate()
    dangers = list(
        HiddenDanger.objects.select_for_update(of=("self",))
        .overdue(today)
        .exclude(status__in=NOT_ESCALATED)
        .filter(escalation_level__lt=EscalationLevel.SUPERVISORS)
        .select_related("customer__org_unit")
        .order_by("pk")
    )
    moves = [(d, target_level(d, today)) for d in dangers]
    moves = [(d, level) for d, level in moves if level > d.escalation_level]
    if not moves:
        return {"manager": 0, "supervisors": 0}
    customer_ids = {d.customer_id for d, _level in moves}
    managers = dict(
        AccountAssignment.objects.filter(
            customer_id__in=customer_ids, role=AssignmentRole.MANAGER, end_date__isnull=True
        ).values_list("customer_id", "user_id")
    )
    supervisors = _supervisors_by_customer(list({d.customer_id: d.customer for d, _level in moves}.values()))
    items, events, moved = [], [], []
    counts = {"manager": 0, "supervisors": 0}
    for danger, level in moves:
        context = {
            "number": danger.number,
            "customer": danger.customer.name,
            # The lazy label: rendered in the notification's language, not in the language active here.
            "severity": Severity(danger.severity).label,
            "deadline": danger.deadline.isoformat(),
            "days": (today - danger.deadline).days,
            "description": danger.description[:200],
        }
        link = f"/inspections/dangers/{danger.pk}/"
        first = danger.escalation_level < EscalationLevel.MANAGER
        manager = managers.get(danger.customer_id) if first else None
        # Nobody to tell at level 1: straight to the supervisors.
        wants_supervisors = level == EscalationLevel.SUPERVISORS or (first and manager is None)
        told_supervisors = supervisors.get(danger.customer_id, []) if wants_supervisors else []
        if manager is not None:
            items.append((manager, NotificationEvent.DANGER_OVERDUE, context, link))
            counts["manager"] += 1
        if told_supervisors:
            items.extend((pk, NotificationEvent.DANGER_OVERDUE, context, link) for pk in told_supervisors)
            counts["supervisors"] += 1
            reached = EscalationLevel.SUPERVISORS
        elif manager is not None:
            reached = EscalationLevel.MANAGER
        else:
            continue
        # The day of the first escalation starts the wait for the supervisors; it is kept when they are told too.
        if first:
            danger.escalated_on = today
        danger.escalation_level = reached
        moved.append(danger)
        events.append(DangerEvent(danger=danger, kind=DangerEventKind.ESCALATED, status=danger.status, level=reached))
    if moved:
        HiddenDanger.objects.bulk_update(moved, ["escalation_level", "escalated_on"])
        DangerEvent.objects.bulk_create(events)
        notify_many(items)
    return counts
