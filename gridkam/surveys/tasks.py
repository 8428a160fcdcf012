"""Survey jobs: e-mail answer links to contacts (after commit), and catch up links that never went out."""

from __future__ import annotations

from celery import shared_task

from .services import survey_links_pending, survey_links_send


@shared_task(name="surveys.send_survey_links")
def send_survey_links(survey_ids: list[int]) -> dict:
    return survey_links_send(survey_ids)


@shared_task(name="surveys.send_pending_links")
def send_pending_links() -> dict:
    """Links still not e-mailed (the after-commit task was lost, or the mail server refused): sent again."""
    return survey_links_send(survey_links_pending())
