"""Service plans and visits in a real browser (issue 6): the supervisor generates this year's plans from the plan
list, opens a customer's plan and tailors it (an activity added, a frequency changed, each with a reason; a step
without a reason is refused with a field error and changes nothing); the customer's account manager records a
visit delivering a planned occurrence, with findings and two follow-ups, one becoming a task, one a service
request; the plan shows the occurrence done, the task is in his "My tasks" and plan against actual counts it.

Pages are in zh-hans: the tests hold on to data-testid attributes, URLs, numbers and the database.
"""

from __future__ import annotations

import datetime as dt
import re

from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from gridkam.core.testing import personas
from gridkam.engagement.choices import Activity, FollowUpKind, Frequency, OccurrenceStatus, PlanChangeKind
from gridkam.engagement.models import PlanChange, PlanItem, PlanOccurrence, ServicePlan, Task, Visit
from gridkam.engagement.plans import plan_templates_load
from gridkam.servicedesk.choices import Channel, RequestType
from gridkam.servicedesk.models import ServiceRequest
from gridkam.servicedesk.sla import sla_policies_load

SCREENSHOTS = "/tmp"
ADD_REASON = "客户新上两条产线，需要能效诊断"
FREQUENCY_REASON = "客户冬季负荷高峰，改为每月走访"
FINDINGS = "1号主变油温偏高；电容补偿柜2组投切异常"
TASK_ACTION = "跟进主变油温检测报告"
REQUEST_ACTION = "电容补偿柜投切异常检修"


def occurrence_states(page: Page, item: PlanItem) -> list[str]:
    row = page.get_by_test_id("plan-grid").locator(f"[data-testid=plan-item][data-item='{item.pk}']")
    return row.get_by_test_id("occurrence").evaluate_all("els => els.map(e => e.dataset.state)")


