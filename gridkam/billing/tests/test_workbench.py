"""The collections workbench (page and /api/v1/collections/): who sees it, which accounts it lists, its order
(risk level, then arrears), filters, the next step per row, the penalty, the export, and a query count that
does not grow with the rows."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from gridkam.billing import dunning
from gridkam.billing.choices import BillStatus, DunningStepKind, RiskLevel
from gridkam.billing.ledger import account_penalty
from gridkam.billing.models import RiskScore
from gridkam.billing.workbench import collections_list, rows_complete
from gridkam.core.testing import make_account, make_customer, persona

from .conftest import make_bill

K = DunningStepKind
DAY = datetime.timedelta(days=1)
TODAY = timezone.localdate()
URL = "/billing/workbench/"
API = "/api/v1/collections/"


def score(account, level, value, on=TODAY):
    return RiskScore.objects.create(account=account, scored_on=on, score=Decimal(value), level=level, factors=[])


def overdue(account, total, days=40, period="2025-01"):
    return make_bill(account, period, total, due=TODAY - days * DAY)


@pytest.fixture
def book(p):
    """Four of city A's accounts in arrears with different risk and amounts, one without arrears."""
    a1 = p.a1.accounts.get()
    a2 = p.a2.accounts.get()
    a3 = p.a3.accounts.get()
    sub = p.a1_sub.accounts.get()
    overdue(a1, "1000.00", days=100)
    score(a1, RiskLevel.HIGH, "60.0")
    score(a1, RiskLevel.LOW, "10.0", on=TODAY - 30 * DAY)  # older: not the latest
    overdue(a2, "5000.00", days=10)
    score(a2, RiskLevel.HIGH, "58.0")
    overdue(a3, "300.00", days=45)
    score(a3, RiskLevel.SEVERE, "80.0")
    overdue(sub, "99999.00", days=70)  # not scored
    b1 = p.b1.accounts.get()
    overdue(b1, "777.00")  # city B
    return {"a1": a1, "a2": a2, "a3": a3, "sub": sub, "b1": b1}


def rows(client, query="") -> list[str]:
    response = client.get(URL + query)
    assert response.status_code == 200
    return [row.account_no for row in response.context["object_list"]]


ACCESS = {
    "clerk": 200,
    "supervisor": 200,
    "manager": 200,
    "colleague": 200,
    "outsider": 200,
    "admin": 200,
    "customer_user": 403,
}


@pytest.mark.parametrize(("who", "expected"), ACCESS.items())
def test_who_opens_the_workbench(p, book, client_for, api, who, expected):
    user = persona(p, who)
    response = client_for(user).get(URL)
    assert response.status_code == expected
    assert api(user).get(API).status_code == expected
    if expected == 200:
        listed = {row.account_no for row in response.context["object_list"]}
        visible = {a.account_no for a in book.values() if a.customer.org_unit_id == p.city_a.pk}
        if who == "outsider":
            assert listed == {book["b1"].account_no}
        elif who == "admin":
            assert listed == visible | {book["b1"].account_no}
        else:
            assert listed == visible


def test_anonymous_is_sent_to_log_in(p, client):
    assert client.get(URL).status_code == 302
    assert client.get(API).status_code == 403


def test_only_accounts_with_arrears_are_listed(p, client_for):
    a1 = p.a1.accounts.get()
    a2 = p.a2.accounts.get()
    a3 = p.a3.accounts.get()
    sub = p.a1_sub.accounts.get()
    make_bill(a1, "2025-01", "100.00", due=TODAY)  # due today: not yet late
    make_bill(a2, "2025-01", "100.00", due=TODAY - 5 * DAY, amount_paid=Decimal("100.00"))  # paid
    make_bill(a3, "2025-01", "100.00", status=BillStatus.DRAFT)
    make_bill(sub, "2025-01", "100.00", due=TODAY - DAY)
    assert rows(client_for(p.clerk)) == [sub.account_no]


def test_default_order_is_risk_level_then_arrears(p, book, client_for):
    expected = [book["a3"], book["a2"], book["a1"], book["sub"]]  # severe; high 5000; high 1000; unscored
    assert rows(client_for(p.clerk)) == [a.account_no for a in expected]


def test_sorting_by_arrears_and_back(p, book, client_for):
    client = client_for(p.clerk)
    by_amount = [book[k].account_no for k in ("sub", "a2", "a1", "a3")]
    assert rows(client, "?sort=-arrears") == by_amount
    assert rows(client, "?sort=arrears") == by_amount[::-1]
    assert rows(client, "?sort=nonsense") == rows(client)


def test_row_figures(p, book):
    [row] = [r for r in rows_complete(collections_list(user=p.clerk), TODAY) if r.pk == book["a1"].pk]
    assert row.arrears == Decimal("1000.00") and row.days_overdue == 100 and row.bucket == "over_90"
    assert (row.risk_level, row.risk_score) == (RiskLevel.HIGH, Decimal("60.0"))
    assert row.penalty == account_penalty(book["a1"].pk, TODAY) > 0
    assert row.manager_name == p.manager.display_name
    assert (row.next.kind, row.next.allowed) == (K.REMINDER, True)


