"""Load analytics of an account: its curve, daily band and heat map from the readings, and its months from the
monthly rollups.

The curve is read in ONE query per call (the account's metering points, the days asked for) straight into a
numpy grid of points × quarter-hours; the band, the heat map and the account's total are array operations on
that grid, never a loop over readings. A year of one point is 35,040 intervals.

Conventions (DOMAIN.md "Interval data"): the grid's column ``j`` of day ``d`` is the interval STARTING at
``d`` 00:00 + 15 min × j, i.e. the reading stamped 15 min later; column 95 is the 24:00 reading, dated 00:00
of the next day. Demand is kWh × 4. The account's total is the sum of its billing points per interval (check
points are shown, never added), as in the account rollups.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from gridkam.customers.choices import MeteringPurpose
from gridkam.customers.models import ElectricityAccount, MeteringPoint
from gridkam.tariffs.choices import Period, VersionStatus
from gridkam.tariffs.models import TariffVersion

from .models import INTERVALS_PER_DAY, AccountDailyRollup, AccountMonthlyRollup
from .rollups import Dialect
from .summaries import summary_values

DAY = datetime.timedelta(days=1)
INTERVAL = datetime.timedelta(minutes=15)
INTERVAL_SECONDS = 900
# The longest span one curve request may ask for: a leap year.
MAX_CURVE_DAYS = 366
DEFAULT_CURVE_DAYS = 365
# Months on the trend charts: two years, so that each month of the last year has its year-on-year figure.
TREND_MONTHS = 24


# Days the analytics accept: interval data is a matter of recent decades (and date arithmetic a year around an
# extreme day must not leave the calendar).
FIRST_DAY = datetime.date(1990, 1, 1)
LAST_DAY = datetime.date(2099, 12, 31)


class CurveRangeError(ValueError):
    """A day range the curve cannot be drawn for; ``field`` names the parameter at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass
class LoadCurve:
    """kW per metering point and quarter-hour over whole days (NaN where no reading arrived)."""

    account: ElectricityAccount
    first_day: datetime.date
    days: int
    points: list[MeteringPoint]
    kw: np.ndarray  # shape (points, days × 96)

    @property
    def first_interval_end(self) -> datetime.datetime:
        zone = ZoneInfo(settings.TIME_ZONE)
        return datetime.datetime.combine(self.first_day, datetime.time(), tzinfo=zone) + INTERVAL

    @property
    def total_kw(self) -> np.ndarray:
        """The account's load: its billing points summed per interval; NaN where none of them has a reading.
        An account without a billing point shows the sum of what it has."""
        billing = np.array([p.purpose == MeteringPurpose.BILLING for p in self.points], dtype=bool)
        rows = self.kw[billing] if billing.any() else self.kw
        if rows.shape[0] == 0:
            return np.full(self.days * INTERVALS_PER_DAY, np.nan)
        present = ~np.isnan(rows).all(axis=0)
        return np.where(present, np.nansum(rows, axis=0), np.nan)

    def daily_band(self) -> dict:
        """Per day: the highest, lowest and mean kW of the account's load (None for a day without readings)."""
        grid = self.total_kw.reshape(self.days, INTERVALS_PER_DAY)
        return {
            "days": [(self.first_day + DAY * d).isoformat() for d in range(self.days)],
            "max_kw": _listed(_nan_reduce(grid, np.max)),
            "min_kw": _listed(_nan_reduce(grid, np.min)),
            "mean_kw": _listed(_nan_mean(grid)),
        }

    def heatmap(self) -> dict:
        """Mean kW per month (of the intervals' start) and quarter-hour of the day: the shape of the day and how
        it moves through the year. Only months with readings have a row."""
        grid = self.total_kw.reshape(self.days, INTERVALS_PER_DAY)
        day_months = np.array(
            [(self.first_day + DAY * d).replace(day=1).toordinal() for d in range(self.days)], dtype=np.int64
        )
        present = ~np.isnan(grid).all(axis=1)
        # Months without any reading get no row: a heat map of blank years says nothing.
        months = sorted(set(day_months[present].tolist()))
        rows = [_listed(_nan_mean(grid[day_months == month].T)) for month in months]
        return {
            "months": [f"{datetime.date.fromordinal(m):%Y-%m}" for m in months],
            "quarter_hours": [_slot_label(j) for j in range(INTERVALS_PER_DAY)],
            "mean_kw": rows,
        }

    def as_dict(self) -> dict:
        """The API document: every series on the same 15-minute axis from ``first_interval_end``."""
        return {
            "account": self.account.account_no,
            "first_day": self.first_day.isoformat(),
            "last_day": (self.first_day + DAY * (self.days - 1)).isoformat(),
            "first_interval_end": self.first_interval_end.isoformat(),
            "step_minutes": 15,
            "series": [
                {"metering_point": p.code, "purpose": p.purpose, "kw": _listed(self.kw[i])}
                for i, p in enumerate(self.points)
            ],
            "total_kw": _listed(self.total_kw),
            "daily": self.daily_band(),
            "heatmap": self.heatmap(),
        }


