"""A background readings import followed in a real browser: the batch page of a running import shows its progress
bar, polls it (HTMX, every 2 s) as the import moves on, and reloads itself when the import is committed."""

from __future__ import annotations

from playwright.sync_api import expect

from gridkam.core.testing import personas
from gridkam.metering.choices import BatchStatus, ImportPhase
from gridkam.metering.models import ImportBatch
from gridkam.metering.progress import progress_set
from gridkam.metering.services import import_batch_start


def test_the_batch_page_follows_a_running_import_until_it_is_committed(live_server, login, settings):
    # The live server runs in this process: it reads the same in-memory cache as the test writes.
    p = personas()
    batch = import_batch_start(
        file_name="big.csv", file_format="long", skip_invalid=False, user=p.supervisor, queued=True
    )
    page = login(p.supervisor)
    page.goto(f"{live_server.url}/metering/imports/{batch.pk}/")
    expect(page.get_by_test_id("progress-queued")).to_be_visible()

    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING)
    progress_set(batch.pk, done=3_000_000, total=10_000_000, phase=ImportPhase.READING)
    expect(page.get_by_test_id("progress-reading")).to_be_visible(timeout=10_000)
    expect(page.locator("#batch-progress .progress")).to_have_attribute("aria-valuenow", "30")

    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.COMMITTED, rows=96, inserted=96)
    expect(page.get_by_test_id("batch-progress")).to_have_count(0, timeout=10_000)
    expect(page.get_by_test_id("batch-status")).to_have_count(1)
    expect(page.get_by_test_id("batch-counts")).to_contain_text("96")
