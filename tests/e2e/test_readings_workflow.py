"""Loading interval data in a real browser: a supervisor uploads a day of readings, checks the preview,
imports it, and rolls the import back."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from gridkam.core.testing import personas
from gridkam.metering.models import PointDailyRollup, Reading

SCREENSHOTS = "/tmp"


def one_day(code: str) -> str:
    lines = ["metering_point,interval_end,kwh,kvarh_lag"]
    for i in range(1, 97):
        hours, minutes = divmod(i * 15, 60)
        lines.append(f"{code},2025-07-01 {hours:02d}:{minutes:02d},{800 + i}.5,{400 + i}")
    return "\n".join(lines) + "\n"


def test_upload_preview_import_and_roll_back_readings(login, live_server, page: Page, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    p = personas()
    code = p.a1.accounts.get().metering_points.get().code
    upload = tmp_path / "readings.csv"
    upload.write_text(one_day(code), encoding="utf-8")
    login(p.supervisor)
    page.goto(f"{live_server.url}/metering/imports/")
    page.get_by_test_id("import-new").click()
    form = page.get_by_test_id("readings-upload-form")
    form.locator("input[type=file]").set_input_files(str(upload))
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("import-counts")).to_contain_text("96")
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-readings-preview.png", full_page=True)
    assert not Reading.objects.exists()

    page.get_by_test_id("import-confirm").click()
    expect(page.get_by_test_id("batch-status")).to_be_visible()
    assert Reading.objects.count() == 96
    assert PointDailyRollup.objects.get().intervals == 96

    page.get_by_test_id("rollback-open").click()
    page.get_by_test_id("rollback-confirm").click()
    expect(page.get_by_test_id("batch-status")).to_contain_text("已回退")
    assert not Reading.objects.exists()
