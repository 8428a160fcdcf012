"""Writes of the interval-data module other than the import itself (loading.readings_import)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .choices import BatchStatus
from .models import ImportBatch, ReadingUndo
from .rollups import TOUCHED, rollups_refresh, temp_table_create, temp_tables_drop


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
