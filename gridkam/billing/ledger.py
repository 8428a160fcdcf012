"""An account's ledger: payments and refunds, their allocation to bills, balance, aging, the
late-payment penalty (违约金) and prepayment warnings (DOMAIN.md "Fee recovery").

Services (writes): ``payment_record``, ``payments_bulk_record``, ``account_reallocate`` and
``accounts_reallocate``. Selectors (reads): ``account_balance``, ``account_credit``, ``aging``,
``with_arrears``, ``with_balance``, ``low_balance_accounts``, ``penalty``, ``penalty_lines``,
``account_penalty``, ``account_ledger``.

Allocation is always rebuilt from scratch for an account (never patched), so it is the same
however often and in whatever order payments, refunds, bills and credit notes arrive:

- the money available is the account's payments (oldest first by date received, then entry) less
  its refunds; a refund takes back the most recent money received on or before its date;
- it pays the open bills oldest first: issued monthly bills and rebills by due date, month, entry.
  Drafts, credit notes and bills cancelled by a credit note ("credited") are never open; what had
  been paid on a cancelled bill goes back to the pool and so to the next open bill (the rebill);
- what is left over is the account's credit, used by the next bill issued.
"""

from __future__ import annotations

import datetime
import importlib.util
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from gridkam.customers.models import ElectricityAccount

from .choices import AgingBucket, BillKind, BillStatus, PaymentKind, PaymentMethod, PaymentSource
from .models import Allocation, Bill, BillingTerms, Payment

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
OPEN_KINDS = (BillKind.REGULAR, BillKind.REBILL)
# Bills that count in the balance: everything issued, including credit notes (negative) and the
# originals they cancel (their totals cancel out).
CHARGED_STATUSES = (BillStatus.ISSUED, BillStatus.CREDITED)
MONEY = DecimalField(max_digits=14, decimal_places=2)
BATCH = 1000


