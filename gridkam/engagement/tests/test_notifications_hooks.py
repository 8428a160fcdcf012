"""Where notifications are raised: a request logged (routed), assigned or handed over; the SLA sweep's warnings
(the assignee) and escalations (team lead, then supervisor), in bulk; VIP desk appointment reminders; risk
warnings (the account manager). Always the right people, never the one who acted."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.engagement.choices import NotificationEvent as E
from gridkam.engagement.models import Notification
from gridkam.servicedesk import services as desk
from gridkam.servicedesk import sla
from gridkam.servicedesk.choices import Channel, Priority, RequestType
from gridkam.servicedesk.models import ServiceRequest
from gridkam.servicedesk.tests.test_sla import _bulk_requests, at, repair


@pytest.fixture
def policies(db):
    sla.sla_policies_load()


def received(event=None) -> list[tuple[str, str]]:
    rows = Notification.objects.order_by("pk")
    if event:
        rows = rows.filter(event=event)
    return [(n.recipient.username, n.event) for n in rows.select_related("recipient")]


def log_request(p, user, request_type=RequestType.BILLING_INQUIRY) -> ServiceRequest:
    return desk.request_create(
        customer=p.a1,
        request_type=request_type,
        channel=Channel.MANAGER_LINE,
        priority=Priority.NORMAL,
        title="电费疑问",
        user=user,
    )


def test_a_routed_request_tells_its_assignee_unless_they_logged_it(p):
    request = log_request(p, p.colleague, RequestType.REPAIR)  # routed to the field engineer
    notification = Notification.objects.get()
    assert (notification.recipient, notification.event) == (p.engineer, E.REQUEST_ASSIGNED)
    assert notification.link == f"/service/requests/{request.pk}/" and request.number in notification.title
    Notification.objects.all().delete()
    log_request(p, p.manager)  # routed to the manager, who logged it
    assert received() == []


def test_assigning_tells_the_new_assignee_not_the_actor(p):
    request = log_request(p, p.manager)
    desk.request_assign(request=request, assignee=p.colleague, user=p.manager, reason="休假")
    assert received() == [("colleague", E.REQUEST_ASSIGNED)]
    assert "休假" in Notification.objects.get().body
    desk.request_assign(request=request, assignee=p.colleague, user=p.manager)  # already with them: nothing new
    desk.request_assign(request=request, assignee=p.manager, user=p.manager)  # to oneself: nothing
    assert received() == [("colleague", E.REQUEST_ASSIGNED)]


def test_a_handover_tells_the_new_holder_with_the_reason(p):
    request = log_request(p, p.manager)
    desk.request_handover(request=request, to_user=p.engineer, user=p.supervisor, reason="需要现场处理")
    notification = Notification.objects.get()
    assert (notification.recipient, notification.event) == (p.engineer, E.REQUEST_HANDOVER)
    assert "需要现场处理" in notification.body and str(p.manager) in notification.body
    desk.request_handover(request=request, to_user=p.colleague, user=p.colleague, reason="我来跟进")
    assert received(E.REQUEST_HANDOVER) == [("engineer", E.REQUEST_HANDOVER)]


def test_the_sweep_warns_the_assignee_and_escalates_to_the_lead_then_the_supervisor(p, policies):
    start = at(2026, 3, 9, 9, 0)
    request = repair(p, start)  # assignee: colleague; team lead: manager
    summary = sla.sla_sweep(now=start + dt.timedelta(minutes=8))
    assert summary["notifications"] == 1
    warning = Notification.objects.get()
    assert (warning.recipient, warning.event) == (p.colleague, E.SLA_WARNING)
    assert request.number in warning.title and warning.link == f"/service/requests/{request.pk}/"
    breach_at = start + dt.timedelta(minutes=10)
    sla.sla_sweep(now=breach_at)
    assert received(E.SLA_ESCALATION) == [("manager", E.SLA_ESCALATION)]
    sla.sla_sweep(now=breach_at + dt.timedelta(minutes=112))
    assert received(E.SLA_ESCALATION) == [("manager", E.SLA_ESCALATION), ("supervisor", E.SLA_ESCALATION)]
    # Again at the same moment: nothing new.
    count = Notification.objects.count()
    assert sla.sla_sweep(now=breach_at + dt.timedelta(minutes=112))["notifications"] == 0
    assert Notification.objects.count() == count


def test_the_sweep_raises_notifications_in_bulk(p, policies):
    start = at(2026, 3, 9, 9, 0)
    counts = []
    for n in (1, 40):
        ServiceRequest.objects.all().delete()
        Notification.objects.all().delete()
        _bulk_requests(p, n, start)
        sla.sla_sweep(now=start + dt.timedelta(minutes=8))
        with CaptureQueriesContext(connection) as queries:
            summary = sla.sla_sweep(now=start + dt.timedelta(minutes=10))  # breaches: escalations to the lead
        assert summary["notifications"] == n == Notification.objects.filter(event=E.SLA_ESCALATION).count()
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_appointment_reminders_tell_the_manager_and_the_booker(p):
    from gridkam.servicedesk import appointments
    from gridkam.servicedesk.tests.test_appointments import MONDAY, book
    from gridkam.servicedesk.tests.test_appointments import at as local
    from gridkam.servicedesk.tests.test_appointments import hall as hall_fixture

    hall = hall_fixture.__wrapped__(p)
    appointment = book(p, hall, local(MONDAY, 10), user=p.engineer)
    appointments.appointment_reminders_send(local(dt.date(2026, 3, 15), 15))
    assert sorted(received()) == [("engineer", E.APPOINTMENT_REMINDER), ("manager", E.APPOINTMENT_REMINDER)]
    notification = Notification.objects.get(recipient=p.manager)
    assert notification.link == f"/service/appointments/{appointment.pk}/"
    assert "2026-03-16 10:00" in notification.title and hall.name in notification.body


def test_a_risk_warning_tells_the_account_manager(p):
    from gridkam.billing import risk
    from gridkam.billing.tests.test_risk_scoring import D, history

    account = p.a1.accounts.get()
    history(account, late=45, unpaid=3)
    assert risk.risk_score_all(today=D, user=p.manager)["warnings"] == 1
    notification = Notification.objects.get()
    assert (notification.recipient, notification.event) == (p.manager, E.RISK_WARNING)
    assert notification.link == f"/billing/accounts/{account.pk}/risk/" and account.account_no in notification.title
