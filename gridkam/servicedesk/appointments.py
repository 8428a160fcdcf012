"""VIP desk appointments (营业厅专席, issue 6 item 3): free slots, booking by staff, completion, no-shows,
cancellations and reminders. Services and selectors of this part live here.

Slots. A hall is open on the *working days* of the statutory calendar (``gridkam.core.workdays``) during the
opening hours of the date's weekday (several rows a day for a lunch break). A statutory holiday on a weekday
has no slots; a make-up working day (调休) on a Saturday or Sunday uses **Monday's** opening hours (the hall
works a normal working day; weekend rows, if any, are for ordinary weekends and are not used, because those
are not working days). Slots are ``length_minutes`` long from each opening, only whole ones that end by the
closing time, free per active desk (not overlapping a booked or completed appointment) and not in the past.

Booking (``appointment_book``) is for staff who see the customer and for the customer's portal users. It
checks the same rules for any start (not only the slot grid) and locks the desk row (``select_for_update``)
before looking for overlaps, so that two concurrent bookings of the same desk are serialised and the second
one is refused.

Transitions (staff; portal users of the customer may cancel): booked → completed (with notes) / no show (once the
appointment has started) / cancelled
(while booked). Reminders (``appointment_reminders_send``): appointments starting within the next 24 hours
not reminded yet get one engagement Task each for the customer's manager and the booking user, in bulk, and
``reminded_at`` is set so that they are reminded once only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from gridkam.core.workdays import is_working_day
from gridkam.customers.choices import AssignmentRole
from gridkam.customers.models import AccountAssignment, Customer, ElectricityAccount
from gridkam.engagement.choices import NotificationEvent
from gridkam.engagement.models import Task
from gridkam.engagement.notifications import notify_many
from gridkam.users.permissions import is_active_user

from .models import Appointment, AppointmentStatus, Desk, OpeningHours, ServiceHall, ServiceRequest
from .permissions import can_log, is_staff_user, sees_customer

TAKEN = (AppointmentStatus.BOOKED, AppointmentStatus.COMPLETED)
MIN_LENGTH = 10
MAX_LENGTH = 240
# How far ahead the desk can be booked (GRIDKAM["APPOINTMENT_BOOKING_DAYS"]).
BOOKING_DAYS = 180
REMINDER_SOURCE = "vip_appointment"


# ------------------------------------------------------------------------------------------------ selectors


def hours_weekday(day: dt.date) -> int | None:
    """The weekday whose opening hours apply on ``day``: None on a day off, Monday's on a weekend make-up day."""
    if not is_working_day(day):
        return None
    return 0 if day.weekday() >= 5 else day.weekday()


def _local(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=timezone.get_current_timezone())


def opening_spans(hall: ServiceHall, day: dt.date, hours: list[OpeningHours] | None = None) -> list[tuple]:
    """The (opens, closes) moments of the hall on ``day``, in order; empty on a day off."""
    weekday = hours_weekday(day)
    if weekday is None:
        return []
    if hours is None:
        hours = list(OpeningHours.objects.filter(hall=hall, weekday=weekday).order_by("opens"))
    else:
        hours = sorted((row for row in hours if row.weekday == weekday), key=lambda row: row.opens)
    return [(_local(day, row.opens), _local(day, row.closes)) for row in hours]


@dataclass
class DeskSlots:
    desk: Desk
    slots: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)


def slots(hall: ServiceHall, day: dt.date, length_minutes: int = 30, *, now=None) -> list[DeskSlots]:
    """The free slots of each active desk of the hall on ``day`` (three queries whatever the number of desks)."""
    now = now or timezone.now()
    length = dt.timedelta(minutes=length_minutes)
    spans = opening_spans(hall, day)
    desks = list(Desk.objects.filter(hall=hall, active=True).order_by("name", "pk"))
    if not spans or not desks:
        return [DeskSlots(desk) for desk in desks]
    taken: dict[int, list[tuple]] = {}
    for desk_id, start, end in Appointment.objects.filter(
        desk__in=desks, status__in=TAKEN, starts_at__lt=spans[-1][1], ends_at__gt=spans[0][0]
    ).values_list("desk_id", "starts_at", "ends_at"):
        taken.setdefault(desk_id, []).append((start, end))
    result = []
    for desk in desks:
        busy = taken.get(desk.pk, [])
        free = []
        for opens, closes in spans:
            start = opens
            while start + length <= closes:
                end = start + length
                if start >= now and not any(s < end and e > start for s, e in busy):
                    free.append((start, end))
                start = end
        result.append(DeskSlots(desk, free))
    return result


