"""Inspections in a real browser (issue 8 item 3): the field engineer records an inspection of A1 with a failed
earthing check that raises a hidden danger, records the delivery of its rectification notice, then re-inspects it
and closes it. Pages are in zh-hans: the test holds on to data-testid attributes, ids and the database."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from gridkam.core.testing import personas
from gridkam.inspections.choices import ChecklistItem, DangerStatus
from gridkam.inspections.models import HiddenDanger, Inspection


def test_an_inspection_raises_a_danger_that_is_reinspected_and_closed(login, live_server, page: Page):
    p = personas()
    url = live_server.url
    login(p.engineer)
    page.goto(f"{url}/inspections/records/new/?customer={p.a1.pk}")
    for code in ChecklistItem.values:
        page.check(f"#id_result_{code}_0")  # pass
    page.check("#id_result_earthing_1")  # fail
    page.fill("#id_remark_earthing", "接地电阻 8.6Ω")
    page.check("#id_danger_earthing")
    page.select_option("#id_severity_earthing", "serious")
    page.fill("#id_description_earthing", "配电房接地电阻超标")
    page.get_by_test_id("inspection-submit").click()
    inspection = Inspection.objects.get()
    page.wait_for_url(f"{url}/inspections/records/{inspection.pk}/")
    expect(page.get_by_test_id("checklist").locator("[data-item=earthing]")).to_have_attribute("data-result", "fail")
    danger = HiddenDanger.objects.get()
    page.get_by_test_id("inspection-dangers").get_by_role("link", name=danger.number).click()

    page.fill("#id_signed_by", "张工")
    page.get_by_test_id("notice-submit").click()
    expect(page.get_by_test_id("danger-history").locator("[data-event=notice_delivered]")).to_have_count(1)
    page.get_by_test_id("danger-reinspect-link").click()
    page.check("#id_passed_0")  # rectified
    page.fill("#id_remark", "已增设接地极，复测合格")
    page.get_by_test_id("reinspect-submit").click()
    page.wait_for_url(f"{url}/inspections/dangers/{danger.pk}/")
    expect(page.get_by_test_id("danger-history").locator("[data-event=reinspected_passed]")).to_have_count(1)
    danger.refresh_from_db()
    assert danger.status == DangerStatus.CLOSED and danger.notice_signed_by == "张工"
