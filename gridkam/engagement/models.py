"""Work that people owe the key accounts and how they hear of it: tasks (raised by the system or by a colleague,
each with an assignee, a due date and a link to what it is about), annual service plans and visits, and
notifications."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from gridkam.customers.choices import AssignmentRole, Tier
from gridkam.customers.models import Customer, ElectricityAccount, RelatedToCustomerQuerySet

from .choices import (
    Activity,
    DeliveryStatus,
    FollowUpKind,
    Frequency,
    HealthLevel,
    NotificationChannel,
    NotificationEvent,
    OccurrenceStatus,
    PlanChangeKind,
)


class TaskStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("task status", "Open")
    DONE = "done", pgettext_lazy("task status", "Done")
    CANCELLED = "cancelled", _("Cancelled")


class TaskQuerySet(RelatedToCustomerQuerySet):
    def open(self) -> TaskQuerySet:
        return self.filter(status=TaskStatus.OPEN)


class Task(models.Model):
    title = models.CharField(_("title"), max_length=200)
    detail = models.TextField(_("detail"), blank=True)
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="tasks")
    account = models.ForeignKey(
        ElectricityAccount,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tasks",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    due_date = models.DateField(_("due"))
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    source = models.CharField(_("raised by"), max_length=40, blank=True, help_text=_("e.g. risk_warning"))
    link = models.CharField(_("link"), max_length=300, blank=True, help_text=_("The page the task is about."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_note = models.CharField(_("what was done"), max_length=500, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["status", "due_date", "pk"]
        indexes = [models.Index(fields=["assignee", "status", "due_date"], name="task_assignee_open")]

    def __str__(self) -> str:
        return self.title


# --- Service plans and visits (issue 6 item 4) -------------------------------------------------------------------
#
# - ``PlanTemplate`` / ``PlanTemplateItem``: per customer tier, the activities a key account of that tier gets in a
#   year and how often (e.g. monthly visit, quarterly safety inspection), and which member of the account team does
#   them.
# - ``ServicePlan``: one customer's plan for one year, generated from its tier's template and then tailored.
# - ``PlanItem``: one activity of a plan at a frequency, with its owner; ``origin`` tells template items from
#   added ones; a removed item stays (``active`` false) so that the plan's history reads whole.
# - ``PlanOccurrence``: one due instance of an item: a window (``starts_on`` … ``due_date``) and a state; a visit
#   delivers it. Plan against actual counts these.
# - ``PlanChange``: every tailoring step with its reason (and the generation itself).
# - ``Visit``: a visit or on-site service delivered to a customer: date, activity, staff and customer participants,
#   findings; ``VisitFollowUp``: actions it raised, each become a task or a service request.


class PlanTemplate(models.Model):
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices, unique=True)
    name = models.CharField(_("name"), max_length=100)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("updated by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("service plan template")
        verbose_name_plural = _("service plan templates")
        ordering = ["tier"]

    def __str__(self) -> str:
        return self.name


class PlanTemplateItem(models.Model):
    template = models.ForeignKey(
        PlanTemplate, verbose_name=_("template"), on_delete=models.CASCADE, related_name="items"
    )
    activity = models.CharField(_("activity"), max_length=20, choices=Activity.choices)
    frequency = models.CharField(_("frequency"), max_length=12, choices=Frequency.choices)
    owner_role = models.CharField(
        _("done by"), max_length=20, choices=AssignmentRole.choices, default=AssignmentRole.MANAGER
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("template item")
        verbose_name_plural = _("template items")
        ordering = ["template", "activity"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "activity"],
                name="plan_template_item_unique",
                violation_error_message=_("The template already has this activity."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_activity_display()} ({self.get_frequency_display()})"


class ServicePlan(models.Model):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="service_plans"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    tier = models.CharField(_("tier when generated"), max_length=10, choices=Tier.choices)
    template = models.ForeignKey(
        PlanTemplate, verbose_name=_("template"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("generated"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("generated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = RelatedToCustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("service plan")
        verbose_name_plural = _("service plans")
        ordering = ["-year", "customer__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "year"],
                name="service_plan_one_per_year",
                violation_error_message=_("The customer already has a plan for this year."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.year}"


class PlanItemOrigin(models.TextChoices):
    TEMPLATE = "template", _("From the template")
    ADDED = "added", _("Added for this customer")


class PlanItem(models.Model):
    plan = models.ForeignKey(ServicePlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="items")
    activity = models.CharField(_("activity"), max_length=20, choices=Activity.choices)
    frequency = models.CharField(_("frequency"), max_length=12, choices=Frequency.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="plan_items",
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    origin = models.CharField(
        _("origin"), max_length=10, choices=PlanItemOrigin.choices, default=PlanItemOrigin.TEMPLATE
    )
    active = models.BooleanField(_("in the plan"), default=True)

    class Meta:
        verbose_name = _("plan item")
        verbose_name_plural = _("plan items")
        ordering = ["plan", "activity", "pk"]

    def __str__(self) -> str:
        return f"{self.get_activity_display()} ({self.get_frequency_display()})"


class PlanOccurrenceQuerySet(models.QuerySet):
    def visible_to(self, user) -> PlanOccurrenceQuerySet:
        return self.filter(item__plan__customer__in=Customer.objects.visible_to(user))


class PlanOccurrence(models.Model):
    item = models.ForeignKey(
        PlanItem, verbose_name=_("plan item"), on_delete=models.CASCADE, related_name="occurrences"
    )
    # Denormalised from the item (kept equal by the services) so that "my work" and plan-against-actual filter
    # one table: the owner, the customer and the activity.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="plan_occurrences",
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="plan_occurrences"
    )
    activity = models.CharField(_("activity"), max_length=20, choices=Activity.choices)
    seq = models.PositiveSmallIntegerField(_("number in the year"))
    starts_on = models.DateField(_("window opens"))
    due_date = models.DateField(_("due"))
    status = models.CharField(
        _("status"), max_length=10, choices=OccurrenceStatus.choices, default=OccurrenceStatus.PLANNED
    )
    done_on = models.DateField(_("done on"), null=True, blank=True)
    visit = models.ForeignKey(
        "Visit", verbose_name=_("visit"), null=True, blank=True, on_delete=models.SET_NULL, related_name="occurrences"
    )

    objects = PlanOccurrenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("plan occurrence")
        verbose_name_plural = _("plan occurrences")
        ordering = ["due_date", "pk"]
        indexes = [
            models.Index(fields=["owner", "status", "due_date"], name="occurrence_owner_open"),
            models.Index(fields=["customer", "due_date"], name="occurrence_customer_due"),
            models.Index(fields=["due_date", "status"], name="occurrence_due_status"),
        ]

    def __str__(self) -> str:
        return f"{self.item} #{self.seq}"


class PlanChange(models.Model):
    plan = models.ForeignKey(ServicePlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="changes")
    item = models.ForeignKey(
        PlanItem, verbose_name=_("plan item"), null=True, blank=True, on_delete=models.CASCADE, related_name="changes"
    )
    kind = models.CharField(_("change"), max_length=12, choices=PlanChangeKind.choices)
    before = models.CharField(_("before"), max_length=200, blank=True)
    after = models.CharField(_("after"), max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("plan change")
        verbose_name_plural = _("plan changes")
        ordering = ["plan", "at", "pk"]

    def __str__(self) -> str:
        return self.get_kind_display()


class Visit(models.Model):
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="visits")
    account = models.ForeignKey(
        ElectricityAccount,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
    )
    activity = models.CharField(_("activity"), max_length=20, choices=Activity.choices, default=Activity.VISIT)
    visited_on = models.DateField(_("date"))
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("our participants"), related_name="visits", blank=True
    )
    customer_participants = models.CharField(_("customer's participants"), max_length=300, blank=True)
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    findings = models.TextField(_("findings"), blank=True)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = RelatedToCustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-visited_on", "-pk"]
        indexes = [models.Index(fields=["customer", "visited_on"], name="visit_customer_date")]

    def __str__(self) -> str:
        return f"{self.customer} {self.visited_on}"


class VisitFollowUp(models.Model):
    visit = models.ForeignKey(Visit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="follow_ups")
    kind = models.CharField(_("becomes"), max_length=10, choices=FollowUpKind.choices)
    description = models.CharField(_("action"), max_length=300)
    task = models.ForeignKey(
        Task, verbose_name=_("task"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    service_request = models.ForeignKey(
        "servicedesk.ServiceRequest",
        verbose_name=_("service request"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("follow-up action")
        verbose_name_plural = _("follow-up actions")
        ordering = ["visit", "pk"]

    def __str__(self) -> str:
        return self.description


# --- Notifications (issue 6 item 6) -------------------------------------------------------------------------------
#
# ``Notification``: one message to one user about one event, shown in the app (unread until read) and, by the
# user's ``NotificationPreference`` for that event, sent by e-mail and SMS after the transaction that raised it
# commits; each send is a ``NotificationDelivery`` with its outcome.


class NotificationQuerySet(models.QuerySet):
    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(_("event"), max_length=30, choices=NotificationEvent.choices)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return self.title


class NotificationPreference(models.Model):
    """A user's choice of channels for one event; without a row the defaults apply (settings)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_preferences",
    )
    event = models.CharField(_("event"), max_length=30, choices=NotificationEvent.choices)
    in_app = models.BooleanField(_("in the app"), default=True)
    email = models.BooleanField(_("e-mail"), default=False)
    sms = models.BooleanField(_("SMS"), default=False)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        ordering = ["user", "event"]
        constraints = [models.UniqueConstraint(fields=["user", "event"], name="notification_preference_unique")]

    def __str__(self) -> str:
        return f"{self.user} {self.event}"


