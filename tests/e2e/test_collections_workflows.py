"""Fee recovery in a real browser (issue 5): a clerk finds an account in arrears on the collections workbench,
sends the reminder from its row (HTMX), serves the written notice after the waiting period, prints it, and the
payment of the arrears stops the case; a supervisor edits the risk scorecard, scores every account, reads the
distribution chart and an account's factors and trend, and the account's manager closes the warning's task.

Pages are in zh-hans: the tests hold on to data-testid attributes, URLs and numbers.
"""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone
from playwright.sync_api import Page, expect

from gridkam.billing import risk
from gridkam.billing.choices import BillSource, DunningStatus, DunningStepKind
from gridkam.billing.models import DunningCase, DunningStep, RiskScore, RiskScorecard, RiskWarning
from gridkam.billing.tests.conftest import make_bill
from gridkam.billing.tests.test_risk_scoring import history
from gridkam.core.testing import personas
from gridkam.engagement.models import Task, TaskStatus

from .test_billing_workflows import logged_in_elsewhere, money, record_payment

SCREENSHOTS = "/tmp"
INVALID = re.compile(r"\bis-invalid\b")


def month_start(day: dt.date, months_back: int) -> dt.date:
    return risk.add_months(day.replace(day=1), -months_back)


def test_remind_serve_the_written_notice_print_it_and_payment_stops_the_case(login, live_server, page: Page):
    p = personas()
    account = p.a1.accounts.get()
    today = timezone.localdate()
    # Two computed bills issued and past due: 50 and 20 days.
    older = make_bill(
        account,
        month_start(today, 3),
        "120000.00",
        issued=today - dt.timedelta(days=65),
        due=today - dt.timedelta(days=50),
        source=BillSource.COMPUTED,
    )
    newer = make_bill(
        account,
        month_start(today, 2),
        "80000.50",
        issued=today - dt.timedelta(days=35),
        due=today - dt.timedelta(days=20),
        source=BillSource.COMPUTED,
    )
    arrears = older.total + newer.total
    login(p.clerk)

    # The workbench lists the account with its arrears; the reminder is taken from its row.
    page.get_by_test_id("nav-billing").click()
    page.get_by_test_id("nav-workbench").click()
    expect(page).to_have_url(f"{live_server.url}/billing/workbench/")
    table = page.get_by_test_id("workbench-table")
    expect(table.locator("tbody tr[data-account]")).to_have_count(1)
    row = table.locator(f"tr[data-account='{account.account_no}']")
    expect(row.get_by_test_id("arrears")).to_have_text(money(arrears))
    expect(row).to_contain_text(f"{older.due_date:%Y-%m-%d}")
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-collections-workbench.png", full_page=True)
    action = row.get_by_test_id("next-step")
    action.locator("button[data-kind=reminder]").click()
    # The cell is swapped in place: the reminder is recorded, the written notice waits.
    expect(action.locator(".badge.text-bg-success")).to_be_visible()
    expect(action.locator("button[data-kind=reminder]")).to_have_count(0)
    expect(action.locator("a[data-kind=written_notice]")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/billing/workbench/")  # no page load
    reminder = DunningStep.objects.get(case__account=account)
    assert (reminder.kind, reminder.done_on, reminder.done_by) == (DunningStepKind.REMINDER, today, p.clerk)

    # The dunning page shows the step; the written notice is not allowed yet.
    action.locator("a[data-kind=written_notice]").click()
    expect(page).to_have_url(f"{live_server.url}/billing/accounts/{account.pk}/dunning/")
    steps = page.get_by_test_id("dunning-steps")
    expect(steps.locator("tr[data-kind=reminder]")).to_have_count(1)
    expect(steps.locator("tr[data-kind=reminder]")).to_contain_text(f"{today:%Y-%m-%d}")
    expect(page.get_by_test_id("dunning-arrears")).to_have_text(money(arrears))
    expect(page.get_by_test_id("dunning-next").locator(".badge.text-bg-secondary")).to_be_visible()

    # A week and a day later (the reminder moved back): the written notice, from the workbench's link.
    DunningStep.objects.filter(pk=reminder.pk).update(done_on=today - dt.timedelta(days=8))
    DunningCase.objects.filter(pk=reminder.case_id).update(opened_on=today - dt.timedelta(days=8))
    page.goto(f"{live_server.url}/billing/workbench/")
    row.get_by_test_id("next-step").locator("a[data-kind=written_notice]").click()
    expect(page).to_have_url(f"{live_server.url}/billing/accounts/{account.pk}/dunning/?kind=written_notice")
    expect(page.get_by_test_id("dunning-next").locator(".badge.text-bg-success")).to_be_visible()
    form = page.get_by_test_id("dunning-form")
    expect(form.locator("#id_kind")).to_have_value(DunningStepKind.WRITTEN_NOTICE)
    # The date field starts at today (rendered in ISO form, whatever the language).
    expect(form.locator("#id_done_on")).to_have_value(f"{today:%Y-%m-%d}")
    form.locator("button[type=submit]").click()
    notice_row = steps.locator("tr[data-kind=written_notice]")
    expect(notice_row).to_have_count(1)
    expect(notice_row).to_contain_text(money(arrears))
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-collections-dunning.png", full_page=True)

    # The printable notice, from the account's data.
    notice_row.get_by_test_id("notice-link").click()
    step = DunningStep.objects.get(case__account=account, kind=DunningStepKind.WRITTEN_NOTICE)
    expect(page).to_have_url(f"{live_server.url}/billing/dunning/steps/{step.pk}/notice/")
    notice = page.get_by_test_id("notice-text")
    expect(notice.locator("article[data-notice=written_notice]")).to_be_visible()
    expect(notice).to_contain_text(p.a1.name)
    expect(notice).to_contain_text(account.account_no)
    expect(notice).to_contain_text(f"{arrears:.2f}")
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-collections-notice.png", full_page=True)

    # The customer pays the arrears: the case stops.
    page.goto(f"{live_server.url}/billing/accounts/{account.pk}/")
    card = page.get_by_test_id("dunning-card")
    expect(card.get_by_test_id("dunning-case-status")).to_have_attribute("data-status", DunningStatus.OPEN)
    expect(page.get_by_test_id("arrears")).to_have_text(money(arrears))
    record_payment(page, arrears, "YH-E2E-ARREARS")
    expect(page.get_by_test_id("arrears")).to_have_text(money(0))
    expect(card.get_by_test_id("dunning-case-status")).to_have_attribute("data-status", DunningStatus.STOPPED)
    expect(card.get_by_test_id("dunning-state")).to_contain_text(f"{today:%Y-%m-%d}")
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-collections-stopped.png", full_page=True)
    assert DunningCase.objects.get(account=account).status == DunningStatus.STOPPED

    # And the workbench has nobody left.
    page.goto(f"{live_server.url}/billing/workbench/")
    expect(page.get_by_test_id("workbench-table").locator("tbody tr[data-account]")).to_have_count(0)


def test_scorecard_score_now_distribution_factors_and_the_managers_task(browser, login, live_server, page: Page):
    p = personas()
    account = p.a1.accounts.get()
    today = timezone.localdate()
    # A year of bills ending two months ago, paid 45 days late, the last three not paid (all past due).
    end = month_start(today, 2)
    history(account, end=f"{end:%Y-%m}", late=45, unpaid=3)
    login(p.supervisor)

    # The scorecard: a weight left empty, then a negative one (past the browser's own check), then saved.
    page.goto(f"{live_server.url}/billing/risk/scorecard/")
    form = page.get_by_test_id("scorecard-form")
    field = form.locator("#id_weight_credit_rating")
    expect(field).to_have_value("5")
    field.fill("")
    page.get_by_test_id("scorecard-save").click()
    expect(form.locator("#id_weight_credit_rating")).to_have_class(INVALID)
    form.locator("#id_weight_credit_rating").fill("-5")
    form.evaluate("form => { form.noValidate = true; }")
    page.get_by_test_id("scorecard-save").click()
    expect(form.locator("#id_weight_credit_rating")).to_have_class(INVALID)
    expect(form.locator("#id_weight_credit_rating ~ .invalid-feedback")).not_to_be_empty()
    assert RiskScorecard.objects.get().weight_credit_rating == 5
    form.locator("#id_weight_credit_rating").fill("10")
    page.get_by_test_id("scorecard-save").click()
    expect(page).to_have_url(f"{live_server.url}/billing/risk/scorecard/")
    expect(form.locator("#id_weight_credit_rating")).to_have_value("10")
    expect(form.locator(".is-invalid")).to_have_count(0)
    expect(page.get_by_test_id("scorecard-history")).to_contain_text("10")
    assert RiskScorecard.objects.get().weight_credit_rating == 10

    # Score now, from the distribution page.
    page.get_by_test_id("nav-billing").click()
    page.get_by_test_id("nav-risk").click()
    expect(page).to_have_url(f"{live_server.url}/billing/risk/")
    expect(page.get_by_test_id("risk-table").locator("tbody tr[data-account]")).to_have_count(0)
    page.get_by_test_id("risk-run").click()
    expect(page).to_have_url(f"{live_server.url}/billing/risk/")
    expect(page.get_by_test_id("risk-latest-day")).to_contain_text(f"{today:%Y-%m-%d}")
    expect(page.get_by_test_id("risk-distribution").locator("canvas, svg").first).to_be_visible()
    row = page.get_by_test_id("risk-table").locator(f"tr[data-account='{account.account_no}']")
    expect(row).to_have_count(1)
    score = RiskScore.objects.get(account=account, is_latest=True)
    assert score.scored_on == today and score.level in ("high", "severe")
    expect(row.get_by_test_id("risk-level")).to_have_attribute("data-level", score.level)
    expect(page.get_by_test_id("risk-levels").locator(f"tr[data-level={score.level}] td").nth(1)).to_have_text("1")
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-risk-distribution.png", full_page=True)

    # The account's risk page: the factors and the trend chart.
    row.get_by_test_id("risk-account-link").click()
    expect(page).to_have_url(f"{live_server.url}/billing/accounts/{account.pk}/risk/")
    expect(page.get_by_test_id("risk-score")).to_have_text(str(score.score))
    factors = page.get_by_test_id("risk-factors").locator("tbody tr[data-indicator]")
    expect(factors).to_have_count(len(risk.INDICATORS))
    expect(page.get_by_test_id("risk-factors").locator("tr[data-indicator=credit_rating] td").nth(3)).to_have_text("10")
    expect(page.get_by_test_id("risk-trend").locator("canvas, svg").first).to_be_visible()
    expect(page.get_by_test_id("risk-warnings").locator("li")).to_have_count(1)
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-risk-account.png", full_page=True)
    warning = RiskWarning.objects.get(account=account)
    task = Task.objects.get(assignee=p.manager)
    assert warning.task == task

    # The account's manager, in a browser of his own: the task under "My work" → "My tasks", done with a note.
    with logged_in_elsewhere(browser, live_server, p.manager) as manager:
        manager.get_by_test_id("nav-my-work").click()
        manager.get_by_test_id("work-my-tasks").click()
        expect(manager).to_have_url(f"{live_server.url}/tasks/")
        task_row = manager.get_by_test_id("task-table").locator(f"tr[data-task='{task.pk}']")
        expect(task_row).to_contain_text(account.account_no)
        expect(task_row.locator(f"a[href='/billing/accounts/{account.pk}/risk/']")).to_have_count(1)
        manager.screenshot(path=f"{SCREENSHOTS}/gridkam-my-tasks.png", full_page=True)
        task_row.locator("input[name=note]").fill("已上门催收，客户承诺月底前结清")
        task_row.get_by_test_id("task-done").click()
        expect(manager).to_have_url(f"{live_server.url}/tasks/")
        expect(manager.get_by_test_id("task-table").locator(f"tr[data-task='{task.pk}']")).to_have_count(0)
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.done_note == "已上门催收，客户承诺月底前结清"
