"""A year of 15-minute readings for a few demo accounts, so the load pages have real curves to show.

The curve is the shipped steel plant's year (gridkam/metering/steel.py), moved by a whole number of weeks so
that yesterday is a mid-November day of the plant with the same weekday (its Sundays stay Sundays; the weeks
before wrap round to the end of its year), and scaled so that its highest quarter-hour is a share of each
account's capacity. The second account's last week is cut to a third, so the anomaly list has a consumption
drop to show; an account billed by contract demand peaks at 112 % of it in the last 30 days. The readings
go in through the real loader (``chunks_import``), rollups and monthly quantities included, one import batch
per account.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from django.utils import timezone

from gridkam.customers.choices import AccountStatus, BasicChargeMethod, MeteringPurpose
from gridkam.customers.models import ElectricityAccount, MeteringPoint
from gridkam.metering.loading import chunks_import
from gridkam.metering.parsing import FRAME_SCHEMA, LOCAL_TIME_ZONE, Chunk
from gridkam.metering.steel import steel_rows

STEEL_FIRST_DAY = dt.date(2018, 1, 1)
DEFAULT_READINGS_ACCOUNTS = 3
# The highest quarter-hour of each demo account, as a share of its capacity (kW against kVA).
PEAK_SHARES = (0.62, 0.55, 0.70, 0.48, 0.66)
DROPPED_ACCOUNT = 1  # the second account: its last week falls to a third
DROP_FACTOR = 0.35
DROP_DAYS = 7
SOURCE_LAST_DAY = dt.date(2018, 11, 15)
OVER_CONTRACT_SHARE = 1.12


def demo_readings_accounts(count: int) -> list[ElectricityAccount]:
    """The largest active two-part accounts that have a billing point, largest first; the last one is the
    largest billed by contract demand, when there is one, so that demand against contract has a story."""
    billing = MeteringPoint.objects.filter(purpose=MeteringPurpose.BILLING).values("account_id")
    candidates = ElectricityAccount.objects.filter(
        status=AccountStatus.ACTIVE, tariff__isnull=False, pk__in=billing
    ).select_related("customer")
    by_demand = candidates.filter(basic_charge_method=BasicChargeMethod.CONTRACT_DEMAND, contract_demand_kw__gt=0)
    chosen = list(
        candidates.exclude(pk__in=by_demand.values("pk")[:1]).order_by("-capacity_kva", "account_no")[: count - 1]
    )
    chosen += list(by_demand.order_by("-capacity_kva", "account_no")[:1]) or list(
        candidates.exclude(pk__in=[a.pk for a in chosen]).order_by("-capacity_kva", "account_no")[:1]
    )
    return chosen[:count]


def demo_readings_load(*, accounts: int = DEFAULT_READINGS_ACCOUNTS, today: dt.date | None = None) -> dict:
    """Load the year ending yesterday for ``accounts`` demo accounts; returns counts for the seed summary."""
    if accounts <= 0:
        return {"accounts": 0, "readings": 0}
    today = today or timezone.localdate()
    chosen = demo_readings_accounts(accounts)
    if not chosen:
        return {"accounts": 0, "readings": 0}
    year = steel_rows()
    last_day = today - dt.timedelta(days=1)
    # Yesterday plays the plant's day of the same weekday nearest to SOURCE_LAST_DAY (mid-November, before
    # its year-end slowdown); the weeks before that wrap round to the end of its year.
    source_last = SOURCE_LAST_DAY + dt.timedelta(days=(last_day.weekday() - SOURCE_LAST_DAY.weekday() + 3) % 7 - 3)
    shift = last_day - source_last
    later = year.with_columns(pl.col("interval_end") + shift)
    first_later = later["interval_end"].min()
    earlier = year.with_columns(pl.col("interval_end") + (shift - dt.timedelta(days=364))).filter(
        pl.col("interval_end") < first_later
    )
    window = pl.concat([earlier, later]).filter(
        (pl.col("interval_end") >= _utc(last_day - dt.timedelta(days=364), 15))
        & (pl.col("interval_end") <= _utc(today, 0))
    )
    recent = window.filter(pl.col("interval_end") >= _utc(last_day - dt.timedelta(days=29), 15))
    year_peak = int(window["kwh_milli"].max()) * 4  # milli-kW
    recent_peak = int(recent["kwh_milli"].max()) * 4
    drop_start = _utc(last_day - dt.timedelta(days=DROP_DAYS - 1), 15)
    loaded = 0
    for index, account in enumerate(chosen):
        point = account.metering_points.filter(purpose=MeteringPurpose.BILLING).order_by("code").first()
        if account.basic_charge_method == BasicChargeMethod.CONTRACT_DEMAND and account.contract_demand_kw:
            # Last month's peak a little over 105 % of the contract demand: double price on the excess.
            target = min(float(account.contract_demand_kw) * OVER_CONTRACT_SHARE, float(account.capacity_kva) * 0.95)
            scale = target * 1000 / recent_peak
        else:
            scale = PEAK_SHARES[index % len(PEAK_SHARES)] * float(account.capacity_kva) * 1000 / year_peak
        factor = pl.lit(scale)
        if index == DROPPED_ACCOUNT:
            factor = pl.when(pl.col("interval_end") >= drop_start).then(scale * DROP_FACTOR).otherwise(scale)
        frame = window.select(
            pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("line"),
            pl.lit(point.code).alias("point"),
            pl.col("interval_end"),
            *(
                (pl.col(name) * factor).round(0).cast(pl.Int64).alias(name)
                for name in ("kwh_milli", "lag_milli", "lead_milli")
            ),
            pl.lit(False).alias("estimated"),
        ).cast(FRAME_SCHEMA)
        outcome = chunks_import(
            [Chunk(frame=frame)],
            file_name=f"demo-{point.code}-steel-year.csv",
            file_format="long",
        )
        if not outcome.committed:
            raise RuntimeError(f"Demo readings for {point.code} were refused: {outcome.rejected[:3]}")
        loaded += outcome.inserted + outcome.updated
    return {"accounts": len(chosen), "readings": loaded}


def _utc(day: dt.date, minute: int) -> pl.Expr:
    """Local ``day`` 00:``minute`` as a UTC instant, for comparing with ``interval_end``."""
    local = pl.lit(dt.datetime.combine(day, dt.time(0, minute)))
    return local.dt.replace_time_zone(LOCAL_TIME_ZONE).dt.convert_time_zone("UTC")
