"""Inspection jobs: the daily escalation of overdue hidden dangers (beat: ``inspections-escalate-overdue-dangers``)."""

from __future__ import annotations

from celery import shared_task

from .services import dangers_escalate


@shared_task(name="inspections.escalate_overdue_dangers")
def escalate_overdue_dangers() -> dict:
    """Safe to run twice a day: each escalation level of a danger is told once."""
    return dangers_escalate()