def money(value) -> Decimal:
    """Yuan to the fen, half up."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _today(today: datetime.date | None) -> datetime.date:
    return today or timezone.localdate()


AS_OF_FIRST = datetime.date(1900, 1, 1)
AS_OF_LAST = datetime.date(2999, 12, 31)


def as_of_parse(text: str) -> datetime.date:
    """The day of an ``as_of`` parameter, YYYY-MM-DD from 1900 to 2999: ValueError otherwise (aging and the
    penalty count days either side of it, which the first and last days of the calendar do not have)."""
    day = datetime.date.fromisoformat(text)
    if not AS_OF_FIRST <= day <= AS_OF_LAST:
        raise ValueError(text)
    return day


def open_bill_q(prefix: str = "") -> Q:
    """Bills a payment can go to: issued monthly bills and rebills (not drafts, credit notes or
    cancelled originals)."""
    return Q(**{f"{prefix}status": BillStatus.ISSUED, f"{prefix}kind__in": OPEN_KINDS})


def unpaid_bill_q(prefix: str = "") -> Q:
    return open_bill_q(prefix) & Q(**{f"{prefix}amount_paid__lt": F(f"{prefix}total")})


# --- allocation ------------------------------------------------------------------------------------


@dataclass
class _Money:
    """Money of one payment still to be applied."""

    payment_id: int
    received_on: datetime.date
    left: Decimal


def _pool(payments: list[dict]) -> list[_Money]:
    """The account's payments less its refunds, oldest first. A refund takes back the most recent
    money received on or before its date; a refund larger than that (possible only in imported
    history) is taken from the next payments, so the pool never exceeds payments minus refunds."""
    pool: list[_Money] = []
    owed_back = ZERO
    for row in payments:  # ordered by date received, payments before refunds on the same day, pk
        if row["kind"] == PaymentKind.REFUND:
            left = row["amount"]
            for item in reversed(pool):
                if not left:
                    break
                take = min(item.left, left)
                item.left -= take
                left -= take
            owed_back += left
        else:
            amount = row["amount"]
            take = min(amount, owed_back)
            owed_back -= take
            pool.append(_Money(row["pk"], row["received_on"], amount - take))
    return [item for item in pool if item.left > 0]


def _allocate(bills: list[Bill], cancelled: set[int], payments: list[dict]):
    """Allocations (payment_id, bill_id, amount, date) and each bill's (status, amount_paid,
    settled_on) for one account. ``bills`` are its non-draft bills in FIFO order."""
    allocations: list[tuple[int, int, Decimal, datetime.date]] = []
    state: dict[int, tuple[str, Decimal, datetime.date | None]] = {}
    pool = _pool(payments)
    position = 0
    for bill in bills:
        status = bill.status
        if bill.pk in cancelled and status == BillStatus.ISSUED:
            status = BillStatus.CREDITED
        if status != BillStatus.ISSUED or bill.kind not in OPEN_KINDS:
            state[bill.pk] = (status, ZERO, None)
            continue
        if bill.total <= 0:  # nothing to pay: settled when issued
            state[bill.pk] = (status, ZERO, bill.issue_date or bill.due_date)
            continue
        paid = ZERO
        settled_on = None
        while paid < bill.total and position < len(pool):
            item = pool[position]
            take = min(item.left, bill.total - paid)
            # Money received before the bill existed (credit) is applied on the day it is issued.
            day = max(item.received_on, bill.issue_date) if bill.issue_date else item.received_on
            allocations.append((item.payment_id, bill.pk, take, day))
            paid += take
            item.left -= take
            if not item.left:
                position += 1
            if paid == bill.total:
                settled_on = day
        state[bill.pk] = (status, paid, settled_on)
    return allocations, state


def _fifo_key(bill: Bill):
    return (bill.due_date or datetime.date.max, bill.period, bill.pk)


@transaction.atomic
def _reallocate_chunk(account_ids: list[int]) -> None:
    # Serialise concurrent payments on the same account: the rebuild reads then rewrites its rows.
    list(ElectricityAccount.objects.select_for_update().filter(pk__in=account_ids).order_by("pk").values("pk"))
    bills = list(
        Bill.objects.filter(account_id__in=account_ids)
        .exclude(status=BillStatus.DRAFT)
        .only(
            "pk",
            "account_id",
            "kind",
            "status",
            "period",
            "total",
            "amount_paid",
            "issue_date",
            "due_date",
            "settled_on",
            "corrects_id",
        )
        .order_by()
    )
    cancelled = {
        bill.corrects_id
        for bill in bills
        if bill.kind == BillKind.CREDIT_NOTE and bill.status == BillStatus.ISSUED and bill.corrects_id
    }
    payments = (
        Payment.objects.filter(account_id__in=account_ids)
        .order_by("account_id", "received_on", "-kind", "pk")  # "payment" > "refund": payments first
        .values("pk", "account_id", "kind", "amount", "received_on")
    )
    bills_by_account: dict[int, list[Bill]] = defaultdict(list)
    for bill in bills:
        bills_by_account[bill.account_id].append(bill)
    payments_by_account: dict[int, list[dict]] = defaultdict(list)
    for row in payments:
        payments_by_account[row["account_id"]].append(row)
    existing: dict[int, set] = defaultdict(set)
    for row in (
        Allocation.objects.filter(payment__account_id__in=account_ids)
        .order_by()
        .values_list("payment__account_id", "payment_id", "bill_id", "amount", "allocated_on")
    ):
        existing[row[0]].add(row[1:])

    changed_bills: list[Bill] = []
    new_allocations: list[Allocation] = []
    rewrite: list[int] = []
    for account_id in account_ids:
        account_bills = sorted(bills_by_account.get(account_id, []), key=_fifo_key)
        allocations, state = _allocate(account_bills, cancelled, payments_by_account.get(account_id, []))
        for bill in account_bills:
            status, paid, settled_on = state[bill.pk]
            if (bill.status, bill.amount_paid, bill.settled_on) != (status, paid, settled_on):
                bill.status, bill.amount_paid, bill.settled_on = status, paid, settled_on
                changed_bills.append(bill)
        if set(allocations) != existing.get(account_id, set()):
            rewrite.append(account_id)
            new_allocations += [
                Allocation(payment_id=p, bill_id=b, amount=amount, allocated_on=day)
                for p, b, amount, day in allocations
            ]
    if rewrite:
        Allocation.objects.filter(payment__account_id__in=rewrite).delete()
        Allocation.objects.bulk_create(new_allocations, batch_size=BATCH)
    if changed_bills:
        Bill.objects.bulk_update(changed_bills, ["status", "amount_paid", "settled_on"], batch_size=BATCH)


def _dunning_hook():
    """The dunning part's hook after payments: ``dunning_on_payments(account_ids)`` (one query for
    many accounts) or ``dunning_on_payment(account_id)``, called per account; None if that part is
    not installed."""
    if importlib.util.find_spec("gridkam.billing.dunning") is None:
        return None
    from gridkam.billing import dunning

    many = getattr(dunning, "dunning_on_payments", None)
    if many is not None:
        return many
    one = getattr(dunning, "dunning_on_payment", None)
    if one is None:
        return None

    def each(account_ids):
        for account_id in account_ids:
            one(account_id)

    return each


def accounts_reallocate(account_ids: Iterable[int], *, today: datetime.date | None = None) -> None:
    """Rebuild the allocations of several accounts (see the module docstring) in batches, then let
    dunning see the payments (a paid-up account stops its dunning sequence)."""
    ids = sorted({int(pk) for pk in account_ids})
    for start in range(0, len(ids), BATCH):
        _reallocate_chunk(ids[start : start + BATCH])
    hook = _dunning_hook()
    if hook is not None and ids:
        hook(ids)


def account_reallocate(*, account_id: int, today: datetime.date | None = None) -> None:
    """Rebuild one account's allocations, ``Bill.amount_paid`` and ``settled_on`` FIFO. Idempotent:
    calling it again without new data writes nothing. Allocation depends on the recorded money and
    bills only, not on the day it runs (``today`` is accepted for callers that pass it)."""
    accounts_reallocate([account_id], today=today)


# --- payments ------------------------------------------------------------------------------------


def _payment_errors(
    *, account, kind, method, amount, received_on, reference, today: datetime.date
) -> tuple[dict, Decimal | None]:
    errors: dict[str, list[str]] = defaultdict(list)
    try:
        amount = Decimal(str(amount)) if amount is not None and amount != "" else None
    except ArithmeticError:
        amount = None
    if amount is None or not amount.is_finite():
        errors["amount"].append(_("Enter the amount."))
        amount = None
    elif amount <= 0:
        errors["amount"].append(_("The amount must be more than zero."))
    elif amount != amount.quantize(CENT):
        errors["amount"].append(_("Amounts are in yuan with at most two decimals."))
    elif amount >= Decimal("1e12"):
        errors["amount"].append(_("The amount is too large."))
    if kind not in PaymentKind.values:
        errors["kind"].append(_("Choose payment or refund."))
    if method not in PaymentMethod.values:
        errors["method"].append(_("Choose a payment method."))
    if not isinstance(received_on, datetime.date):
        errors["received_on"].append(_("Enter the date."))
    elif received_on > today:
        errors["received_on"].append(_("The date cannot be in the future."))
    elif received_on < AS_OF_FIRST:
        errors["received_on"].append(_("Enter a date as YYYY-MM-DD, from 1900 to 2999."))
    if reference and Payment.objects.filter(account=account, reference=reference).exists():
        errors["reference"].append(_("A payment with this reference is already recorded for the account."))
    return errors, amount


@transaction.atomic
def payment_record(
    *,
    account: ElectricityAccount,
    kind: str,
    method: str,
    amount,
    received_on: datetime.date,
    reference: str = "",
    note: str = "",
    user,
    source: str = PaymentSource.ENTERED,
) -> Payment:
    """Record money received for the account (or a refund of its credit) and reallocate.

    Raises ``ValidationError`` with field names: amount (more than zero, fen; a refund at most the
    credit not allocated to bills), received_on (not in the future), reference (unique per
    account), kind, method.
    """
    ElectricityAccount.objects.select_for_update().filter(pk=account.pk).first()
    reference = (reference or "").strip()
    errors, amount = _payment_errors(
        account=account,
        kind=kind,
        method=method,
        amount=amount,
        received_on=received_on,
        reference=reference,
        today=timezone.localdate(),
    )
    if kind == PaymentKind.REFUND and "amount" not in errors:
        _reallocate_chunk([account.pk])  # the credit is what the current bills leave
        credit = account_credit(account.pk)
        if amount > credit:
            errors["amount"].append(
                _("Only the credit not allocated to bills can be refunded: %(credit)s yuan.") % {"credit": credit}
            )
    if errors:
        raise ValidationError(dict(errors))
    payment = Payment.objects.create(
        account=account,
        kind=kind,
        method=method,
        amount=amount,
        received_on=received_on,
        reference=reference,
        note=note or "",
        source=source,
        created_by=user if getattr(user, "pk", None) else None,
    )
    account_reallocate(account_id=account.pk)
    return payment


@transaction.atomic
def payments_bulk_record(rows: list[dict], *, user, source: str = PaymentSource.IMPORTED) -> list[Payment]:
    """Record many payments at once (imports): one bulk insert, then each touched account is
    reallocated once. Each row: ``account`` (or ``account_id``), ``kind`` (default payment),
    ``method``, ``amount``, ``received_on``, optional ``reference`` and ``note``.

    The caller checks its file (columns, duplicates); this refuses, with a ``ValidationError`` naming
    the row (1-based) and nothing written: an amount not above zero, an unknown kind or method, a
    date in the future, and a refund that leaves the account owing on its day (a refund pays back
    credit only). The database refuses a reference already recorded for the account."""
    created_by = user if getattr(user, "pk", None) else None
    today = timezone.localdate()
    errors: list[str] = []
    payments: list[Payment] = []
    for number, row in enumerate(rows, start=1):
        kind = row.get("kind") or PaymentKind.PAYMENT
        amount = money(row["amount"])
        if amount <= 0:
            errors.append(_("Row %(row)s: the amount must be more than zero.") % {"row": number})
        if kind not in PaymentKind.values or row["method"] not in PaymentMethod.values:
            errors.append(_("Row %(row)s: unknown kind or method of payment.") % {"row": number})
        if row["received_on"] > today:
            errors.append(_("Row %(row)s: the date cannot be in the future.") % {"row": number})
        payments.append(
            Payment(
                account_id=row["account_id"] if "account_id" in row else row["account"].pk,
                kind=kind,
                method=row["method"],
                amount=amount,
                received_on=row["received_on"],
                reference=(row.get("reference") or "").strip(),
                note=row.get("note") or "",
                source=source,
                created_by=created_by,
            )
        )
    if errors:
        raise ValidationError(errors)
    Payment.objects.bulk_create(payments, batch_size=BATCH)
    refunds = [(number, p) for number, p in enumerate(payments, start=1) if p.kind == PaymentKind.REFUND]
    if refunds:
        _check_refunds(refunds)
    accounts_reallocate({p.account_id for p in payments})
    return payments


def _check_refunds(refunds: list[tuple[int, Payment]]) -> None:
    """Each refund must leave its account's balance on its day at zero or in credit: two queries for
    all the accounts."""
    account_ids = {p.account_id for _n, p in refunds}
    events: dict[int, list[tuple[datetime.date, Decimal]]] = defaultdict(list)
    charged = Bill.objects.filter(account_id__in=account_ids, status__in=CHARGED_STATUSES, issue_date__isnull=False)
    for account_id, day, total in charged.order_by().values_list("account_id", "issue_date", "total"):
        events[account_id].append((day, total))
    for account_id, day, kind, amount in (
        Payment.objects.filter(account_id__in=account_ids)
        .order_by()
        .values_list("account_id", "received_on", "kind", "amount")
    ):
        events[account_id].append((day, amount if kind == PaymentKind.REFUND else -amount))
    errors = []
    for number, refund in refunds:
        balance = sum((amount for day, amount in events[refund.account_id] if day <= refund.received_on), ZERO)
        if balance > 0:
            errors.append(
                _("Row %(row)s: the refund is more than the account's credit on %(day)s.")
                % {"row": number, "day": refund.received_on.isoformat()}
            )
    if errors:
        raise ValidationError(errors)


# --- balance and credit --------------------------------------------------------------------------


def account_balance(account_id: int, *, as_of: datetime.date | None = None) -> Decimal:
    """Issued charges minus payments plus refunds: positive = owed, negative = credit."""
    bills = Bill.objects.filter(account_id=account_id, status__in=CHARGED_STATUSES)
    payments = Payment.objects.filter(account_id=account_id)
    if as_of:
        bills = bills.filter(issue_date__lte=as_of)
        payments = payments.filter(received_on__lte=as_of)
    charged = bills.aggregate(s=Sum("total"))["s"] or ZERO
    moved = payments.aggregate(
        paid=Sum("amount", filter=Q(kind=PaymentKind.PAYMENT)),
        refunded=Sum("amount", filter=Q(kind=PaymentKind.REFUND)),
    )
    return money(charged - (moved["paid"] or ZERO) + (moved["refunded"] or ZERO))


def account_credit(account_id: int) -> Decimal:
    """Money received and not allocated to any bill (what can be refunded or used by the next bill)."""
    moved = Payment.objects.filter(account_id=account_id).aggregate(
        paid=Sum("amount", filter=Q(kind=PaymentKind.PAYMENT)),
        refunded=Sum("amount", filter=Q(kind=PaymentKind.REFUND)),
    )
    allocated = Allocation.objects.filter(payment__account_id=account_id).aggregate(s=Sum("amount"))["s"] or ZERO
    return max(ZERO, money((moved["paid"] or ZERO) - (moved["refunded"] or ZERO) - allocated))


def _sum_subquery(qs: QuerySet, expression) -> Coalesce:
    """A correlated SUM over rows of the outer account (one query with the outer queryset)."""
    sub = qs.order_by().values("account_id").annotate(s=Sum(expression)).values("s")[:1]
    return Coalesce(Subquery(sub, output_field=MONEY), Value(ZERO), output_field=MONEY)


def with_balance(accounts: QuerySet, *, as_of: datetime.date | None = None) -> QuerySet:
    """Annotate accounts with ``balance`` (owed if positive) and ``credit`` (−balance, for
    prepayment accounts)."""
    bills = Bill.objects.filter(account_id=OuterRef("pk"), status__in=CHARGED_STATUSES)
    paid = Payment.objects.filter(account_id=OuterRef("pk"), kind=PaymentKind.PAYMENT)
    refunded = Payment.objects.filter(account_id=OuterRef("pk"), kind=PaymentKind.REFUND)
    if as_of:
        bills = bills.filter(issue_date__lte=as_of)
        paid = paid.filter(received_on__lte=as_of)
        refunded = refunded.filter(received_on__lte=as_of)
    return accounts.annotate(
        balance=ExpressionWrapper(
            _sum_subquery(bills, "total") - _sum_subquery(paid, "amount") + _sum_subquery(refunded, "amount"),
            output_field=MONEY,
        ),
        credit=ExpressionWrapper(-F("balance"), output_field=MONEY),
    )


def with_arrears(accounts: QuerySet, today: datetime.date) -> QuerySet:
    """Annotate accounts with ``open_amount`` (unpaid on issued bills), ``arrears`` (the part past
    its due date on ``today``) and ``oldest_due`` (the earliest due date of an unpaid bill): one
    query, so the collections workbench and risk scoring can filter and sort on them."""
    unpaid = Bill.objects.filter(unpaid_bill_q(), account_id=OuterRef("pk"))
    open_expr = F("total") - F("amount_paid")
    oldest = unpaid.order_by().values("account_id").annotate(d=Min("due_date")).values("d")[:1]
    return accounts.annotate(
        open_amount=_sum_subquery(unpaid, open_expr),
        arrears=_sum_subquery(unpaid.filter(due_date__lt=today), open_expr),
        oldest_due=Subquery(oldest, output_field=DateField()),
    )


# --- aging ---------------------------------------------------------------------------------------

AGING_LIMITS = (  # bucket, days past due from, to (inclusive)
    (AgingBucket.DAYS_1_30, 1, 30),
    (AgingBucket.DAYS_31_60, 31, 60),
    (AgingBucket.DAYS_61_90, 61, 90),
)


def aging_bucket(due_date: datetime.date | None, today: datetime.date) -> str:
    """The bucket of one unpaid amount: days past due = today − due date (due today is not due)."""
    if due_date is None or due_date >= today:
        return AgingBucket.NOT_DUE
    late = (today - due_date).days
    for bucket, _low, high in AGING_LIMITS:
        if late <= high:
            return bucket
    return AgingBucket.OVER_90


def aging_empty() -> dict[str, Decimal]:
    return dict.fromkeys(AgingBucket.values, ZERO)


def aging(*, account_ids=None, today: datetime.date) -> dict[int, dict[str, Decimal]]:
    """Unpaid amounts of issued bills per account and bucket (``AgingBucket`` values), one query.

    ``account_ids``: a list of ids (each gets a row, zeros included), a queryset of accounts, or
    None for all accounts with unpaid bills.
    """
    bills = Bill.objects.filter(unpaid_bill_q())
    if isinstance(account_ids, QuerySet):
        bills = bills.filter(account_id__in=account_ids.values("pk"))
    elif account_ids is not None:
        account_ids = list(account_ids)
        bills = bills.filter(account_id__in=account_ids)
    open_expr = F("total") - F("amount_paid")
    sums = {AgingBucket.NOT_DUE: Sum(open_expr, filter=Q(due_date__isnull=True) | Q(due_date__gte=today))}
    for bucket, low, high in AGING_LIMITS:
        sums[bucket] = Sum(
            open_expr,
            filter=Q(
                due_date__lte=today - datetime.timedelta(days=low), due_date__gte=today - datetime.timedelta(days=high)
            ),
        )
    sums[AgingBucket.OVER_90] = Sum(open_expr, filter=Q(due_date__lt=today - datetime.timedelta(days=90)))
    rows = bills.order_by().values("account_id").annotate(**{f"b_{key}": value for key, value in sums.items()})
    result: dict[int, dict[str, Decimal]] = {}
    if isinstance(account_ids, list):
        result = {int(pk): aging_empty() for pk in account_ids}
    for row in rows:
        result[row["account_id"]] = {key: money(row[f"b_{key}"] or ZERO) for key in AgingBucket.values}
    return result


# --- late-payment penalty ------------------------------------------------------------------------


class PenaltyRule:
    CURRENT_YEAR = "current_year"
    EARLIER_YEARS = "earlier_years"
    MINIMUM = "minimum"


@dataclass(frozen=True)
class PenaltyLine:
    """One stretch of days with the same open amount and rate. ``amount`` is rounded for display;
    the bill's penalty is rounded once, on the exact sum."""

    start: datetime.date
    end: datetime.date
    days: int
    open_amount: Decimal
    rate: Decimal
    rule: str
    exact: Decimal

    @property
    def amount(self) -> Decimal:
        return money(self.exact)

    @property
    def rate_percent(self) -> Decimal:
        return (self.rate * 100).normalize()

    @property
    def rule_label(self) -> str:
        return {
            PenaltyRule.CURRENT_YEAR: _("current year's arrears"),
            PenaltyRule.EARLIER_YEARS: _("arrears carried from earlier years"),
            PenaltyRule.MINIMUM: _("minimum penalty"),
        }[self.rule]


