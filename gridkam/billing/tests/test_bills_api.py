# ruff: noqa: F811 (the shared fixtures are imported from test_billrun and named as arguments)
"""The bill-run and bill API: runs (list, create now or in the background, retrieve), bills (filtered list, one
bill with its lines and rules, issue, correct), field errors as 400, the access matrix, list query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.billing.billrun import bill_issue, bill_run
from gridkam.billing.choices import BillKind, BillStatus, RunStatus
from gridkam.billing.models import Bill, BillRun
from gridkam.core.testing import persona
from gridkam.customers.models import ElectricityAccount
from gridkam.tariffs.models import MonthlyUsage

from .test_billrun import MONTH, _accounts, account_of, billing, samples, usage_for  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
RUNS = "/api/v1/bill-runs/"
BILLS = "/api/v1/bills/"


@pytest.fixture
def run(billing):
    return bill_run(period=MONTH, user=billing.admin)


def bill_of(customer) -> Bill:
    return Bill.objects.get(account=account_of(customer), period=MONTH, kind=BillKind.REGULAR)


def test_a_clerk_bills_a_month_through_the_api(billing, api):
    MonthlyUsage.objects.filter(account=account_of(billing.a2)).delete()
    response = api(billing.clerk).post(RUNS, {"period": "2026-03"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    run = BillRun.objects.get()
    assert response["Location"].endswith(f"{RUNS}{run.pk}/")
    assert body["period"] == "2026-03" and body["status"] == RunStatus.DONE
    assert body["created"] == Bill.objects.count() == ElectricityAccount.objects.visible_to(billing.clerk).count() - 1
    assert body["skipped"] == [
        {
            "account_no": account_of(billing.a2).account_no,
            "reason": "no_usage",
            "message": body["skipped"][0]["message"],
        }
    ]
    assert body["progress"] == {"chunks": 1, "chunks_done": 1, "percent": 100, "active": False}


def test_a_background_run_answers_202_and_is_followed_on_the_run(billing, api, django_capture_on_commit_callbacks):
    client = api(billing.supervisor)
    with django_capture_on_commit_callbacks(execute=False) as sent:
        response = client.post(RUNS, {"period": "2026-03", "background": True}, format="json")
    assert response.status_code == 202 and response.json()["status"] == RunStatus.QUEUED
    assert response.json()["progress"]["active"] is True
    sent[0]()
    followed = client.get(response["Location"]).json()
    assert followed["status"] == RunStatus.DONE and followed["created"] > 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"period": "2026-13"}, "period"),
        ({}, "period"),
        ({"period": "2026-03", "account_nos": ["NOPE"]}, "account_nos"),
        ({"period": "2026-03", "account_nos": "0800"}, "account_nos"),
    ],
)
def test_bad_input_is_a_field_error(billing, api, data, field):
    response = api(billing.clerk).post(RUNS, data, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]
    assert not BillRun.objects.exists()


@pytest.mark.parametrize(
    ("who", "read", "create"),
    [
        ("anonymous", 403, 403),
        ("customer_user", 403, 403),
        ("manager", 200, 403),
        ("engineer", 200, 403),
        ("outsider", 200, 403),
        ("clerk", 200, 201),
        ("supervisor", 200, 201),
        ("admin", 200, 201),
    ],
)
def test_who_may_read_and_start_runs(billing, run, api, who, read, create):
    client = api(persona(billing, who))
    assert client.get(RUNS).status_code in (read, 401)
    assert client.get(f"{RUNS}{run.pk}/").status_code in (read, 401)
    assert client.post(RUNS, {"period": "2026-03"}, format="json").status_code in (create, 401)


def test_run_ids_that_name_no_run_answer_404(billing, run, api):
    client = api(billing.admin)
    for pk in ("abc", str(2**63), "99999999999999999999"):
        assert client.get(f"{RUNS}{pk}/").status_code == 404, pk  # not a database error
    assert client.get(f"/api/v1/accounts/{2**63}/risk-scores/").status_code == 404


def test_a_run_lists_only_the_skipped_accounts_the_user_sees(billing, api):
    MonthlyUsage.objects.filter(account__in=[account_of(billing.a2), account_of(billing.b1)]).delete()
    run = bill_run(period=MONTH)
    outsider = api(billing.outsider).get(f"{RUNS}{run.pk}/").json()
    assert [e["account_no"] for e in outsider["skipped"]] == [account_of(billing.b1).account_no]
    assert outsider["skipped_count"] == 2


@pytest.mark.parametrize(
    ("who", "draft", "issued"),
    [
        ("manager", 200, 200),
        ("clerk", 200, 200),
        ("outsider", 404, 404),
        ("customer_user", 404, 200),
    ],
)
def test_who_sees_a_bill(billing, run, api, who, draft, issued):
    client = api(persona(billing, who))
    bill = bill_of(billing.a1)
    assert client.get(f"{BILLS}{bill.pk}/").status_code == draft
    bill_issue(bill=bill, user=billing.clerk)
    assert client.get(f"{BILLS}{bill.pk}/").status_code == issued


def test_a_bill_with_its_lines_and_rules(billing, run, api):
    bill = bill_of(billing.a1)
    body = api(billing.manager).get(f"{BILLS}{bill.pk}/").json()
    assert body["total"] == f"{bill.total:.2f}" and body["period"] == "2026-03" and body["status"] == "draft"
    assert body["account_no"] == bill.account.account_no and body["tariff_label"] == bill.tariff_label
    lines = list(bill.lines.order_by("position"))
    assert [line["item"] for line in body["lines"]] == [line.item for line in lines]
    assert [line["amount"] for line in body["lines"]] == [f"{line.amount:.2f}" for line in lines]
    assert all(line["rule"] and line["label"] for line in body["lines"])


def test_the_bill_list_filters(billing, run, api):
    bill_issue(bill=bill_of(billing.a1), user=billing.clerk)
    client = api(billing.admin)
    assert [b["status"] for b in client.get(BILLS, {"status": "issued"}).json()["results"]] == ["issued"]
    assert client.get(BILLS, {"period": "2026-03"}).json()["count"] == Bill.objects.count()
    assert client.get(BILLS, {"customer": billing.b1.pk}).json()["count"] == 1
    assert client.get(BILLS, {"status": "nonsense"}).status_code == 400
    assert api(billing.customer_user).get(BILLS).json()["count"] == 1  # A1's issued bill only


def test_issue_and_correct_through_the_api(billing, run, api):
    client = api(billing.clerk)
    bill = bill_of(billing.a1)
    issued = client.post(f"{BILLS}{bill.pk}/issue/")
    assert issued.status_code == 200 and issued.json()["status"] == "issued" and issued.json()["due_date"]
    again = client.post(f"{BILLS}{bill.pk}/issue/")
    assert again.status_code == 400 and again.json()["errors"]
    assert client.post(f"{BILLS}{bill.pk}/correct/", {}, format="json").json()["errors"]["reason"]
    corrected = client.post(f"{BILLS}{bill.pk}/correct/", {"reason": "抄表错误"}, format="json")
    assert corrected.status_code == 201
    body = corrected.json()
    assert body["credit_note"]["kind"] == "credit_note" and body["credit_note"]["corrects"] == bill.pk
    assert body["credit_note"]["total"] == f"{-bill.total:.2f}"
    assert body["rebill"]["kind"] == "rebill" and body["rebill"]["status"] == "draft"
    assert Bill.objects.get(pk=bill.pk).status == BillStatus.CREDITED


@pytest.mark.parametrize(("who", "status"), [("manager", 403), ("customer_user", 403), ("outsider", 403)])
def test_roles_that_do_not_bill_may_not_issue_or_correct(billing, run, api, who, status):
    client = api(persona(billing, who))
    bill = bill_of(billing.a1)
    assert client.post(f"{BILLS}{bill.pk}/issue/").status_code == status
    issued = bill_issue(bill=bill, user=billing.clerk)
    assert client.post(f"{BILLS}{issued.pk}/correct/", {"reason": "x"}, format="json").status_code == status


def test_another_units_bill_is_404_for_a_clerk(billing, run, api):
    bill = bill_of(billing.b1)
    assert api(billing.clerk).post(f"{BILLS}{bill.pk}/issue/").status_code == 404
    assert api(billing.clerk).get(f"{BILLS}{bill.pk}/").status_code == 404
    assert api(billing.clerk).get(f"{BILLS}nope/").status_code == 404


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_api_lists_query_counts_do_not_grow_with_the_rows(p, samples, usage_for, api):
    few = _accounts(p, 2, usage_for)
    bill_run(period=MONTH, account_nos=few, user=p.admin)
    client = api(p.supervisor)
    small = [_count(client, BILLS), _count(client, RUNS)]
    many = _accounts(p, 20, usage_for)
    for _ in range(3):
        bill_run(period=MONTH, account_nos=many, user=p.admin)
    assert [_count(client, BILLS), _count(client, RUNS)] == small


def test_the_accounts_a_run_was_limited_to_are_shown_as_far_as_the_user_sees_them(billing, api, client_for):
    numbers = [account_of(billing.a1).account_no, account_of(billing.b1).account_no]
    run = bill_run(period=MONTH, account_nos=numbers)
    outsider = api(billing.outsider).get(f"{RUNS}{run.pk}/").json()
    assert outsider["account_nos"] == [numbers[1]] and outsider["account_count"] == 2
    assert api(billing.admin).get(f"{RUNS}{run.pk}/").json()["account_nos"] == numbers
    from django.urls import reverse

    page = client_for(billing.outsider).get(reverse("billing:run_detail", args=[run.pk]))
    assert page.context["account_nos"] == [numbers[1]] and numbers[0].encode() not in page.content
