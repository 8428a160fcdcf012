"""Safety inspections (用电检查) and hidden dangers (隐患整改), issue 8 item 3; docs/inspections.md explains them.

- ``InspectionInterval``: the plan rule, months between periodic inspections for a tier and an importance class
  (a full matrix, seeded by migration 0002, edited by supervisors and administrators).
- ``Inspection``: one visit to a customer by an inspector: its kind, the checklist results (``InspectionItem``
  rows, one per standard item), photos (``InspectionPhoto``, served only through an access-checked view) and the
  conclusion. A re-inspection names the danger it looked at.
- ``HiddenDanger``: a danger found at an inspection: severity, legal basis, rectification deadline, the written
  rectification notice (隐患整改通知书, numbered by the danger's ``number``) with its delivery, the status and the
  escalation level reached when overdue; ``DangerEvent`` rows are its history.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridkam.customers.choices import ImportanceClass, Tier
from gridkam.customers.models import Customer

from .choices import (
    ChecklistItem,
    CheckResult,
    DangerEventKind,
    DangerStatus,
    EscalationLevel,
    InspectionKind,
    LegalBasis,
    Severity,
)


class InspectionInterval(models.Model):
    """Months between periodic inspections of the customers of a tier and importance class."""

    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices)
    importance_class = models.CharField(_("importance class"), max_length=10, choices=ImportanceClass.choices)
    interval_months = models.PositiveSmallIntegerField(
        _("interval (months)"), validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("inspection interval")
        verbose_name_plural = _("inspection intervals")
        ordering = ["importance_class", "tier"]
        constraints = [
            models.UniqueConstraint(fields=["tier", "importance_class"], name="inspection_interval_once"),
            models.CheckConstraint(
                condition=Q(interval_months__gte=1, interval_months__lte=60), name="inspection_interval_1_to_60"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_importance_class_display()} / {self.get_tier_display()}: {self.interval_months}"


class RelatedToCustomer(models.QuerySet):
    customer_path = "customer"

    def visible_to(self, user):
        return self.filter(**{f"{self.customer_path}__in": Customer.objects.visible_to(user).values("pk")})


class InspectionQuerySet(RelatedToCustomer):
    def visible_to(self, user):
        # Inspections are staff records: the portal sees the dangers and their notices only.
        if user is None or not user.is_authenticated or user.is_customer_user:
            return self.none()
        return super().visible_to(user)


class Inspection(models.Model):
    """One safety inspection of a customer's installation, on one day, by one inspector."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="inspections"
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=20, choices=InspectionKind.choices)
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("inspector"), on_delete=models.PROTECT, related_name="+"
    )
    conclusion = models.TextField(_("conclusion"), blank=True)
    # The danger a re-inspection looked at.
    danger = models.ForeignKey(
        "HiddenDanger",
        verbose_name=_("danger re-inspected"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reinspections",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    objects = InspectionQuerySet.as_manager()

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-date", "-pk"]
        indexes = [models.Index(fields=["customer", "kind", "date"], name="inspection_customer_kind_date")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.date} – {self.customer}"


class InspectionItem(models.Model):
    """The result of one checklist item at an inspection."""

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("inspection"), on_delete=models.CASCADE, related_name="items"
    )
    item = models.CharField(_("item"), max_length=30, choices=ChecklistItem.choices)
    result = models.CharField(_("result"), max_length=4, choices=CheckResult.choices)
    remark = models.CharField(_("remark"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("checklist result")
        verbose_name_plural = _("checklist results")
        ordering = ["inspection", "pk"]
        constraints = [models.UniqueConstraint(fields=["inspection", "item"], name="inspection_item_once")]

    def __str__(self) -> str:
        return f"{self.get_item_display()}: {self.get_result_display()}"


class InspectionPhoto(models.Model):
    inspection = models.ForeignKey(
        Inspection, verbose_name=_("inspection"), on_delete=models.CASCADE, related_name="photos"
    )
    file = models.FileField(_("file"), upload_to="inspections/%Y/%m/")
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("inspection photo")
        verbose_name_plural = _("inspection photos")
        ordering = ["inspection", "pk"]

    def __str__(self) -> str:
        return self.name


class DangerQuerySet(RelatedToCustomer):
    def with_overdue(self, today=None):
        """``overdue``: not closed and past its rectification deadline (local date)."""
        today = today or timezone.localdate()
        return self.annotate(
            overdue=Case(
                When(~Q(status=DangerStatus.CLOSED) & Q(deadline__lt=today), then=Value(True)),
                default=Value(False),
                output_field=models.BooleanField(),
            )
        )

    def overdue(self, today=None):
        return self.exclude(status=DangerStatus.CLOSED).filter(deadline__lt=today or timezone.localdate())


class HiddenDanger(models.Model):
    """A hidden danger (安全隐患) in a customer's installation, found at an inspection, to be rectified by the
    customer by the deadline; its ``number`` is the number of its rectification notice (隐患整改通知书)."""

    number = models.CharField(_("notice number"), max_length=20, unique=True)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="hidden_dangers"
    )
    inspection = models.ForeignKey(
        Inspection, verbose_name=_("found at"), on_delete=models.CASCADE, related_name="dangers"
    )
    item = models.CharField(_("checklist item"), max_length=30, choices=ChecklistItem.choices, blank=True)
    description = models.TextField(_("description"))
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    legal_basis = models.CharField(_("legal basis"), max_length=30, choices=LegalBasis.choices)
    legal_basis_text = models.TextField(_("article"), blank=True)
    requirement = models.TextField(_("rectification required"), blank=True)
    deadline = models.DateField(_("rectification deadline"))
    status = models.CharField(_("status"), max_length=20, choices=DangerStatus.choices, default=DangerStatus.OPEN)
    notice_delivered_on = models.DateField(_("notice delivered"), null=True, blank=True)
    notice_signed_by = models.CharField(_("notice signed by"), max_length=100, blank=True)
    escalation_level = models.PositiveSmallIntegerField(
        _("escalation"), choices=EscalationLevel.choices, default=EscalationLevel.NONE
    )
    escalated_on = models.DateField(_("escalated"), null=True, blank=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("raised"), auto_now_add=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)

    objects = DangerQuerySet.as_manager()

    class Meta:
        verbose_name = _("hidden danger")
        verbose_name_plural = _("hidden dangers")
        ordering = ["deadline", "pk"]
        indexes = [
            models.Index(fields=["status", "deadline"], name="danger_status_deadline"),
            models.Index(fields=["customer", "status"], name="danger_customer_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(escalation_level__lte=2), name="danger_escalation_0_to_2"),
            models.CheckConstraint(
                condition=~Q(status=DangerStatus.CLOSED) | Q(closed_on__isnull=False), name="danger_closed_has_date"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.customer}"

    @property
    def is_overdue(self) -> bool:
        value = getattr(self, "overdue", None)
        if value is not None:
            return bool(value)
        return self.status != DangerStatus.CLOSED and self.deadline < timezone.localdate()


class DangerEvent(models.Model):
    """One step in a danger's history."""

    danger = models.ForeignKey(HiddenDanger, verbose_name=_("danger"), on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("at"), default=timezone.now)
    kind = models.CharField(_("kind"), max_length=20, choices=DangerEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    status = models.CharField(_("status"), max_length=20, choices=DangerStatus.choices)
    note = models.TextField(_("note"), blank=True)
    deadline = models.DateField(_("rectification deadline"), null=True, blank=True)
    level = models.PositiveSmallIntegerField(_("escalation"), choices=EscalationLevel.choices, null=True, blank=True)

    class Meta:
        verbose_name = _("danger event")
        verbose_name_plural = _("danger events")
        ordering = ["danger", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.danger_id} {self.kind} {self.at}"
