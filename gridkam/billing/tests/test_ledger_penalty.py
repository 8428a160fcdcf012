"""The late-payment penalty (违约金): day counting across month and year ends, partial payments,
the minimum and exemption."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from gridkam.billing.choices import BillKind, BillStatus, PaymentKind, PaymentMethod
from gridkam.billing.ledger import (
    PenaltyRule,
    account_penalty,
    account_reallocate,
    payment_record,
    penalty,
    penalty_compute,
    penalty_lines,
    penalty_total,
)

from .conftest import make_bill, make_payment, set_terms

D = Decimal
day = datetime.date.fromisoformat


@pytest.fixture(autouse=True)
def _rates(settings):
    settings.GRIDKAM = {
        **settings.GRIDKAM,
        "PENALTY_RATE_CURRENT_YEAR": "0.002",
        "PENALTY_RATE_EARLIER_YEARS": "0.003",
        "PENALTY_MINIMUM": "1.00",
    }


def compute(total, due, today, *, period=None, payments=(), exempt=False):
    due = day(due)
    return penalty_compute(
        total=D(total),
        due_date=due,
        period=day(period) if period else due.replace(day=1),
        payments=[(day(d), D(a)) for d, a in payments],
        today=day(today),
        exempt=exempt,
    )


def test_nothing_on_or_before_the_due_date():
    assert compute("1000.00", "2026-01-31", "2026-01-31") == []
    assert compute("1000.00", "2026-01-31", "2026-01-15") == []


def test_month_end_due_date_counts_from_the_first_of_next_month():
    lines = compute("1000.00", "2026-01-31", "2026-02-01")
    assert [(line.start, line.end, line.days) for line in lines] == [(day("2026-02-01"), day("2026-02-01"), 1)]
    assert penalty_total(lines) == D("2.00")
    lines = compute("1000.00", "2026-01-31", "2026-02-28")
    assert sum(line.days for line in lines) == 28
    assert penalty_total(lines) == D("56.00")


def test_leap_year_february_has_29_days():
    lines = compute("1000.00", "2028-01-31", "2028-02-29", period="2028-01-01")
    assert sum(line.days for line in lines) == 29
    assert penalty_total(lines) == D("58.00")
    # Due on 29 February: the next day is 1 March.
    lines = compute("1000.00", "2028-02-29", "2028-03-01", period="2028-02-01")
    assert [(line.start, line.days) for line in lines] == [(day("2028-03-01"), 1)]


def test_across_new_year_the_earlier_years_rate_applies_from_1_january():
    lines = compute("1000.00", "2026-12-25", "2027-01-05", period="2026-11-01")
    assert [(line.start, line.end, line.days, line.rate, line.rule) for line in lines] == [
        (day("2026-12-26"), day("2026-12-31"), 6, D("0.002"), PenaltyRule.CURRENT_YEAR),
        (day("2027-01-01"), day("2027-01-05"), 5, D("0.003"), PenaltyRule.EARLIER_YEARS),
    ]
    # 1000 × 0.002 × 6 + 1000 × 0.003 × 5
    assert penalty_total(lines) == D("27.00")


def test_december_bill_due_in_january_is_current_year_arrears_only_in_its_own_year():
    # The December bill's month is 2026: every day of 2027 is already an earlier year's arrears.
    lines = compute("1000.00", "2027-01-15", "2027-01-17", period="2026-12-01")
    assert [(line.days, line.rule) for line in lines] == [(2, PenaltyRule.EARLIER_YEARS)]
    assert penalty_total(lines) == D("6.00")


def test_several_years_late():
    lines = compute("100.00", "2025-12-31", "2027-01-01", period="2025-11-01")
    assert [(line.start.year, line.days, line.rule) for line in lines] == [
        (2026, 365, PenaltyRule.EARLIER_YEARS),
        (2027, 1, PenaltyRule.EARLIER_YEARS),
    ]
    assert penalty_total(lines) == D("109.80")


def test_partial_payment_reduces_the_penalty_from_the_day_after_it_arrives():
    lines = compute("1000.00", "2026-01-31", "2026-02-10", payments=[("2026-02-05", "600.00")])
    assert [(line.start, line.end, line.open_amount) for line in lines] == [
        (day("2026-02-01"), day("2026-02-05"), D("1000.00")),
        (day("2026-02-06"), day("2026-02-10"), D("400.00")),
    ]
    # 1000 × 0.002 × 5 + 400 × 0.002 × 5
    assert penalty_total(lines) == D("14.00")


def test_payment_completing_the_bill_stops_the_penalty_the_day_after():
    lines = compute("1000.00", "2026-01-31", "2026-03-31", payments=[("2026-02-03", "1000.00")])
    assert sum(line.days for line in lines) == 3
    assert penalty_total(lines) == D("6.00")


def test_paid_on_the_due_date_no_penalty_paid_the_next_day_one_day():
    assert compute("1000.00", "2026-01-31", "2026-03-01", payments=[("2026-01-31", "1000.00")]) == []
    lines = compute("1000.00", "2026-01-31", "2026-03-01", payments=[("2026-02-01", "1000.00")])
    assert [(line.days, line.open_amount) for line in lines] == [(1, D("1000.00"))]


def test_payments_before_the_due_date_reduce_the_amount_from_the_start():
    lines = compute("1000.00", "2026-01-31", "2026-02-02", payments=[("2026-01-20", "250.00")])
    assert [(line.days, line.open_amount) for line in lines] == [(2, D("750.00"))]


def test_minimum_is_one_yuan_when_anything_is_due():
    lines = compute("100.00", "2026-01-31", "2026-02-02")  # 100 × 0.002 × 2 = 0.40
    assert [line.rule for line in lines] == [PenaltyRule.CURRENT_YEAR, PenaltyRule.MINIMUM]
    assert lines[-1].amount == D("0.60")
    assert penalty_total(lines) == D("1.00")
    # Even a fen open for one day.
    assert penalty_total(compute("0.01", "2026-01-31", "2026-02-01")) == D("1.00")


def test_minimum_configurable(settings):
    settings.GRIDKAM = {**settings.GRIDKAM, "PENALTY_MINIMUM": "5"}
    assert penalty_total(compute("100.00", "2026-01-31", "2026-02-02")) == D("5.00")


def test_rounded_half_up_once_at_the_end():
    # 333.33 × 0.002 × 3 = 1.99998 → 2.00; per line rounding would give the same here, but 0.665 → 0.67
    lines = compute("332.50", "2026-01-31", "2026-02-01")  # 0.665
    assert lines[0].exact == D("0.665000")
    settings_total = penalty_total(lines[:1])
    assert settings_total == D("0.67")


def test_exempt_accounts_owe_nothing():
    assert compute("1000.00", "2026-01-31", "2026-03-01", exempt=True) == []


def test_rates_configurable(settings):
    settings.GRIDKAM = {**settings.GRIDKAM, "PENALTY_RATE_CURRENT_YEAR": "0.001"}
    assert penalty_total(compute("1000.00", "2026-01-31", "2026-02-10")) == D("10.00")


# --- on stored bills ------------------------------------------------------------------------------


def test_penalty_of_a_stored_bill_uses_its_allocations(p, account):
    bill = make_bill(account, "2026-01", "1000.00", due="2026-02-15")
    payment_record(
        account=account,
        kind=PaymentKind.PAYMENT,
        method=PaymentMethod.COUNTER,
        amount=D("500.00"),
        received_on=day("2026-02-20"),
        user=p.clerk,
    )
    bill.refresh_from_db()
    # 16..20 Feb on 1000 (5 days), 21..28 Feb on 500 (8 days)
    assert penalty(bill, today=day("2026-02-28")) == D("18.00")
    assert [line.open_amount for line in penalty_lines(bill, day("2026-02-28"))] == [D("1000.00"), D("500.00")]


def test_settled_bill_stops_accruing(p, account):
    bill = make_bill(account, "2026-01", "1000.00", due="2026-02-15")
    make_payment(account, "1000.00", "2026-02-17")
    account_reallocate(account_id=account.pk)
    bill.refresh_from_db()
    assert bill.settled_on == day("2026-02-17")
    assert penalty(bill, today=day("2026-12-31")) == D("4.00")


def test_credit_notes_and_cancelled_bills_carry_no_penalty(p, account):
    original = make_bill(account, "2026-01", "1000.00", due="2026-02-15", status=BillStatus.CREDITED)
    note = make_bill(account, "2026-01", "-1000.00", kind=BillKind.CREDIT_NOTE, corrects=original)
    assert penalty(original, today=day("2026-06-01")) == D("0.00")
    assert penalty(note, today=day("2026-06-01")) == D("0.00")


def test_exempt_terms(p, account):
    bill = make_bill(account, "2026-01", "1000.00", due="2026-02-15")
    set_terms(account, penalty_exempt=True)
    assert penalty(bill, today=day("2026-03-01")) == D("0.00")
    assert account_penalty(account.pk, day("2026-03-01")) == D("0.00")


def test_account_penalty_adds_unpaid_bills_in_few_queries(p, account, django_assert_num_queries):
    for month in range(1, 7):
        make_bill(account, f"2026-{month:02d}", "1000.00")
    today = day("2026-05-20")
    # Jan..Apr bills are past due (15th of the next month): 5+… days each.
    expected = sum(penalty(bill, today=today) for bill in account.bills.filter(due_date__lt=today))
    with django_assert_num_queries(3):
        total = account_penalty(account.pk, today)
    assert total == expected
    # Jan: 16 Feb..20 May = 94 days → 188; Feb: 16 Mar..20 May = 66 → 132; Mar: 35 → 70; Apr: 5 → 10
    assert total == D("400.00")


def test_account_penalty_leaves_settled_bills_out_unless_asked(p, account):
    make_bill(account, "2026-01", "1000.00", due="2026-02-15")
    make_payment(account, "1000.00", "2026-02-20")
    account_reallocate(account_id=account.pk)
    assert account_penalty(account.pk, day("2026-03-01")) == D("0.00")
    assert account_penalty(account.pk, day("2026-03-01"), include_settled=True) == D("10.00")
