"""Announcing a planned outage in a real browser (issue 8 item 2): the supervisor creates it, picks the feeder and sees
the key accounts on it (the important user first, its backup feeder staying up), saves, announces it, and the notices
are listed; the customer's energy manager acknowledges it in the portal. Pages are in zh-hans: the test holds on to
data-testid attributes, numbers and the database."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from playwright.sync_api import Page, expect

from gridkam.core.testing import personas
from gridkam.outages.models import Outage, OutageNotice
from gridkam.outages.tests.support import account_of, feeder, substation, supply

SCREENSHOTS = "/tmp"


def test_a_supervisor_announces_a_planned_outage(login, live_server, page: Page):
    p = personas()
    sub = substation(p.city_a, name="惠州江北站")
    f1, f2 = feeder(sub, code="JB-F01"), feeder(sub, code="JB-F02")
    supply(account_of(p.a1), f1)
    supply(account_of(p.a2), f1)
    supply(account_of(p.a2), f2, "backup")
    url = live_server.url

    login(p.supervisor)
    page.goto(url + "/outages/")
    page.get_by_test_id("outage-create-link").click()
    page.select_option("select[name=kind]", "planned")
    start = timezone.localtime(timezone.now() + dt.timedelta(days=10)).replace(hour=8, minute=0)
    page.fill("input[name=planned_start]", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=planned_end]", (start + dt.timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=reason]", "10kV江北线绝缘化改造")
    page.fill("textarea[name=scope]", "江北片区")
    expect(page.get_by_test_id("affected-none")).to_be_visible()
    page.get_by_test_id("feeder-picker").get_by_label("JB-F01", exact=False).check()
    rows = page.get_by_test_id("affected-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-customer", str(p.a2.pk))
    expect(rows.first).to_have_attribute("data-backup", "1")
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-outage-form.png", full_page=True)
    page.get_by_test_id("outage-save").click()
    outage = Outage.objects.get(reason="10kV江北线绝缘化改造")
    page.wait_for_url(f"{url}/outages/{outage.pk}/")
    expect(page.get_by_test_id("outage-status")).to_have_attribute("data-status", "draft")
    page.get_by_test_id("announce-submit").click()
    page.wait_for_url(f"{url}/outages/{outage.pk}/")
    expect(page.get_by_test_id("outage-status")).to_have_attribute("data-status", "announced")
    notices = page.get_by_test_id("notices").get_by_test_id("notice-row")
    expect(notices).to_have_count(2)
    expect(page.get_by_test_id("unacknowledged").locator("[data-notice]")).to_have_count(2)
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-outage-detail.png", full_page=True)
    assert OutageNotice.objects.filter(outage=outage).count() == 2

    page.context.clear_cookies()
    page.set_viewport_size({"width": 390, "height": 844})
    login(p.customer_user)
    page.goto(url + "/outages/portal/")
    waiting = page.get_by_test_id("portal-notice-waiting")
    expect(waiting).to_have_count(1)
    waiting.get_by_test_id("portal-acknowledge").click()
    expect(page.get_by_test_id("portal-notices-none")).to_be_visible()
    assert OutageNotice.objects.get(outage=outage, customer=p.a1).ack_channel == "portal"
