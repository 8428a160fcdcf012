"""Account-health pages: the account page and the portfolio for every persona (outsider and portal user
included), worst first, filters (bad ones never 500), Excel, the level counts, constant query counts, and
"Score now" for supervisors and administrators only."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from gridkam.core.testing import make_account, persona
from gridkam.customers.choices import Tier
from gridkam.engagement.choices import HealthDriver
from gridkam.engagement.models import HealthScore

from .test_health_views_support import account_of, add_alert, add_scores, today

pytestmark = pytest.mark.django_db
STAFF = ["manager", "colleague", "engineer", "clerk", "supervisor", "admin"]
# Weighted mean (10×0.25 + 15×0.15 + 20×0.15 + 40×0.15 + 100×0.15) / 0.85 = 33.8: unhealthy.
WEAK = {
    HealthDriver.SATISFACTION: None,
    HealthDriver.COMPLAINTS: 15,
    HealthDriver.SLA_BREACHES: 20,
    HealthDriver.FEE_RISK: 10,
    HealthDriver.CONSUMPTION_TREND: 40,
}


@pytest.fixture
def scored(p):
    """A1 unhealthy (33.8, was 70) with an open alert and the manager's task; A2 healthy, A3 watch, B1 at risk;
    A1's subsidiary not scored."""
    a1 = account_of(p.a1)
    first, latest = add_scores(a1, [70, 33.8], points=WEAK)
    add_alert(latest, assignee=p.manager)
    add_alert(first, status="closed")
    add_scores(account_of(p.a2), [85])
    add_scores(account_of(p.a3), [62])
    add_scores(account_of(p.b1), [50])
    return a1


def client_as(p, client, client_for, who):
    user = persona(p, who)
    return client_for(user) if user else client


def shown(response) -> list[str]:
    return [s.account.customer.name for s in response.context["object_list"]]


# --- The account page -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [*((w, 200) for w in STAFF), ("outsider", 404), ("customer_user", 403), ("anonymous", 302)],
)
def test_account_page_access(p, scored, client, client_for, who, status):
    response = client_as(p, client, client_for, who).get(reverse("health:account", args=[scored.pk]))
    assert response.status_code == status
    if status == 200:
        body = response.content.decode()
        assert 'data-testid="health-drivers"' in body and 'data-driver="fee_risk" data-pulls-down="1"' in body
        assert float(response.context["latest"].score) == 33.8 and response.context["latest"].level == "unhealthy"
        assert response.context["chart"]["scores"] == [70.0, 33.8]
        assert {a.status for a in response.context["alerts"]} == {"open", "closed"}


def test_account_page_explains_drivers_and_which_pull_down(p, scored, client_for):
    response = client_for(p.manager).get(reverse("health:account", args=[scored.pk]))
    rows = {d["driver"]: d for d in response.context["drivers"]}
    assert list(rows) == list(HealthDriver.values)
    # Below the healthy level's 80 points a driver keeps the account from being healthy.
    pulling = ["complaints", "sla_breaches", "fee_risk", "consumption_trend"]
    assert [code for code, row in rows.items() if row["pulls_down"]] == pulling
    assert not rows["plan_delivery"]["pulls_down"]
    assert not rows["satisfaction"]["has_data"] and not rows["satisfaction"]["pulls_down"]
    assert all(d["text"] for d in rows.values())  # every driver is explained in words
    assert "2" in rows["complaints"]["text"] and "15.0%" in rows["sla_breaches"]["text"]
    # The alert's task is linked for its assignee.
    assert 'data-testid="health-alert-task"' in response.content.decode()
    assert f'href="{reverse("engagement:my_tasks")}"' in response.content.decode()
    bands = response.context["chart"]["bands"]
    assert [b["from"] for b in bands] == [80, 60, 40, 0]


def test_account_page_of_an_unscored_account(p, scored, client_for):
    response = client_for(p.supervisor).get(reverse("health:account", args=[account_of(p.a1_sub).pk]))
    assert response.status_code == 200
    assert response.context["latest"] is None and response.context["drivers"] == []
    assert b'data-testid="health-none"' in response.content


def test_account_page_unknown_account_is_404(p, client_for):
    assert client_for(p.admin).get(reverse("health:account", args=[999999])).status_code == 404


