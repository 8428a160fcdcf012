"""Test data for interval data: a tariff with a calendar, metering points, parsed chunks as parsing.py delivers
them, and a plain-Python recomputation of every rollup to hold the SQL ones against."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import polars as pl

from gridkam.customers.models import MeteringPoint
from gridkam.customers.tests.factories import AccountFactory, MeteringPointFactory
from gridkam.metering.models import (
    INTERVALS_PER_DAY,
    AccountDailyRollup,
    AccountMonthlyRollup,
    PointDailyRollup,
    PointMonthlyRollup,
    Reading,
)
from gridkam.tariffs.models import Tariff, TariffVersion

try:
    from gridkam.metering.parsing import Chunk, Rejection
except ImportError:  # parsing.py is written in parallel; the loader only relies on the contract's shape.

    @dataclass
    class Rejection:
        line: int
        errors: list[str]

    @dataclass
    class Chunk:
        frame: pl.DataFrame
        rejected: list = field(default_factory=list)


LOCAL = ZoneInfo("Asia/Shanghai")
QUARTER = datetime.timedelta(minutes=15)
PERIOD_FIELDS = ("sharp_kwh", "peak_kwh", "flat_kwh", "valley_kwh", "deep_valley_kwh")
PERIOD = {"sharp": 0, "peak": 1, "flat": 2, "valley": 3, "deep_valley": 4}

# Valley 0–8, flat 8–10, peak 10–12, flat 12–14, peak 14–19, flat 19–24; July–September sharp 11–12 and 15–17;
# New Year's Day 2018 is a holiday with a deep valley 0–8.
CALENDAR = {
    "profiles": [
        {
            "key": "standard",
            "name": "非夏季",
            "months": [1, 2, 3, 4, 5, 6, 10, 11, 12],
            "ranges": [
                {"from": 0, "to": 8, "period": "valley"},
                {"from": 8, "to": 10, "period": "flat"},
                {"from": 10, "to": 12, "period": "peak"},
                {"from": 12, "to": 14, "period": "flat"},
                {"from": 14, "to": 19, "period": "peak"},
                {"from": 19, "to": 24, "period": "flat"},
            ],
        },
        {
            "key": "summer",
            "name": "夏季",
            "months": [7, 8, 9],
            "ranges": [
                {"from": 0, "to": 8, "period": "valley"},
                {"from": 8, "to": 11, "period": "flat"},
                {"from": 11, "to": 12, "period": "sharp"},
                {"from": 12, "to": 15, "period": "flat"},
                {"from": 15, "to": 17, "period": "sharp"},
                {"from": 17, "to": 19, "period": "peak"},
                {"from": 19, "to": 24, "period": "flat"},
            ],
        },
        {
            "key": "holiday",
            "name": "节假日",
            "months": [],
            "ranges": [{"from": 0, "to": 8, "period": "deep_valley"}, {"from": 8, "to": 24, "period": "valley"}],
        },
    ],
    "exceptions": [{"from": "2018-01-01", "to": "2018-01-01", "profile": "holiday", "name": "元旦"}],
}
# A later version: flat all day.
FLAT_CALENDAR = {
    "profiles": [
        {
            "key": "all",
            "name": "全年",
            "months": list(range(1, 13)),
            "ranges": [{"from": 0, "to": 24, "period": "flat"}],
        }
    ],
    "exceptions": [],
}


def make_tariff(code: str = "test-tou", *, versions=((datetime.date(2017, 1, 1), CALENDAR),)) -> Tariff:
    tariff = Tariff.objects.create(
        code=code,
        name="测试分时电价",
        region="测试",
        customer_category="large_industrial",
        voltage_band="1-10kV",
        structure="two_part",
    )
    for effective_from, calendar in versions:
        TariffVersion.objects.create(
            tariff=tariff,
            effective_from=effective_from,
            status="published",
            sharp_yuan_per_kwh=Decimal("1.2"),
            peak_yuan_per_kwh=Decimal("1"),
            flat_yuan_per_kwh=Decimal("0.6"),
            valley_yuan_per_kwh=Decimal("0.3"),
            deep_valley_yuan_per_kwh=Decimal("0.2"),
            capacity_yuan_per_kva_month=Decimal("22.6"),
            demand_yuan_per_kw_month=Decimal("36.1"),
            calendar=calendar,
        )
    return tariff


def make_points(n: int = 2, *, tariff: Tariff | None = None, account=None, capacity_kva="1000", purpose="billing"):
    """``n`` metering points of one account (a new one unless given)."""
    if account is None:
        account = AccountFactory(tariff=tariff, capacity_kva=Decimal(capacity_kva))
    return [MeteringPointFactory(account=account, purpose=purpose) for _i in range(n)]


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=LOCAL)


def day_readings(point: str, day: datetime.date, kwh, *, lag=None, lead=None, estimated=None) -> list[tuple]:
    """The 96 readings of a local day: P1 ends at 00:15, P96 at 24:00 (00:00 the next day). ``kwh(i)`` gives
    interval i's kWh in thousandths (i = 0 … 95); ``lag``/``lead``/``estimated`` likewise or None."""
    start = datetime.datetime.combine(day, datetime.time(), tzinfo=LOCAL)
    return [
        (
            point,
            start + QUARTER * (i + 1),
            kwh(i),
            lag(i) if lag else None,
            lead(i) if lead else None,
            bool(estimated(i)) if estimated else False,
        )
        for i in range(INTERVALS_PER_DAY)
    ]


