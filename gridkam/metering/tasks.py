"""Background jobs of the interval-data module. Without a broker (CELERY_BROKER_URL unset) they run eagerly, in the
process that queues them."""

from __future__ import annotations

from celery import shared_task

from .services import readings_import_background_run


@shared_task(name="metering.readings_import")
def readings_import_task(
    batch_id: int, path: str, file_format: str, skip_invalid: bool, user_id: int | None
) -> dict | None:
    """Import a queued readings file (``services.readings_import_enqueue`` sends it once its batch is committed).
    Returns the ``import_readings --json`` document, or None when the batch was not queued any more."""
    outcome = readings_import_background_run(
        batch_id=batch_id, path=path, file_format=file_format, skip_invalid=skip_invalid, user_id=user_id
    )
    return outcome.as_dict() if outcome is not None else None
