"""Survey API for every persona: list and detail (staff: their customers' surveys; portal users: theirs), answer
(the recipient only, once), results and send (staff; send for managers, supervisors and admins). Another
customer's or an unseen survey is a 404; ids beyond 2^63 are 404; bad input is a 400 with field errors."""

from __future__ import annotations

import pytest
from django.utils import timezone

from gridkam.core.testing import persona
from gridkam.surveys.models import Survey

from .support import DAY, other_customer_user, primary_contact, survey

ANSWER = {
    "nps": 8,
    "reliability_score": 5,
    "responsiveness_score": 4,
    "billing_clarity_score": 4,
    "account_manager_score": 5,
    "comment": "总体满意",
}


@pytest.fixture
def surveys(p):
    now = timezone.now()
    return {
        "a1": survey(p.a1, recipient=p.customer_user, manager=p.manager),
        "a3": survey(p.a3, manager=p.colleague, answered=now, nps=9),
        "b1": survey(p.b1, manager=p.outsider, answered=now, nps=2),
    }


def who_is(p, who):
    return other_customer_user(p) if who == "other_customer" else persona(p, who)


@pytest.mark.parametrize(
    ("who", "status", "expected"),
    [
        ("anonymous", 403, None),
        ("customer_user", 200, {"a1"}),
        ("other_customer", 200, set()),
        ("manager", 200, {"a1", "a3"}),
        ("outsider", 200, {"b1"}),
        ("admin", 200, {"a1", "a3", "b1"}),
    ],
)
def test_list_access(p, surveys, api, who, status, expected):
    response = api(who_is(p, who)).get("/api/v1/surveys/")
    assert response.status_code == status
    if expected is not None:
        assert {row["id"] for row in response.json()["results"]} == {surveys[k].pk for k in expected}


@pytest.mark.parametrize(
    ("who", "key", "status"),
    [
        ("anonymous", "a1", 403),
        ("customer_user", "a1", 200),
        ("customer_user", "a3", 404),
        ("other_customer", "a1", 404),
        ("manager", "a1", 200),
        ("manager", "b1", 404),
        ("outsider", "a1", 404),
    ],
)
def test_detail_access(p, surveys, api, who, key, status):
    response = api(who_is(p, who)).get(f"/api/v1/surveys/{surveys[key].pk}/")
    assert response.status_code == status
    if status == 200:
        body = response.json()
        assert body["status"] in ("sent", "answered") and body["questions"]["asks_nps"] is True


@pytest.mark.parametrize("pk", ["99999999", str(2**63), str(2**70), "abc"])
def test_ids_beyond_any_row_are_404(p, api, pk):
    assert api(p.admin).get(f"/api/v1/surveys/{pk}/").status_code == 404
    assert api(p.customer_user).post(f"/api/v1/surveys/{pk}/answer/", ANSWER, format="json").status_code == 404


def test_the_recipient_answers_once(p, surveys, api):
    client = api(p.customer_user)
    url = f"/api/v1/surveys/{surveys['a1'].pk}/answer/"
    response = client.post(url, ANSWER, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "answered" and response.json()["nps"] == 8
    again = client.post(url, {**ANSWER, "nps": 0}, format="json")
    assert again.status_code == 409 and again.json()["detail"]
    assert Survey.objects.get(pk=surveys["a1"].pk).nps == 8


@pytest.mark.parametrize(
    ("who", "key", "status"),
    [
        ("anonymous", "a1", 403),
        ("manager", "a1", 403),
        ("admin", "a1", 403),
        ("other_customer", "a1", 404),
        ("customer_user", "b1", 404),
    ],
)
def test_only_the_recipient_may_answer(p, surveys, api, who, key, status):
    response = api(who_is(p, who)).post(f"/api/v1/surveys/{surveys[key].pk}/answer/", ANSWER, format="json")
    assert response.status_code == status
    assert Survey.objects.get(pk=surveys["a1"].pk).answered_at is None


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({}, {"nps", "reliability_score", "responsiveness_score", "billing_clarity_score", "account_manager_score"}),
        ({**ANSWER, "nps": 11}, {"nps"}),
        ({**ANSWER, "nps": "ten"}, {"nps"}),
        ({**ANSWER, "reliability_score": 0}, {"reliability_score"}),
        ({**ANSWER, "comment": "长" * 2001}, {"comment"}),
        ({**ANSWER, "comment": ["a"]}, {"comment"}),
    ],
)
def test_bad_answers_are_400_with_field_errors(p, surveys, api, data, fields):
    response = api(p.customer_user).post(f"/api/v1/surveys/{surveys['a1'].pk}/answer/", data, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == fields


def test_an_expired_survey_is_409(p, api):
    s = survey(p.a1, recipient=p.customer_user, sent=timezone.now() - 40 * DAY)
    assert api(p.customer_user).post(f"/api/v1/surveys/{s.pk}/answer/", ANSWER, format="json").status_code == 409


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 403), ("customer_user", 403), ("manager", 200), ("outsider", 200)]
)
def test_results_access_and_scope(p, surveys, api, who, status):
    response = api(persona(p, who)).get("/api/v1/surveys/results/?by=manager&period=quarter")
    assert response.status_code == status
    if who == "manager":
        body = response.json()
        assert body["total"]["sent"] == 2 and body["total"]["nps"] == 100.0
        assert {row["name"] for row in body["groups"]} == {str(p.manager), str(p.colleague)}
        assert len(body["distribution"]["nps"]) == 11
    if who == "outsider":
        assert response.json()["total"]["nps"] == -100.0