def penalty_rates_display() -> dict[str, Decimal]:
    """The configured rates in percent a day and the minimum, for the page that explains the rule."""
    current, earlier, minimum = penalty_settings()
    return {"current": (current * 100).normalize(), "earlier": (earlier * 100).normalize(), "minimum": minimum}


def penalty_settings() -> tuple[Decimal, Decimal, Decimal]:
    conf = settings.GRIDKAM
    return (
        Decimal(str(conf["PENALTY_RATE_CURRENT_YEAR"])),
        Decimal(str(conf["PENALTY_RATE_EARLIER_YEARS"])),
        Decimal(str(conf["PENALTY_MINIMUM"])),
    )


def penalty_compute(
    *,
    total: Decimal,
    due_date: datetime.date | None,
    period: datetime.date,
    payments: Iterable[tuple[datetime.date, Decimal]],
    today: datetime.date,
    exempt: bool = False,
) -> list[PenaltyLine]:
    """The late-payment penalty (违约金) of one bill as lines; their exact amounts add up to it.

    The rule (《供电营业规则》, rates and minimum configurable in ``GRIDKAM``):

    - it accrues for each day from the day *after* the due date up to and including ``today``;
    - on each day, on the amount still open that day: a payment reduces it from the day after it
      was received (so a bill paid on its due date owes nothing, one paid the next day one day);
    - at ``PENALTY_RATE_CURRENT_YEAR`` per day for days in the calendar year of the billing month,
      ``PENALTY_RATE_EARLIER_YEARS`` for days from 1 January of a later year (arrears carried from
      earlier years);
    - at least ``PENALTY_MINIMUM`` yuan when any penalty is due (a "minimum" line tops it up);
    - none for accounts exempt in their billing terms;
    - rounded half up to the fen once, at the end (``penalty_total``).
    """
    if exempt or due_date is None or total <= 0 or today <= due_date:
        return []
    rate_current, rate_earlier, minimum = penalty_settings()
    # Days on which the open amount or the rate changes: the day after each payment, and 1 January.
    paid_by_day: dict[datetime.date, Decimal] = defaultdict(Decimal)
    paid_before = ZERO
    first = due_date + datetime.timedelta(days=1)
    for day, amount in payments:
        if day < first:
            paid_before += amount
        else:
            paid_by_day[day + datetime.timedelta(days=1)] += amount
    changes = {d for d in paid_by_day if d <= today}
    changes |= {datetime.date(year, 1, 1) for year in range(first.year + 1, today.year + 1)}
    lines: list[PenaltyLine] = []
    open_amount = total - paid_before
    start = first
    for change in [*sorted(changes), today + datetime.timedelta(days=1)]:
        if change > start and open_amount > 0:
            earlier = start.year > period.year
            rate = rate_earlier if earlier else rate_current
            days = (change - start).days
            lines.append(
                PenaltyLine(
                    start=start,
                    end=change - datetime.timedelta(days=1),
                    days=days,
                    open_amount=open_amount,
                    rate=rate,
                    rule=PenaltyRule.EARLIER_YEARS if earlier else PenaltyRule.CURRENT_YEAR,
                    exact=open_amount * rate * days,
                )
            )
        open_amount -= paid_by_day.get(change, ZERO)
        start = max(start, change)
    accrued = sum((line.exact for line in lines), ZERO)
    if lines and money(accrued) < minimum:
        lines.append(
            PenaltyLine(
                start=lines[-1].end,
                end=lines[-1].end,
                days=0,
                open_amount=ZERO,
                rate=ZERO,
                rule=PenaltyRule.MINIMUM,
                exact=minimum - accrued,
            )
        )
    return lines


