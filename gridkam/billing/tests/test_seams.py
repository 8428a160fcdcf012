"""Where the parts of billing meet: imported bills shown and explained, the kinds and statuses of bills
counted the same way everywhere, bad input answered with field errors, and another unit's objects as 404."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from gridkam.billing.imports import billing_import
from gridkam.billing.models import Bill

from .test_import_fixtures import DATA, sample_accounts

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported_bill(p):
    sample_accounts(p)
    result = billing_import(kind="bills", data=(DATA / "bills.csv").read_bytes(), file_name="bills.csv", user=p.clerk)
    assert result.ok, result.rejected
    return Bill.objects.get(number="HZ202507000101")


@pytest.mark.parametrize("who", ["clerk", "manager", "customer_user"])
def test_an_imported_bill_shows_its_lines_without_a_rule(p, imported_bill, client_for, api, who):
    user = getattr(p, who)
    page = client_for(user).get(reverse("billing:bill_detail", args=[imported_bill.pk]))
    assert page.status_code == 200
    assert "456824" in page.content.decode().replace(",", "")
    data = api(user).get(f"/api/v1/bills/{imported_bill.pk}/").json()
    lines = data["lines"]
    assert len(lines) == imported_bill.lines.count()
    assert {line["rule_code"] for line in lines} == {"imported"}
    assert all(line["rule"] == "" for line in lines)


def test_pages_exports_and_reconciliation_take_imported_bills(p, imported_bill, client_for, api):
    account = imported_bill.account
    c = client_for(p.clerk)
    urls = [
        reverse("billing:bill_list") + "?export=xlsx",
        reverse("billing:account_billing", args=[account.pk]),
        reverse("billing:account_billing", args=[account.pk]) + "?export=bills",
        reverse("billing:account_billing", args=[account.pk]) + "?export=payments",
        reverse("billing:reconcile") + "?period=2025-07",
        reverse("billing:reconcile") + "?period=2025-07&export=xlsx",
        reverse("billing:workbench") + "?export=xlsx",
    ]
    for url in urls:
        assert c.get(url).status_code == 200, url
    for url in [f"/api/v1/accounts/{account.pk}/billing/", "/api/v1/billing/reconcile/?period=2025-07"]:
        assert api(p.clerk).get(url).status_code == 200, url


def test_an_import_does_not_add_a_second_issued_bill_to_a_month_gridkam_issued(p):
    """The billing system's bill of a month GridKAM issued a bill for would be charged twice (balance, arrears,
    risk): the row is rejected, as GridKAM refuses to issue a month whose imported bill is issued."""
    from gridkam.billing.ledger import account_balance

    from .conftest import make_bill

    accounts = sample_accounts(p)
    ours = make_bill(accounts.steel, "2025-07", "500000.00", issued="2025-08-01", due="2025-08-16")
    result = billing_import(kind="bills", data=(DATA / "bills.csv").read_bytes(), file_name="bills.csv", user=p.clerk)
    assert not result.ok
    assert [(r["line"], list(r["errors"])) for r in result.rejected] == [(2, ["bill_no"])]
    assert not Bill.objects.filter(source="imported").exists()
    assert account_balance(accounts.steel.pk) == ours.total


# -- bad input answers with field errors, never a 500 ------------------------------------------------------


@pytest.fixture
def books(p):
    """Customer A1's account with an issued bill (overdue), a draft and a payment."""
    from gridkam.billing.ledger import account_reallocate

    from .conftest import make_bill, make_payment

    account = p.a1.accounts.get()
    issued = make_bill(account, "2026-01", "1000.00", issued="2026-02-01", due="2026-02-15")
    draft = make_bill(account, "2026-02", "900.00", status="draft")
    make_payment(account, "100.00", "2026-02-20")
    account_reallocate(account_id=account.pk)
    return account, issued, draft


BAD_VALUES = ["abcd", "", "2026-13-01", "1e20", "-5", "NaN", "Infinity", "9" * 40, None, [], {"x": 1}]


def _api_posts(account, issued, draft):
    yield "post", "/api/v1/bill-runs/", "period"
    yield "post", "/api/v1/bill-runs/", "account_nos"
    yield "post", f"/api/v1/bills/{issued.pk}/correct/", "reason"
    for field in ("amount", "received_on", "method", "kind", "account", "reference"):
        yield "post", "/api/v1/payments/", field
    for field in ("kind", "done_on", "approved_by", "suspension_planned_on", "suspension_planned_time", "note"):
        yield "post", f"/api/v1/accounts/{account.pk}/dunning-steps/", field
    for field in ("weight_on_time_rate", "medium_from", "severe_from"):
        yield "patch", "/api/v1/risk-scorecard/", field


