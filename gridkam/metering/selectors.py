"""Reads of interval data: the metering points and accounts whose load a user may look at.

Visibility is the customer's (``visible_to``): whoever sees a customer sees its load curves, the
customer's own portal users included. ``user=None`` is the system itself (a management command run
by an operator on the server), which sees everything; requests always carry a user, anonymous or not.
"""

from __future__ import annotations

from django.db.models import QuerySet

from gridkam.customers.models import ElectricityAccount, MeteringPoint

from .choices import BatchStatus
from .models import ImportBatch
from .progress import progress_get


def _points(user) -> QuerySet[MeteringPoint]:
    return MeteringPoint.objects.all() if user is None else MeteringPoint.objects.visible_to(user)


def _accounts(user) -> QuerySet[ElectricityAccount]:
    return ElectricityAccount.objects.all() if user is None else ElectricityAccount.objects.visible_to(user)


def metering_point_get(*, user, code: str) -> MeteringPoint:
    """The point with its account; raises MeteringPoint.DoesNotExist outside the user's view."""
    return _points(user).select_related("account").get(code=code)


def account_get(*, user, pk: int) -> ElectricityAccount:
    """Raises ElectricityAccount.DoesNotExist outside the user's view."""
    return _accounts(user).get(pk=pk)


def account_get_by_number(*, user, account_no: str) -> ElectricityAccount:
    """The account with that account number; raises ElectricityAccount.DoesNotExist outside the user's view."""
    return _accounts(user).get(account_no=account_no)


def accounts_visible(*, user) -> QuerySet[ElectricityAccount]:
    """The accounts whose load the user may watch (the portfolio and the anomaly list start from these)."""
    return _accounts(user)


def import_batch_list(*, user) -> QuerySet[ImportBatch]:
    """The readings imports a user may see, without their (possibly long) rejected rows and gaps: lists
    need neither."""
    return ImportBatch.objects.visible_to(user).select_related("created_by").defer("rejected", "gaps")


def import_batch_visible(*, user) -> QuerySet[ImportBatch]:
    """The imports a user may open, whole, with who imported and who rolled back."""
    return ImportBatch.objects.visible_to(user).select_related("created_by", "rolled_back_by")


def import_batch_progress(*, batch: ImportBatch) -> dict | None:
    """How far a queued or running import has come: ``{"done", "total", "phase"}``, bytes of the file read and in
    all, from the cache. None for a finished import, and for one that has reported nothing (not started yet, or
    running in another process without a shared cache)."""
    if batch.status not in (BatchStatus.QUEUED, BatchStatus.RUNNING):
        return None
    entry = progress_get(batch.pk)
    if entry is None:
        return None
    return {"done": entry["done"], "total": entry["total"], "phase": entry["phase"]}