def frame_of(readings: list[tuple], *, first_line: int = 2, lines: list[int] | None = None) -> pl.DataFrame:
    """A parsed frame (parsing.py contract) of (point, interval_end, kwh‰, lag‰, lead‰, estimated) tuples,
    numbered from ``first_line`` (line 1 is the header) unless ``lines`` are given."""
    lines = lines or list(range(first_line, first_line + len(readings)))
    return pl.DataFrame(
        {
            "line": lines,
            "point": [r[0] for r in readings],
            "interval_end": [r[1].astimezone(datetime.UTC) for r in readings],
            "kwh_milli": [r[2] for r in readings],
            "lag_milli": [r[3] for r in readings],
            "lead_milli": [r[4] for r in readings],
            "estimated": [r[5] for r in readings],
        },
        schema={
            "line": pl.Int64,
            "point": pl.Utf8,
            "interval_end": pl.Datetime("us", "UTC"),
            "kwh_milli": pl.Int64,
            "lag_milli": pl.Int64,
            "lead_milli": pl.Int64,
            "estimated": pl.Boolean,
        },
    )


def chunk_of(readings: list[tuple], *, rejected=(), **kwargs) -> Chunk:
    return Chunk(frame=frame_of(readings, **kwargs), rejected=[Rejection(line=line, errors=e) for line, e in rejected])


# -- rollups recomputed from the readings, in plain Python ---------------------------------------------------

ROLLUP_FIELDS = (
    *PERIOD_FIELDS,
    "unpriced_kwh",
    "kwh_total",
    "kvarh_lag",
    "kvarh_lead",
    "max_demand_kw",
    "max_demand_at",
    "intervals",
    "expected_intervals",
    "estimated_intervals",
)


