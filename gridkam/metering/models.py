"""Interval data (负荷曲线): 15-minute readings per metering point, the import batches they came in,
and daily and monthly rollups per metering point and per account.

Conventions (DOMAIN.md "Interval data"): a reading is stamped with the END of its interval (the 00:15
reading covers 00:00–00:15; 24:00 is 00:00 of the next day); its day and its time-of-use period are
those of the interval's START, in Asia/Shanghai. Values are primary-side kWh and kvarh.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridkam.customers.models import ElectricityAccount, MeteringPoint, RelatedToCustomerQuerySet

from .choices import BatchStatus, FailureReason, FileFormat

INTERVALS_PER_DAY = 96
ZERO = Decimal("0")


class ImportBatchQuerySet(models.QuerySet):
    def visible_to(self, user) -> ImportBatchQuerySet:
        """Staff see the batches they imported; supervisors and administrators every batch."""
        if not user.is_authenticated or not user.is_active or user.is_customer_user:
            return self.none()
        if user.is_administrator or user.is_supervisor:
            return self.all()
        return self.filter(created_by=user)


class ImportBatch(models.Model):
    """One readings file as imported: who, when, what it held, what was written and what was refused.
    A committed batch can be rolled back as a whole (readings it added are removed, readings it
    changed get their previous values back). A background import starts "queued"; while it runs, its
    progress is in the cache (``progress.py``), not here: the loader's transaction hides its writes."""

    file_name = models.CharField(_("file name"), max_length=255)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64, db_index=True)
    file_format = models.CharField(_("format"), max_length=10, choices=FileFormat.choices)
    skip_invalid = models.BooleanField(_("rejected rows skipped"), default=False)
    status = models.CharField(_("status"), max_length=12, choices=BatchStatus.choices, default=BatchStatus.RUNNING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("imported by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    rows = models.PositiveIntegerField(_("readings in the file"), default=0)
    inserted = models.PositiveIntegerField(_("inserted"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejected rows"), default=0)
    rejected = models.JSONField(_("rejected rows"), default=list, blank=True)
    gaps = models.JSONField(_("gaps"), default=list, blank=True)
    points = models.PositiveIntegerField(_("metering points"), default=0)
    first_interval_end = models.DateTimeField(_("first interval end"), null=True, blank=True)
    last_interval_end = models.DateTimeField(_("last interval end"), null=True, blank=True)
    failure = models.CharField(_("why it failed"), max_length=20, choices=FailureReason.choices, blank=True)
    rolled_back_at = models.DateTimeField(_("rolled back at"), null=True, blank=True)
    rolled_back_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rolled back by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ImportBatchQuerySet.as_manager()

    class Meta:
        verbose_name = _("readings import")
        verbose_name_plural = _("readings imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.file_name}"


class ReadingQuerySet(RelatedToCustomerQuerySet):
    customer_path = "metering_point__account__customer"


class Reading(models.Model):
    """One 15-minute reading of a metering point. On PostgreSQL the table is range-partitioned by
    ``interval_end`` (one partition per month, created as data arrives)."""

    pk = models.CompositePrimaryKey("metering_point_id", "interval_end")
    metering_point = models.ForeignKey(
        MeteringPoint, verbose_name=_("metering point"), on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    interval_end = models.DateTimeField(_("interval end"))
    day = models.DateField(_("day"), help_text=_("Local date of the interval's start."))
    period = models.SmallIntegerField(
        _("time-of-use period"),
        null=True,
        help_text=_("Index into the periods (sharp … deep valley) of the interval's start; empty without a tariff."),
    )
    kwh = models.DecimalField(_("active energy (kWh)"), max_digits=14, decimal_places=3)
    kvarh_lag = models.DecimalField(_("lagging reactive energy (kvarh)"), max_digits=14, decimal_places=3, null=True)
    kvarh_lead = models.DecimalField(_("leading reactive energy (kvarh)"), max_digits=14, decimal_places=3, null=True)
    estimated = models.BooleanField(_("estimated"), default=False)
    batch = models.ForeignKey(
        ImportBatch, verbose_name=_("import"), on_delete=models.SET_NULL, null=True, related_name="+"
    )

    objects = ReadingQuerySet.as_manager()

    class Meta:
        verbose_name = _("reading")
        verbose_name_plural = _("readings")
        indexes = [models.Index(fields=["batch"], name="reading_batch")]

    def __str__(self) -> str:
        return f"{self.metering_point_id} {self.interval_end:%Y-%m-%d %H:%M} {self.kwh} kWh"


class ReadingUndo(models.Model):
    """What a batch overwrote: the previous values of the readings it changed, to roll it back."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="+")
    metering_point_id = models.BigIntegerField()
    interval_end = models.DateTimeField()
    kwh = models.DecimalField(max_digits=14, decimal_places=3)
    kvarh_lag = models.DecimalField(max_digits=14, decimal_places=3, null=True)
    kvarh_lead = models.DecimalField(max_digits=14, decimal_places=3, null=True)
    estimated = models.BooleanField(default=False)
    previous_batch_id = models.BigIntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["batch", "metering_point_id", "interval_end"], name="reading_undo_key")]

    def __str__(self) -> str:
        return f"batch {self.batch_id}: {self.metering_point_id} {self.interval_end:%Y-%m-%d %H:%M}"


def _energy(label):
    return models.DecimalField(label, max_digits=16, decimal_places=3, default=ZERO)


class RollupFields(models.Model):
    """Energy by time-of-use period (of the account's tariff calendar), reactive sums, maximum demand
    (kW = kWh × 4 over one interval) and when, and how many intervals were there or estimated."""

    sharp_kwh = _energy(_("sharp-peak energy (kWh)"))
    peak_kwh = _energy(_("peak energy (kWh)"))
    flat_kwh = _energy(_("flat energy (kWh)"))
    valley_kwh = _energy(_("valley energy (kWh)"))
    deep_valley_kwh = _energy(_("deep-valley energy (kWh)"))
    unpriced_kwh = _energy(_("energy outside a tariff calendar (kWh)"))
    kwh_total = _energy(_("active energy (kWh)"))
    kvarh_lag = _energy(_("lagging reactive energy (kvarh)"))
    kvarh_lead = _energy(_("leading reactive energy (kvarh)"))
    max_demand_kw = models.DecimalField(_("maximum demand (kW)"), max_digits=14, decimal_places=3, null=True)
    max_demand_at = models.DateTimeField(_("maximum demand at (interval end)"), null=True)
    intervals = models.PositiveIntegerField(_("intervals with a reading"), default=0)
    expected_intervals = models.PositiveIntegerField(_("intervals in the period"), default=0)
    estimated_intervals = models.PositiveIntegerField(_("estimated intervals"), default=0)

    class Meta:
        abstract = True

    @property
    def missing_intervals(self) -> int:
        return max(self.expected_intervals - self.intervals, 0)


class PointRollupQuerySet(RelatedToCustomerQuerySet):
    customer_path = "metering_point__account__customer"


class AccountRollupQuerySet(RelatedToCustomerQuerySet):
    customer_path = "account__customer"


class PointDailyRollup(RollupFields):
    metering_point = models.ForeignKey(MeteringPoint, on_delete=models.CASCADE, related_name="daily_rollups")
    day = models.DateField(_("day"))

    objects = PointRollupQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["metering_point", "day"], name="point_daily_unique")]

    def __str__(self) -> str:
        return f"{self.metering_point_id} {self.day:%Y-%m-%d}"


class PointMonthlyRollup(RollupFields):
    metering_point = models.ForeignKey(MeteringPoint, on_delete=models.CASCADE, related_name="monthly_rollups")
    month = models.DateField(_("month"))

    objects = PointRollupQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["metering_point", "month"], name="point_monthly_unique")]

    def __str__(self) -> str:
        return f"{self.metering_point_id} {self.month:%Y-%m}"


class AccountDailyRollup(RollupFields):
    """The account's billing points summed per interval, then rolled up: its maximum demand is that of
    the summed curve, not the sum of the points' maxima."""

    account = models.ForeignKey(ElectricityAccount, on_delete=models.CASCADE, related_name="daily_rollups")
    day = models.DateField(_("day"))

    objects = AccountRollupQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "day"], name="account_daily_unique")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day:%Y-%m-%d}"


class AccountMonthlyRollup(RollupFields):
    account = models.ForeignKey(ElectricityAccount, on_delete=models.CASCADE, related_name="monthly_rollups")
    month = models.DateField(_("month"))

    objects = AccountRollupQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "month"], name="account_monthly_unique")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.month:%Y-%m}"