@pytest.mark.parametrize("value", BAD_VALUES)
def test_api_posts_answer_bad_values_with_field_errors(p, books, api, value):
    account, issued, draft = books
    good = {
        "/api/v1/bill-runs/": {"period": "2026-02"},
        f"/api/v1/bills/{issued.pk}/correct/": {"reason": "meter read twice"},
        "/api/v1/payments/": {
            "account": account.pk,
            "kind": "payment",
            "method": "counter",
            "amount": "10.00",
            "received_on": "2026-03-01",
        },
        f"/api/v1/accounts/{account.pk}/dunning-steps/": {"kind": "reminder", "done_on": "2026-03-01"},
        "/api/v1/risk-scorecard/": {"weight_on_time_rate": 20},
    }
    client = api(p.admin)
    for method, url, field in _api_posts(account, issued, draft):
        body = {**good[url], field: value}
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code < 500, (url, field, value, response.content[:300])
        if response.status_code == 400:
            data = response.json()
            assert "errors" in data or "detail" in data, (url, field, data)


@pytest.mark.parametrize("value", [v for v in BAD_VALUES if isinstance(v, str)])
def test_forms_answer_bad_values_with_field_errors(p, books, client_for, value):
    account, issued, draft = books
    posts = [
        (reverse("billing:run_list"), {"period": "2026-02", "account_nos": ""}),
        (reverse("billing:bill_correct", args=[issued.pk]), {"reason": "meter read twice"}),
        (
            reverse("billing:payment_record", args=[account.pk]),
            {"payment-method": "counter", "payment-amount": "10", "payment-received_on": "2026-03-01"},
        ),
        (
            reverse("billing:refund_record", args=[account.pk]),
            {"refund-method": "counter", "refund-amount": "10", "refund-received_on": "2026-03-01"},
        ),
        (reverse("billing:account_dunning", args=[account.pk]), {"kind": "reminder", "done_on": "2026-03-01"}),
        (reverse("billing:risk_scorecard"), {"weight_on_time_rate": "20"}),
    ]
    client = client_for(p.admin)
    for url, good in posts:
        for field in good:
            response = client.post(url, {**good, field: value})
            assert response.status_code < 500, (url, field, value)


# -- another unit's objects are not found ------------------------------------------------------------------


def test_another_units_billing_objects_are_not_found(p, books, client_for, api):
    from gridkam.billing.dunning import step_take
    from gridkam.billing.models import Payment

    account, issued, draft = books
    step = step_take(account=account, kind="reminder", user=p.admin, done_on=dt.date(2026, 3, 1))
    payment = Payment.objects.get(account=account)
    web = [
        reverse("billing:bill_detail", args=[issued.pk]),
        reverse("billing:bill_detail", args=[draft.pk]),
        reverse("billing:account_billing", args=[account.pk]),
        reverse("billing:account_dunning", args=[account.pk]),
        reverse("billing:dunning_notice", args=[step.pk]),
        reverse("billing:account_risk", args=[account.pk]),
    ]
    rest = [
        f"/api/v1/bills/{issued.pk}/",
        f"/api/v1/payments/{payment.pk}/",
        f"/api/v1/dunning-cases/{step.case_id}/",
        f"/api/v1/accounts/{account.pk}/billing/",
        f"/api/v1/accounts/{account.pk}/dunning/",
        f"/api/v1/accounts/{account.pk}/risk-scores/",
    ]
    outsider_clerk = sample_accounts(p).clerk_b
    for user in (p.outsider, outsider_clerk):
        for url in web:
            assert client_for(user).get(url).status_code == 404, (user, url)
        for url in rest:
            assert api(user).get(url).status_code == 404, (user, url)
    posts = [
        (f"/api/v1/bills/{draft.pk}/issue/", {}),
        (f"/api/v1/bills/{issued.pk}/correct/", {"reason": "x"}),
        (f"/api/v1/accounts/{account.pk}/dunning-steps/", {"kind": "written_notice"}),
    ]
    assert client_for(outsider_clerk).get(reverse("billing:payment_record", args=[account.pk])).status_code == 404
    for url, body in posts:
        assert api(outsider_clerk).post(url, body, format="json").status_code == 404, url
    listed = api(outsider_clerk).get("/api/v1/bills/").json()
    assert listed["count"] == 0


