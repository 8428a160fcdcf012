"""Background jobs of the risk scorecard. Without a broker (CELERY_BROKER_URL unset) they run eagerly.

``billing.risk_score_all`` is meant to run nightly (a ``CELERY_BEAT_SCHEDULE`` entry) and on demand (the
"score now" button, ``POST /api/v1/risk-scores/run/``); ``billing.risk_backtest`` runs the back-test and keeps
its result with the scorecard.
"""

from __future__ import annotations

import datetime

from celery import shared_task


@shared_task(name="billing.risk_score_all")
def risk_score_all_task(today: str | None = None, user_id: int | None = None) -> dict:
    """Score every account as of ``today`` (ISO date; default: today) and return the summary."""
    from django.contrib.auth import get_user_model

    from .risk import risk_score_all

    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    day = datetime.date.fromisoformat(today) if today else None
    return risk_score_all(today=day, user=user)


@shared_task(name="billing.risk_backtest")
def risk_backtest_task(today: str | None = None) -> dict:
    """Back-test the scorecard in force over the bill history and keep the result."""
    from .risk import backtest, backtest_store

    result = backtest(today=datetime.date.fromisoformat(today) if today else None)
    backtest_store(result)
    return result
