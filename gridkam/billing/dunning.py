"""Dunning (催费): the fee-recovery sequence of an account in arrears (DOMAIN.md "Fee recovery").

reminder → written notice → notice of supply suspension (欠费停电通知书) → suspension → restoration
(``DUNNING_SEQUENCE``). A case opens with the reminder when the account has arrears; each further step
waits ``GRIDKAM["DUNNING_WAIT_DAYS"][previous step]`` days after the previous one. The suspension notice
is approved internally, planned ``SUSPENSION_NOTICE_MIN_DAYS``–``MAX_DAYS`` days ahead and, for important
users, reported to the power administration (《供电营业规则》 art. 67); supply is cut on or after the
planned day, while arrears remain, once the customer has been warned again 30 minutes before; it is
restored only when the arrears are paid. Payment stops the sequence (``dunning_on_payment``).

``next_step_of`` is the rule as a pure function over the open case's last step, so the collections
workbench can tell every row of a page its next step from annotations, without a query per row.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from gridkam.customers.choices import ImportanceClass
from gridkam.customers.models import Customer, ElectricityAccount
from gridkam.users.choices import Role
from gridkam.users.models import User

from .choices import DUNNING_SEQUENCE, DunningStatus, DunningStepKind
from .ledger import account_penalty, money, unpaid_bill_q, with_arrears
from .models import Bill, DunningCase, DunningStep
from .permissions import approves, does_billing

ZERO = Decimal("0")
DAY = datetime.timedelta(days=1)
# Each step and the one that may follow it; a case without steps (or no open case) starts with the reminder.
FOLLOWS: dict[str | None, str | None] = {None: DUNNING_SEQUENCE[0]}
FOLLOWS.update({kind: after for kind, after in zip(DUNNING_SEQUENCE, [*DUNNING_SEQUENCE[1:], None], strict=True)})
NOTICE_KINDS = (DunningStepKind.REMINDER, DunningStepKind.WRITTEN_NOTICE, DunningStepKind.SUSPENSION_NOTICE)
# When the customer is asked to pay by, for the reminder (whose own wait may be 0 days).
REMINDER_PAY_DAYS = 3
DEFAULT_SUSPENSION_TIME = datetime.time(9, 0)


def wait_days(kind: str) -> int:
    """Days to wait after a step of this kind before the next one may be taken."""
    return int(settings.GRIDKAM["DUNNING_WAIT_DAYS"].get(kind, 0))


def is_important(customer: Customer) -> bool:
    return (customer.importance_class or ImportanceClass.NONE) != ImportanceClass.NONE


# ---------------------------------------------------------------------------------------------
# Arrears


def overdue_bills(account_id: int, today: datetime.date) -> QuerySet[Bill]:
    """The account's issued bills past their due date with money still open, oldest first (what the
    notices list): the ledger's arrears, bill by bill."""
    return Bill.objects.filter(unpaid_bill_q(), account_id=account_id, due_date__lt=today).order_by(
        "due_date", "period", "pk"
    )


def arrears_of(account_id: int, today: datetime.date) -> Decimal:
    """The open amount of the account's issued bills past due on ``today`` (the ledger's ``arrears``)."""
    arrears = with_arrears(ElectricityAccount.objects.filter(pk=account_id), today).values_list("arrears", flat=True)
    return money(arrears.first() or ZERO)


# ---------------------------------------------------------------------------------------------
# The next step


@dataclass(frozen=True)
class NextStep:
    """The step that may follow, whether it may be taken today, from when, and why (or why not)."""

    kind: str | None
    allowed: bool
    allowed_from: datetime.date | None
    reason: str

    @property
    def label(self) -> str:
        return str(DunningStepKind(self.kind).label) if self.kind else ""

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "label": self.label,
            "allowed": self.allowed,
            "allowed_from": self.allowed_from.isoformat() if self.allowed_from else None,
            "reason": self.reason,
        }


