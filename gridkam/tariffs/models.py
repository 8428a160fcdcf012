"""The tariff catalogue: tariffs, their dated versions with prices, rules and time-of-use calendar,
and the monthly quantities of an account that bills and the cost advisor are computed from."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from gridkam.customers.models import ElectricityAccount, RelatedToCustomerQuerySet
from gridkam.users.permissions import is_active_user

from .choices import CustomerCategory, Period, Structure, UsageSource, VersionStatus, VoltageBand

if TYPE_CHECKING:
    from . import engine
    from .calendar import TouCalendar

ZERO = Decimal("0")


class TariffQuerySet(models.QuerySet):
    def visible_to(self, user) -> TariffQuerySet:
        """Tariffs are published prices: every signed-in user may read the catalogue."""
        return self.all() if is_active_user(user) else self.none()


class Tariff(models.Model):
    """A tariff (电价) of the catalogue, e.g. Guangdong two-part TOU at 1–10 kV. Its prices, rules and
    time-of-use calendar live in dated versions; the code is the natural key accounts refer to."""

    code = models.SlugField(_("code"), max_length=40, unique=True, allow_unicode=False)
    name = models.CharField(_("name"), max_length=200)
    region = models.CharField(_("region"), max_length=100)
    customer_category = models.CharField(_("customer category"), max_length=40, choices=CustomerCategory.choices)
    voltage_band = models.CharField(_("voltage band"), max_length=10, choices=VoltageBand.choices)
    structure = models.CharField(_("structure"), max_length=12, choices=Structure.choices)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("open to new accounts"), default=True)
    history = HistoricalRecords()

    objects = TariffQuerySet.as_manager()

    class Meta:
        verbose_name = _("tariff")
        verbose_name_plural = _("tariffs")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def two_part(self) -> bool:
        return self.structure == Structure.TWO_PART


class TariffVersionQuerySet(models.QuerySet):
    def visible_to(self, user) -> TariffVersionQuerySet:
        return self.all() if is_active_user(user) else self.none()

    def published(self) -> TariffVersionQuerySet:
        return self.filter(status=VersionStatus.PUBLISHED)

    def in_effect(self, *, code: str, on: datetime.date) -> TariffVersion | None:
        """The published version of tariff ``code`` in effect on ``on``: the latest one starting on or before it."""
        return (
            self.published()
            .filter(tariff__code=code, effective_from__lte=on)
            .select_related("tariff")
            .order_by("-effective_from")
            .first()
        )


PRICE_FIELDS = {
    Period.SHARP: "sharp_yuan_per_kwh",
    Period.PEAK: "peak_yuan_per_kwh",
    Period.FLAT: "flat_yuan_per_kwh",
    Period.VALLEY: "valley_yuan_per_kwh",
    Period.DEEP_VALLEY: "deep_valley_yuan_per_kwh",
}


def _energy_price(label):
    return models.DecimalField(
        label, max_digits=10, decimal_places=6, null=True, blank=True, validators=[MinValueValidator(ZERO)]
    )


def _basic_price(label):
    return models.DecimalField(
        label, max_digits=10, decimal_places=4, null=True, blank=True, validators=[MinValueValidator(ZERO)]
    )


class TariffVersion(models.Model):
    """The prices, rules and time-of-use calendar of a tariff from ``effective_from`` until the next version.

    A published version is frozen: bills keep a reference to it so they can be explained and recomputed,
    so a price change is a new version with a later date, never an edit.
    """

    tariff = models.ForeignKey(Tariff, verbose_name=_("tariff"), on_delete=models.PROTECT, related_name="versions")
    effective_from = models.DateField(_("effective from"))
    status = models.CharField(_("status"), max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    sharp_yuan_per_kwh = _energy_price(_("sharp-peak price (yuan/kWh)"))
    peak_yuan_per_kwh = _energy_price(_("peak price (yuan/kWh)"))
    flat_yuan_per_kwh = _energy_price(_("flat price (yuan/kWh)"))
    valley_yuan_per_kwh = _energy_price(_("valley price (yuan/kWh)"))
    deep_valley_yuan_per_kwh = _energy_price(_("deep-valley price (yuan/kWh)"))
    capacity_yuan_per_kva_month = _basic_price(_("capacity price (yuan/kVA·month)"))
    demand_yuan_per_kw_month = _basic_price(_("demand price (yuan/kW·month)"))
    funds_yuan_per_kwh = models.DecimalField(
        _("government funds (yuan/kWh)"),
        max_digits=10,
        decimal_places=6,
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
    )
    pf_counts_leading = models.BooleanField(
        _("power factor counts leading kvarh"),
        default=False,
        help_text=_(
            "Off: lagging kvarh only (the 1983 rule). On: leading kvarh is added, penalising over-compensation."
        ),
    )
    pf_base_includes_funds = models.BooleanField(
        _("power-factor adjustment includes government funds"),
        default=False,
        help_text=_("Off: the adjustment applies to basic + energy charge only."),
    )
    actual_demand_floor = models.BooleanField(
        # xgettext:no-python-format
        _("40 % floor for billing by actual demand"),
        default=False,
        # xgettext:no-python-format
        help_text=_("The 40 % of capacity floor always applies to a declared contract demand; this extends it."),
    )
    calendar = models.JSONField(_("time-of-use calendar"))
    illustrative = models.BooleanField(
        _("illustrative prices"),
        default=False,
        help_text=_("Prices are examples, not an official price table; shown as such wherever they are used."),
    )
    source = models.TextField(_("source"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    history = HistoricalRecords()

    objects = TariffVersionQuerySet.as_manager()

    class Meta:
        verbose_name = _("tariff version")
        verbose_name_plural = _("tariff versions")
        ordering = ["tariff__code", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["tariff", "effective_from"],
                name="tariff_version_unique_date",
                violation_error_message=_("This tariff already has a version from that date."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.tariff.code} @ {self.effective_from:%Y-%m-%d}"

    @property
    def label(self) -> str:
        return f"{self.tariff.code}@{self.effective_from:%Y-%m-%d}"

    @property
    def is_published(self) -> bool:
        return self.status == VersionStatus.PUBLISHED

    def energy_prices(self) -> dict[str, Decimal]:
        """yuan/kWh for each period this version prices, in period order."""
        return {period: getattr(self, name) for period, name in PRICE_FIELDS.items() if getattr(self, name) is not None}

    def prices(self) -> engine.Prices:
        from . import engine

        return engine.Prices(
            energy=self.energy_prices(),
            funds_yuan_per_kwh=self.funds_yuan_per_kwh,
            capacity_yuan_per_kva_month=self.capacity_yuan_per_kva_month,
            demand_yuan_per_kw_month=self.demand_yuan_per_kw_month,
        )

    def rules(self) -> engine.Rules:
        from . import engine

        return engine.Rules(
            two_part=self.tariff.two_part,
            pf_counts_leading=self.pf_counts_leading,
            pf_base_includes_funds=self.pf_base_includes_funds,
            actual_demand_floor=self.actual_demand_floor,
        )

    def tou_calendar(self) -> TouCalendar:
        from .calendar import parse_calendar

        return parse_calendar(self.calendar)

    def clean(self) -> None:
        from .calendar import CalendarError, parse_calendar

        errors: dict[str, list] = {}
        try:
            calendar = parse_calendar(self.calendar or {})
        except CalendarError as exc:
            errors["calendar"] = list(exc.errors)
            calendar = None
        if calendar is not None:
            for period in calendar.periods_used():
                if getattr(self, PRICE_FIELDS[period]) is None:
                    errors.setdefault(PRICE_FIELDS[period], []).append(
                        _("The calendar uses this period, so it needs a price.")
                    )
        tariff = self.tariff if self.tariff_id or TariffVersion.tariff.is_cached(self) else None
        if tariff is not None and tariff.two_part:
            for name in ("capacity_yuan_per_kva_month", "demand_yuan_per_kw_month"):
                if getattr(self, name) is None:
                    errors.setdefault(name, []).append(_("A two-part tariff needs this basic price."))
        if errors:
            raise ValidationError(errors)


class MonthlyUsageQuerySet(RelatedToCustomerQuerySet):
    customer_path = "account__customer"


def _energy(label):
    return models.DecimalField(
        label, max_digits=14, decimal_places=2, default=ZERO, validators=[MinValueValidator(ZERO)]
    )


class MonthlyUsage(models.Model):
    """One month's billing quantities of an account (结算电量): active energy by time-of-use period, reactive
    energy and maximum demand. Entered by staff, imported from the billing system, or rolled up from
    interval data; bills and the cost advisor are computed from it."""

    account = models.ForeignKey(
        ElectricityAccount, verbose_name=_("account"), on_delete=models.CASCADE, related_name="monthly_usage"
    )
    month = models.DateField(_("month"), help_text=_("The first day of the billing month."))
    sharp_kwh = _energy(_("sharp-peak energy (kWh)"))
    peak_kwh = _energy(_("peak energy (kWh)"))
    flat_kwh = _energy(_("flat energy (kWh)"))
    valley_kwh = _energy(_("valley energy (kWh)"))
    deep_valley_kwh = _energy(_("deep-valley energy (kWh)"))
    lagging_kvarh = _energy(_("lagging reactive energy (kvarh)"))
    leading_kvarh = _energy(_("leading reactive energy (kvarh)"))
    max_demand_kw = models.DecimalField(
        _("maximum demand (kW)"),
        max_digits=12,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO)],
    )
    source = models.CharField(_("source"), max_length=10, choices=UsageSource.choices, default=UsageSource.ENTERED)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    history = HistoricalRecords()

    objects = MonthlyUsageQuerySet.as_manager()

    class Meta:
        verbose_name = _("monthly usage")
        verbose_name_plural = _("monthly usage")
        ordering = ["account", "-month"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "month"],
                name="monthly_usage_unique_month",
                violation_error_message=_("This account already has quantities for that month."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.month:%Y-%m}"

    def clean(self) -> None:
        if self.month and self.month.day != 1:
            raise ValidationError({"month": _("Give the month as its first day.")})

    def energy_kwh(self) -> dict[str, Decimal]:
        return {period: getattr(self, f"{period}_kwh") for period in Period.values}

    @property
    def peak_and_sharp_kwh(self) -> Decimal:
        return self.peak_kwh + self.sharp_kwh

    @property
    def total_kwh(self) -> Decimal:
        return sum(self.energy_kwh().values(), ZERO)
