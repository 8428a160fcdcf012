# ruff: noqa: F811 (the shared fixtures are imported from test_billrun and named as arguments)
"""Bill-run and bill pages: who sees and does what (the personas, outsider and portal user included), the run
form with its field errors, background runs with a polled progress, issuing and correcting from the bill page,
Excel exports, and list query counts that do not grow with the rows."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from gridkam.billing.billrun import bill_issue, bill_run
from gridkam.billing.choices import BillKind, BillStatus, RunStatus
from gridkam.billing.models import Bill, BillRun
from gridkam.core.testing import persona
from gridkam.tariffs.models import MonthlyUsage

from .test_billrun import MONTH, _accounts, account_of, billing, samples, usage_for  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
STAFF = ["manager", "colleague", "engineer", "clerk", "supervisor", "admin"]
BILLERS = ["clerk", "supervisor", "admin"]
NOT_BILLERS = ["manager", "colleague", "engineer", "outsider", "customer_user"]


@pytest.fixture
def run(billing):
    return bill_run(period=MONTH, user=billing.admin)


def bill_of(customer) -> Bill:
    return Bill.objects.get(account=account_of(customer), period=MONTH, kind=BillKind.REGULAR)


def sheet_rows(response) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    return list(workbook.active.iter_rows(values_only=True))


# -- access ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "draft", "issued"),
    [
        ("anonymous", 302, 302),
        ("manager", 200, 200),
        ("colleague", 200, 200),
        ("engineer", 200, 200),
        ("clerk", 200, 200),
        ("supervisor", 200, 200),
        ("admin", 200, 200),
        ("outsider", 404, 404),
        ("customer_user", 404, 200),  # the portal user of A1: never a draft
    ],
)
def test_who_sees_a_bill(billing, run, client, client_for, who, draft, issued):
    user = persona(billing, who)
    c = client_for(user) if user else client
    bill = bill_of(billing.a1)
    assert c.get(reverse("billing:bill_detail", args=[bill.pk])).status_code == draft
    bill_issue(bill=bill, user=billing.clerk)
    assert c.get(reverse("billing:bill_detail", args=[bill.pk])).status_code == issued


def test_the_portal_user_lists_only_the_issued_bills_of_their_customer(billing, run, client_for):
    bill_issue(bill=bill_of(billing.a1), user=billing.clerk)
    response = client_for(billing.customer_user).get(reverse("billing:bill_list"))
    assert response.status_code == 200
    assert [b.pk for b in response.context["object_list"]] == [bill_of(billing.a1).pk]
    assert b"billing/runs" not in response.content


def test_the_outsider_lists_only_the_bills_of_their_unit(billing, run, client_for):
    response = client_for(billing.outsider).get(reverse("billing:bill_list"))
    assert {b.account.customer_id for b in response.context["object_list"]} == {billing.b1.pk}


@pytest.mark.parametrize(("who", "status"), [("customer_user", 403), ("outsider", 200), ("manager", 200)])
def test_run_pages_are_staff_pages(billing, run, client_for, who, status):
    c = client_for(persona(billing, who))
    assert c.get(reverse("billing:run_list")).status_code == status
    assert c.get(reverse("billing:run_detail", args=[run.pk])).status_code == status


def test_a_run_page_shows_the_outsider_nothing_of_another_unit(billing, run, client_for):
    MonthlyUsage.objects.filter(account=account_of(billing.a2)).delete()
    rerun = bill_run(period=MONTH, user=billing.admin)
    response = client_for(billing.outsider).get(reverse("billing:run_detail", args=[rerun.pk]))
    assert {b.account.customer_id for b in response.context["bills"]} == {billing.b1.pk}
    assert response.context["problems"] == []  # A2's reason is not the outsider's to read
    supervisor = client_for(billing.supervisor).get(reverse("billing:run_detail", args=[rerun.pk]))
    assert [e["account_no"] for e in supervisor.context["problems"]] == [account_of(billing.a2).account_no]
    assert b'data-reason="no_usage"' in supervisor.content


@pytest.mark.parametrize("who", NOT_BILLERS)
def test_roles_that_do_not_bill_may_not_run_issue_or_correct(billing, run, client_for, who):
    c = client_for(persona(billing, who))
    bill = bill_of(billing.a1)
    assert c.post(reverse("billing:run_list"), {"period": "2026-03"}).status_code == 403
    assert c.post(reverse("billing:run_issue", args=[run.pk])).status_code == 403
    assert c.post(reverse("billing:bill_issue", args=[bill.pk])).status_code == 403
    bill.refresh_from_db()
    assert bill.status == BillStatus.DRAFT
    issued = bill_issue(bill=bill, user=billing.clerk)
    assert c.post(reverse("billing:bill_correct", args=[issued.pk]), {"reason": "x"}).status_code == 403
    assert Bill.objects.filter(corrects=issued).count() == 0


def test_a_clerk_of_another_unit_gets_404_for_the_bill(billing, run, client_for):
    from gridkam.core.testing import make_user
    from gridkam.users.choices import Role

    clerk_b = make_user("clerk_b", role=Role.BILLING_CLERK, org_unit=billing.city_b)
    c = client_for(clerk_b)
    bill = bill_of(billing.a1)
    assert c.get(reverse("billing:bill_detail", args=[bill.pk])).status_code == 404
    assert c.post(reverse("billing:bill_issue", args=[bill.pk])).status_code == 404


# -- the run form ----------------------------------------------------------------------------------------------


def test_a_clerk_bills_a_month_from_the_runs_page(billing, client_for):
    c = client_for(billing.clerk)
    page = c.get(reverse("billing:run_list"))
    assert page.status_code == 200 and b'data-testid="run-form"' in page.content
    response = c.post(reverse("billing:run_list"), {"period": "2026-03", "account_nos": ""})
    run = BillRun.objects.get()
    assert response.status_code == 302 and response.url == reverse("billing:run_detail", args=[run.pk])
    assert run.status == RunStatus.DONE and run.created_by == billing.clerk
    assert run.created == Bill.objects.count() > 0
    detail = c.get(response.url)
    assert detail.context["drafts"] == run.created and b'data-testid="run-issue"' in detail.content


def test_the_form_names_the_bad_field(billing, client_for):
    c = client_for(billing.clerk)
    response = c.post(reverse("billing:run_list"), {"period": "2026-13"})
    assert response.status_code == 400 and "period" in response.context["form"].errors
    response = c.post(reverse("billing:run_list"), {"period": "2026-03", "account_nos": "NOPE-1, NOPE-2"})
    assert response.status_code == 400 and "account_nos" in response.context["form"].errors
    assert b'data-testid="error-account_nos"' in response.content
    assert not BillRun.objects.exists()


def test_a_background_run_from_the_page_shows_its_progress(billing, client_for, django_capture_on_commit_callbacks):
    c = client_for(billing.supervisor)
    with django_capture_on_commit_callbacks(execute=False) as sent:
        response = c.post(reverse("billing:run_list"), {"period": "2026-03", "background": "on"})
    run = BillRun.objects.get()
    assert response.status_code == 302 and run.status == RunStatus.QUEUED and len(sent) == 1
    detail = c.get(response.url)
    assert b'data-testid="progress-queued"' in detail.content and b"hx-get" in detail.content
    progress_url = reverse("billing:run_progress", args=[run.pk])
    assert c.get(progress_url, HTTP_HX_REQUEST="true").get("HX-Refresh") is None
    sent[0]()  # what the worker does (eager: in-process)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE
    finished = c.get(progress_url, HTTP_HX_REQUEST="true")
    assert finished["HX-Refresh"] == "true" and b'data-testid="progress-finished"' in finished.content


def test_issue_all_drafts_of_a_run(billing, run, client_for):
    c = client_for(billing.clerk)
    response = c.post(reverse("billing:run_issue", args=[run.pk]))
    assert response.status_code == 302
    # The clerk of city A issues city A's drafts; B1's stays a draft.
    assert Bill.objects.get(account=account_of(billing.b1)).status == BillStatus.DRAFT
    assert set(Bill.objects.exclude(account=account_of(billing.b1)).values_list("status", flat=True)) == {
        BillStatus.ISSUED
    }


def test_run_exports(billing, run, client_for):
    MonthlyUsage.objects.filter(account=account_of(billing.a2)).delete()
    rerun = bill_run(period=MONTH, user=billing.admin)
    c = client_for(billing.supervisor)
    url = reverse("billing:run_detail", args=[rerun.pk])
    skipped = sheet_rows(c.get(url + "?export=skipped"))
    assert skipped[1][0] == account_of(billing.a2).account_no and len(skipped) == 2
    bills = sheet_rows(c.get(url + "?export=bills"))
    assert len(bills) == 1 + Bill.objects.filter(run=rerun).exclude(account=account_of(billing.b1)).count()
    runs = sheet_rows(c.get(reverse("billing:run_list") + "?export=xlsx"))
    assert len(runs) == 1 + BillRun.objects.count()


# -- the bill page ---------------------------------------------------------------------------------------------


def test_the_bill_page_explains_every_line(billing, run, client_for):
    bill = bill_of(billing.a1)
    response = client_for(billing.manager).get(reverse("billing:bill_detail", args=[bill.pk]))
    lines = response.context["lines"]
    assert [row["line"].pk for row in lines] == list(bill.lines.order_by("position").values_list("pk", flat=True))
    assert all(row["rule"] and row["label"] for row in lines)
    assert b'data-testid="bill-issue"' not in response.content  # a manager does not issue
    assert b"@media print" in response.content
    clerk = client_for(billing.clerk).get(reverse("billing:bill_detail", args=[bill.pk]))
    assert b'data-testid="bill-issue"' in clerk.content


def test_issue_and_correct_from_the_bill_page(billing, run, client_for):
    c = client_for(billing.clerk)
    bill = bill_of(billing.a1)
    assert c.post(reverse("billing:bill_issue", args=[bill.pk])).status_code == 302
    bill.refresh_from_db()
    assert bill.status == BillStatus.ISSUED and bill.number
    page = c.get(reverse("billing:bill_detail", args=[bill.pk]))
    assert b'data-testid="bill-correct-open"' in page.content

    missing = c.post(reverse("billing:bill_correct", args=[bill.pk]), {"reason": ""})
    assert missing.status_code == 400 and "reason" in missing.context["correct_form"].errors

    response = c.post(reverse("billing:bill_correct", args=[bill.pk]), {"reason": "抄表错误"})
    rebill = Bill.objects.get(kind=BillKind.REBILL)
    assert response.status_code == 302 and response.url == reverse("billing:bill_detail", args=[rebill.pk])
    chain = c.get(response.url).context["chain"]
    assert [b.kind for b in chain] == [BillKind.REGULAR, BillKind.CREDIT_NOTE, BillKind.REBILL]
    bill.refresh_from_db()
    assert bill.status == BillStatus.CREDITED
    # The portal user sees the bill, its credit note, but not the draft rebill.
    portal = client_for(billing.customer_user).get(reverse("billing:bill_detail", args=[bill.pk]))
    assert [b.kind for b in portal.context["chain"]] == [BillKind.REGULAR, BillKind.CREDIT_NOTE]


# -- the bill list ---------------------------------------------------------------------------------------------


def test_the_bill_list_filters_sorts_and_exports(billing, run, client_for):
    c = client_for(billing.admin)
    bill_issue(bill=bill_of(billing.a1), user=billing.clerk)
    url = reverse("billing:bill_list")
    assert [b.status for b in c.get(url + "?status=issued").context["object_list"]] == [BillStatus.ISSUED]
    assert len(c.get(url + "?period=2026-03").context["object_list"]) == Bill.objects.count()
    assert len(c.get(url + "?period=2026-02").context["object_list"]) == 0
    assert len(c.get(url + "?period=garbage").context["object_list"]) == 0
    account = account_of(billing.a2).account_no
    assert [b.account.account_no for b in c.get(url + f"?account={account}").context["object_list"]] == [account]
    assert {b.account.customer_id for b in c.get(url + f"?customer={billing.a3.pk}").context["object_list"]} == {
        billing.a3.pk
    }
    totals = [b.total for b in c.get(url + "?sort=-total").context["object_list"]]
    assert totals == sorted(totals, reverse=True)
    partial = c.get(url + "?kind=regular", HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content and b'data-testid="bill-table"' in partial.content
    rows = sheet_rows(c.get(url + "?export=xlsx"))
    assert len(rows) == 1 + Bill.objects.count()


def _list_queries(c, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert c.get(url).status_code == 200
    return len(queries)


def test_list_pages_query_counts_do_not_grow_with_the_rows(p, samples, usage_for, client_for):
    few = _accounts(p, 2, usage_for)
    bill_run(period=MONTH, account_nos=few, user=p.admin)
    c = client_for(p.supervisor)
    run = BillRun.objects.get()
    urls = [reverse("billing:bill_list"), reverse("billing:run_list"), reverse("billing:run_detail", args=[run.pk])]
    small = [_list_queries(c, url) for url in urls]
    many = _accounts(p, 20, usage_for)
    bill_run(period=MONTH, account_nos=many, user=p.admin)
    for _ in range(3):
        bill_run(period=MONTH, account_nos=few, user=p.admin)
    urls[2] = reverse("billing:run_detail", args=[BillRun.objects.filter(accounts=20).get().pk])
    assert [_list_queries(c, url) for url in urls] == small
