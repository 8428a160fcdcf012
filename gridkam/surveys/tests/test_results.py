"""Survey results on a hand-made set: response rate, mean satisfaction, NPS (% promoters 9–10 − % detractors 0–6),
dimension means, by tier, manager, team and period; the distribution; a fixed number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gridkam.surveys.choices import SurveyKind
from gridkam.surveys.models import Survey
from gridkam.surveys.selectors import results_by, results_compute, results_distribution, results_total

from .support import survey


def at(year, month, day=15):
    return timezone.make_aware(dt.datetime(year, month, day, 10))


@pytest.fixture
def dataset(p):
    """Ten annual surveys and four post-request ones:

    annual NPS answers 10, 9, 9, 8, 7, 6, 3, 0 (8 answers: 3 promoters, 2 passives, 3 detractors → NPS 0.0);
    two annual surveys unanswered → annual response rate 8 / 10.
    post-request: 5, 4, 2 and one unanswered → mean 3.67, response 3 / 4.
    """
    rows = [
        # customer, manager, team, tier, sent, nps, dims
        (p.a1, p.manager, p.team_a, "special", at(2026, 1), 10, 5),
        (p.a1, p.manager, p.team_a, "special", at(2026, 2), 9, 5),
        (p.a2, p.manager, p.team_a, "first", at(2026, 2), 9, 4),
        (p.a2, p.manager, p.team_a, "first", at(2026, 4), 8, 4),
        (p.a3, p.colleague, p.team_a, "second", at(2026, 4), 7, 3),
        (p.a3, p.colleague, p.team_a, "second", at(2026, 5), 6, 3),
        (p.b1, p.outsider, None, "third", at(2026, 7), 3, 2),
        (p.b1, p.outsider, None, "third", at(2026, 7), 0, 1),
        (p.b1, p.outsider, None, "third", at(2026, 8), None, None),
        (p.a1, p.manager, p.team_a, "special", at(2026, 8), None, None),
    ]
    for i, (customer, manager, team, tier, sent, nps, dim) in enumerate(rows):
        survey(
            customer,
            manager=manager,
            team=team,
            tier=tier,
            sent=sent,
            year=2026 if i % 2 else 2025,
            answered=sent + dt.timedelta(days=2) if nps is not None else None,
            nps=nps,
            reliability_score=dim,
            responsiveness_score=dim,
            billing_clarity_score=None if dim is None else max(1, dim - 1),
            account_manager_score=dim,
        )
    for sent, score in ((at(2026, 3), 5), (at(2026, 6), 4), (at(2026, 6, 20), 2), (at(2026, 6, 21), None)):
        survey(
            p.a1,
            kind=SurveyKind.POST_REQUEST,
            manager=p.manager,
            team=p.team_a,
            tier="special",
            sent=sent,
            answered=sent + dt.timedelta(days=1) if score else None,
            satisfaction=score,
        )
    return Survey.objects.all()


def test_nps_arithmetic_and_totals(dataset):
    annual = results_total(dataset.filter(kind=SurveyKind.ANNUAL))
    assert (annual.sent, annual.answered, annual.response_rate) == (10, 8, 80.0)
    assert (annual.promoters, annual.passives, annual.detractors, annual.nps_n) == (3, 2, 3, 8)
    assert annual.nps == 0.0
    assert annual.dimensions == {
        "reliability": round((5 + 5 + 4 + 4 + 3 + 3 + 2 + 1) / 8, 2),
        "responsiveness": round(27 / 8, 2),
        "billing_clarity": round((4 + 4 + 3 + 3 + 2 + 2 + 1 + 1) / 8, 2),
        "account_manager": round(27 / 8, 2),
    }
    post = results_total(dataset.filter(kind=SurveyKind.POST_REQUEST))
    assert (post.sent, post.answered, post.rated, post.satisfaction_mean) == (4, 3, 3, round(11 / 3, 2))
    assert post.response_rate == 75.0 and post.nps is None


def test_nps_of_a_group_of_promoters_and_detractors(p, dataset):
    by_manager = {row.key: row for row in results_by(dataset.filter(kind=SurveyKind.ANNUAL), by="manager")}
    # The manager: 10, 9, 9, 8 → 3 promoters of 4 → 75.0; the colleague: 7, 6 → 0 − 50 = −50.0.
    assert by_manager[p.manager.pk].nps == 75.0 and by_manager[p.manager.pk].sent == 5
    assert by_manager[p.colleague.pk].nps == -50.0
    # The outsider: 3, 0 → −100.
    assert by_manager[p.outsider.pk].nps == -100.0 and by_manager[p.outsider.pk].response_rate == pytest.approx(66.7)


def test_by_tier_team_and_period(p, dataset):
    annual = dataset.filter(kind=SurveyKind.ANNUAL)
    tiers = [(row.key, row.sent, row.nps) for row in results_by(annual, by="tier")]
    assert tiers == [("special", 3, 100.0), ("first", 2, 50.0), ("second", 2, -50.0), ("third", 3, -100.0)]
    teams = {row.key: (row.sent, row.answered) for row in results_by(annual, by="team")}
    assert teams == {p.team_a.pk: (7, 6), None: (3, 2)}
    quarters = [(row.name, row.sent, row.nps) for row in results_by(annual, by="period", period="quarter")]
    # Q1: 10, 9, 9 → 100; Q2: 8, 7, 6 → −33.3; Q3: 3, 0 and two unanswered → −100.
    assert quarters == [("2026 Q1", 3, 100.0), ("2026 Q2", 3, -33.3), ("2026 Q3", 4, -100.0)]
    months = [row.name for row in results_by(annual, by="period", period="month")]
    assert months == ["2026-01", "2026-02", "2026-04", "2026-05", "2026-07", "2026-08"]
    years = [(row.name, row.sent) for row in results_by(dataset, by="period", period="year")]
    assert years == [("2026", 14)]


def test_distribution(dataset):
    counts = results_distribution(dataset)
    assert counts["nps"] == [1, 0, 0, 1, 0, 0, 1, 1, 1, 2, 1]
    assert counts["satisfaction"] == [0, 1, 0, 1, 1]


def test_results_take_a_fixed_number_of_queries(p, dataset, django_assert_num_queries):
    with django_assert_num_queries(5):
        results_compute(dataset, by="manager", period="quarter")
    for i in range(20):
        survey(p.a2, sent=at(2026, 1 + i % 12), answered=at(2026, 1 + i % 12), nps=i % 11, year=1990 + i)
    with django_assert_num_queries(5):
        results_compute(Survey.objects.all(), by="manager", period="quarter")


def test_nothing_sent_gives_no_shares(db):
    empty = results_total(Survey.objects.none())
    assert (empty.sent, empty.response_rate, empty.nps, empty.satisfaction_mean) == (0, None, None, None)
