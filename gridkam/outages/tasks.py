"""Outage jobs: send notices to the customers' contacts after the announcement commits."""

from __future__ import annotations

from celery import shared_task

from .services import notices_deliver


@shared_task(name="outages.send_notices")
def send_notices(notice_ids: list[int], cancelled: bool = False) -> dict:
    return notices_deliver(notice_ids, cancelled=cancelled)
