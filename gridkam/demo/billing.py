"""A realistic billing and payment history for the demo, through the real services.

Every month of quantities is billed by the bill run and issued on the 5th of the next month (due 15 days
later); payments follow each account's habit, drawn once per account from the seed:

- most accounts pay on time, a few days before the due date;
- some are sometimes late by a few weeks;
- a few chronic late payers pay one to three months late, sometimes in two parts, and now and then more than
  90 days late;
- one account is heading into default: on time until ten months ago, then later and later, its consumption
  falling, and the last three bills unpaid; its dunning has reached the notice of supply suspension;
- two accounts pay in advance (prepayment), one of them now below its low-balance threshold.

Payments dated after today are left out (not paid yet), so the latest bills are open and some are overdue.
Risk is scored at each of the last twelve month ends, for the trend, and today; the warnings of the past
months are closed as handled at the time, today's stay open for the managers.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from gridkam.billing.billrun import bill_run, bills_issue
from gridkam.billing.choices import (
    BillKind,
    BillStatus,
    DunningStepKind,
    PaymentKind,
    PaymentMethod,
    WarningStatus,
)
from gridkam.billing.dunning import step_take
from gridkam.billing.ledger import payments_bulk_record
from gridkam.billing.models import Bill, BillingTerms, RiskWarning
from gridkam.billing.risk import risk_score_all
from gridkam.customers.choices import AccountStatus
from gridkam.customers.models import ElectricityAccount
from gridkam.engagement.models import Task, TaskStatus
from gridkam.tariffs.models import MonthlyUsage
from gridkam.users.choices import Role
from gridkam.users.models import User

ISSUE_DAY = 5
PAYMENT_DAYS = 15
DEFAULT_BILL_MONTHS = 24
PUNCTUAL, SOMETIMES_LATE, CHRONIC = "punctual", "sometimes_late", "chronic"
HABITS = {PUNCTUAL: 0.84, SOMETIMES_LATE: 0.10, CHRONIC: 0.06}
DEFAULT_UNPAID = 3  # the defaulter's last bills left unpaid
DEFAULT_DECLINE_MONTHS = 8
METHODS = {PaymentMethod.BANK_TRANSFER: 0.7, PaymentMethod.ONLINE: 0.2, PaymentMethod.COUNTER: 0.1}
CENT = Decimal("0.01")


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _weighted(rng: random.Random, choices: dict) -> str:
    return rng.choices(list(choices), weights=list(choices.values()))[0]


def _part(amount: Decimal, share: float) -> Decimal:
    return (amount * Decimal(str(share))).quantize(CENT, rounding=ROUND_HALF_UP)


def _clerk_and_supervisor(account: ElectricityAccount) -> tuple[User | None, User | None]:
    """A billing clerk and a supervisor whose unit covers the account's customer (its unit or above)."""
    path = account.customer.org_unit.path

    def covering(role: str) -> User | None:
        people = User.objects.filter(role=role, is_active=True, org_unit__isnull=False).select_related("org_unit")
        matches = [u for u in people if path.startswith(u.org_unit.path)]
        return max(matches, key=lambda u: len(u.org_unit.path), default=None)

    return covering(Role.BILLING_CLERK), covering(Role.SUPERVISOR)


def _defaulter_decline(account: ElectricityAccount, months: list[dt.date]) -> None:
    """The defaulter's consumption falls month by month over its last months (before they are billed)."""
    recent = months[-DEFAULT_DECLINE_MONTHS:]
    rows = list(MonthlyUsage.objects.filter(account=account, month__in=recent))
    fields = ["sharp_kwh", "peak_kwh", "flat_kwh", "valley_kwh", "deep_valley_kwh", "lagging_kvarh", "leading_kvarh"]
    for row in rows:
        factor = Decimal(str(0.9 ** (recent.index(row.month) + 1)))
        for name in fields:
            setattr(row, name, (getattr(row, name) * factor).quantize(CENT, rounding=ROUND_HALF_UP))
    MonthlyUsage.objects.bulk_update(rows, fields)


