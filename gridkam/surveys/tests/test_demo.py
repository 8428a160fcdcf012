"""The demo's surveys: post-request surveys of recently closed requests carry the request's own rating, two annual
rounds (last year's closed, this year's open) with a spread of answers and Chinese comments; running again adds
nothing."""

from __future__ import annotations

from django.utils import timezone

from gridkam.demo.surveys import demo_surveys_load
from gridkam.servicedesk.choices import RequestStatus
from gridkam.surveys.choices import SurveyKind
from gridkam.surveys.models import Survey

from .support import DAY, primary_contact, resolved_request


def test_demo_surveys(p):
    now = timezone.now()
    primary_contact(p.a2, email="a2@example.com")
    rated = resolved_request(p.a1, created_by=p.customer_user, satisfaction=4)
    unrated = resolved_request(p.a2)
    type(rated).objects.filter(pk__in=[rated.pk, unrated.pk]).update(
        status=RequestStatus.CLOSED, closed_at=now - 5 * DAY
    )
    counts = demo_surveys_load(seed=3, now=now)
    assert counts["post_request"] == 2
    post = {s.request_id: s for s in Survey.objects.filter(kind=SurveyKind.POST_REQUEST)}
    assert post[rated.pk].satisfaction == 4 and post[rated.pk].recipient == p.customer_user
    assert post[unrated.pk].answered_at is None and post[unrated.pk].email == "a2@example.com"
    annual = Survey.objects.filter(kind=SurveyKind.ANNUAL)
    year = timezone.localdate(now).year
    # A1 (its portal user) and A2 (its primary contact), each in two rounds.
    assert sorted(annual.values_list("year", flat=True)) == [year - 1, year - 1, year, year]
    assert annual.count() == counts["annual"]
    last_round = annual.filter(year=year - 1)
    assert all(s.status in ("answered", "expired") for s in last_round)
    answered = annual.filter(answered_at__isnull=False)
    assert all(0 <= s.nps <= 10 and 1 <= s.billing_clarity_score <= 5 for s in answered)
    assert counts["answered"] == Survey.objects.filter(answered_at__isnull=False).count()
    assert demo_surveys_load(seed=3, now=now) == {"post_request": 0, "annual": 0, "answered": 0}


def test_demo_answers_have_a_spread_and_chinese_comments(p):
    from gridkam.core.testing import make_user
    from gridkam.users.choices import Role

    for i in range(40):
        make_user(f"demo-portal-{i}", role=Role.CUSTOMER_USER, customer=[p.a1, p.a2, p.a3, p.b1][i % 4])
    demo_surveys_load(seed=1)
    answers = Survey.objects.filter(kind=SurveyKind.ANNUAL, answered_at__isnull=False)
    scores = set(answers.values_list("nps", flat=True))
    assert len(scores) >= 4 and min(scores) <= 6 and max(scores) >= 9
    assert any("\u4e00" <= ch <= "\u9fff" for c in answers.values_list("comment", flat=True) for ch in c)
