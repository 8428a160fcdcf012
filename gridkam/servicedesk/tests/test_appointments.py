"""VIP desk appointments: slots (lunch breaks, the statutory calendar, the past, taken desks), booking rules,
state transitions and reminders."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from gridkam.core.services import statutory_days_load
from gridkam.engagement.models import Task
from gridkam.servicedesk import appointments as svc
from gridkam.servicedesk.models import Appointment, AppointmentStatus, Desk, OpeningHours, ServiceHall

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = dt.date(2026, 3, 16)
EARLIER = dt.datetime(2026, 3, 9, 9, 0, tzinfo=SHANGHAI)  # a week before: every slot of MONDAY is ahead


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def hall(p):
    """A hall of city A with two desks (and an inactive one), open 9–12 and 13:30–17 Monday to Friday and
    9–12 on Saturdays (ordinary Saturdays are not working days, so those rows are never used)."""
    hall = ServiceHall.objects.create(name="惠城营业厅", org_unit=p.city_a, address="惠城区1号", phone="0752-1")
    Desk.objects.bulk_create(
        [Desk(hall=hall, name="专席1"), Desk(hall=hall, name="专席2"), Desk(hall=hall, name="专席3", active=False)]
    )
    rows = []
    for weekday in range(5):
        rows += [
            OpeningHours(hall=hall, weekday=weekday, opens=dt.time(9), closes=dt.time(12)),
            OpeningHours(hall=hall, weekday=weekday, opens=dt.time(13, 30), closes=dt.time(17)),
        ]
    rows.append(OpeningHours(hall=hall, weekday=5, opens=dt.time(9), closes=dt.time(11)))
    OpeningHours.objects.bulk_create(rows)
    return hall


def desk(hall, name="专席1") -> Desk:
    return Desk.objects.get(hall=hall, name=name)


def book(p, hall, start, *, user=None, length=30, name="专席1", now=EARLIER, customer=None):
    return svc.appointment_book(
        desk=desk(hall, name),
        customer=customer or p.a1,
        starts_at=start,
        length=length,
        topic="电费账单咨询",
        user=user or p.manager,
        now=now,
    )


def test_slots_follow_the_opening_hours_around_the_lunch_break(p, hall):
    rows = svc.slots(hall, MONDAY, 30, now=EARLIER)
    assert [row.desk.name for row in rows] == ["专席1", "专席2"]  # the inactive desk takes none
    starts = [timezone_hm(s) for s, _e in rows[0].slots]
    assert starts[:6] == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert starts[6] == "13:30" and starts[-1] == "16:30"
    assert "12:00" not in starts and "13:00" not in starts
    assert len(starts) == 6 + 7
    # 45-minute slots: only whole ones before each closing time.
    long = [timezone_hm(s) for s, _e in svc.slots(hall, MONDAY, 45, now=EARLIER)[0].slots]
    assert long == ["09:00", "09:45", "10:30", "11:15", "13:30", "14:15", "15:00", "15:45"]


def timezone_hm(moment: dt.datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%H:%M")


def test_no_slots_on_a_statutory_holiday_nor_an_ordinary_weekend(p, hall):
    statutory_days_load(years=[2026])
    now = dt.datetime(2026, 2, 1, 9, tzinfo=SHANGHAI)
    assert all(not row.slots for row in svc.slots(hall, dt.date(2026, 2, 17), now=now))  # Spring Festival, Tuesday
    assert all(not row.slots for row in svc.slots(hall, dt.date(2026, 2, 7), now=now))  # an ordinary Saturday


def test_a_make_up_working_saturday_uses_mondays_hours(p, hall):
    statutory_days_load(years=[2026])
    now = dt.datetime(2026, 2, 1, 9, tzinfo=SHANGHAI)
    rows = svc.slots(hall, dt.date(2026, 2, 14), now=now)  # 调休: a working Saturday
    starts = [timezone_hm(s) for s, _e in rows[0].slots]
    assert len(starts) == 13 and starts[0] == "09:00" and starts[-1] == "16:30"
    appointment = book(p, hall, at(dt.date(2026, 2, 14), 15), now=now)
    assert appointment.status == AppointmentStatus.BOOKED
    with pytest.raises(ValidationError) as error:
        book(p, hall, at(dt.date(2026, 2, 17), 10), now=now)
    assert "starts_at" in error.value.message_dict


def test_past_slots_are_neither_offered_nor_bookable(p, hall):
    now = at(MONDAY, 10, 10)
    starts = [timezone_hm(s) for s, _e in svc.slots(hall, MONDAY, now=now)[0].slots]
    assert starts[0] == "10:30"
    with pytest.raises(ValidationError) as error:
        book(p, hall, at(MONDAY, 10), now=now)
    assert "starts_at" in error.value.message_dict


def test_booking_takes_the_slot_and_a_double_booking_is_refused(p, hall):
    book(p, hall, at(MONDAY, 10))
    rows = {row.desk.name: [timezone_hm(s) for s, _e in row.slots] for row in svc.slots(hall, MONDAY, now=EARLIER)}
    assert "10:00" not in rows["专席1"] and "10:00" in rows["专席2"]
    for start, length in ((at(MONDAY, 10), 30), (at(MONDAY, 9, 45), 30), (at(MONDAY, 9, 30), 60)):
        with pytest.raises(ValidationError) as error:
            book(p, hall, start, length=length, customer=p.a2)
        assert "starts_at" in error.value.message_dict
    book(p, hall, at(MONDAY, 10), name="专席2")  # another desk is free
    book(p, hall, at(MONDAY, 10, 30))  # right after
    assert Appointment.objects.count() == 3


def test_a_cancelled_appointment_frees_its_slot(p, hall):
    appointment = book(p, hall, at(MONDAY, 10))
    svc.appointment_cancel(appointment=appointment, user=p.manager, now=EARLIER)
    book(p, hall, at(MONDAY, 10), customer=p.a2)


@pytest.mark.parametrize(
    "start,length",
    [
        (dt.datetime(2026, 3, 16, 11, 45, tzinfo=SHANGHAI), 30),  # runs into the lunch break
        (dt.datetime(2026, 3, 16, 8, 30, tzinfo=SHANGHAI), 30),  # before opening
        (dt.datetime(2026, 3, 16, 16, 45, tzinfo=SHANGHAI), 30),  # after closing
        (dt.datetime(2026, 3, 21, 9, 0, tzinfo=SHANGHAI), 30),  # an ordinary Saturday
    ],
)
def test_booking_outside_the_opening_hours_is_refused(p, hall, start, length):
    with pytest.raises(ValidationError) as error:
        book(p, hall, start, length=length)
    assert "starts_at" in error.value.message_dict


def test_booking_checks_the_length_topic_account_and_desk(p, hall):
    with pytest.raises(ValidationError) as error:
        book(p, hall, at(MONDAY, 10), length=5)
    assert "length" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        svc.appointment_book(
            desk=desk(hall), customer=p.a1, starts_at=at(MONDAY, 10), topic=" ", user=p.manager, now=EARLIER
        )
    assert "topic" in error.value.message_dict
    other_account = p.b1.accounts.first()
    with pytest.raises(ValidationError) as error:
        svc.appointment_book(
            desk=desk(hall),
            customer=p.a1,
            account=other_account,
            starts_at=at(MONDAY, 10),
            topic="x",
            user=p.manager,
            now=EARLIER,
        )
    assert "account" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        book(p, hall, at(MONDAY, 10), name="专席3")
    assert "desk" in error.value.message_dict


def test_only_users_who_see_the_customer_book(p, hall):
    with pytest.raises(PermissionDenied):
        book(p, hall, at(MONDAY, 10), user=p.outsider)
    for user in (p.customer_user, p.colleague, p.engineer, p.clerk, p.supervisor, p.admin):
        Appointment.objects.all().delete()
        assert book(p, hall, at(MONDAY, 10), user=user).booked_by == user


def test_state_transitions(p, hall):
    started = at(MONDAY, 10, 5)
    done = book(p, hall, at(MONDAY, 10))
    with pytest.raises(ValidationError):  # not started yet
        svc.appointment_complete(appointment=done, user=p.manager, notes="x", now=EARLIER)
    svc.appointment_complete(appointment=done, user=p.manager, notes="已解释峰谷电价", now=started)
    done.refresh_from_db()
    assert done.status == AppointmentStatus.COMPLETED and done.notes == "已解释峰谷电价"
    for change in (svc.appointment_cancel, svc.appointment_no_show):
        with pytest.raises(ValidationError) as error:
            change(appointment=done, user=p.manager, now=started)
        assert "status" in error.value.message_dict
    missed = book(p, hall, at(MONDAY, 10), name="专席2")
    with pytest.raises(PermissionDenied):
        svc.appointment_no_show(appointment=missed, user=p.outsider, now=started)
    svc.appointment_no_show(appointment=missed, user=p.engineer, now=started)
    assert Appointment.objects.get(pk=missed.pk).status == AppointmentStatus.NO_SHOW
    # A completed appointment keeps its slot; a no-show frees it for nobody (it was in the past anyway).
    assert "10:00" not in [timezone_hm(s) for s, _e in svc.slots(hall, MONDAY, now=EARLIER)[0].slots]


def test_reminders_once_for_the_manager_and_the_booking_user(p, hall):
    tomorrow = book(p, hall, at(MONDAY, 10), user=p.engineer)
    by_manager = book(p, hall, at(MONDAY, 14), name="专席2")
    later = book(p, hall, at(dt.date(2026, 3, 18), 10))
    cancelled = book(p, hall, at(MONDAY, 11))
    svc.appointment_cancel(appointment=cancelled, user=p.manager, now=EARLIER)
    now = at(dt.date(2026, 3, 15), 15)
    summary = svc.appointment_reminders_send(now)
    assert summary["appointments"] == 2 and summary["tasks"] == 3
    tasks = Task.objects.filter(source=svc.REMINDER_SOURCE)
    assert sorted((t.assignee.username, t.customer_id) for t in tasks) == sorted(
        [("manager", p.a1.pk), ("engineer", p.a1.pk), ("manager", p.a1.pk)]
    )
    assert {t.due_date for t in tasks} == {MONDAY}
    assert all(t.link.startswith("/service/appointments/") for t in tasks)
    assert Appointment.objects.get(pk=tomorrow.pk).reminded_at == now
    assert Appointment.objects.get(pk=by_manager.pk).reminded_at == now
    assert Appointment.objects.get(pk=later.pk).reminded_at is None
    assert svc.appointment_reminders_send(now + dt.timedelta(hours=1))["tasks"] == 0  # once only
    out = StringIO()
    call_command("appointment_reminders", "--json", "--now", "2026-03-17T11:00:00+08:00", stdout=out)
    assert json.loads(out.getvalue())["appointments"] == 1  # the one of Wednesday
    assert Appointment.objects.get(pk=later.pk).reminded_at is not None


def test_reminders_command_rejects_a_bad_moment(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as error:
        call_command("appointment_reminders", "--now", "tomorrow")
    assert error.value.returncode == 1


def test_the_reminder_task_runs(db):
    from gridkam.servicedesk.tasks import appointment_reminders_task

    assert appointment_reminders_task()["tasks"] == 0


def test_booking_locks_the_desk(p, hall, monkeypatch):
    """Concurrent bookings are serialised by SELECT … FOR UPDATE on the desk before the overlap check."""
    seen = []
    original = Desk.objects.select_for_update

    def spy(*args, **kwargs):
        seen.append(True)
        return original(*args, **kwargs)

    monkeypatch.setattr(Desk.objects, "select_for_update", spy)
    book(p, hall, at(MONDAY, 10))
    assert seen == [True]


def test_portal_users_book_and_cancel_for_their_own_customers_only(p, hall):
    with pytest.raises(PermissionDenied):
        book(p, hall, at(MONDAY, 10), user=p.customer_user, customer=p.b1)
    mine = book(p, hall, at(MONDAY, 10), user=p.customer_user)
    with pytest.raises(PermissionDenied):  # completing is the desk's work
        svc.appointment_complete(appointment=mine, user=p.customer_user, now=at(MONDAY, 10, 5))
    svc.appointment_cancel(appointment=mine, user=p.customer_user, now=EARLIER)
    assert mine.status == AppointmentStatus.CANCELLED
    theirs = book(p, hall, at(MONDAY, 11), user=p.outsider, customer=p.b1)
    with pytest.raises(PermissionDenied):
        svc.appointment_cancel(appointment=theirs, user=p.customer_user, now=EARLIER)


@pytest.mark.parametrize("start", [dt.datetime(9999, 12, 31, 23, 59, tzinfo=SHANGHAI), at(dt.date(2026, 9, 7), 10)])
def test_the_desk_is_booked_at_most_the_horizon_ahead(p, hall, start):
    """Beyond GRIDKAM["APPOINTMENT_BOOKING_DAYS"] (180) a booking is refused by field, the year 9999 included."""
    with pytest.raises(ValidationError) as error:
        book(p, hall, start)
    assert "starts_at" in error.value.message_dict
    assert not Appointment.objects.exists()
