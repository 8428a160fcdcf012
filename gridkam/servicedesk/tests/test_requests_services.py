"""Service request services: numbering, routing, the state machine with every transition, the reopen window,
pauses and the SLA clock, handover, replies and notes, attachments checked by content."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from gridkam.customers.choices import AssignmentRole
from gridkam.customers.services import assignment_set
from gridkam.servicedesk import services
from gridkam.servicedesk.choices import Channel, EventKind, Priority, RequestStatus, RequestType
from gridkam.servicedesk.models import RequestAttachment, RequestEvent, RequestPause, ServiceRequest
from gridkam.servicedesk.selectors import customer_requests_recent, sla_targets

from .conftest import NOW, exe_as_png, pdf, png

pytestmark = pytest.mark.django_db
S = RequestStatus
ALLOWED = {
    (S.NEW, S.ASSIGNED),
    (S.ASSIGNED, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.WAITING_CUSTOMER),
    (S.WAITING_CUSTOMER, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.RESOLVED),
    (S.RESOLVED, S.CLOSED),
    (S.RESOLVED, S.IN_PROGRESS),
    (S.CLOSED, S.IN_PROGRESS),  # a reopen, within the window
}


def kinds(request) -> list[str]:
    return list(RequestEvent.objects.filter(request=request).order_by("at", "pk").values_list("kind", flat=True))


# --- logging, numbering, routing ------------------------------------------------------------------------


def test_numbers_count_per_day(make_request):
    first = make_request()
    second = make_request()
    next_day = make_request(now=NOW + dt.timedelta(days=1))
    assert first.number == "SR20260316-0001"
    assert second.number == "SR20260316-0002"
    assert next_day.number == "SR20260317-0001"


def test_numbering_skips_a_taken_number(make_request, monkeypatch):
    make_request()
    taken = iter(["SR20260316-0001", "SR20260316-0002"])
    original = services.next_number
    monkeypatch.setattr(services, "next_number", lambda now: next(taken, None) or original(now))
    assert make_request().number == "SR20260316-0002"


def test_repair_goes_to_the_field_engineer_and_the_team(p, make_request):
    request = make_request(request_type=RequestType.REPAIR)
    assert request.assignee == p.engineer
    assert request.team == p.team_a
    assert request.status == S.ASSIGNED
    assert kinds(request) == [EventKind.CREATED, EventKind.ASSIGNED]


@pytest.mark.parametrize("request_type", [RequestType.POWER_QUALITY, RequestType.METERING])
def test_field_work_goes_to_the_engineer(p, make_request, request_type):
    assert make_request(request_type=request_type).assignee == p.engineer


@pytest.mark.parametrize(
    "request_type",
    [
        RequestType.BILLING_INQUIRY,
        RequestType.CAPACITY_CHANGE,
        RequestType.CONSULTATION,
        RequestType.COMPLAINT,
        RequestType.OTHER,
    ],
)
def test_other_types_go_to_the_manager(p, make_request, request_type):
    request = make_request(request_type=request_type)
    assert request.assignee == p.manager
    assert request.team == p.team_a


def test_repair_without_an_engineer_goes_to_the_manager(p, make_request):
    assert make_request(customer=p.a2).assignee == p.manager


def test_customer_without_a_team_stays_new(p, make_request):
    customer = p.a3
    customer.assignments.update(end_date=dt.date(2025, 6, 1))
    request = make_request(customer=customer, user=p.supervisor)
    assert request.assignee is None and request.team is None
    assert request.status == S.NEW
    assert kinds(request) == [EventKind.CREATED]


def test_create_applies_the_sla_policy(make_request, policies):
    request = make_request()
    assert request.sla_policy is not None
    assert request.response_due_at == NOW + dt.timedelta(minutes=60)
    assert request.onsite_due_at == NOW + dt.timedelta(minutes=240)
    assert request.resolution_due_at == NOW + dt.timedelta(days=1)


def test_account_and_metering_point_must_belong_to_the_customer(p, make_request):
    other_account = p.a2.accounts.get()
    with pytest.raises(ValidationError) as error:
        make_request(account=other_account)
    assert "account" in error.value.message_dict
    own_account = p.a1.accounts.get()
    other_point = other_account.metering_points.get()
    with pytest.raises(ValidationError) as error:
        make_request(account=own_account, metering_point=other_point)
    assert "metering_point" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        make_request(metering_point=other_point)
    assert "metering_point" in error.value.message_dict
    request = make_request(metering_point=own_account.metering_points.get())
    assert request.account == own_account
    assert not ServiceRequest.objects.filter(customer=p.a2).exists()


def test_only_staff_who_see_the_customer_log(p, make_request):
    with pytest.raises(PermissionError):
        make_request(user=p.outsider)
    with pytest.raises(PermissionError):
        make_request(user=p.customer_user, customer=p.b1)
    request = make_request(user=p.clerk, request_type=RequestType.BILLING_INQUIRY, channel=Channel.HOTLINE_95598)
    assert request.created_by == p.clerk and request.assignee == p.manager


def test_recent_requests_of_a_customer(p, make_request):
    made = [make_request(now=NOW + dt.timedelta(minutes=i)) for i in range(7)]
    for status in (S.IN_PROGRESS, S.RESOLVED):
        services.request_status(request=made[-1], status=status, user=p.manager, now=NOW + dt.timedelta(hours=1))
    recent = customer_requests_recent(p.a1, p.manager)
    assert len(recent) == 5 and recent[0] == made[-2] and made[-1] not in recent
    assert customer_requests_recent(p.a1, p.outsider) == []


# --- state machine ----------------------------------------------------------------------------------------


def _in_status(request, status):
    fields = {"status": status}
    if status in (S.RESOLVED, S.CLOSED):
        fields["reopen_until"] = NOW + dt.timedelta(days=30)
    ServiceRequest.objects.filter(pk=request.pk).update(**fields)
    request.refresh_from_db()
    return request


@pytest.mark.parametrize("source", S.values)
@pytest.mark.parametrize("target", S.values)
def test_every_transition(p, make_request, source, target):
    request = _in_status(make_request(), source)
    if (source, target) in ALLOWED:
        services.request_status(request=request, status=target, user=p.manager, now=NOW + dt.timedelta(hours=1))
        request.refresh_from_db()
        assert request.status == target
        expected = EventKind.REOPENED if source == S.CLOSED else EventKind.STATUS
        assert kinds(request)[-1] == expected
    else:
        with pytest.raises(ValidationError) as error:
            services.request_status(request=request, status=target, user=p.manager, now=NOW + dt.timedelta(hours=1))
        assert "status" in error.value.message_dict
        request.refresh_from_db()
        assert request.status == source


def test_new_needs_an_assignee_to_become_assigned(p, make_request):
    p.a3.assignments.update(end_date=dt.date(2025, 6, 1))
    request = make_request(customer=p.a3, user=p.supervisor)
    with pytest.raises(ValidationError):
        services.request_status(request=request, status=S.ASSIGNED, user=p.supervisor)
    services.request_assign(request=request, assignee=p.clerk, user=p.supervisor)
    assert request.status == S.ASSIGNED


def test_full_life_sets_the_times(p, make_request):
    request = make_request()
    t = NOW
    services.request_status(request=request, status=S.IN_PROGRESS, user=p.engineer, now=t + dt.timedelta(minutes=10))
    assert request.responded_at == t + dt.timedelta(minutes=10)
    services.request_onsite(request=request, user=p.engineer, at=t + dt.timedelta(minutes=50))
    assert request.onsite_at == t + dt.timedelta(minutes=50)
    services.request_status(request=request, status=S.RESOLVED, user=p.engineer, now=t + dt.timedelta(hours=3))
    assert request.resolved_at == t + dt.timedelta(hours=3)
    assert request.reopen_until == t + dt.timedelta(hours=3, days=7)
    services.request_status(request=request, status=S.CLOSED, user=p.manager, now=t + dt.timedelta(hours=4))
    request.refresh_from_db()
    assert request.closed_at == t + dt.timedelta(hours=4)
    assert request.reopen_until == t + dt.timedelta(hours=4, days=7)
    states = {target.target: target.state for target in sla_targets(request, t + dt.timedelta(hours=5))}
    assert states == {"response": "met", "onsite": "met", "resolution": "met"}


def test_first_reply_counts_as_the_response(p, make_request):
    request = make_request()
    services.request_reply(request=request, user=p.engineer, body="已派人", now=NOW + dt.timedelta(minutes=5))
    services.request_reply(request=request, user=p.engineer, body="已到场", now=NOW + dt.timedelta(minutes=30))
    request.refresh_from_db()
    assert request.responded_at == NOW + dt.timedelta(minutes=5)
    services.request_status(request=request, status=S.IN_PROGRESS, user=p.engineer, now=NOW + dt.timedelta(hours=1))
    assert request.responded_at == NOW + dt.timedelta(minutes=5)


@pytest.mark.parametrize("done", [S.RESOLVED, S.CLOSED])
def test_reopen_window_boundary(p, make_request, settings, done):
    settings.GRIDKAM = {**settings.GRIDKAM, "REQUEST_REOPEN_DAYS": 7}
    request = make_request()
    services.request_status(request=request, status=S.IN_PROGRESS, user=p.engineer, now=NOW)
    services.request_status(request=request, status=S.RESOLVED, user=p.engineer, now=NOW)
    if done == S.CLOSED:
        services.request_status(request=request, status=S.CLOSED, user=p.engineer, now=NOW)
    edge = NOW + dt.timedelta(days=7)
    late = edge + dt.timedelta(seconds=1)
    assert services.can_reopen(request, now=edge) and not services.can_reopen(request, now=late)
    with pytest.raises(ValidationError):
        services.request_reopen(request=request, user=p.manager, now=late)
    services.request_reopen(request=request, user=p.manager, reason="又跳闸了", now=edge)
    request.refresh_from_db()
    assert request.status == S.IN_PROGRESS
    assert request.resolved_at is None and request.closed_at is None and request.reopen_until is None
    assert kinds(request)[-1] == EventKind.REOPENED


def test_closed_cannot_reopen_after_the_window_through_status(p, make_request):
    request = make_request()
    for status in (S.IN_PROGRESS, S.RESOLVED, S.CLOSED):
        services.request_status(request=request, status=status, user=p.engineer, now=NOW)
    with pytest.raises(ValidationError):
        services.request_status(request=request, status=S.IN_PROGRESS, user=p.engineer, now=NOW + dt.timedelta(days=8))


def test_open_request_cannot_be_reopened(p, make_request):
    with pytest.raises(ValidationError):
        services.request_reopen(request=make_request(), user=p.manager, now=NOW)


# --- pauses -----------------------------------------------------------------------------------------------


def test_waiting_for_the_customer_pauses_the_clock(p, make_request, monkeypatch):
    from gridkam.servicedesk import sla

    calls = []
    real_resume = sla.sla_resume
    monkeypatch.setattr(sla, "sla_resume", lambda request, *, now: calls.append(now) or real_resume(request, now=now))
    request = make_request()
    due = request.resolution_due_at
    services.request_status(request=request, status=S.IN_PROGRESS, user=p.engineer, now=NOW)
    start = NOW + dt.timedelta(hours=1)
    services.request_status(request=request, status=S.WAITING_CUSTOMER, user=p.engineer, now=start)
    assert request.paused_at == start
    pause = RequestPause.objects.get(request=request)
    assert pause.started_at == start and pause.ended_at is None
    assert {t.target: t.state for t in sla_targets(request, start)}["resolution"] == "paused"
    end = start + dt.timedelta(hours=2)
    services.request_status(request=request, status=S.IN_PROGRESS, user=p.engineer, now=end)
    request.refresh_from_db()
    pause.refresh_from_db()
    assert pause.ended_at == end and request.paused_at is None
    assert calls == [end]
    assert request.resolution_due_at == due + dt.timedelta(hours=2)
    # A second pause is recorded apart.
    services.request_status(
        request=request, status=S.WAITING_CUSTOMER, user=p.engineer, now=end + dt.timedelta(hours=1)
    )
    services.request_status(request=request, status=S.IN_PROGRESS, user=p.engineer, now=end + dt.timedelta(hours=2))
    assert RequestPause.objects.filter(request=request, ended_at__isnull=False).count() == 2
    assert len(calls) == 2


# --- assignment and handover ------------------------------------------------------------------------------


def test_handover_needs_a_reason(p, make_request):
    request = make_request()
    with pytest.raises(ValidationError) as error:
        services.request_handover(request=request, to_user=p.colleague, user=p.manager, reason="  ")
    assert "reason" in error.value.message_dict
    request.refresh_from_db()
    assert request.assignee == p.engineer


@pytest.mark.parametrize("name", ["outsider", "customer_user"])
def test_handover_only_to_staff_who_see_the_customer(p, make_request, name):
    request = make_request()
    with pytest.raises(ValidationError) as error:
        services.request_handover(request=request, to_user=getattr(p, name), user=p.manager, reason="出差")
    assert "to_user" in error.value.message_dict


def test_handover_records_from_to_and_reason(p, make_request):
    request = make_request()
    services.request_handover(request=request, to_user=p.colleague, user=p.manager, reason="赵工出差", now=NOW)
    request.refresh_from_db()
    assert request.assignee == p.colleague
    event = RequestEvent.objects.get(request=request, kind=EventKind.HANDOVER)
    assert event.internal
    assert event.data["from"] == p.engineer.pk and event.data["to"] == p.colleague.pk
    assert event.data["reason"] == "赵工出差" and event.actor == p.manager


@pytest.mark.parametrize("name", ["engineer", "manager", "colleague", "supervisor", "admin"])
def test_who_may_act(p, make_request, name):
    request = make_request()
    services.request_note(request=request, user=getattr(p, name), body="记录")


@pytest.mark.parametrize("name", ["clerk", "outsider", "customer_user"])
def test_who_may_not_act(p, make_request, name):
    request = make_request()
    with pytest.raises(PermissionError):
        services.request_note(request=request, user=getattr(p, name), body="记录")
    with pytest.raises(PermissionError):
        services.request_status(request=request, status=S.IN_PROGRESS, user=getattr(p, name))
    with pytest.raises(PermissionError):
        services.request_handover(request=request, to_user=p.colleague, user=getattr(p, name), reason="x")


def test_the_assignee_may_act(p, make_request):
    request = make_request(request_type=RequestType.BILLING_INQUIRY)
    services.request_assign(request=request, assignee=p.clerk, user=p.manager, reason="电费核对")
    services.request_reply(request=request, user=p.clerk, body="已核对")


def test_onsite_only_once_and_not_before_logging(p, make_request):
    request = make_request()
    with pytest.raises(ValidationError):
        services.request_onsite(request=request, user=p.engineer, at=NOW - dt.timedelta(hours=1))
    services.request_onsite(request=request, user=p.engineer, at=NOW + dt.timedelta(minutes=30))
    with pytest.raises(ValidationError):
        services.request_onsite(request=request, user=p.engineer, at=NOW + dt.timedelta(minutes=40))
    assert kinds(request)[-1] == EventKind.ONSITE


# --- replies, notes, attachments --------------------------------------------------------------------------


def test_reply_is_visible_and_note_internal(p, make_request):
    request = make_request()
    reply = services.request_reply(request=request, user=p.engineer, body="明早到场", attachments=[png()])
    note = services.request_note(request=request, user=p.engineer, body="备件不足", attachments=[pdf()])
    assert not reply.internal and note.internal
    assert RequestAttachment.objects.get(event=reply).content_type == "image/png"
    attachment = RequestAttachment.objects.get(event=note)
    assert attachment.internal and attachment.content_type == "application/pdf"
    assert attachment.file.read().startswith(b"%PDF")
    visible = RequestEvent.objects.visible_to(p.customer_user).filter(request=request)
    assert note.pk not in set(visible.values_list("pk", flat=True))
    assert reply.pk in set(visible.values_list("pk", flat=True))


def test_empty_body_refused(p, make_request):
    with pytest.raises(ValidationError) as error:
        services.request_note(request=make_request(), user=p.engineer, body=" ")
    assert "body" in error.value.message_dict


def test_renamed_executable_refused(p, make_request):
    request = make_request()
    with pytest.raises(ValidationError) as error:
        services.request_reply(request=request, user=p.engineer, body="附件", attachments=[exe_as_png()])
    assert "attachments" in error.value.message_dict
    assert not RequestAttachment.objects.exists()
    assert not RequestEvent.objects.filter(kind=EventKind.REPLY).exists()


def test_too_large_refused(p, make_request, settings):
    settings.GRIDKAM = {**settings.GRIDKAM, "REQUEST_ATTACHMENT_MAX_MB": 0.00001}  # about 10 bytes
    with pytest.raises(ValidationError) as error:
        services.request_note(request=make_request(), user=p.engineer, body="附件", attachments=[png()])
    assert "attachments" in error.value.message_dict


def test_attachments_on_create(p, make_request):
    request = make_request(attachments=[png(), pdf()])
    assert RequestAttachment.objects.filter(request=request, internal=False).count() == 2
    with pytest.raises(ValidationError):
        make_request(attachments=[exe_as_png()])
    assert ServiceRequest.objects.count() == 1


def test_priority_and_channel_stored(p, make_request):
    request = make_request(priority=Priority.URGENT, channel=Channel.HOTLINE_95598)
    assert (request.priority, request.channel) == (Priority.URGENT, Channel.HOTLINE_95598)


def test_assignment_of_engineer_on_a2_changes_routing(p, make_request):
    assignment_set(customer=p.a2, role=AssignmentRole.FIELD_ENGINEER, user=p.engineer, start_date=dt.date(2025, 1, 1))
    assert make_request(customer=p.a2).assignee == p.engineer


def test_a_closed_request_takes_no_reply_or_note_until_reopened(p, make_request):
    request = make_request()
    later = NOW + dt.timedelta(hours=1)
    for status in (RequestStatus.IN_PROGRESS, RequestStatus.RESOLVED, RequestStatus.CLOSED):
        services.request_status(request=request, status=status, user=p.manager, now=later)
    for write in (services.request_reply, services.request_note):
        with pytest.raises(ValidationError) as error:
            write(request=request, user=p.manager, body="x", now=later)
        assert "body" in error.value.message_dict


# --- the customer's rating ------------------------------------------------------------------------------


def _resolved(make_request, p):
    request = make_request()
    for status in (S.ASSIGNED, S.IN_PROGRESS, S.RESOLVED):
        if status == S.ASSIGNED and request.status == S.ASSIGNED:
            continue
        services.request_status(request=request, status=status, user=p.manager, now=NOW)
    return request


def test_the_customer_rates_a_resolved_request_once(p, make_request):
    request = _resolved(make_request, p)
    assert services.can_rate(request)
    services.request_rate(request=request, user=p.customer_user, score=4, comment="  及时  ", now=NOW)
    request.refresh_from_db()
    assert request.satisfaction == 4 and not services.can_rate(request)
    event = RequestEvent.objects.get(request=request, kind=EventKind.RATED)
    assert event.body == "及时" and event.data == {"score": 4} and not event.internal
    with pytest.raises(ValidationError) as error:
        services.request_rate(request=request, user=p.customer_user, score=1, now=NOW)
    assert "score" in error.value.message_dict
    request.refresh_from_db()
    assert request.satisfaction == 4


@pytest.mark.parametrize("score", [0, 6, "5", None, True])
def test_a_rating_is_a_whole_number_from_1_to_5(p, make_request, score):
    request = _resolved(make_request, p)
    with pytest.raises(ValidationError) as error:
        services.request_rate(request=request, user=p.customer_user, score=score, now=NOW)
    assert "score" in error.value.message_dict
    assert ServiceRequest.objects.get(pk=request.pk).satisfaction is None


def test_an_open_request_is_not_rated_and_a_long_comment_is_refused(p, make_request):
    request = make_request()
    with pytest.raises(ValidationError) as error:
        services.request_rate(request=request, user=p.customer_user, score=5, now=NOW)
    assert "score" in error.value.message_dict
    request = _resolved(make_request, p)
    with pytest.raises(ValidationError) as error:
        services.request_rate(request=request, user=p.customer_user, score=5, comment="长" * 1001, now=NOW)
    assert "comment" in error.value.message_dict


def test_only_the_customers_own_portal_users_rate(p, make_request):
    from gridkam.core.testing import make_user
    from gridkam.users.choices import Role

    request = _resolved(make_request, p)
    stranger = make_user("b1-portal", role=Role.CUSTOMER_USER, customer=p.b1)
    for user in (p.manager, p.admin, stranger):
        with pytest.raises(PermissionError):
            services.request_rate(request=request, user=user, score=5, now=NOW)
    assert ServiceRequest.objects.get(pk=request.pk).satisfaction is None


# --- the customer's own messages and requests (portal) -------------------------------------------------------


def test_portal_users_log_for_the_customers_they_see(p, make_request):
    assert make_request(user=p.customer_user, customer=p.a1_sub).created_by == p.customer_user


def test_customer_reply_is_public_and_is_not_our_response(p, make_request):
    request = make_request()
    event = services.request_customer_reply(request=request, user=p.customer_user, body="补充照片", attachments=[png()])
    assert event.kind == EventKind.CUSTOMER_REPLY and not event.internal and event.attachments.count() == 1
    request.refresh_from_db()
    assert request.responded_at is None
    with pytest.raises(PermissionError):  # staff reply with request_reply
        services.request_customer_reply(request=request, user=p.manager, body="x")
    with pytest.raises(ValidationError):
        services.request_customer_reply(request=request, user=p.customer_user, body=" ")


def test_another_customers_user_cannot_write_on_the_request(p, make_request):
    from gridkam.core.testing import make_user
    from gridkam.users.choices import Role

    other = make_user("b1-writer", role=Role.CUSTOMER_USER, customer=p.b1)
    with pytest.raises(PermissionError):
        services.request_customer_reply(request=make_request(), user=other, body="x")


def test_a_customers_message_on_its_request_tells_the_holder(p, make_request):
    from gridkam.engagement.choices import NotificationEvent
    from gridkam.engagement.models import Notification

    request = make_request()
    event = services.request_customer_reply(request=request, user=p.customer_user, body="现场还是跳闸", now=NOW)
    assert event.kind == EventKind.CUSTOMER_REPLY and not event.internal
    request.refresh_from_db()
    assert request.responded_at is None  # not a response of ours
    note = Notification.objects.get(event=NotificationEvent.REQUEST_CUSTOMER_REPLY)
    assert note.recipient == request.assignee and request.number in note.title
    with pytest.raises(PermissionError):
        services.request_customer_reply(request=request, user=p.manager, body="x", now=NOW)


def test_a_customers_answer_to_a_waiting_request_puts_it_back_in_progress(p, make_request):
    request = make_request()
    services.request_status(request=request, status=S.IN_PROGRESS, user=p.engineer, now=NOW)
    later = NOW + dt.timedelta(hours=1)
    services.request_status(request=request, status=S.WAITING_CUSTOMER, user=p.engineer, now=later)
    answered = later + dt.timedelta(hours=2)
    services.request_customer_reply(request=request, user=p.customer_user, body="照片已补充", now=answered)
    request.refresh_from_db()
    assert request.status == S.IN_PROGRESS and request.paused_at is None
    pause = RequestPause.objects.get(request=request)
    assert pause.started_at == later and pause.ended_at == answered
    assert kinds(request)[-2:] == [EventKind.CUSTOMER_REPLY, EventKind.STATUS]
