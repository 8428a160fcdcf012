"""Writes of business expansion: create a project, move it through its stages in order, stop and restart the
clock for customer time, upload stage documents, cancel, and complete it at energisation — which changes the
account's master data through ``gridkam.customers.services`` like a manual edit, so its history records it.

Every write recomputes the project's working days (``project_refresh``); the daily task
(``expansion_alerts_check``) does the same for the days that pass and tells owners about warnings and breaches.
A stage (or the project) that ends after its due date needs a reason (``breach_reason``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from gridkam.core import workdays
from gridkam.customers.choices import AccountStatus, AssignmentRole, BasicChargeMethod, MeteringPurpose
from gridkam.customers.models import AccountAssignment, Customer, ElectricityAccount, MeteringPoint
from gridkam.customers.services import account_save, metering_point_save
from gridkam.engagement.choices import NotificationEvent
from gridkam.engagement.notifications import notify_many
from gridkam.servicedesk.services import attachment_check
from gridkam.users.permissions import is_active_user, manages_portfolios

from . import rules
from .choices import AlertLevel, ProjectKind, ProjectStatus, Stage
from .models import ClockStop, Project, ProjectAlert, ProjectStage, StageDocument, TimeLimit

K = ProjectKind


def warn_working_days() -> int:
    return int(settings.GRIDKAM.get("EXPANSION_WARN_WORKING_DAYS", 3))


def may_edit(user, project: Project) -> bool:
    return is_active_user(user) and Project.objects.editable_by(user).filter(pk=project.pk).exists()


def may_create(user) -> bool:
    return is_active_user(user) and Customer.objects.editable_by(user).exists()


def may_configure(user) -> bool:
    """Administrators and supervisors change the time limits."""
    return manages_portfolios(user)


def _require_edit(project: Project, user) -> None:
    if not may_edit(user, project):
        raise PermissionDenied(_("You may not work on this project."))


def _require_open(project: Project) -> None:
    if project.status != ProjectStatus.IN_PROGRESS:
        raise ValidationError(_("The project is %(status)s.") % {"status": project.get_status_display()})


def _check_day(on: dt.date, *, not_before: dt.date, field: str = "on") -> None:
    if on > timezone.localdate():
        raise ValidationError({field: _("The date cannot be in the future.")})
    if on < not_before:
        raise ValidationError({field: _("The date cannot be before %(day)s.") % {"day": not_before.isoformat()}})


# --- Time limits ------------------------------------------------------------------------------------------


def limits_for(kind: str, supply_mode: str, voltage_kv: str) -> tuple[int | None, dict[str, int]]:
    """The whole project's limit (None: none set) and each stage's, for a kind, supply mode and voltage level (its
    voltage class: low below 10 kV, else high), in one query."""
    total, stages = None, {}
    rows = TimeLimit.objects.filter(
        voltage_class=rules.voltage_class_of(voltage_kv), kind=kind, supply_mode=supply_mode
    ).values_list("stage", "working_days")
    for stage, days in rows:
        if stage:
            stages[stage] = days
        else:
            total = days
    return total, stages


@transaction.atomic
def time_limit_save(*, limit: TimeLimit, working_days: int, user) -> TimeLimit:
    """Change a limit (administrators and supervisors). Projects already running keep the limits they started
    with; the new value applies to projects and stages that start from now on."""
    if not may_configure(user):
        raise PermissionDenied(_("Only administrators and supervisors change time limits."))
    limit.working_days = working_days
    limit.full_clean()
    limit.save(update_fields=["working_days"])
    return limit


@transaction.atomic
def time_limits_save(*, changes: dict[TimeLimit, int], user) -> int:
    """Change several limits at once: all are checked first and either all are saved or none (a ValidationError
    keyed by the limit's id names every invalid value). Returns how many changed."""
    if not may_configure(user):
        raise PermissionDenied(_("Only administrators and supervisors change time limits."))
    errors: dict[str, list[str]] = {}
    changed = []
    for limit, working_days in changes.items():
        if limit.working_days == working_days:
            continue
        limit.working_days = working_days
        try:
            limit.full_clean()
        except ValidationError as exc:
            errors[str(limit.pk)] = exc.message_dict.get("working_days", exc.messages)
            continue
        changed.append(limit)
    if errors:
        raise ValidationError(errors)
    TimeLimit.objects.bulk_update(changed, ["working_days"])
    return len(changed)


# --- Counting ---------------------------------------------------------------------------------------------


def _stops(project: Project) -> list[rules.Stop]:
    return [(s.started_on, s.ended_on) for s in project.clock_stops.all()]


PROJECT_COUNTS = ["working_days_used", "due_date", "clock_stopped"]
STAGE_COUNTS = ["working_days_used", "due_date"]


def _project_recount(project: Project, stops, *, today: dt.date) -> None:
    """Set (not save) the project's working days used, due date and clock state."""
    end = project.completed_on or project.cancelled_on or today
    workdays.preload(range(project.accepted_on.year, end.year + 2))
    count = {"today": today, "is_working": workdays.is_working_day}
    project.working_days_used = rules.utility_working_days(project.accepted_on, end, stops, **count)
    project.due_date = (
        rules.utility_due_date(project.accepted_on, project.time_limit_days, stops, **count)
        if project.time_limit_days
        else None
    )
    project.clock_stopped = any(stop_end is None for _start, stop_end in stops)


def _stage_recount(stage: ProjectStage, stops, *, today: dt.date) -> None:
    """Set (not save) the stage's working days used and due date."""
    count = {"today": today, "is_working": workdays.is_working_day}
    stage.working_days_used = rules.utility_working_days(stage.started_on, stage.ended_on or today, stops, **count)
    stage.due_date = (
        rules.utility_due_date(stage.started_on, stage.limit_days, stops, **count) if stage.limit_days else None
    )


def project_refresh(*, project: Project, today: dt.date | None = None) -> Project:
    """Recompute the working days used and the due dates of the project and its current stage (clock stops
    excluded), and save them."""
    today = today or timezone.localdate()
    stops = _stops(project)
    _project_recount(project, stops, today=today)
    project.save(update_fields=PROJECT_COUNTS)
    current = project.stages.filter(ended_on__isnull=True).first()
    if current is not None:
        _stage_refresh(current, stops, today=today)
    return project


def _stage_refresh(stage: ProjectStage, stops, *, today: dt.date) -> None:
    _stage_recount(stage, stops, today=today)
    stage.save(update_fields=STAGE_COUNTS)


def days_left(due: dt.date | None, *, today: dt.date | None = None) -> int | None:
    """Working days from today to the due date: 0 on the due date and on the days off right after it, negative
    (minus the working days used beyond it) once a working day after the due date has begun."""
    if due is None:
        return None
    today = today or timezone.localdate()
    if today <= due:
        return workdays.working_days_between(today, due)
    return -workdays.working_days_between(due, today)


# --- Create and advance -----------------------------------------------------------------------------------


def default_owner(customer: Customer):
    assignment = (
        AccountAssignment.objects.filter(customer=customer, role=AssignmentRole.MANAGER, end_date__isnull=True)
        .select_related("user")
        .first()
    )
    return assignment.user if assignment else None


def _start_stage(project: Project, stage: str, *, on: dt.date, owner, stage_limits: dict[str, int]) -> ProjectStage:
    position = rules.stages_of(project.kind).index(stage)
    row = ProjectStage.objects.create(
        project=project,
        stage=stage,
        position=position,
        started_on=on,
        owner=owner,
        limit_days=stage_limits.get(stage),
    )
    project.current_stage = stage
    project.save(update_fields=["current_stage"])
    return row


@transaction.atomic
def project_create(
    *,
    customer: Customer,
    kind: str,
    user,
    accepted_on: dt.date,
    voltage_kv: str,
    supply_mode: str,
    account: ElectricityAccount | None = None,
    requested_capacity_kva: Decimal | None = None,
    new_tariff=None,
    new_name: str = "",
    title: str = "",
    owner=None,
) -> Project:
    """Accept an application: the project starts in its first stage (受理申请) on ``accepted_on`` with the time
    limits of its kind and supply mode as they are today."""
    if not Customer.objects.editable_by(user).filter(pk=customer.pk).exists():
        raise PermissionDenied(_("You may not work on this customer."))
    if accepted_on > timezone.localdate():
        raise ValidationError({"accepted_on": _("The date cannot be in the future.")})
    if kind == K.NEW_CONNECTION:
        account = None
    if account is not None and requested_capacity_kva is not None and account.capacity_kva is not None:
        # The direction of the change is the application itself: an increase asks for more than the account has.
        if kind == K.CAPACITY_INCREASE and requested_capacity_kva <= account.capacity_kva:
            raise ValidationError(
                {
                    "requested_capacity_kva": _("An increase asks for more than the account's %(kva)s kVA.")
                    % {"kva": account.capacity_kva}
                }
            )
        if kind == K.CAPACITY_REDUCTION and requested_capacity_kva >= account.capacity_kva:
            raise ValidationError(
                {
                    "requested_capacity_kva": _("A reduction asks for less than the account's %(kva)s kVA.")
                    % {"kva": account.capacity_kva}
                }
            )
    owner = owner or default_owner(customer) or user
    total, stage_limits = limits_for(kind, supply_mode, voltage_kv)
    project = Project(
        customer=customer,
        account=account,
        kind=kind,
        title=(title or "").strip(),
        requested_capacity_kva=requested_capacity_kva,
        supply_mode=supply_mode,
        voltage_kv=voltage_kv,
        new_tariff=new_tariff if kind == K.TARIFF_CHANGE else None,
        new_name=(new_name or "").strip() if kind == K.NAME_CHANGE else "",
        owner=owner,
        accepted_on=accepted_on,
        time_limit_days=total,
        created_by=user,
    )
    project.full_clean(exclude=["number", "current_stage"])
    project.save()
    project.number = f"YK{accepted_on:%Y}{project.pk:06d}"
    project.save(update_fields=["number"])
    _start_stage(project, rules.stages_of(kind)[0], on=accepted_on, owner=owner, stage_limits=stage_limits)
    return project_refresh(project=project)


def _end_current(project: Project, *, on: dt.date, notes: str, breach_reason: str) -> ProjectStage:
    current = project.stages.select_for_update().get(stage=project.current_stage, ended_on__isnull=True)
    _check_day(on, not_before=current.started_on)
    if project.clock_stopped:
        raise ValidationError(_("The clock is stopped for the customer: end the clock stop first."))
    stops = _stops(project)
    current.ended_on = on
    _stage_refresh(current, stops, today=on)
    if current.breached and not (breach_reason or "").strip():
        raise ValidationError(
            {
                "breach_reason": _(
                    "This stage ends after its due date (%(due)s): give the reason for passing its time limit."
                )
                % {"due": current.due_date.isoformat()}
            }
        )
    current.breach_reason = (breach_reason or "").strip() if current.breached else ""
    if notes:
        current.notes = "\n".join(part for part in (current.notes, notes.strip()) if part)
    current.save(update_fields=["ended_on", "breach_reason", "notes"])
    return current


@transaction.atomic
def stage_advance(
    *, project: Project, user, on: dt.date, notes: str = "", breach_reason: str = "", next_owner=None
) -> Project:
    """End the current stage on ``on`` and start the next one the same day: stages go strictly in order and
    none is skipped. The last stage ends with ``project_complete`` (energisation), not here."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    _require_edit(project, user)
    _require_open(project)
    following = rules.next_stage(project.kind, project.current_stage)
    if following is None:
        raise ValidationError(_("This is the last stage: complete the project at energisation."))
    _end_current(project, on=on, notes=notes, breach_reason=breach_reason)
    _total, stage_limits = limits_for(project.kind, project.supply_mode, project.voltage_kv)
    _start_stage(project, following, on=on, owner=next_owner or project.owner, stage_limits=stage_limits)
    return project_refresh(project=project)


@transaction.atomic
def stage_update(*, stage: ProjectStage, user, notes: str | None = None, owner=None) -> ProjectStage:
    """Change a stage's internal notes or its owner."""
    _require_edit(stage.project, user)
    if notes is not None:
        stage.notes = notes.strip()
    if owner is not None:
        stage.owner = owner
    stage.save(update_fields=["notes", "owner"])
    return stage


# --- Clock stops ------------------------------------------------------------------------------------------


@transaction.atomic
def clock_stop_start(*, project: Project, user, on: dt.date, reason: str) -> ClockStop:
    """The customer holds the clock from ``on`` (their design or construction): the utility's days stop."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    _require_edit(project, user)
    _require_open(project)
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Give the reason the clock stops.")})
    if project.clock_stopped:
        raise ValidationError(_("The clock is stopped already."))
    current = project.stages.get(ended_on__isnull=True)
    last_end = project.clock_stops.order_by("-ended_on").values_list("ended_on", flat=True).first()
    _check_day(on, not_before=max(filter(None, (current.started_on, last_end))))
    stop = ClockStop.objects.create(project=project, started_on=on, reason=reason.strip(), created_by=user)
    project_refresh(project=project)
    return stop


@transaction.atomic
def clock_stop_end(*, project: Project, user, on: dt.date) -> ClockStop:
    """The customer is ready (e.g. construction finished): the utility's days run again after ``on``."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    _require_edit(project, user)
    stop = project.clock_stops.filter(ended_on__isnull=True).first()
    if stop is None:
        raise ValidationError(_("The clock is running: there is no clock stop to end."))
    _check_day(on, not_before=stop.started_on)
    stop.ended_on = on
    stop.save(update_fields=["ended_on"])
    project_refresh(project=project)
    return stop


# --- Documents --------------------------------------------------------------------------------------------


@transaction.atomic
def documents_add(*, stage: ProjectStage, uploads, user) -> list[StageDocument]:
    """Attach images or PDFs to a stage (type by content, size limited like service request attachments)."""
    _require_edit(stage.project, user)
    checked = []
    for upload in uploads:
        try:
            checked.append((upload, attachment_check(upload)))
        except ValidationError as exc:
            raise ValidationError({"documents": exc.message_dict.get("attachments", exc.messages)}) from None
    if not checked:
        raise ValidationError({"documents": _("Choose at least one file.")})
    return [
        StageDocument.objects.create(
            stage=stage,
            file=upload,
            name=(getattr(upload, "name", "") or "file").rsplit("/", 1)[-1][:200],
            content_type=content_type,
            size=upload.size,
            uploaded_by=user,
        )
        for upload, content_type in checked
    ]


# --- Cancel and complete ----------------------------------------------------------------------------------


@transaction.atomic
def project_cancel(*, project: Project, user, reason: str, on: dt.date | None = None) -> Project:
    """The customer withdrew or the application was refused: the project stops; master data stays as it was."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    _require_edit(project, user)
    _require_open(project)
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Give the reason for cancelling.")})
    on = on or timezone.localdate()
    _check_day(on, not_before=project.accepted_on)
    project.stages.filter(ended_on__isnull=True).update(ended_on=on)
    project.clock_stops.filter(ended_on__isnull=True).update(ended_on=on)
    project.status = ProjectStatus.CANCELLED
    project.cancelled_on = on
    project.cancel_reason = reason.strip()
    project.save(update_fields=["status", "cancelled_on", "cancel_reason"])
    return project_refresh(project=project)


def _reason(project: Project) -> str:
    kind = project.get_kind_display()
    return _("Business expansion %(number)s (%(kind)s)") % {"number": project.number, "kind": kind}


def _save_account(account: ElectricityAccount, project: Project) -> ElectricityAccount:
    # django-simple-history stores this as the history row's reason: the change shows where it came from.
    account._change_reason = _reason(project)
    return account_save(account=account)


def _save_point(point: MeteringPoint, project: Project) -> MeteringPoint:
    point._change_reason = _reason(project)
    return metering_point_save(point=point)


def _remap(exc: ValidationError, names: dict[str, str]) -> ValidationError:
    """A master-data error on the energisation form's field names."""
    if not hasattr(exc, "error_dict"):
        return exc
    return ValidationError({names.get(field, field): errors for field, errors in exc.message_dict.items()})


ACCOUNT_FIELDS = {"name": "account_name", "tariff": "tariff", "customer": "account_no"}
POINT_FIELDS = {"code": "meter_code", "account": "meter_code", "multiplier": "ct_ratio"}


def _apply(
    project: Project,
    *,
    account_no: str,
    account_name: str,
    tariff,
    meter_code: str,
    meter_no: str,
    ct_ratio: Decimal | None,
    pt_ratio: Decimal | None,
    basic_charge_method: str,
    contract_demand_kw: Decimal | None,
) -> ElectricityAccount:
    """Change the master data as the project asks; returns the account."""
    kind = project.kind
    if kind == K.NEW_CONNECTION:
        errors = {}
        if not (account_no or "").strip():
            errors["account_no"] = _("Give the new account's number.")
        if not (meter_code or "").strip():
            errors["meter_code"] = _("Give the metering point's code.")
        if not (meter_no or "").strip():
            errors["meter_no"] = _("Give the meter number.")
        if errors:
            raise ValidationError(errors)
        account = ElectricityAccount(
            account_no=account_no.strip(),
            name=(account_name or "").strip() or project.customer.name,
            customer=project.customer,
            voltage_kv=project.voltage_kv,
            capacity_kva=project.requested_capacity_kva,
            supply_mode=project.supply_mode,
            tariff=tariff,
            basic_charge_method=basic_charge_method or BasicChargeMethod.CAPACITY,
            contract_demand_kw=contract_demand_kw,
        )
        try:
            _save_account(account, project)
        except ValidationError as exc:
            raise _remap(exc, ACCOUNT_FIELDS) from None
        point = MeteringPoint(
            code=meter_code.strip(),
            account=account,
            meter_no=meter_no.strip(),
            ct_ratio=ct_ratio,
            pt_ratio=pt_ratio,
            # Both ratios: metering_point_save multiplies them; one or none: the known ratio (or 1) alone.
            multiplier=None if ct_ratio and pt_ratio else (ct_ratio or pt_ratio or Decimal("1")),
            purpose=MeteringPurpose.BILLING,
        )
        try:
            _save_point(point, project)
        except ValidationError as exc:
            raise _remap(exc, POINT_FIELDS) from None
        return account

    account = ElectricityAccount.objects.select_for_update().get(pk=project.account_id)
    if kind in (K.CAPACITY_INCREASE, K.CAPACITY_REDUCTION):
        account.capacity_kva = project.requested_capacity_kva
        if basic_charge_method:
            account.basic_charge_method = basic_charge_method
        if contract_demand_kw is not None:
            account.contract_demand_kw = contract_demand_kw
        elif account.contract_demand_kw and account.contract_demand_kw > account.capacity_kva:
            raise ValidationError(
                {"contract_demand_kw": _("The contract demand exceeds the new capacity: give the new contract demand.")}
            )
        # Only a suspension and a resumption change whether the account is in use: a capacity change of a
        # suspended (or closed) account leaves it so; a reduction marks an account in use as reduced.
        if kind == K.CAPACITY_REDUCTION and account.status == AccountStatus.ACTIVE:
            account.status = AccountStatus.REDUCED
    elif kind == K.SUSPENSION:
        account.status = AccountStatus.SUSPENDED
    elif kind == K.RESUMPTION:
        account.status = AccountStatus.ACTIVE
        if project.requested_capacity_kva:
            account.capacity_kva = project.requested_capacity_kva
    elif kind == K.TARIFF_CHANGE:
        account.tariff = project.new_tariff
    elif kind == K.NAME_CHANGE:
        account.name = project.new_name
    try:
        _save_account(account, project)
    except ValidationError as exc:
        raise _remap(exc, ACCOUNT_FIELDS) from None
    if kind in (K.CAPACITY_INCREASE, K.CAPACITY_REDUCTION) and (ct_ratio or pt_ratio or meter_no):
        # New current or voltage transformers (and perhaps meter) for the new capacity.
        point = account.metering_points.filter(purpose=MeteringPurpose.BILLING).order_by("pk").first()
        if point is None:
            raise ValidationError({"meter_no": _("The account has no billing metering point to change.")})
        point.ct_ratio = ct_ratio or point.ct_ratio
        point.pt_ratio = pt_ratio or point.pt_ratio
        point.meter_no = (meter_no or "").strip() or point.meter_no
        point.multiplier = None
        try:
            _save_point(point, project)
        except ValidationError as exc:
            raise _remap(exc, POINT_FIELDS) from None
    return account


@transaction.atomic
def project_complete(
    *,
    project: Project,
    user,
    on: dt.date,
    breach_reason: str = "",
    notes: str = "",
    account_no: str = "",
    account_name: str = "",
    tariff=None,
    meter_code: str = "",
    meter_no: str = "",
    ct_ratio: Decimal | None = None,
    pt_ratio: Decimal | None = None,
    basic_charge_method: str = "",
    contract_demand_kw: Decimal | None = None,
) -> Project:
    """Energisation (装表接电): the last stage ends and the account's master data changes — a new connection
    creates the account and its metering point; a capacity change sets the capacity (and contract demand,
    basic-charge method, transformer ratios when given); suspension, resumption, tariff and name changes set
    the account's status, tariff or name. ``breach_reason`` is required when the stage or the whole project
    ends after its due date."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    _require_edit(project, user)
    _require_open(project)
    if rules.next_stage(project.kind, project.current_stage) is not None:
        raise ValidationError(
            _("The project is at %(stage)s: it is completed from its last stage.")
            % {"stage": project.get_current_stage_display()}
        )
    reason = (breach_reason or "").strip()
    stage = _end_current(project, on=on, notes=notes, breach_reason=reason)
    project.completed_on = on
    project_refresh(project=project, today=on)
    # Late in working days: ending on the days off after the due date uses no working day beyond the limit.
    project_late = bool(project.time_limit_days and project.working_days_used > project.time_limit_days)
    if project_late and not reason:
        raise ValidationError(
            {
                "breach_reason": _(
                    "The project is energised after its due date (%(due)s): give the reason for passing its time limit."
                )
                % {"due": project.due_date.isoformat()}
            }
        )
    account = _apply(
        project,
        account_no=account_no,
        account_name=account_name,
        tariff=tariff,
        meter_code=meter_code,
        meter_no=meter_no,
        ct_ratio=ct_ratio,
        pt_ratio=pt_ratio,
        basic_charge_method=basic_charge_method,
        contract_demand_kw=contract_demand_kw,
    )
    project.account = account
    project.status = ProjectStatus.COMPLETED
    project.breach_reason = reason if (project_late or stage.breached) else ""
    project.save(update_fields=["account", "status", "completed_on", "breach_reason"])
    return project


# --- Warnings and breaches --------------------------------------------------------------------------------


def _levels(
    project: Project, stage: ProjectStage | None, *, today: dt.date, warn: int
) -> list[tuple[str, str, dt.date]]:
    """Each limit the project stands near or past: (level, stage or "" for the whole project, due date)."""
    found = []
    limits = [("", project.due_date)]
    if stage is not None:
        limits.append((stage.stage, stage.due_date))
    for which, due in limits:
        level = rules.days_left_level(days_left(due, today=today), warn_days=warn)
        if level is not None:
            found.append((level, which, due))
    return found


def expansion_alerts_check(*, today: dt.date | None = None) -> dict[str, int]:
    """Recompute the running projects' days and tell each owner when a limit nears or passes: each stage's limit
    and the whole project's warn once and breach once (a ``ProjectAlert`` per project, stage or blank, and level;
    a limit found passed first is not warned about afterwards). Safe to run twice: an alert row exists once.
    The number of queries does not grow with the projects."""
    today = today or timezone.localdate()
    warn = warn_working_days()
    projects = list(
        Project.objects.filter(status=ProjectStatus.IN_PROGRESS)
        .select_related("customer")
        .prefetch_related(
            "clock_stops",
            Prefetch("stages", queryset=ProjectStage.objects.filter(ended_on__isnull=True), to_attr="open_stages"),
        )
        .order_by("pk")
    )
    years = {today.year - 1, today.year, today.year + 1}
    years.update(project.accepted_on.year for project in projects)
    workdays.preload(years)
    told = set(ProjectAlert.objects.filter(project__in=projects).values_list("project_id", "stage", "level"))
    stage_labels = dict(Stage.choices)
    new_alerts, items, stages = [], [], []
    for project in projects:
        stops = _stops(project)
        _project_recount(project, stops, today=today)
        current = project.open_stages[0] if project.open_stages else None
        if current is not None:
            _stage_recount(current, stops, today=today)
            stages.append(current)
        if project.clock_stopped:
            continue
        for level, which, due in _levels(project, current, today=today, warn=warn):
            if (project.pk, which, level) in told:
                continue
            if level == AlertLevel.WARNING and (project.pk, which, AlertLevel.BREACH) in told:
                continue
            new_alerts.append(ProjectAlert(project=project, level=level, stage=which, due_date=due))
            items.append(
                (
                    project.owner_id,
                    NotificationEvent.EXPANSION_DEADLINE,
                    {
                        "number": project.number,
                        "customer": project.customer.name,
                        "kind": project.get_kind_display(),
                        "stage": str(stage_labels.get(project.current_stage, "")),
                        "due": due.isoformat() if due else "",
                        "breach": level == AlertLevel.BREACH,
                    },
                    reverse("expansion:project_detail", args=[project.pk]),
                )
            )
    with transaction.atomic():
        Project.objects.bulk_update(projects, PROJECT_COUNTS, batch_size=500)
        ProjectStage.objects.bulk_update(stages, STAGE_COUNTS, batch_size=500)
        created = ProjectAlert.objects.bulk_create(new_alerts, ignore_conflicts=True)
        notify_many(items)
    return {
        "projects": len(projects),
        "warnings": sum(1 for a in created if a.level == AlertLevel.WARNING),
        "breaches": sum(1 for a in created if a.level == AlertLevel.BREACH),
    }