def day_parse(text: str, field: str) -> datetime.date | None:
    """A day written YYYY-MM-DD (None for an empty text), or CurveRangeError naming ``field``."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        raise CurveRangeError(field, _("“%(value)s” is not a day; write it as YYYY-MM-DD.") % {"value": text}) from None
    return day_checked(day, field)


def day_checked(day: datetime.date | None, field: str) -> datetime.date | None:
    """The day, or CurveRangeError naming ``field`` when it lies outside FIRST_DAY … LAST_DAY."""
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise CurveRangeError(
            field,
            _("Give a day from %(first)s to %(last)s.")
            % {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )
    return day


def curve_range(
    account: ElectricityAccount, first: datetime.date | None, last: datetime.date | None
) -> tuple[datetime.date, datetime.date]:
    """The days a curve shows: those asked for, else the year ending on the account's last day with readings
    (or yesterday, for an account without any). Raises CurveRangeError naming the parameter at fault."""
    day_checked(first, "from")
    day_checked(last, "to")
    if last is None:
        last = (first + DAY * (DEFAULT_CURVE_DAYS - 1)) if first else last_reading_day(account)
    if first is None:
        first = last - DAY * (DEFAULT_CURVE_DAYS - 1)
    if first > last:
        raise CurveRangeError("from", _("The first day comes after the last day."))
    if (last - first).days + 1 > MAX_CURVE_DAYS:
        raise CurveRangeError(
            "to", _("A curve spans at most %(days)d days; ask for a shorter range.") % {"days": MAX_CURVE_DAYS}
        )
    return first, last


def last_reading_day(account: ElectricityAccount) -> datetime.date:
    day = (
        AccountDailyRollup.objects.filter(account=account, intervals__gt=0).aggregate(last=Max("day"))["last"]
        if account.pk
        else None
    )
    return day or (timezone.localdate() - DAY)


def load_curve(
    account: ElectricityAccount, first_day: datetime.date, last_day: datetime.date, *, points=None
) -> LoadCurve:
    """The account's metering points (or those given, all of the account) over the days, in one query."""
    points = list(points if points is not None else account.metering_points.order_by("purpose", "code"))
    days = (last_day - first_day).days + 1
    kw = np.full((len(points), days * INTERVALS_PER_DAY), np.nan)
    curve = LoadCurve(account=account, first_day=first_day, days=days, points=points, kw=kw)
    if not points:
        return curve
    start = curve.first_interval_end
    end = start + INTERVAL * (days * INTERVALS_PER_DAY - 1)
    ops = connection.ops
    dialect = Dialect.current()
    epoch = dialect.epoch("interval_end")
    kwh = "CAST(kwh AS double precision)" if dialect.postgresql else "CAST(kwh AS REAL)"
    marks = ", ".join(["%s"] * len(points))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT metering_point_id, {epoch}, {kwh} FROM metering_reading "
            f"WHERE metering_point_id IN ({marks}) AND interval_end >= %s AND interval_end <= %s",
            [*(p.pk for p in points), ops.adapt_datetimefield_value(start), ops.adapt_datetimefield_value(end)],
        )
        rows = cursor.fetchall()
    if rows:
        data = np.array(rows, dtype=np.float64)
        pks = np.array([p.pk for p in points], dtype=np.int64)
        order = np.argsort(pks)
        point_rows = order[np.searchsorted(pks[order], data[:, 0].astype(np.int64))]
        slots = ((data[:, 1].astype(np.int64) - int(start.timestamp())) // INTERVAL_SECONDS).astype(np.int64)
        kw[point_rows, slots] = data[:, 2] * 4
    return curve


# -- months --------------------------------------------------------------------------------------------------


def load_months(account: ElectricityAccount, last_month: datetime.date, count: int = TREND_MONTHS) -> list[dict]:
    """The account's last ``count`` months up to ``last_month``: the summary figures of each (as load_summary),
    the same month a year before, and maximum demand against the contract demand and the capacity.

    Two queries (rollups, tariff versions) whatever the number of months."""
    months = [_month_add(last_month, -i) for i in range(count - 1, -1, -1)]
    earliest = _month_add(months[0], -12)
    rollups = {
        r.month: r
        for r in AccountMonthlyRollup.objects.filter(account=account, month__gte=earliest, month__lte=last_month)
    }
    versions = _versions(account)
    rows = []
    for month in months:
        rollup = rollups.get(month) or AccountMonthlyRollup()
        values = summary_values(rollup, month, _version_on(versions, month))
        before = rollups.get(_month_add(month, -12))
        values["kwh_total_year_before"] = None if before is None else _thousandths(before.kwh_total)
        values["yoy_change"] = _ratio_change(rollup.kwh_total if rollup.intervals else None, before)
        values["contract_demand_utilisation"] = _share(rollup.max_demand_kw, account.contract_demand_kw, rollup)
        values["capacity_utilisation"] = _share(rollup.max_demand_kw, account.capacity_kva, rollup)
        rows.append(values)
    return rows


def months_chart(account: ElectricityAccount, rows: list[dict]) -> dict:
    """What the page's month charts draw: energy and its year-before, energy by period (stacked), power factor
    against the account's standard, maximum demand against contract demand (and 105 % of it) and capacity."""
    periods = [
        p for p in Period if any(row["intervals"] and Decimal(row["kwh_by_period"].get(p.value, 0)) for row in rows)
    ]
    series = [
        {
            "code": p.value,
            "label": str(p.label),
            "colour": PERIOD_COLOURS[p.value],
            "kwh": [_num(row["kwh_by_period"].get(p.value)) if row["intervals"] else None for row in rows],
        }
        for p in periods
    ]
    outside = [_unpriced(row) if row["intervals"] else None for row in rows]
    if any(outside):
        series.append(
            {"code": UNPRICED, "label": _("No time-of-use period"), "colour": UNPRICED_COLOUR, "kwh": outside}
        )
    standard = account.pf_standard
    return {
        "months": [row["month"] for row in rows],
        "kwh": [_num(row["kwh_total"]) if row["intervals"] else None for row in rows],
        "kwh_year_before": [_num(row["kwh_total_year_before"]) for row in rows],
        "periods": series,
        "power_factor": [_num(row["power_factor"]) for row in rows],
        "pf_standard": None if standard == "none" else float(standard),
        "max_demand_kw": [_num(row["max_demand_kw"]) for row in rows],
        "load_factor": [_num(row["load_factor"]) for row in rows],
        "contract_demand_kw": None if account.contract_demand_kw is None else float(account.contract_demand_kw),
        "capacity_kva": float(account.capacity_kva),
        "labels": {
            "kwh": _("Energy (kWh)"),
            "kwh_year_before": _("Same month a year before"),
            "power_factor": _("Power factor"),
            "pf_standard": _("Standard"),
            "max_demand_kw": _("Maximum demand (kW)"),
            "contract_demand_kw": _("Contract demand"),
            # xgettext:no-python-format
            "over_contract": _("105 % of contract demand"),
            "capacity_kva": _("Capacity (kVA)"),
            "load_factor": _("Load factor"),
        },
    }


def period_share(rows: list[dict]) -> list[dict]:
    """Energy by time-of-use period over the months given (the last twelve on the page), for the pie."""
    totals: dict[str, Decimal] = {}
    outside = Decimal(0)
    for row in rows:
        for period, kwh in row["kwh_by_period"].items():
            totals[period] = totals.get(period, Decimal(0)) + Decimal(kwh)
        outside += Decimal(str(_unpriced(row) or 0))
    share = [
        {"code": p.value, "label": str(p.label), "colour": PERIOD_COLOURS[p.value], "kwh": float(totals[p.value])}
        for p in Period
        if totals.get(p.value)
    ]
    if outside:
        share.append(
            {"code": UNPRICED, "label": _("No time-of-use period"), "colour": UNPRICED_COLOUR, "kwh": float(outside)}
        )
    return share


def _unpriced(row: dict) -> float | None:
    """Energy of the month outside the periods (an account without a tariff, or days its calendar misses)."""
    rest = Decimal(row["kwh_total"]) - sum((Decimal(v) for v in row["kwh_by_period"].values()), Decimal(0))
    return float(rest) if rest > 0 else None


UNPRICED = "unpriced"
UNPRICED_COLOUR = "#adb5bd"
PERIOD_COLOURS = {
    Period.SHARP.value: "#c92a2a",
    Period.PEAK.value: "#f08c00",
    Period.FLAT.value: "#4dabf7",
    Period.VALLEY.value: "#2f9e44",
    Period.DEEP_VALLEY.value: "#1864ab",
}


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _month_add(month: datetime.date, months: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _versions(account: ElectricityAccount) -> list[TariffVersion]:
    if not account.tariff_id:
        return []
    return list(
        TariffVersion.objects.filter(tariff__code=account.tariff_id, status=VersionStatus.PUBLISHED)
        .select_related("tariff")
        .order_by("effective_from")
    )


def _version_on(versions: list[TariffVersion], month: datetime.date) -> TariffVersion | None:
    """As summaries._tariff_version: the version in effect on the 1st, else the earliest one to come."""
    current = None
    for version in versions:
        if version.effective_from <= month:
            current = version
    return current or (versions[0] if versions else None)


def _ratio_change(now: Decimal | None, before: AccountMonthlyRollup | None) -> str | None:
    if now is None or before is None or not before.kwh_total:
        return None
    return str(((Decimal(now) - before.kwh_total) / before.kwh_total).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def _share(demand: Decimal | None, of: Decimal | None, rollup: AccountMonthlyRollup) -> str | None:
    if demand is None or not of or not rollup.intervals:
        return None
    return str((Decimal(demand) / Decimal(of)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def _thousandths(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.001")))


def _num(text) -> float | None:
    return None if text is None else float(text)


def _slot_label(j: int) -> str:
    """The start time of the day's j-th quarter-hour, HH:MM."""
    minutes = j * 15
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _listed(values: np.ndarray) -> list:
    """kW to 3 places as JSON numbers, NaN as null."""
    listed = np.round(values, 3).astype(object)
    listed[np.isnan(values)] = None
    return listed.tolist()


def _nan_reduce(grid: np.ndarray, reduce) -> np.ndarray:
    """Row-wise max or min ignoring NaN, NaN for a row of NaN only (without numpy's all-NaN warning)."""
    present = ~np.isnan(grid)
    fill = -np.inf if reduce is np.max else np.inf
    result = reduce(np.where(present, grid, fill), axis=1)
    return np.where(present.any(axis=1), result, np.nan)


def _nan_mean(grid: np.ndarray) -> np.ndarray:
    present = ~np.isnan(grid)
    counts = present.sum(axis=1)
    sums = np.where(present, grid, 0.0).sum(axis=1)
    return np.divide(sums, counts, out=np.full(grid.shape[0], np.nan), where=counts > 0)