def test_generate_and_tailor_a_plan_then_record_a_visit(login, live_server, page: Page):
    p = personas()
    plan_templates_load()  # as `manage.py load_plan_templates` does
    sla_policies_load()  # the follow-up request is routed and timed as any request
    today = timezone.localdate()
    year = today.year
    url = live_server.url

    # The supervisor generates this year's plans from the plan list: every active key account he sees.
    login(p.supervisor)
    page.goto(url + reverse("plans:plan_list"))
    expect(page.get_by_test_id("plan-row")).to_have_count(0)
    page.get_by_test_id("plan-generate").click()
    expect(page).to_have_url(f"{url}{reverse('plans:plan_list')}?year={year}")
    planned = set(ServicePlan.objects.filter(year=year).values_list("customer_id", flat=True))
    assert planned == {p.a1.pk, p.a1_sub.pk, p.a2.pk, p.a3.pk}, planned  # not B1, another city's customer
    expect(page.get_by_test_id("plan-row")).to_have_count(4)
    plan = ServicePlan.objects.get(customer=p.a1, year=year)
    page.get_by_test_id("plan-row").filter(has_text=p.a1.name).get_by_role("link").click()
    expect(page).to_have_url(url + reverse("plans:plan_detail", args=[plan.pk]))

    # A third-tier plan from its template: a semi-annual visit, an annual safety inspection and tariff review,
    # each with its occurrences still due this year (the last window of each is always still due).
    visit_item = plan.items.get(activity=Activity.VISIT)
    assert visit_item.frequency == Frequency.SEMIANNUAL and visit_item.owner == p.manager
    assert set(plan.items.values_list("activity", flat=True)) == {
        Activity.VISIT,
        Activity.SAFETY_INSPECTION,
        Activity.TARIFF_REVIEW,
    }
    expect(page.get_by_test_id("plan-item")).to_have_count(3)
    semiannual_due = 2 if today.month <= 6 else 1
    assert len(occurrence_states(page, visit_item)) == semiannual_due
    changes = page.get_by_test_id("plan-changes")
    expect(changes.locator(f"[data-kind={PlanChangeKind.GENERATED}]")).to_have_count(1)

    # Tailoring without a reason (only blanks): a field error, nothing changes.
    occurrences_before = set(visit_item.occurrences.values_list("pk", flat=True))
    tailor = page.get_by_test_id("tailor-frequency")
    tailor.locator("#id_frequency-item").select_option(str(visit_item.pk))
    tailor.locator("#id_frequency-frequency").select_option(Frequency.MONTHLY)
    tailor.locator("#id_frequency-reason").fill("   ")
    with page.expect_response(lambda r: r.request.method == "POST" and "/tailor/frequency/" in r.url) as posted:
        tailor.locator("button[type=submit]").click()
    assert posted.value.status == 400
    tailor = page.get_by_test_id("tailor-frequency")
    expect(tailor.get_by_test_id("form-errors")).to_be_visible()
    expect(tailor.locator("[data-field=reason] .invalid-feedback")).to_have_count(1)
    expect(page.get_by_test_id("tailor-add").get_by_test_id("form-errors")).to_have_count(0)
    visit_item.refresh_from_db()
    assert visit_item.frequency == Frequency.SEMIANNUAL
    assert set(visit_item.occurrences.values_list("pk", flat=True)) == occurrences_before
    assert not PlanChange.objects.filter(plan=plan, kind=PlanChangeKind.FREQUENCY).exists()

    # Add the energy-efficiency diagnosis (annual), with a reason.
    page.goto(url + reverse("plans:plan_detail", args=[plan.pk]))
    add = page.get_by_test_id("tailor-add")
    add.locator("#id_add-activity").select_option(Activity.ENERGY_DIAGNOSIS)
    add.locator("#id_add-frequency").select_option(Frequency.ANNUAL)
    add.locator("#id_add-owner").select_option(str(p.manager.pk))
    add.locator("#id_add-reason").fill(ADD_REASON)
    add.locator("button[type=submit]").click()
    expect(page.get_by_test_id("plan-item")).to_have_count(4)
    added = plan.items.get(activity=Activity.ENERGY_DIAGNOSIS)
    assert added.owner == p.manager
    assert occurrence_states(page, added) == ["open"]  # annual: the whole year is its window
    expect(changes.locator(f"[data-kind={PlanChangeKind.ADDED}]")).to_contain_text(ADD_REASON)

    # The visit goes monthly, with a reason: the grid has this month's visit (open now) and every later month's.
    tailor = page.get_by_test_id("tailor-frequency")
    tailor.locator("#id_frequency-item").select_option(str(visit_item.pk))
    tailor.locator("#id_frequency-frequency").select_option(Frequency.MONTHLY)
    tailor.locator("#id_frequency-reason").fill(FREQUENCY_REASON)
    tailor.locator("button[type=submit]").click()
    monthly_due = 13 - today.month
    expect(
        page.locator(f"[data-testid=plan-item][data-item='{visit_item.pk}'] [data-testid=occurrence]")
    ).to_have_count(monthly_due)
    states = occurrence_states(page, visit_item)
    assert states == ["open"] + ["upcoming"] * (monthly_due - 1), states
    visit_item.refresh_from_db()
    assert visit_item.frequency == Frequency.MONTHLY
    expect(changes.locator(f"[data-kind={PlanChangeKind.FREQUENCY}]")).to_contain_text(FREQUENCY_REASON)
    expect(changes.locator(f"[data-kind={PlanChangeKind.ADDED}]")).to_contain_text(ADD_REASON)
    expect(page.get_by_test_id("plan-due")).to_have_text(str(monthly_due + 3))
    expect(page.get_by_test_id("plan-done")).to_have_text("0")
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-plan-tailored.png", full_page=True)
    page.context.clear_cookies()

    # The account manager records this month's visit from the plan grid, with findings and two follow-ups.
    this_month = PlanOccurrence.objects.get(
        item=visit_item, status=OccurrenceStatus.PLANNED, starts_on__lte=today, due_date__gte=today
    )
    login(p.manager)
    page.goto(url + reverse("plans:plan_detail", args=[plan.pk]))
    grid = page.get_by_test_id("plan-grid")
    grid.get_by_test_id("occurrence-record").filter(has=page.locator(f"[data-occurrence='{this_month.pk}']")).click()
    expect(page).to_have_url(f"{url}{reverse('plans:visit_create')}?occurrence={this_month.pk}")
    form = page.get_by_test_id("visit-form")
    expect(form.locator("#id_customer")).to_have_value(str(p.a1.pk))
    expect(form.locator("#id_activity")).to_have_value(Activity.VISIT)
    expect(form.locator("#id_occurrence")).to_have_value(str(this_month.pk))
    form.locator("#id_visited_on").fill(today.isoformat())
    form.locator("#id_customer_participants").fill("张总（设备部）")
    form.locator("#id_purpose").fill("冬季用电安全走访")
    form.locator("#id_findings").fill(FINDINGS)
    rows = form.get_by_test_id("follow-up-row")
    rows.nth(0).locator("#id_fu-0-kind").select_option(FollowUpKind.TASK)
    rows.nth(0).locator("#id_fu-0-description").fill(TASK_ACTION)
    rows.nth(1).locator("#id_fu-1-kind").select_option(FollowUpKind.REQUEST)
    rows.nth(1).locator("#id_fu-1-description").fill(REQUEST_ACTION)
    rows.nth(1).locator("#id_fu-1-request_type").select_option(RequestType.REPAIR)
    page.get_by_test_id("visit-save").click()

    expect(page).to_have_url(re.compile(r"/plans/visits/\d+/$"))
    visit = Visit.objects.get(customer=p.a1)
    expect(page).to_have_url(url + reverse("plans:visit_detail", args=[visit.pk]))
    assert (visit.visited_on, visit.findings, visit.created_by) == (today, FINDINGS, p.manager)
    assert list(visit.participants.all()) == [p.manager]
    follow_ups = page.get_by_test_id("visit-follow-ups")
    expect(follow_ups.locator(f"[data-kind={FollowUpKind.TASK}]")).to_contain_text(TASK_ACTION)
    sr = ServiceRequest.objects.get(customer=p.a1)
    assert (sr.channel, sr.request_type, sr.title) == (Channel.VISIT, RequestType.REPAIR, REQUEST_ACTION)
    expect(follow_ups.locator(f"[data-kind={FollowUpKind.REQUEST}]")).to_contain_text(sr.number)
    task = Task.objects.get(source="visit")
    assert (task.assignee, task.customer, task.title) == (p.manager, p.a1, TASK_ACTION)
    assert task.due_date == today + dt.timedelta(days=7)
    this_month.refresh_from_db()
    assert (this_month.status, this_month.done_on, this_month.visit) == (OccurrenceStatus.DONE, today, visit)
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-visit-recorded.png", full_page=True)

    # The plan shows the occurrence done, linked to the visit.
    page.get_by_test_id("visit-occurrences").get_by_role("link").click()
    expect(page).to_have_url(url + reverse("plans:plan_detail", args=[plan.pk]))
    done = page.get_by_test_id("plan-grid").locator(f"[data-occurrence='{this_month.pk}']")
    expect(done).to_have_attribute("data-state", "done")
    expect(page.locator(f"a[href='{reverse('plans:visit_detail', args=[visit.pk])}']")).to_have_count(1)
    expect(page.get_by_test_id("plan-done")).to_have_text("1")
    expect(page.get_by_test_id("plan-due")).to_have_text(str(monthly_due + 3))

    # The follow-up task is in the manager's "My tasks", linked to the visit.
    page.goto(url + "/tasks/")
    task_row = page.get_by_test_id("task-table").locator(f"tr[data-task='{task.pk}']")
    expect(task_row).to_contain_text(TASK_ACTION)
    expect(task_row.locator(f"a[href='{reverse('plans:visit_detail', args=[visit.pk])}']")).to_be_visible()

    # Plan against actual, by customer: A1 has the visit done, nothing overdue.
    page.goto(url + reverse("plans:progress") + f"?by=customer&year={year}")
    row = page.get_by_test_id("progress-table").locator(f"[data-testid=progress-row][data-key='{p.a1.pk}']")
    expect(row.get_by_test_id("progress-due")).to_have_text(str(monthly_due + 3))
    expect(row.get_by_test_id("progress-done")).to_have_text("1")
    expect(row.get_by_test_id("progress-overdue")).to_have_text("0")
    expect(page.get_by_test_id("progress-total").get_by_test_id("progress-done")).to_have_text("1")
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-plan-progress.png", full_page=True)