def penalty_total(lines: list[PenaltyLine]) -> Decimal:
    return money(sum((line.exact for line in lines), ZERO))


def _exempt(account_id: int) -> bool:
    return BillingTerms.objects.filter(account_id=account_id, penalty_exempt=True).exists()


def _bill_payments(bill: Bill) -> list[tuple[datetime.date, Decimal]]:
    cache = getattr(bill, "_prefetched_objects_cache", {})
    if "allocations" in cache:
        return [(a.allocated_on, a.amount) for a in cache["allocations"]]
    return list(bill.allocations.values_list("allocated_on", "amount"))


def _penalised(bill: Bill) -> bool:
    return bill.status == BillStatus.ISSUED and bill.kind in OPEN_KINDS


def penalty_lines(bill: Bill, today: datetime.date, *, exempt: bool | None = None) -> list[PenaltyLine]:
    """The penalty of one bill on ``today`` as lines (see ``penalty_compute`` for the rule).
    Credit notes, drafts and cancelled bills carry none."""
    if not _penalised(bill):
        return []
    if exempt is None:
        exempt = _exempt(bill.account_id)
    return penalty_compute(
        total=bill.total,
        due_date=bill.due_date,
        period=bill.period,
        payments=_bill_payments(bill),
        today=today,
        exempt=exempt,
    )


