# ruff: noqa: F811 (the shared fixtures are imported from test_billrun and named as arguments)
"""Issuing bills (one, or a run's drafts in bulk) and correcting an issued bill with a credit note and a rebill."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from gridkam.billing.billrun import bill_correct, bill_issue, bill_run, bills_issue
from gridkam.billing.choices import BillKind, BillSource, BillStatus
from gridkam.billing.models import Bill, BillingTerms

from .test_billrun import MONTH, account_of, billing, samples, usage_for  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
ISSUE_DAY = dt.date(2026, 4, 3)


@pytest.fixture(autouse=True)
def reallocations(monkeypatch):
    """The accounts whose payments were reallocated (by the real ledger, which has its own tests)."""
    from gridkam.billing import billrun

    calls: list[int] = []
    real = billrun._reallocate

    def spy(account_ids):
        account_ids = list(account_ids)
        calls.extend(account_ids)
        real(account_ids)

    monkeypatch.setattr(billrun, "_reallocate", spy)
    return calls


@pytest.fixture
def drafts(billing):
    bill_run(period=MONTH)
    return {b.account_id: b for b in Bill.objects.filter(period=MONTH)}


def draft_of(drafts, customer) -> Bill:
    return drafts[account_of(customer).pk]


def test_issuing_numbers_dates_and_keeps_history(billing, drafts, reallocations):
    bill = draft_of(drafts, billing.a1)
    issued = bill_issue(bill=bill, user=billing.clerk, issue_date=ISSUE_DAY)
    bill.refresh_from_db()
    assert bill.status == BillStatus.ISSUED and bill.issued_by == billing.clerk
    assert bill.number == f"B202603-{bill.account.account_no}-1" == issued.number
    assert bill.issue_date == ISSUE_DAY and bill.due_date == ISSUE_DAY + dt.timedelta(days=15)
    assert [h.history_type for h in bill.history.order_by("history_date")] == ["+", "~"]
    assert bill.history.latest().history_user == billing.clerk
    assert reallocations == [bill.account_id]


def test_the_due_date_follows_the_accounts_days_to_pay(billing, drafts, settings):
    bill = draft_of(drafts, billing.a2)
    BillingTerms.objects.create(account=bill.account, payment_days=30)
    assert bill_issue(bill=bill, user=billing.clerk, issue_date=ISSUE_DAY).due_date == dt.date(2026, 5, 3)
    settings.GRIDKAM = {**settings.GRIDKAM, "BILL_PAYMENT_DAYS": 10}
    other = draft_of(drafts, billing.a3)
    assert bill_issue(bill=other, user=billing.clerk, issue_date=ISSUE_DAY).due_date == dt.date(2026, 4, 13)


def test_only_drafts_are_issued(billing, drafts):
    bill = bill_issue(bill=draft_of(drafts, billing.a1), user=billing.clerk)
    with pytest.raises(ValidationError):
        bill_issue(bill=bill, user=billing.clerk)


def test_an_issued_imported_bill_is_the_bill_of_record(billing, drafts):
    bill = draft_of(drafts, billing.a1)
    Bill.objects.create(
        account=bill.account, period=MONTH, source=BillSource.IMPORTED, status=BillStatus.ISSUED, total=Decimal("1")
    )
    with pytest.raises(ValidationError):
        bill_issue(bill=bill, user=billing.clerk)
    bill.refresh_from_db()
    assert bill.status == BillStatus.DRAFT
    result = bills_issue(period=MONTH, user=billing.admin)
    assert [r["account_no"] for r in result.refused] == [bill.account.account_no]
    assert result.issued == len(drafts) - 1


def test_bulk_issuing_issues_a_runs_drafts_once(billing, drafts, reallocations):
    result = bills_issue(period="2026-03", user=billing.admin, issue_date=ISSUE_DAY)
    assert result.issued == len(drafts) and not result.refused
    bills = list(Bill.objects.filter(period=MONTH))
    assert {b.status for b in bills} == {BillStatus.ISSUED}
    assert len({b.number for b in bills}) == len(bills)
    assert all(b.due_date == ISSUE_DAY + dt.timedelta(days=15) for b in bills)
    assert all(b.history.filter(history_type="~").count() == 1 for b in bills)
    assert sorted(reallocations) == sorted(b.account_id for b in bills)
    assert bills_issue(period=MONTH, user=billing.admin).issued == 0


def test_bulk_issuing_is_limited_to_what_the_user_sees(billing, drafts):
    result = bills_issue(period=MONTH, user=billing.clerk)  # city A
    outsiders = Bill.objects.filter(account=account_of(billing.b1))
    assert result.issued == len(drafts) - 1 and outsiders.get().status == BillStatus.DRAFT


def test_correcting_keeps_the_bill_a_credit_note_and_a_rebill_linked(billing, drafts, usage_for, reallocations):
    original = bill_issue(bill=draft_of(drafts, billing.a1), user=billing.clerk, issue_date=ISSUE_DAY)
    usage_for(original.account, peak_kwh=Decimal("150000"))  # the meter reading was wrong
    reallocations.clear()

    note, rebill = bill_correct(bill=original, user=billing.supervisor, reason="抄表错误")
    original.refresh_from_db()
    assert original.status == BillStatus.CREDITED
    assert (note.kind, note.status, note.corrects_id) == (BillKind.CREDIT_NOTE, BillStatus.ISSUED, original.pk)
    assert note.number.startswith("C202603-") and note.issue_date is not None
    assert note.total == -original.total and note.energy_charge == -original.energy_charge
    original_lines = list(original.lines.order_by("position"))
    note_lines = list(note.lines.order_by("position"))
    assert [(line.item, -line.amount, -line.quantity) for line in note_lines] == [
        (line.item, line.amount, line.quantity) for line in original_lines
    ]
    assert (rebill.kind, rebill.status, rebill.corrects_id) == (BillKind.REBILL, BillStatus.DRAFT, original.pk)
    assert rebill.total < original.total and rebill.number is None and rebill.due_date is None
    assert note.correction_reason == rebill.correction_reason == "抄表错误"
    assert original.history.latest().history_change_reason == "抄表错误"
    assert reallocations == [original.account_id]

    issued_rebill = bill_issue(bill=rebill, user=billing.clerk, issue_date=ISSUE_DAY)
    assert issued_rebill.due_date == ISSUE_DAY + dt.timedelta(days=15)
    assert len({original.number, note.number, issued_rebill.number}) == 3
    assert Bill.objects.filter(account=original.account, period=MONTH).count() == 3

    # A later run for the month leaves the credited bill, its credit note and the rebill alone.
    run = bill_run(period=MONTH, account_nos=[original.account.account_no])
    assert run.created == run.replaced == 0
    assert Bill.objects.filter(account=original.account, period=MONTH).count() == 3


@pytest.mark.parametrize("state", ["draft", "credit_note", "imported", "no_reason"])
def test_what_cannot_be_corrected(billing, drafts, state):
    bill = draft_of(drafts, billing.a1)
    reason = "原因"
    if state == "credit_note":
        note, _rebill = bill_correct(bill=bill_issue(bill=bill, user=billing.clerk), user=billing.clerk, reason=reason)
        bill = note
    elif state == "imported":
        Bill.objects.filter(pk=bill.pk).update(source=BillSource.IMPORTED, status=BillStatus.ISSUED)
    elif state == "no_reason":
        bill = bill_issue(bill=bill, user=billing.clerk)
        reason = "  "
    before = Bill.objects.count()
    with pytest.raises(ValidationError):
        bill_correct(bill=bill, user=billing.clerk, reason=reason)
    assert Bill.objects.count() == before


def test_a_correction_that_cannot_rebill_writes_nothing(billing, drafts):
    from gridkam.tariffs.models import MonthlyUsage

    bill = bill_issue(bill=draft_of(drafts, billing.a1), user=billing.clerk)
    MonthlyUsage.objects.filter(account=bill.account).delete()
    with pytest.raises(ValidationError):
        bill_correct(bill=bill, user=billing.clerk, reason="原因")
    bill.refresh_from_db()
    assert bill.status == BillStatus.ISSUED and Bill.objects.filter(corrects=bill).count() == 0
