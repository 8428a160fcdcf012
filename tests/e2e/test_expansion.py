"""Business expansion in a real browser (issue 8 item 1): an account manager accepts a capacity increase for a
customer, moves it through every stage to energisation and sees the account's capacity changed; the board shows
it while it runs, and the change is in the account's history. Pages are in zh-hans: the test holds on to
data-testid attributes, numbers and the database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import Page, expect

from gridkam.core.testing import personas
from gridkam.customers.models import ElectricityAccount
from gridkam.expansion.models import Project

SCREENSHOTS = "/tmp"


def test_a_capacity_increase_is_accepted_and_advanced_to_energisation(login, live_server, page: Page):
    p = personas()
    account = ElectricityAccount.objects.filter(customer=p.a2).order_by("pk").first()
    assert account.capacity_kva != Decimal("4000")
    url = live_server.url
    page.set_viewport_size({"width": 1366, "height": 900})
    login(p.manager)

    page.goto(url + "/expansion/new/")
    page.select_option("#id_customer", str(p.a2.pk))
    page.select_option("#id_kind", "capacity_increase")
    page.select_option("#id_account", str(account.pk))
    page.fill("#id_requested_capacity_kva", "4000")
    page.fill("#id_accepted_on", (timezone.localdate() - dt.timedelta(days=7)).isoformat())
    page.get_by_test_id("form-submit").click()
    expect(page.get_by_test_id("project-status")).to_have_attribute("data-status", "in_progress")
    project = Project.objects.get()
    expect(page.get_by_test_id("stage-progress").locator("[data-state=current]")).to_have_attribute(
        "data-stage", "application"
    )

    page.goto(url + "/expansion/board/")
    expect(
        page.get_by_test_id("expansion-board").locator(f"[data-stage=application] [data-project='{project.pk}']")
    ).to_be_visible()

    page.goto(url + f"/expansion/{project.pk}/")
    stages = ["site_survey", "plan_reply", "design_review", "mid_inspection", "completion_inspection", "energisation"]
    for stage in stages:
        page.get_by_test_id("advance-submit").click()
        expect(page.get_by_test_id("stage-progress").locator("[data-state=current]")).to_have_attribute(
            "data-stage", stage
        )
    # The energisation form: the capacity change's terms (no new account number for an existing account).
    form = page.get_by_test_id("advance-form")
    expect(form.locator("#id_contract_demand_kw")).to_be_visible()
    expect(form.locator("#id_account_no")).to_have_count(0)
    expect(page.get_by_test_id("expansion-timeline").locator("canvas")).to_have_count(1)
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-expansion-energise.png", full_page=True)
    page.get_by_test_id("advance-submit").click()

    expect(page.get_by_test_id("project-status")).to_have_attribute("data-status", "completed")
    expect(page.get_by_test_id("account-capacity")).to_have_text("4000.00")
    account.refresh_from_db()
    assert account.capacity_kva == Decimal("4000")
    assert project.number in account.history.order_by("-history_id").first().history_change_reason
