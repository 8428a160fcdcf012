"""Importing payments: allocation through the ledger, idempotency, row errors, all-or-nothing."""

import datetime as dt
from decimal import Decimal

import pytest

from gridkam.billing.choices import PaymentKind, PaymentMethod, PaymentSource
from gridkam.billing.imports import billing_import
from gridkam.billing.models import Allocation, Bill, BillingImport, Payment

from .test_import_fixtures import DATA, chem_row, errors_at, payment_row, sample_accounts, steel_row, to_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def acc(p):
    accounts = sample_accounts(p)
    result = billing_import(kind="bills", data=to_csv([steel_row(), chem_row()]), file_name="bills.csv", user=p.clerk)
    assert result.ok, result.rejected
    return accounts


def imported(data: bytes, user, **kwargs):
    return billing_import(kind="payments", data=data, file_name="payments.csv", user=user, **kwargs)


def test_the_sample_payments_are_recorded_and_allocated_to_the_bills(p, acc):
    result = imported((DATA / "payments.csv").read_bytes(), p.clerk)
    assert result.ok, result.rejected
    assert (result.rows, result.created, result.unchanged) == (4, 4, 0)
    payment = Payment.objects.get(reference="YH20250812000123")
    assert (payment.account, payment.kind, payment.method, payment.amount, payment.received_on) == (
        acc.steel,
        PaymentKind.PAYMENT,
        PaymentMethod.BANK_TRANSFER,
        Decimal("300000.00"),
        dt.date(2025, 8, 12),
    )
    assert (payment.source, payment.created_by, payment.note) == (PaymentSource.IMPORTED, p.clerk, "7月电费部分")
    refund = Payment.objects.get(reference="GT20250822000012")
    assert (refund.kind, refund.method) == (PaymentKind.REFUND, PaymentMethod.COUNTER)
    steel = Bill.objects.get(number="HZ202507000101")
    assert (steel.amount_paid, steel.settled_on) == (Decimal("518517.93"), dt.date(2025, 8, 19))
    assert Bill.objects.get(number="HZ202507000102").amount_paid == Decimal("204527.82")
    assert Allocation.objects.filter(bill=steel).count() == 2
    assert BillingImport.objects.filter(kind="payments").get().created == 4


def test_the_sample_xlsx_holds_the_same_payments(p, acc):
    result = billing_import(
        kind="payments", data=(DATA / "payments.xlsx").read_bytes(), file_name="payments.xlsx", user=p.clerk
    )
    assert result.ok, result.rejected
    assert imported((DATA / "payments.csv").read_bytes(), p.clerk).unchanged == 4


def test_a_gbk_csv_with_english_words_imports(p, acc):
    row = payment_row(method="online", kind="payment", note="七月电费")
    result = imported(to_csv([row, payment_row(reference="R2", kind="")], kind="payments", encoding="gbk"), p.clerk)
    assert result.ok, result.rejected
    assert set(Payment.objects.values_list("method", "kind")) == {("online", "payment"), ("bank_transfer", "payment")}


def test_importing_the_same_payments_again_records_nothing(p, acc):
    data = (DATA / "payments.csv").read_bytes()
    imported(data, p.clerk)
    allocations = sorted(Allocation.objects.values_list("payment_id", "bill_id", "amount"))
    again = imported(data, p.clerk)
    assert (again.ok, again.created, again.unchanged) == (True, 0, 4)
    assert Payment.objects.count() == 4
    assert sorted(Allocation.objects.values_list("payment_id", "bill_id", "amount")) == allocations


def test_a_serial_number_recorded_before_with_another_amount_is_rejected(p, acc):
    imported(to_csv([payment_row()], kind="payments"), p.clerk)
    result = imported(to_csv([payment_row(amount="300001.00")], kind="payments"), p.clerk)
    assert "amount: 300000.00 → 300001.00" in errors_at(result, 2)["reference"][0]
    assert Payment.objects.get().amount == Decimal("300000.00")


def test_every_kind_of_payment_row_error_is_reported(p, acc):
    rows = [
        payment_row(),  # line 2: fine
        payment_row(account_no="0999999999", reference="R3"),
        payment_row(reference="R4", received_on="2025-08-32"),
        payment_row(reference="R5", amount="0"),
        payment_row(reference="R6", amount="12.345"),
        payment_row(reference="R7", method="支票"),
        payment_row(reference="R8", kind="冲正"),
        payment_row(reference=""),
        payment_row(),  # the serial number of line 2 again
        payment_row(reference="R11", method=""),
    ]
    result = imported(to_csv(rows, kind="payments"), p.clerk)
    assert [r["line"] for r in result.rejected] == list(range(3, 12))
    expected = ["account_no", "received_on", "amount", "amount", "method", "kind", "reference", "reference", "method"]
    assert [list(errors_at(result, line)) for line in range(3, 12)] == [[key] for key in expected]
    assert not Payment.objects.exists()


def test_one_bad_payment_row_writes_no_payment_and_no_allocation(p, acc):
    rows = [payment_row(), payment_row(account_no="0930000102", reference="R2", amount="-5")]
    result = imported(to_csv(rows, kind="payments"), p.clerk)
    assert [r["line"] for r in result.rejected] == [3]
    assert not Payment.objects.exists()
    assert not Allocation.objects.exists()
    assert Bill.objects.filter(amount_paid__gt=0).count() == 0
    assert not BillingImport.objects.filter(kind="payments").exists()


def test_a_clerk_of_another_city_cannot_record_payments_for_city_a(p, acc):
    result = imported(to_csv([payment_row()], kind="payments"), acc.clerk_b)
    assert list(errors_at(result, 2)) == ["account_no"]
    assert not Payment.objects.exists()
