"""Daily and monthly rollups of readings, recomputed in SQL for the (metering point, day) keys that an import
or a rollback touched, and the accounts' monthly billing quantities (``MonthlyUsage``, source "metering")
derived from them.

The caller fills the temporary table ``gk_touched (metering_point_id, day)`` inside its transaction and calls
``rollups_refresh``. Every step is one set-based statement, so the number of queries does not depend on how
many readings or keys there are:

- point days are recomputed from the readings, or merged from daily sums the loader took as it streamed a new
  month's readings (``point_days``); point months from the point days (a month's sums are the sums of its days,
  its maximum the largest daily maximum, reached first on the earliest such day);
- account days from the readings of the account's BILLING points summed per interval first, so the account's
  maximum demand is that of the summed curve; account months from account days. An account with a single
  billing point has that point's days as its own: they are copied, not recomputed from its readings.

A reading's day and period were fixed when it was stored (the local day and time-of-use period of the interval
START), so the 24:00 reading counts for the day before and a month holds the intervals starting in it.

Exactness: PostgreSQL sums numeric(14, 3) exactly. SQLite keeps decimals as REAL, so there every sum is taken
over integer thousandths and divided by 1000 once, at the end: the stored value is the REAL nearest to the exact
decimal sum, which Django quantizes back to three places when it reads it.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from gridkam.tariffs.choices import UsageSource
from gridkam.tariffs.models import MonthlyUsage

from .models import INTERVALS_PER_DAY, AccountMonthlyRollup

TOUCHED = "gk_touched"
PERIOD_COLUMNS = ("sharp_kwh", "peak_kwh", "flat_kwh", "valley_kwh", "deep_valley_kwh")
ENERGY_COLUMNS = (*PERIOD_COLUMNS, "unpriced_kwh", "kwh_total", "kvarh_lag", "kvarh_lead")
ROLLUP_COLUMNS = (
    *ENERGY_COLUMNS,
    "max_demand_kw",
    "max_demand_at",
    "intervals",
    "expected_intervals",
    "estimated_intervals",
)
# MonthlyUsage holds energy to 0.01 kWh (DOMAIN.md "One month's bill").
USAGE_QUANTUM = Decimal("0.01")
USAGE_FIELDS = (*PERIOD_COLUMNS, "lagging_kvarh", "leading_kvarh", "max_demand_kw")
# Daily sums per metering point in thousandths (kWh and kvarh), as the loader takes them for a new month: energy by
# period (p0…p4, pn without a period), total, reactive, the largest interval (``max_key``: energy × 256 + 255 − slot,
# see below, so that the first interval reaching the maximum wins), readings and estimated ones. A day may come in
# several rows (cut by chunk borders); they are merged here.
POINT_DAY_PARTS_COLUMNS = (
    "metering_point_id",
    "day",
    "p0",
    "p1",
    "p2",
    "p3",
    "p4",
    "pn",
    "e",
    "lag_e",
    "lead_e",
    "max_key",
    "n",
    "est",
)
# Active energy of the billing points of an account summed per interval, in thousandths, and whether any of those
# readings was estimated, as the loader takes them for a new month (accounts with more than one billing point); an
# interval may come in several rows (cut by chunk borders), which add up.
ACCOUNT_INTERVAL_PARTS_COLUMNS = ("account_id", "day", "slot", "e", "est")
# An interval's ``slot``: quarter-hours from its day's date taken as a UTC midnight to its end, plus SLOT_SHIFT, which
# keeps it within 1 … 200 in every time zone. Energy × 256 + 255 − slot orders a day's intervals by energy and then
# by time, earliest first: its MAX is the maximum and the first interval reaching it at once.
SLOT_SHIFT = 56
SLOT_BITS = 256
_ZONE_NAME = re.compile(r"^[A-Za-z0-9_+\-/]+$")


@dataclass(frozen=True)
class Dialect:
    """The few SQL fragments that differ between PostgreSQL and SQLite. Literal percent signs are doubled:
    every statement is executed with a parameter list."""

    vendor: str

    @classmethod
    def current(cls) -> Dialect:
        return cls(connection.vendor)

    @property
    def postgresql(self) -> bool:
        return self.vendor == "postgresql"

    def units(self, expr: str) -> str:
        """A decimal column as the unit sums are taken in (exact numeric on PostgreSQL, thousandths on SQLite)."""
        return expr if self.postgresql else f"CAST(ROUND(({expr}) * 1000) AS INTEGER)"

    def out(self, expr: str) -> str:
        """A sum in units back to the decimal column's value."""
        return expr if self.postgresql else f"(({expr}) / 1000.0)"

    def distinct(self, a: str, b: str) -> str:
        return f"{a} IS DISTINCT FROM {b}" if self.postgresql else f"{a} IS NOT {b}"

    def month(self, day: str) -> str:
        if self.postgresql:
            return f"CAST(date_trunc('month', CAST({day} AS timestamp)) AS date)"
        return f"date({day}, 'start of month')"

    def next_month(self, month: str) -> str:
        if self.postgresql:
            return f"CAST(CAST({month} AS timestamp) + interval '1 month' AS date)"
        return f"date({month}, '+1 month')"

    def days_in_month(self, month: str) -> str:
        if self.postgresql:
            return (
                f"CAST(EXTRACT(DAY FROM CAST({month} AS timestamp) + interval '1 month' - interval '1 day') AS integer)"
            )
        return f"CAST(strftime('%%d', {month}, '+1 month', '-1 day') AS INTEGER)"

    def epoch(self, expr: str) -> str:
        """Seconds since 1970 of a stored datetime, as an integer."""
        if self.postgresql:
            return f"CAST(EXTRACT(EPOCH FROM {expr}) AS bigint)"
        return f"CAST(strftime('%%s', {expr}) AS INTEGER)"

    def day_bounds(self, reading: str, key: str) -> str:
        """Extra join conditions bounding ``interval_end`` to the key's day, so PostgreSQL walks the primary key
        (metering point, interval end) instead of every reading of the point. SQLite gets by without them."""
        if not self.postgresql:
            return ""
        zone = settings.TIME_ZONE
        if not _ZONE_NAME.match(zone):
            raise ValueError(f"Unexpected time zone name {zone!r}")
        return (
            f" AND {reading}.interval_end > (CAST({key}.day AS timestamp) AT TIME ZONE '{zone}')"
            f" AND {reading}.interval_end <= (CAST({key}.day + 1 AS timestamp) AT TIME ZONE '{zone}')"
        )


