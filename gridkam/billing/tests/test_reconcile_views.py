"""The reconciliation page and its API twin: access, summary, filter, line comparison, Excel, queries."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from gridkam.billing.imports import billing_import
from gridkam.core.testing import make_account

from .test_import_fixtures import TARIFF, chem_row, sample_accounts, steel_row, to_csv

pytestmark = pytest.mark.django_db
URL = "/billing/reconcile/"
API = "/api/v1/billing/reconcile/"


@pytest.fixture
def acc(p):
    accounts = sample_accounts(p)
    rows = [steel_row(pf_adjustment="-1505.07", total="518518.93"), chem_row()]
    assert billing_import(kind="bills", data=to_csv(rows), file_name="bills.csv", user=p.clerk).ok
    return accounts


def test_the_urls_are_the_documented_ones():
    assert reverse("billing:reconcile") == URL
    assert reverse("billing-reconcile") == API


def test_portal_users_are_refused_and_anonymous_users_sent_to_log_in(p, acc, client_for, api, client):
    assert client.get(URL).url.startswith(reverse("login"))
    assert api(None).get(API, {"period": "2025-07"}).status_code in (401, 403)
    assert client_for(p.customer_user).get(URL).status_code == 403
    assert api(p.customer_user).get(API, {"period": "2025-07"}).status_code == 403


def test_the_page_shows_counts_totals_and_the_differing_line(p, acc, client_for):
    response = client_for(p.clerk).get(URL, {"period": "2025-07"})
    assert response.status_code == 200
    assert response.context["nav"] == "billing"
    html = response.content.decode()
    assert 'data-testid="count-match">1<' in html
    assert 'data-testid="count-differs">1<' in html
    assert html.count('data-testid="reconcile-row"') == 2
    assert html.count('data-testid="differing-line"') == 2  # the pf adjustment and the total
    assert "-1505.07" in html.replace(",", "") and "-1506.07" in html.replace(",", "")


def test_without_a_month_the_latest_imported_month_is_shown(p, acc, client_for):
    response = client_for(p.clerk).get(URL)
    assert response.context["period_value"] == "2025-07"


def test_a_bad_month_is_said_and_the_latest_month_shown(p, acc, client_for):
    response = client_for(p.clerk).get(URL, {"period": "July"})
    assert response.status_code == 200
    assert 'data-testid="period-error"' in response.content.decode()
    assert response.context["period_value"] == "2025-07"


def test_the_status_filter_and_the_htmx_partial(p, acc, client_for):
    client = client_for(p.clerk)
    response = client.get(URL, {"period": "2025-07", "status": "differs"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html
    assert html.count('data-testid="reconcile-row"') == 1
    assert 'data-status="differs"' in html
    assert "status=differs&amp;export=xlsx" in html  # the export follows the filter


def test_the_outsider_sees_no_row_of_city_a(p, acc, client_for, api):
    html = client_for(p.outsider).get(URL, {"period": "2025-07"}).content.decode()
    assert 'data-testid="reconcile-row"' not in html
    assert "0930000101" not in html
    body = api(p.outsider).get(API, {"period": "2025-07"}).json()
    assert (body["accounts"], body["results"]) == (0, [])


def test_the_excel_export_has_accounts_and_differing_lines(p, acc, client_for):
    response = client_for(p.clerk).get(URL, {"period": "2025-07", "export": "xlsx"})
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    accounts, lines = workbook.worksheets
    account_rows = list(accounts.iter_rows(values_only=True))
    assert len(account_rows) == 3
    assert {row[0] for row in account_rows[1:]} == {"0930000101", "0930000102"}
    line_rows = list(lines.iter_rows(values_only=True))
    assert len(line_rows) == 3  # header, pf adjustment, total
    assert line_rows[1][0] == "0930000101"
    assert line_rows[1][6] == 1  # imported − computed
    assert line_rows[1][7]  # GridKAM's rule


def test_the_page_takes_the_same_queries_for_2_and_20_accounts(p, acc, client_for, django_assert_num_queries):
    client = client_for(p.admin)
    client.get(URL, {"period": "2025-07"})
    with CaptureQueriesContext(connection) as two:
        client.get(URL, {"period": "2025-07"})
    rows = []
    for n in range(18):
        account = make_account(customer=p.a3, account_no=f"09500000{n:02d}", capacity_kva="2000", tariff_id=TARIFF)
        rows.append(steel_row(account_no=account.account_no, bill_no=f"M{n}"))
    assert billing_import(kind="bills", data=to_csv(rows), file_name="more.csv", user=p.admin).ok
    with django_assert_num_queries(len(two.captured_queries)):
        assert client.get(URL, {"period": "2025-07"}).context["report"].counts["match"] == 19


# --- API ----------------------------------------------------------------------------------------------


def test_the_api_answers_the_summary_and_each_accounts_lines(p, acc, api):
    response = api(p.clerk).get(API, {"period": "2025-07"})
    assert response.status_code == 200
    body = response.json()
    assert body["period"] == "2025-07"
    assert body["counts"] == {"match": 1, "differs": 1, "cannot_compute": 0}
    assert (body["imported_total"], body["computed_total"], body["difference"]) == (
        "723046.75",
        "723045.75",
        "1.00",
    )
    steel = next(r for r in body["results"] if r["account_no"] == "0930000101")
    assert steel["status"] == "differs"
    [pf] = [line for line in steel["lines"] if line["differs"] and line["item"] == "pf_adjustment"]
    assert (pf["imported"], pf["computed"], pf["difference"]) == ("-1505.07", "-1506.07", "1.00")
    assert pf["rule"]


def test_the_api_filters_by_status(p, acc, api):
    body = api(p.clerk).get(API, {"period": "2025-07", "status": "match"}).json()
    assert [r["account_no"] for r in body["results"]] == ["0930000102"]
    assert body["count"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [({}, "period"), ({"period": "2025-13"}, "period"), ({"period": "2025-07", "status": "x"}, "status")],
)
def test_the_api_names_a_bad_parameter(p, acc, api, params, field):
    response = api(p.clerk).get(API, params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_the_api_takes_the_same_queries_for_2_and_20_accounts(p, acc, api, django_assert_num_queries):
    client = api(p.admin)
    with CaptureQueriesContext(connection) as two:
        client.get(API, {"period": "2025-07"})
    rows = []
    for n in range(18):
        account = make_account(customer=p.a3, account_no=f"09600000{n:02d}", capacity_kva="2000", tariff_id=TARIFF)
        rows.append(steel_row(account_no=account.account_no, bill_no=f"K{n}"))
    assert billing_import(kind="bills", data=to_csv(rows), file_name="more.csv", user=p.admin).ok
    with django_assert_num_queries(len(two.captured_queries)):
        assert client.get(API, {"period": "2025-07"}).json()["accounts"] == 20
