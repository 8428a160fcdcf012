"""Outage services: lead-time checks of the public commitments, announcing (and again, without duplicates), delivery to
contacts by e-mail and SMS and in the app, acknowledgements, actual times, cancelling and follow-ups."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from gridkam.core.testing import make_contact
from gridkam.engagement.choices import NotificationEvent
from gridkam.engagement.models import Notification

from ..choices import AckChannel, FollowUpKind, OutageKind, OutageStatus
from ..models import Outage, OutageNotice
from ..services import (
    lead_time_late,
    notice_acknowledge,
    notice_follow_up,
    outage_announce,
    outage_cancel,
    outage_record_actual,
    outage_save,
)
from .support import DAY, outage

HOUR = dt.timedelta(hours=1)
NOW = timezone.make_aware(dt.datetime(2026, 3, 2, 9, 0))


# --- Lead times ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "ahead", "important", "late"),
    [
        (OutageKind.PLANNED, 7 * DAY, False, False),
        (OutageKind.PLANNED, 7 * DAY - HOUR, False, True),
        (OutageKind.PLANNED, 6 * DAY, True, True),
        (OutageKind.MAINTENANCE, 24 * HOUR, True, False),
        (OutageKind.MAINTENANCE, 23 * HOUR, True, True),
        (OutageKind.MAINTENANCE, 2 * HOUR, False, False),
        (OutageKind.FAULT, dt.timedelta(0), True, False),
    ],
)
def test_lead_times_of_the_commitments(kind, ahead, important, late):
    assert lead_time_late(kind=kind, start=NOW + ahead, now=NOW, important=important) is late


def test_lead_times_follow_the_settings(settings):
    settings.GRIDKAM = {**settings.GRIDKAM, "OUTAGE_PLANNED_LEAD_DAYS": 3, "OUTAGE_IMPORTANT_LEAD_HOURS": 48}
    assert not lead_time_late(kind=OutageKind.PLANNED, start=NOW + 4 * DAY, now=NOW, important=False)
    assert lead_time_late(kind=OutageKind.MAINTENANCE, start=NOW + 30 * HOUR, now=NOW, important=True)


def test_a_late_planned_outage_needs_a_reason_and_is_recorded_as_a_breach(p, grid):
    out = outage([grid.f1], user=p.supervisor, start=timezone.now() + 3 * DAY)
    with pytest.raises(ValidationError) as exc:
        outage_announce(outage=out, user=p.supervisor)
    assert "late_reason" in exc.value.message_dict
    assert not OutageNotice.objects.exists()
    summary = outage_announce(outage=out, user=p.supervisor, late_reason="上级调度临时安排")
    assert summary["late"] == 2
    out.refresh_from_db()
    assert out.lead_breach and out.late_reason == "上级调度临时安排" and out.status == OutageStatus.ANNOUNCED
    assert set(OutageNotice.objects.values_list("late", flat=True)) == {True}


def test_temporary_maintenance_is_late_only_for_important_users(p, grid):
    out = outage([grid.f1], user=p.supervisor, kind=OutageKind.MAINTENANCE, start=timezone.now() + 5 * HOUR)
    with pytest.raises(ValidationError):
        outage_announce(outage=out, user=p.supervisor)
    outage_announce(outage=out, user=p.supervisor, late_reason="设备缺陷需紧急处理")
    late = dict(OutageNotice.objects.values_list("customer_id", "late"))
    assert late == {p.a2.pk: True, p.a1.pk: False}
    # Told a day ahead, nobody is late.
    ahead = outage([grid.f2], user=p.supervisor, kind=OutageKind.MAINTENANCE, start=timezone.now() + 25 * HOUR)
    assert outage_announce(outage=ahead, user=p.supervisor)["late"] == 0


# --- Announcing -----------------------------------------------------------------------------------------------


def test_announcing_creates_one_notice_per_affected_customer_and_tells_everyone(
    p, grid, django_capture_on_commit_callbacks
):
    make_contact(customer=p.a2, name="石化电工", email="dg@example.com", phone="13900000001")
    out = outage([grid.f1], user=p.supervisor)
    with mock.patch("gridkam.engagement.sms.LoggingSmsBackend.send_messages", autospec=True) as send:
        send.side_effect = lambda self, messages: [(True, "")] * len(messages)
        with django_capture_on_commit_callbacks(execute=True):
            summary = outage_announce(outage=out, user=p.supervisor)
    assert summary == {"notices": 2, "created": 2, "updated": 0, "unchanged": 0, "late": 0, "withdrawn": 0}
    a2 = OutageNotice.objects.get(customer=p.a2)
    assert a2.backup_available and a2.importance_class == "first" and a2.version == 1
    assert [m.to for m in mail.outbox] == [["dg@example.com"]]
    assert "计划停电" in mail.outbox[0].subject or "Planned" in mail.outbox[0].subject
    phones = [m.phone for m in send.call_args.args[1]]
    assert "13900000001" in phones
    assert {(d["channel"], d["ok"]) for d in a2.deliveries} == {("email", True), ("sms", True)}
    told = set(Notification.objects.filter(event=NotificationEvent.OUTAGE_NOTICE).values_list("recipient", flat=True))
    # A1's portal user and the account manager of A1 and A2; not the supervisor who announced it.
    assert told == {p.customer_user.pk, p.manager.pk}
    link = Notification.objects.get(recipient=p.customer_user).link
    assert link == "/outages/portal/"


def test_announcing_again_without_a_change_sends_nothing_new(p, grid):
    out = outage([grid.f1], user=p.supervisor)
    outage_announce(outage=out, user=p.supervisor)
    before = Notification.objects.count()
    assert outage_announce(outage=out, user=p.supervisor) == {
        "notices": 2,
        "created": 0,
        "updated": 0,
        "unchanged": 2,
        "late": 0,
        "withdrawn": 0,
    }
    assert OutageNotice.objects.count() == 2 and Notification.objects.count() == before


def test_a_changed_time_sends_an_updated_notice_and_asks_again(p, grid):
    out = outage([grid.f1], user=p.supervisor)
    outage_announce(outage=out, user=p.supervisor)
    notice = OutageNotice.objects.get(customer=p.a1)
    notice_acknowledge(notice=notice, user=p.customer_user)
    out.planned_start += DAY
    out.planned_end += DAY
    outage_save(outage=out, feeders=[grid.f1, grid.f3], user=p.supervisor)
    summary = outage_announce(outage=out, user=p.supervisor)
    assert summary == {"notices": 3, "created": 1, "updated": 2, "unchanged": 0, "late": 0, "withdrawn": 0}
    notice.refresh_from_db()
    assert notice.version == 2 and notice.acknowledged_at is None and notice.planned_start == out.planned_start
    assert OutageNotice.objects.filter(outage=out).count() == 3
    titles = list(Notification.objects.filter(recipient=p.customer_user).values_list("title", flat=True))
    assert len(titles) == 3  # A1 first, then A1 changed and A1-sub (in the portal user's scope)


def test_only_planners_announce_and_only_drafts_or_announced(p, grid):
    out = outage([grid.f1], user=p.supervisor)
    with pytest.raises(PermissionError):
        outage_announce(outage=out, user=p.manager)
    with pytest.raises(PermissionError):
        outage([grid.f1], user=p.manager)
    outage_cancel(outage=out, reason="天气原因", user=p.supervisor)
    with pytest.raises(ValidationError):
        outage_announce(outage=out, user=p.supervisor)


def test_feeders_of_another_unit_are_refused(p, grid):
    with pytest.raises(ValidationError) as exc:
        outage([grid.fb], user=p.supervisor)
    assert "feeders" in exc.value.message_dict


def test_the_window_must_end_after_it_starts(p, grid):
    start = timezone.now() + 10 * DAY
    with pytest.raises(ValidationError) as exc:
        outage_save(
            outage=Outage(kind=OutageKind.PLANNED, planned_start=start, planned_end=start, reason="检修"),
            feeders=[grid.f1],
            user=p.supervisor,
        )
    assert "planned_end" in exc.value.message_dict


def test_cancelling_tells_the_customers(p, grid):
    out = outage([grid.f1], user=p.supervisor)
    outage_announce(outage=out, user=p.supervisor)
    outage_cancel(outage=out, reason="天气原因", user=p.supervisor)
    titles = list(Notification.objects.filter(recipient=p.customer_user).order_by("pk").values_list("title", flat=True))
    assert len(titles) == 2 and ("取消" in titles[1] or "Cancelled" in titles[1])


# --- Acknowledgements -----------------------------------------------------------------------------------------


def test_portal_users_acknowledge_their_own_notices_once(p, grid):
    out = outage([grid.f1], user=p.supervisor)
    outage_announce(outage=out, user=p.supervisor)
    mine, theirs = OutageNotice.objects.get(customer=p.a1), OutageNotice.objects.get(customer=p.a2)
    with pytest.raises(PermissionError):
        notice_acknowledge(notice=theirs, user=p.customer_user)
    first = notice_acknowledge(notice=mine, user=p.customer_user)
    assert first.ack_channel == AckChannel.PORTAL and first.acknowledged_by == p.customer_user
    again = notice_acknowledge(notice=mine, user=p.customer_user, now=timezone.now() + DAY)
    assert again.acknowledged_at == first.acknowledged_at


def test_staff_record_phone_acknowledgements_with_who_confirmed(p, grid):
    out = outage([grid.f1], user=p.supervisor)
    outage_announce(outage=out, user=p.supervisor)
    notice = OutageNotice.objects.get(customer=p.a2)
    with pytest.raises(ValidationError):
        notice_acknowledge(notice=notice, user=p.manager)
    with pytest.raises(PermissionError):
        notice_acknowledge(notice=notice, user=p.outsider, person="张工")
    done = notice_acknowledge(notice=notice, user=p.manager, person="张工")
    assert (done.ack_channel, done.ack_person) == (AckChannel.PHONE, "张工")


# --- After the event ------------------------------------------------------------------------------------------


def test_actual_times_give_the_duration(p, grid):
    out = outage([grid.f1], user=p.supervisor, kind=OutageKind.FAULT, start=timezone.now() - 5 * HOUR)
    start = timezone.now() - 4 * HOUR
    outage_record_actual(outage=out, actual_start=start, user=p.supervisor)
    assert out.status == OutageStatus.IN_PROGRESS and out.duration_minutes is None
    outage_record_actual(
        outage=out, actual_start=start, actual_end=start + 95 * dt.timedelta(minutes=1), user=p.supervisor
    )
    out.refresh_from_db()
    assert out.status == OutageStatus.FINISHED and out.duration_minutes == 95
    with pytest.raises(ValidationError) as exc:
        outage_record_actual(outage=out, actual_start=start, actual_end=start - HOUR, user=p.supervisor)
    assert "actual_end" in exc.value.message_dict


def _finished_fault(p, grid) -> Outage:
    out = outage([grid.f1], user=p.supervisor, kind=OutageKind.FAULT, start=timezone.now() - 5 * HOUR)
    outage_announce(outage=out, user=p.supervisor)
    start = timezone.now() - 4 * HOUR
    return outage_record_actual(outage=out, actual_start=start, actual_end=start + 2 * HOUR, user=p.supervisor)


def test_a_hurt_customer_gets_a_follow_up_request_linked_to_the_notice(p, grid):
    _finished_fault(p, grid)
    notice = OutageNotice.objects.get(customer=p.a2)
    done = notice_follow_up(notice=notice, kind=FollowUpKind.REQUEST, description="停电导致生产线报废", user=p.manager)
    request = done.follow_up_request
    assert done.hurt and request.customer == p.a2 and request.priority == "high" and request.assignee == p.manager
    with pytest.raises(ValidationError):
        notice_follow_up(notice=notice, kind=FollowUpKind.VISIT, description="再次", user=p.manager)


def test_a_follow_up_visit_is_recorded(p, grid):
    _finished_fault(p, grid)
    notice = OutageNotice.objects.get(customer=p.a1)
    with pytest.raises(ValidationError) as exc:
        notice_follow_up(notice=notice, kind=FollowUpKind.VISIT, description="设备受损", user=p.manager)
    assert "visited_on" in exc.value.message_dict
    done = notice_follow_up(
        notice=notice, kind=FollowUpKind.VISIT, description="设备受损", visited_on=timezone.localdate(), user=p.manager
    )
    assert done.follow_up_visit.customer == p.a1 and done.follow_up_visit.findings == "设备受损"


def test_no_follow_up_before_the_outage_happened_or_by_outsiders(p, grid):
    out = outage([grid.f1], user=p.supervisor)
    outage_announce(outage=out, user=p.supervisor)
    notice = OutageNotice.objects.get(customer=p.a1)
    with pytest.raises(ValidationError):
        notice_follow_up(notice=notice, kind=FollowUpKind.REQUEST, description="x", user=p.manager)
    with pytest.raises(PermissionError):
        notice_follow_up(notice=notice, kind=FollowUpKind.REQUEST, description="x", user=p.outsider)
