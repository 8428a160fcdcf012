"""The signed answer link of a contact without a portal account: answers without login, once; a used link says so,
an expired one says so (410), a changed or made-up link is a 404 page; a link cannot open a portal user's survey."""

from __future__ import annotations

import pytest
from django.core import signing
from django.utils import timezone

from gridkam.surveys.links import SALT, LinkInvalid, link_path, link_survey_id, link_token
from gridkam.surveys.models import Survey

from .support import DAY, survey

ANSWER = {
    "nps": "6",
    "reliability_score": "4",
    "responsiveness_score": "3",
    "billing_clarity_score": "2",
    "account_manager_score": "4",
    "comment": "电费单看不懂",
}


@pytest.fixture
def contact_survey(p):
    return survey(p.a2, email="a2@example.com")


def test_a_contact_answers_through_the_link_without_login(p, client, contact_survey):
    url = link_path(contact_survey.pk)
    page = client.get(url)
    assert page.status_code == 200 and page.context["form"] is not None
    assert b"portal-nav" not in page.content  # the link page is not the portal
    response = client.post(url, ANSWER)
    assert response.status_code == 302 and response["Location"] == url
    contact_survey.refresh_from_db()
    assert (contact_survey.nps, contact_survey.billing_clarity_score) == (6, 2)
    assert contact_survey.answered_by is None and contact_survey.answered_at is not None


def test_a_used_link_says_it_was_answered_and_changes_nothing(client, contact_survey):
    url = link_path(contact_survey.pk)
    client.post(url, ANSWER)
    page = client.get(url)
    assert page.status_code == 200 and page.context["state"] == "answered" and page.context["form"] is None
    assert b'data-testid="survey-answered"' in page.content
    again = client.post(url, {**ANSWER, "nps": "10"})
    assert again.status_code == 409
    assert Survey.objects.get().nps == 6


def test_an_expired_link_is_a_clear_page(p, client):
    s = survey(p.a2, email="a2@example.com", sent=timezone.now() - 31 * DAY)
    url = link_path(s.pk)
    page = client.get(url)
    assert page.status_code == 410 and b'data-testid="survey-expired"' in page.content
    assert client.post(url, ANSWER).status_code == 409
    assert Survey.objects.get().answered_at is None


@pytest.mark.parametrize("change", ["last", "id", "garbage", "unsigned", "other_salt"])
def test_a_tampered_link_is_a_404_page(client, contact_survey, change):
    token = link_token(contact_survey.pk)
    if change == "last":
        token = token[:-1] + ("A" if token[-1] != "A" else "B")
    elif change == "id":
        token = str(contact_survey.pk + 1) + token[len(str(contact_survey.pk)) :]
    elif change == "garbage":
        token = "not-a-token"
    elif change == "unsigned":
        token = str(contact_survey.pk)
    else:
        token = signing.TimestampSigner(salt="another").sign(str(contact_survey.pk))
    for response in (client.get(f"/surveys/answer/{token}/"), client.post(f"/surveys/answer/{token}/", ANSWER)):
        assert response.status_code == 404
        assert b'data-testid="survey-link-invalid"' in response.content
    assert Survey.objects.get().answered_at is None


def test_a_link_to_a_portal_users_survey_or_a_missing_one_is_404(p, client):
    s = survey(p.a1, recipient=p.customer_user)
    assert client.get(link_path(s.pk)).status_code == 404
    assert client.get(link_path(2**63 + 5)).status_code == 404


def test_tokens_are_bound_to_their_salt_and_age():
    assert link_survey_id(link_token(42)) == 42
    with pytest.raises(LinkInvalid):
        link_survey_id(signing.TimestampSigner(salt=SALT).sign("x42"))


def test_a_logged_in_user_on_a_link_answers_as_the_contact(p, client_for, contact_survey):
    client_for(p.manager).post(link_path(contact_survey.pk), ANSWER)
    contact_survey.refresh_from_db()
    assert contact_survey.answered_at is not None and contact_survey.answered_by is None
