"""Service requests of key accounts and the SLA policies that time them (DOMAIN.md "Service").

- ``SlaPolicy``: per customer tier × request type × priority, the clock (24×7 or working hours of working
  days, ``gridkam.core.clocks``) and the targets in minutes on that clock: first response, on site (repairs)
  and resolution. Defaults from the public service commitments, tighter for higher tiers.
- ``ServiceRequest``: one request of a customer (optionally of one account and metering point), its channel,
  type, priority, state (new → assigned → in progress → waiting for the customer → resolved → closed, reopen
  allowed for a while), the account team it is routed to and who holds it. Each SLA target keeps its due time,
  the time at which 80 % of it has run (``*_warn_at``), when it was met, and whether it was warned or breached
  (``*_warned``, ``*_breached`` flags);
  the due times are computed when the request is created and again when a pause ends, so the periodic SLA job
  compares stored times with now in bulk (no clock arithmetic per request in the sweep).
- ``RequestPause``: the spans while the request waits for the customer; the clock stops.
- ``RequestEvent``: the request's timeline: replies to the customer, internal notes, assignments and handovers
  with their reason, status changes, SLA warnings, breaches and escalations.
- ``RequestAttachment``: images and PDFs attached to the request (or to one of its events).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from gridkam.core.choices import ClockKind
from gridkam.customers.choices import Tier
from gridkam.customers.models import Customer, ElectricityAccount, MeteringPoint, RelatedToCustomerQuerySet
from gridkam.users.models import Team

from .choices import OPEN_STATUSES, Channel, EventKind, Priority, RequestStatus, RequestType


class SlaPolicy(models.Model):
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices)
    request_type = models.CharField(_("request type"), max_length=20, choices=RequestType.choices)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices)
    clock = models.CharField(_("clock"), max_length=10, choices=ClockKind.choices)
    response_minutes = models.PositiveIntegerField(_("first response within (minutes)"))
    onsite_minutes = models.PositiveIntegerField(_("on site within (minutes)"), null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(_("resolved within (minutes)"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("updated by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["tier", "request_type", "priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["tier", "request_type", "priority"],
                name="sla_policy_unique",
                violation_error_message=_("There is already a policy for this tier, type and priority."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.tier}/{self.request_type}/{self.priority}"


class ServiceRequestQuerySet(RelatedToCustomerQuerySet):
    def open(self) -> ServiceRequestQuerySet:
        return self.filter(status__in=OPEN_STATUSES)


class ServiceRequest(models.Model):
    number = models.CharField(_("number"), max_length=24, unique=True)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="service_requests"
    )
    account = models.ForeignKey(
        ElectricityAccount,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="service_requests",
    )
    metering_point = models.ForeignKey(
        MeteringPoint,
        verbose_name=_("metering point"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="service_requests",
    )
    request_type = models.CharField(_("type"), max_length=20, choices=RequestType.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=RequestStatus.choices, default=RequestStatus.NEW)
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="requests"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="service_requests",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("logged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("logged at"))
    # SLA: the policy applied and, per target, when it falls due, when 80 % of it has run, when it was met.
    sla_policy = models.ForeignKey(
        SlaPolicy, verbose_name=_("SLA policy"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    clock = models.CharField(_("clock"), max_length=10, choices=ClockKind.choices, default=ClockKind.WORKING)
    response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    response_warn_at = models.DateTimeField(_("first response warning at"), null=True, blank=True)
    responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    onsite_due_at = models.DateTimeField(_("on site due"), null=True, blank=True)
    onsite_warn_at = models.DateTimeField(_("on site warning at"), null=True, blank=True)
    onsite_at = models.DateTimeField(_("on site"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    resolution_warn_at = models.DateTimeField(_("resolution warning at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # Per target, whether the SLA job has warned about it (80 %) and found it breached: plain flags, so that
    # the sweep sets them with one UPDATE per target.
    response_warned = models.BooleanField(_("first response warned"), default=False)
    response_breached = models.BooleanField(_("first response breached"), default=False)
    onsite_warned = models.BooleanField(_("on site warned"), default=False)
    onsite_breached = models.BooleanField(_("on site breached"), default=False)
    resolution_warned = models.BooleanField(_("resolution warned"), default=False)
    resolution_breached = models.BooleanField(_("resolution breached"), default=False)
    escalation_level = models.PositiveSmallIntegerField(
        _("escalation"), default=0, help_text=_("0 none, 1 the team lead, 2 the supervisor.")
    )
    next_escalation_at = models.DateTimeField(_("next escalation at"), null=True, blank=True)
    paused_at = models.DateTimeField(
        _("waiting for the customer since"), null=True, blank=True, help_text=_("The SLA clock is stopped.")
    )
    reopen_until = models.DateTimeField(_("may be reopened until"), null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction (1–5)"), null=True, blank=True)
    history = HistoricalRecords(
        excluded_fields=[
            "response_warned",
            "response_breached",
            "onsite_warned",
            "onsite_breached",
            "resolution_warned",
            "resolution_breached",
        ]
    )

    objects = ServiceRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "response_warn_at"], name="sr_response_warn"),
            models.Index(fields=["status", "resolution_warn_at"], name="sr_resolution_warn"),
            models.Index(fields=["assignee", "status"], name="sr_assignee_status"),
            models.Index(fields=["customer", "status"], name="sr_customer_status"),
            # Service metrics read the requests logged in a span.
            models.Index(fields=["created_at"], name="sr_created_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="sr_satisfaction_1_to_5",
            )
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class RequestPause(models.Model):
    request = models.ForeignKey(
        ServiceRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="pauses"
    )
    started_at = models.DateTimeField(_("from"))
    ended_at = models.DateTimeField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("pause")
        verbose_name_plural = _("pauses")
        ordering = ["request", "started_at"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.started_at}–{self.ended_at or ''}"


class RequestEventQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Events of requests the user may see; customers' portal users never see internal ones."""
        events = self.filter(request__in=ServiceRequest.objects.visible_to(user).values("pk"))
        if getattr(user, "is_customer_user", False):
            events = events.filter(internal=False)
        return events


