"""A background bill run through a real Celery worker: started through the API, its start task and chunk tasks sent
over the broker and run by the worker process, the run done with its bills.

Like the readings import's worker test (gridkam/metering/tests/test_celery_worker.py, whose ``broker`` fixture this
uses), it needs a worker on GRIDKAM_TEST_CELERY_BROKER sharing this run's PostgreSQL test database, which
``.ci/run`` and ``make test-celery`` start; without it the test is skipped.
"""

from __future__ import annotations

import time

import pytest
from django.db import connection

from gridkam.billing.choices import RunStatus
from gridkam.billing.models import Bill, BillRun
from gridkam.customers.models import ElectricityAccount
from gridkam.metering.tests.test_celery_worker import BROKER, broker  # noqa: F401  (the fixture)

from .test_billrun import MONTH, TARIFF, samples, usage_for  # noqa: F401  (fixtures)

TIMEOUT = 90
FINAL = (RunStatus.DONE, RunStatus.FAILED)

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.skipif(not BROKER, reason="GRIDKAM_TEST_CELERY_BROKER is not set: no Celery worker to run chunks"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the worker shares the test database: PostgreSQL"),
]


def test_a_worker_runs_a_background_bill_run(p, samples, usage_for, api, broker, transactional_db):  # noqa: F811
    ElectricityAccount.objects.update(tariff_id=TARIFF, basic_charge_method="capacity")
    accounts = list(ElectricityAccount.objects.order_by("pk"))
    for account in accounts:
        usage_for(account)

    response = api(p.admin).post("/api/v1/bill-runs/", {"period": f"{MONTH:%Y-%m}", "background": True}, format="json")
    assert response.status_code == 202
    run_id = response.json()["id"]

    deadline = time.monotonic() + TIMEOUT
    run = BillRun.objects.get(pk=run_id)
    while run.status not in FINAL and time.monotonic() < deadline:
        time.sleep(0.25)
        run.refresh_from_db()
    assert run.status != RunStatus.QUEUED, (
        f"run {run_id} still queued after {TIMEOUT} s: is a worker's DATABASE_URL this test database "
        f"({connection.settings_dict['NAME']})?"
    )
    assert run.status == RunStatus.DONE, run.failure
    assert run.chunks == run.chunks_done >= 1
    assert run.created == len(accounts) == Bill.objects.filter(run=run).count()
