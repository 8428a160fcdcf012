"""Account health scoring: each driver's points at its thresholds and without data, the weighted mean without the
drivers lacking data, levels at their boundaries, scoring as of a day (data of the day and after ignored),
storing (a day scored again replaces its rows, one latest score per account) and a query count independent of the
number of accounts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.customers.choices import AccountStatus
from gridkam.engagement import health
from gridkam.engagement.choices import HealthDriver, OccurrenceStatus
from gridkam.engagement.models import HealthScore
from gridkam.servicedesk.choices import RequestType

from .health_support import D, at, make_unhealthy, occurrence, request, risk, usage

NAN = float("nan")
DAY = dt.timedelta(days=1)


@pytest.fixture
def account(p):
    """Customer A1's account (the manager's)."""
    return p.a1.accounts.get()


def factors_of(account, day=D) -> dict[str, dict]:
    scores = health.scores_compute(day=day, account_ids=[account.pk])
    assert len(scores) == 1
    return {f["driver"]: f for f in scores.factor_lists()[0]}, scores


# --- Points at the thresholds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("driver", "values", "points"),
    [
        (health.SATISFACTION, [1, 2, 3, 4, 4.2, 5, None], [0, 25, 50, 75, 80, 100, NAN]),
        (health.COMPLAINTS, [0, 1, 2, 3, 7], [100, 70, 40, 10, 10]),
        (health.SLA_BREACHES, [0, 0.0001, 0.05, 0.1, 0.1001, 0.25, 0.2501, 1], [100, 75, 75, 75, 50, 50, 20, 20]),
        (health.FEE_RISK, ["low", "medium", "high", "severe", None], [100, 70, 35, 10, NAN]),
        (
            health.CONSUMPTION_TREND,
            [1.3, 0.95, 0.9499, 0.85, 0.8499, 0.7, 0.6999, 0, None],
            [100, 100, 70, 70, 40, 40, 15, 15, NAN],
        ),
        (
            health.PLAN_DELIVERY,
            [1, 0.9, 0.8999, 0.75, 0.7499, 0.5, 0.4999, 0, None],
            [100, 100, 75, 75, 45, 45, 15, 15, NAN],
        ),
    ],
)
def test_points_at_thresholds(driver, values, points):
    assert health.driver_points(driver, values).tolist() == pytest.approx(points, nan_ok=True)


def test_unknown_driver_is_an_error():
    with pytest.raises(ValueError):
        health.driver_points("csat", [1])


def test_levels_at_boundaries():
    scores = [100, 80, 79.9, 60, 59.9, 40, 39.9, 0]
    assert [health.level_of(s) for s in scores] == [
        "healthy",
        "healthy",
        "watch",
        "watch",
        "at_risk",
        "at_risk",
        "unhealthy",
        "unhealthy",
    ]


def test_round_half_up():
    assert health.round_score(np.array([12.25, 12.35, 0.05, 99.94])).tolist() == [12.3, 12.4, 0.1, 99.9]


def test_weighted_mean_drops_drivers_without_data():
    weights = np.array([0.15, 0.15, 0.15, 0.25, 0.15, 0.15])
    full = [50, 100, 100, 10, 40, 75]
    # (0.15 × (50 + 100 + 100 + 40 + 75) + 0.25 × 10) / 1.0 = 57.25, rounded half up.
    assert health.weighted_score([full], weights)[0] == pytest.approx(57.3)
    partial = [NAN, 100, 100, 10, NAN, NAN]
    assert health.weighted_score([partial], weights)[0] == pytest.approx(round((15 + 15 + 2.5) / 0.55, 1))
    # No weighted driver with data: nothing known against the account.
    assert health.weighted_score([[NAN] * 6], weights)[0] == 100.0


# --- Drivers from data -------------------------------------------------------------------------------------


def test_an_account_without_data_is_healthy(account):
    factors, scores = factors_of(account)
    assert list(factors) == list(HealthDriver.values)
    assert factors["complaints"] == {
        "driver": "complaints",
        "value": 0.0,
        "points": 100.0,
        "weight": 0.15,
        "data": {"count": 0},
    }
    assert factors["sla_breaches"]["points"] == 100.0 and factors["sla_breaches"]["data"] == {
        "breached": 0,
        "decided": 0,
    }
    for driver in ("satisfaction", "fee_risk", "consumption_trend", "plan_delivery"):
        assert factors[driver]["points"] is None and factors[driver]["weight"] == 0 and factors[driver]["value"] is None
    assert factors["satisfaction"]["data"] == {"requests": 0, "rated": 0, "mean": None}
    assert factors["plan_delivery"]["data"] == {"done": 0, "due": 0}
    assert scores.score[0] == 100.0 and scores.levels == ["healthy"]


def test_satisfaction_mean_of_requests_closed_before_the_day(p, account):
    for rating, closed in ((5, D - 30 * DAY), (4, D - 2 * DAY), (2, D - DAY)):
        request(p.a1, logged=at(closed - 5 * DAY), closed=at(closed), satisfaction=rating)
    request(p.a1, logged=at(D - 9 * DAY), closed=at(D - 3 * DAY))  # closed, not rated
    request(p.a1, logged=at(D - 9 * DAY), closed=at(D - DAY, 23, 59), satisfaction=5)  # the evening before: counts
    request(p.a1, logged=at(D - 9 * DAY), closed=at(D, 0, 1), satisfaction=1)  # on the day: not yet
    request(p.a1, logged=at(D - 400 * DAY), closed=at(D - 370 * DAY), satisfaction=1)  # over 12 months ago
    request(p.a2, logged=at(D - 9 * DAY), closed=at(D - 3 * DAY), satisfaction=1)  # another customer
    factors, _ = factors_of(account)
    satisfaction = factors["satisfaction"]
    assert satisfaction["data"] == {"requests": 5, "rated": 4, "mean": 4.0}
    assert satisfaction["value"] == 4.0 and satisfaction["points"] == 75.0 and satisfaction["weight"] == 0.15


def test_complaints_logged_in_the_twelve_months(p, account):
    request(p.a1, logged=at(D - 100 * DAY), request_type=RequestType.COMPLAINT)
    request(p.a1, logged=at(D - DAY, 23, 30), request_type=RequestType.COMPLAINT)
    request(p.a1, logged=at(D - 10 * DAY))  # a repair
    request(p.a1, logged=at(D, 8), request_type=RequestType.COMPLAINT)  # on the day
    request(p.a1, logged=at(D - 370 * DAY), request_type=RequestType.COMPLAINT)  # too old
    factors, _ = factors_of(account)
    assert factors["complaints"]["data"] == {"count": 2}
    assert factors["complaints"]["points"] == 40.0


def test_sla_breaches_share_of_requests_logged(p, account):
    for _ in range(8):
        request(p.a1, logged=at(D - 20 * DAY))
    request(p.a1, logged=at(D - 20 * DAY), breached="response")
    # Breached, but its target fell due on the day scored: not known before it.
    request(p.a1, logged=at(D - DAY, 20), breached="resolution", due=at(D, 9))
    factors, _ = factors_of(account)
    assert factors["sla_breaches"]["data"] == {"breached": 1, "decided": 10}
    assert factors["sla_breaches"]["value"] == 0.1 and factors["sla_breaches"]["points"] == 75.0
    request(p.a1, logged=at(D - 20 * DAY), breached="onsite")
    request(p.a1, logged=at(D - 20 * DAY), breached="onsite")
    factors, _ = factors_of(account)
    assert factors["sla_breaches"]["data"] == {"breached": 3, "decided": 12}
    assert factors["sla_breaches"]["points"] == 50.0  # 25 %
    factors, _ = factors_of(account, D + DAY)  # the next day the late target counts
    assert factors["sla_breaches"]["data"] == {"breached": 4, "decided": 12} and factors["sla_breaches"]["points"] == 20


def test_fee_risk_is_the_latest_risk_level_up_to_the_day(account):
    risk(account, D - 40 * DAY, "low", "10.0")
    risk(account, D, "high", "62.5")
    risk(account, D + DAY, "severe", "90.0")
    factors, _ = factors_of(account)
    assert factors["fee_risk"]["data"] == {"level": "high", "score": 62.5}
    assert factors["fee_risk"]["value"] == 62.5 and factors["fee_risk"]["points"] == 35.0
    factors, _ = factors_of(account, D - DAY)
    assert factors["fee_risk"]["data"]["level"] == "low" and factors["fee_risk"]["points"] == 100.0
    factors, _ = factors_of(account, D - 41 * DAY)
    assert factors["fee_risk"]["points"] is None and factors["fee_risk"]["data"] == {"level": None, "score": None}


def test_consumption_trend_last_three_complete_months_against_a_year_earlier(account):
    for month in ("2025-04", "2025-05", "2025-06"):
        usage(account, month, 1000)
    for month, kwh in (("2026-04", 900), ("2026-05", 800), ("2026-06", 850)):
        usage(account, month, kwh)
    usage(account, "2026-07", 10)  # the month of the day: not complete
    usage(account, "2026-03", 10)  # before the three months
    factors, _ = factors_of(account)
    trend = factors["consumption_trend"]
    assert trend["data"] == {"recent_kwh": 2550.0, "earlier_kwh": 3000.0, "ratio": 0.85}
    assert trend["value"] == 0.85 and trend["points"] == 70.0


def test_consumption_trend_without_a_year_earlier_has_no_data(account):
    usage(account, "2026-06", 500)
    factors, _ = factors_of(account)
    trend = factors["consumption_trend"]
    assert trend["points"] is None and trend["weight"] == 0
    assert trend["data"] == {"recent_kwh": 500.0, "earlier_kwh": None, "ratio": None}


def test_consumption_stopped_scores_lowest(account):
    usage(account, "2025-05", 1000)
    usage(account, "2026-05", 0)
    factors, _ = factors_of(account)
    assert factors["consumption_trend"]["value"] == 0.0 and factors["consumption_trend"]["points"] == 15.0


def test_plan_delivery_this_year_before_the_day(p, account):
    occurrence(p.a1, dt.date(2026, 1, 31), OccurrenceStatus.DONE)
    occurrence(p.a1, dt.date(2026, 3, 31), OccurrenceStatus.DONE)
    occurrence(p.a1, dt.date(2026, 5, 31), OccurrenceStatus.DONE)
    occurrence(p.a1, D - DAY, OccurrenceStatus.DONE, done_on=D)  # done on the day scored: not yet
    occurrence(p.a1, dt.date(2026, 4, 30), OccurrenceStatus.CANCELLED)
    occurrence(p.a1, D, OccurrenceStatus.DONE, done_on=D - 3 * DAY)  # due on the day: not counted
    occurrence(p.a1, dt.date(2025, 12, 31))  # last year
    factors, _ = factors_of(account)
    plan = factors["plan_delivery"]
    assert plan["data"] == {"done": 3, "due": 4}
    assert plan["value"] == 0.75 and plan["points"] == 75.0


def test_score_is_the_weighted_mean_of_the_drivers_with_data(p, account):
    risk(account, D - DAY, "medium")
    request(p.a1, logged=at(D - 20 * DAY), closed=at(D - 10 * DAY), satisfaction=3)
    request(p.a1, logged=at(D - 20 * DAY), request_type=RequestType.COMPLAINT)
    factors, scores = factors_of(account)
    # satisfaction 50, complaints 70, SLA 100, fee risk 70; no trend, no plan.
    expected = (0.15 * 50 + 0.15 * 70 + 0.15 * 100 + 0.25 * 70) / (0.15 * 3 + 0.25)
    assert scores.score[0] == pytest.approx(round(expected, 1))
    assert scores.levels == ["watch"]
    assert [factors[d]["weight"] for d in HealthDriver.values] == [0.15, 0.15, 0.15, 0.25, 0, 0, 0]


def test_weights_come_from_settings(settings, account):
    risk(account, D - DAY, "high")
    settings.GRIDKAM = {**settings.GRIDKAM, "HEALTH_WEIGHTS": {d: 0 for d in HealthDriver.values} | {"fee_risk": 2}}
    factors, scores = factors_of(account)
    assert scores.score[0] == 35.0 and scores.levels == ["unhealthy"]
    assert factors["fee_risk"]["weight"] == 2.0 and factors["complaints"]["weight"] == 0.0
    # A driver left out takes its default weight.
    settings.GRIDKAM = {**settings.GRIDKAM, "HEALTH_WEIGHTS": {"fee_risk": 0.25}}
    assert health.health_weights() == health.DEFAULT_WEIGHTS


@pytest.mark.parametrize(
    "weights",
    [{"csat": 0.1}, {"fee_risk": -1}, {d: 0 for d in HealthDriver.values}],
)
def test_bad_weights_are_a_configuration_error(settings, weights):
    settings.GRIDKAM = {**settings.GRIDKAM, "HEALTH_WEIGHTS": weights}
    with pytest.raises(ImproperlyConfigured):
        health.health_weights()


def test_data_of_the_day_and_after_is_ignored(p, account):
    make_unhealthy(account)
    before, scores = factors_of(account)
    # Everything below happens on the day scored or later.
    for day in (D, D + 5 * DAY):
        request(p.a1, logged=at(day), closed=at(day, 18), satisfaction=5, request_type=RequestType.COMPLAINT)
        request(p.a1, logged=at(day), breached="response")
        risk(account, day + DAY, "low")
        occurrence(p.a1, day, OccurrenceStatus.DONE)
    usage(account, "2026-07", 99999)
    after, again = factors_of(account)
    assert after == before and again.score[0] == scores.score[0]
    assert again.levels == ["unhealthy"]


# --- Storing ------------------------------------------------------------------------------------------------


def test_scores_every_account_not_closed(p, account):
    closed = p.b1.accounts.get()
    closed.status = AccountStatus.CLOSED
    closed.save(update_fields=["status"])
    summary = health.health_score_all(day=D)
    assert summary["scored_on"] == "2026-07-01" and summary["accounts"] == 4
    assert summary["levels"] == {"healthy": 4, "watch": 0, "at_risk": 0, "unhealthy": 0}
    assert summary["alerts"] == 0 and summary["seconds"] >= 0
    assert not HealthScore.objects.filter(account=closed).exists()
    row = HealthScore.objects.get(account=account)
    assert row.scored_on == D and row.is_latest and str(row.score) == "100.0" and row.level == "healthy"
    assert [f["driver"] for f in row.factors] == list(HealthDriver.values)


def test_scoring_the_same_day_again_replaces_its_rows(p, account):
    health.health_score_all(day=D - DAY)
    health.health_score_all(day=D)
    risk(account, D - DAY, "severe")
    health.health_score_all(day=D)
    rows = HealthScore.objects.filter(account=account)
    assert rows.count() == 2
    latest = rows.get(is_latest=True)
    assert latest.scored_on == D and latest.score < 100
    assert HealthScore.objects.filter(is_latest=True).count() == 5 == HealthScore.objects.filter(scored_on=D).count()
    # A past day scored again is replaced but does not take "latest" from the later score.
    health.health_score_all(day=D - DAY)
    assert rows.count() == 2 and rows.get(is_latest=True).scored_on == D
    assert HealthScore.objects.filter(is_latest=True).count() == 5
    # Only some accounts: the others keep their rows.
    health.health_score_all(day=D + DAY, account_ids=[account.pk])
    assert rows.get(is_latest=True).scored_on == D + DAY
    assert HealthScore.objects.filter(is_latest=True).count() == 5
    assert HealthScore.objects.filter(scored_on=D + DAY).count() == 1


def test_progress_is_reported(account):
    calls = []
    health.health_score_all(day=D, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (5, 5)


def test_score_now_for_one_account(account):
    score = health.health_score_account(account=account)
    assert score is not None and score.is_latest and score.account_id == account.pk
    assert HealthScore.objects.count() == 1


def _queries(**kwargs) -> int:
    with CaptureQueriesContext(connection) as queries:
        health.health_score_all(day=D, **kwargs)
    return len(queries)


def test_query_count_does_not_grow_with_the_accounts(p, account):
    for customer in (p.a1, p.a2, p.a3, p.b1):
        acc = customer.accounts.get()
        risk(acc, D - DAY, "medium")
        usage(acc, "2025-05", 100)
        usage(acc, "2026-05", 100)
        request(customer, logged=at(D - 9 * DAY), closed=at(D - 3 * DAY), satisfaction=4)
        occurrence(customer, D - 9 * DAY, OccurrenceStatus.DONE)
    one = _queries(account_ids=[account.pk])
    assert _queries(account_ids=[c.accounts.get().pk for c in (p.a1, p.a2, p.a3)]) == one
    assert _queries() == one
    # Accounts entering unhealthy: one alert or several, the same count again.
    make_unhealthy(account)
    with_one_alert = _queries(account_ids=[account.pk])
    HealthScore.objects.all().delete()
    from gridkam.engagement.models import HealthAlert

    HealthAlert.objects.all().delete()
    make_unhealthy(p.a2.accounts.get())
    make_unhealthy(p.b1.accounts.get())
    assert _queries() == with_one_alert
    assert HealthAlert.objects.count() == 3
