"""The key-account workflows in a real browser: find a customer by pinyin initials, open its 360
page, edit a contact, reassign a portfolio, switch the language.

The database is transactional here (the live server runs in another thread), so each test builds
the personas itself.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from gridkam.core.testing import personas

SCREENSHOTS = "/tmp"


def test_find_a_customer_by_pinyin_initials_and_open_its_360_page(login, live_server, page: Page):
    p = personas()
    login(p.manager)
    page.goto(f"{live_server.url}/customers/")
    table = page.get_by_test_id("customer-table")
    expect(table).to_contain_text("惠州钢铁集团有限公司")
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-customer-list.png", full_page=True)

    page.get_by_test_id("customer-search").fill("HZSH")
    # HTMX swaps the table in place and keeps the search in the address bar.
    expect(table).not_to_contain_text("惠州钢铁集团有限公司")
    expect(table).to_contain_text("惠州石化有限公司")
    expect(page).to_have_url(re.compile(r"[?&]q=HZSH"))

    table.get_by_role("link", name="惠州石化有限公司").click()
    expect(page.get_by_test_id("customer-name")).to_have_text("惠州石化有限公司")
    # A first-class important user on a single supply, without emergency power: flagged.
    expect(page.get_by_test_id("supply-gaps")).to_be_visible()
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-customer-360.png", full_page=True)


def test_edit_a_contact_from_the_360_page(login, live_server, page: Page):
    p = personas()
    login(p.manager)
    page.goto(f"{live_server.url}/customers/{p.a2.pk}/")
    contacts = page.get_by_test_id("contacts-table")
    expect(contacts).to_contain_text("13800138000")

    contacts.get_by_test_id("contact-edit").first.click()
    phone = page.locator("#id_phone")
    expect(phone).to_have_value("13800138000")
    # An empty phone and e-mail is refused on the field, and the page stays.
    phone.fill("")
    page.get_by_test_id("form-submit").click()
    expect(phone).to_have_class(re.compile(r"\bis-invalid\b"))
    phone.fill("0752-5123456")
    page.get_by_test_id("form-submit").click()

    expect(page).to_have_url(f"{live_server.url}/customers/{p.a2.pk}/")
    expect(contacts).to_contain_text("0752-5123456")
    expect(contacts).not_to_contain_text("13800138000")


def test_supervisor_reassigns_ticked_customers(login, live_server, page: Page):
    p = personas()
    login(p.supervisor)
    page.goto(f"{live_server.url}/customers/?q=HZGT")
    bar = page.get_by_test_id("reassign-form")
    expect(bar).to_be_hidden()
    page.locator("[data-select-all]").check()
    expect(bar).to_be_visible()
    expect(bar.locator("[data-selected-count]")).to_have_text("2")
    bar.locator("select[name=role]").select_option("manager")
    bar.locator("select[name=user]").select_option(str(p.colleague.pk))
    bar.locator("input[name=reason]").fill("李经理调往大客户二班")
    bar.get_by_test_id("reassign-submit").click()

    # Back on the same filtered list, now showing the new manager.
    expect(page).to_have_url(re.compile(r"[?&]q=HZGT"))
    expect(page.locator(".alert-success")).to_contain_text("2")
    table = page.get_by_test_id("customer-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    for row in table.locator("tbody tr").all():
        expect(row).to_contain_text("王经理")


@pytest.mark.parametrize("width", [390])
def test_360_page_fits_a_phone(login, live_server, page: Page, width: int):
    p = personas()
    page.set_viewport_size({"width": width, "height": 844})
    login(p.supervisor)
    page.goto(f"{live_server.url}/customers/{p.a1.pk}/")
    expect(page.get_by_test_id("customer-name")).to_be_visible()
    # Nothing wider than the screen: tables scroll inside their cards.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-customer-360-phone.png", full_page=True)


def test_switch_language(login, live_server, page: Page):
    p = personas()
    login(p.manager)
    page.goto(f"{live_server.url}/customers/{p.a1.pk}/")
    html = page.locator("html")
    select = page.get_by_test_id("language-select")
    expect(html).to_have_attribute("lang", "zh-hans")
    expect(select).to_have_value("zh-hans")

    select.select_option("en")
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("language-select")).to_have_value("en")
    # The same page, in English; the customer's own data stays as entered.
    expect(page.locator("#contacts .card-header")).to_contain_text("Contacts")
    expect(page.get_by_test_id("customer-name")).to_have_text("惠州钢铁集团有限公司")

    page.get_by_test_id("language-select").select_option("zh-hans")
    expect(html).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_test_id("language-select")).to_have_value("zh-hans")
    expect(page.get_by_test_id("customer-name")).to_have_text("惠州钢铁集团有限公司")
