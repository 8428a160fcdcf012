"""Background jobs of business expansion. Without a broker (CELERY_BROKER_URL unset) they run eagerly."""

from __future__ import annotations

from celery import shared_task

from .services import expansion_alerts_check


@shared_task(name="expansion.alerts_check")
def alerts_check_task() -> dict:
    """Daily (CELERY_BEAT_SCHEDULE): recompute the running projects' working days, warn owners before a time limit
    and tell them of breaches, once per project and level."""
    return expansion_alerts_check()