def next_step_of(
    *,
    arrears: Decimal,
    last_kind: str | None,
    last_on: datetime.date | None,
    planned_on: datetime.date | None,
    today: datetime.date,
) -> NextStep:
    """The next step of an account from its open case's last step (``last_kind`` None: no open case) and
    its arrears. Pure: the workbench calls it for each row of a page from annotations."""
    arrears = arrears or ZERO
    kind = FOLLOWS.get(last_kind)
    if last_kind is None:
        if arrears > 0:
            return NextStep(kind, True, today, _("The account is in arrears: a case opens with a reminder."))
        return NextStep(None, False, None, _("No arrears."))
    if kind is None:
        return NextStep(None, False, None, _("Supply has been restored; the case is closed."))
    if kind == DunningStepKind.RESTORATION:
        if arrears > 0:
            return NextStep(kind, False, None, _("Supply is restored once the arrears are paid."))
        return NextStep(kind, True, last_on, _("The arrears are paid: supply can be restored."))
    if arrears <= 0:
        return NextStep(None, False, None, _("No arrears."))
    allowed_from = last_on + DAY * wait_days(last_kind)
    reason = _("Allowed after the waiting period that follows the previous step.")
    if kind == DunningStepKind.SUSPENSION and planned_on is not None and planned_on > allowed_from:
        allowed_from = planned_on
        reason = _("Supply may be suspended from the day planned in the notice.")
    if today < allowed_from:
        return NextStep(kind, False, allowed_from, reason)
    return NextStep(kind, True, allowed_from, _("Allowed now."))


@dataclass(frozen=True)
class DunningState:
    """An account's dunning at a glance: its open case (if any), the steps so far and the next step."""

    case: DunningCase | None
    steps: list[DunningStep]
    arrears: Decimal
    next: NextStep

    @property
    def last(self) -> DunningStep | None:
        return self.steps[-1] if self.steps else None


def dunning_state(account: ElectricityAccount, today: datetime.date | None = None) -> DunningState:
    """Three queries: the open case, its steps, the arrears."""
    today = today or timezone.localdate()
    case = DunningCase.objects.filter(account=account, status=DunningStatus.OPEN).first()
    steps = list(case.steps.select_related("done_by", "approved_by").order_by("done_on", "pk")) if case else []
    arrears = arrears_of(account.pk, today)
    last = steps[-1] if steps else None
    step = next_step_of(
        arrears=arrears,
        last_kind=last.kind if last else None,
        last_on=last.done_on if last else None,
        planned_on=_planned_on(steps),
        today=today,
    )
    return DunningState(case=case, steps=steps, arrears=arrears, next=step)


def next_step(account: ElectricityAccount, today: datetime.date | None = None) -> NextStep:
    return dunning_state(account, today).next


def _planned_on(steps: list[DunningStep]) -> datetime.date | None:
    for step in steps:
        if step.kind == DunningStepKind.SUSPENSION_NOTICE:
            return step.suspension_planned_on
    return None


# ---------------------------------------------------------------------------------------------
# Services


def notice_min_days() -> int:
    return int(settings.GRIDKAM["SUSPENSION_NOTICE_MIN_DAYS"])


def approvers_for(customer: Customer) -> QuerySet[User]:
    """Who may approve a notice of supply suspension for the customer: supervisors of its unit or a unit
    above it, and administrators (``approver_may_approve``)."""
    unit = customer.org_unit
    return (
        User.objects.filter(is_active=True, customer__isnull=True)
        .filter(
            Q(is_superuser=True)
            | Q(role=Role.ADMINISTRATOR)
            | Q(role=Role.SUPERVISOR, org_unit__path__in=[unit.path, *unit.ancestor_paths()])
        )
        .order_by("username")
    )


def approver_may_approve(approver, customer: Customer) -> bool:
    """A supervisor of the customer's unit or one above it, or an administrator."""
    if not approves(approver):
        return False
    if approver.is_administrator:
        return True
    return bool(approver.org_unit_id) and customer.org_unit.path.startswith(approver.org_unit.path)


