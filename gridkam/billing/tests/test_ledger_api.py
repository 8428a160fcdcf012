"""The ledger API: an account's billing figures and the payments endpoint."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from gridkam.billing.choices import PaymentKind, PaymentMethod
from gridkam.billing.ledger import account_reallocate
from gridkam.billing.models import Payment
from gridkam.core.testing import persona

from .conftest import make_bill, make_payment, set_terms

D = Decimal
PAYMENTS = "/api/v1/payments/"


def billing_url(account, **query):
    url = f"/api/v1/accounts/{account.pk}/billing/"
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.fixture
def history(account):
    make_bill(account, "2026-01", "1000.00", due="2026-02-15")
    make_bill(account, "2026-02", "2000.00", due="2026-03-15")
    make_payment(account, "1500.00", "2026-03-01", reference="B-1")
    account_reallocate(account_id=account.pk)


# --- account figures --------------------------------------------------------------------------------


def test_account_billing_figures(p, account, history, api):
    response = api(p.manager).get(billing_url(account, as_of="2026-03-31"))
    assert response.status_code == 200
    data = response.json()
    assert data["account_no"] == account.account_no
    assert data["as_of"] == "2026-03-31"
    assert D(data["balance"]) == D("1500.00")
    assert D(data["arrears"]) == D("1500.00")
    assert D(data["open_amount"]) == D("1500.00")
    assert data["oldest_due"] == "2026-03-15"
    # Jan: 16 Feb–1 Mar on 1000 (14 days) = 28; Feb: 16–31 Mar on 1500 (16 days) = 48, still open.
    assert D(data["penalty"]) == D("48.00")
    assert data["penalty_exempt"] is False
    assert D(data["aging"]["days_1_30"]) == D("1500.00")
    assert set(data["aging"]) == {"not_due", "days_1_30", "days_31_60", "days_61_90", "over_90"}
    assert data["prepayment"]["prepayment"] is False


def test_prepayment_state_in_the_api(p, account, api):
    set_terms(account, prepayment=True, low_balance_threshold=D("200.00"))
    make_payment(account, "150.00", "2026-01-01")
    data = api(p.customer_user).get(billing_url(account)).json()
    assert data["prepayment"] == {"prepayment": True, "credit": "150.00", "threshold": "200.00", "low": True}


def test_bad_as_of_is_a_field_error(p, account, api):
    response = api(p.manager).get(billing_url(account, as_of="31/03/2026"))
    assert response.status_code == 400
    assert "as_of" in response.json()["errors"]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("manager", 200),
        ("colleague", 200),
        ("engineer", 200),
        ("clerk", 200),
        ("supervisor", 200),
        ("admin", 200),
        ("customer_user", 200),
        ("outsider", 404),
        ("anonymous", 401),
    ],
)
def test_who_sees_account_billing(p, account, api, who, status):
    assert api(persona(p, who)).get(billing_url(account)).status_code in ((status,) if status != 401 else (401, 403))


@pytest.mark.parametrize("pk", ["abc", "99999999999999999999", "0"])
def test_unknown_accounts_are_404(p, api, pk):
    assert api(p.admin).get(f"/api/v1/accounts/{pk}/billing/").status_code == 404


# --- payments list ----------------------------------------------------------------------------------


def test_list_filters(p, account, other_account, api):
    make_payment(account, "10.00", "2026-01-05", method=PaymentMethod.COUNTER)
    make_payment(account, "20.00", "2026-02-05", method=PaymentMethod.ONLINE)
    make_payment(account, "5.00", "2026-02-06", kind=PaymentKind.REFUND)
    make_payment(other_account, "30.00", "2026-02-05")
    client = api(p.admin)

    def amounts(**query):
        response = client.get(PAYMENTS, query)
        assert response.status_code == 200
        return sorted(D(row["amount"]) for row in response.json()["results"])

    assert amounts() == [D("5.00"), D("10.00"), D("20.00"), D("30.00")]
    assert amounts(account=account.pk) == [D("5.00"), D("10.00"), D("20.00")]
    assert amounts(received_from="2026-02-01", received_to="2026-02-05") == [D("20.00"), D("30.00")]
    assert amounts(method="online") == [D("20.00")]
    assert amounts(kind="refund") == [D("5.00")]
    assert client.get(PAYMENTS, {"method": "cheque"}).status_code == 400
    assert client.get(PAYMENTS, {"received_from": "soon"}).status_code == 400


def test_list_is_limited_to_what_the_user_sees(p, account, other_account, api):
    mine = make_payment(account, "10.00", "2026-01-05")
    theirs = make_payment(other_account, "30.00", "2026-02-05")
    ids = {row["id"] for row in api(p.customer_user).get(PAYMENTS).json()["results"]}
    assert ids == {mine.pk}
    ids = {row["id"] for row in api(p.outsider).get(PAYMENTS).json()["results"]}
    assert ids == {theirs.pk}
    assert api(p.outsider).get(f"{PAYMENTS}{mine.pk}/").status_code == 404
    assert api(p.customer_user).get(f"{PAYMENTS}{mine.pk}/").status_code == 200
    assert api(p.admin).get(f"{PAYMENTS}abc/").status_code == 404


def test_retrieve_shows_allocations(p, account, history, api):
    payment = Payment.objects.get()
    data = api(p.clerk).get(f"{PAYMENTS}{payment.pk}/").json()
    assert [(a["period"], a["amount"]) for a in data["allocations"]] == [
        ("2026-01-01", "1000.00"),
        ("2026-02-01", "500.00"),
    ]


def _payments(account, n, start=0):
    for i in range(start, start + n):
        make_bill(account, f"{2020 + i // 12}-{i % 12 + 1:02d}", "10.00")
        make_payment(account, "15.00", f"2025-01-{i % 28 + 1:02d}", reference=f"R{i}")
    account_reallocate(account_id=account.pk)


def test_list_query_count_is_constant(p, account, api, django_assert_num_queries):
    client = api(p.clerk)
    _payments(account, 2)
    with django_assert_num_queries(3) as few:  # count, page, allocations with their bills
        assert client.get(PAYMENTS).json()["count"] == 2
    _payments(account, 20, start=2)
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get(PAYMENTS).json()["count"] == 22


# --- recording --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("clerk", 201),
        ("supervisor", 201),
        ("admin", 201),
        ("manager", 403),
        ("engineer", 403),
        ("customer_user", 403),
        ("outsider", 403),
    ],
)
def test_who_may_record(p, account, api, who, status):
    body = {"account": account.pk, "method": "counter", "amount": "12.50", "received_on": "2026-02-01"}
    response = api(persona(p, who)).post(PAYMENTS, body, format="json")
    assert response.status_code == status
    assert Payment.objects.exists() == (status == 201)


def test_record_allocates_and_returns_the_payment(p, account, api):
    make_bill(account, "2026-01", "10.00")
    body = {
        "account": account.pk,
        "method": "bank_transfer",
        "amount": "12.50",
        "received_on": "2026-02-01",
        "reference": "X-1",
    }
    response = api(p.clerk).post(PAYMENTS, body, format="json")
    assert response.status_code == 201
    data = response.json()
    assert (data["kind"], data["amount"], data["created_by"]) == ("payment", "12.50", "clerk")
    assert [a["amount"] for a in data["allocations"]] == ["10.00"]


def test_account_outside_the_view_is_a_field_error(p, other_account, api):
    body = {"account": other_account.pk, "method": "counter", "amount": "1", "received_on": "2026-02-01"}
    response = api(p.clerk).post(PAYMENTS, body, format="json")
    assert response.status_code == 400
    assert "account" in response.json()["errors"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"received_on": (datetime.date.today() + datetime.timedelta(days=1)).isoformat()}, "received_on"),
        ({"method": "cheque"}, "method"),
        ({"kind": "refund", "amount": "1.00"}, "amount"),
        ({"reference": "DUP"}, "reference"),
    ],
)
def test_invalid_input_is_400_with_field_errors(p, account, api, changes, field):
    make_payment(account, "5.00", "2026-01-01", reference="DUP")
    make_bill(account, "2026-01", "5.00")
    account_reallocate(account_id=account.pk)
    body = {"account": account.pk, "method": "counter", "amount": "1.00", "received_on": "2026-02-01"} | changes
    response = api(p.clerk).post(PAYMENTS, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Payment.objects.count() == 1


def test_refund_of_credit_through_the_api(p, account, api):
    make_payment(account, "50.00", "2026-01-01")
    account_reallocate(account_id=account.pk)
    body = {
        "account": account.pk,
        "kind": "refund",
        "method": "bank_transfer",
        "amount": "50.00",
        "received_on": "2026-01-02",
    }
    response = api(p.supervisor).post(PAYMENTS, body, format="json")
    assert response.status_code == 201
    assert D(api(p.supervisor).get(billing_url(account)).json()["balance"]) == D("0.00")


def test_portal_users_do_not_see_who_recorded_a_payment(p, account, history, api):
    Payment.objects.update(created_by=p.clerk)
    staff = api(p.manager).get(PAYMENTS, {"account": account.pk}).json()["results"]
    portal = api(p.customer_user).get(PAYMENTS, {"account": account.pk}).json()["results"]
    assert [row["created_by"] for row in staff] == [p.clerk.username]
    assert [row["created_by"] for row in portal] == [None]


def test_a_payment_dated_before_1900_is_a_field_error(p, account, api):
    data = {"account": account.pk, "method": PaymentMethod.COUNTER, "amount": "10.00", "received_on": "1899-12-31"}
    response = api(p.clerk).post(PAYMENTS, data, format="json")
    assert response.status_code == 400 and "received_on" in response.json()["errors"]
    assert not Payment.objects.exists()
