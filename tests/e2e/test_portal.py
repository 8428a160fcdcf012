"""The customer portal in a real browser (issue 7): the customer's energy manager logs in and lands on the portal
home, opens the latest bill with its lines, logs a repair request with a photo of the damage, finds it in the list
and on its page with the photo, then checks the phone layout (375 px wide) with the bottom tab bar.

Pages are in zh-hans: the test holds on to data-testid attributes, URLs and numbers.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page, expect

from gridkam.billing.choices import BillStatus
from gridkam.billing.models import Bill, BillLine
from gridkam.core.testing import personas
from gridkam.servicedesk.models import ServiceRequest

SCREENSHOTS = "/tmp"
PHOTO = Path(__file__).parent / "fixtures" / "transformer.png"
TITLE = "Transformer humming loudly"


def test_customer_reads_a_bill_and_logs_a_repair_with_a_photo(login, live_server, page: Page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    p = personas()
    account = p.a1.accounts.get()
    bill = Bill.objects.create(
        account=account,
        period=dt.date(2026, 9, 1),
        status=BillStatus.ISSUED,
        number="E2E00000001",
        total=Decimal("12345.60"),
        issue_date=dt.date(2026, 10, 1),
        due_date=dt.date(2026, 10, 15),
    )
    BillLine.objects.bulk_create(
        [
            BillLine(bill=bill, position=1, item="energy_flat", quantity=10000, unit_price="0.9", amount="9000.00"),
            BillLine(
                bill=bill, position=2, item="basic_capacity", quantity=2000, unit_price="1.6728", amount="3345.60"
            ),
        ]
    )
    login(p.customer_user)

    # Logged in, the customer lands on the portal home (not on a staff page).
    expect(page).to_have_url(f"{live_server.url}/portal/")
    expect(page.get_by_test_id("home-latest-bill")).to_contain_text("12345.60")
    page.get_by_test_id("home-latest-bill").get_by_role("link").click()
    expect(page).to_have_url(f"{live_server.url}/portal/bills/{bill.pk}/")
    expect(page.get_by_test_id("bill-lines").locator("li")).to_have_count(2)
    expect(page.get_by_test_id("bill-total")).to_contain_text("12345.60")

    # A repair request with a photo.
    page.locator('[data-testid="portal-nav-wide"] [data-nav="requests"]').click()
    page.get_by_test_id("request-new").click()
    form = page.get_by_test_id("request-form")
    form.locator("#id_request_type").select_option("repair")
    form.locator("#id_account").select_option(str(account.pk))
    form.locator("#id_title").fill(TITLE)
    form.locator("#id_description").fill("Since this morning, main transformer T1")
    form.locator("#id_attachments").set_input_files(str(PHOTO))
    page.get_by_test_id("request-submit").click()
    sr = ServiceRequest.objects.get(title=TITLE)
    expect(page).to_have_url(f"{live_server.url}/portal/requests/{sr.pk}/")
    expect(page.get_by_test_id("request-number")).to_have_text(sr.number)
    expect(page.get_by_test_id("attachment")).to_contain_text("transformer.png")
    assert sr.channel == "portal" and sr.attachments.count() == 1

    page.goto(f"{live_server.url}/portal/requests/")
    expect(page.locator(f'[data-request="{sr.pk}"]')).to_contain_text(TITLE)

    # The phone layout: no wide menu, the bottom tab bar, nothing wider than the screen.
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{live_server.url}/portal/")
    expect(page.get_by_test_id("portal-nav-wide")).to_be_hidden()
    tabs = page.get_by_test_id("portal-nav-tabs")
    expect(tabs).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=f"{SCREENSHOTS}/portal_home_375.png", full_page=True)
    tabs.locator('[data-nav="bills"]').click()
    expect(page).to_have_url(f"{live_server.url}/portal/bills/")
    expect(page.locator(f'[data-bill="{bill.pk}"]')).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
