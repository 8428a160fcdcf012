"""Writes of the interval-data module other than the import itself (loading.readings_import): rollback, and the
background import (queue a file, run it, mark the runs whose process died)."""

from __future__ import annotations

import datetime
import logging
import secrets
import shutil
from functools import partial
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridkam.core.uploads import sweep_stale

from .choices import BatchStatus, FailureReason
from .loading import ImportOutcome, readings_import
from .models import ImportBatch, ReadingUndo
from .progress import progress_clear, progress_get, progress_reporter, progress_set
from .rollups import TOUCHED, rollups_refresh, temp_table_create, temp_tables_drop

logger = logging.getLogger(__name__)
ACTIVE = (BatchStatus.QUEUED, BatchStatus.RUNNING)


@transaction.atomic
def batch_rollback(*, batch: ImportBatch, user) -> ImportBatch:
    """Undo a committed import: readings it added are deleted, readings it changed get their previous values
    (and previous batch) back, and the rollups of the days and months it touched are recomputed.

    Refused while a later committed batch has changed any of its readings: that batch must be rolled back first,
    or its values would be lost (or resurrected) silently.
    """
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != BatchStatus.COMMITTED:
        raise ValidationError(
            _("Only a committed import can be rolled back; this one is “%(status)s”.")
            % {"status": batch.get_status_display()}
        )
    later = sorted(
        set(
            ReadingUndo.objects.filter(previous_batch_id=batch.pk, batch__status=BatchStatus.COMMITTED)
            .exclude(batch_id=batch.pk)
            .values_list("batch_id", flat=True)
        )
    )
    if later:
        raise ValidationError(
            _("Later imports changed readings of this one; roll them back first: %(batches)s.")
            % {"batches": ", ".join(f"#{pk}" for pk in later)}
        )
    match = (
        "u.batch_id = %s AND u.metering_point_id = metering_reading.metering_point_id "
        "AND u.interval_end = metering_reading.interval_end"
    )
    with connection.cursor() as cursor:
        # The days touched, taken before the readings go: a reading's day never changes.
        temp_table_create(
            cursor,
            TOUCHED,
            "SELECT DISTINCT metering_point_id, day FROM metering_reading WHERE batch_id = %s",
            [batch.pk],
        )
        cursor.execute(
            f"DELETE FROM metering_reading WHERE batch_id = %s "
            f"AND NOT EXISTS (SELECT 1 FROM metering_readingundo u WHERE {match})",
            [batch.pk, batch.pk],
        )
        cursor.execute(
            "UPDATE metering_reading SET kwh = u.kwh, kvarh_lag = u.kvarh_lag, kvarh_lead = u.kvarh_lead, "
            f"estimated = u.estimated, batch_id = u.previous_batch_id FROM metering_readingundo u "
            f"WHERE {match} AND metering_reading.batch_id = %s",
            [batch.pk, batch.pk],
        )
        rollups_refresh(user=user)
        temp_tables_drop(cursor, TOUCHED)
    batch.status = BatchStatus.ROLLED_BACK
    batch.rolled_back_at = timezone.now()
    batch.rolled_back_by = user
    batch.save(update_fields=["status", "rolled_back_at", "rolled_back_by"])
    return batch


# -- background import -----------------------------------------------------------------------------------------


def import_jobs_dir() -> Path:
    """Where files of queued imports wait for a worker: outside MEDIA_ROOT, never served. Workers need the same
    folder as the web server (one machine, or a shared volume)."""
    return Path(settings.DATA_DIR) / "pending" / "readings" / "jobs"


def import_batch_start(*, file_name: str, file_format: str, skip_invalid: bool, user, queued: bool) -> ImportBatch:
    """A batch row for an import about to run (``queued=False``) or waiting for a worker, written before the
    import's own transaction so that its progress can be reported under its id."""
    return ImportBatch.objects.create(
        file_name=file_name[:255],
        file_format=file_format,
        skip_invalid=skip_invalid,
        created_by=user,
        status=BatchStatus.QUEUED if queued else BatchStatus.RUNNING,
    )


@transaction.atomic
def readings_import_enqueue(
    *, source: str | Path, file_name: str, file_format: str, skip_invalid: bool, user, move: bool
) -> ImportBatch:
    """Queue a readings file for the background import: a "queued" batch, the file moved (an upload) or copied
    (a file named on the command line) to the jobs folder, and the task sent once the batch is committed.

    Without a broker the task runs eagerly, when this function's transaction commits: the batch returned is then
    already finished in the database (``refresh_from_db`` to see it)."""
    batch = import_batch_start(
        file_name=file_name, file_format=file_format, skip_invalid=skip_invalid, user=user, queued=True
    )
    folder = import_jobs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    # Files of runs that never started (their batch is marked interrupted) go after a day, like pending uploads.
    sweep_stale(folder)
    path = folder / f"{batch.pk}-{secrets.token_hex(8)}{Path(source).suffix.lower()}"
    if move:
        shutil.move(source, path)
    else:
        shutil.copyfile(source, path)
    transaction.on_commit(
        partial(_task_send, batch.pk, str(path), file_format, skip_invalid, user.pk if user is not None else None)
    )
    return batch


