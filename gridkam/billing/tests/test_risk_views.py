"""Risk pages and API: the access matrix with the personas, the scorecard's edit rights and validation,
acting on warnings, "score now", the back-test button, and query counts independent of the data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.billing import risk
from gridkam.billing.models import Bill, RiskScore, RiskScorecard, RiskWarning
from gridkam.billing.risk_views import risk_card
from gridkam.core.testing import make_account, persona
from gridkam.engagement.models import Task, TaskStatus

from .test_risk_scoring import history

D = dt.date(2026, 7, 1)
STAFF = ["manager", "colleague", "engineer", "clerk", "supervisor", "admin"]


@pytest.fixture
def scored(p, account, other_account):
    """A1's account late and in arrears (high or severe, warned), B1's paying on time; both scored on D."""
    history(account, late=45, unpaid=3)
    history(other_account)
    risk.risk_score_all(today=D - dt.timedelta(days=1))
    risk.risk_score_all(today=D)
    return account


def _url(name, *args):
    from django.urls import reverse

    return reverse(name, args=args)


# --- Pages ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [*((w, 200) for w in STAFF), ("outsider", 404), ("customer_user", 403), ("anonymous", 302)],
)
def test_account_risk_page_access(p, scored, client, client_for, who, status):
    user = persona(p, who)
    c = client_for(user) if user else client
    response = c.get(_url("billing:account_risk", scored.pk))
    assert response.status_code == status
    if status == 200:
        body = response.content.decode()
        assert 'data-testid="risk-factors"' in body and 'data-indicator="on_time_rate"' in body
        assert response.context["latest"]["level"] in ("high", "severe")
        assert len(response.context["chart"]["days"]) == 2
        assert len(response.context["warnings"]) == 1


@pytest.mark.parametrize(
    ("who", "status"),
    [*((w, 200) for w in [*STAFF, "outsider"]), ("customer_user", 403), ("anonymous", 302)],
)
def test_portfolio_access(p, scored, client, client_for, who, status):
    user = persona(p, who)
    c = client_for(user) if user else client
    response = c.get(_url("billing:risk_portfolio"))
    assert response.status_code == status
    if status == 200:
        shown = [s.account_id for s in response.context["object_list"]]
        assert shown == ([] if who == "outsider" else [scored.pk])


def test_portfolio_levels_and_tables(p, scored, other_account, client_for):
    c = client_for(p.supervisor)
    response = c.get(_url("billing:risk_portfolio"), {"level": ["low", "medium", "high", "severe"]})
    ids = {s.account_id for s in response.context["object_list"]}
    assert scored.pk in ids and other_account.pk not in ids  # city B is not the supervisor's
    levels = {d["level"]: d for d in response.context["distribution"]}
    assert sum(d["accounts"] for d in levels.values()) == 4  # the four accounts of city A
    risky = RiskScore.objects.get(account=scored, is_latest=True)
    assert levels[risky.level]["arrears"] == Decimal("2000.00")  # the June bill is not due yet
    assert response.context["by_unit"][0]["total"] == 4
    assert {r["manager_name"] for r in response.context["by_manager"]} == {"李经理", "王经理"}
    admin = client_for(p.admin).get(_url("billing:risk_portfolio"), {"level": "low"})
    assert other_account.pk in {s.account_id for s in admin.context["object_list"]}
    htmx = c.get(_url("billing:risk_portfolio"), headers={"HX-Request": "true"})
    assert b"<html" not in htmx.content and b"risk-table" in htmx.content
    export = c.get(_url("billing:risk_portfolio"), {"export": "xlsx"})
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_portfolio_queries_constant(p, scored, client_for):
    c = client_for(p.supervisor)
    url = _url("billing:risk_portfolio") + "?level=low&level=medium&level=high&level=severe"
    with CaptureQueriesContext(connection) as few:
        assert c.get(url).status_code == 200
    for _k in range(6):
        other = make_account(customer=p.a2, points=0)
        history(other, late=40, unpaid=2)
    risk.risk_score_all(today=D + dt.timedelta(days=1))
    with CaptureQueriesContext(connection) as many:
        response = c.get(url)
    assert len(response.context["object_list"]) == 10
    assert len(many) == len(few)


def test_account_page_queries_constant(p, scored, client_for):
    c = client_for(p.manager)
    url = _url("billing:account_risk", scored.pk)
    with CaptureQueriesContext(connection) as few:
        c.get(url)
    for k in range(2, 12):
        risk.risk_score_all(today=D + dt.timedelta(days=k), account_ids=[scored.pk])
    with CaptureQueriesContext(connection) as many:
        response = c.get(url)
    assert len(response.context["chart"]["days"]) == 12
    assert len(many) == len(few)


def test_risk_card(scored, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        card = risk_card(scored)
    assert card["latest"]["level"] in ("high", "severe")
    assert card["top_factors"] and card["open_warnings"] == 1 and card["sparkline"]
    assert card["url"] == f"/billing/accounts/{scored.pk}/risk/"


@pytest.mark.parametrize(
    ("who", "status"),
    [*((w, 200) for w in [*STAFF, "outsider"]), ("customer_user", 403), ("anonymous", 302)],
)
def test_scorecard_page_access(p, client, client_for, who, status):
    user = persona(p, who)
    c = client_for(user) if user else client
    response = c.get(_url("billing:risk_scorecard"))
    assert response.status_code == status
    if status == 200:
        assert response.context["can_edit"] is (who in ("supervisor", "admin"))


@pytest.mark.parametrize(
    ("who", "status"),
    [("supervisor", 302), ("admin", 302), ("manager", 403), ("clerk", 403), ("engineer", 403), ("outsider", 403)]
    + [("customer_user", 403)],
)
def test_scorecard_edit_rights(p, client_for, who, status):
    data = {name: 10 for name in risk.WEIGHT_FIELDS.values()} | {"medium_from": 20, "high_from": 50, "severe_from": 80}
    response = client_for(persona(p, who)).post(_url("billing:risk_scorecard"), data)
    assert response.status_code == status
    card = risk.scorecard_current()
    if status == 302:
        assert card.weight_credit_rating == 10 and card.high_from == 50 and card.updated_by == persona(p, who)
        page = client_for(p.manager).get(_url("billing:risk_scorecard"))
        assert page.context["history"][0]["changes"]
    else:
        assert card.high_from == 55


def test_scorecard_validation(p, client_for):
    data = {name: 0 for name in risk.WEIGHT_FIELDS.values()} | {"medium_from": 60, "high_from": 50, "severe_from": 80}
    response = client_for(p.supervisor).post(_url("billing:risk_scorecard"), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "weight_on_time_rate" in errors and "high_from" in errors
    assert RiskScorecard.objects.get().high_from == 55


def test_warning_list_and_close(p, scored, client_for):
    warning = RiskWarning.objects.get()
    c = client_for(p.manager)
    listing = c.get(_url("billing:risk_warnings"))
    assert [w.pk for w in listing.context["object_list"]] == [warning.pk]
    assert client_for(p.outsider).get(_url("billing:risk_warnings")).context["object_list"].count() == 0
    c = client_for(p.manager)
    act = _url("billing:risk_warning_act", warning.pk)
    # Closing needs a note; the manager's colleague sees the account but may not act; the outsider does not see it.
    c.post(act, {"action": "close", "note": ""})
    warning.refresh_from_db()
    assert warning.status == "open"
    assert client_for(p.colleague).post(act, {"action": "acknowledge"}).status_code == 403
    assert client_for(p.outsider).post(act, {"action": "acknowledge"}).status_code == 404
    assert client_for(p.customer_user).post(act, {"action": "acknowledge"}).status_code == 403
    c = client_for(p.manager)  # the test client is shared: log the manager in again
    assert c.post(act, {"action": "acknowledge", "next": "https://evil.example/"}).url == _url("billing:risk_warnings")
    warning.refresh_from_db()
    assert warning.status == "acknowledged"
    c.post(act, {"action": "close", "note": "客户承诺月底前结清"})
    warning.refresh_from_db()
    assert warning.status == "closed" and warning.resolution == "客户承诺月底前结清" and warning.resolved_at
    task = Task.objects.get()
    assert task.status == TaskStatus.DONE and task.done_note == "客户承诺月底前结清"
    assert c.get(_url("billing:risk_warnings")).context["object_list"].count() == 0
    assert c.get(_url("billing:risk_warnings"), {"status": "closed"}).context["object_list"].count() == 1


@pytest.mark.parametrize(
    ("who", "status"), [("clerk", 302), ("supervisor", 302), ("manager", 403), ("customer_user", 403)]
)
def test_score_now_button(p, account, client_for, who, status):
    history(account, late=45, unpaid=3)
    response = client_for(persona(p, who)).post(_url("billing:risk_run"))
    assert response.status_code == status
    assert RiskScore.objects.exists() is (status == 302)


def test_backtest_button(p, account, client_for):
    history(account, months=24, end="2026-03")
    assert client_for(p.manager).post(_url("billing:risk_backtest")).status_code == 403
    response = client_for(p.clerk).post(_url("billing:risk_backtest"))
    assert response.status_code == 302
    card = risk.scorecard_current()
    assert card.backtest is not None and card.backtest_at is not None
    page = client_for(p.manager).get(_url("billing:risk_portfolio"))
    assert page.context["backtest"]["months"] == card.backtest["months"]
    assert b'data-testid="risk-backtest"' in page.content


# --- API --------------------------------------------------------------------------------------------------


def test_api_latest_scores(p, scored, api, django_assert_max_num_queries):
    response = api(p.manager).get("/api/v1/risk-scores/")
    assert response.status_code == 200
    rows = response.json()["results"]
    team = [scored, p.a1_sub.accounts.get(), p.a2.accounts.get(), p.a3.accounts.get()]  # the team's customers
    assert {r["account"] for r in rows} == {a.pk for a in team}
    assert all(r["scored_on"] == D.isoformat() for r in rows)
    level = RiskScore.objects.get(account=scored, is_latest=True).level
    filtered = api(p.manager).get("/api/v1/risk-scores/", {"level": level}).json()["results"]
    assert [r["account"] for r in filtered] == [scored.pk]
    assert filtered[0]["factors"][0]["indicator"]
    assert api(p.outsider).get("/api/v1/risk-scores/").json()["count"] == 1
    assert api(p.customer_user).get("/api/v1/risk-scores/").status_code == 403
    assert api(None).get("/api/v1/risk-scores/").status_code in (401, 403)
    for _k in range(5):
        history(make_account(customer=p.a2, points=0), late=40, unpaid=2)
    risk.risk_score_all(today=D)
    with django_assert_max_num_queries(4):
        assert api(p.supervisor).get("/api/v1/risk-scores/").json()["count"] == 9  # city A: 4 + 5


def test_api_history(p, scored, api):
    url = f"/api/v1/accounts/{scored.pk}/risk-scores/"
    body = api(p.manager).get(url).json()
    assert [r["scored_on"] for r in body["results"]] == [D.isoformat(), (D - dt.timedelta(days=1)).isoformat()]
    assert api(p.outsider).get(url).status_code == 404
    assert api(p.customer_user).get(url).status_code == 403


def test_api_warnings(p, scored, api):
    warning = RiskWarning.objects.get()
    rows = api(p.manager).get("/api/v1/risk-warnings/").json()["results"]
    assert [r["id"] for r in rows] == [warning.pk] and rows[0]["assignee"] == p.manager.pk
    assert api(p.outsider).get(f"/api/v1/risk-warnings/{warning.pk}/").status_code == 404
    close = f"/api/v1/risk-warnings/{warning.pk}/close/"
    bad = api(p.manager).post(close, {"note": ""}, format="json")
    assert bad.status_code == 400 and "note" in bad.json()["errors"]
    assert api(p.colleague).post(close, {"note": "x"}, format="json").status_code == 403
    ok = api(p.manager).post(close, {"note": "已催缴"}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "closed"
    again = api(p.manager).post(close, {"note": "已催缴"}, format="json")
    assert again.status_code == 400 and "status" in again.json()["errors"]


def test_api_scorecard(p, api):
    assert api(p.manager).get("/api/v1/risk-scorecard/").json()["high_from"] == 55
    assert api(p.customer_user).get("/api/v1/risk-scorecard/").status_code == 403
    assert api(p.clerk).patch("/api/v1/risk-scorecard/", {"high_from": 60}, format="json").status_code == 403
    ok = api(p.supervisor).patch("/api/v1/risk-scorecard/", {"high_from": 60}, format="json")
    assert ok.status_code == 200 and ok.json()["high_from"] == 60
    bad = api(p.supervisor).patch("/api/v1/risk-scorecard/", {"medium_from": 90}, format="json")
    assert bad.status_code == 400 and "high_from" in bad.json()["errors"]
    bad = api(p.admin).put("/api/v1/risk-scorecard/", {"high_from": 60}, format="json")
    assert bad.status_code == 400 and "weight_on_time_rate" in bad.json()["errors"]


def test_api_run(p, account, api):
    history(account, late=45, unpaid=3)
    assert api(p.manager).post("/api/v1/risk-scores/run/").status_code == 403
    assert api(p.customer_user).post("/api/v1/risk-scores/run/").status_code == 403
    response = api(p.clerk).post("/api/v1/risk-scores/run/")
    assert response.status_code == 200
    assert response.json()["accounts"] == 5 and response.json()["warnings"] == 1


# --- Tasks ------------------------------------------------------------------------------------------------


def test_my_tasks(p, scored, client_for, client):
    task = Task.objects.get()
    mine = client_for(p.manager).get("/tasks/")
    assert [t.pk for t in mine.context["tasks"]] == [task.pk]
    assert list(client_for(p.colleague).get("/tasks/").context["tasks"]) == []
    assert client_for(p.customer_user).get("/tasks/").status_code == 403
    client.logout()
    assert client.get("/tasks/").status_code == 302
    done = f"/tasks/{task.pk}/done/"
    assert client_for(p.colleague).post(done, {"note": "x"}).status_code == 404
    assert client_for(p.manager).post(done, {"note": "已联系财务"}).status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.done_note == "已联系财务"
    assert list(client_for(p.manager).get("/tasks/").context["tasks"]) == []


def test_unpaid_bill_only_counts_when_issued(scored):
    assert Bill.objects.filter(account=scored, settled_on__isnull=True).count() == 3


def test_risk_card_template(scored, p):
    from django.template.loader import render_to_string

    html = render_to_string("billing/_account_risk.html", {"risk": risk_card(scored)})
    assert 'data-testid="account-risk-card"' in html and f"/billing/accounts/{scored.pk}/risk/" in html
    assert "<polyline" in html and 'data-testid="account-risk-score"' in html
    fresh = make_account(customer=p.a2, points=0)
    empty = render_to_string("billing/_account_risk.html", {"risk": risk_card(fresh)})
    assert 'data-testid="account-risk-score"' not in empty
