"""The account's billing page, the payment and refund forms, the exports, and who may see and use them."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from gridkam.billing.choices import BillKind, BillStatus, PaymentKind, PaymentMethod
from gridkam.billing.ledger import account_reallocate
from gridkam.billing.models import Payment
from gridkam.core.testing import persona

from .conftest import make_bill, make_payment, set_terms

D = Decimal
day = datetime.date.fromisoformat


def page_url(account, **query):
    url = reverse("billing:account_billing", args=[account.pk])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


@pytest.fixture
def history(account):
    """Two months paid, one partly, one not yet due; an overpayment kept as credit elsewhere."""
    jan = make_bill(account, "2026-01", "1000.00", due="2026-02-15")
    feb = make_bill(account, "2026-02", "2000.00", due="2026-03-15")
    mar = make_bill(account, "2026-03", "1500.00", due="2026-04-15")
    make_payment(account, "1000.00", "2026-02-10", reference="B-1")
    make_payment(account, "2500.00", "2026-03-20", reference="B-2")
    account_reallocate(account_id=account.pk)
    return jan, feb, mar


# --- access -----------------------------------------------------------------------------------------

SEES = ["manager", "engineer", "clerk", "supervisor", "admin", "customer_user"]


@pytest.mark.parametrize(
    ("who", "status"),
    [(who, 200) for who in SEES] + [("colleague", 200), ("outsider", 404), ("anonymous", 302)],
)
def test_who_sees_the_billing_page(p, account, client_for, client, who, status):
    user = persona(p, who)
    c = client_for(user) if user else client
    response = c.get(page_url(account))
    assert response.status_code == status


def test_outsider_sees_his_own_account_only(p, other_account, account, client_for):
    c = client_for(p.outsider)
    assert c.get(page_url(other_account)).status_code == 200
    assert c.get(page_url(account)).status_code == 404
    assert c.get(reverse("billing:account_billing", args=[999999])).status_code == 404


@pytest.mark.parametrize("who", ["clerk", "supervisor", "admin"])
def test_billing_roles_get_the_forms(p, account, client_for, who):
    response = client_for(persona(p, who)).get(page_url(account))
    assert response.context["can_record"]
    assert b'data-testid="payment-form"' in response.content
    assert b'data-testid="refund-form"' in response.content


@pytest.mark.parametrize("who", ["manager", "engineer", "customer_user", "colleague"])
def test_other_roles_read_only(p, account, client_for, who):
    response = client_for(persona(p, who)).get(page_url(account))
    assert not response.context["can_record"]
    assert b'data-testid="payment-form"' not in response.content


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("clerk", 302),
        ("supervisor", 302),
        ("admin", 302),
        ("manager", 403),
        ("engineer", 403),
        ("colleague", 403),
        ("customer_user", 403),
        ("outsider", 403),
        ("anonymous", 302),
    ],
)
def test_who_may_record_a_payment(p, account, client_for, client, who, status):
    user = persona(p, who)
    c = client_for(user) if user else client
    response = c.post(
        reverse("billing:payment_record", args=[account.pk]),
        {
            "payment-method": PaymentMethod.COUNTER,
            "payment-amount": "100.00",
            "payment-received_on": "2026-02-01",
        },
    )
    assert response.status_code == status
    assert Payment.objects.exists() == (status == 302 and user is not None)


def test_billing_clerk_of_another_unit_gets_404(p, other_account, client_for):
    # The clerk works in city A; city B's account is not in his view.
    response = client_for(p.clerk).post(
        reverse("billing:payment_record", args=[other_account.pk]),
        {"payment-method": "counter", "payment-amount": "1", "payment-received_on": "2026-02-01"},
    )
    assert response.status_code == 404
    assert client_for(p.clerk).get(page_url(other_account)).status_code == 404
    assert not Payment.objects.exists()


# --- content ----------------------------------------------------------------------------------------


def test_page_shows_balance_arrears_aging_penalty(p, account, history, client_for):
    response = client_for(p.manager).get(page_url(account, as_of="2026-04-30"))
    assert response.status_code == 200
    ledger = response.context["ledger"]
    # 4500 charged, 3500 paid; March (1500, 500 paid) is 15 days late on 30 April.
    assert ledger.balance == D("1000.00")
    assert ledger.arrears == D("1000.00")
    assert ledger.aging["1_30"] == D("1000.00")
    # Feb bill: 16..20 Mar on 1500 unpaid… settled 20 Mar → 5 days × 2000 × 0.002 = 20 (paid);
    # Mar bill: 16..30 Apr on 1000 → 15 × 1000 × 0.002 = 30 (open)
    assert ledger.penalty == D("30.00")
    content = response.content.decode()
    assert 'data-testid="arrears">1' in content  # localised grouping
    assert 'data-rule="current_year"' in content
    assert 'data-testid="dunning-card"' in content and 'data-testid="account-risk-card"' in content
    assert response.context["nav"] == "billing"


def test_settled_on_and_allocations_on_the_page(p, account, history, client_for):
    response = client_for(p.clerk).get(page_url(account))
    jan, feb, mar = history
    bills = {b.pk: b for b in response.context["ledger"].bills}
    assert bills[jan.pk].settled_on == day("2026-02-10")
    assert bills[feb.pk].settled_on == day("2026-03-20")
    assert bills[mar.pk].settled_on is None
    assert response.content.decode().count('data-payment="') == 2


def test_portal_user_does_not_see_drafts(p, account, client_for):
    make_bill(account, "2026-05", "10.00", status=BillStatus.DRAFT)
    make_bill(account, "2026-04", "20.00")
    assert len(client_for(p.customer_user).get(page_url(account)).context["ledger"].bills) == 1
    assert len(client_for(p.clerk).get(page_url(account)).context["ledger"].bills) == 2


def test_prepayment_low_balance_flag(p, account, client_for):
    set_terms(account, prepayment=True, low_balance_threshold=D("500.00"))
    make_payment(account, "300.00", "2026-01-05")
    response = client_for(p.manager).get(page_url(account))
    assert response.context["ledger"].prepayment.low
    assert b'data-testid="low-balance"' in response.content
    make_payment(account, "300.00", "2026-01-06")
    response = client_for(p.manager).get(page_url(account))
    assert not response.context["ledger"].prepayment.low
    assert b'data-testid="low-balance"' not in response.content


def test_exempt_account_shows_the_exemption(p, account, history, client_for):
    set_terms(account, penalty_exempt=True)
    response = client_for(p.manager).get(page_url(account, as_of="2026-04-30"))
    assert response.context["ledger"].penalty == D("0.00")
    assert b'data-testid="penalty-exempt"' in response.content


def test_credit_note_and_rebill_rows(p, account, client_for):
    original = make_bill(account, "2026-01", "100.00")
    make_payment(account, "100.00", "2026-02-10")
    make_bill(account, "2026-01", "-100.00", kind=BillKind.CREDIT_NOTE, corrects=original)
    rebill = make_bill(account, "2026-01", "90.00", kind=BillKind.REBILL, corrects=original)
    account_reallocate(account_id=account.pk)
    response = client_for(p.manager).get(page_url(account))
    bills = {b.pk: b for b in response.context["ledger"].bills}
    assert bills[original.pk].status == BillStatus.CREDITED
    assert bills[rebill.pk].amount_paid == D("90.00")
    assert response.context["ledger"].credit == D("10.00")


def test_invalid_as_of_falls_back_to_today(p, account, client_for):
    response = client_for(p.manager).get(page_url(account, as_of="yesterday"))
    assert response.status_code == 200
    assert response.context["is_today"]


# --- forms ------------------------------------------------------------------------------------------


def test_recording_a_payment_allocates_it(p, account, client_for):
    jan = make_bill(account, "2026-01", "100.00")
    response = client_for(p.clerk).post(
        reverse("billing:payment_record", args=[account.pk]),
        {
            "payment-method": PaymentMethod.BANK_TRANSFER,
            "payment-amount": "60.00",
            "payment-received_on": "2026-02-10",
            "payment-reference": "BANK-9",
            "payment-note": "partial",
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith(page_url(account) + "#payments")
    jan.refresh_from_db()
    assert jan.amount_paid == D("60.00")
    payment = Payment.objects.get()
    assert (payment.created_by, payment.reference, payment.kind) == (p.clerk, "BANK-9", PaymentKind.PAYMENT)


def test_payment_form_shows_field_errors(p, account, client_for):
    make_payment(account, "10.00", "2026-01-05", reference="DUP")
    url = reverse("billing:payment_record", args=[account.pk])
    future = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
    response = client_for(p.clerk).post(
        url,
        {"payment-method": "counter", "payment-amount": "0", "payment-received_on": future, "payment-reference": "DUP"},
    )
    assert response.status_code == 200
    assert "amount" in response.context["form"].errors
    response = client_for(p.clerk).post(
        url,
        {"payment-method": "counter", "payment-amount": "5", "payment-received_on": future, "payment-reference": "DUP"},
    )
    assert set(response.context["form"].errors) == {"received_on", "reference"}
    assert Payment.objects.count() == 1


def test_refund_beyond_credit_shows_a_field_error(p, account, client_for):
    make_bill(account, "2026-01", "100.00")
    make_payment(account, "130.00", "2026-02-01")
    account_reallocate(account_id=account.pk)
    url = reverse("billing:refund_record", args=[account.pk])
    response = client_for(p.clerk).post(
        url, {"refund-method": "bank_transfer", "refund-amount": "31.00", "refund-received_on": "2026-02-05"}
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["amount"]
    response = client_for(p.clerk).post(
        url, {"refund-method": "bank_transfer", "refund-amount": "30.00", "refund-received_on": "2026-02-05"}
    )
    assert response.status_code == 302
    assert Payment.objects.filter(kind=PaymentKind.REFUND).get().amount == D("30.00")


def test_payment_form_page_renders_for_clerks(p, account, client_for):
    response = client_for(p.clerk).get(reverse("billing:refund_record", args=[account.pk]))
    assert response.status_code == 200
    assert response.context["refund"]


# --- exports ----------------------------------------------------------------------------------------


def _sheet(response):
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return list(load_workbook(io.BytesIO(response.content)).active.values)


def test_export_bills(p, account, history, client_for):
    rows = _sheet(client_for(p.customer_user).get(page_url(account, export="bills", as_of="2026-04-30")))
    assert len(rows) == 4
    totals = sorted(float(r[5]) for r in rows[1:])
    assert totals == [1000.0, 1500.0, 2000.0]


def test_export_payments(p, account, history, client_for):
    rows = _sheet(client_for(p.clerk).get(page_url(account, export="payments")))
    assert len(rows) == 3
    assert {r[4] for r in rows[1:]} == {"B-1", "B-2"}


def test_exports_respect_visibility(p, account, client_for):
    assert client_for(p.outsider).get(page_url(account, export="bills")).status_code == 404


# --- queries ----------------------------------------------------------------------------------------


def _grow(account, months: int):
    for i in range(months):
        year, month = 2024 + i // 12, i % 12 + 1
        make_bill(account, f"{year}-{month:02d}", "100.00")
        make_payment(account, "60.00", f"{year}-{month:02d}-20")
    account_reallocate(account_id=account.pk)


def test_page_query_count_does_not_grow_with_history(p, account, client_for, django_assert_num_queries):
    c = client_for(p.clerk)
    _grow(account, 2)
    c.get(page_url(account))  # warm the session
    with django_assert_num_queries(16) as small:
        c.get(page_url(account))
    _grow_more = 20
    for i in range(_grow_more):
        make_bill(account, f"2030-{i % 12 + 1:02d}", "10.00", source="imported" if i >= 12 else "computed")
        make_payment(account, "1.00", "2026-01-01")
    account_reallocate(account_id=account.pk)
    with django_assert_num_queries(len(small.captured_queries)):
        response = c.get(page_url(account))
    assert len(response.context["ledger"].bills) == 22


def test_low_balance_page(p, account, other_account, client_for):
    set_terms(account, prepayment=True, low_balance_threshold=D("100.00"))
    set_terms(other_account, prepayment=True, low_balance_threshold=D("100.00"))
    response = client_for(p.supervisor).get(reverse("billing:low_balance"))
    assert [a.pk for a in response.context["accounts"]] == [account.pk]
    assert client_for(p.customer_user).get(reverse("billing:low_balance")).status_code == 403


def test_low_balance_page_queries_do_not_grow(p, client_for, django_assert_num_queries):
    from gridkam.core.testing import make_account

    def accounts(n):
        for _ in range(n):
            set_terms(make_account(customer=p.a2, points=0), prepayment=True, low_balance_threshold=D("10.00"))

    c = client_for(p.supervisor)
    accounts(2)
    c.get(reverse("billing:low_balance"))
    with django_assert_num_queries(6, exact=False) as few:
        assert len(c.get(reverse("billing:low_balance")).context["accounts"]) == 2
    accounts(18)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(c.get(reverse("billing:low_balance")).context["accounts"]) == 20