def penalty(bill: Bill, *, today: datetime.date, exempt: bool | None = None) -> Decimal:
    """The late-payment penalty accrued on one bill up to ``today``, in yuan."""
    return penalty_total(penalty_lines(bill, today, exempt=exempt))


def bills_penalties(bills: Iterable[Bill], *, today: datetime.date, exempt: bool) -> dict[int, list[PenaltyLine]]:
    """Penalty lines of many bills of one account: one query for all their allocations."""
    bills = [bill for bill in bills if _penalised(bill)]
    if exempt or not bills:
        return {bill.pk: [] for bill in bills}
    paid: dict[int, list] = defaultdict(list)
    for bill_id, day, amount in (
        Allocation.objects.filter(bill__in=[b.pk for b in bills])
        .order_by()
        .values_list("bill_id", "allocated_on", "amount")
    ):
        paid[bill_id].append((day, amount))
    return {
        bill.pk: penalty_compute(
            total=bill.total, due_date=bill.due_date, period=bill.period, payments=paid[bill.pk], today=today
        )
        for bill in bills
    }


def account_penalty(account_id: int, today: datetime.date, *, include_settled: bool = False) -> Decimal:
    """The penalty accrued to ``today`` on the account's unpaid bills (with ``include_settled``, also on
    bills already paid late). Three queries whatever the number of bills."""
    if _exempt(account_id):
        return ZERO
    bills = Bill.objects.filter(open_bill_q(), account_id=account_id, due_date__lt=today)
    if not include_settled:
        bills = bills.filter(amount_paid__lt=F("total"))
    lines = bills_penalties(list(bills), today=today, exempt=False)
    return money(sum((penalty_total(bill_lines) for bill_lines in lines.values()), ZERO))