class NotificationDelivery(models.Model):
    notification = models.ForeignKey(
        Notification, verbose_name=_("notification"), on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=NotificationChannel.choices)
    address = models.CharField(_("address"), max_length=254, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    error = models.CharField(_("error"), max_length=500, blank=True)
    attempted_at = models.DateTimeField(_("attempted"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification delivery")
        verbose_name_plural = _("notification deliveries")
        ordering = ["notification", "channel"]
        indexes = [models.Index(fields=["status"], name="delivery_status")]

    def __str__(self) -> str:
        return f"{self.notification_id} {self.channel} {self.status}"


# --- Account health (issue 7 item 5) -------------------------------------------------------------------------------
#
# ``HealthScore``: an account's health on one day, 0–100 (higher is healthier), its level and the drivers behind it
# (satisfaction, complaints, SLA breaches, fee-recovery risk, consumption trend, service-plan delivery), scored
# nightly; ``is_latest`` marks the account's most recent score. ``HealthAlert``: raised when an account turns
# unhealthy, with the manager's task.


class HealthScoreQuerySet(RelatedToCustomerQuerySet):
    customer_path = "account__customer"


class HealthScore(models.Model):
    account = models.ForeignKey(
        ElectricityAccount, verbose_name=_("account"), on_delete=models.CASCADE, related_name="health_scores"
    )
    scored_on = models.DateField(_("scored on"))
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=1)
    level = models.CharField(_("level"), max_length=10, choices=HealthLevel.choices)
    factors = models.JSONField(_("drivers"), default=list)
    is_latest = models.BooleanField(_("latest"), default=True, help_text=_("The account's most recent score."))
    created_at = models.DateTimeField(_("computed"), auto_now=True)

    objects = HealthScoreQuerySet.as_manager()

    class Meta:
        verbose_name = _("health score")
        verbose_name_plural = _("health scores")
        ordering = ["account", "-scored_on"]
        constraints = [models.UniqueConstraint(fields=["account", "scored_on"], name="health_score_one_per_day")]
        indexes = [
            models.Index(fields=["is_latest", "level"], name="health_latest_level"),
            models.Index(fields=["is_latest", "score"], name="health_latest_score"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.scored_on} {self.score}"


class HealthAlertStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("health alert", "Open")
    CLOSED = "closed", pgettext_lazy("health alert", "Closed")


class HealthAlert(models.Model):
    """Raised when an account's health turns unhealthy; the account manager's task to act on it."""

    account = models.ForeignKey(
        ElectricityAccount, verbose_name=_("account"), on_delete=models.CASCADE, related_name="health_alerts"
    )
    score = models.ForeignKey(
        HealthScore, verbose_name=_("score"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    previous_level = models.CharField(_("previous level"), max_length=10, choices=HealthLevel.choices, blank=True)
    raised_on = models.DateField(_("raised on"))
    status = models.CharField(
        _("status"), max_length=10, choices=HealthAlertStatus.choices, default=HealthAlertStatus.OPEN
    )
    task = models.ForeignKey(
        Task, verbose_name=_("task"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    objects = HealthScoreQuerySet.as_manager()

    class Meta:
        verbose_name = _("health alert")
        verbose_name_plural = _("health alerts")
        ordering = ["-raised_on", "-pk"]
        indexes = [models.Index(fields=["status", "raised_on"], name="health_alert_open")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.raised_on}"
