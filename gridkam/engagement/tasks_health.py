"""Background job of account health. Without a broker (CELERY_BROKER_URL unset) it runs eagerly.

Registered by ``EngagementConfig.ready`` (Celery's autodiscovery imports ``tasks.py`` modules only).
``engagement.health_score_all`` is meant for the nightly CELERY_BEAT_SCHEDULE entry (03:00, after the risk scoring
at 02:30, whose levels it reads; docs/health.md).
"""

from __future__ import annotations

import datetime

from celery import shared_task


@shared_task(name="engagement.health_score_all")
def health_score_all_task(day: str | None = None, account_ids: list[int] | None = None) -> dict:
    """Score the health of every account (or of ``account_ids``) as of ``day`` (YYYY-MM-DD, default today) and
    raise the alerts; returns the summary of ``health.health_score_all``."""
    from .health import health_score_all

    return health_score_all(
        day=datetime.date.fromisoformat(day) if day else None,
        account_ids=account_ids,
    )
