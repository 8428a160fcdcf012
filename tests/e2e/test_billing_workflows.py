"""Billing in a real browser (issue 5): a clerk bills a month from the run list, issues the drafts, reads a
bill's lines with their rules, records a partial payment and then the rest, and exports the bills to Excel; a
clerk corrects an issued bill (credit note and rebill, linked); a clerk imports the billing system's bills and
reconciles them, and a file with a bad row is rejected with its line; and who sees what: the manager of
another city gets a 404, the portal user reads his own issued bills without the clerk's forms.

Pages are in zh-hans: the tests hold on to data-testid attributes, URLs and numbers, and compare money with the
figures Django renders in that locale.
"""

from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager
from decimal import Decimal

from django.template.defaultfilters import floatformat
from django.utils import timezone, translation
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from gridkam.billing.billrun import bill_lines_explained, bill_run, bills_issue
from gridkam.billing.choices import BillKind, BillStatus
from gridkam.billing.models import Bill, BillingImport, Payment
from gridkam.billing.tests.test_billrun import MONTH, QUANTITIES, TARIFF
from gridkam.billing.tests.test_import_fixtures import DATA, sample_accounts, steel_row, to_csv
from gridkam.core.testing import PASSWORD, personas
from gridkam.customers.models import ElectricityAccount
from gridkam.tariffs.choices import UsageSource
from gridkam.tariffs.services import monthly_usage_save, sample_tariffs_load

SCREENSHOTS = "/tmp"


def money(value) -> str:
    """An amount as the pages show it (``floatformat:"2g"`` in zh-hans)."""
    with translation.override("zh-hans"):
        return floatformat(Decimal(value), "2g")


def label(choices, value) -> str:
    with translation.override("zh-hans"):
        return str(dict(choices.choices)[value])


def bill_status(page: Page):
    """The status badge in the bill page's header (the corrections list has badges of its own)."""
    return page.locator(".gk-bill-actions").get_by_test_id("bill-status")


def record_payment(page: Page, amount: Decimal, reference: str) -> None:
    form = page.get_by_test_id("payment-form")
    form.locator("#id_payment-method").select_option("bank_transfer")
    form.locator("#id_payment-amount").fill(str(amount))
    form.locator("#id_payment-received_on").fill(f"{timezone.localdate():%Y-%m-%d}")
    form.locator("#id_payment-reference").fill(reference)
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("payments")).to_contain_text(reference)


@contextmanager
def logged_in_elsewhere(browser, live_server, user):
    """A page of a second browser context (its own cookies) with ``user`` logged in."""
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        other = context.new_page()
        other.goto(f"{live_server.url}/accounts/login/")
        other.fill("#id_username", user.username)
        other.fill("#id_password", PASSWORD)
        other.click("button[type=submit]")
        other.wait_for_url(lambda url: "/accounts/login/" not in url)
        yield other
    finally:
        context.close()


def billable(accounts=None) -> None:
    """The sample tariffs, and the accounts (default: all) on the 10 kV two-part tariff by capacity, with
    March 2026's quantities entered."""
    assert sample_tariffs_load().ok
    accounts = accounts if accounts is not None else list(ElectricityAccount.objects.order_by("pk"))
    ElectricityAccount.objects.filter(pk__in=[a.pk for a in accounts]).update(
        tariff_id=TARIFF, basic_charge_method="capacity"
    )
    for account in accounts:
        monthly_usage_save(account=account, month=MONTH, values=QUANTITIES, source=UsageSource.ENTERED)


def accept_dialogs(page: Page) -> None:
    page.on("dialog", lambda dialog: dialog.accept())


