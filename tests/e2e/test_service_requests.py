"""The service desk in a real browser (issue 6): the manager logs a repair request for a key account from its
360 page, sees it routed and its SLA clock running; time passes (the SLA sweep runs at a later moment) and
the page shows the targets breached and the escalation, which lands in the team lead's "My tasks"; the
manager records the arrival on site, works the request, replies, resolves and closes it. A manager of another
city gets a 404 on it; the customer's portal user reads it without the internal notes and without actions.

Pages are in zh-hans: the tests hold on to data-testid attributes, URLs and numbers.
"""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone
from playwright.sync_api import Page, expect

from gridkam.core.testing import personas
from gridkam.engagement.models import Task
from gridkam.servicedesk.choices import Channel, EventKind, Priority, RequestStatus, RequestType
from gridkam.servicedesk.models import ServiceRequest
from gridkam.servicedesk.services import request_create, request_note
from gridkam.servicedesk.sla import sla_policies_load, sla_sweep

SCREENSHOTS = "/tmp"
TITLE = "10kV incoming line trip"
REPLY = "Crew on site, feeder 3 restored at 14:20"
NOTE = "INTERNAL-ONLY relay setting to be checked"


def local(moment: dt.datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def expect_status(page: Page, status: str) -> None:
    expect(page.get_by_test_id("request-status").first).to_have_attribute("data-status", status)


def test_log_a_repair_request_see_it_escalate_and_close_it(login, live_server, page: Page):
    p = personas()
    assert p.team_a.lead == p.manager  # the lead of the account team is the manager himself
    sla_policies_load()
    account = p.a1.accounts.get()
    login(p.manager)

    # From the customer's 360 page to the form, with the customer chosen.
    page.goto(f"{live_server.url}/customers/{p.a1.pk}/")
    page.get_by_test_id("customer-requests").get_by_test_id("request-add").click()
    expect(page).to_have_url(f"{live_server.url}/service/requests/new/?customer={p.a1.pk}")
    form = page.get_by_test_id("object-form")
    expect(form.locator("#id_customer")).to_have_value(str(p.a1.pk))
    form.locator("#id_request_type").select_option(RequestType.REPAIR)
    form.locator("#id_channel").select_option(Channel.MANAGER_LINE)
    form.locator("#id_priority").select_option(Priority.URGENT)
    form.locator("#id_account").select_option(str(account.pk))
    form.locator("#id_title").fill(TITLE)
    form.locator("#id_description").fill("Breaker 101 tripped, plant on standby power")
    page.get_by_test_id("form-submit").click()

    # The request page: number, routed to the field engineer (assigned), SLA targets with their due times.
    expect(page).to_have_url(re.compile(r"/service/requests/\d+/$"))
    sr = ServiceRequest.objects.get(customer=p.a1)
    detail_url = f"{live_server.url}/service/requests/{sr.pk}/"
    expect(page).to_have_url(detail_url)
    assert (sr.request_type, sr.channel, sr.priority, sr.account_id) == (
        RequestType.REPAIR,
        Channel.MANAGER_LINE,
        Priority.URGENT,
        account.pk,
    )
    assert (sr.assignee, sr.team) == (p.engineer, p.team_a)
    expect(page.get_by_test_id("request-number")).to_have_text(sr.number)
    expect_status(page, RequestStatus.ASSIGNED)
    targets = page.get_by_test_id("sla-targets")
    for target, due in (
        ("response", sr.response_due_at),
        ("onsite", sr.onsite_due_at),
        ("resolution", sr.resolution_due_at),
    ):
        row = targets.locator(f"[data-target={target}]")
        expect(row.get_by_test_id("sla-due")).to_contain_text(local(due))
        expect(row.get_by_test_id("sla-badge")).to_have_attribute("data-state", "running")
    # Urgent repair, third tier: 5 min to respond, 23 min on site, 113 min to restore (round the clock).
    assert sr.response_due_at - sr.created_at == dt.timedelta(minutes=5)
    assert sr.onsite_due_at - sr.created_at == dt.timedelta(minutes=23)
    assert sr.resolution_due_at - sr.created_at == dt.timedelta(minutes=113)
    timeline = page.get_by_test_id("request-timeline")
    expect(timeline.locator("[data-kind=created]")).to_have_count(1)
    expect(timeline.locator("[data-kind=assigned]")).to_have_count(1)

    # Time passes: the sweep runs half an hour later; response and on-site are breached, the lead is called.
    summary = sla_sweep(now=sr.created_at + dt.timedelta(minutes=30))
    assert (summary["breached"], summary["escalated_lead"]) == (2, 1), summary
    page.reload()
    for target in ("response", "onsite"):
        badge = targets.locator(f"[data-target={target}]").get_by_test_id("sla-badge")
        expect(badge).to_have_attribute("data-state", "breached")
    expect(targets.locator("[data-target=resolution]").get_by_test_id("sla-badge")).to_have_attribute(
        "data-state", "running"
    )
    expect(timeline.locator(f"[data-kind={EventKind.SLA_BREACH}]")).to_have_count(2)
    escalation = timeline.locator(f"[data-kind={EventKind.ESCALATION}]")
    expect(escalation).to_have_count(1)
    expect(escalation).to_have_attribute("data-internal", "1")
    expect(escalation).to_contain_text(sr.number)
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-service-request-breached.png", full_page=True)

    # The team lead's "My tasks" has the escalation, linked to the request.
    task = Task.objects.get(source="sla_escalation")
    assert task.assignee == p.manager
    page.goto(f"{live_server.url}/tasks/")
    row = page.get_by_test_id("task-table").locator(f"tr[data-task='{task.pk}']")
    expect(row).to_contain_text(sr.number)
    expect(row.locator(f"a[href='/service/requests/{sr.pk}/']")).to_be_visible()
    row.locator(f"a[href='/service/requests/{sr.pk}/']").click()
    expect(page).to_have_url(detail_url)

    # On site, in progress, a reply, resolved, closed: the badge follows and each step is in the timeline.
    actions = page.get_by_test_id("request-actions")
    actions.get_by_test_id("onsite").click()
    expect(timeline.locator(f"[data-kind={EventKind.ONSITE}]")).to_have_count(1)
    expect(actions.get_by_test_id("onsite")).to_have_count(0)
    expect_status(page, RequestStatus.ASSIGNED)
    actions.get_by_test_id(f"to-{RequestStatus.IN_PROGRESS}").click()
    expect_status(page, RequestStatus.IN_PROGRESS)
    expect(timeline.locator(f"[data-kind={EventKind.STATUS}]")).to_have_count(1)
    reply = page.get_by_test_id("action-reply")
    reply.locator("textarea").fill(REPLY)
    reply.locator("button[type=submit]").click()
    reply_event = timeline.locator(f"[data-kind={EventKind.REPLY}]")
    expect(reply_event).to_have_count(1)
    expect(reply_event).to_contain_text(REPLY)
    expect(reply_event).to_have_attribute("data-internal", "0")
    actions.get_by_test_id(f"to-{RequestStatus.RESOLVED}").click()
    expect_status(page, RequestStatus.RESOLVED)
    expect(targets.locator("[data-target=resolution]").get_by_test_id("sla-badge")).to_have_attribute(
        "data-state", "met"
    )
    actions.get_by_test_id(f"to-{RequestStatus.CLOSED}").click()
    expect_status(page, RequestStatus.CLOSED)
    expect(timeline.locator(f"[data-kind={EventKind.STATUS}]")).to_have_count(3)
    # Closed: no handover any more, reopening is offered (within the reopen window).
    expect(page.get_by_test_id("action-handover")).to_have_count(0)
    expect(actions.get_by_test_id("reopen")).to_be_visible()
    kinds = timeline.get_by_test_id("event").evaluate_all("els => els.map(e => e.dataset.kind)")
    # In time order: the sweep's events carry its (later) moment, so they come after the steps taken now.
    assert kinds == [
        "created",
        "assigned",
        "onsite",
        "status",
        "reply",
        "status",
        "status",
        "sla_breach",
        "sla_breach",
        "escalation",
    ], kinds
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-service-request-closed.png", full_page=True)

    sr.refresh_from_db()
    assert sr.status == RequestStatus.CLOSED
    assert None not in (sr.onsite_at, sr.responded_at, sr.resolved_at, sr.closed_at)

    # The list (all statuses) shows it closed.
    page.goto(f"{live_server.url}/service/requests/?status=all")
    list_row = page.get_by_test_id("request-table").get_by_test_id("request-row").filter(has_text=sr.number)
    expect(list_row.get_by_test_id("request-status")).to_have_attribute("data-status", RequestStatus.CLOSED)


def test_outsider_gets_404_and_the_portal_user_reads_without_internal_notes_or_actions(login, live_server, page: Page):
    p = personas()
    sla_policies_load()
    sr = request_create(
        customer=p.a1,
        request_type=RequestType.REPAIR,
        channel=Channel.MANAGER_LINE,
        priority=Priority.URGENT,
        title=TITLE,
        account=p.a1.accounts.get(),
        user=p.manager,
    )
    request_note(request=sr, user=p.manager, body=NOTE)
    detail_url = f"{live_server.url}/service/requests/{sr.pk}/"

    login(p.outsider)
    response = page.goto(detail_url)
    assert response is not None and response.status == 404
    page.context.clear_cookies()

    login(p.customer_user)
    response = page.goto(detail_url)
    assert response is not None and response.status == 200
    expect(page.get_by_test_id("request-number")).to_have_text(sr.number)
    expect_status(page, RequestStatus.ASSIGNED)
    timeline = page.get_by_test_id("request-timeline")
    expect(timeline.locator("[data-kind=created]")).to_have_count(1)
    expect(timeline.locator("[data-internal='1']")).to_have_count(0)
    expect(timeline.locator(f"[data-kind={EventKind.NOTE}]")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(NOTE)
    for testid in ("request-actions", "action-reply", "action-note", "action-handover", "assignee"):
        expect(page.get_by_test_id(testid)).to_have_count(0)
    expect(page.get_by_test_id("sla-targets")).to_be_visible()
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-service-request-portal.png", full_page=True)
