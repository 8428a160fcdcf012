"""The account-health API: the list (latest per account, worst first, filters, ordering), one account's health and
"score now", for every persona (outsider and portal user included); bad filters answer 400, never 500; constant
query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.core.testing import make_account, persona
from gridkam.engagement.models import HealthScore

from .test_health_views import STAFF, WEAK
from .test_health_views_support import account_of, add_alert, add_scores

pytestmark = pytest.mark.django_db
URL = "/api/v1/account-health/"


@pytest.fixture
def scored(p):
    a1 = account_of(p.a1)
    first, latest = add_scores(a1, [70, 33.8], points=WEAK)
    add_alert(latest, assignee=p.manager)
    add_scores(account_of(p.a2), [85])
    add_scores(account_of(p.a3), [62])
    add_scores(account_of(p.b1), [50])
    return a1


@pytest.mark.parametrize("who", [*STAFF, "outsider"])
def test_list_shows_what_each_persona_sees_worst_first(p, api, scored, who):
    user = persona(p, who)
    response = api(user).get(URL)
    assert response.status_code == 200
    rows = response.json()["results"]
    expected = list(
        HealthScore.objects.visible_to(user).filter(is_latest=True).order_by("score").values_list("pk", flat=True)
    )
    assert [r["id"] for r in rows] == expected
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores)
    if who == "outsider":
        assert [r["customer"] for r in rows] == [p.b1.pk]
    if who == "supervisor":
        assert [r["customer"] for r in rows] == [p.a1.pk, p.a3.pk, p.a2.pk]
        assert [w["driver"] for w in rows[0]["weakest"]] == ["fee_risk", "complaints"]
        assert rows[0]["level"] == "unhealthy" and rows[0]["manager_name"] == "李经理"


@pytest.mark.parametrize(("who", "codes"), [("customer_user", (403,)), ("anonymous", (401, 403))])
def test_portal_users_and_anonymous_are_refused_everywhere(p, api, scored, who, codes):
    client = api(persona(p, who))
    assert client.get(URL).status_code in codes
    assert client.get(f"{URL}{scored.pk}/").status_code in codes
    assert client.post(f"{URL}score/").status_code in codes
    assert not HealthScore.objects.filter(scored_on__gt=scored.health_scores.latest("scored_on").scored_on).exists()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"level": "unhealthy"}, ["a1"]),
        ({"level": ["watch", "at_risk"]}, ["b1", "a3"]),
        ({"customer": "a2"}, ["a2"]),
        ({"org_unit": "city_b"}, ["b1"]),
        ({"manager": "colleague"}, ["a3"]),
        ({"q": "纺织"}, ["b1"]),
        ({"ordering": "-score"}, ["a2", "a3", "b1", "a1"]),
    ],
)
def test_list_filters_and_ordering(p, api, scored, query, expected):
    resolved = {k: (getattr(p, v).pk if k in ("customer", "org_unit", "manager") else v) for k, v in query.items()}
    response = api(p.admin).get(URL, resolved)
    assert response.status_code == 200
    assert [r["customer"] for r in response.json()["results"]] == [getattr(p, k).pk for k in expected]


@pytest.mark.parametrize(
    "query",
    [{"level": "nonsense"}, {"customer": "abc"}, {"org_unit": "999999"}, {"manager": "x"}, {"tier": "no"}],
)
def test_bad_filters_answer_400_with_field_errors(p, api, scored, query):
    response = api(p.supervisor).get(URL, query)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == set(query)


def test_another_units_customer_is_not_a_valid_filter(p, api, scored):
    response = api(p.supervisor).get(URL, {"customer": p.b1.pk})
    assert response.status_code == 400 and "customer" in response.json()["errors"]


def test_bad_ordering_and_page_never_500(p, api, scored):
    client = api(p.supervisor)
    assert client.get(URL, {"ordering": "password"}).status_code == 200
    assert client.get(URL, {"page": "999"}).status_code == 404
    assert client.get(URL, {"page_size": "-3"}).status_code == 200


def test_list_queries_do_not_grow_with_rows(p, api, scored):
    client = api(p.supervisor)
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200
    for i in range(20):
        add_scores(make_account(customer=p.a3, points=0), [20.0 + i])
    with CaptureQueriesContext(connection) as many:
        response = client.get(URL)
    assert response.json()["count"] == 23
    assert len(many) == len(few)


@pytest.mark.parametrize(("who", "status"), [*((w, 200) for w in STAFF), ("outsider", 404), ("customer_user", 403)])
def test_detail_access(p, api, scored, who, status):
    response = api(persona(p, who)).get(f"{URL}{scored.pk}/")
    assert response.status_code == status
    if status == 200:
        body = response.json()
        assert body["account"] == scored.pk and body["customer"] == p.a1.pk
        assert body["latest"]["level"] == "unhealthy" and float(body["latest"]["score"]) == 33.8
        drivers = {d["driver"]: d for d in body["drivers"]}
        assert drivers["fee_risk"]["pulls_down"] and drivers["fee_risk"]["data"] == {"level": "high"}
        assert drivers["satisfaction"]["points"] is None and drivers["satisfaction"]["text"]
        assert [float(t["score"]) for t in body["trend"]] == [70.0, 33.8]
        assert len(body["alerts"]) == 1 and body["alerts"][0]["task_assignee"] == p.manager.pk
        assert body["alerts"][0]["status"] == "open"


def test_detail_of_an_unscored_or_unknown_account(p, api, scored):
    client = api(p.supervisor)
    body = client.get(f"{URL}{account_of(p.a1_sub).pk}/").json()
    assert body["latest"] is None and body["drivers"] == [] and body["trend"] == []
    assert client.get(f"{URL}999999/").status_code == 404
    assert client.get(f"{URL}abc/").status_code == 404


def test_detail_queries_do_not_grow_with_scores_and_alerts(p, api, scored):
    client = api(p.manager)
    with CaptureQueriesContext(connection) as few:
        assert client.get(f"{URL}{scored.pk}/").status_code == 200
    HealthScore.objects.filter(account=scored).delete()
    for score in add_scores(scored, [float(30 + i) for i in range(40)])[:6]:
        add_alert(score, assignee=p.colleague)
    with CaptureQueriesContext(connection) as many:
        body = client.get(f"{URL}{scored.pk}/").json()
    assert len(body["trend"]) == 40 and len(body["alerts"]) == 7
    assert len(many) == len(few)


@pytest.mark.parametrize("who", ["manager", "colleague", "engineer", "clerk", "outsider"])
def test_score_now_is_for_supervisors_and_admins(p, api, who):
    response = api(getattr(p, who)).post(f"{URL}score/")
    assert response.status_code == 403
    assert not HealthScore.objects.exists()


@pytest.mark.parametrize("who", ["supervisor", "admin"])
def test_score_now_returns_the_summary(p, api, who):
    response = api(getattr(p, who)).post(f"{URL}score/")
    assert response.status_code == 200
    summary = response.json()
    assert summary["accounts"] == 5 and sum(summary["levels"].values()) == 5
    assert HealthScore.objects.filter(is_latest=True).count() == 5
