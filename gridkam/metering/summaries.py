"""A month of a metering point's or an account's load in figures (``load_summary`` and the summary endpoints).

Everything comes from the monthly rollups, so a summary costs a few queries whatever the number of
readings behind it. The month is that of the intervals' starts (the rollups' convention), and a month
without a rollup row is a month without readings: no energy, every interval missing.

The result is the JSON document itself: decimals as strings (no client rounds them through a float),
``null`` where there is nothing to show (no maximum without readings, no power factor without energy,
no load factor without a maximum).
"""

from __future__ import annotations

import calendar
import datetime
import re
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from gridkam.customers.models import ElectricityAccount, MeteringPoint
from gridkam.tariffs.choices import Period
from gridkam.tariffs.models import TariffVersion
from gridkam.tariffs.powerfactor import power_factor
from gridkam.tariffs.selectors import tariff_version_current

from .models import INTERVALS_PER_DAY, AccountMonthlyRollup, PointMonthlyRollup, RollupFields

# Sharp, peak, flat and valley are always shown (zero where the calendar has none); deep valley only
# where it can occur, so that most accounts do not carry a period that never applies to them.
ALWAYS_SHOWN = (Period.SHARP, Period.PEAK, Period.FLAT, Period.VALLEY)
INTERVAL_HOURS = Decimal("0.25")

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_THOUSANDTH = Decimal("0.001")
_HUNDREDTH = Decimal("0.01")


def month_parse(text: str) -> datetime.date:
    """The first day of the month written ``YYYY-MM``; ValueError with a message for anything else."""
    match = _MONTH.fullmatch(str(text).strip())
    try:
        if match is None:
            raise ValueError
        return datetime.date(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ValueError(
            _("“%(value)s” is not a month; write it as YYYY-MM, e.g. 2025-03.") % {"value": text}
        ) from None


def month_intervals(month: datetime.date) -> int:
    """Quarter-hours in the month (no daylight saving in Asia/Shanghai: every day has 96)."""
    return calendar.monthrange(month.year, month.month)[1] * INTERVALS_PER_DAY


def month_intervals_due(month: datetime.date, now: datetime.datetime | None = None) -> int:
    """Quarter-hours of the month whose reading is due by ``now``: all of them for a past month, those that
    have ended for the month in progress, none for a month to come. Intervals not yet over are not missing."""
    now = timezone.localtime(now)
    start = datetime.datetime.combine(month, datetime.time(), tzinfo=now.tzinfo)
    ended = int((now - start).total_seconds() // 900)
    return max(0, min(month_intervals(month), ended))


def point_month_summary(point: MeteringPoint, month: datetime.date) -> dict:
    """The point's month; the tariff (for the power-factor rule and the periods shown) is its account's."""
    rollup = PointMonthlyRollup.objects.filter(metering_point=point, month=month).first()
    version = _tariff_version(point.account, month)
    return {"metering_point": point.code, **summary_values(rollup or PointMonthlyRollup(), month, version)}


def account_month_summary(account: ElectricityAccount, month: datetime.date) -> dict:
    """The account's month: its billing points summed per interval (so the maximum is that of the summed curve)."""
    rollup = AccountMonthlyRollup.objects.filter(account=account, month=month).first()
    version = _tariff_version(account, month)
    return {"account": account.account_no, **summary_values(rollup or AccountMonthlyRollup(), month, version)}


def _tariff_version(account: ElectricityAccount, month: datetime.date) -> TariffVersion | None:
    # The version the bill of that month is priced under (quoting takes the one in effect on the 1st).
    if not account.tariff_id:
        return None
    return tariff_version_current(code=account.tariff_id, on=month)


def summary_values(rollup: RollupFields, month: datetime.date, version: TariffVersion | None) -> dict:
    """The summary figures of one monthly rollup (an unsaved, all-default one for a month without readings)."""
    counts_leading = version is not None and version.pf_counts_leading
    periods = list(ALWAYS_SHOWN)
    # Deep valley when the tariff prices it, and whenever some energy was booked to it (a calendar
    # that changed), so that no energy disappears from the breakdown.
    if (version is not None and Period.DEEP_VALLEY in version.energy_prices()) or rollup.deep_valley_kwh:
        periods.append(Period.DEEP_VALLEY)
    expected = month_intervals_due(month)
    has_readings = rollup.intervals > 0
    max_demand_kw = rollup.max_demand_kw if has_readings else None
    max_demand_at = rollup.max_demand_at if has_readings else None
    # Exactly as the bill engine: lagging kvarh, plus leading where the tariff counts it.
    counted_kvarh = rollup.kvarh_lag + (rollup.kvarh_lead if counts_leading else Decimal("0"))
    cos_phi = power_factor(rollup.kwh_total, counted_kvarh)
    return {
        "month": f"{month:%Y-%m}",
        "intervals": rollup.intervals,
        "missing_intervals": max(expected - rollup.intervals, 0),
        "kwh_total": _energy(rollup.kwh_total),
        "kwh_by_period": {str(period): _energy(getattr(rollup, f"{period}_kwh")) for period in periods},
        "kvarh_lag": _energy(rollup.kvarh_lag),
        "kvarh_lead": _energy(rollup.kvarh_lead),
        "max_demand_kw": None if max_demand_kw is None else _energy(max_demand_kw),
        "max_demand_at": None if max_demand_at is None else timezone.localtime(max_demand_at).isoformat(),
        "power_factor": None if cos_phi is None else str(cos_phi),
        "load_factor": _load_factor(rollup.kwh_total, rollup.intervals, max_demand_kw),
    }


def _load_factor(kwh: Decimal, intervals: int, max_demand_kw: Decimal | None) -> str | None:
    """Average kW over the intervals present ÷ maximum demand, 2 places half-up; None without a maximum.

    One division of exact operands: the quotient is correctly rounded to 28 digits, far closer than any
    .xx5 boundary it is not exactly on (the denominator is below 10^20), so the half-up rounding is exact.
    """
    if not intervals or not max_demand_kw:
        return None
    ratio = Decimal(kwh) / (intervals * INTERVAL_HOURS * Decimal(max_demand_kw))
    return str(ratio.quantize(_HUNDREDTH, rounding=ROUND_HALF_UP))


def _energy(value: Decimal) -> str:
    return str(Decimal(value).quantize(_THOUSANDTH))