def temp_table_create(cursor, name: str, select: str, params: list | tuple = ()) -> None:
    """(Re)create a temporary table from a query. Dropped first: a session (pooled connection, or a test's
    transaction that never commits) may still hold one from an earlier run."""
    cursor.execute(f"DROP TABLE IF EXISTS {name}", [])
    cursor.execute(f"CREATE TEMP TABLE {name} AS {select}", list(params))


def temp_tables_drop(cursor, *names: str) -> None:
    for name in names:
        cursor.execute(f"DROP TABLE IF EXISTS {name}", [])


# -- the recomputation ---------------------------------------------------------------------------------------


def _interval_columns(d: Dialect, *, summed: bool) -> str:
    """Per-interval values (energy in units, by period, reactive, estimated) of one reading, or of the readings of
    one interval summed over an account's points."""

    def agg(expr: str, fn: str = "SUM") -> str:
        return f"{fn}({expr})" if summed else expr

    # Energy outside a period is NULL, not 0: a sum skips NULLs, where adding numeric zeros costs as much as adding
    # the energy itself.
    kwh = d.units("r.kwh")
    periods = ", ".join(
        agg(f"CASE WHEN r.period = {index} THEN {kwh} END") + f" AS p{index}" for index in range(len(PERIOD_COLUMNS))
    )
    return (
        f"r.day, r.interval_end, {agg(kwh)} AS e, {periods}, "
        f"{agg(f'CASE WHEN r.period IS NULL THEN {kwh} END')} AS pn, "
        f"{agg(d.units('r.kvarh_lag'))} AS lag_e, {agg(d.units('r.kvarh_lead'))} AS lead_e, "
        f"{agg('CASE WHEN r.estimated THEN 1 ELSE 0 END', 'MAX')} AS est"
    )


