"""Shared fixtures of the billing tests: bills and payments made directly, without the bill run."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

import pytest

from gridkam.billing.choices import BillKind, BillSource, BillStatus, PaymentKind, PaymentMethod
from gridkam.billing.models import Bill, BillingTerms, Payment

_numbers = itertools.count(1)


def make_bill(
    account,
    period: str | datetime.date,
    total: str | Decimal,
    *,
    due: str | datetime.date | None = None,
    issued: str | datetime.date | None = None,
    status: str = BillStatus.ISSUED,
    kind: str = BillKind.REGULAR,
    source: str = BillSource.COMPUTED,
    corrects: Bill | None = None,
    **fields,
) -> Bill:
    """An issued bill of ``account`` for the month ``period`` ("2026-01"), due ``due`` (default: the
    15th of the next month) and issued ``issued`` (default: the 1st of the next month)."""
    if isinstance(period, str):
        period = datetime.date.fromisoformat(f"{period}-01")
    next_month = (period + datetime.timedelta(days=32)).replace(day=1)
    if isinstance(due, str):
        due = datetime.date.fromisoformat(due)
    if isinstance(issued, str):
        issued = datetime.date.fromisoformat(issued)
    issued = issued or next_month
    due = due or next_month.replace(day=15)
    draft = status == BillStatus.DRAFT
    return Bill.objects.create(
        account=account,
        period=period,
        kind=kind,
        status=status,
        source=source,
        number=None if draft else f"T{next(_numbers):08d}",
        corrects=corrects,
        total=Decimal(str(total)),
        issue_date=None if draft else issued,
        due_date=None if draft else due,
        **fields,
    )


def make_payment(account, amount, received_on, *, kind=PaymentKind.PAYMENT, method=PaymentMethod.BANK_TRANSFER, **f):
    """A payment row without reallocation (call ``account_reallocate`` yourself)."""
    if isinstance(received_on, str):
        received_on = datetime.date.fromisoformat(received_on)
    return Payment.objects.create(
        account=account, amount=Decimal(str(amount)), received_on=received_on, kind=kind, method=method, **f
    )


def set_terms(account, **fields) -> BillingTerms:
    terms, _ = BillingTerms.objects.update_or_create(account=account, defaults=fields)
    return terms


@pytest.fixture
def account(p):
    """Customer A1's account (manager's portfolio; the portal user's own)."""
    return p.a1.accounts.get()


@pytest.fixture
def other_account(p):
    """Customer B1's account (city B: the outsider's)."""
    return p.b1.accounts.get()