def halls_visible(user) -> QuerySet[ServiceHall]:
    """Halls with their desks and opening hours (staff see every hall: halls are public places)."""
    if not is_staff_user(user):
        return ServiceHall.objects.none()
    return ServiceHall.objects.select_related("org_unit").prefetch_related(
        Prefetch("desks", queryset=Desk.objects.order_by("name", "pk")),
        Prefetch("opening_hours", queryset=OpeningHours.objects.order_by("weekday", "opens")),
    )


def appointments_visible(user) -> QuerySet[Appointment]:
    """The appointments of the customers the user sees, with what a list row shows."""
    return Appointment.objects.visible_to(user).select_related(
        "desk__hall", "customer", "account", "booked_by", "service_request"
    )


def appointment_for_user(*, user, pk) -> Appointment:
    return appointments_visible(user).get(pk=pk)


def can_manage_halls(user) -> bool:
    """Halls, desks and opening hours are edited in the Django admin: supervisors and administrators who
    have admin access (``is_staff``) and the change permission."""
    return (
        is_staff_user(user)
        and (user.is_administrator or user.is_supervisor)
        and user.is_staff
        and user.has_perm("servicedesk.change_servicehall")
    )


# ------------------------------------------------------------------------------------------------- services


def _check_slot(*, desk: Desk, starts_at: dt.datetime, ends_at: dt.datetime, now) -> None:
    if not desk.active:
        raise ValidationError({"desk": _("This desk does not take appointments.")})
    if starts_at < now:
        raise ValidationError({"starts_at": _("The time is in the past.")})
    day = timezone.localtime(starts_at).date()
    if hours_weekday(day) is None:
        raise ValidationError({"starts_at": _("The hall is closed on this day (not a working day).")})
    if not any(opens <= starts_at and ends_at <= closes for opens, closes in opening_spans(desk.hall, day)):
        raise ValidationError({"starts_at": _("The appointment is not within the opening hours of the hall.")})


def appointment_book(
    *,
    desk: Desk,
    customer: Customer,
    starts_at: dt.datetime,
    length: int = 30,
    topic: str,
    user,
    account: ElectricityAccount | None = None,
    contact_name: str = "",
    contact_phone: str = "",
    service_request: ServiceRequest | None = None,
    notes: str = "",
    now=None,
) -> Appointment:
    """Book ``length`` minutes at the desk from ``starts_at`` (ValidationError by field, PermissionDenied)."""
    now = now or timezone.now()
    if not can_log(user, customer):
        raise PermissionDenied
    if timezone.is_naive(starts_at):
        starts_at = timezone.make_aware(starts_at)
    if not isinstance(length, int) or not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValidationError(
            {"length": _("Between %(min)s and %(max)s minutes.") % {"min": MIN_LENGTH, "max": MAX_LENGTH}}
        )
    if not (topic or "").strip():
        raise ValidationError({"topic": _("Say what the appointment is about.")})
    if account is not None and account.customer_id != customer.pk:
        raise ValidationError({"account": _("The account is not one of this customer's.")})
    if service_request is not None and service_request.customer_id != customer.pk:
        raise ValidationError({"service_request": _("The request is not one of this customer's.")})
    horizon = int(settings.GRIDKAM.get("APPOINTMENT_BOOKING_DAYS", BOOKING_DAYS))
    if starts_at > now + dt.timedelta(days=horizon):
        raise ValidationError({"starts_at": _("The desk is booked at most %(days)s days ahead.") % {"days": horizon}})
    ends_at = starts_at + dt.timedelta(minutes=length)
    with transaction.atomic():
        # Lock the desk: concurrent bookings of the same desk wait here and then see each other's rows.
        desk = Desk.objects.select_for_update().select_related("hall").get(pk=desk.pk)
        _check_slot(desk=desk, starts_at=starts_at, ends_at=ends_at, now=now)
        if Appointment.objects.filter(
            desk=desk, status__in=TAKEN, starts_at__lt=ends_at, ends_at__gt=starts_at
        ).exists():
            raise ValidationError({"starts_at": _("The desk is already booked at this time.")})
        return Appointment.objects.create(
            desk=desk,
            customer=customer,
            account=account,
            contact_name=contact_name.strip(),
            contact_phone=contact_phone.strip(),
            starts_at=starts_at,
            ends_at=ends_at,
            topic=topic.strip()[:200],
            booked_by=user,
            notes=notes,
            service_request=service_request,
        )


