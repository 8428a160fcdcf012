"""Background jobs of the service desk. Without a broker (CELERY_BROKER_URL unset) they run eagerly."""

from __future__ import annotations

from celery import shared_task

from .sla import sla_sweep


@shared_task(name="servicedesk.sla_sweep")
def sla_sweep_task() -> dict:
    """The periodic SLA job (CELERY_BEAT_SCHEDULE: every 5 minutes): warnings, breaches, escalations."""
    return sla_sweep()


@shared_task(name="servicedesk.appointment_reminders")
def appointment_reminders_task() -> dict:
    """Hourly (CELERY_BEAT_SCHEDULE): reminder tasks for the VIP desk appointments of the next 24 hours."""
    from .appointments import appointment_reminders_send

    return appointment_reminders_send()