def test_bill_a_month_issue_pay_in_two_parts_and_export(login, live_server, page: Page):
    p = personas()
    billable()
    account = p.a1.accounts.get()
    city_a = ElectricityAccount.objects.filter(customer__org_unit=p.city_a).count()
    login(p.clerk)
    accept_dialogs(page)

    # The run list: bill March 2026 now (not in the background).
    page.get_by_test_id("nav-billing").click()
    page.get_by_test_id("nav-bill-runs").click()
    expect(page).to_have_url(f"{live_server.url}/billing/runs/")
    page.locator("#id_period").fill(f"{MONTH:%Y-%m}")
    page.get_by_test_id("run-start").click()
    expect(page).to_have_url(re.compile(r"/billing/runs/\d+/$"))
    expect(page.get_by_test_id("run-status")).to_have_attribute("class", re.compile(r"text-bg-success"))
    bills = page.get_by_test_id("run-bills").locator("tbody tr[data-account]")
    expect(bills).to_have_count(city_a)  # the clerk's city only
    expect(page.get_by_test_id("run-bills")).not_to_contain_text(p.b1.accounts.get().account_no)
    draft = Bill.objects.get(account=account, period=MONTH)
    assert draft.status == BillStatus.DRAFT
    row = page.get_by_test_id("run-bills").locator(f"tr[data-account='{account.account_no}']")
    expect(row.locator("td").nth(5)).to_have_text(money(draft.total))
    expect(row.get_by_test_id("bill-status")).to_have_text(label(BillStatus, BillStatus.DRAFT))
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-billing-run.png", full_page=True)

    # Issue all the drafts (after the confirmation dialog).
    page.get_by_test_id("run-issue").click()
    expect(page.get_by_test_id("run-issue")).to_have_count(0)
    expect(row.get_by_test_id("bill-status")).to_have_text(label(BillStatus, BillStatus.ISSUED))
    assert Bill.objects.filter(period=MONTH, status=BillStatus.ISSUED).count() == city_a
    bill = Bill.objects.get(pk=draft.pk)
    assert bill.number and bill.due_date > timezone.localdate()

    # The bill: its lines, each with its rule in words.
    row.get_by_test_id("run-bill-link").click()
    expect(page).to_have_url(f"{live_server.url}/billing/bills/{bill.pk}/")
    expect(page.get_by_test_id("bill-total")).to_have_text(money(bill.total))
    with translation.override("zh-hans"):
        explained = bill_lines_explained(bill)
    assert explained and all(row["rule"] for row in explained)
    lines = page.get_by_test_id("bill-lines").locator("tbody tr")
    expect(lines).to_have_count(len(explained))
    rules = page.get_by_test_id("bill-lines").get_by_test_id("line-rule")
    expect(rules).to_have_text([row["rule"] for row in explained])
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-billing-bill.png", full_page=True)

    # The account's billing page, from the customer page.
    page.goto(f"{live_server.url}/customers/{p.a1.pk}/")
    page.get_by_test_id("account-billing-link").click()
    billing_url = f"{live_server.url}/billing/accounts/{account.pk}/"
    expect(page).to_have_url(billing_url)
    expect(page.get_by_test_id("billing-title")).to_contain_text(account.account_no)
    expect(page.get_by_test_id("balance")).to_have_text(money(bill.total))
    expect(page.get_by_test_id("open-amount")).to_have_text(money(bill.total))
    expect(page.get_by_test_id("arrears")).to_have_text(money(0))  # not due yet

    # A partial payment with the form.
    part = (bill.total / 3).quantize(Decimal("0.01"))
    rest = bill.total - part
    record_payment(page, part, "YH-E2E-0001")
    expect(page).to_have_url(re.compile(rf"^{re.escape(billing_url)}#payments$"))
    expect(page.get_by_test_id("balance")).to_have_text(money(rest))
    expect(page.get_by_test_id("open-amount")).to_have_text(money(rest))
    bill_row = page.get_by_test_id("bills").locator(f"tr[data-bill='{bill.pk}']")
    expect(bill_row.get_by_test_id("bill-open")).to_have_text(money(rest))
    expect(bill_row.get_by_test_id("bill-settled")).to_have_text("—")
    expect(page.get_by_test_id("payments").locator("tbody tr[data-payment]")).to_have_count(1)
    expect(page.get_by_test_id("payments")).to_contain_text("YH-E2E-0001")

    # The rest: the bill is settled today.
    record_payment(page, rest, "YH-E2E-0002")
    expect(page.get_by_test_id("balance")).to_have_text(money(0))
    expect(page.get_by_test_id("open-amount")).to_have_text(money(0))
    expect(bill_row.get_by_test_id("bill-open")).to_have_text("—")
    expect(bill_row.get_by_test_id("bill-settled")).to_have_text(f"{timezone.localdate():%Y-%m-%d}")
    expect(page.get_by_test_id("payments").locator("tbody tr[data-payment]")).to_have_count(2)
    bill.refresh_from_db()
    assert (bill.amount_paid, bill.settled_on) == (bill.total, timezone.localdate())
    assert Payment.objects.filter(account=account).count() == 2
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-billing-account.png", full_page=True)

    # The bills to Excel.
    with page.expect_download() as download_info:
        page.get_by_test_id("export-bills").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx"), download.suggested_filename
    with open(download.path(), "rb") as xlsx:
        sheet = load_workbook(xlsx).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 1
    assert bill.number in rows[0]
    assert Decimal(str(rows[0][5])) == bill.total


def issued_bill(p, account) -> Bill:
    """March 2026's bill of ``account`` computed by a bill run and issued, by the clerk."""
    billable([account])
    bill_run(period=MONTH, account_nos=[account.account_no], user=p.clerk)
    assert bills_issue(period=MONTH, user=p.clerk).issued == 1
    return Bill.objects.get(account=account, period=MONTH, kind=BillKind.REGULAR)


