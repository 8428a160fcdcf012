"""The tariff workflows in a real browser: price a month in the calculator, read a version's
time-of-use heat map, enter a month of quantities and get the account's cost advice."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from playwright.sync_api import Page, expect

from gridkam.core.testing import personas
from gridkam.tariffs.services import monthly_usage_save, sample_tariffs_load

SCREENSHOTS = "/tmp"


def test_price_a_month_in_the_calculator(login, live_server, page: Page):
    p = personas()
    assert sample_tariffs_load().ok
    login(p.manager)
    page.goto(f"{live_server.url}/tariffs/")
    page.get_by_test_id("quote-link").click()
    # The calculator opens with an example; price it as it is.
    page.get_by_test_id("quote-submit").click()
    result = page.get_by_test_id("quote-result")
    expect(result).to_contain_text("GD-TOU-2P-10KV@")
    expect(page.get_by_test_id("quote-total")).to_have_text(re.compile(r"^[\d,]+\.\d{2}$"))
    expect(result).to_contain_text("105%")
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-quote.png", full_page=True)

    # A method that needs a field left empty: the field says so, the page stays.
    page.locator("#id_max_demand_kw").fill("")
    page.get_by_test_id("quote-submit").click()
    expect(page.locator("#id_max_demand_kw")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.get_by_test_id("quote-errors")).to_contain_text("max_demand_kw")


def test_read_a_versions_heat_map(login, live_server, page: Page):
    p = personas()
    assert sample_tariffs_load().ok
    login(p.customer_user)
    page.goto(f"{live_server.url}/tariffs/GD-TOU-2P-10KV/")
    expect(page.get_by_test_id("version-table")).to_contain_text("2025-01-01")
    page.get_by_role("link", name="2026-02-01").first.click()
    expect(page.get_by_test_id("illustrative-warning")).to_be_visible()
    # ECharts draws the month × hour map on a canvas.
    expect(page.get_by_test_id("tou-heatmap").locator("canvas")).to_have_count(1)
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-tou-heatmap.png", full_page=True)


def test_enter_a_month_then_get_cost_advice(login, live_server, page: Page):
    p = personas()
    assert sample_tariffs_load().ok
    account = p.a1.accounts.get()
    account.tariff_code = "GD-TOU-2P-10KV"
    account.contract_demand_kw = Decimal("1500")
    account.basic_charge_method = "contract_demand"
    account.save()
    # Eleven months are on file; the twelfth is typed in.
    for month in range(1, 12):
        monthly_usage_save(
            account=account,
            month=dt.date(2025, month, 1),
            values={
                "peak_kwh": Decimal("200000"),
                "flat_kwh": Decimal("220000"),
                "valley_kwh": Decimal("150000"),
                "lagging_kvarh": Decimal("400000"),
                "max_demand_kw": Decimal("900"),
            },
        )
    login(p.manager)
    page.goto(f"{live_server.url}/customers/{p.a1.pk}/")
    page.get_by_test_id("usage-link").first.click()
    page.goto(page.url + "?end=2025-12")
    row = page.get_by_test_id("usage-form").locator("tbody tr").last
    expect(row).to_contain_text("2025-12")
    inputs = row.locator("input[type=number]")
    for index, value in enumerate(["0", "200000", "220000", "150000", "0", "400000", "0", "900"]):
        inputs.nth(index).fill(value)
    page.get_by_test_id("usage-save").click()
    expect(page.get_by_test_id("usage-table")).to_contain_text("2025-12")

    page.get_by_test_id("advice-link").click()
    recommendations = page.get_by_test_id("recommendations")
    # A contract demand of 1,500 kW against a 900 kW load, and cos φ near 0.82 on a 0.90 standard.
    expect(recommendations.locator("[data-kind=contract_demand]")).to_be_visible()
    expect(recommendations.locator("[data-kind=capacitor]")).to_be_visible()
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-advice.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_test_id("export-xlsx").click()
    assert download.value.suggested_filename.endswith(".xlsx")