def _task_send(batch_id: int, path: str, file_format: str, skip_invalid: bool, user_id: int | None) -> None:
    from .tasks import readings_import_task

    try:
        readings_import_task.delay(batch_id, path, file_format, skip_invalid, user_id)
    except Exception:
        # The broker is down (or, eager, the run failed: it has marked its batch already). The batch must not
        # wait as "queued" for a message that never left.
        logger.exception("Readings import %s could not be queued or run", batch_id)
        marked = ImportBatch.objects.filter(pk=batch_id, status=BatchStatus.QUEUED).update(
            status=BatchStatus.FAILED, failure=FailureReason.QUEUE_UNREACHABLE, finished_at=timezone.now()
        )
        if marked:
            Path(path).unlink(missing_ok=True)


def readings_import_background_run(
    *, batch_id: int, path: str | Path, file_format: str, skip_invalid: bool, user_id: int | None
) -> ImportOutcome | None:
    """Run a queued import (the body of the background task), reporting progress to the cache, and delete its
    file. Safe to run twice: only the run that moves the batch from "queued" to "running" imports; a batch
    already run, running or marked interrupted is left alone (None). Not atomic on purpose: the loader writes
    the batch row outside its own transaction, so that a failure leaves a "failed" batch and nothing else."""
    path = Path(path)
    claimed = ImportBatch.objects.filter(pk=batch_id, status=BatchStatus.QUEUED).update(status=BatchStatus.RUNNING)
    if not claimed:
        if not ImportBatch.objects.filter(pk=batch_id, status=BatchStatus.RUNNING).exists():
            path.unlink(missing_ok=True)
        logger.warning("Readings import %s is not queued (any more); not run again", batch_id)
        return None
    batch = ImportBatch.objects.select_related("created_by").get(pk=batch_id)
    try:
        user = get_user_model().objects.get(pk=user_id) if user_id is not None else None
        progress_set(batch_id, done=0, total=path.stat().st_size)
        return readings_import(
            data=path,
            file_name=batch.file_name,
            file_format=file_format,
            user=user,
            skip_invalid=skip_invalid,
            batch=batch,
            progress=progress_reporter(batch_id),
        )
    except BaseException as exc:
        import_batch_fail(
            batch_id=batch_id,
            reason=FailureReason.FILE_MISSING if isinstance(exc, FileNotFoundError) else FailureReason.ERROR,
        )
        raise
    finally:
        progress_clear(batch_id)
        path.unlink(missing_ok=True)


def import_batch_fail(*, batch_id: int, reason: str) -> None:
    """Record why an import that raised stopped. The loader marks its batch failed already when the error was
    inside it; an error before it (the file, the user) leaves the batch queued or running until this."""
    ImportBatch.objects.filter(pk=batch_id, status__in=ACTIVE + (BatchStatus.FAILED,)).update(
        status=BatchStatus.FAILED, failure=reason, finished_at=timezone.now()
    )


@transaction.atomic
def batches_interrupted_mark(
    *, older_than: datetime.timedelta | None = None, batch_ids: list[int] | None = None
) -> list[int]:
    """Mark as failed ("interrupted") the queued and running imports without a sign of life for ``older_than``
    (default: the READINGS_IMPORT_STALE_MINUTES setting): their process died (killed, out of memory, a worker
    lost), and nothing of them was written. A sign of life is the batch's creation or its last progress report,
    so imports in other processes need a shared cache (CACHE_URL) to be seen alive. Returns the ids marked.

    A run that was only slow, not dead, still finishes: its commit writes the batch again, as committed."""
    if older_than is None:
        older_than = datetime.timedelta(minutes=settings.GRIDKAM["READINGS_IMPORT_STALE_MINUTES"])
    cutoff = timezone.now() - older_than
    candidates = ImportBatch.objects.filter(status__in=ACTIVE, created_at__lte=cutoff)
    if batch_ids is not None:
        candidates = candidates.filter(pk__in=batch_ids)
    stale = []
    for pk in candidates.values_list("pk", flat=True):
        progress = progress_get(pk)
        if progress is None or progress.get("at", 0) <= cutoff.timestamp():
            stale.append(pk)
    if stale:
        ImportBatch.objects.filter(pk__in=stale, status__in=ACTIVE).update(
            status=BatchStatus.FAILED, failure=FailureReason.INTERRUPTED, finished_at=timezone.now()
        )
        for pk in stale:
            progress_clear(pk)
        logger.warning("Readings imports marked interrupted: %s", ", ".join(map(str, stale)))
    return stale
