"""The health driver "annual survey (NPS)": the customer's latest annual-survey answer of the 12 months before the
day scored, × 10 points; no answer: the driver drops out; answers of the day scored and after, older than 12
months, or to the post-request survey are ignored; its weight; the sentence on the page."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from gridkam.engagement import health
from gridkam.engagement.health_selectors import driver_text
from gridkam.surveys.choices import SurveyKind
from gridkam.surveys.models import Survey
from gridkam.surveys.services import template_for

from .health_support import D, at, risk

DAY = dt.timedelta(days=1)
_n = itertools.count(1)


@pytest.fixture
def account(p):
    return p.a1.accounts.get()


def answer(customer, *, nps, answered, kind=SurveyKind.ANNUAL, year=2025, recipient=None) -> Survey:
    return Survey.objects.create(
        template=template_for(kind),
        kind=kind,
        customer=customer,
        year=year if kind == SurveyKind.ANNUAL else None,
        recipient=recipient,
        email="" if recipient else f"energy{next(_n)}@example.com",
        recipient_name="能源部",
        sent_at=answered - 5 * DAY,
        expires_at=answered + 30 * DAY,
        tier=customer.tier,
        answered_at=answered,
        nps=nps if kind == SurveyKind.ANNUAL else None,
        satisfaction=None if kind == SurveyKind.ANNUAL else 2,
    )


def nps_factor(account, day=D):
    scores = health.scores_compute(day=day, account_ids=[account.pk])
    return {f["driver"]: f for f in scores.factor_lists()[0]}["nps"], scores


@pytest.mark.parametrize(("nps", "points"), [(0, 0.0), (4, 40.0), (6, 60.0), (9, 90.0), (10, 100.0)])
def test_points_are_the_answer_times_ten(nps, points):
    assert health.driver_points("nps", [nps, None]).tolist() == pytest.approx([points, float("nan")], nan_ok=True)


def test_without_an_answer_the_driver_drops_out(p, account):
    risk(account, D - DAY, "low")
    factor, scores = nps_factor(account)
    assert factor["points"] is None and factor["weight"] == 0
    assert factor["data"] == {"nps": None, "answered_on": None, "year": None}
    assert scores.score[0] == 100.0


def test_the_latest_answer_of_the_12_months_counts(p, account):
    answer(p.a1, nps=10, answered=at(D - 200 * DAY))
    answer(p.a1, nps=3, answered=at(D - 20 * DAY), year=2026, recipient=p.customer_user)
    # Another customer's answer is not this one's.
    answer(p.b1, nps=10, answered=at(D - 2 * DAY))
    factor, _ = nps_factor(account)
    assert factor["points"] == 30.0 and factor["value"] == 3.0 and factor["weight"] == 0.15
    assert factor["data"] == {"nps": 3, "answered_on": (D - 20 * DAY).isoformat(), "year": 2026}


def test_answers_of_the_day_after_and_older_than_a_year_are_ignored(p, account):
    answer(p.a1, nps=2, answered=at(D))
    answer(p.a1, nps=2, answered=at(D + 3 * DAY))
    answer(p.a1, nps=2, answered=at(health.add_months(D, -12) - DAY))
    answer(p.a1, nps=None, answered=at(D - 3 * DAY), kind=SurveyKind.POST_REQUEST)
    factor, _ = nps_factor(account)
    assert factor["points"] is None
    answer(p.a1, nps=8, answered=at(health.add_months(D, -12), 0, 0))
    factor, _ = nps_factor(account)
    assert factor["points"] == 80.0


def test_the_answer_weighs_in_the_score(p, account):
    risk(account, D - DAY, "low")  # 100 points, weight 0.25
    answer(p.a1, nps=2, answered=at(D - 10 * DAY))  # 20 points, weight 0.15
    _, scores = nps_factor(account)
    # No complaints and no SLA breaches: 100 points each (0.15); no satisfaction, trend or plan data.
    assert scores.score[0] == pytest.approx(round((0.15 * 100 + 0.15 * 100 + 0.25 * 100 + 0.15 * 20) / 0.70, 1))


def test_weight_from_settings(settings, p, account):
    settings.GRIDKAM = {**settings.GRIDKAM, "HEALTH_WEIGHTS": {**settings.GRIDKAM["HEALTH_WEIGHTS"], "nps": 0.5}}
    answer(p.a1, nps=7, answered=at(D - 10 * DAY))
    factor, _ = nps_factor(account)
    assert factor["weight"] == 0.5


def test_the_query_count_does_not_grow_with_answers(p, account):
    answer(p.a1, nps=5, answered=at(D - 10 * DAY))
    with CaptureQueriesContext(connection) as one:
        health.scores_compute(day=D)
    for customer in (p.a2, p.a3, p.b1, p.a1_sub):
        for days in (5, 15, 25):
            answer(customer, nps=days % 11, answered=at(D - days * DAY))
    with CaptureQueriesContext(connection) as many:
        scores = health.scores_compute(day=D)
    assert len(many) == len(one)
    assert {f["driver"]: f for f in scores.factor_lists()[0]}["nps"]["points"] is not None


def test_the_sentence_says_the_answer_and_the_day(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        assert "7 of 10" in driver_text("nps", {"nps": 7, "answered_on": "2026-05-02", "year": 2026})
        assert "2026-05-02" in driver_text("nps", {"nps": 7, "answered_on": "2026-05-02", "year": 2026})
        assert "No answer" in driver_text("nps", {"nps": None})