# -- services that write several tables write all or nothing ---------------------------------------------


def test_closing_a_warning_and_its_task_is_all_or_nothing(p, monkeypatch):
    from gridkam.billing import risk
    from gridkam.billing.models import RiskWarning
    from gridkam.engagement.models import Task, TaskStatus

    from .test_risk_views import history

    account = p.a1.accounts.get()
    history(account, late=45, unpaid=3)
    risk.risk_score_all(today=dt.date(2026, 7, 1))
    warning = RiskWarning.objects.get()
    assert warning.task_id

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(Task.objects, "filter", broken)
    with pytest.raises(RuntimeError):
        risk.warning_act(warning=warning, user=p.manager, action="close", note="客户已付清")
    monkeypatch.undo()
    warning.refresh_from_db()
    assert (warning.status, warning.resolution, warning.resolved_at) == ("open", "", None)
    assert Task.objects.get().status == TaskStatus.OPEN


EXTREME_DAYS = ["0001-01-01", "0001-01-02", "9999-12-31", "9999-12-30"]


@pytest.mark.parametrize("day", EXTREME_DAYS)
def test_extreme_days_are_refused_or_answered_never_a_500(p, books, client_for, api, day):
    account, issued, draft = books
    client = api(p.admin)
    gets = [
        f"/api/v1/accounts/{account.pk}/billing/?as_of={day}",
        f"/api/v1/payments/?received_from={day}",
        f"/api/v1/collections/?as_of={day}",
    ]
    for url in gets:
        assert client.get(url).status_code < 500, url
    if day.startswith(("0001", "9999")):
        assert client.get(gets[0]).json()["errors"].keys() == {"as_of"}
    posts = [
        ("/api/v1/payments/", {"account": account.pk, "method": "counter", "amount": "1", "received_on": day}),
        (f"/api/v1/accounts/{account.pk}/dunning-steps/", {"kind": "reminder", "done_on": day}),
    ]
    for url, body in posts:
        assert client.post(url, body, format="json").status_code < 500, url
    web = client_for(p.admin)
    for url in [
        reverse("billing:account_billing", args=[account.pk]) + f"?as_of={day}",
        reverse("billing:low_balance") + f"?as_of={day}",
    ]:
        assert web.get(url).status_code < 500, url
    assert (
        web.post(
            reverse("billing:account_dunning", args=[account.pk]), {"kind": "reminder", "done_on": day}
        ).status_code
        < 500
    )


# -- bills of nothing to pay -------------------------------------------------------------------------------


def test_an_imported_bill_of_nothing_to_pay_is_settled_and_never_late(p):
    """A zero bill is settled when issued (the ledger's rule); imported into an account that never paid, it
    was left unsettled and the risk scorecard counted it as paid late."""
    from gridkam.billing import risk

    from .test_import_fixtures import steel_row, to_csv

    sample_accounts(p)
    zero = {key: "0" for key in steel_row() if key.endswith(("_kwh", "_charge", "_kvarh"))}
    row = steel_row(**zero, pf_adjustment="0", government_funds="0", total="0")
    result = billing_import(kind="bills", data=to_csv([row]), file_name="zero.csv", user=p.clerk)
    assert result.ok, result.rejected
    bill = Bill.objects.get(number="HZ202507000101")
    assert (bill.total, bill.settled_on) == (0, bill.issue_date)
    scores = risk.scores_compute(as_of=dt.date(2025, 10, 1), account_ids=[bill.account_id])
    assert scores.values[risk.TIMES_LATE].tolist() == [0]


def test_a_customer_with_a_billing_history_is_not_deleted(p, books, api):
    """Bills, payments and dunning keep their account (PROTECT): deleting the customer answers with the
    reason instead of a server error, and deletes nothing."""
    from gridkam.customers.models import Customer

    response = api(p.admin).delete(f"/api/v1/customers/{p.a1.pk}/")
    assert response.status_code == 400
    assert response.json()["errors"]
    assert Customer.objects.filter(pk=p.a1.pk).exists()
    assert Bill.objects.filter(account__customer=p.a1).count() == 2


