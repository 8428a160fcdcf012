"""Account health in a real browser (issue 7 item 5): the supervisor opens the health portfolio from the Service
menu, scores every account now, finds the account in trouble at the top with its level, sees the distribution chart,
opens the account's health page (drivers explained, the trend chart, the alert raised) and the manager has the
alert's task. Pages are in zh-hans: the test holds on to data-testid attributes, numbers and the database."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from gridkam.core.testing import personas
from gridkam.engagement.choices import HealthDriver, HealthLevel
from gridkam.engagement.models import HealthAlert, HealthScore, Task
from gridkam.engagement.tests.health_support import make_unhealthy

SCREENSHOTS = "/tmp"


def test_score_now_then_read_the_unhealthy_account(login, live_server, page: Page):
    p = personas()
    account = p.a1.accounts.get()
    make_unhealthy(account)  # severe risk, complaints all breached, ratings of 1, no plan item done
    url = live_server.url

    login(p.supervisor)
    page.goto(url + "/")
    page.get_by_test_id("nav-service").click()
    page.get_by_test_id("nav-health").click()
    expect(page.get_by_test_id("health-table").locator("tr[data-account]")).to_have_count(0)
    page.get_by_test_id("health-score-now").click()

    rows = page.get_by_test_id("health-table").locator("tr[data-account]")
    seen = HealthScore.objects.visible_to(p.supervisor).filter(is_latest=True).count()
    assert seen > 1
    expect(rows).to_have_count(seen)
    expect(rows.first).to_have_attribute("data-account", account.account_no)  # worst first
    latest = HealthScore.objects.get(account=account, is_latest=True)
    assert latest.level == HealthLevel.UNHEALTHY and latest.score < 40
    expect(rows.first).to_have_attribute("data-score", str(latest.score))
    expect(page.get_by_test_id("health-distribution").locator("canvas, svg").first).to_be_visible()
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-health-portfolio.png", full_page=True)

    rows.first.get_by_test_id("health-account-link").click()
    expect(page.get_by_test_id("health-score")).to_have_text(str(latest.score))
    drivers = page.get_by_test_id("health-drivers").locator("tr[data-driver]")
    expect(drivers).to_have_count(len(HealthDriver.values))
    expect(page.get_by_test_id("health-drivers").locator("tr[data-driver=fee_risk]")).to_have_attribute(
        "data-pulls-down", "1"
    )
    expect(page.get_by_test_id("health-trend").locator("canvas, svg").first).to_be_visible()
    alert = HealthAlert.objects.get(account=account)
    expect(page.get_by_test_id("health-alerts").locator(f"[data-alert='{alert.pk}']")).to_have_count(1)
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-health-account.png", full_page=True)

    # The alert is the manager's task; only accounts entering unhealthy raise one.
    assert alert.task == Task.objects.get(source="health_alert") and alert.task.assignee == p.manager
    assert HealthAlert.objects.count() == 1
