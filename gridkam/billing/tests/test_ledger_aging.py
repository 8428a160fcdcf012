"""Aging buckets, arrears annotations, balance and prepayment warnings."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from gridkam.billing.choices import AgingBucket, BillKind, BillStatus, PaymentKind
from gridkam.billing.ledger import (
    account_balance,
    account_reallocate,
    aging,
    aging_bucket,
    low_balance_accounts,
    with_arrears,
    with_balance,
)
from gridkam.customers.models import ElectricityAccount

from .conftest import make_bill, make_payment, set_terms

D = Decimal
day = datetime.date.fromisoformat
TODAY = day("2026-06-30")


@pytest.mark.parametrize(
    ("days_late", "bucket"),
    [
        (-5, AgingBucket.NOT_DUE),
        (0, AgingBucket.NOT_DUE),
        (1, AgingBucket.DAYS_1_30),
        (30, AgingBucket.DAYS_1_30),
        (31, AgingBucket.DAYS_31_60),
        (60, AgingBucket.DAYS_31_60),
        (61, AgingBucket.DAYS_61_90),
        (90, AgingBucket.DAYS_61_90),
        (91, AgingBucket.OVER_90),
        (400, AgingBucket.OVER_90),
    ],
)
def test_bucket_boundaries(days_late, bucket):
    assert aging_bucket(TODAY - datetime.timedelta(days=days_late), TODAY) == bucket


@pytest.mark.parametrize("days_late", [-5, 0, 1, 30, 31, 60, 61, 90, 91, 400])
def test_database_buckets_agree_with_the_python_rule(p, account, days_late):
    make_bill(account, "2026-01", "100.00", due=TODAY - datetime.timedelta(days=days_late))
    result = aging(account_ids=[account.pk], today=TODAY)[account.pk]
    expected = aging_bucket(TODAY - datetime.timedelta(days=days_late), TODAY)
    assert result == {bucket: D("100.00") if bucket == expected else D("0.00") for bucket in AgingBucket.values}


def test_aging_counts_what_is_still_open_of_issued_bills_only(p, account, other_account):
    make_bill(account, "2026-01", "100.00", due="2026-02-15")  # 135 days late
    make_bill(account, "2026-04", "200.00", due="2026-05-15")  # 46 days
    make_bill(account, "2026-05", "300.00", due="2026-06-15")  # 15 days
    make_bill(account, "2026-06", "400.00", due="2026-07-15")  # not due
    make_bill(account, "2026-03", "999.00", status=BillStatus.DRAFT)
    original = make_bill(account, "2026-02", "50.00", due="2026-03-15", status=BillStatus.CREDITED)
    make_bill(account, "2026-02", "-50.00", due="2026-03-15", kind=BillKind.CREDIT_NOTE, corrects=original)
    make_payment(account, "150.00", "2026-06-01")
    account_reallocate(account_id=account.pk)
    result = aging(account_ids=[account.pk, other_account.pk], today=TODAY)
    assert result[account.pk] == {
        AgingBucket.NOT_DUE: D("400.00"),
        AgingBucket.DAYS_1_30: D("300.00"),
        AgingBucket.DAYS_31_60: D("150.00"),
        AgingBucket.DAYS_61_90: D("0.00"),
        AgingBucket.OVER_90: D("0.00"),
    }
    assert set(result[other_account.pk].values()) == {D("0.00")}


def test_aging_of_a_queryset_or_everyone_is_one_query(p, account, other_account, django_assert_num_queries):
    make_bill(account, "2026-01", "100.00")
    make_bill(other_account, "2026-01", "70.00")
    with django_assert_num_queries(1):
        result = aging(account_ids=ElectricityAccount.objects.visible_to(p.manager), today=TODAY)
    assert set(result) == {account.pk}
    with django_assert_num_queries(1):
        result = aging(today=TODAY)
    assert result[other_account.pk][AgingBucket.OVER_90] == D("70.00")


def test_with_arrears_annotates_in_one_query(p, account, other_account, django_assert_num_queries):
    make_bill(account, "2026-03", "100.00", due="2026-04-15")
    make_bill(account, "2026-05", "200.00", due="2026-06-15")
    make_bill(account, "2026-06", "400.00", due="2026-07-15")
    make_payment(account, "30.00", "2026-05-01")
    account_reallocate(account_id=account.pk)
    with django_assert_num_queries(1):
        rows = {
            a.pk: (a.open_amount, a.arrears, a.oldest_due)
            for a in with_arrears(ElectricityAccount.objects.filter(pk__in=[account.pk, other_account.pk]), TODAY)
        }
    assert rows[account.pk] == (D("670.00"), D("270.00"), day("2026-04-15"))
    assert rows[other_account.pk] == (D("0.00"), D("0.00"), None)
    # Filterable and sortable.
    assert list(with_arrears(ElectricityAccount.objects.all(), TODAY).filter(arrears__gt=0)) == [account]


def test_due_today_is_not_yet_arrears(p, account):
    make_bill(account, "2026-05", "100.00", due=TODAY)
    row = with_arrears(ElectricityAccount.objects.filter(pk=account.pk), TODAY).get()
    assert (row.arrears, row.open_amount) == (D("0.00"), D("100.00"))


def test_balance_counts_credit_notes_and_refunds(p, account):
    original = make_bill(account, "2026-01", "100.00", status=BillStatus.CREDITED)
    make_bill(account, "2026-01", "-100.00", kind=BillKind.CREDIT_NOTE, corrects=original)
    make_bill(account, "2026-01", "90.00", kind=BillKind.REBILL, corrects=original)
    make_bill(account, "2026-02", "10.00", status=BillStatus.DRAFT)
    make_payment(account, "200.00", "2026-02-20")
    make_payment(account, "50.00", "2026-02-21", kind=PaymentKind.REFUND)
    assert account_balance(account.pk) == D("-60.00")
    annotated = with_balance(ElectricityAccount.objects.filter(pk=account.pk)).get()
    assert (annotated.balance, annotated.credit) == (D("-60.00"), D("60.00"))
    assert account_balance(account.pk, as_of=day("2026-02-20")) == D("-110.00")


def test_low_balance_prepayment_accounts(p, account, other_account):
    a2 = p.a2.accounts.get()
    a3 = p.a3.accounts.get()
    set_terms(account, prepayment=True, low_balance_threshold=D("500.00"))
    set_terms(a2, prepayment=True, low_balance_threshold=D("100.00"))
    set_terms(a3, prepayment=False, low_balance_threshold=D("100.00"))
    set_terms(other_account, prepayment=True, low_balance_threshold=D("1000.00"))
    make_payment(account, "800.00", "2026-06-01")
    make_bill(account, "2026-05", "400.00", issued="2026-06-02")  # credit 400 < 500
    make_payment(a2, "300.00", "2026-06-01")  # credit 300 ≥ 100
    rows = list(low_balance_accounts(p.supervisor, TODAY))
    assert rows == [account]
    assert (rows[0].credit, rows[0].threshold) == (D("400.00"), D("500.00"))
    # Not yet: on 1 June the bill did not exist.
    assert list(low_balance_accounts(p.supervisor, day("2026-06-01"))) == []
    # The outsider sees only his own (city B) account, which has no credit at all.
    assert list(low_balance_accounts(p.outsider, TODAY)) == [other_account]
    assert list(low_balance_accounts(p.customer_user, TODAY)) == [account]