def test_next_step_per_row_follows_the_case(p, book, client_for, settings):
    settings.GRIDKAM = {**settings.GRIDKAM, "DUNNING_WAIT_DAYS": {"reminder": 3, "written_notice": 5}}
    dunning.step_take(account=book["a1"], kind=K.REMINDER, user=p.clerk, done_on=TODAY - DAY)
    dunning.step_take(account=book["a2"], kind=K.REMINDER, user=p.clerk, done_on=TODAY - 3 * DAY)
    response = client_for(p.clerk).get(URL)
    by_no = {row.account_no: row for row in response.context["object_list"]}
    a1, a2 = by_no[book["a1"].account_no], by_no[book["a2"].account_no]
    assert (a1.next.kind, a1.next.allowed, a1.next.allowed_from) == (K.WRITTEN_NOTICE, False, TODAY + 2 * DAY)
    assert (a2.next.kind, a2.next.allowed) == (K.WRITTEN_NOTICE, True)
    assert a1.dunning_state == K.REMINDER and by_no[book["a3"].account_no].dunning_state == "none"
    # The same answer as the account page's next_step, which reads the case itself.
    for key in ("a1", "a2", "a3"):
        assert by_no[book[key].account_no].next == dunning.next_step(book[key], TODAY)
    body = response.content.decode()
    assert f"{reverse('billing:account_dunning', args=[book['a2'].pk])}?kind=written_notice" in body
    assert f'hx-post="{reverse("billing:account_dunning", args=[book["a3"].pk])}"' in body


def test_managers_see_next_steps_but_no_action_buttons(p, book, client_for):
    body = client_for(p.manager).get(URL).content.decode()
    assert "hx-post" not in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?risk_level=high", ["a2", "a1"]),
        ("?risk_level=none", ["sub"]),
        ("?bucket=1_30", ["a2"]),
        ("?bucket=31_60", ["a3"]),
        ("?bucket=61_90", ["sub"]),
        ("?bucket=over_90", ["a1"]),
        ("?dunning_state=reminder", ["a1"]),
        ("?dunning_state=none", ["a3", "a2", "sub"]),
        ("?q=石化", ["a2"]),
    ],
)
def test_filters(p, book, client_for, query, expected):
    dunning.step_take(account=book["a1"], kind=K.REMINDER, user=p.clerk, done_on=TODAY)
    assert rows(client_for(p.clerk), query) == [book[k].account_no for k in expected]
    response = client_for(p.clerk).get(API + query)
    assert [r["account_no"] for r in response.json()["results"]] == [book[k].account_no for k in expected]


def test_filter_by_manager_and_org_unit(p, book, client_for):
    client = client_for(p.supervisor)
    assert rows(client, f"?manager={p.colleague.pk}") == [book["a3"].account_no]
    assert rows(client, f"?org_unit={p.city_a.pk}") == rows(client)
    assert rows(client_for(p.admin), f"?org_unit={p.city_b.pk}") == [book["b1"].account_no]


def test_a_bad_filter_value_is_ignored_on_the_page_and_400_in_the_api(p, book, client_for, api):
    assert client_for(p.clerk).get(URL + "?risk_level=bogus").status_code == 200
    assert api(p.clerk).get(API + "?risk_level=bogus").status_code == 400


def test_htmx_filter_gets_the_table_only(p, book, client_for):
    response = client_for(p.clerk).get(URL + "?risk_level=high", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'data-testid="workbench-table"' in body and "<html" not in body


def test_export_to_excel(p, book, client_for):
    response = client_for(p.clerk).get(URL + "?export=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    assert len(values) == 1 + 4
    assert values[1][1] == book["a3"].account_no


def _grow(p, n: int) -> None:
    for i in range(n):
        customer = make_customer(name=f"惠州欠费企业{i:03d}有限公司", org_unit=p.city_a)
        account = make_account(customer=customer)
        overdue(account, f"{100 + i}.00", days=5 + i * 7)
        if i % 2:
            score(account, RiskLevel.MEDIUM, "40.0")
        if i % 3 == 0:
            dunning.step_take(account=account, kind=K.REMINDER, user=p.clerk, done_on=TODAY - DAY)


@pytest.mark.parametrize("url", [URL, API, URL + "?sort=-arrears&risk_level=medium"])
def test_query_count_does_not_grow_with_rows(p, client_for, django_assert_num_queries, url):
    client = client_for(p.clerk)
    _grow(p, 2)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    _grow(p, 20)
    with django_assert_num_queries(len(small)):
        response = client.get(url)
    count = len(response.context["object_list"]) if url.startswith(URL) else len(response.json()["results"])
    assert count > 2


def test_api_rows(p, book, api):
    body = api(p.clerk).get(API + "?sort=-arrears").json()
    first = body["results"][0]
    assert body["count"] == 4
    assert first["account_no"] == book["sub"].account_no and first["arrears"] == "99999.00"
    assert first["risk_level"] is None and first["bucket"] == "61_90" and first["days_overdue"] == 70
    assert first["next_step"]["kind"] == K.REMINDER and first["next_step"]["allowed"] is True
    assert first["manager"] == p.manager.display_name
