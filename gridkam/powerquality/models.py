"""Power-quality events (电能质量事件) of key accounts and the monitoring-export imports that bring them in."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridkam.customers.models import ElectricityAccount, MeteringPoint, RelatedToCustomerQuerySet

from .choices import MEASURED_KINDS, RMS_KINDS, Phase, PqKind, PqSource, Severity

SAG_RANGE = (Decimal("10"), Decimal("90"))  # GB/T 30137: a sag leaves 10–90 % of the declared voltage
SWELL_ABOVE = Decimal("110")
INTERRUPTION_BELOW = Decimal("10")


class ImportStatus(models.TextChoices):
    IMPORTED = "imported", pgettext_lazy("import status", "Imported")
    REJECTED = "rejected", _("Rejected")


class PqImportQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Staff see the imports they ran (administrators all); portal users none."""
        if not getattr(user, "is_authenticated", False) or user.is_customer_user:
            return self.none()
        if user.is_administrator:
            return self
        return self.filter(uploaded_by=user)


class PqImport(models.Model):
    """One upload of a monitoring system's event export: all its rows were imported, or none (``rejected`` lists
    every rejected row with its line and reason)."""

    file_name = models.CharField(_("file name"), max_length=200)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ImportStatus.choices)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    created_count = models.PositiveIntegerField(_("events created"), default=0)
    duplicate_count = models.PositiveIntegerField(_("already imported"), default=0)
    rejected = models.JSONField(_("rejected rows"), default=list, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded at"))

    objects = PqImportQuerySet.as_manager()

    class Meta:
        verbose_name = _("power-quality import")
        verbose_name_plural = _("power-quality imports")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.file_name


class PqEventQuerySet(RelatedToCustomerQuerySet):
    customer_path = "account__customer"


class PowerQualityEvent(models.Model):
    """A voltage sag, swell, short interruption or a measured value above its limit (harmonics, flicker,
    unbalance, frequency) at a key account, as the customer reported it, the monitoring system recorded it or
    staff entered it. ``severity``, ``outside_tolerance`` and ``applied_limit`` are set by the services from
    ``classify.classify``; the customer's impact (production stopped, estimated loss in yuan) is what they told us.
    """

    account = models.ForeignKey(
        ElectricityAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="pq_events"
    )
    metering_point = models.ForeignKey(
        MeteringPoint,
        verbose_name=_("metering point"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pq_events",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=PqKind.choices)
    started_at = models.DateTimeField(_("start"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    residual_pct = models.DecimalField(
        _("residual voltage (%)"),
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("300"))],
        # xgettext:no-python-format
        help_text=_("Sags, swells and interruptions: the voltage left, in % of the declared voltage."),
    )
    value = models.DecimalField(
        _("measured value"),
        max_digits=9,
        decimal_places=3,
        null=True,
        blank=True,
        help_text=_("Harmonics: THDu %; flicker: Plt; unbalance: %; frequency: deviation in Hz."),
    )
    unit = models.CharField(_("unit"), max_length=8, blank=True)
    limit_value = models.DecimalField(
        _("limit"),
        max_digits=9,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.001"))],
        help_text=_("Leave empty to apply the national standard's limit for the account's voltage level."),
    )
    phases = models.CharField(_("phase(s)"), max_length=3, choices=Phase.choices, blank=True)
    source = models.CharField(_("source"), max_length=12, choices=PqSource.choices)
    description = models.TextField(_("description"), blank=True)
    production_stopped = models.BooleanField(_("production stopped"), default=False)
    loss_yuan = models.DecimalField(
        _("estimated loss (yuan)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.UNKNOWN)
    outside_tolerance = models.BooleanField(_("outside tolerance"), default=False)
    applied_limit = models.DecimalField(_("applied limit"), max_digits=9, decimal_places=3, null=True, blank=True)
    service_request = models.ForeignKey(
        "servicedesk.ServiceRequest",
        verbose_name=_("service request"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pq_events",
    )
    import_batch = models.ForeignKey(
        PqImport, verbose_name=_("import"), null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    # Monitoring rows only: account|metering point|kind|start (UTC)|phases — a re-import finds them and skips them.
    natural_key = models.CharField(_("natural key"), max_length=120, blank=True, editable=False)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"))

    objects = PqEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("power-quality event")
        verbose_name_plural = _("power-quality events")
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["natural_key"],
                condition=~Q(natural_key=""),
                name="pq_event_natural_key_unique",
                violation_error_message=_("This monitoring event was imported before."),
            )
        ]
        indexes = [models.Index(fields=["account", "started_at"], name="pq_event_account_start")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_rms(self) -> bool:
        return self.kind in RMS_KINDS

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.metering_point_id and self.account_id and self.metering_point.account_id != self.account_id:
            errors["metering_point"] = _("The metering point does not belong to this account.")
        measured_needed = self.source != PqSource.CUSTOMER
        if self.kind in RMS_KINDS:
            if measured_needed and self.duration_ms is None:
                errors["duration_ms"] = _("Enter the duration in milliseconds.")
            if self.value is not None:
                errors["value"] = _("Sags, swells and interruptions have a residual voltage, not a measured value.")
            residual = self.residual_pct
            if residual is None:
                if measured_needed and self.kind != PqKind.INTERRUPTION:
                    errors["residual_pct"] = _("Enter the residual voltage in %.")
            elif self.kind == PqKind.SAG and not SAG_RANGE[0] <= residual < SAG_RANGE[1]:
                errors["residual_pct"] = _(
                    "A sag leaves 10 % to 90 % of the voltage; below 10 % it is an interruption."
                )
            elif self.kind == PqKind.SWELL and residual <= SWELL_ABOVE:
                # xgettext:no-python-format
                errors["residual_pct"] = _("A swell is above 110 % of the voltage.")
            elif self.kind == PqKind.INTERRUPTION and residual >= INTERRUPTION_BELOW:
                # xgettext:no-python-format
                errors["residual_pct"] = _("An interruption leaves less than 10 % of the voltage.")
        elif self.kind in MEASURED_KINDS:
            if self.residual_pct is not None:
                errors["residual_pct"] = _("Only sags, swells and interruptions have a residual voltage.")
            if measured_needed and self.value is None:
                errors["value"] = _("Enter the measured value.")
            elif self.value is not None and self.value < 0 and self.kind != PqKind.FREQUENCY:
                errors["value"] = _("The measured value cannot be negative.")
        if errors:
            raise ValidationError(errors)