def _payments(
    bills: list[Bill], habit: str, rng: random.Random, today: dt.date, *, defaulter: bool, months: list[dt.date]
) -> list[dict]:
    rows: list[dict] = []
    method = _weighted(rng, METHODS)
    for bill in bills:
        due = bill.due_date
        amount = bill.total
        if amount <= 0:
            continue
        parts: list[tuple[dt.date, Decimal]]
        if defaulter:
            back = len(months) - 1 - months.index(bill.period)  # 0 = the latest month
            if back < DEFAULT_UNPAID:
                parts = [(due + dt.timedelta(days=20), _part(amount, 0.3))] if back == DEFAULT_UNPAID - 1 else []
            elif back < 10:
                parts = [(due + dt.timedelta(days=8 * (10 - back)), amount)]
            else:
                parts = [(due - dt.timedelta(days=rng.randint(0, 5)), amount)]
        elif habit == PUNCTUAL:
            parts = [(due - dt.timedelta(days=rng.randint(0, 10)), amount)]
        elif habit == SOMETIMES_LATE:
            late = rng.randint(1, 25) if rng.random() < 0.35 else -rng.randint(0, 5)
            parts = [(due + dt.timedelta(days=late), amount)]
        else:
            late = rng.randint(95, 130) if rng.random() < 0.12 else rng.randint(15, 75)
            if rng.random() < 0.3:
                first = _part(amount, 0.6)
                parts = [(due + dt.timedelta(days=late // 2), first), (due + dt.timedelta(days=late), amount - first)]
            else:
                parts = [(due + dt.timedelta(days=late), amount)]
        for n, (day, value) in enumerate(parts, start=1):
            if day > today or value <= 0:
                continue
            rows.append(
                {
                    "account_id": bill.account_id,
                    "kind": PaymentKind.PAYMENT,
                    "method": method,
                    "amount": value,
                    "received_on": day,
                    "reference": f"DEMO-{bill.account.account_no}-{bill.period:%Y%m}-{n}",
                }
            )
    return rows


def _prepayments(account: ElectricityAccount, bills: list[Bill], today: dt.date, *, low: bool) -> list[dict]:
    """A prepayment account tops up at the start of each billed month a little more than it uses; the low one
    has not topped up for the last two months."""
    rows = []
    for n, bill in enumerate(bills):
        day = bill.issue_date - dt.timedelta(days=4)
        if day > today or (low and n >= len(bills) - 2):
            continue
        rows.append(
            {
                "account_id": account.pk,
                "kind": PaymentKind.PAYMENT,
                "method": PaymentMethod.ONLINE,
                "amount": _part(bill.total, 1.05),
                "received_on": day,
                "reference": f"DEMO-PRE-{account.account_no}-{bill.period:%Y%m}",
            }
        )
    return rows


def _dunning(account: ElectricityAccount, today: dt.date) -> int:
    """The defaulter's dunning so far: reminder, written notice and an approved notice of suspension."""
    clerk, supervisor = _clerk_and_supervisor(account)
    if clerk is None or supervisor is None:
        return 0
    start = today - dt.timedelta(days=18)
    step_take(account=account, kind=DunningStepKind.REMINDER, user=clerk, done_on=start)
    step_take(account=account, kind=DunningStepKind.WRITTEN_NOTICE, user=clerk, done_on=start + dt.timedelta(days=7))
    notice_day = today - dt.timedelta(days=1)
    step_take(
        account=account,
        kind=DunningStepKind.SUSPENSION_NOTICE,
        user=clerk,
        done_on=notice_day,
        approved_by=supervisor,
        suspension_planned_on=notice_day + dt.timedelta(days=7),
        reported_to_authority=True,
    )
    return 3


def demo_billing_load(
    *, months: int = DEFAULT_BILL_MONTHS, seed: int = 1, today: dt.date | None = None, progress=None
) -> dict:
    """Bill the last ``months`` months of quantities, issue them, record payments by habit, take the
    defaulter's dunning steps and score risk. Returns counts for the seed summary."""
    today = today or timezone.localdate()
    if months <= 0:
        return {"months": 0, "bills": 0, "payments": 0}
    rng = random.Random(seed * 7919 + 5)
    billed = MonthlyUsage.objects.filter(month__lt=today.replace(day=1))
    all_months = sorted(set(billed.values_list("month", flat=True)))
    periods = all_months[-months:]
    if not periods:
        return {"months": 0, "bills": 0, "payments": 0}
    accounts = list(
        ElectricityAccount.objects.exclude(status=AccountStatus.CLOSED)
        .filter(tariff__isnull=False, monthly_usage__month=periods[-1])
        .select_related("customer__org_unit")
        .order_by("account_no")
    )
    habits = {a.pk: _weighted(rng, HABITS) for a in accounts}
    chronic = [a for a in accounts if habits[a.pk] == CHRONIC]
    # The defaulter: a chronic late payer's neighbour in size would do; take the largest punctual account so that
    # the story (good payer turning bad) is the one the scorecard must catch.
    punctual = sorted((a for a in accounts if habits[a.pk] == PUNCTUAL), key=lambda a: (-a.capacity_kva, a.account_no))
    defaulter = punctual[0] if punctual else None
    prepaid = punctual[1:3]
    if defaulter is not None:
        _defaulter_decline(defaulter, periods)
    for n, account in enumerate(prepaid):
        BillingTerms.objects.update_or_create(
            account=account,
            defaults={"prepayment": True, "low_balance_threshold": Decimal("50000.00") if n == 1 else Decimal("0")},
        )
    bills_made = 0
    for index, period in enumerate(periods):
        run = bill_run(period=period)
        issue_date = min(_next_month(period).replace(day=ISSUE_DAY), today)
        bills_issue(period=period, user=None, run=run, issue_date=issue_date)
        bills_made += run.created
        if progress is not None:
            progress(index + 1, len(periods))
    issued = (
        Bill.objects.filter(status=BillStatus.ISSUED, kind=BillKind.REGULAR)
        .select_related("account")
        .order_by("account_id", "period")
    )
    by_account: dict[int, list[Bill]] = {}
    for bill in issued:
        by_account.setdefault(bill.account_id, []).append(bill)
    rows: list[dict] = []
    for account in accounts:
        bills = by_account.get(account.pk, [])
        if account in prepaid:
            rows += _prepayments(account, bills, today, low=account == prepaid[-1])
        else:
            is_defaulter = defaulter is not None and account.pk == defaulter.pk
            rows += _payments(bills, habits[account.pk], rng, today, defaulter=is_defaulter, months=periods)
    payments = payments_bulk_record(rows, user=None, source="entered") if rows else []
    steps = _dunning(defaulter, today) if defaulter is not None else 0
    # Risk at each of the last twelve month ends (the trend), then today; warnings of the past were handled then.
    month_ends = [p - dt.timedelta(days=1) for p in [*periods[-11:], _next_month(periods[-1])]]
    for day in month_ends:
        if day < today:
            risk_score_all(today=day)
    RiskWarning.objects.filter(status=WarningStatus.OPEN).update(
        status=WarningStatus.CLOSED, resolution="Demo history: handled at the time.", resolved_at=timezone.now()
    )
    Task.objects.filter(status=TaskStatus.OPEN, source="risk_warning").update(
        status=TaskStatus.DONE, done_at=timezone.now(), done_note="Demo history: handled at the time."
    )
    summary = risk_score_all(today=today)
    return {
        "months": len(periods),
        "bills": bills_made,
        "payments": len(payments),
        "chronic_late_payers": [a.account_no for a in chronic],
        "heading_into_default": defaulter.account_no if defaulter else None,
        "prepayment_accounts": [a.account_no for a in prepaid],
        "dunning_steps": steps,
        "risk_levels": summary["levels"],
        "risk_warnings": summary["warnings"],
    }