# --- prepayment ----------------------------------------------------------------------------------


def low_balance_accounts(user, today: datetime.date | None = None) -> QuerySet:
    """Prepayment accounts the user can see whose credit on ``today`` is below their warning
    threshold, annotated with ``balance``, ``credit`` and ``threshold``; lowest credit first."""
    accounts = ElectricityAccount.objects.visible_to(user).filter(billing_terms__prepayment=True)
    return (
        with_balance(accounts, as_of=_today(today))
        .annotate(threshold=F("billing_terms__low_balance_threshold"))
        .filter(credit__lt=F("threshold"))
        .select_related("customer")
        .order_by("credit", "account_no")
    )


@dataclass(frozen=True)
class PrepaymentState:
    prepayment: bool
    credit: Decimal
    threshold: Decimal

    @property
    def low(self) -> bool:
        return self.prepayment and self.credit < self.threshold


def prepayment_state(terms: BillingTerms | None, balance: Decimal) -> PrepaymentState:
    if terms is None:
        return PrepaymentState(False, max(ZERO, -balance), ZERO)
    return PrepaymentState(terms.prepayment, -balance, terms.low_balance_threshold)


def account_terms(account_id: int) -> BillingTerms | None:
    return BillingTerms.objects.filter(account_id=account_id).first()


