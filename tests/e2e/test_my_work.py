"""My work and notifications in a real browser (issue 6).

1. The manager (lead of team A) opens "My work" from the navigation bar: his open service request, the plan
   occurrences he owns and his task, the overdue task in red; the calendar has each item on its day. In the team
   view he moves the request to his colleague: without a reason the form says so and nothing moves; with one
   the request is the colleague's (her own "My work" shows it) and the request's timeline records the reason.
2. The colleague, handed a request and given a task by her lead, sees the count on the bell, lists her
   notifications, opens one (the request page, the count goes down) and chooses e-mail for an event.

Pages are in zh-hans: the tests hold on to data-testid attributes, URLs, numbers and the database.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from gridkam.core.testing import personas
from gridkam.engagement import work
from gridkam.engagement.choices import NotificationEvent, OccurrenceStatus
from gridkam.engagement.models import Notification, NotificationPreference, PlanOccurrence, Task
from gridkam.engagement.plans import plan_generate, plan_templates_load
from gridkam.servicedesk.choices import Channel, EventKind, Priority, RequestType
from gridkam.servicedesk.models import RequestEvent
from gridkam.servicedesk.services import request_create
from gridkam.servicedesk.sla import sla_policies_load

from .test_billing_workflows import logged_in_elsewhere

SCREENSHOTS = "/tmp"
REASON = "李经理本周外出培训，由王经理跟进"
TASK_REASON = "客户回访改由王经理负责"


def setup_manager_work(p):
    """A consultation request routed to the manager (A1's account manager), A1's plan for this year (occurrences
    owned by the manager) and an overdue task of his."""
    sla_policies_load()
    plan_templates_load()
    today = timezone.localdate()
    sr = request_create(
        customer=p.a1,
        request_type=RequestType.CONSULTATION,
        channel=Channel.MANAGER_LINE,
        priority=Priority.NORMAL,
        title="咨询峰谷分时电价执行方案",
        account=p.a1.accounts.get(),
        user=p.supervisor,
    )
    assert sr.assignee == p.manager and sr.team == p.team_a
    plan_generate(customer=p.a1, year=today.year, user=p.supervisor, today=today)
    task = Task.objects.create(
        title="回访A1客户能效诊断结果",
        customer=p.a1,
        assignee=p.manager,
        due_date=today - dt.timedelta(days=2),
        created_by=p.supervisor,
    )
    return sr, task


def calendar_day(page: Page, url: str, day: dt.date):
    """The cell of ``day`` on the calendar page, moving to its month when the grid shown does not have it."""
    cell = page.locator(f"[data-testid=calendar-day][data-day='{day.isoformat()}']")
    if cell.count() == 0:
        page.goto(f"{url}{reverse('work:calendar')}?month={day:%Y-%m}")
    return cell


def test_my_work_calendar_and_rebalancing_in_the_team_view(login, live_server, page: Page, browser):
    p = personas()
    assert p.team_a.lead == p.manager and p.colleague.team_id == p.team_a.pk
    sr, task = setup_manager_work(p)
    today = timezone.localdate()
    horizon = today + dt.timedelta(days=work.HORIZON_DAYS)
    occurrences = list(
        PlanOccurrence.objects.filter(owner=p.manager, status=OccurrenceStatus.PLANNED)
        .filter(Q(starts_on__lte=today) | Q(due_date__lte=horizon))
        .order_by("due_date", "pk")
    )
    assert occurrences, "the generated plan has occurrences of the manager in the queue"
    url = live_server.url

    # "My work" from the navigation bar: one request, the plan occurrences, one task; the task is overdue.
    login(p.manager)
    page.get_by_test_id("nav-my-work").click()
    expect(page).to_have_url(url + reverse("work:my_work"))
    counts = page.get_by_test_id("work-counts")
    expect(counts.get_by_test_id("work-count-request")).to_have_attribute("data-count", "1")
    expect(counts.get_by_test_id("work-count-plan_item")).to_have_attribute("data-count", str(len(occurrences)))
    expect(counts.get_by_test_id("work-count-task")).to_have_attribute("data-count", "1")
    expect(counts.get_by_test_id("work-count-task")).to_have_attribute("data-overdue", "1")
    expect(counts.get_by_test_id("work-count-all")).to_have_text(str(2 + len(occurrences)))
    table = page.get_by_test_id("work-table")
    request_row = table.locator(f"[data-testid=work-row][data-kind=request][data-id='{sr.pk}']")
    expect(request_row).to_contain_text(sr.number)
    expect(request_row).not_to_have_attribute("data-overdue", "1")
    expect(request_row.get_by_test_id("sla-badge")).to_have_attribute("data-state", "running")
    task_row = table.locator(f"[data-testid=work-row][data-kind=task][data-id='{task.pk}']")
    expect(task_row).to_have_attribute("data-overdue", "1")
    expect(task_row).to_have_class(re.compile(r"\btable-danger\b"))
    for occurrence in occurrences:
        row = table.locator(f"[data-testid=work-row][data-kind=plan_item][data-id='{occurrence.pk}']")
        expect(row).to_contain_text(occurrence.due_date.isoformat())
        if occurrence.due_date < today:
            expect(row).to_have_attribute("data-overdue", "1")
        else:
            expect(row).not_to_have_attribute("data-overdue", "1")
    # Overdue first: the task heads the queue.
    expect(table.get_by_test_id("work-row").first).to_have_attribute("data-kind", "task")
    request_row.get_by_test_id("work-open").click()
    expect(page).to_have_url(url + reverse("servicedesk:request_detail", args=[sr.pk]))
    page.go_back()
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-my-work.png", full_page=True)

    # The calendar: every item on the (local) day it falls due, the overdue task in red.
    page.get_by_test_id("work-calendar-link").click()
    expect(page).to_have_url(url + reverse("work:calendar"))
    expect(page.get_by_test_id("calendar-month")).to_have_attribute("data-month", f"{today:%Y-%m}")
    expect(page.locator("[data-testid=calendar-day][data-today='1']")).to_have_attribute("data-day", today.isoformat())
    placed = [
        ("request", sr.pk, timezone.localdate(sr.response_due_at), False),
        ("task", task.pk, task.due_date, True),
        *(("plan_item", o.pk, o.due_date, o.due_date < today) for o in occurrences),
    ]
    for kind, pk, day, overdue in placed:
        item = calendar_day(page, url, day).locator(f"[data-testid=calendar-item][data-kind={kind}][data-id='{pk}']")
        expect(item).to_have_count(1)
        if overdue:
            expect(item).to_have_attribute("data-overdue", "1")
        else:
            expect(item).not_to_have_attribute("data-overdue", "1")
    page.goto(url + reverse("work:calendar"))
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-work-calendar.png", full_page=True)

    # The team view: both members of team A; the manager's items open below.
    page.goto(url + reverse("work:my_work"))
    page.get_by_test_id("work-team-link").click()
    expect(page).to_have_url(url + reverse("work:team"))
    members = page.get_by_test_id("team-card").filter(has=page.locator(f"[data-member='{p.manager.pk}']"))
    manager_row = members.locator(f"[data-testid=team-member][data-member='{p.manager.pk}']")
    colleague_row = members.locator(f"[data-testid=team-member][data-member='{p.colleague.pk}']")
    expect(manager_row.locator("[data-col=requests]")).to_have_text("1")
    expect(colleague_row.locator("[data-col=requests]")).to_have_text("0")
    manager_row.get_by_test_id("team-expand").click()
    panel = page.get_by_test_id("member-panel")
    expect(panel).to_have_attribute("data-member", str(p.manager.pk))
    item = panel.locator(f"[data-testid=member-item][data-kind=request][data-id='{sr.pk}']")

    # Without a reason: a field error, nothing moves.
    item.locator("input[name=items]").check()
    panel.get_by_test_id("reassign-to").select_option(str(p.colleague.pk))
    panel.get_by_test_id("reassign-submit").click()
    expect(panel.get_by_test_id("error-reason")).to_be_visible()
    expect(panel.get_by_test_id("reassign-reason")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(panel.get_by_test_id("error-to_user")).to_have_count(0)
    sr.refresh_from_db()
    assert sr.assignee == p.manager
    assert not RequestEvent.objects.filter(request=sr, kind=EventKind.HANDOVER).exists()
    assert not Notification.objects.filter(recipient=p.colleague).exists()

    # With the reason (the selection and the chosen member are kept): the request is the colleague's.
    expect(item.locator("input[name=items]")).to_be_checked()
    expect(panel.get_by_test_id("reassign-to")).to_have_value(str(p.colleague.pk))
    panel.get_by_test_id("reassign-reason").fill(REASON)
    panel.get_by_test_id("reassign-submit").click()
    expect(page).to_have_url(f"{url}{reverse('work:team')}?member={p.manager.pk}")
    expect(panel.locator("[data-testid=member-item][data-kind=request]")).to_have_count(0)
    expect(colleague_row.locator("[data-col=requests]")).to_have_text("1")
    expect(manager_row.locator("[data-col=requests]")).to_have_text("0")
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-work-team.png", full_page=True)
    sr.refresh_from_db()
    assert sr.assignee == p.colleague
    handover = RequestEvent.objects.get(request=sr, kind=EventKind.HANDOVER)
    assert handover.body == REASON and handover.actor == p.manager
    assert (handover.data["from"], handover.data["to"], handover.data["reason"]) == (
        p.manager.pk,
        p.colleague.pk,
        REASON,
    )

    # The colleague's own queue has it; the manager's has it no more.
    with logged_in_elsewhere(browser, live_server, p.colleague) as colleague:
        colleague.get_by_test_id("nav-my-work").click()
        expect(colleague.get_by_test_id("work-count-request")).to_have_attribute("data-count", "1")
        row = colleague.locator(f"[data-testid=work-row][data-kind=request][data-id='{sr.pk}']")
        expect(row).to_contain_text(sr.number)
    page.get_by_test_id("nav-my-work").click()
    expect(page.get_by_test_id("work-count-request")).to_have_attribute("data-count", "0")
    expect(page.locator("[data-testid=work-row][data-kind=request]")).to_have_count(0)


def test_notifications_bell_list_open_and_preferences(login, live_server, page: Page):
    p = personas()
    sr, task = setup_manager_work(p)
    # The lead rebalances (as from the team view): the request is handed over, the task given to the colleague.
    work.work_reassign(user=p.manager, kind=work.REQUEST, item_id=sr.pk, to_user=p.colleague, reason=REASON)
    work.work_reassign(user=p.manager, kind=work.TASK, item_id=task.pk, to_user=p.colleague, reason=TASK_REASON)
    handover = Notification.objects.get(recipient=p.colleague, event=NotificationEvent.REQUEST_HANDOVER)
    given = Notification.objects.get(recipient=p.colleague, event=NotificationEvent.TASK_ASSIGNED)
    assert Notification.objects.filter(recipient=p.colleague).count() == 2
    url = live_server.url

    # The bell shows two unread notifications (fetched after the page loads).
    login(p.colleague)
    bell = page.get_by_test_id("nav-notifications")
    expect(bell.get_by_test_id("nav-notifications-count")).to_have_text("2")
    bell.click()
    expect(page).to_have_url(url + reverse("notifications:list"))
    rows = page.get_by_test_id("notification-row")
    expect(rows).to_have_count(2)
    row = page.locator(f"[data-testid=notification-row][data-notification='{handover.pk}']")
    expect(row).to_have_attribute("data-unread", "1")
    expect(row).to_contain_text(sr.number)
    expect(row).to_contain_text(REASON)
    expect(page.locator(f"[data-notification='{given.pk}']")).to_have_attribute("data-unread", "1")
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-notifications.png", full_page=True)

    # Opening it lands on the request, whose timeline has the handover and its reason; one unread left.
    row.get_by_test_id("notification-open").click()
    expect(page).to_have_url(url + reverse("servicedesk:request_detail", args=[sr.pk]))
    event = page.get_by_test_id("request-timeline").locator(f"[data-kind={EventKind.HANDOVER}]")
    expect(event).to_have_count(1)
    expect(event).to_contain_text(REASON)
    expect(page.get_by_test_id("nav-notifications-count")).to_have_text("1")
    handover.refresh_from_db()
    assert handover.read_at is not None
    page.get_by_test_id("nav-notifications").click()
    expect(page.locator(f"[data-notification='{handover.pk}']")).to_have_attribute("data-unread", "0")
    expect(page.locator(f"[data-notification='{given.pk}']")).to_have_attribute("data-unread", "1")

    # Preferences: e-mail as well for handed-over requests.
    assert not NotificationPreference.objects.filter(user=p.colleague).exists()
    page.get_by_test_id("notifications-preferences").click()
    expect(page).to_have_url(url + reverse("notifications:preferences"))
    email = page.get_by_test_id(f"pref-{NotificationEvent.REQUEST_HANDOVER}-email")
    expect(email).not_to_be_checked()
    expect(page.get_by_test_id(f"pref-{NotificationEvent.REQUEST_HANDOVER}-in_app")).to_be_checked()
    email.check()
    page.get_by_test_id("preferences-save").click()
    expect(page).to_have_url(url + reverse("notifications:preferences"))
    expect(page.get_by_test_id(f"pref-{NotificationEvent.REQUEST_HANDOVER}-email")).to_be_checked()
    preference = NotificationPreference.objects.get(user=p.colleague, event=NotificationEvent.REQUEST_HANDOVER)
    assert (preference.in_app, preference.email, preference.sms) == (True, True, False)
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-notification-preferences.png", full_page=True)
