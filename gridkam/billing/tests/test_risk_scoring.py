"""The risk scorecard: each indicator's points at its thresholds, weights, levels, as-of scoring, warnings and
tasks on entering high or severe, the AUC and the back-test, and a query count independent of the accounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.billing import risk
from gridkam.billing.models import Allocation, Bill, RiskScore, RiskScorecard, RiskWarning
from gridkam.core.testing import make_account
from gridkam.customers.choices import AccountStatus
from gridkam.engagement.models import Task
from gridkam.tariffs.models import MonthlyUsage

from .conftest import make_bill, make_payment

D = dt.date(2026, 7, 1)


def history(account, *, months=12, end="2026-06", total="1000", late=0, unpaid=0, first_late=None):
    """Monthly bills for the ``months`` months ending ``end`` (each issued on the 1st of the next month, due
    the 15th): paid ``late`` days after the due date (0: on the due date); the last ``unpaid`` not paid."""
    last = dt.date.fromisoformat(f"{end}-01")
    bills = []
    for k in range(months):
        period = risk.add_months(last, -(months - 1 - k))
        bill = make_bill(account, period, total)
        days = late if first_late is None or k >= first_late else 0
        if k < months - unpaid:
            bill.settled_on = bill.due_date + dt.timedelta(days=days)
            bill.amount_paid = bill.total
            bill.save(update_fields=["settled_on", "amount_paid"])
        bills.append(bill)
    return bills


def usage(account, month: str, kwh: str):
    MonthlyUsage.objects.create(account=account, month=dt.date.fromisoformat(f"{month}-01"), flat_kwh=Decimal(kwh))


def score_of(account, as_of=D):
    scores = risk.scores_compute(as_of=as_of, account_ids=[account.pk])
    return scores, dict(zip(risk.INDICATORS, scores.points[0], strict=True))


# --- Points at the thresholds ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indicator", "values", "points"),
    [
        (risk.ON_TIME_RATE, [1.0, 0.95, 0.725, 0.5, 0.2, np.nan], [0, 0, 50, 100, 100, 0]),
        (risk.DAYS_LATE, [0, 5, 10, 30, 60, 200], [0, 15, 30, 70, 100, 100]),
        (risk.TIMES_LATE, [0, 1, 2, 3, 6, 12], [0, 20, 40, 60, 100, 100]),
        (risk.ARREARS_RATIO, [0, 0.5, 1, 2, 3, 99], [0, 30, 60, 85, 100, 100]),
        (risk.CONSUMPTION_TREND, [0.3, 0, -0.1, -0.3, -0.5, -0.9, np.nan], [0, 0, 20, 60, 100, 100, 0]),
        (risk.OPERATING_SIGNALS, ["active", "reduced", "suspended"], [0, 60, 100]),
        (risk.CREDIT_RATING, ["AAA", "AA", "A", "B", "C", ""], [0, 10, 25, 60, 100, 40]),
    ],
)
def test_points_at_thresholds(indicator, values, points):
    assert risk.indicator_points(indicator, values).tolist() == pytest.approx(points)


def test_levels_at_boundaries(db):
    card = RiskScorecard()  # 30 / 55 / 75
    ranks = risk.level_of(np.array([0, 29.9, 30, 54.9, 55, 74.9, 75, 100]), card)
    assert ranks.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


def test_round_half_up():
    assert risk.round_score(np.array([12.25, 12.35, 0.05, 99.94])).tolist() == [12.3, 12.4, 0.1, 99.9]


# --- Indicators from data --------------------------------------------------------------------------------


def test_good_payer_scores_only_on_rating(account):
    account.customer.credit_rating = "AAA"
    account.customer.save()
    history(account)
    scores, points = score_of(account)
    assert scores.values[risk.ON_TIME_RATE][0] == 1.0
    assert scores.values[risk.TIMES_LATE][0] == 0
    assert set(points.values()) == {0.0}
    assert scores.score[0] == 0.0 and risk.LEVELS[scores.level[0]] == "low"


def test_late_payer_factors(account):
    """12 bills of 1000 due in the 12 months before D: 6 paid 20 days late, the last 2 open (due 2026-06-15
    and 2026-05-15, 16 and 47 days late on D). No quantities, unrated."""
    history(account, end="2026-05", late=20, unpaid=2, first_late=4)
    scores, points = score_of(account)
    late_days = (20 * 6 + 16 + 47) / 8
    assert scores.values[risk.ON_TIME_RATE][0] == pytest.approx(4 / 12)
    assert scores.values[risk.TIMES_LATE][0] == 8
    assert scores.values[risk.DAYS_LATE][0] == pytest.approx(late_days)
    assert scores.values[risk.ARREARS_RATIO][0] == pytest.approx(2.0)
    assert scores.arrears[0] == 2000
    assert np.isnan(scores.values[risk.CONSUMPTION_TREND][0])
    expected = {
        risk.ON_TIME_RATE: 100,
        risk.DAYS_LATE: 30 + (late_days - 10) * 2,
        risk.TIMES_LATE: 100,
        risk.ARREARS_RATIO: 85,
        risk.CONSUMPTION_TREND: 0,
        risk.OPERATING_SIGNALS: 0,
        risk.CREDIT_RATING: 40,
    }
    assert points == pytest.approx(expected)
    card = RiskScorecard.objects.get()
    weighted = sum(expected[k] * getattr(card, f) for k, f in risk.WEIGHT_FIELDS.items()) / 100
    assert scores.score[0] == pytest.approx(round(weighted, 1))
    factors = scores.factors(0)
    assert [f["indicator"] for f in factors[:2]] == [risk.ON_TIME_RATE, risk.ARREARS_RATIO]
    assert factors[0]["contribution"] == 25.0 and factors[0]["points"] == 100 and factors[0]["weight"] == 25


def test_partial_payment_before_the_day_reduces_arrears(account):
    bills = history(account, months=3, end="2026-05", unpaid=1)
    payment = make_payment(account, "400", "2026-06-20")
    Allocation.objects.create(payment=payment, bill=bills[-1], amount=Decimal("400"), allocated_on=dt.date(2026, 6, 20))
    later = make_payment(account, "600", "2026-07-03")
    Allocation.objects.create(payment=later, bill=bills[-1], amount=Decimal("600"), allocated_on=dt.date(2026, 7, 3))
    scores, _ = score_of(account)
    assert scores.arrears[0] == 600
    assert scores.values[risk.ARREARS_RATIO][0] == pytest.approx(0.6)


def test_consumption_trend_year_on_year_then_previous_months(account):
    for month in ("2025-04", "2025-05", "2025-06"):
        usage(account, month, "1000")
    for month in ("2026-04", "2026-05", "2026-06"):
        usage(account, month, "600")
    scores, points = score_of(account)
    assert scores.values[risk.CONSUMPTION_TREND][0] == pytest.approx(-0.4)
    assert points[risk.CONSUMPTION_TREND] == pytest.approx(80)
    MonthlyUsage.objects.filter(month__year=2025).delete()
    for month in ("2026-01", "2026-02", "2026-03"):
        usage(account, month, "500")
    scores, points = score_of(account)
    assert scores.values[risk.CONSUMPTION_TREND][0] == pytest.approx(0.2)
    assert points[risk.CONSUMPTION_TREND] == 0


def test_operating_signals_and_rating(account):
    account.status = AccountStatus.SUSPENDED
    account.save()
    account.customer.credit_rating = "C"
    account.customer.save()
    _, points = score_of(account)
    assert points[risk.OPERATING_SIGNALS] == 100 and points[risk.CREDIT_RATING] == 100


def test_closed_accounts_are_not_scored(account):
    account.status = AccountStatus.CLOSED
    account.save()
    assert len(risk.scores_compute(as_of=D, account_ids=[account.pk])) == 0


def test_weights_change_the_score(account):
    account.customer.credit_rating = "B"
    account.customer.save()
    history(account)
    card = risk.scorecard_current()
    assert score_of(account)[0].score[0] == pytest.approx(60 * 5 / 100)
    for field in risk.WEIGHT_FIELDS.values():
        setattr(card, field, 0)
    card.weight_credit_rating = 10
    card.save()
    assert score_of(account)[0].score[0] == 60.0


def test_as_of_ignores_later_data(account):
    """Bills issued on or after D and payments from D on do not change the score as of D."""
    history(account, months=6, end="2026-05", unpaid=1)
    before, _ = score_of(account)
    # Later: the open bill paid after D, a new bill issued on D and left unpaid, usage of July.
    Bill.objects.filter(settled_on__isnull=True).update(settled_on=dt.date(2026, 7, 10), amount_paid=Decimal("1000"))
    make_bill(account, "2026-06", "5000", issued="2026-07-01", due="2026-07-15", kind="rebill")
    usage(account, "2026-07", "10")
    after, _ = score_of(account)
    assert after.score[0] == before.score[0]
    assert after.arrears[0] == before.arrears[0] == 1000
    assert after.values[risk.ON_TIME_RATE][0] == before.values[risk.ON_TIME_RATE][0]


# --- Storing scores, warnings and tasks ------------------------------------------------------------------


def _make_risky(account):
    history(account, late=45, unpaid=3)


def test_entering_high_raises_one_warning_and_task(p, account):
    _make_risky(account)
    summary = risk.risk_score_all(today=D)
    assert summary["accounts"] == 5 and summary["warnings"] == 1
    score = RiskScore.objects.get(account=account, scored_on=D)
    assert score.level in ("high", "severe") and score.is_latest
    warning = RiskWarning.objects.get()
    assert warning.account == account and warning.assignee == p.manager and warning.previous_level == ""
    assert warning.score == score and warning.due_date == D + dt.timedelta(days=5)
    task = Task.objects.get()
    assert warning.task == task and task.assignee == p.manager and task.customer == p.a1
    assert task.link == f"/billing/accounts/{account.pk}/risk/" and task.source == "risk_warning"
    # The same day again, and the next night at the same level: nothing new.
    assert risk.risk_score_all(today=D)["warnings"] == 0
    assert risk.risk_score_all(today=D + dt.timedelta(days=1))["warnings"] == 0
    assert RiskWarning.objects.count() == 1 and Task.objects.count() == 1
    assert RiskScore.objects.filter(account=account).count() == 2
    assert list(RiskScore.objects.filter(account=account, is_latest=True).values_list("scored_on", flat=True)) == [
        D + dt.timedelta(days=1)
    ]


def test_warning_again_after_falling_back(p, account):
    _make_risky(account)
    risk.risk_score_all(today=D)
    Bill.objects.filter(settled_on__isnull=True).update(settled_on=D, amount_paid=Decimal("1000"))
    card = risk.scorecard_current()
    card.high_from, card.severe_from = 90, 95
    card.save()
    assert risk.risk_score_all(today=D + dt.timedelta(days=1))["warnings"] == 0
    card.high_from, card.severe_from = 20, 95
    card.save()
    assert risk.risk_score_all(today=D + dt.timedelta(days=2))["warnings"] == 1
    assert RiskWarning.objects.filter(account=account).count() == 2
    assert RiskWarning.objects.order_by("-pk").first().previous_level in ("low", "medium")


def test_scoring_queries_do_not_grow_with_accounts(p, account):
    _make_risky(account)
    risk.scorecard_current()
    with CaptureQueriesContext(connection) as few:
        risk.risk_score_all(today=D)
    for k in range(8):
        other = make_account(customer=p.a2, points=0)
        history(other, months=3, late=40 + k, unpaid=2)
        usage(other, "2026-06", "100")
    with CaptureQueriesContext(connection) as many:
        risk.risk_score_all(today=D + dt.timedelta(days=1))
    assert RiskWarning.objects.count() == 9
    assert len(many) == len(few)


# --- AUC and the back-test -------------------------------------------------------------------------------


def test_auc_hand_computed():
    assert risk.auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    # Ties count one half: pairs (1,1) ½, (1,2) 0, (2,1) 1, (2,2) ½.
    assert risk.auc([1, 2, 1, 2], [0, 0, 1, 1]) == pytest.approx(0.5)
    assert risk.auc([3, 1, 2], [1, 0, 0]) == 1.0
    assert risk.auc([1, 2], [1, 1]) is None


def test_backtest_separates_good_and_bad_payers(p):
    """Ten accounts paying on time, five paying later and later until they stop paying."""
    good, bad = [], []
    for _k in range(10):
        acc = make_account(customer=p.a2, points=0)
        history(acc, months=24, end="2026-03")
        good.append(acc)
    for k in range(5):
        acc = make_account(customer=p.a3, points=0)
        bills = history(acc, months=24, end="2026-03", unpaid=8 + k)
        for i, bill in enumerate(bills[: 24 - 8 - k]):
            if i > 6:
                bill.settled_on = bill.due_date + dt.timedelta(days=5 * (i - 6))
                bill.save(update_fields=["settled_on"])
        bad.append(acc)
    result = risk.backtest(today=dt.date(2026, 11, 1), account_ids=[a.pk for a in good + bad])
    assert result["months"] > 12 and result["positives"] > 0
    assert result["auc"] > 0.8
    levels = {row["level"]: row for row in result["levels"]}
    assert sum(row["accounts"] for row in result["levels"]) == result["accounts"]
    assert levels["low"]["rate"] < (levels["high"]["rate"] or 0) + (levels["severe"]["rate"] or 0) + 1e-9
    risk.backtest_store(result)
    assert risk.scorecard_current().backtest["auc"] == result["auc"]


def test_backtest_without_bills(db):
    result = risk.backtest(today=D)
    assert result["months"] == 0 and result["auc"] is None and len(result["levels"]) == 4