# --- the account's billing picture ---------------------------------------------------------------

AGING_ORDER = [
    AgingBucket.NOT_DUE,
    AgingBucket.DAYS_1_30,
    AgingBucket.DAYS_31_60,
    AgingBucket.DAYS_61_90,
    AgingBucket.OVER_90,
]


@dataclass
class AccountLedger:
    """Everything the account's billing page and API show, computed in a fixed number of queries."""

    account: ElectricityAccount
    today: datetime.date
    terms: BillingTerms | None
    balance: Decimal
    open_amount: Decimal
    arrears: Decimal
    oldest_due: datetime.date | None
    aging: dict[str, Decimal]
    penalty: Decimal
    bills: list[Bill]
    payments: list[Payment]

    @property
    def exempt(self) -> bool:
        return bool(self.terms and self.terms.penalty_exempt)

    @property
    def credit(self) -> Decimal:
        return max(ZERO, -self.balance)

    @property
    def prepayment(self) -> PrepaymentState:
        return prepayment_state(self.terms, self.balance)

    @property
    def penalised_bills(self) -> list[Bill]:
        return [bill for bill in self.bills if getattr(bill, "penalty", ZERO) > 0]

    @property
    def aging_rows(self) -> list[tuple[str, str, Decimal, float]]:
        """(bucket, label, amount, share of the open amount in percent) in bucket order."""
        total = sum(self.aging.values(), ZERO)
        return [
            (
                bucket,
                AgingBucket(bucket).label,
                self.aging[bucket],
                float(self.aging[bucket] / total * 100) if total else 0.0,
            )
            for bucket in AGING_ORDER
        ]