def _daily_insert(d: Dialect, *, table: str, key: str, intervals_sql: str) -> str:
    """INSERT of daily rollups from per-interval rows (``k``, day, interval_end, e, p0…p4, pn, lag_e, lead_e,
    est); the maximum is the largest interval, the first one reaching it if several do."""
    sums = ", ".join(d.out(f"COALESCE(SUM(p{index}), 0)") for index in range(len(PERIOD_COLUMNS)))
    return f"""
        INSERT INTO {table} ({key}, day, {", ".join(ROLLUP_COLUMNS)})
        SELECT k, day, {sums}, {d.out("COALESCE(SUM(pn), 0)")}, {d.out("SUM(e)")},
               {d.out("COALESCE(SUM(lag_e), 0)")}, {d.out("COALESCE(SUM(lead_e), 0)")},
               {d.out("MAX(CASE WHEN rn = 1 THEN e END) * 4")}, MAX(CASE WHEN rn = 1 THEN interval_end END),
               COUNT(*), {INTERVALS_PER_DAY}, SUM(est)
        FROM (
            SELECT i.*, ROW_NUMBER() OVER (PARTITION BY k, day ORDER BY e DESC, interval_end) AS rn
            FROM ({intervals_sql}) i
        ) x
        GROUP BY k, day
    """


def _monthly_insert(d: Dialect, *, table: str, daily: str, key: str, touched: str) -> str:
    """INSERT of monthly rollups from the daily ones of the touched (key, month) pairs."""
    sums = ", ".join(d.out(f"SUM({d.units(column)})") for column in ENERGY_COLUMNS)
    return f"""
        INSERT INTO {table} ({key}, month, {", ".join(ROLLUP_COLUMNS)})
        SELECT {key}, month, {sums},
               MAX(CASE WHEN rn = 1 THEN max_demand_kw END), MAX(CASE WHEN rn = 1 THEN max_demand_at END),
               SUM(intervals), {d.days_in_month("month")} * {INTERVALS_PER_DAY}, SUM(estimated_intervals)
        FROM (
            SELECT dr.*, t.month,
                   ROW_NUMBER() OVER (PARTITION BY dr.{key}, t.month
                                      ORDER BY dr.max_demand_kw DESC, dr.max_demand_at) AS rn
            FROM {daily} dr
            JOIN {touched} t ON t.{key} = dr.{key} AND dr.day >= t.month AND dr.day < {d.next_month("t.month")}
        ) x
        GROUP BY {key}, month
    """


def _delete_touched(table: str, touched: str, key: str, when: str) -> str:
    return (
        f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {touched} t "
        f"WHERE t.{key} = {table}.{key} AND t.{when} = {table}.{when})"
    )


def _slot_end(day: str, slot: str) -> str:
    """The interval end of a slot of a day (PostgreSQL)."""
    return f"CAST({day} AS timestamp) AT TIME ZONE 'UTC' + ({slot} - {SLOT_SHIFT}) * interval '15 minutes'"


