"""A request's rating is one answer, however many people were asked about it: the survey answered (or, for a rating
in the portal, the rater's own survey, else the request's first) holds it; the others are "closed – answered by a
colleague", not answers; results count per request (asked / answered / response rate, satisfaction mean and
distribution); the closed surveys' pages and links say who answered instead of showing their score as "your
answer"."""

from __future__ import annotations

import pytest
from django.utils import translation

from gridkam.core.testing import make_user
from gridkam.servicedesk.choices import RequestStatus
from gridkam.servicedesk.services import request_rate, request_status
from gridkam.surveys import services
from gridkam.surveys.choices import SurveyKind
from gridkam.surveys.links import link_path
from gridkam.surveys.models import Survey
from gridkam.surveys.selectors import results_by, results_compute, results_total
from gridkam.users.choices import Role

from .support import primary_contact, resolved_request, survey


@pytest.fixture
def colleagues(p):
    """Two more portal users of A1 (three with ``p.customer_user``)."""
    return (
        make_user("a1-second", role=Role.CUSTOMER_USER, customer=p.a1, display_name="二号用户"),
        make_user("a1-third", role=Role.CUSTOMER_USER, customer=p.a1, display_name="三号用户"),
    )


def closed_by_staff(p):
    """A request of A1 logged by staff and closed: its survey goes to each of A1's portal users."""
    services.templates_load()
    request = resolved_request(p.a1, created_by=p.manager)
    request_status(request=request, status=RequestStatus.CLOSED, user=p.manager)
    return request


def mine(request, user) -> Survey:
    return Survey.objects.get(request=request, recipient=user)


def test_one_answer_of_three_recipients_counts_once(p, colleagues):
    request = closed_by_staff(p)
    assert Survey.objects.filter(request=request).count() == 3
    services.survey_answer(survey=mine(request, p.customer_user), data={"satisfaction": "1"}, user=p.customer_user)
    results = results_compute(Survey.objects.filter(request=request))
    total = results.total
    assert (total.sent, total.asked, total.answered, total.closed) == (3, 1, 1, 2)
    assert (total.response_rate, total.rated, total.satisfaction_mean) == (100.0, 1, 1.0)
    assert results.distribution["satisfaction"] == [1, 0, 0, 0, 0]
    # The groups and the trend count the same way.
    assert [(r.sent, r.asked, r.answered) for r in results.groups] == [(3, 1, 1)]
    assert [(r.asked, r.answered, r.response_rate) for r in results.trend] == [(1, 1, 100.0)]
    for colleague in colleagues:
        sibling = Survey.objects.with_status().get(request=request, recipient=colleague)
        assert (sibling.state, sibling.answered_at, sibling.satisfaction) == ("closed", None, None)
        assert sibling.closed_at is not None and sibling.closed_by_name == str(p.customer_user)
        assert not sibling.rated_elsewhere
    assert Survey.objects.filter(request=request, answered_at__isnull=False).count() == 1


def test_response_rate_is_per_request(p, colleagues):
    answered = closed_by_staff(p)
    closed_by_staff(p)  # asked three people, nobody answered
    services.survey_answer(survey=mine(answered, colleagues[0]), data={"satisfaction": "4"}, user=colleagues[0])
    survey(p.a1, recipient=p.customer_user, answered=answered.closed_at, nps=10)  # an annual survey, answered
    survey(p.a1, recipient=colleagues[0])  # and one waiting
    qs = Survey.objects.filter(customer=p.a1)
    total = results_total(qs)
    # Asked: two requests + two annual surveys; answered: one request + one annual survey.
    assert (total.sent, total.asked, total.answered, total.closed, total.response_rate) == (8, 4, 2, 2, 50.0)
    post = results_total(qs.filter(kind=SurveyKind.POST_REQUEST))
    assert (post.asked, post.answered, post.response_rate, post.satisfaction_mean) == (2, 1, 50.0, 4.0)
    # Groups add up to the total.
    for by in ("tier", "manager", "team", "period"):
        rows = results_by(qs, by=by)
        assert sum(r.asked for r in rows) == 4 and sum(r.answered for r in rows) == 2


