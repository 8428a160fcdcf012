from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class RequestType(models.TextChoices):
    REPAIR = "repair", _("Repair / outage")
    POWER_QUALITY = "power_quality", _("Power quality")
    BILLING_INQUIRY = "billing_inquiry", _("Billing inquiry")
    CAPACITY_CHANGE = "capacity_change", _("Capacity change")
    METERING = "metering", _("Metering")
    CONSULTATION = "consultation", _("Consultation")
    COMPLAINT = "complaint", _("Complaint")
    OTHER = "other", _("Other")


class Channel(models.TextChoices):
    HOTLINE_95598 = "95598", _("95598 transfer")
    MANAGER_LINE = "manager_line", _("Manager's direct line")
    PORTAL = "portal", _("Customer portal")
    VIP_DESK = "vip_desk", _("VIP desk")
    VISIT = "visit", _("Visit")


class Priority(models.TextChoices):
    """Highest first."""

    URGENT = "urgent", _("Urgent")
    HIGH = "high", _("High")
    NORMAL = "normal", _("Normal")
    LOW = "low", _("Low")


class RequestStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("request status", "New")
    ASSIGNED = "assigned", pgettext_lazy("request status", "Assigned")
    IN_PROGRESS = "in_progress", pgettext_lazy("request status", "In progress")
    WAITING_CUSTOMER = "waiting_customer", pgettext_lazy("request status", "Waiting for the customer")
    RESOLVED = "resolved", pgettext_lazy("request status", "Resolved")
    CLOSED = "closed", pgettext_lazy("request status", "Closed")


OPEN_STATUSES = (
    RequestStatus.NEW,
    RequestStatus.ASSIGNED,
    RequestStatus.IN_PROGRESS,
    RequestStatus.WAITING_CUSTOMER,
)


class SlaTarget(models.TextChoices):
    RESPONSE = "response", _("First response")
    ONSITE = "onsite", _("On site")
    RESOLUTION = "resolution", _("Resolution")


class EventKind(models.TextChoices):
    CREATED = "created", _("Created")
    ASSIGNED = "assigned", _("Assigned")
    HANDOVER = "handover", _("Handed over")
    STATUS = "status", _("Status changed")
    REPLY = "reply", _("Reply to the customer")
    NOTE = "note", _("Internal note")
    ONSITE = "onsite", _("Arrived on site")
    SLA_WARNING = "sla_warning", _("SLA warning")
    SLA_BREACH = "sla_breach", _("SLA breached")
    ESCALATION = "escalation", _("Escalated")
    REOPENED = "reopened", _("Reopened")
    RATED = "rated", _("Rated by the customer")
    CUSTOMER_REPLY = "customer_reply", _("Message from the customer")
