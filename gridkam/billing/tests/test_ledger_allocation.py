"""Payments applied to the oldest open bill first: partial, exact, overpaid, refunds, corrections."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.billing import ledger
from gridkam.billing.choices import BillKind, BillStatus, PaymentKind, PaymentMethod, PaymentSource
from gridkam.billing.ledger import (
    account_balance,
    account_credit,
    account_reallocate,
    payment_record,
    payments_bulk_record,
)
from gridkam.billing.models import Allocation, Bill, Payment

from .conftest import make_bill, make_payment

D = Decimal
day = datetime.date.fromisoformat


def pay(p, account, amount, received_on, **kwargs):
    kwargs.setdefault("kind", PaymentKind.PAYMENT)
    kwargs.setdefault("method", PaymentMethod.BANK_TRANSFER)
    return payment_record(account=account, amount=D(amount), received_on=day(received_on), user=p.clerk, **kwargs)


def paid(*bills):
    return [Bill.objects.get(pk=b.pk).amount_paid for b in bills]


def allocations(account):
    return sorted(
        Allocation.objects.filter(payment__account=account).values_list(
            "payment_id", "bill_id", "amount", "allocated_on"
        )
    )


def test_payment_goes_to_oldest_due_bill_first_and_spills_over(p, account):
    feb = make_bill(account, "2026-02", "300.00")
    jan = make_bill(account, "2026-01", "100.00")
    mar = make_bill(account, "2026-03", "50.00")
    pay(p, account, "250.00", "2026-04-20")
    assert paid(jan, feb, mar) == [D("100.00"), D("150.00"), D("0.00")]
    jan.refresh_from_db()
    feb.refresh_from_db()
    assert jan.settled_on == day("2026-04-20")
    assert feb.settled_on is None
    assert account_balance(account.pk) == D("200.00")


def test_order_is_due_date_then_month_then_entry(p, account):
    late_due = make_bill(account, "2026-01", "100.00", due="2026-03-31")
    early_due = make_bill(account, "2026-02", "100.00", due="2026-03-01")
    pay(p, account, "100.00", "2026-03-02")
    assert paid(early_due, late_due) == [D("100.00"), D("0.00")]


def test_exact_payment_settles_on_the_day_received(p, account):
    jan = make_bill(account, "2026-01", "123.45")
    pay(p, account, "100.00", "2026-02-10")
    pay(p, account, "23.45", "2026-02-20")
    jan.refresh_from_db()
    assert jan.amount_paid == D("123.45")
    assert jan.settled_on == day("2026-02-20")
    assert account_balance(account.pk) == D("0.00")
    assert account_credit(account.pk) == D("0.00")


def test_partial_payments_each_allocate_with_their_date(p, account):
    jan = make_bill(account, "2026-01", "100.00")
    first = pay(p, account, "30.00", "2026-02-10")
    second = pay(p, account, "20.00", "2026-02-25")
    assert allocations(account) == [
        (first.pk, jan.pk, D("30.00"), day("2026-02-10")),
        (second.pk, jan.pk, D("20.00"), day("2026-02-25")),
    ]
    jan.refresh_from_db()
    assert (jan.amount_paid, jan.open_amount, jan.settled_on) == (D("50.00"), D("50.00"), None)


def test_overpayment_stays_as_credit_until_next_bill_is_issued(p, account):
    jan = make_bill(account, "2026-01", "100.00")
    pay(p, account, "160.00", "2026-02-10")
    assert account_credit(account.pk) == D("60.00")
    assert account_balance(account.pk) == D("-60.00")
    feb = make_bill(account, "2026-02", "80.00", issued="2026-03-01")
    account_reallocate(account_id=account.pk)
    assert paid(jan, feb) == [D("100.00"), D("60.00")]
    feb.refresh_from_db()
    # Credit is applied on the day the bill exists, not on the day the money came.
    assert feb.allocations.get().allocated_on == day("2026-03-01")
    assert account_credit(account.pk) == D("0.00")
    assert account_balance(account.pk) == D("20.00")


def test_credit_settles_a_new_bill_on_its_issue_day(p, account):
    pay(p, account, "500.00", "2026-01-05")
    jan = make_bill(account, "2026-01", "200.00", issued="2026-02-01")
    account_reallocate(account_id=account.pk)
    jan.refresh_from_db()
    assert jan.settled_on == day("2026-02-01")


def test_drafts_and_credit_notes_take_no_money(p, account):
    draft = make_bill(account, "2026-02", "100.00", status=BillStatus.DRAFT)
    issued = make_bill(account, "2026-01", "100.00")
    pay(p, account, "150.00", "2026-02-10")
    assert paid(draft, issued) == [D("0.00"), D("100.00")]
    assert account_credit(account.pk) == D("50.00")
    # Drafts are not charged either.
    assert account_balance(account.pk) == D("-50.00")


def test_credit_note_moves_what_was_paid_to_the_rebill(p, account):
    original = make_bill(account, "2026-01", "100.00")
    pay(p, account, "100.00", "2026-02-10")
    original.refresh_from_db()
    assert original.settled_on == day("2026-02-10")
    note = make_bill(account, "2026-01", "-100.00", kind=BillKind.CREDIT_NOTE, corrects=original, issued="2026-03-05")
    Bill.objects.filter(pk=original.pk).update(status=BillStatus.CREDITED)
    rebill = make_bill(
        account, "2026-01", "120.00", kind=BillKind.REBILL, corrects=original, issued="2026-03-05", due="2026-03-20"
    )
    account_reallocate(account_id=account.pk)
    original.refresh_from_db()
    rebill.refresh_from_db()
    note.refresh_from_db()
    assert (original.amount_paid, original.settled_on, original.status) == (D("0.00"), None, BillStatus.CREDITED)
    assert note.amount_paid == D("0.00")
    assert rebill.amount_paid == D("100.00")
    assert rebill.allocations.get().allocated_on == day("2026-03-05")
    # 100 (original) − 100 (credit note) + 120 (rebill) − 100 paid.
    assert account_balance(account.pk) == D("20.00")
    pay(p, account, "20.00", "2026-03-10")
    rebill.refresh_from_db()
    assert rebill.settled_on == day("2026-03-10")


def test_an_issued_credit_note_cancels_its_original_even_if_not_yet_marked(p, account):
    original = make_bill(account, "2026-01", "100.00")
    pay(p, account, "100.00", "2026-02-10")
    make_bill(account, "2026-01", "-100.00", kind=BillKind.CREDIT_NOTE, corrects=original)
    account_reallocate(account_id=account.pk)
    original.refresh_from_db()
    assert (original.status, original.amount_paid) == (BillStatus.CREDITED, D("0.00"))
    assert account_credit(account.pk) == D("100.00")


def test_reallocation_is_idempotent_and_writes_nothing_the_second_time(p, account, monkeypatch):
    jan = make_bill(account, "2026-01", "100.00")
    feb = make_bill(account, "2026-02", "100.00")
    pay(p, account, "130.00", "2026-03-01")
    pay(p, account, "10.00", "2026-03-05")
    before = allocations(account)
    ids_before = set(Allocation.objects.values_list("pk", flat=True))
    monkeypatch.setattr(ledger, "_dunning_hook", lambda: None)
    with CaptureQueriesContext(connection) as queries:
        account_reallocate(account_id=account.pk)
    # Unchanged data: the lock and three reads, no write.
    statements = [q["sql"].split()[0] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert statements == ["SELECT"] * 4
    account_reallocate(account_id=account.pk)
    assert allocations(account) == before
    assert set(Allocation.objects.values_list("pk", flat=True)) == ids_before
    assert paid(jan, feb) == [D("100.00"), D("40.00")]


def test_reallocation_repairs_tampered_amounts(p, account):
    jan = make_bill(account, "2026-01", "100.00")
    pay(p, account, "60.00", "2026-02-10")
    Bill.objects.filter(pk=jan.pk).update(amount_paid=D("99.00"), settled_on=day("2026-01-01"))
    Allocation.objects.all().delete()
    account_reallocate(account_id=account.pk)
    jan.refresh_from_db()
    assert (jan.amount_paid, jan.settled_on) == (D("60.00"), None)
    assert Allocation.objects.count() == 1


def test_bill_issued_later_for_an_older_month_takes_money_first(p, account):
    feb = make_bill(account, "2026-02", "100.00")
    pay(p, account, "100.00", "2026-03-10")
    assert paid(feb) == [D("100.00")]
    jan = make_bill(account, "2026-01", "100.00", issued="2026-03-12", due="2026-02-15")
    account_reallocate(account_id=account.pk)
    assert paid(jan, feb) == [D("100.00"), D("0.00")]


def test_refund_of_credit(p, account):
    make_bill(account, "2026-01", "100.00")
    pay(p, account, "150.00", "2026-02-10")
    refund = pay(p, account, "50.00", "2026-02-12", kind=PaymentKind.REFUND)
    assert refund.kind == PaymentKind.REFUND
    assert account_credit(account.pk) == D("0.00")
    assert account_balance(account.pk) == D("0.00")


def test_refund_beyond_the_credit_is_refused_with_a_field_error(p, account):
    make_bill(account, "2026-01", "100.00")
    pay(p, account, "150.00", "2026-02-10")
    with pytest.raises(ValidationError) as error:
        pay(p, account, "50.01", "2026-02-12", kind=PaymentKind.REFUND)
    assert set(error.value.message_dict) == {"amount"}
    assert Payment.objects.filter(kind=PaymentKind.REFUND).count() == 0


def test_refund_without_any_credit_is_refused(p, account):
    make_bill(account, "2026-01", "100.00")
    with pytest.raises(ValidationError) as error:
        pay(p, account, "1.00", "2026-02-12", kind=PaymentKind.REFUND)
    assert "amount" in error.value.message_dict


def test_refund_then_new_bill_does_not_reuse_refunded_money(p, account):
    jan = make_bill(account, "2026-01", "100.00")
    pay(p, account, "150.00", "2026-02-10")
    pay(p, account, "50.00", "2026-02-12", kind=PaymentKind.REFUND)
    feb = make_bill(account, "2026-02", "100.00")
    account_reallocate(account_id=account.pk)
    assert paid(jan, feb) == [D("100.00"), D("0.00")]
    assert account_balance(account.pk) == D("100.00")


def test_refund_takes_the_latest_money(p, account):
    make_bill(account, "2026-01", "100.00")
    first = pay(p, account, "100.00", "2026-02-10")
    pay(p, account, "40.00", "2026-02-11")
    pay(p, account, "40.00", "2026-02-12", kind=PaymentKind.REFUND)
    assert [a[0] for a in allocations(account)] == [first.pk]


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("amount", {"amount": D("0")}),
        ("amount", {"amount": D("-5")}),
        ("amount", {"amount": D("1.001")}),
        ("amount", {"amount": None}),
        ("received_on", {"received_on": datetime.date.today() + datetime.timedelta(days=2)}),
        ("method", {"method": "cheque"}),
        ("kind", {"kind": "gift"}),
    ],
)
def test_invalid_payments_are_refused_with_field_errors(p, account, field, changes):
    data = {
        "account": account,
        "kind": PaymentKind.PAYMENT,
        "method": PaymentMethod.COUNTER,
        "amount": D("10"),
        "received_on": day("2026-02-10"),
        "user": p.clerk,
    } | changes
    with pytest.raises(ValidationError) as error:
        payment_record(**data)
    assert field in error.value.message_dict
    assert not Payment.objects.exists()


def test_reference_is_unique_per_account(p, account, other_account):
    pay(p, account, "10.00", "2026-02-10", reference="BANK-1")
    with pytest.raises(ValidationError) as error:
        pay(p, account, "10.00", "2026-02-11", reference="BANK-1")
    assert set(error.value.message_dict) == {"reference"}
    pay(p, other_account, "10.00", "2026-02-11", reference="BANK-1")
    pay(p, account, "10.00", "2026-02-11")  # blank references never clash
    pay(p, account, "10.00", "2026-02-11")


def test_payment_records_who_and_source(p, account):
    payment = pay(p, account, "10.00", "2026-02-10", note="柜台")
    assert (payment.created_by, payment.source, payment.note) == (p.clerk, PaymentSource.ENTERED, "柜台")


def test_bulk_record_reallocates_each_touched_account_once(p, account, other_account, monkeypatch):
    jan = make_bill(account, "2026-01", "100.00")
    b_jan = make_bill(other_account, "2026-01", "40.00")
    calls = []
    real = ledger._reallocate_chunk
    monkeypatch.setattr(ledger, "_reallocate_chunk", lambda ids: calls.append(list(ids)) or real(ids))
    rows = [
        {"account": account, "method": PaymentMethod.ONLINE, "amount": "60", "received_on": day("2026-02-01")},
        {
            "account_id": account.pk,
            "method": PaymentMethod.ONLINE,
            "amount": "60",
            "received_on": day("2026-02-02"),
            "reference": "R2",
        },
        {
            "account_id": other_account.pk,
            "method": PaymentMethod.OFFSET,
            "amount": "10",
            "received_on": day("2026-02-03"),
        },
    ]
    created = payments_bulk_record(rows, user=p.clerk, source=PaymentSource.IMPORTED)
    assert len(created) == 3
    assert calls == [sorted([account.pk, other_account.pk])]
    assert paid(jan, b_jan) == [D("100.00"), D("10.00")]
    assert account_credit(account.pk) == D("20.00")
    assert {p.source for p in Payment.objects.all()} == {PaymentSource.IMPORTED}


def test_reallocate_calls_the_dunning_hook_when_there_is_one(p, account, monkeypatch):
    seen = []

    monkeypatch.setattr(ledger, "_dunning_hook", lambda: seen.append)
    pay(p, account, "10.00", "2026-02-10")
    assert seen == [[account.pk]]


def test_the_dunning_hook_is_the_real_one_when_installed():
    from gridkam.billing import dunning

    assert ledger._dunning_hook() is dunning.dunning_on_payments


def test_imported_refund_before_any_payment_is_taken_from_later_money(p, account):
    jan = make_bill(account, "2026-01", "100.00")
    make_payment(account, "30.00", "2026-02-01", kind=PaymentKind.REFUND)
    make_payment(account, "100.00", "2026-02-10")
    account_reallocate(account_id=account.pk)
    assert paid(jan) == [D("70.00")]
    assert account_balance(account.pk) == D("30.00")


def _row(account, amount, received_on, **extra):
    return {
        "account": account,
        "method": PaymentMethod.BANK_TRANSFER,
        "amount": amount,
        "received_on": day(received_on),
    } | extra


def test_bulk_record_refuses_bad_rows_and_writes_nothing(p, account):
    rows = [
        _row(account, "10", "2026-02-01"),
        _row(account, "0", "2026-02-01"),
        _row(account, "5", "2026-02-01", method="cheque"),
        _row(account, "5", (datetime.date.today() + datetime.timedelta(days=1)).isoformat()),
    ]
    with pytest.raises(ValidationError) as error:
        payments_bulk_record(rows, user=p.clerk, source=PaymentSource.IMPORTED)
    assert len(error.value.messages) == 3
    assert not Payment.objects.exists()


def test_bulk_refund_must_come_from_credit_on_its_day(p, account):
    make_bill(account, "2026-01", "100.00", issued="2026-02-01")
    ok = [
        _row(account, "150", "2026-02-05"),
        _row(account, "50", "2026-02-06", kind=PaymentKind.REFUND),
    ]
    payments_bulk_record(ok, user=p.clerk, source=PaymentSource.IMPORTED)
    # A later bill does not make the earlier refund wrong …
    make_bill(account, "2026-02", "100.00", issued="2026-03-01")
    account_reallocate(account_id=account.pk)
    # … but a refund while the account owes is refused.
    with pytest.raises(ValidationError):
        payments_bulk_record(
            [_row(account, "1", "2026-03-02", kind=PaymentKind.REFUND)], user=p.clerk, source=PaymentSource.IMPORTED
        )
    assert Payment.objects.count() == 2
    assert account_balance(account.pk) == D("100.00")
