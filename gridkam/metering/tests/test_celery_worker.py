"""A background import through a real Celery worker: queued through the API, sent over the broker, run by the worker
process, committed with its readings and rollups.

It needs a worker listening on the broker named by GRIDKAM_TEST_CELERY_BROKER with its DATABASE_URL pointed at this
run's test database (``test_`` + the database name), which ``.ci/run`` and ``make test-celery`` start; without that
variable the test is skipped. PostgreSQL only: the worker must see the rows this test commits.
"""

from __future__ import annotations

import datetime
import os
import time

import pytest
from celery import current_app
from django.db import connection
from kombu import pools as kombu_pools

from gridkam.metering.choices import BatchStatus
from gridkam.metering.models import ImportBatch, PointDailyRollup, Reading
from gridkam.metering.services import import_jobs_dir

from .factories import assert_rollups_consistent, make_points, make_tariff
from .test_background import post_background
from .test_import_kill import long_file_write

BROKER = os.environ.get("GRIDKAM_TEST_CELERY_BROKER", "")
URL = "/api/v1/readings-imports/"
TIMEOUT = 90
FINAL = (BatchStatus.COMMITTED, BatchStatus.REJECTED, BatchStatus.FAILED)

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.skipif(not BROKER, reason="GRIDKAM_TEST_CELERY_BROKER is not set: no Celery worker to run imports"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the worker shares the test database: PostgreSQL"),
]


@pytest.fixture
def broker():
    """The Celery app pointed at the test broker, not eager; put back afterwards."""
    conf = current_app.conf
    saved = (conf.broker_url, conf.task_always_eager)
    conf.broker_url, conf.task_always_eager = BROKER, False
    # Eager calls earlier in the run built the app's connection pools for the default broker; forget them, as
    # Celery itself does in a forked process, so that they are built again for this one.
    current_app._after_fork()
    try:
        # A worker started with the test run may still be loading Django.
        deadline = time.monotonic() + 30
        while not current_app.control.ping(timeout=1):
            if time.monotonic() > deadline:
                pytest.fail(f"no Celery worker answers on {BROKER}")
        yield
    finally:
        # Close and forget kombu's pools (a global registry keyed by broker): a closed pool left registered would be
        # handed to the next test that uses this fixture.
        kombu_pools.reset()
        conf.broker_url, conf.task_always_eager = saved
        current_app._after_fork()


def test_a_worker_runs_a_background_import_from_the_api(p, api, broker, transactional_db, tmp_path):
    points = make_points(8, tariff=make_tariff())
    source = tmp_path / "month.csv"
    rows = long_file_write(source, [point.code for point in points], days=31, first_day=datetime.date(2029, 3, 1))

    response = post_background(api(p.admin), source.read_bytes())
    assert response.status_code == 202
    # Sent to the worker, not run here: it cannot have got far yet.
    assert response.json()["status"] in (BatchStatus.QUEUED, BatchStatus.RUNNING)
    batch_id = response.json()["id"]

    deadline = time.monotonic() + TIMEOUT
    batch = ImportBatch.objects.get(pk=batch_id)
    while batch.status not in FINAL and time.monotonic() < deadline:
        time.sleep(0.25)
        batch.refresh_from_db()
    assert batch.status != BatchStatus.QUEUED, (
        f"batch {batch_id} still queued after {TIMEOUT} s: is a worker's DATABASE_URL this test database "
        f"({connection.settings_dict['NAME']})?"
    )
    assert batch.status == BatchStatus.COMMITTED, (batch.status, batch.failure, batch.rejected[:3])
    assert (batch.rows, batch.inserted, batch.points, batch.created_by) == (rows, rows, 8, p.admin)
    assert Reading.objects.filter(batch=batch).count() == rows
    assert PointDailyRollup.objects.count() == 8 * 31
    assert_rollups_consistent()
    assert not [path for path in import_jobs_dir().glob(f"{batch_id}-*")]