def _point_days_merge(table: str) -> str:
    """INSERT of point daily rollups from daily sums in thousandths (``POINT_DAY_PARTS_COLUMNS``, PostgreSQL): the
    sums add up, the largest key is the maximum and the first interval reaching it."""
    summed = ("p0", "p1", "p2", "p3", "p4", "pn", "e", "lag_e", "lead_e")
    return f"""
        INSERT INTO metering_pointdailyrollup (metering_point_id, day, {", ".join(ROLLUP_COLUMNS)})
        SELECT metering_point_id, day, {", ".join(f"{name} * 0.001" for name in summed)}, top / {SLOT_BITS} * 0.004,
               {_slot_end("day", f"({SLOT_BITS - 1} - top %% {SLOT_BITS})")}, n, {INTERVALS_PER_DAY}, est
        FROM (SELECT metering_point_id, day, {", ".join(f"SUM({name}) AS {name}" for name in summed)},
                     MAX(max_key) AS top, SUM(n) AS n, SUM(est) AS est
              FROM {table} GROUP BY metering_point_id, day) x
    """


def _account_days_merge(table: str) -> str:
    """INSERT of the daily rollups of accounts with several billing points for the days ``table`` (per-interval
    sums, ``ACCOUNT_INTERVAL_PARTS_COLUMNS``, PostgreSQL) holds: the sums are those of the points' days (computed
    already), the maximum demand, the intervals and the estimated ones come from the summed curve."""
    return f"""
        INSERT INTO metering_accountdailyrollup (account_id, day, {", ".join(ROLLUP_COLUMNS)})
        SELECT c.account_id, c.day, {", ".join(f"s.{name}" for name in ENERGY_COLUMNS)}, c.top / {SLOT_BITS} * 0.004,
               {_slot_end("c.day", f"({SLOT_BITS - 1} - c.top %% {SLOT_BITS})")}, c.intervals, {INTERVALS_PER_DAY},
               c.estimated
        FROM (
            SELECT account_id, day, MAX(e * {SLOT_BITS} + {SLOT_BITS - 1} - slot) AS top, COUNT(*) AS intervals,
                   SUM(est) AS estimated
            FROM (SELECT account_id, day, slot, CAST(SUM(e) AS bigint) AS e, MAX(est) AS est FROM {table}
                  GROUP BY account_id, day, slot) i
            GROUP BY account_id, day
        ) c
        JOIN (
            SELECT t.account_id, t.day, {", ".join(f"SUM(pd.{name}) AS {name}" for name in ENERGY_COLUMNS)}
            FROM gk_touched_ad t
            JOIN gk_billing b ON b.account_id = t.account_id AND b.points > 1
            JOIN metering_pointdailyrollup pd ON pd.metering_point_id = b.metering_point_id AND pd.day = t.day
            GROUP BY t.account_id, t.day
        ) s ON s.account_id = c.account_id AND s.day = c.day
    """