def test_account_page_queries_do_not_grow_with_scores_and_alerts(p, scored, client_for):
    c = client_for(p.manager)
    url = reverse("health:account", args=[scored.pk])
    with CaptureQueriesContext(connection) as few:
        assert c.get(url).status_code == 200
    HealthScore.objects.filter(account=scored).delete()
    scores = add_scores(scored, [float(40 + i) for i in range(30)])
    for score in scores[:8]:
        add_alert(score, assignee=p.colleague)
    with CaptureQueriesContext(connection) as many:
        response = c.get(url)
    assert len(response.context["chart"]["days"]) == 30 and len(response.context["alerts"]) == 10
    assert len(many) == len(few)


def test_trend_keeps_the_last_12_months(p, client_for):
    account = account_of(p.a1)
    add_scores(account, [50.0] * 400)
    response = client_for(p.manager).get(reverse("health:account", args=[account.pk]))
    days = response.context["chart"]["days"]
    assert len(days) == 365 and days[-1] == today().isoformat()


# --- The portfolio --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [*((w, 200) for w in [*STAFF, "outsider"]), ("customer_user", 403), ("anonymous", 302)],
)
def test_portfolio_access_shows_what_each_persona_sees_worst_first(p, scored, client, client_for, who, status):
    response = client_as(p, client, client_for, who).get(reverse("health:portfolio"))
    assert response.status_code == status
    if status == 200:
        user = persona(p, who)
        expected = list(
            HealthScore.objects.visible_to(user).filter(is_latest=True).order_by("score").values_list("pk", flat=True)
        )
        assert [s.pk for s in response.context["object_list"]] == expected
        if who == "outsider":
            assert shown(response) == [p.b1.name]
        if who == "supervisor":
            assert shown(response) == [p.a1.name, p.a3.name, p.a2.name]  # 33.8, 62, 85
        counts = {d["level"]: d["accounts"] for d in response.context["distribution"]}
        assert sum(counts.values()) == len(expected)


def test_portfolio_counts_per_level_and_chart(p, scored, client_for):
    response = client_for(p.admin).get(reverse("health:portfolio"))
    counts = {d["level"]: d["accounts"] for d in response.context["distribution"]}
    assert counts == {"healthy": 1, "watch": 1, "at_risk": 1, "unhealthy": 1}
    assert response.context["chart"]["accounts"] == [1, 1, 1, 1]
    body = response.content.decode()
    assert 'data-testid="health-distribution"' in body and 'data-level="unhealthy" data-count="1"' in body
    first = response.context["object_list"][0]
    assert [d["driver"] for d in first.weakest] == ["fee_risk", "complaints"]
    assert reverse("health:account", args=[scored.pk]) in body
    assert reverse("customers:customer_detail", args=[p.a1.pk]) in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"level": "unhealthy"}, ["a1"]),
        ({"level": ["watch", "healthy"]}, ["a3", "a2"]),
        ({"q": "石化"}, ["a2"]),
        ({"tier": Tier.SPECIAL}, ["a2"]),
        ({"manager": "colleague"}, ["a3"]),
        ({"org_unit": "city_b"}, ["b1"]),
        ({"customer": "a3"}, ["a3"]),
        ({"sort": "-score"}, ["a2", "a3", "b1", "a1"]),
        ({"sort": "customer"}, None),
    ],
)
def test_portfolio_filters_and_sorting(p, scored, client_for, query, expected):
    p.a2.tier = Tier.SPECIAL
    p.a2.save(update_fields=["tier"])
    resolved = {k: (getattr(p, v).pk if k in ("customer", "org_unit", "manager") else v) for k, v in query.items()}
    response = client_for(p.admin).get(reverse("health:portfolio"), resolved)
    assert response.status_code == 200
    names = shown(response)
    if expected is None:
        assert names == sorted(names)
    else:
        assert names == [getattr(p, key).name for key in expected]


@pytest.mark.parametrize(
    "query",
    [
        {"level": "nonsense"},
        {"tier": "x"},
        {"org_unit": "abc"},
        {"manager": "99999"},
        {"customer": "-1"},
        {"sort": "'; drop"},
        {"page": "999"},
        {"page": "x"},
        {"page_size": "7"},
        {"q": "\x00"},
    ],
)
def test_bad_filters_never_500(p, scored, client_for, query):
    response = client_for(p.supervisor).get(reverse("health:portfolio"), query)
    assert response.status_code in (200, 400)
    if response.status_code == 200 and "sort" in query:
        assert shown(response)[0] == p.a1.name  # the default order, worst first