class RequestEvent(models.Model):
    request = models.ForeignKey(
        ServiceRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=EventKind.choices)
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    internal = models.BooleanField(_("internal"), default=True, help_text=_("Not shown to the customer."))
    body = models.TextField(_("text"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    objects = RequestEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("request event")
        verbose_name_plural = _("request events")
        ordering = ["request", "at", "pk"]
        indexes = [models.Index(fields=["request", "at"], name="sr_event_request_at")]

    def __str__(self) -> str:
        return f"{self.request_id} {self.kind} {self.at}"


class RequestAttachment(models.Model):
    request = models.ForeignKey(
        ServiceRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="attachments"
    )
    event = models.ForeignKey(
        RequestEvent,
        verbose_name=_("event"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attachments",
    )
    file = models.FileField(_("file"), upload_to="requests/%Y/%m/")
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    internal = models.BooleanField(_("internal"), default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["request", "uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.name


# --- VIP desk appointments (营业厅专席, issue 6 item 3; services in appointments.py) ---


class ServiceHall(models.Model):
    """A service hall (营业厅) of an org unit with VIP desks for key accounts."""

    name = models.CharField(_("name"), max_length=100)
    org_unit = models.ForeignKey(
        "core.OrgUnit", verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="service_halls"
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("service hall")
        verbose_name_plural = _("service halls")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Desk(models.Model):
    hall = models.ForeignKey(
        ServiceHall, verbose_name=_("service hall"), on_delete=models.CASCADE, related_name="desks"
    )
    name = models.CharField(_("name"), max_length=60)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("VIP desk")
        verbose_name_plural = _("VIP desks")
        ordering = ["hall", "name", "pk"]

    def __str__(self) -> str:
        return f"{self.hall.name} {self.name}"


class OpeningHours(models.Model):
    """Opening hours of a hall on one weekday (0 Monday … 6 Sunday); several rows a day for a lunch break."""

    hall = models.ForeignKey(
        ServiceHall, verbose_name=_("service hall"), on_delete=models.CASCADE, related_name="opening_hours"
    )
    WEEKDAYS = [
        (0, _("Monday")),
        (1, _("Tuesday")),
        (2, _("Wednesday")),
        (3, _("Thursday")),
        (4, _("Friday")),
        (5, _("Saturday")),
        (6, _("Sunday")),
    ]
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=WEEKDAYS)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["hall", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="opening_hours_weekday_0_6"),
            models.CheckConstraint(condition=Q(closes__gt=models.F("opens")), name="opening_hours_closes_after"),
        ]

    def __str__(self) -> str:
        return f"{self.hall_id} {self.weekday} {self.opens}–{self.closes}"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("booked")
    COMPLETED = "completed", _("completed")
    NO_SHOW = "no_show", _("no show")
    CANCELLED = "cancelled", _("cancelled")


class Appointment(models.Model):
    desk = models.ForeignKey(Desk, verbose_name=_("desk"), on_delete=models.PROTECT, related_name="appointments")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="appointments"
    )
    account = models.ForeignKey(
        ElectricityAccount,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    contact_name = models.CharField(_("contact"), max_length=60, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    topic = models.CharField(_("purpose"), max_length=200)
    status = models.CharField(
        _("status"), max_length=12, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("booked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    notes = models.TextField(_("notes"), blank=True)
    service_request = models.ForeignKey(
        ServiceRequest,
        verbose_name=_("service request"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appointments",
    )
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = RelatedToCustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["starts_at", "pk"]
        indexes = [
            models.Index(fields=["desk", "starts_at"], name="appointment_desk_start"),
            models.Index(fields=["status", "starts_at"], name="appointment_status_start"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="appointment_ends_after")
        ]

    def __str__(self) -> str:
        return f"{self.desk_id} {self.starts_at}"