def rollups_refresh(
    *,
    user=None,
    readings: str = "metering_reading",
    point_days: str | None = None,
    account_intervals: str | None = None,
) -> None:
    """Recompute every rollup of the (point, day) pairs in ``gk_touched`` and of their months and accounts, then
    the accounts' MonthlyUsage. Runs inside the caller's transaction.

    ``readings``: where the readings are read from, a table or a parenthesised query (the loader adds the new
    partitions it has not attached yet). ``point_days`` and ``account_intervals``: temporary tables of sums already
    taken (``POINT_DAY_PARTS_COLUMNS``, ``ACCOUNT_INTERVAL_PARTS_COLUMNS``; PostgreSQL only): the touched point days
    and account days they hold are computed from them, the others from the readings."""
    d = Dialect.current()
    with connection.cursor() as cursor:
        # Points: days from readings (or the sums taken already), months from days.
        cursor.execute(_delete_touched("metering_pointdailyrollup", TOUCHED, "metering_point_id", "day"), [])
        recomputed = TOUCHED
        if point_days is not None:
            cursor.execute(_point_days_merge(point_days), [])
            temp_table_create(
                cursor,
                "gk_touched_pr",
                f"SELECT t.metering_point_id, t.day FROM {TOUCHED} t WHERE NOT EXISTS (SELECT 1 FROM {point_days} p "
                "WHERE p.metering_point_id = t.metering_point_id AND p.day = t.day)",
            )
            recomputed = "gk_touched_pr"
        point_intervals = f"""
            SELECT r.metering_point_id AS k, {_interval_columns(d, summed=False)}
            FROM {recomputed} t
            JOIN {readings} r ON r.metering_point_id = t.metering_point_id AND r.day = t.day
                 {d.day_bounds("r", "t")}
        """
        cursor.execute(
            _daily_insert(d, table="metering_pointdailyrollup", key="metering_point_id", intervals_sql=point_intervals),
            [],
        )
        temp_table_create(
            cursor, "gk_touched_pm", f"SELECT DISTINCT metering_point_id, {d.month('day')} AS month FROM {TOUCHED}"
        )
        cursor.execute(
            _delete_touched("metering_pointmonthlyrollup", "gk_touched_pm", "metering_point_id", "month"), []
        )
        cursor.execute(
            _monthly_insert(
                d,
                table="metering_pointmonthlyrollup",
                daily="metering_pointdailyrollup",
                key="metering_point_id",
                touched="gk_touched_pm",
            ),
            [],
        )

        # Accounts: every account of a touched point (a purpose changed since is then picked up too).
        temp_table_create(
            cursor,
            "gk_touched_ad",
            f"SELECT DISTINCT mp.account_id, t.day FROM {TOUCHED} t "
            "JOIN customers_meteringpoint mp ON mp.id = t.metering_point_id",
        )
        cursor.execute(_delete_touched("metering_accountdailyrollup", "gk_touched_ad", "account_id", "day"), [])
        # The billing points of those accounts. An account with one has that point's days as its own (up to date:
        # touched days were recomputed above, the others have not changed); the others sum their points' readings.
        temp_table_create(
            cursor,
            "gk_billing",
            "SELECT account_id, id AS metering_point_id, COUNT(*) OVER (PARTITION BY account_id) AS points "
            "FROM customers_meteringpoint WHERE purpose = %s AND account_id IN (SELECT account_id FROM gk_touched_ad)",
            ["billing"],
        )
        if d.postgresql:
            cursor.execute("ANALYZE gk_touched_ad", [])
            cursor.execute("ANALYZE gk_billing", [])
        columns = ", ".join(ROLLUP_COLUMNS)
        cursor.execute(
            f"""INSERT INTO metering_accountdailyrollup (account_id, day, {columns})
                SELECT t.account_id, t.day, {", ".join(f"pd.{name}" for name in ROLLUP_COLUMNS)}
                FROM gk_touched_ad t
                JOIN gk_billing b ON b.account_id = t.account_id AND b.points = 1
                JOIN metering_pointdailyrollup pd ON pd.metering_point_id = b.metering_point_id AND pd.day = t.day""",
            [],
        )
        summed_days = "gk_touched_ad"
        if account_intervals is not None:
            cursor.execute(_account_days_merge(account_intervals), [])
            temp_table_create(
                cursor,
                "gk_touched_ar",
                f"SELECT t.account_id, t.day FROM gk_touched_ad t WHERE NOT EXISTS (SELECT 1 FROM {account_intervals} "
                "p WHERE p.account_id = t.account_id AND p.day = t.day)",
            )
            summed_days = "gk_touched_ar"
        # Driven by (point, day) keys, so that each reads its day through the primary key.
        temp_table_create(
            cursor,
            "gk_summed",
            f"SELECT b.account_id, b.metering_point_id, t.day FROM {summed_days} t "
            "JOIN gk_billing b ON b.account_id = t.account_id AND b.points > 1",
        )
        if d.postgresql:
            cursor.execute("ANALYZE gk_summed", [])
        summed_intervals = f"""
            SELECT t.account_id AS k, {_interval_columns(d, summed=True)}
            FROM gk_summed t
            JOIN {readings} r ON r.metering_point_id = t.metering_point_id AND r.day = t.day {d.day_bounds("r", "t")}
            GROUP BY t.account_id, r.day, r.interval_end
        """
        cursor.execute(
            _daily_insert(d, table="metering_accountdailyrollup", key="account_id", intervals_sql=summed_intervals),
            [],
        )
        temp_table_create(
            cursor, "gk_touched_am", f"SELECT DISTINCT account_id, {d.month('day')} AS month FROM gk_touched_ad"
        )
        cursor.execute(_delete_touched("metering_accountmonthlyrollup", "gk_touched_am", "account_id", "month"), [])
        cursor.execute(
            _monthly_insert(
                d,
                table="metering_accountmonthlyrollup",
                daily="metering_accountdailyrollup",
                key="account_id",
                touched="gk_touched_am",
            ),
            [],
        )
        cursor.execute(
            "SELECT t.account_id, t.month FROM gk_touched_am t "
            "JOIN customers_electricityaccount a ON a.id = t.account_id WHERE a.tariff_code IS NOT NULL",
            [],
        )
        account_months = {(account_id, _as_date(month)) for account_id, month in cursor.fetchall()}
        temp_tables_drop(
            cursor,
            "gk_touched_pr",
            "gk_touched_pm",
            "gk_touched_ad",
            "gk_billing",
            "gk_touched_ar",
            "gk_summed",
            "gk_touched_am",
        )
    monthly_usage_sync(account_months=account_months, user=user)