def test_a_rating_in_the_portal_is_held_by_the_raters_survey(p, colleagues):
    request = closed_by_staff(p)
    second = colleagues[0]
    request_rate(request=request, user=second, score=3)
    held = mine(request, second)
    assert (held.satisfaction, held.rated_elsewhere, held.answered_by, held.answered_by_recipient) == (
        3,
        True,
        second,
        True,
    )
    others = Survey.objects.with_status().filter(request=request).exclude(pk=held.pk)
    assert {(s.state, s.closed_by_name, s.satisfaction) for s in others} == {("closed", str(second), None)}
    total = results_total(Survey.objects.filter(request=request))
    assert (total.asked, total.answered, total.closed, total.satisfaction_mean) == (1, 1, 2, 3.0)
    # Marking again changes nothing.
    assert services.surveys_mark_rated(request_id=request.pk) == 0


def test_a_rating_in_the_portal_by_someone_not_asked_counts_once(p, client_for, settings, colleagues):
    settings.LANGUAGE_CODE = "en"
    services.templates_load()
    request = resolved_request(p.a1, created_by=p.customer_user)
    request_status(request=request, status=RequestStatus.CLOSED, user=p.manager)
    asked = mine(request, p.customer_user)  # only the requester is asked
    request_rate(request=request, user=colleagues[1], score=5)
    asked.refresh_from_db()
    assert (asked.satisfaction, asked.rated_elsewhere, asked.answered_by) == (5, True, colleagues[1])
    assert not asked.answered_by_recipient
    total = results_total(Survey.objects.filter(request=request))
    assert (total.asked, total.answered, total.response_rate, total.satisfaction_mean) == (1, 1, 100.0, 5.0)
    with translation.override("en"):
        page = client_for(p.customer_user).get(f"/surveys/portal/{asked.pk}/")
    assert page.status_code == 200 and page.context["answered_by_other"]
    html = page.content.decode()
    assert 'data-testid="survey-answered-elsewhere"' in html and "三号用户" in html
    assert 'data-testid="survey-answered"' not in html and "Your answer" not in html


def test_the_closed_surveys_page_says_who_answered_not_your_answer(p, client_for, settings, colleagues):
    settings.LANGUAGE_CODE = "en"
    request = closed_by_staff(p)
    services.survey_answer(
        survey=mine(request, p.customer_user), data={"satisfaction": "2", "comment": "太慢了"}, user=p.customer_user
    )
    sibling = mine(request, colleagues[0])
    with translation.override("en"):
        page = client_for(colleagues[0]).get(f"/surveys/portal/{sibling.pk}/")
        html = page.content.decode()
        assert page.context["state"] == "closed" and page.context["form"] is None
        assert 'data-testid="survey-answered-elsewhere"' in html
        assert f"already been answered by {p.customer_user}" in html
        assert "太慢了" not in html and "Your answer" not in html
        # Answering it is refused and changes nothing.
        response = client_for(colleagues[0]).post(f"/surveys/portal/{sibling.pk}/", {"satisfaction": "5"})
        assert response.status_code == 409
        # The one who answered sees their own answer.
        own = client_for(p.customer_user).get(f"/surveys/portal/{mine(request, p.customer_user).pk}/")
        assert 'data-testid="survey-answered"' in own.content.decode() and "Your answer" in own.content.decode()
    sibling.refresh_from_db()
    assert sibling.answered_at is None and sibling.satisfaction is None
    assert Survey.objects.filter(request=request, answered_at__isnull=False).count() == 1
    # The portal list shows it among the closed ones, with its state.
    listed = client_for(colleagues[0]).get("/surveys/portal/").context
    assert listed["open"] == [] and [s.status for s in listed["closed"]] == ["closed"]


