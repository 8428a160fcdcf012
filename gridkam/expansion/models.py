"""Business expansion (业扩报装): a customer's application to connect, change or stop supply, followed stage by
stage against the statutory time limits in working days.

- ``TimeLimit``: the limit of a voltage class (high, low: below 10 kV), kind and supply mode, for the whole project
  (``stage`` blank) or one stage, in working days of the utility's own time. Administrators and supervisors change
  them; a data migration seeds DOMAIN.md's defaults.
- ``Project``: one application (number, customer, the account it changes — none for a new connection until it is
  energised —, kind, requested capacity, supply mode, voltage, status, current stage, owner, accepted date, the
  total limit, the working days used so far and the due date, and the reason for a breach).
- ``ProjectStage``: one stage of a project, with its start, end, owner, notes (internal), its limit and due date,
  and the reason given when it ended after its due date.
- ``StageDocument``: images and PDFs uploaded to a stage (checked like service request attachments).
- ``ClockStop``: time the customer holds the clock (their own design or construction); excluded from the
  utility's working days.
- ``ProjectAlert``: the warning or breach told to the owner, once per project, limit (a stage's or, blank, the
  whole project's) and level.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridkam.customers.choices import SupplyMode, VoltageLevel
from gridkam.customers.models import Customer

from .choices import AlertLevel, ProjectKind, ProjectStatus, Stage, VoltageClass

MAX_LIMIT_DAYS = 999


class TimeLimit(models.Model):
    """A statutory time limit in working days: for a voltage class, kind and supply mode, the whole project (no
    stage) or one stage."""

    voltage_class = models.CharField(
        _("voltage class"), max_length=4, choices=VoltageClass.choices, default=VoltageClass.HIGH
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ProjectKind.choices)
    supply_mode = models.CharField(_("supply mode"), max_length=10, choices=SupplyMode.choices)
    stage = models.CharField(
        _("stage"), max_length=24, choices=Stage.choices, blank=True, help_text=_("Blank: the whole project.")
    )
    working_days = models.PositiveSmallIntegerField(
        _("working days"), validators=[MinValueValidator(1), MaxValueValidator(MAX_LIMIT_DAYS)]
    )

    class Meta:
        verbose_name = _("time limit")
        verbose_name_plural = _("time limits")
        ordering = ["voltage_class", "kind", "supply_mode", "stage"]
        constraints = [
            models.UniqueConstraint(
                fields=["voltage_class", "kind", "supply_mode", "stage"],
                name="expansion_limit_unique",
                violation_error_message=_("This limit is set already."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.voltage_class} {self.kind} {self.supply_mode} {self.stage or '*'}: {self.working_days}"


class ProjectQuerySet(models.QuerySet):
    def visible_to(self, user) -> ProjectQuerySet:
        return self.filter(customer__in=Customer.objects.visible_to(user).values("pk"))

    def editable_by(self, user) -> ProjectQuerySet:
        return self.filter(customer__in=Customer.objects.editable_by(user).values("pk"))


class Project(models.Model):
    """One business expansion application of a customer, from acceptance to energisation (or cancellation)."""

    number = models.CharField(_("project number"), max_length=20, unique=True, blank=True)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="expansion_projects"
    )
    account = models.ForeignKey(
        "customers.ElectricityAccount",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="expansion_projects",
        help_text=_("The account the project changes; a new connection gets its account at energisation."),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ProjectKind.choices)
    title = models.CharField(_("title"), max_length=200, blank=True)
    requested_capacity_kva = models.DecimalField(
        _("requested capacity (kVA)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    supply_mode = models.CharField(
        _("supply mode"), max_length=10, choices=SupplyMode.choices, default=SupplyMode.SINGLE
    )
    voltage_kv = models.CharField(_("voltage level (kV)"), max_length=4, choices=VoltageLevel.choices)
    new_tariff = models.ForeignKey(
        "tariffs.Tariff",
        verbose_name=_("new tariff"),
        to_field="code",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    new_name = models.CharField(_("new account name"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=ProjectStatus.choices, default=ProjectStatus.IN_PROGRESS
    )
    current_stage = models.CharField(_("current stage"), max_length=24, choices=Stage.choices, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="expansion_projects",
        help_text=_("The account manager responsible for the project."),
    )
    accepted_on = models.DateField(_("accepted on"))
    time_limit_days = models.PositiveSmallIntegerField(_("time limit (working days)"), null=True, blank=True)
    working_days_used = models.PositiveSmallIntegerField(_("working days used"), default=0)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    clock_stopped = models.BooleanField(_("clock stopped"), default=False)
    completed_on = models.DateField(_("completed"), null=True, blank=True)
    cancelled_on = models.DateField(_("cancelled"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True)
    breach_reason = models.CharField(_("reason for passing the time limit"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        verbose_name = _("expansion project")
        verbose_name_plural = _("expansion projects")
        ordering = ["-accepted_on", "-pk"]
        indexes = [models.Index(fields=["status", "due_date"], name="expansion_status_due")]

    def __str__(self) -> str:
        return f"{self.number} {self.get_kind_display()}"

    def clean(self) -> None:
        errors = {}
        if self.kind != ProjectKind.NEW_CONNECTION and not self.account_id:
            errors["account"] = _("Choose the account this project changes.")
        if self.account_id and self.customer_id and self.account.customer_id != self.customer_id:
            errors["account"] = _("The account belongs to another customer.")
        needs_capacity = (ProjectKind.NEW_CONNECTION, ProjectKind.CAPACITY_INCREASE, ProjectKind.CAPACITY_REDUCTION)
        if self.kind in needs_capacity and not self.requested_capacity_kva:
            errors["requested_capacity_kva"] = _("Give the capacity the customer asks for.")
        if self.kind == ProjectKind.TARIFF_CHANGE and not self.new_tariff_id:
            errors["new_tariff"] = _("Choose the new tariff.")
        if self.kind == ProjectKind.NAME_CHANGE and not (self.new_name or "").strip():
            errors["new_name"] = _("Give the new account name.")
        if errors:
            raise ValidationError(errors)


class ProjectStage(models.Model):
    """One stage of a project: started when the previous one ended, ended when the project moves on."""

    project = models.ForeignKey(Project, verbose_name=_("project"), on_delete=models.CASCADE, related_name="stages")
    stage = models.CharField(_("stage"), max_length=24, choices=Stage.choices)
    position = models.PositiveSmallIntegerField(_("position"))
    started_on = models.DateField(_("started"))
    ended_on = models.DateField(_("ended"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True, on_delete=models.SET_NULL
    )
    limit_days = models.PositiveSmallIntegerField(_("time limit (working days)"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    working_days_used = models.PositiveSmallIntegerField(_("working days used"), default=0)
    notes = models.TextField(_("internal notes"), blank=True)
    breach_reason = models.CharField(_("reason for passing the time limit"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("project stage")
        verbose_name_plural = _("project stages")
        ordering = ["project", "position"]
        constraints = [
            models.UniqueConstraint(fields=["project", "stage"], name="expansion_stage_once"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.stage}"

    @property
    def breached(self) -> bool:
        """Ended after its limit in working days: more of the utility's working days used than the limit allows
        (ending on the weekend after a Friday due date uses no extra working day)."""
        return bool(self.limit_days and self.ended_on and self.working_days_used > self.limit_days)


class StageDocument(models.Model):
    """A document of a stage (application form, survey record, supply plan, drawings, inspection reports)."""

    stage = models.ForeignKey(ProjectStage, verbose_name=_("stage"), on_delete=models.CASCADE, related_name="documents")
    file = models.FileField(_("file"), upload_to="expansion/%Y/%m/")
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True, on_delete=models.SET_NULL
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("stage document")
        verbose_name_plural = _("stage documents")
        ordering = ["stage", "uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.name


class ClockStop(models.Model):
    """Customer time: the customer designs or builds, or asked to wait; the utility's working days exclude it."""

    project = models.ForeignKey(
        Project, verbose_name=_("project"), on_delete=models.CASCADE, related_name="clock_stops"
    )
    started_on = models.DateField(_("from"))
    ended_on = models.DateField(_("until"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("clock stop")
        verbose_name_plural = _("clock stops")
        ordering = ["project", "started_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(ended_on__isnull=True),
                name="expansion_one_open_stop",
                violation_error_message=_("The clock is stopped already."),
            ),
            models.CheckConstraint(
                condition=models.Q(ended_on__isnull=True) | models.Q(ended_on__gte=models.F("started_on")),
                name="expansion_stop_ends_after_start",
                violation_error_message=_("A clock stop cannot end before it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.started_on}–{self.ended_on or ''}"


class ProjectAlert(models.Model):
    """The owner was told the project nears (warning) or passed (breach) a time limit: once per project, limit
    (``stage``: that stage's limit; blank: the whole project's) and level."""

    project = models.ForeignKey(Project, verbose_name=_("project"), on_delete=models.CASCADE, related_name="alerts")
    level = models.CharField(_("level"), max_length=10, choices=AlertLevel.choices)
    stage = models.CharField(_("stage"), max_length=24, choices=Stage.choices, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    raised_at = models.DateTimeField(_("raised"), auto_now_add=True)

    class Meta:
        verbose_name = _("time limit alert")
        verbose_name_plural = _("time limit alerts")
        constraints = [models.UniqueConstraint(fields=["project", "stage", "level"], name="expansion_alert_once")]

    def __str__(self) -> str:
        return f"{self.project_id} {self.stage or '*'} {self.level}"