def test_correct_an_issued_bill_with_a_credit_note_and_a_rebill(login, live_server, page: Page):
    p = personas()
    account = p.a1.accounts.get()
    bill = issued_bill(p, account)
    # The quantities were wrong: the peak was 10 000 kWh less.
    monthly_usage_save(
        account=account,
        month=MONTH,
        values={**QUANTITIES, "peak_kwh": QUANTITIES["peak_kwh"] - 10000},
        source=UsageSource.ENTERED,
    )
    login(p.clerk)

    page.goto(f"{live_server.url}/billing/bills/{bill.pk}/")
    expect(bill_status(page)).to_have_text(label(BillStatus, BillStatus.ISSUED))
    expect(page.get_by_test_id("bill-chain")).to_have_count(0)
    page.get_by_test_id("bill-correct-open").click()
    dialog = page.locator("#correct-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("#id_reason").fill("峰段电量抄录有误，核减10000千瓦时")
    dialog.get_by_test_id("bill-correct-confirm").click()

    # The rebill's page (a draft to check), with the chain: the original, its credit note, the rebill.
    note = Bill.objects.get(corrects=bill, kind=BillKind.CREDIT_NOTE)
    rebill = Bill.objects.get(account=account, period=MONTH, kind=BillKind.REBILL)
    assert note.total == -bill.total and rebill.total < bill.total
    expect(page).to_have_url(f"{live_server.url}/billing/bills/{rebill.pk}/")
    chain = page.get_by_test_id("bill-chain").locator("li")
    expect(chain).to_have_count(3)
    expect(chain.nth(0)).to_have_attribute("data-bill", str(bill.pk))
    expect(chain.nth(0)).to_have_attribute("data-status", BillStatus.CREDITED)
    expect(chain.nth(1)).to_have_attribute("data-kind", BillKind.CREDIT_NOTE)
    expect(chain.nth(2)).to_have_attribute("data-kind", BillKind.REBILL)
    expect(chain.nth(2)).to_have_class(re.compile(r"\bactive\b"))
    expect(chain.nth(0).locator(f"a[href='/billing/bills/{bill.pk}/']")).to_have_count(1)
    expect(chain.nth(1).locator(f"a[href='/billing/bills/{note.pk}/']")).to_have_count(1)
    expect(page.get_by_test_id("bill-facts")).to_contain_text("峰段电量抄录有误")
    expect(page.get_by_test_id("bill-total")).to_have_text(money(rebill.total))
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-billing-rebill.png", full_page=True)

    # Issue the rebill; then the original shows the same chain, itself credited.
    page.get_by_test_id("bill-issue").click()
    expect(bill_status(page)).to_have_text(label(BillStatus, BillStatus.ISSUED))
    chain.nth(0).locator("a").click()
    expect(page).to_have_url(f"{live_server.url}/billing/bills/{bill.pk}/")
    expect(bill_status(page)).to_have_text(label(BillStatus, BillStatus.CREDITED))
    expect(page.get_by_test_id("bill-correct-open")).to_have_count(0)
    expect(page.get_by_test_id("bill-chain").locator("li")).to_have_count(3)
    expect(page.get_by_test_id("bill-chain").locator("li.active")).to_have_attribute("data-bill", str(bill.pk))


def test_import_the_billing_systems_bills_then_reconcile_and_a_bad_file_is_rejected(
    login, live_server, page: Page, settings, tmp_path
):
    settings.DATA_DIR = tmp_path / "data"
    p = personas()
    sample_accounts(p)
    login(p.clerk)

    page.goto(f"{live_server.url}/billing/imports/")
    form = page.get_by_test_id("billing-import-form")
    form.locator("#id_kind").select_option("bills")
    form.locator("#id_file").set_input_files(str(DATA / "bills.csv"))
    form.locator("button[type=submit]").click()

    # The preview: two new bills, nothing written yet.
    expect(page).to_have_url(f"{live_server.url}/billing/imports/preview/")
    expect(page.get_by_test_id("import-counts")).to_contain_text("2")
    expect(page.get_by_test_id("preview-table").locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("import-rejected")).to_have_count(0)
    assert not Bill.objects.exists()
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-billing-import-preview.png", full_page=True)
    page.get_by_test_id("import-confirm").click()
    expect(page).to_have_url(f"{live_server.url}/billing/imports/")
    imports = page.get_by_test_id("billing-import-table").locator("tbody tr")
    expect(imports).to_have_count(1)
    expect(imports.first).to_contain_text("bills.csv")
    assert set(Bill.objects.values_list("number", flat=True)) == {"HZ202507000101", "HZ202507000102"}

    # Reconciliation of July 2025: both match GridKAM's pricing.
    page.get_by_test_id("reconcile-link").click()
    expect(page).to_have_url(f"{live_server.url}/billing/reconcile/")
    expect(page.locator("#id_period")).to_have_value("2025-07")
    expect(page.get_by_test_id("count-match")).to_have_text("2")
    expect(page.get_by_test_id("count-differs")).to_have_text("0")
    reconcile_rows = page.get_by_test_id("reconcile-row")
    expect(reconcile_rows).to_have_count(2)
    expect(page.locator("[data-testid=reconcile-row][data-status=match]")).to_have_count(2)
    expect(page.get_by_test_id("reconcile-table")).to_contain_text("0930000101")
    expect(page.get_by_test_id("reconcile-table")).to_contain_text(money("518517.93"))
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-billing-reconcile.png", full_page=True)

    # A file whose third line has a total that is not a number: rejected with its line, nothing written.
    bad = tmp_path / "bills-bad.csv"
    bad.write_bytes(
        to_csv(
            [
                steel_row(period="2025-08", bill_no="HZ202508000101", issue_date="2025-09-05", due_date="2025-09-20"),
                steel_row(period="2025-09", bill_no="HZ202509000101", total="五十万"),
            ]
        )
    )
    page.goto(f"{live_server.url}/billing/imports/")
    form = page.get_by_test_id("billing-import-form")
    form.locator("#id_kind").select_option("bills")
    form.locator("#id_file").set_input_files(str(bad))
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/billing/imports/preview/")
    expect(page.get_by_test_id("import-rejected")).to_be_visible()
    rejected = page.get_by_test_id("rejected-table").locator("tbody tr")
    expect(rejected).to_have_count(1)
    expect(rejected.first.locator("td").first).to_have_text("3")
    expect(rejected.first).to_contain_text("total")
    expect(page.get_by_test_id("import-confirm")).to_have_count(0)
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-billing-import-rejected.png", full_page=True)
    assert Bill.objects.count() == 2 and BillingImport.objects.count() == 1


def test_another_city_gets_404_and_the_portal_user_reads_his_issued_bills_only(browser, login, live_server, page: Page):
    p = personas()
    account = p.a1.accounts.get()
    bill = issued_bill(p, account)
    # A draft of the next month, which the customer must not see.
    draft = Bill.objects.create(
        account=account, period=dt.date(2026, 4, 1), kind=BillKind.REGULAR, status=BillStatus.DRAFT, total=1
    )
    url = f"{live_server.url}/billing/accounts/{account.pk}/"

    # The manager of city B: not found, for the page and for the bill.
    login(p.outsider)
    response = page.goto(url)
    assert response is not None and response.status == 404
    expect(page.get_by_test_id("billing-title")).to_have_count(0)
    response = page.goto(f"{live_server.url}/billing/bills/{bill.pk}/")
    assert response is not None and response.status == 404

    # The portal user of customer A1, in a browser of his own.
    with logged_in_elsewhere(browser, live_server, p.customer_user) as portal:
        response = portal.goto(url)
        assert response is not None and response.status == 200
        expect(portal.get_by_test_id("billing-title")).to_contain_text(account.account_no)
        rows = portal.get_by_test_id("bills").locator("tbody tr[data-bill]")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-bill", str(bill.pk))
        expect(rows.first).to_have_attribute("data-status", BillStatus.ISSUED)
        expect(portal.get_by_test_id("bills").locator(f"tr[data-bill='{draft.pk}']")).to_have_count(0)
        expect(portal.get_by_test_id("balance")).to_have_text(money(bill.total))
        expect(portal.get_by_test_id("payment-form")).to_have_count(0)
        expect(portal.get_by_test_id("refund-form")).to_have_count(0)
        expect(portal.get_by_test_id("nav-billing")).to_have_count(0)
        expect(portal.get_by_test_id("nav-workbench")).to_have_count(0)
        expect(portal.locator("a[href='/billing/workbench/']")).to_have_count(0)
        portal.screenshot(path=f"{SCREENSHOTS}/gridkam-billing-portal.png", full_page=True)
        # His bill opens; the draft does not exist for him.
        portal.locator(f"tr[data-bill='{bill.pk}'] a").first.click()
        expect(portal).to_have_url(f"{live_server.url}/billing/bills/{bill.pk}/")
        expect(portal.get_by_test_id("bill-total")).to_have_text(money(bill.total))
        expect(portal.get_by_test_id("bill-correct-open")).to_have_count(0)
        response = portal.goto(f"{live_server.url}/billing/bills/{draft.pk}/")
        assert response is not None and response.status == 404
        response = portal.goto(f"{live_server.url}/billing/workbench/")
        assert response is not None and response.status == 403