def _as_date(value) -> datetime.date:
    # SQLite hands dates back as text.
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


def _usage_values(rollup: AccountMonthlyRollup) -> dict[str, Decimal | None]:
    def q(value: Decimal) -> Decimal:
        return value.quantize(USAGE_QUANTUM, rounding=ROUND_HALF_UP)

    values = {column: q(getattr(rollup, column)) for column in PERIOD_COLUMNS}
    values["lagging_kvarh"] = q(rollup.kvarh_lag)
    values["leading_kvarh"] = q(rollup.kvarh_lead)
    values["max_demand_kw"] = rollup.max_demand_kw
    return values


def monthly_usage_sync(*, account_months: set[tuple[int, datetime.date]], user=None) -> None:
    """Write the MonthlyUsage (source "metering") of these account months from their monthly rollups.

    Rows entered by staff or imported from the billing system are the billing figures and are left alone. A month
    is only written when all its energy has a period (the account has a tariff with a published version);
    a metering row whose month lost its readings or its periods is deleted. Bulk writes keep the history.
    """
    if not account_months:
        return
    accounts = {account_id for account_id, _month in account_months}
    months = {month for _account, month in account_months}
    rollups = {
        (r.account_id, r.month): r
        for r in AccountMonthlyRollup.objects.filter(account_id__in=accounts, month__in=months)
    }
    existing = {
        (u.account_id, u.month): u for u in MonthlyUsage.objects.filter(account_id__in=accounts, month__in=months)
    }
    now = timezone.now()
    created, changed, obsolete = [], [], []
    for key in sorted(account_months):
        rollup, usage = rollups.get(key), existing.get(key)
        if usage is not None and usage.source != UsageSource.METERING:
            continue
        if rollup is None or rollup.unpriced_kwh:
            if usage is not None:
                obsolete.append(usage.pk)
            continue
        values = _usage_values(rollup)
        if usage is None:
            created.append(
                MonthlyUsage(account_id=key[0], month=key[1], source=UsageSource.METERING, updated_by=user, **values)
            )
        elif any(getattr(usage, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(usage, name, value)
            usage.updated_by = user
            usage.updated_at = now
            changed.append(usage)
    if created:
        bulk_create_with_history(created, MonthlyUsage, default_user=user)
    if changed:
        bulk_update_with_history(
            changed, MonthlyUsage, fields=[*USAGE_FIELDS, "updated_by", "updated_at"], default_user=user
        )
    if obsolete:
        MonthlyUsage.objects.filter(pk__in=obsolete).delete()