def test_a_contacts_link_closed_by_another_contacts_answer(p, client, settings):
    settings.LANGUAGE_CODE = "en"
    services.templates_load()
    primary_contact(p.a2, name="张工", email="zhang@example.com", role="energy_manager")
    primary_contact(p.a2, name="李工", email="li@example.com", role="finance")
    request = resolved_request(p.a2, created_by=p.manager)
    request_status(request=request, status=RequestStatus.CLOSED, user=p.manager)
    zhang, li = Survey.objects.filter(request=request).order_by("email").reverse()
    assert (zhang.email, li.email) == ("zhang@example.com", "li@example.com")
    with translation.override("en"):
        assert client.post(link_path(zhang.pk), {"satisfaction": "4"}).status_code == 302
        page = client.get(link_path(li.pk))
        html = page.content.decode()
        assert page.status_code == 200 and "already been answered by 张工" in html
        assert 'data-testid="survey-answered-elsewhere"' in html and "Your answer" not in html
        assert client.post(link_path(li.pk), {"satisfaction": "1"}).status_code == 409
        own = client.get(link_path(zhang.pk)).content.decode()
        assert "Your answer" in own
    total = results_total(Survey.objects.filter(request=request))
    assert (total.sent, total.asked, total.answered, total.closed, total.satisfaction_mean) == (2, 1, 1, 1, 4.0)


def test_api_shows_the_closed_state_without_the_colleagues_score(p, api, colleagues):
    request = closed_by_staff(p)
    services.survey_answer(survey=mine(request, p.customer_user), data={"satisfaction": "2"}, user=p.customer_user)
    sibling = mine(request, colleagues[0])
    body = api(colleagues[0]).get(f"/api/v1/surveys/{sibling.pk}/").json()
    assert (body["status"], body["satisfaction"], body["answered_at"]) == ("closed", None, None)
    assert body["answered_by_name"] == str(p.customer_user) and body["closed_at"]
    response = api(colleagues[0]).post(f"/api/v1/surveys/{sibling.pk}/answer/", {"satisfaction": 5}, format="json")
    assert response.status_code == 409
    staff = api(p.manager)
    closed = staff.get("/api/v1/surveys/", {"status": "closed"}).json()["results"]
    assert sorted(s["id"] for s in closed) == sorted([sibling.pk, mine(request, colleagues[1]).pk])
    results = staff.get("/api/v1/surveys/results/", {"kind": "post_request"}).json()["total"]
    assert (results["sent"], results["asked"], results["answered"], results["closed"]) == (3, 1, 1, 2)
    assert results["response_rate"] == 100.0
    # A request rated in the portal by someone not asked: its survey holds the rating, but its recipient does not
    # see that score as theirs.
    services.templates_load()
    other = resolved_request(p.a1, created_by=p.customer_user)
    request_status(request=other, status=RequestStatus.CLOSED, user=p.manager)
    request_rate(request=other, user=colleagues[1], score=4)
    held = mine(other, p.customer_user)
    body = api(p.customer_user).get(f"/api/v1/surveys/{held.pk}/").json()
    assert (body["status"], body["satisfaction"], body["answered_by_name"]) == ("answered", None, str(colleagues[1]))
    assert api(p.manager).get(f"/api/v1/surveys/{held.pk}/").json()["satisfaction"] == 4


def test_results_queries_do_not_grow_with_requests(p, colleagues, django_assert_num_queries):
    first = closed_by_staff(p)
    services.survey_answer(survey=mine(first, p.customer_user), data={"satisfaction": "5"}, user=p.customer_user)
    with django_assert_num_queries(5):
        results_compute(Survey.objects.all())
    for _ in range(4):
        request = closed_by_staff(p)
        request_rate(request=request, user=colleagues[0], score=3)
    with django_assert_num_queries(5):
        results = results_compute(Survey.objects.all())
    assert (results.total.sent, results.total.asked, results.total.answered, results.total.closed) == (15, 5, 5, 10)
    assert results.distribution["satisfaction"] == [0, 0, 4, 0, 1]