def can_act(user, appointment: Appointment) -> bool:
    """Staff who see the appointment's customer may complete, mark a no-show or cancel it."""
    return is_staff_user(user) and sees_customer(user, appointment.customer)


def can_cancel(user, appointment: Appointment) -> bool:
    """Staff who may act on it, and the portal users of its customer."""
    return can_act(user, appointment) or (
        is_active_user(user) and user.is_customer_user and sees_customer(user, appointment.customer)
    )


def _transition(appointment: Appointment, *, user, to: str, notes: str | None, now) -> Appointment:
    allowed = can_cancel if to == AppointmentStatus.CANCELLED else can_act
    if not allowed(user, appointment):
        raise PermissionDenied
    with transaction.atomic():
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if locked.status != AppointmentStatus.BOOKED:
            raise ValidationError({"status": _("Only a booked appointment can change.")})
        if to in (AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW) and now < locked.starts_at:
            raise ValidationError({"status": _("The appointment has not started yet.")})
        locked.status = to
        fields = ["status"]
        if notes is not None:
            locked.notes = notes.strip()
            fields.append("notes")
        locked.save(update_fields=fields)
    appointment.status, appointment.notes = locked.status, locked.notes
    return appointment


def appointment_complete(*, appointment: Appointment, user, notes: str = "", now=None) -> Appointment:
    return _transition(appointment, user=user, to=AppointmentStatus.COMPLETED, notes=notes, now=now or timezone.now())


def appointment_no_show(*, appointment: Appointment, user, now=None) -> Appointment:
    return _transition(appointment, user=user, to=AppointmentStatus.NO_SHOW, notes=None, now=now or timezone.now())


def appointment_cancel(*, appointment: Appointment, user, notes: str | None = None, now=None) -> Appointment:
    return _transition(appointment, user=user, to=AppointmentStatus.CANCELLED, notes=notes, now=now or timezone.now())


def appointment_reminders_send(now=None) -> dict:
    """Tasks "appointment tomorrow" for the appointments starting within 24 h not reminded yet (bulk, once)."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            # Only the appointments are locked, not the customers and halls joined for the notification text.
            Appointment.objects.select_for_update(of=("self",))
            .filter(
                status=AppointmentStatus.BOOKED,
                reminded_at__isnull=True,
                starts_at__gte=now,
                starts_at__lt=now + dt.timedelta(hours=24),
            )
            .values(
                "pk",
                "customer_id",
                "customer__name",
                "desk__hall__name",
                "account_id",
                "booked_by_id",
                "starts_at",
                "topic",
            )
        )
        if not due:
            return {"appointments": 0, "tasks": 0, "now": now.isoformat()}
        managers = dict(
            AccountAssignment.objects.filter(
                customer_id__in={row["customer_id"] for row in due},
                role=AssignmentRole.MANAGER,
                end_date__isnull=True,
            ).values_list("customer_id", "user_id")
        )
        tasks = []
        notices = []
        for row in due:
            start = timezone.localtime(row["starts_at"])
            title = _("VIP desk appointment %(when)s: %(topic)s") % {
                "when": start.strftime("%Y-%m-%d %H:%M"),
                "topic": row["topic"],
            }
            link = reverse("servicedesk:appointment_detail", args=[row["pk"]])
            context = {
                "when": start.strftime("%Y-%m-%d %H:%M"),
                "customer": row["customer__name"],
                "hall": row["desk__hall__name"],
                "topic": row["topic"],
            }
            for assignee_id in dict.fromkeys(filter(None, (managers.get(row["customer_id"]), row["booked_by_id"]))):
                notices.append((assignee_id, NotificationEvent.APPOINTMENT_REMINDER, context, link))
                tasks.append(
                    Task(
                        title=title[:200],
                        detail=row["topic"][:500],
                        customer_id=row["customer_id"],
                        account_id=row["account_id"],
                        assignee_id=assignee_id,
                        due_date=start.date(),
                        source=REMINDER_SOURCE,
                        link=link,
                    )
                )
        Task.objects.bulk_create(tasks)
        notify_many(notices)
        Appointment.objects.filter(pk__in=[row["pk"] for row in due]).update(reminded_at=now)
    return {"appointments": len(due), "tasks": len(tasks), "now": now.isoformat()}


def desks_for_booking(hall_pk) -> QuerySet[Desk]:
    return Desk.objects.filter(hall_id=hall_pk, active=True).select_related("hall")
