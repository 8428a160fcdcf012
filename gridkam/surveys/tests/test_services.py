"""Survey services: the built-in templates load idempotently; the post-request rule (requester, else the customer's
portal users, else its primary contacts); the annual survey once per customer and year; answering once, before
expiry, with field errors; one rating for a request (survey and portal share ServiceRequest.satisfaction); the
e-mailed links."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from gridkam.customers.models import Customer
from gridkam.engagement.choices import NotificationEvent
from gridkam.engagement.models import Notification
from gridkam.servicedesk.choices import RequestStatus
from gridkam.servicedesk.services import request_status
from gridkam.surveys import services
from gridkam.surveys.choices import SurveyKind
from gridkam.surveys.links import link_survey_id
from gridkam.surveys.models import Survey, SurveyTemplate

from .support import DAY, other_customer_user, primary_contact, resolved_request, survey

ANNUAL_ANSWER = {
    "nps": 9,
    "reliability_score": 5,
    "responsiveness_score": 4,
    "billing_clarity_score": 3,
    "account_manager_score": 5,
    "comment": "  抢修很及时  ",
}


def this_year() -> int:
    return timezone.localdate().year


# --- Templates ------------------------------------------------------------------------------------------------


def test_templates_load_once_and_reset_puts_them_back(db):
    SurveyTemplate.objects.all().delete()
    assert services.templates_load() == {"created": 2, "reset": 0}
    assert services.templates_load() == {"created": 0, "reset": 0}
    annual = SurveyTemplate.objects.get(kind=SurveyKind.ANNUAL)
    assert annual.asks_nps and not annual.asks_satisfaction
    assert annual.dimensions == ["reliability", "responsiveness", "billing_clarity", "account_manager"]
    post = SurveyTemplate.objects.get(kind=SurveyKind.POST_REQUEST)
    assert post.asks_satisfaction and not post.asks_nps and post.dimensions == []
    annual.valid_days, annual.active = 3, False
    annual.save()
    assert services.templates_load() == {"created": 0, "reset": 0}
    assert SurveyTemplate.objects.get(kind=SurveyKind.ANNUAL).valid_days == 3
    assert services.templates_load(reset=True) == {"created": 0, "reset": 2}
    annual.refresh_from_db()
    assert annual.valid_days == 30 and annual.active


# --- After a request closes -----------------------------------------------------------------------------------


def close(request, user):
    """Close the request in the service desk without its survey hook, to test the rule on its own."""
    from gridkam.servicedesk.services import request_closed

    request_closed.disconnect(dispatch_uid="surveys_request_closed")
    try:
        return request_status(request=request, status=RequestStatus.CLOSED, user=user)
    finally:
        request_closed.connect(services.on_request_closed, dispatch_uid="surveys_request_closed")


def test_the_requester_gets_the_survey_when_a_portal_user_logged_it(p):
    colleague_portal = other_customer_user(p)
    colleague_portal.customer = p.a1
    colleague_portal.save()
    request = close(resolved_request(p.a1, created_by=p.customer_user), p.manager)
    surveys = services.survey_send_for_request(request=request)
    assert [s.recipient for s in surveys] == [p.customer_user]
    s = surveys[0]
    assert s.kind == SurveyKind.POST_REQUEST and s.request == request and s.year is None
    assert s.expires_at - s.sent_at == dt.timedelta(days=14)
    assert s.manager == p.manager and s.team == p.team_a and s.tier == p.a1.tier
    note = Notification.objects.get(event=NotificationEvent.SURVEY_REQUESTED)
    assert note.recipient == p.customer_user and note.link == f"/surveys/portal/{s.pk}/"
    assert request.number in note.body


def test_a_request_logged_by_staff_goes_to_the_customers_portal_users(p):
    request = close(resolved_request(p.a1, created_by=p.manager), p.manager)
    assert [s.recipient for s in services.survey_send_for_request(request=request)] == [p.customer_user]


def test_without_portal_users_the_primary_contacts_get_a_link_by_email(p, mailoutbox):
    primary_contact(p.a2, email="energy@shihua.example.com")
    primary_contact(p.a2, name="刘工", email="", role="electrician")  # no address: not asked
    request = close(resolved_request(p.a2, created_by=p.manager), p.manager)
    surveys = services.survey_send_for_request(request=request)
    assert [(s.recipient, s.email) for s in surveys] == [(None, "energy@shihua.example.com")]
    # Eager Celery and the test's transaction: the after-commit task is run by hand here.
    assert services.survey_links_send([surveys[0].pk]) == {"sent": 1, "failed": 0}
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["energy@shihua.example.com"]
    token = mailoutbox[0].body.strip().rsplit("/surveys/answer/", 1)[1].rstrip("/")
    assert link_survey_id(token) == surveys[0].pk
    # Sent once: running again (the retry job) sends nothing.
    assert services.survey_links_send([surveys[0].pk]) == {"sent": 0, "failed": 0}
    assert services.survey_links_pending() == []


def test_the_rule_skips_unclosed_rated_and_already_surveyed_requests(p):
    open_request = resolved_request(p.a1, created_by=p.customer_user)
    assert services.survey_send_for_request(request=open_request) == []
    rated = close(resolved_request(p.a1, created_by=p.customer_user, satisfaction=4), p.manager)
    assert services.survey_send_for_request(request=rated) == []
    request = close(resolved_request(p.a1, created_by=p.customer_user), p.manager)
    assert len(services.survey_send_for_request(request=request)) == 1
    assert services.survey_send_for_request(request=request) == []
    assert Survey.objects.filter(request=request).count() == 1


def test_the_rule_respects_a_switched_off_template(p):
    services.templates_load()
    SurveyTemplate.objects.filter(kind=SurveyKind.POST_REQUEST).update(active=False)
    request = close(resolved_request(p.a1, created_by=p.customer_user), p.manager)
    assert services.survey_send_for_request(request=request) == []


def test_closing_a_request_in_the_service_desk_sends_the_survey(p, django_capture_on_commit_callbacks):
    """The service desk calls the rule when a request closes (the hook in servicedesk.services.request_status)."""
    request = resolved_request(p.a1, created_by=p.customer_user)
    with django_capture_on_commit_callbacks(execute=True):
        request_status(request=request, status=RequestStatus.CLOSED, user=p.manager)
    assert Survey.objects.filter(request=request, recipient=p.customer_user).exists()


def test_rating_the_request_in_the_portal_answers_its_survey(p):
    from gridkam.servicedesk.services import request_rate

    request = resolved_request(p.a1, created_by=p.customer_user)
    request_status(request=request, status=RequestStatus.CLOSED, user=p.manager)
    s = Survey.objects.get(request=request)
    request_rate(request=request, user=p.customer_user, score=2, comment="来得太慢")
    s.refresh_from_db()
    assert s.answered_at is not None and s.satisfaction == 2 and s.rated_elsewhere


# --- Annual ---------------------------------------------------------------------------------------------------


def test_the_annual_survey_goes_once_per_customer_and_year(p, mailoutbox):
    primary_contact(p.a2, email="a2@example.com")
    primary_contact(p.b1, email="b1@example.com")
    year = this_year()
    first = services.survey_send_annual(customers=Customer.objects.all(), year=year)
    # A1: its portal user; A2, B1: their primary contact; A1-sub and A3: nobody to ask.
    assert first == {"year": year, "customers": 3, "surveys": 3, "already": 0, "no_recipient": 2}
    assert set(Survey.objects.values_list("customer", "recipient", "email")) == {
        (p.a1.pk, p.customer_user.pk, ""),
        (p.a2.pk, None, "a2@example.com"),
        (p.b1.pk, None, "b1@example.com"),
    }
    assert Survey.objects.filter(kind=SurveyKind.ANNUAL, year=year).count() == 3
    again = services.survey_send_annual(customers=Customer.objects.all(), year=year)
    assert again == {"year": year, "customers": 0, "surveys": 0, "already": 3, "no_recipient": 2}
    assert Survey.objects.count() == 3
    # Last year's is another round.
    assert services.survey_send_annual(customers=Customer.objects.all(), year=year - 1)["surveys"] == 3


def test_a_manager_sends_only_to_the_customers_they_see(p):
    primary_contact(p.b1, email="b1@example.com")
    summary = services.survey_send_annual(customers=Customer.objects.all(), year=this_year(), user=p.manager)
    assert summary["surveys"] == 1
    assert list(Survey.objects.values_list("customer", flat=True)) == [p.a1.pk]
    assert Survey.objects.get().sent_by == p.manager


@pytest.mark.parametrize("who", ["clerk", "engineer", "customer_user"])
def test_only_managers_supervisors_and_admins_send(p, who):
    with pytest.raises(PermissionDenied):
        services.survey_send_annual(customers=Customer.objects.all(), year=this_year(), user=getattr(p, who))
    assert not Survey.objects.exists()


@pytest.mark.parametrize("offset", [1, -2, -30])
def test_the_year_is_this_or_last(p, offset):
    with pytest.raises(ValidationError) as error:
        services.survey_send_annual(customers=Customer.objects.all(), year=this_year() + offset)
    assert "year" in error.value.message_dict
    assert not Survey.objects.exists()


# --- Answering ------------------------------------------------------------------------------------------------


def test_an_annual_answer_is_stored_once(p):
    s = survey(p.a1, recipient=p.customer_user)
    answered = services.survey_answer(survey=s, data=ANNUAL_ANSWER, user=p.customer_user)
    assert answered.nps == 9 and answered.billing_clarity_score == 3 and answered.comment == "抢修很及时"
    assert answered.answered_by == p.customer_user and answered.answered_at is not None
    with pytest.raises(services.SurveyClosed):
        services.survey_answer(survey=s, data={**ANNUAL_ANSWER, "nps": 0}, user=p.customer_user)
    s.refresh_from_db()
    assert s.nps == 9


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({}, {"nps", "reliability_score", "responsiveness_score", "billing_clarity_score", "account_manager_score"}),
        ({**ANNUAL_ANSWER, "nps": 11}, {"nps"}),
        ({**ANNUAL_ANSWER, "nps": -1}, {"nps"}),
        ({**ANNUAL_ANSWER, "nps": "九"}, {"nps"}),
        ({**ANNUAL_ANSWER, "reliability_score": 0}, {"reliability_score"}),
        ({**ANNUAL_ANSWER, "account_manager_score": 6}, {"account_manager_score"}),
        ({**ANNUAL_ANSWER, "comment": "好" * 2001}, {"comment"}),
    ],
)
def test_bad_answers_are_field_errors_and_change_nothing(p, data, fields):
    s = survey(p.a1, recipient=p.customer_user)
    with pytest.raises(ValidationError) as error:
        services.survey_answer(survey=s, data=data, user=p.customer_user)
    assert set(error.value.message_dict) == fields
    s.refresh_from_db()
    assert s.answered_at is None and s.nps is None


def test_an_expired_survey_cannot_be_answered(p):
    s = survey(p.a1, recipient=p.customer_user, sent=timezone.now() - 40 * DAY)
    with pytest.raises(services.SurveyClosed):
        services.survey_answer(survey=s, data=ANNUAL_ANSWER, user=p.customer_user)
    assert Survey.objects.get().answered_at is None


def test_only_the_recipient_answers(p):
    s = survey(p.a1, recipient=p.customer_user)
    with pytest.raises(PermissionDenied):
        services.survey_answer(survey=s, data=ANNUAL_ANSWER, user=other_customer_user(p))


def test_a_post_request_answer_is_the_requests_rating(p):
    request = close(resolved_request(p.a1, created_by=p.manager), p.manager)
    primary_contact(p.a1, email="a1@example.com")
    # Two people asked (the portal user; the contact would be asked only without one): make a second by hand.
    first = services.survey_send_for_request(request=request)[0]
    second = survey(p.a1, kind=SurveyKind.POST_REQUEST, request=request, email="a1@example.com")
    services.survey_answer(survey=first, data={"satisfaction": "2", "comment": "等了两天"}, user=p.customer_user)
    request.refresh_from_db()
    assert request.satisfaction == 2
    # The other survey of the request is closed, not answered: the request's rating is one answer.
    second.refresh_from_db()
    assert second.answered_at is None and second.satisfaction is None and not second.rated_elsewhere
    assert second.closed_at is not None and second.closed_by_name == str(p.customer_user)
    assert second.status == "closed"


def test_a_request_rated_in_the_portal_meanwhile_keeps_its_rating(p):
    request = close(resolved_request(p.a1, created_by=p.customer_user), p.manager)
    s = services.survey_send_for_request(request=request)[0]
    request.satisfaction = 5  # rated on the request's page in the portal
    request.save()
    with pytest.raises(services.SurveyClosed):
        services.survey_answer(survey=s, data={"satisfaction": 1}, user=p.customer_user)
    request.refresh_from_db()
    s.refresh_from_db()
    assert request.satisfaction == 5
    assert s.answered_at is not None and s.satisfaction == 5 and s.rated_elsewhere


def test_mark_rated_answers_the_open_surveys_of_a_rated_request(p):
    request = close(resolved_request(p.a1, created_by=p.customer_user), p.manager)
    s = services.survey_send_for_request(request=request)[0]
    assert services.surveys_mark_rated(request_id=request.pk) == 0  # not rated yet
    type(request).objects.filter(pk=request.pk).update(satisfaction=4)
    assert services.surveys_mark_rated(request_id=request.pk) == 1
    s.refresh_from_db()
    assert s.satisfaction == 4 and s.status == "answered"


def test_a_failing_mail_server_leaves_the_link_pending(p, monkeypatch):
    s = survey(p.a2, email="a2@example.com")

    def refuse(self, *args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    assert services.survey_links_send([s.pk]) == {"sent": 0, "failed": 1}
    assert services.survey_links_pending() == [s.pk]
    monkeypatch.undo()
    assert services.survey_links_send(services.survey_links_pending()) == {"sent": 1, "failed": 0}
    assert len(mail.outbox) == 1
