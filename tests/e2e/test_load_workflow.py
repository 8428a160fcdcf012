"""Load analytics in a real browser: a manager sees the load card on a customer's 360 page, opens the account's
load page (curve, zoom, charts, months, Excel), ranks his portfolio, filters the anomaly list down to a
consumption drop and follows it to the curve; a manager of another city sees none of it.

The readings go in through the real loader (``chunks_import``): 60 days ending yesterday, the last 7 at a third
of the weeks before, so the anomaly list has a drop to show.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from django.conf import settings
from django.utils import timezone, translation
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from gridkam.core.testing import personas
from gridkam.customers.choices import MeteringPurpose
from gridkam.customers.models import ElectricityAccount
from gridkam.metering.loading import chunks_import
from gridkam.metering.models import AccountDailyRollup
from gridkam.metering.parsing import FRAME_SCHEMA, Chunk
from gridkam.metering.watch import Kind

SCREENSHOTS = "/tmp"
DAYS = 60
DROP_DAYS = 7
PER_DAY = 96
ACTIVE = re.compile(r"(^|\s)active(\s|$)")


def load_sixty_days_down_last_week(account: ElectricityAccount) -> None:
    """Quarter-hours from 00:15 of the first day to 24:00 of yesterday on the account's billing point: 1 000 kW
    from 08:00 to 20:00, 600 kW at night, a little ripple; the last 7 days at a third of that."""
    point = account.metering_points.get(purpose=MeteringPurpose.BILLING)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    first = yesterday - dt.timedelta(days=DAYS - 1)
    start = dt.datetime.combine(first, dt.time(0, 15), tzinfo=ZoneInfo(settings.TIME_ZONE)).astimezone(dt.UTC)
    count = DAYS * PER_DAY
    slot = np.arange(count) % PER_DAY  # slot j ends 15 min × (j + 1) after midnight
    hour = slot // 4
    kwh = np.where((hour >= 8) & (hour < 20), 250_000, 150_000) + (slot * 37 % 50) * 1_000  # thousandths of kWh
    kwh = np.where(np.arange(count) >= (DAYS - DROP_DAYS) * PER_DAY, kwh // 3, kwh)
    frame = pl.DataFrame(
        {
            "line": np.arange(2, count + 2),
            "point": [point.code] * count,
            "interval_end": pl.datetime_range(
                start, start + dt.timedelta(minutes=15) * (count - 1), "15m", time_zone="UTC", eager=True
            ),
            "kwh_milli": kwh,
            "lag_milli": kwh * 3 // 10,
            "lead_milli": np.zeros(count, dtype=np.int64),
            "estimated": [False] * count,
        }
    ).cast(FRAME_SCHEMA)
    outcome = chunks_import([Chunk(frame=frame)], file_name=f"{point.code}-60-days.csv", file_format="long")
    assert outcome.committed, outcome.rejected[:3]
    days = AccountDailyRollup.objects.filter(account=account, day__gte=first, day__lte=yesterday, intervals=PER_DAY)
    assert days.count() == DAYS


def drop_label() -> str:
    """The "Consumption down" label as the browser (zh-CN) gets it."""
    with translation.override("zh-hans"):
        return str(Kind.labels[Kind.DROP])


def test_customer_card_account_load_portfolio_and_anomaly_to_curve(login, live_server, page: Page):
    p = personas()
    account = p.a1.accounts.get()
    load_sixty_days_down_last_week(account)
    login(p.manager)

    # The customer 360 page: the load card draws the account's last 30 days and lists the drop.
    page.goto(f"{live_server.url}/customers/{p.a1.pk}/")
    card = page.get_by_test_id("customer-load")
    expect(card).to_be_visible()
    expect(card.locator("#load-curve canvas").first).to_be_visible()
    expect(card.locator("#load-curve-status")).to_have_text("")
    anomalies = page.get_by_test_id("customer-load-anomalies")
    expect(anomalies).to_contain_text(drop_label())
    expect(anomalies).to_contain_text(account.account_no)
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-customer-load-card.png", full_page=True)
    card.get_by_test_id("account-load-link").click()

    # The account's load page.
    load_url = f"{live_server.url}/metering/accounts/{account.pk}/load/"
    expect(page).to_have_url(load_url)
    expect(page.get_by_test_id("load-title")).to_be_visible()
    expect(page.get_by_test_id("load-title")).to_contain_text(account.account_no)
    expect(page.locator("#load-curve canvas").first).to_be_visible()
    expect(page.get_by_test_id("load-curve-status")).to_have_text("")
    zoom = page.get_by_test_id("load-zoom")
    expect(zoom.locator("[data-zoom=month]")).to_have_class(ACTIVE)  # the default
    for kind in ("day", "week", "year"):
        zoom.locator(f"[data-zoom={kind}]").click()
        expect(zoom.locator(f"[data-zoom={kind}]")).to_have_class(ACTIVE)
        expect(zoom.locator(".active")).to_have_count(1)
    for chart in ("load-band", "load-heatmap", "load-trend", "load-pf", "load-demand"):
        expect(page.get_by_test_id(chart).locator("canvas").first).to_be_visible()
    months = page.get_by_test_id("load-months").locator("tbody tr")
    expect(months).to_have_count(12)
    latest = timezone.localdate() - dt.timedelta(days=1)
    expect(months.first.locator("td").first).to_have_text(f"{latest:%Y-%m}")
    expect(months.first.locator("td").nth(1)).not_to_have_text("—")
    # The anomalies card of the page lists the drop too, with a link to the week it starts.
    expect(page.get_by_test_id("load-anomalies")).to_contain_text(drop_label())

    with page.expect_download() as download_info:
        page.get_by_test_id("load-export").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx"), download.suggested_filename
    with open(download.path(), "rb") as xlsx:
        workbook = load_workbook(xlsx)
    assert len(workbook.sheetnames) == 2
    months_sheet, days_sheet = (workbook[name] for name in workbook.sheetnames)
    assert months_sheet.max_row == 1 + 24  # header and the two trend years
    assert days_sheet.max_row == 1 + 365  # header and the year ending on the last day with readings
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-load-analytics.png", full_page=True)

    # The portfolio, by the top navigation; sorted by the change, then the other way round.
    page.get_by_test_id("nav-load").click()
    expect(page).to_have_url(f"{live_server.url}/metering/portfolio/")
    portfolio = page.get_by_test_id("portfolio-table")
    expect(portfolio).to_contain_text(account.account_no)
    row = portfolio.locator("tbody tr", has_text=account.account_no)
    expect(row.get_by_test_id("portfolio-load-link")).to_have_attribute(
        "href", f"/metering/accounts/{account.pk}/load/"
    )
    # The team's accounts (A1, A1-sub, A2, and the colleague's A3); only A1 has readings.
    expect(portfolio.locator("tbody tr")).to_have_count(4)
    # Ascending by default: the account with a figure first, those without last.
    expect(portfolio.locator("tbody tr").first).to_contain_text(account.account_no)
    portfolio.locator("a[data-sort=change]").click()
    expect(page).to_have_url(re.compile(r"[?&]sort=-change"))
    portfolio = page.get_by_test_id("portfolio-table")
    expect(portfolio.locator("a[data-sort=change]")).to_contain_text("▼")
    # Descending, accounts without a figure still go last.
    expect(portfolio.locator("tbody tr").first).to_contain_text(account.account_no)
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-load-portfolio.png", full_page=True)

    # The anomaly list, filtered to consumption drops, and from the drop to the curve's week.
    page.locator("a[href='/metering/anomalies/']").first.click()
    expect(page).to_have_url(f"{live_server.url}/metering/anomalies/")
    table = page.get_by_test_id("anomaly-table")
    expect(table.locator("tbody tr[data-kind=drop]")).to_have_count(1)
    page.get_by_test_id("anomaly-kind").select_option("drop")
    expect(page).to_have_url(re.compile(r"[?&]kind=drop"))
    table = page.get_by_test_id("anomaly-table")
    expect(table.locator("tbody tr:not([data-kind=drop])")).to_have_count(0)
    drop = table.locator("tbody tr[data-kind=drop]")
    expect(drop).to_have_count(1)
    expect(drop).to_contain_text(account.account_no)
    expect(drop).to_contain_text(drop_label())
    week_start = latest - dt.timedelta(days=DROP_DAYS - 1)
    expect(drop).to_contain_text(f"{week_start:%Y-%m-%d}")
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-load-anomalies.png", full_page=True)
    drop.get_by_test_id("anomaly-curve-link").click()
    expect(page).to_have_url(re.compile(rf"/metering/accounts/{account.pk}/load/\?at={week_start:%Y-%m-%d}&zoom=week$"))
    expect(page.get_by_test_id("load-title")).to_be_visible()
    expect(page.locator("#load-curve canvas").first).to_be_visible()
    expect(page.get_by_test_id("load-curve-status")).to_have_text("")
    expect(page.get_by_test_id("load-zoom").locator("[data-zoom=week]")).to_have_class(ACTIVE)
    expect(page.get_by_test_id("load-zoom").locator(".active")).to_have_count(1)


def test_a_manager_of_another_city_sees_neither_the_load_nor_the_account(login, live_server, page: Page):
    p = personas()
    account = p.a1.accounts.get()
    load_sixty_days_down_last_week(account)
    login(p.outsider)

    response = page.goto(f"{live_server.url}/metering/accounts/{account.pk}/load/")
    assert response is not None and response.status == 404
    expect(page.get_by_test_id("load-title")).to_have_count(0)

    page.goto(f"{live_server.url}/metering/portfolio/")
    portfolio = page.get_by_test_id("portfolio-table")
    expect(portfolio).to_contain_text(p.b1.accounts.get().account_no)
    expect(portfolio).not_to_contain_text(account.account_no)
    expect(portfolio.locator(f"a[href='/metering/accounts/{account.pk}/load/']")).to_have_count(0)

    page.goto(f"{live_server.url}/metering/anomalies/")
    expect(page.get_by_test_id("anomaly-table")).not_to_contain_text(account.account_no)
    expect(page.get_by_test_id("anomaly-table").locator("tbody tr[data-kind]")).to_have_count(0)