@pytest.mark.parametrize("query", ["?by=bogus", "?period=decade", "?team=abc", "?customer=99999999999999999999999"])
def test_results_bad_parameters_are_400(p, surveys, api, query):
    assert api(p.manager).get(f"/api/v1/surveys/results/{query}").status_code == 400


def test_results_filters_apply(p, surveys, api):
    body = api(p.admin).get(f"/api/v1/surveys/results/?customer={p.b1.pk}").json()
    assert body["total"]["sent"] == 1


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 403), ("customer_user", 403), ("clerk", 403), ("engineer", 403), ("manager", 200), ("admin", 200)],
)
def test_send_access(p, api, who, status):
    primary_contact(p.b1, email="b1@example.com")
    response = api(persona(p, who)).post("/api/v1/surveys/send/", {"year": timezone.localdate().year}, format="json")
    assert response.status_code == status
    if who == "manager":
        assert response.json()["surveys"] == 1 and not Survey.objects.filter(customer=p.b1).exists()
    if who == "admin":
        assert response.json()["customers"] == 2


def test_send_twice_sends_once(p, api):
    client = api(p.manager)
    year = timezone.localdate().year
    assert client.post("/api/v1/surveys/send/", {"year": year}, format="json").json()["surveys"] == 1
    assert client.post("/api/v1/surveys/send/", {"year": year}, format="json").json() == {
        "year": year,
        "customers": 0,
        "surveys": 0,
        "already": 1,
        "no_recipient": 3,
    }


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "year"),
        ({"year": 1990}, "year"),
        ({"year": "x"}, "year"),
        ({"year": 2026, "scope": "everyone"}, "scope"),
        ({"year": 2026, "tier": ["gold"]}, "tier"),
        ({"year": 2026, "team": 2**70}, "team"),
    ],
)
def test_send_bad_input_is_400(p, api, data, field):
    response = api(p.manager).post("/api/v1/surveys/send/", data, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]
    assert not Survey.objects.exists()


def test_another_units_team_is_not_found(p, api):
    from gridkam.users.models import Team

    other = Team.objects.create(name="汕头一班", org_unit=p.city_b)
    response = api(p.manager).post(
        "/api/v1/surveys/send/", {"year": timezone.localdate().year, "team": other.pk}, format="json"
    )
    assert response.status_code == 400 and "team" in response.json()["errors"]


@pytest.mark.parametrize("who", ["manager", "customer_user"])
def test_list_queries_do_not_grow(p, api, django_assert_max_num_queries, who):
    client = api(getattr(p, who))
    survey(p.a1, recipient=p.customer_user, year=2000, manager=p.manager)
    with django_assert_max_num_queries(20) as few:
        assert client.get("/api/v1/surveys/").status_code == 200
    for i in range(15):
        survey(p.a1, recipient=p.customer_user, year=2001 + i, manager=p.manager, answered=timezone.now(), nps=5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/api/v1/surveys/")
    assert response.json()["count"] == 16