def _month(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _days_in_month(month: datetime.date) -> int:
    return ((month + datetime.timedelta(days=32)).replace(day=1) - month).days


def _summarise(intervals: list[dict], expected: int) -> dict:
    """Rollup fields of a list of intervals (end, kwh, by_period, lag, lead, estimated)."""
    zero = Decimal("0.000")
    out = dict.fromkeys((*PERIOD_FIELDS, "unpriced_kwh", "kwh_total", "kvarh_lag", "kvarh_lead"), zero)
    for interval in intervals:
        for period, kwh in interval["by_period"].items():
            name = "unpriced_kwh" if period is None else PERIOD_FIELDS[period]
            out[name] += kwh
        out["kwh_total"] += interval["kwh"]
        out["kvarh_lag"] += interval["lag"]
        out["kvarh_lead"] += interval["lead"]
    peak = max(interval["kwh"] for interval in intervals)
    out["max_demand_kw"] = peak * 4
    out["max_demand_at"] = min(interval["end"] for interval in intervals if interval["kwh"] == peak)
    out["intervals"] = len(intervals)
    out["expected_intervals"] = expected
    out["estimated_intervals"] = sum(1 for interval in intervals if interval["estimated"])
    return out


def rollups_recomputed() -> dict[str, dict]:
    """Every rollup the readings imply: {"point_daily": {(point, day): fields}, "point_monthly", "account_daily",
    "account_monthly"}, straight from Reading rows (accounts: billing points summed per interval)."""
    points = {
        pk: (account_id, purpose)
        for pk, account_id, purpose in MeteringPoint.objects.values_list("pk", "account_id", "purpose")
    }
    point_intervals: dict[tuple, list[dict]] = defaultdict(list)
    account_intervals: dict[tuple, dict] = {}
    for r in Reading.objects.values(
        "metering_point_id", "interval_end", "day", "period", "kwh", "kvarh_lag", "kvarh_lead", "estimated"
    ):
        interval = {
            "end": r["interval_end"],
            "kwh": r["kwh"],
            "by_period": {r["period"]: r["kwh"]},
            "lag": r["kvarh_lag"] or Decimal("0"),
            "lead": r["kvarh_lead"] or Decimal("0"),
            "estimated": r["estimated"],
            "day": r["day"],
        }
        point_intervals[(r["metering_point_id"], r["day"])].append(interval)
        account_id, purpose = points[r["metering_point_id"]]
        if purpose != "billing":
            continue
        summed = account_intervals.setdefault(
            (account_id, r["interval_end"]),
            {
                "end": r["interval_end"],
                "kwh": Decimal("0"),
                "by_period": defaultdict(Decimal),
                "lag": Decimal("0"),
                "lead": Decimal("0"),
                "estimated": False,
                "day": r["day"],
            },
        )
        summed["kwh"] += interval["kwh"]
        summed["by_period"][r["period"]] += interval["kwh"]
        summed["lag"] += interval["lag"]
        summed["lead"] += interval["lead"]
        summed["estimated"] = summed["estimated"] or interval["estimated"]
    by_account_day: dict[tuple, list[dict]] = defaultdict(list)
    for (account_id, _end), interval in account_intervals.items():
        by_account_day[(account_id, interval["day"])].append(interval)

    def monthly(daily_intervals: dict[tuple, list[dict]]) -> dict:
        grouped: dict[tuple, list[dict]] = defaultdict(list)
        for (key, day), intervals in daily_intervals.items():
            grouped[(key, _month(day))].extend(intervals)
        return {
            (key, month): _summarise(intervals, _days_in_month(month) * INTERVALS_PER_DAY)
            for (key, month), intervals in grouped.items()
        }

    return {
        "point_daily": {key: _summarise(v, INTERVALS_PER_DAY) for key, v in point_intervals.items()},
        "point_monthly": monthly(point_intervals),
        "account_daily": {key: _summarise(v, INTERVALS_PER_DAY) for key, v in by_account_day.items()},
        "account_monthly": monthly(by_account_day),
    }


def rollups_stored() -> dict[str, dict]:
    """The rollup tables in the shape of ``rollups_recomputed``."""

    def rows(model, key: str, when: str) -> dict:
        return {(row[key], row[when]): {name: row[name] for name in ROLLUP_FIELDS} for row in model.objects.values()}

    return {
        "point_daily": rows(PointDailyRollup, "metering_point_id", "day"),
        "point_monthly": rows(PointMonthlyRollup, "metering_point_id", "month"),
        "account_daily": rows(AccountDailyRollup, "account_id", "day"),
        "account_monthly": rows(AccountMonthlyRollup, "account_id", "month"),
    }


def assert_rollups_consistent() -> None:
    """The stored rollups equal a full recomputation from the readings, table by table."""
    stored, expected = rollups_stored(), rollups_recomputed()
    for table in expected:
        assert stored[table] == expected[table], table
