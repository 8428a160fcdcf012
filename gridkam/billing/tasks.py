"""Background jobs of the bill run. Without a broker (CELERY_BROKER_URL unset) they run eagerly, in the process
that queues them. The fee-recovery risk jobs live in ``risk_tasks``, which the app
config imports when Django starts (workers included).

A run is one start task, which lists the accounts and sends one chunk task per GRIDKAM["BILL_RUN_CHUNK"]
accounts; each chunk commits on its own and adds its counts to the run row, and the last one to finish marks the
run done. Chunk tasks may run on several workers at once.
"""

from __future__ import annotations

from celery import shared_task

from .billrun import bill_run_background_chunk, bill_run_background_start


@shared_task(name="billing.bill_run_start")
def bill_run_start_task(run_id: int, user_id: int | None) -> int:
    """Start a queued run (``billrun.bill_run_enqueue`` sends it once the run row is committed); returns the number
    of chunk tasks sent (0 when the run was not queued any more)."""
    return len(bill_run_background_start(run_id=run_id, user_id=user_id))


@shared_task(name="billing.bill_run_chunk")
def bill_run_chunk_task(run_id: int, account_ids: list[int], user_id: int | None) -> dict | None:
    """Bill one chunk of a running run; returns its counts (None when the run is not running any more)."""
    result = bill_run_background_chunk(run_id=run_id, account_ids=account_ids, user_id=user_id)
    if result is None:
        return None
    return {"created": result.created, "replaced": result.replaced, "skipped": len(result.skipped)}