def test_another_units_filters_are_refused_not_leaked(p, scored, client_for):
    response = client_for(p.supervisor).get(reverse("health:portfolio"), {"org_unit": p.city_b.pk})
    assert response.status_code == 200
    assert p.b1.name not in shown(response)
    assert "org_unit" in response.context["filter"].errors


def test_portfolio_htmx_partial(p, scored, client_for):
    response = client_for(p.supervisor).get(reverse("health:portfolio"), headers={"HX-Request": "true"})
    assert b"<html" not in response.content and b'data-testid="health-table"' in response.content


def test_portfolio_paginates(p, client_for):
    for _ in range(30):
        add_scores(make_account(customer=p.a2, points=0), [55])
    c = client_for(p.supervisor)
    first = c.get(reverse("health:portfolio"))
    assert len(first.context["object_list"]) == 25 and first.context["page_obj"].paginator.count == 30
    second = c.get(reverse("health:portfolio"), {"page": 2})
    assert len(second.context["object_list"]) == 5


def test_excel_opens_with_the_filtered_rows_worst_first(p, scored, client_for):
    c = client_for(p.supervisor)
    response = c.get(reverse("health:portfolio"), {"export": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    header, *rows = load_workbook(io.BytesIO(response.content), read_only=True).active.iter_rows(values_only=True)
    assert len(header) == 10
    assert [r[2] for r in rows] == [p.a1.name, p.a3.name, p.a2.name]
    assert [float(r[7]) for r in rows] == [33.8, 62.0, 85.0]
    assert rows[0][0] == scored.account_no and rows[0][5] == "李经理"
    filtered = c.get(reverse("health:portfolio"), {"export": "xlsx", "level": "healthy"})
    _header, *only = load_workbook(io.BytesIO(filtered.content), read_only=True).active.iter_rows(values_only=True)
    assert [r[2] for r in only] == [p.a2.name]
    outsider = client_for(p.outsider).get(reverse("health:portfolio"), {"export": "xlsx"})
    _header, *theirs = load_workbook(io.BytesIO(outsider.content), read_only=True).active.iter_rows(values_only=True)
    assert [r[2] for r in theirs] == [p.b1.name]


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("query", ["", "?level=unhealthy&level=at_risk&level=watch&level=healthy&sort=-score"])
def test_portfolio_queries_do_not_grow_with_rows(p, scored, client_for, query, htmx):
    c = client_for(p.supervisor)
    url = reverse("health:portfolio") + query
    headers = {"HX-Request": "true"} if htmx else {}
    with CaptureQueriesContext(connection) as few:
        assert c.get(url, headers=headers).status_code == 200
    for i in range(20):
        add_scores(make_account(customer=p.a2 if i % 2 else p.a3, points=0), [30.0 + i * 3])
    with CaptureQueriesContext(connection) as many:
        response = c.get(url, headers=headers)
    assert len(response.context["object_list"]) == 23
    assert len(many) == len(few)


def test_score_now_button_only_for_supervisors_and_admins(p, scored, client_for):
    for who in STAFF:
        response = client_for(getattr(p, who)).get(reverse("health:portfolio"))
        assert response.context["can_score"] is (who in ("supervisor", "admin"))
        assert (b'data-testid="health-score-now"' in response.content) is (who in ("supervisor", "admin"))


@pytest.mark.parametrize(
    ("who", "status"),
    [
        *((w, 403) for w in ["manager", "colleague", "engineer", "clerk", "outsider", "customer_user"]),
        ("anonymous", 302),
    ],
)
def test_score_now_refused(p, client, client_for, who, status):
    response = client_as(p, client, client_for, who).post(reverse("health:score_now"))
    assert response.status_code == status
    assert not HealthScore.objects.exists()


def test_score_now_get_is_not_allowed(p, client_for):
    assert client_for(p.supervisor).get(reverse("health:score_now")).status_code == 405


@pytest.mark.parametrize("who", ["supervisor", "admin"])
def test_score_now_scores_the_accounts(p, client_for, who):
    response = client_for(getattr(p, who)).post(reverse("health:score_now"))
    assert response.status_code == 302 and response["Location"] == reverse("health:portfolio")
    scored = set(HealthScore.objects.filter(is_latest=True).values_list("account__customer", flat=True))
    assert scored == {p.a1.pk, p.a1_sub.pk, p.a2.pk, p.a3.pk, p.b1.pk}  # every account, as the nightly job
    page = client_for(getattr(p, who)).get(reverse("health:portfolio"))
    assert [m.level_tag for m in page.context["messages"]] == ["success"]