def test_bills_without_a_due_date_or_with_nothing_to_pay_are_shown_and_counted(p, client_for, api):
    from gridkam.billing import risk
    from gridkam.billing.ledger import account_ledger, account_reallocate

    from .conftest import make_bill, make_payment

    account = p.a1.accounts.get()
    undated = make_bill(account, "2026-01", "300.00", issued="2026-02-01")
    Bill.objects.filter(pk=undated.pk).update(due_date=None)
    make_bill(account, "2026-02", "0.00", issued="2026-03-01", due="2026-03-15")
    make_payment(account, "100.00", "2026-02-01")  # the day the first bill is issued
    account_reallocate(account_id=account.pk)
    today = dt.date(2026, 6, 1)
    ledger = account_ledger(account=account, today=today)
    assert (ledger.balance, ledger.open_amount, ledger.arrears, ledger.penalty) == (200, 200, 0, 0)
    assert ledger.aging["not_due"] == 200
    assert Bill.objects.get(period="2026-02-01").settled_on == dt.date(2026, 3, 1)
    scores = risk.scores_compute(as_of=today, account_ids=[account.pk])
    assert scores.values[risk.TIMES_LATE].tolist() == [0]
    for user in (p.clerk, p.customer_user):
        assert client_for(user).get(reverse("billing:account_billing", args=[account.pk])).status_code == 200
        assert api(user).get(f"/api/v1/accounts/{account.pk}/billing/").status_code == 200
    assert client_for(p.clerk).get(reverse("billing:workbench")).status_code == 200


def test_a_reference_recorded_at_the_same_moment_is_a_field_error(p, books, api, monkeypatch):
    """The check for a reference already recorded and the insert are not one step: the database's
    refusal of the second payment with the same reference answers as the check would."""
    from gridkam.billing import ledger

    account, issued, draft = books
    body = {"account": account.pk, "method": "counter", "amount": "5.00", "received_on": "2026-03-01"}
    assert api(p.clerk).post("/api/v1/payments/", {**body, "reference": "YH1"}, format="json").status_code == 201
    checked = ledger._payment_errors

    def missed(**kwargs):  # the other payment is committed just after this one was checked
        return checked(**{**kwargs, "reference": ""})

    monkeypatch.setattr(ledger, "_payment_errors", missed)
    response = api(p.clerk).post("/api/v1/payments/", {**body, "reference": "YH1"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["reference"]


@pytest.mark.parametrize("day", ["9999-12-31", "9999-12-28", "0001-01-01"])
def test_a_suspension_notice_dated_at_the_ends_of_the_calendar_is_refused(p, books, api, day):
    from gridkam.billing.dunning import step_take

    account, issued, draft = books
    step_take(account=account, kind="reminder", user=p.admin, done_on=dt.date(2026, 3, 1))
    step_take(account=account, kind="written_notice", user=p.admin, done_on=dt.date(2026, 3, 10))
    body = {
        "kind": "suspension_notice",
        "done_on": day,
        "suspension_planned_on": day,
        "approved_by": p.supervisor.pk,
        "reported_to_authority": True,
    }
    response = api(p.admin).post(f"/api/v1/accounts/{account.pk}/dunning-steps/", body, format="json")
    assert response.status_code == 400
    assert "done_on" in response.json()["errors"]


@pytest.mark.parametrize(
    "dates",
    [
        {"issue_date": "9999-12-31", "due_date": ""},
        {"period": "9999-12", "issue_date": "9999-12-31", "due_date": "9999-12-31"},
        {"period": "0001-01", "issue_date": "0001-01-01", "due_date": "0001-01-01"},
    ],
)
def test_bill_dates_at_the_ends_of_the_calendar_are_row_errors(p, dates):
    from .test_import_fixtures import steel_row, to_csv

    sample_accounts(p)
    result = billing_import(kind="bills", data=to_csv([steel_row(**dates)]), file_name="far.csv", user=p.clerk)
    assert not result.ok
    assert result.rejected[0]["line"] == 2
    assert not Bill.objects.exists()


def test_a_risk_warnings_task_done_from_my_tasks_closes_the_warning(p, client_for):
    """The warning and its task move together: closing the warning marks the task done, and marking the
    task done on the "My tasks" page closes the warning with the same note."""
    from gridkam.billing import risk
    from gridkam.billing.models import RiskWarning
    from gridkam.engagement.models import Task, TaskStatus

    from .test_risk_views import history

    account = p.a1.accounts.get()
    history(account, late=45, unpaid=3)
    risk.risk_score_all(today=dt.date(2026, 7, 1))
    warning = RiskWarning.objects.get()
    task = Task.objects.get(pk=warning.task_id)
    response = client_for(task.assignee).post(reverse("engagement:task_done", args=[task.pk]), {"note": "已约定还款"})
    assert response.status_code == 302
    task.refresh_from_db()
    warning.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert (warning.status, warning.resolution, warning.resolved_at) == ("closed", "已约定还款", task.done_at)