def account_for_billing(*, user, pk: int) -> ElectricityAccount:
    """The account if the user sees it (``ElectricityAccount.DoesNotExist`` otherwise)."""
    return ElectricityAccount.objects.visible_to(user).select_related("customer").get(pk=pk)


def account_ledger(*, account: ElectricityAccount, today: datetime.date, with_drafts: bool = True) -> AccountLedger:
    """The account's balance, arrears, aging, penalty to ``today``, its bills (each with ``penalty``,
    ``penalty_lines`` and ``bucket``) and payments (with their allocations and bills)."""
    figures = (
        with_arrears(with_balance(ElectricityAccount.objects.filter(pk=account.pk)), today)
        .values("balance", "open_amount", "arrears", "oldest_due")
        .get()
    )
    terms = account_terms(account.pk)
    bills_qs = Bill.objects.filter(account_id=account.pk).order_by("-period", "kind", "-pk")
    if not with_drafts:
        bills_qs = bills_qs.exclude(status=BillStatus.DRAFT)
    bills = list(bills_qs)
    exempt = bool(terms and terms.penalty_exempt)
    lines = bills_penalties(bills, today=today, exempt=exempt)
    total_penalty = ZERO
    for bill in bills:
        bill.penalty_lines = lines.get(bill.pk, [])
        bill.penalty = penalty_total(bill.penalty_lines)
        bill.is_open = _penalised(bill) and bill.amount_paid < bill.total
        bill.bucket = aging_bucket(bill.due_date, today) if bill.is_open else ""
        if bill.is_open:
            total_penalty += bill.penalty
    payments = list(
        Payment.objects.filter(account_id=account.pk)
        .select_related("created_by")
        .prefetch_related(
            Prefetch("allocations", Allocation.objects.select_related("bill").order_by("allocated_on", "pk"))
        )
        .order_by("-received_on", "-pk")
    )
    return AccountLedger(
        account=account,
        today=today,
        terms=terms,
        balance=money(figures["balance"]),
        open_amount=money(figures["open_amount"]),
        arrears=money(figures["arrears"]),
        oldest_due=figures["oldest_due"],
        aging=aging(account_ids=[account.pk], today=today)[account.pk],
        penalty=money(total_penalty),
        bills=bills,
        payments=payments,
    )