def _check(
    *,
    account: ElectricityAccount,
    kind: str,
    done_on: datetime.date,
    today: datetime.date,
    steps: list[DunningStep],
    arrears: Decimal,
    approved_by,
    suspension_planned_on: datetime.date | None,
    reported_to_authority: bool,
    warned_before_suspension: bool,
) -> dict[str, list[str]]:
    """Why the step may not be taken, by field (empty: it may)."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if kind not in DunningStepKind.values:
        add("kind", _("Choose a dunning step."))
        return errors
    if done_on > today:
        add("done_on", _("A step cannot be dated in the future."))
        return errors  # the other rules count days from it, past the end of the calendar for the far future
    last = steps[-1] if steps else None
    expected = FOLLOWS.get(last.kind if last else None)
    if kind != expected:
        if last is None:
            add("kind", _("A dunning case starts with a reminder."))
        elif expected is None:
            add("kind", _("The case is closed."))
        else:
            add("kind", _("The next step is: %(step)s.") % {"step": DunningStepKind(expected).label})
        return errors
    if last is not None:
        allowed_from = last.done_on + DAY * wait_days(last.kind)
        if done_on < allowed_from:
            add(
                "done_on",
                _("Allowed from %(day)s: %(days)d days after the %(previous)s.")
                % {
                    "day": date_format(allowed_from, "Y-m-d"),
                    "days": wait_days(last.kind),
                    "previous": DunningStepKind(last.kind).label,
                },
            )
    if kind == DunningStepKind.RESTORATION:
        if arrears > 0:
            add("kind", _("Supply is restored only once the arrears (%(amount)s yuan) are paid.") % {"amount": arrears})
        return errors
    if arrears <= 0:
        add("kind", _("The account has no arrears."))
    if kind == DunningStepKind.SUSPENSION_NOTICE:
        if approved_by is None:
            add("approved_by", _("A notice of supply suspension must be approved."))
        elif not approver_may_approve(approved_by, account.customer):
            add("approved_by", _("The approver must be a supervisor of the customer's unit or an administrator."))
        low = settings.GRIDKAM["SUSPENSION_NOTICE_MIN_DAYS"]
        high = settings.GRIDKAM["SUSPENSION_NOTICE_MAX_DAYS"]
        if suspension_planned_on is None:
            add("suspension_planned_on", _("Give the day supply is to be suspended."))
        elif not low <= (suspension_planned_on - done_on).days <= high:
            add(
                "suspension_planned_on",
                _(
                    "The notice must be served %(low)d to %(high)d days before the suspension: "
                    "plan it from %(first)s to %(last)s."
                )
                % {
                    "low": low,
                    "high": high,
                    "first": date_format(done_on + DAY * low, "Y-m-d"),
                    "last": date_format(done_on + DAY * high, "Y-m-d"),
                },
            )
        if is_important(account.customer) and not reported_to_authority:
            add(
                "reported_to_authority",
                _("An important user's suspension must be reported to the power administration first."),
            )
    if kind == DunningStepKind.SUSPENSION:
        planned = _planned_on(steps)
        if planned is not None and done_on < planned:
            add(
                "done_on",
                _("Supply may be suspended only on or after the day planned in the notice (%(day)s).")
                % {"day": date_format(planned, "Y-m-d")},
            )
        if not warned_before_suspension:
            add("warned_before_suspension", _("Confirm the customer was warned again 30 minutes before."))
    return errors


@transaction.atomic
def step_take(
    *,
    account: ElectricityAccount,
    kind: str,
    user,
    done_on: datetime.date,
    approved_by=None,
    suspension_planned_on: datetime.date | None = None,
    suspension_planned_time: datetime.time | None = None,
    reported_to_authority: bool = False,
    warned_before_suspension: bool = False,
    note: str = "",
) -> DunningStep:
    """Take the next dunning step of an account, opening a case with the reminder. Raises
    ``ValidationError`` with a message per field when the step is not allowed, ``PermissionDenied`` when
    the user does no billing work. A notice's text is rendered and kept as served."""
    if not does_billing(user):
        raise PermissionDenied
    # Lock the account first: with no open case yet there is no case row to lock, and two clerks must
    # not open two cases (the unique constraint would answer with an error instead of a message).
    account = ElectricityAccount.objects.select_for_update().select_related("customer__org_unit").get(pk=account.pk)
    case = DunningCase.objects.select_for_update().filter(account=account, status=DunningStatus.OPEN).first()
    steps = list(case.steps.order_by("done_on", "pk")) if case else []
    today = timezone.localdate()
    arrears = arrears_of(account.pk, max(done_on, today) if kind == DunningStepKind.RESTORATION else done_on)
    errors = _check(
        account=account,
        kind=kind,
        done_on=done_on,
        today=today,
        steps=steps,
        arrears=arrears,
        approved_by=approved_by,
        suspension_planned_on=suspension_planned_on,
        reported_to_authority=reported_to_authority,
        warned_before_suspension=warned_before_suspension,
    )
    if errors:
        raise ValidationError(errors)
    if case is None:
        case = DunningCase.objects.create(account=account, opened_on=done_on, arrears_at_open=arrears)
    notice = kind == DunningStepKind.SUSPENSION_NOTICE
    step = DunningStep(
        case=case,
        kind=kind,
        done_on=done_on,
        done_by=user,
        approved_by=approved_by if notice else None,
        arrears=arrears,
        suspension_planned_on=suspension_planned_on if notice else None,
        suspension_planned_time=(suspension_planned_time or DEFAULT_SUSPENSION_TIME) if notice else None,
        reported_to_authority=bool(reported_to_authority) if notice else False,
        warned_before_suspension=bool(warned_before_suspension) if kind == DunningStepKind.SUSPENSION else False,
        note=(note or "").strip(),
    )
    if kind in NOTICE_KINDS:
        step.notice_text = notice_render(step=step, account=account)
    step.save()
    if kind == DunningStepKind.RESTORATION:
        case.status = DunningStatus.CLOSED
        case.closed_on = done_on
        case.save(update_fields=["status", "closed_on"])
    return step


