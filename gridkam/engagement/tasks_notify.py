"""Background jobs of notifications. Without a broker (CELERY_BROKER_URL unset) they run eagerly.

Registered by ``EngagementConfig.ready`` (Celery's autodiscovery imports ``tasks.py`` modules only).
``engagement.deliver_notifications`` is enqueued after commit by ``notify_many``; ``engagement.notifications_retry``
is meant for a CELERY_BEAT_SCHEDULE entry (every 10 minutes, docs/notifications.md).
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="engagement.deliver_notifications")
def deliver_notifications_task(ids: list[int]) -> dict:
    """Send the e-mail and SMS deliveries with these ids (pending or failed ones only: safe to run twice)."""
    from .notifications import deliveries_send

    return deliveries_send(ids)


@shared_task(name="engagement.notifications_retry")
def notifications_retry_task() -> dict:
    """Send again the deliveries still pending or failed after GRIDKAM["NOTIFICATION_RETRY_MINUTES"]."""
    from .notifications import deliveries_retry

    return deliveries_retry()


@shared_task(name="engagement.plan_due_notices")
def plan_due_notices_task() -> dict:
    """Tell owners of the plan items due in GRIDKAM["PLAN_DUE_NOTICE_DAYS"] days (each morning)."""
    from .plan_notices import plan_due_notices

    return plan_due_notices()
