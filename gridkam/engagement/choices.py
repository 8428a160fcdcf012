from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Activity(models.TextChoices):
    """What a service-plan item or a visit is (DOMAIN.md "Service")."""

    VISIT = "visit", _("Customer visit")
    SAFETY_INSPECTION = "safety_inspection", _("Safety inspection")
    POWER_QUALITY = "power_quality", _("Power-quality check")
    ENERGY_DIAGNOSIS = "energy_diagnosis", _("Energy-efficiency diagnosis")
    TARIFF_REVIEW = "tariff_review", _("Tariff review")
    TRAINING = "training", _("Training for the customer's electricians")
    OTHER = "other", pgettext_lazy("activity", "Other")


class Frequency(models.TextChoices):
    """How often a plan item falls due; the value's occurrences per year are ``FREQUENCY_PER_YEAR``."""

    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    SEMIANNUAL = "semiannual", _("Semi-annual")
    ANNUAL = "annual", _("Annual")


FREQUENCY_PER_YEAR = {
    Frequency.MONTHLY: 12,
    Frequency.QUARTERLY: 4,
    Frequency.SEMIANNUAL: 2,
    Frequency.ANNUAL: 1,
}


class OccurrenceStatus(models.TextChoices):
    PLANNED = "planned", pgettext_lazy("plan occurrence", "Planned")
    DONE = "done", pgettext_lazy("plan occurrence", "Done")
    CANCELLED = "cancelled", pgettext_lazy("plan occurrence", "Cancelled")


class PlanChangeKind(models.TextChoices):
    GENERATED = "generated", _("Generated from the tier template")
    ADDED = "added", _("Item added")
    FREQUENCY = "frequency", _("Frequency changed")
    OWNER = "owner", _("Owner changed")
    REMOVED = "removed", _("Item removed")


class FollowUpKind(models.TextChoices):
    TASK = "task", _("Task")
    REQUEST = "request", _("Service request")


class NotificationEvent(models.TextChoices):
    """What a notification is about; each has its templates and a per-user preference."""

    REQUEST_ASSIGNED = "request_assigned", _("A service request is assigned to me")
    REQUEST_HANDOVER = "request_handover", _("A service request is handed over to me")
    SLA_WARNING = "sla_warning", _("An SLA target of my request is near")
    SLA_ESCALATION = "sla_escalation", _("An SLA breach is escalated to me")
    TASK_ASSIGNED = "task_assigned", _("A task is assigned to me")
    RISK_WARNING = "risk_warning", _("A fee-recovery risk warning on my account")
    APPOINTMENT_REMINDER = "appointment_reminder", _("A VIP desk appointment is coming")
    PLAN_ITEM_DUE = "plan_item_due", _("A service-plan item of mine falls due")
    HEALTH_ALERT = "health_alert", _("An account of mine turns unhealthy")
    MESSAGE_RECEIVED = "message_received", _("A new message in a conversation of mine")
    SURVEY_REQUESTED = "survey_requested", _("A survey is waiting for my answer")
    REQUEST_CUSTOMER_REPLY = "request_customer_reply", _("The customer writes on my service request")
    EXPANSION_DEADLINE = "expansion_deadline", _("A business expansion project of mine nears or passes its time limit")
    OUTAGE_NOTICE = "outage_notice", _("An outage affects the supply of my customer")
    DANGER_OVERDUE = "danger_overdue", _("A hidden danger of my customer is overdue for rectification")


class NotificationChannel(models.TextChoices):
    IN_APP = "in_app", _("In the app")
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("delivery", "Pending")
    SENT = "sent", pgettext_lazy("delivery", "Sent")
    FAILED = "failed", pgettext_lazy("delivery", "Failed")
    SKIPPED = "skipped", pgettext_lazy("delivery", "Skipped")


class HealthLevel(models.TextChoices):
    """Account health levels, healthiest first."""

    HEALTHY = "healthy", _("Healthy")
    WATCH = "watch", pgettext_lazy("health level", "Watch")
    AT_RISK = "at_risk", pgettext_lazy("health level", "At risk")
    UNHEALTHY = "unhealthy", _("Unhealthy")


HEALTH_LEVEL_ORDER = {level: rank for rank, level in enumerate(HealthLevel.values)}


class HealthDriver(models.TextChoices):
    """What an account's health is computed from; ``nps`` is the customer's latest annual-survey answer."""

    SATISFACTION = "satisfaction", _("Satisfaction with closed requests")
    COMPLAINTS = "complaints", _("Complaints")
    SLA_BREACHES = "sla_breaches", _("SLA breaches")
    FEE_RISK = "fee_risk", _("Fee-recovery risk")
    CONSUMPTION_TREND = "consumption_trend", _("Consumption trend")
    PLAN_DELIVERY = "plan_delivery", _("Service-plan delivery")
    NPS = "nps", _("Annual survey (NPS)")
