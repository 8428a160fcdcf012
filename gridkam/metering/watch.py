"""Watching many accounts' load at once: the portfolio figures (change, load factor, utilisation) and the
anomaly list (consumption drop, missing data, power factor under standard, demand over contract).

Everything is computed from the daily and monthly account rollups in a few set-based queries, whatever the
number of accounts or readings; nothing is stored, so the figures are always those of the data as it stands.

Windows, all ending on ``as_of`` (by default yesterday, the last complete day):
- the last 30 days against the 30 before them (change, load factor, utilisation of the maximum demand);
- the last 7 days against the 28 before them (a drop of the average daily energy; missing intervals);
- the last complete month (power factor, as the bill engine computes it).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridkam.customers.models import ElectricityAccount
from gridkam.tariffs.choices import VersionStatus
from gridkam.tariffs.models import TariffVersion
from gridkam.tariffs.powerfactor import power_factor

from .models import INTERVALS_PER_DAY, AccountDailyRollup, AccountMonthlyRollup

DAY = datetime.timedelta(days=1)
RECENT_DAYS = 7
BASE_DAYS = 28
COMPARED_DAYS = 30
# DOMAIN.md: demand above 105 % of the contract demand is charged at double price.
OVER_CONTRACT = Decimal("1.05")


def drop_ratio() -> Decimal:
    """A fall of the average daily energy by this share or more is an anomaly (GRIDKAM_LOAD_DROP_RATIO)."""
    return Decimal(str(settings.GRIDKAM.get("LOAD_DROP_RATIO", 0.3)))


def default_as_of() -> datetime.date:
    return timezone.localdate() - DAY


def last_complete_month(as_of: datetime.date) -> datetime.date:
    """The latest month that ends on or before ``as_of``."""
    following = as_of + DAY
    first = following.replace(day=1)
    return (first - DAY).replace(day=1)


@dataclass(frozen=True)
class Windows:
    as_of: datetime.date

    @property
    def recent(self) -> Q:
        return _days(self.as_of - DAY * (RECENT_DAYS - 1), self.as_of)

    @property
    def base(self) -> Q:
        return _days(self.as_of - DAY * (RECENT_DAYS + BASE_DAYS - 1), self.as_of - DAY * RECENT_DAYS)

    @property
    def last30(self) -> Q:
        return _days(self.as_of - DAY * (COMPARED_DAYS - 1), self.as_of)

    @property
    def previous30(self) -> Q:
        return _days(self.as_of - DAY * (2 * COMPARED_DAYS - 1), self.as_of - DAY * COMPARED_DAYS)

    @property
    def recent_first(self) -> datetime.date:
        return self.as_of - DAY * (RECENT_DAYS - 1)

    @property
    def last30_first(self) -> datetime.date:
        return self.as_of - DAY * (COMPARED_DAYS - 1)


def _days(first: datetime.date, last: datetime.date) -> Q:
    return Q(daily_rollups__day__gte=first, daily_rollups__day__lte=last)


def _ratio(numerator, denominator):
    return ExpressionWrapper(
        Cast(numerator, FloatField()) / NullIf(Cast(denominator, FloatField()), Value(0.0)),
        output_field=FloatField(),
    )


def accounts_with_load(accounts: QuerySet[ElectricityAccount], as_of: datetime.date) -> QuerySet[ElectricityAccount]:
    """The accounts annotated with their load figures (None where there is nothing to compute from):

    ``kwh_30d``, ``kwh_prev_30d``, ``change_30d`` (share, −0.25 = a quarter less), ``max_demand_30d``,
    ``load_factor_30d``, ``utilisation`` (maximum demand ÷ contract demand, or ÷ capacity without one),
    ``kwh_7d``/``days_7d``, ``kwh_base``/``days_base`` (days with readings), ``intervals_7d``, ``max_demand_day``,
    and the last complete month's ``month_kwh``/``month_kvarh_lag``/``month_kvarh_lead``.
    """
    w = Windows(as_of)
    energy = "daily_rollups__kwh_total"
    with_readings = Q(daily_rollups__intervals__gt=0)
    month = last_complete_month(as_of)
    monthly = AccountMonthlyRollup.objects.filter(account=OuterRef("pk"), month=month)
    peak_day = (
        AccountDailyRollup.objects.filter(
            account=OuterRef("pk"), day__gte=w.last30_first, day__lte=as_of, max_demand_kw__isnull=False
        )
        .order_by("-max_demand_kw", "day")
        .values("day")[:1]
    )
    decimal = DecimalField(max_digits=16, decimal_places=3)
    qs = (
        ElectricityAccount.objects.filter(pk__in=accounts.values("pk"))
        .select_related("customer")
        .annotate(
            kwh_30d=Sum(energy, filter=w.last30),
            kwh_prev_30d=Sum(energy, filter=w.previous30),
            intervals_30d=Sum("daily_rollups__intervals", filter=w.last30),
            max_demand_30d=Max("daily_rollups__max_demand_kw", filter=w.last30),
            kwh_7d=Sum(energy, filter=w.recent),
            days_7d=Count("daily_rollups", filter=w.recent & with_readings),
            intervals_7d=Coalesce(Sum("daily_rollups__intervals", filter=w.recent), 0),
            kwh_base=Sum(energy, filter=w.base),
            days_base=Count("daily_rollups", filter=w.base & with_readings),
            max_demand_day=Subquery(peak_day),
            month_kwh=Subquery(monthly.values("kwh_total")[:1], output_field=decimal),
            month_kvarh_lag=Subquery(monthly.values("kvarh_lag")[:1], output_field=decimal),
            month_kvarh_lead=Subquery(monthly.values("kvarh_lead")[:1], output_field=decimal),
        )
        .annotate(
            change_30d=ExpressionWrapper(
                _ratio(F("kwh_30d"), F("kwh_prev_30d")) - Value(1.0), output_field=FloatField()
            ),
            load_factor_30d=_ratio(F("kwh_30d"), F("intervals_30d") * Value(0.25) * F("max_demand_30d")),
            utilisation=_ratio(F("max_demand_30d"), Coalesce(F("contract_demand_kw"), F("capacity_kva"))),
        )
    )
    return qs


# -- anomalies -----------------------------------------------------------------------------------------------


class Kind:
    DROP = "drop"
    MISSING = "missing"
    LOW_PF = "low_pf"
    OVER_DEMAND = "over_demand"

    labels = {
        DROP: gettext_lazy("Consumption down"),
        MISSING: gettext_lazy("Missing data"),
        LOW_PF: gettext_lazy("Power factor under standard"),
        # xgettext:no-python-format
        OVER_DEMAND: gettext_lazy("Demand over 105 % of contract"),
    }
    choices = list(labels.items())


@dataclass
class Anomaly:
    kind: str
    account: ElectricityAccount
    day: datetime.date  # where the curve should open
    zoom: str  # "day", "week" or "month"
    severity: float  # how far past the threshold, comparable within a kind (larger is worse)
    detail: str

    @property
    def kind_label(self) -> str:
        return str(Kind.labels[self.kind])

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "kind_label": self.kind_label,
            "account": self.account.account_no,
            "account_id": self.account.pk,
            "customer": self.account.customer.name,
            "customer_id": self.account.customer_id,
            "day": self.day.isoformat(),
            "zoom": self.zoom,
            "severity": round(self.severity, 4),
            "detail": self.detail,
        }


def load_anomalies(accounts: QuerySet[ElectricityAccount], as_of: datetime.date) -> list[Anomaly]:
    """Every anomaly of the accounts as of the day, worst first within each kind. Accounts without any readings
    in the last five weeks are not watched (they have no acquisition data to judge)."""
    watched = accounts_with_load(accounts, as_of).filter(Q(days_7d__gt=0) | Q(days_base__gt=0))
    return anomalies_in(list(watched), as_of)


def anomalies_in(rows: list[ElectricityAccount], as_of: datetime.date) -> list[Anomaly]:
    """The anomalies of accounts already annotated by ``accounts_with_load`` (one more query: the tariff
    versions); accounts without readings in the five weeks are skipped."""
    w = Windows(as_of)
    rows = [a for a in rows if a.days_7d or a.days_base]
    versions = _versions_in_effect({a.tariff_id for a in rows if a.tariff_id}, last_complete_month(as_of))
    threshold = drop_ratio()
    found: list[Anomaly] = []
    for a in rows:
        if a.days_7d and a.days_base and a.kwh_base:
            recent = a.kwh_7d / a.days_7d
            base = a.kwh_base / a.days_base
            change = recent / base - 1
            if change <= -threshold:
                found.append(
                    Anomaly(
                        Kind.DROP,
                        a,
                        w.recent_first,
                        "week",
                        float(-change),
                        _("%(recent)s kWh a day in the last 7 days against %(base)s in the 28 before (%(change)s).")
                        % {"recent": _round(recent), "base": _round(base), "change": _change(change)},
                    )
                )
        expected = RECENT_DAYS * INTERVALS_PER_DAY
        missing = expected - min(a.intervals_7d, expected)
        if missing:
            found.append(
                Anomaly(
                    Kind.MISSING,
                    a,
                    w.recent_first,
                    "week",
                    missing / expected,
                    _("%(missing)d of %(expected)d quarter-hours missing in the last 7 days.")
                    % {"missing": missing, "expected": expected},
                )
            )
        if a.pf_standard != "none" and a.month_kwh:
            version = versions.get(a.tariff_id)
            counted = a.month_kvarh_lag + (a.month_kvarh_lead if version and version.pf_counts_leading else 0)
            cos_phi = power_factor(a.month_kwh, counted)
            standard = Decimal(a.pf_standard)
            if cos_phi is not None and cos_phi < standard:
                month = last_complete_month(as_of)
                found.append(
                    Anomaly(
                        Kind.LOW_PF,
                        a,
                        month,
                        "month",
                        float(standard - cos_phi),
                        _("Power factor %(pf)s in %(month)s, standard %(standard)s.")
                        % {"pf": cos_phi, "month": f"{month:%Y-%m}", "standard": a.pf_standard},
                    )
                )
        if a.contract_demand_kw and a.max_demand_30d and a.max_demand_30d > a.contract_demand_kw * OVER_CONTRACT:
            ratio = a.max_demand_30d / a.contract_demand_kw
            found.append(
                Anomaly(
                    Kind.OVER_DEMAND,
                    a,
                    a.max_demand_day or w.last30_first,
                    "day",
                    float(ratio - OVER_CONTRACT),
                    _("Maximum demand %(demand)s kW on %(day)s: %(ratio)s of the contract demand %(contract)s kW.")
                    % {
                        "demand": _round(a.max_demand_30d),
                        "day": a.max_demand_day,
                        "ratio": _percent(ratio),
                        "contract": _round(a.contract_demand_kw),
                    },
                )
            )
    order = {kind: i for i, (kind, _label) in enumerate(Kind.choices)}
    found.sort(key=lambda x: (order[x.kind], -x.severity, x.account.account_no))
    return found


def _versions_in_effect(codes: set[str], month: datetime.date) -> dict[str, TariffVersion]:
    """The published version of each tariff in effect on the 1st of the month, in one query."""
    chosen: dict[str, TariffVersion] = {}
    if not codes:
        return chosen
    versions = (
        TariffVersion.objects.filter(tariff__code__in=codes, status=VersionStatus.PUBLISHED)
        .annotate(code=F("tariff__code"))
        .order_by("effective_from")
    )
    for version in versions:
        if version.effective_from <= month or version.code not in chosen:
            chosen[version.code] = version
    return chosen


def _round(value) -> str:
    return f"{Decimal(value):,.0f}"


def _percent(value) -> str:
    """A ratio as a percentage ("112 %")."""
    return f"{float(value) * 100:.0f} %"


def _change(value) -> str:
    """A change as a signed percentage ("-42 %")."""
    return f"{float(value) * 100:+.0f} %"