@transaction.atomic
def dunning_on_payment(account_id: int, today: datetime.date | None = None) -> DunningCase | None:
    """Called by the ledger after every reallocation of an account's payments. When no arrears are left,
    an open case without a suspension is stopped; one with a suspension stays open with restoration as
    its only step (supply is restored by a person, not by the payment). Returns the open case, if any."""
    today = today or timezone.localdate()
    case = DunningCase.objects.select_for_update().filter(account_id=account_id, status=DunningStatus.OPEN).first()
    if case is None or arrears_of(account_id, today) > 0:
        return case
    if case.steps.filter(kind=DunningStepKind.SUSPENSION).exists():
        return case
    case.status = DunningStatus.STOPPED
    case.closed_on = today
    case.save(update_fields=["status", "closed_on"])
    return case


def dunning_on_payments(account_ids: Iterable[int], today: datetime.date | None = None) -> None:
    """``dunning_on_payment`` for many accounts (a payments import): one query finds those with an open case,
    only they are looked at."""
    ids = {int(pk) for pk in account_ids}
    dunned = DunningCase.objects.filter(account_id__in=ids, status=DunningStatus.OPEN).values_list(
        "account_id", flat=True
    )
    for account_id in sorted(dunned):
        dunning_on_payment(account_id, today)


# ---------------------------------------------------------------------------------------------
# Notices


def pay_by(step: DunningStep) -> datetime.date:
    """The day the notice asks the customer to pay by: before the next step may be taken."""
    if step.kind == DunningStepKind.SUSPENSION_NOTICE and step.suspension_planned_on:
        return step.suspension_planned_on - DAY
    days = wait_days(step.kind)
    return step.done_on + DAY * (days if days > 0 else REMINDER_PAY_DAYS)


def notice_context(*, step: DunningStep, account: ElectricityAccount) -> dict:
    customer = account.customer
    bills = list(overdue_bills(account.pk, step.done_on))
    arrears = money(sum((b.total - b.amount_paid for b in bills), ZERO))
    penalty = account_penalty(account.pk, step.done_on)
    return {
        "step": step,
        "kind": step.kind,
        "account": account,
        "customer": customer,
        "unit_name": customer.org_unit.name,
        "address": customer.address,
        "bills": [{"period": b.period, "open": b.total - b.amount_paid, "due_date": b.due_date} for b in bills],
        "arrears": arrears,
        "penalty": penalty,
        "amount_due": arrears + penalty,
        "pay_by": pay_by(step),
        "planned_on": step.suspension_planned_on,
        "planned_time": step.suspension_planned_time,
        "important": is_important(customer),
        "done_on": step.done_on,
    }


def notice_render(*, step: DunningStep, account: ElectricityAccount) -> str:
    """The notice served to the customer, as HTML. A legal document: in Chinese whatever the user's
    language."""
    with translation.override("zh-hans"):
        return render_to_string(f"billing/notice_{step.kind}.html", notice_context(step=step, account=account))
