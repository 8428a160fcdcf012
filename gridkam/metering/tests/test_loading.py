"""The readings loader: upsert counts, rejections, day and period of a reading, rollups, MonthlyUsage, query
counts and crash safety. Chunks are built as parsing.py delivers them, so these tests do not depend on a file
format."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.metering import loading, rollups
from gridkam.metering.choices import BatchStatus
from gridkam.metering.loading import chunks_import
from gridkam.metering.models import (
    AccountDailyRollup,
    AccountMonthlyRollup,
    ImportBatch,
    PointDailyRollup,
    PointMonthlyRollup,
    Reading,
    ReadingUndo,
)
from gridkam.tariffs.models import MonthlyUsage

from .factories import (
    CALENDAR,
    FLAT_CALENDAR,
    PERIOD,
    QUARTER,
    assert_rollups_consistent,
    chunk_of,
    day_readings,
    local,
    make_points,
    make_tariff,
    rollups_stored,
)

pytestmark = pytest.mark.django_db
JAN1 = datetime.date(2018, 1, 1)


def load(*chunks, **kwargs):
    kwargs.setdefault("file_name", "readings.csv")
    kwargs.setdefault("file_format", "long")
    return chunks_import(list(chunks), **kwargs)


def days(codes, first: datetime.date, count: int, kwh=lambda i: 1000 + i, **kwargs) -> list[tuple]:
    readings = []
    for code in codes:
        for n in range(count):
            readings += day_readings(code, first + datetime.timedelta(days=n), kwh, **kwargs)
    return readings


@pytest.fixture
def points():
    return make_points(2, tariff=make_tariff())


def test_first_import_inserts_every_reading_and_commits_a_batch(points):
    codes = [p.code for p in points]
    outcome = load(chunk_of(days(codes, JAN1, 2)))
    assert outcome.as_dict() | {"batch": None} == {
        "rows": 384,
        "inserted": 384,
        "updated": 0,
        "unchanged": 0,
        "rejected": [],
        "committed": True,
        "batch": None,
        "gaps": [],
    }
    assert Reading.objects.count() == 384
    batch = ImportBatch.objects.get(pk=outcome.batch)
    assert batch.status == BatchStatus.COMMITTED
    assert (batch.inserted, batch.points) == (384, 2)
    assert batch.first_interval_end == local(2018, 1, 1, 0, 15)
    assert batch.last_interval_end == local(2018, 1, 3, 0, 0)
    assert set(Reading.objects.values_list("batch_id", flat=True)) == {batch.pk}
    assert_rollups_consistent()


def test_the_2400_reading_belongs_to_the_day_before_and_to_its_month(points):
    code = points[0].code
    # 31 January: its last reading ends at 00:00 on 1 February.
    load(chunk_of(day_readings(code, datetime.date(2018, 1, 31), lambda i: 1000)))
    last = Reading.objects.get(metering_point=points[0], interval_end=local(2018, 2, 1, 0, 0))
    assert last.day == datetime.date(2018, 1, 31)
    assert last.period == PERIOD["flat"]  # 23:45–24:00
    assert PointMonthlyRollup.objects.get().month == datetime.date(2018, 1, 1)
    daily = PointDailyRollup.objects.get()
    assert (daily.day, daily.intervals, daily.kwh_total) == (datetime.date(2018, 1, 31), 96, Decimal("96.000"))
    assert not PointDailyRollup.objects.filter(day=datetime.date(2018, 2, 1)).exists()


def test_periods_follow_the_calendar_of_the_interval_start(points):
    code = points[0].code
    load(chunk_of(day_readings(code, datetime.date(2018, 1, 2), lambda i: 1000)))

    def period(hour, minute):
        return Reading.objects.get(metering_point=points[0], interval_end=local(2018, 1, 2, hour, minute)).period

    assert period(8, 0) == PERIOD["valley"]  # 07:45–08:00
    assert period(8, 15) == PERIOD["flat"]  # 08:00–08:15
    assert period(10, 15) == PERIOD["peak"]
    daily = PointDailyRollup.objects.get()
    # valley 0–8 (32 intervals), peak 10–12 and 14–19 (28), flat the rest (36); 1 kWh each.
    assert (daily.valley_kwh, daily.peak_kwh, daily.flat_kwh) == (Decimal("32"), Decimal("28"), Decimal("36"))
    assert (daily.sharp_kwh, daily.deep_valley_kwh, daily.unpriced_kwh) == (0, 0, 0)


def test_holiday_exception_and_later_tariff_version_are_applied():
    tariff = make_tariff(versions=((datetime.date(2017, 1, 1), CALENDAR), (datetime.date(2018, 1, 3), FLAT_CALENDAR)))
    (point,) = make_points(1, tariff=tariff)
    load(chunk_of(days([point.code], JAN1, 3, kwh=lambda i: 1000)))
    by_day = {r.day: r for r in PointDailyRollup.objects.all()}
    assert by_day[JAN1].deep_valley_kwh == Decimal("32")  # New Year's Day: deep valley 0–8
    assert by_day[datetime.date(2018, 1, 2)].valley_kwh == Decimal("32")
    assert by_day[datetime.date(2018, 1, 3)].flat_kwh == Decimal("96")  # the flat version from 3 January


def test_account_without_tariff_has_unpriced_energy_and_no_monthly_usage():
    (point,) = make_points(1, tariff=None)
    load(chunk_of(day_readings(point.code, JAN1, lambda i: 1500)))
    assert set(Reading.objects.values_list("period", flat=True)) == {None}
    daily = PointDailyRollup.objects.get()
    assert (daily.unpriced_kwh, daily.kwh_total) == (Decimal("144"), Decimal("144"))
    assert not MonthlyUsage.objects.exists()
    assert_rollups_consistent()


def test_reimporting_the_same_file_leaves_everything_unchanged(points):
    readings = days([p.code for p in points], JAN1, 1)
    load(chunk_of(readings))
    first_batch = ImportBatch.objects.get()
    outcome = load(chunk_of(readings))
    assert (outcome.inserted, outcome.updated, outcome.unchanged) == (0, 0, 192)
    assert Reading.objects.count() == 192
    assert not ReadingUndo.objects.exists()
    # Unchanged readings keep the batch that wrote them.
    assert set(Reading.objects.values_list("batch_id", flat=True)) == {first_batch.pk}
    assert_rollups_consistent()


def test_an_overlapping_file_updates_only_the_changed_readings(points):
    codes = [p.code for p in points]
    load(chunk_of(days(codes, JAN1, 2)))
    # Day 2 again with 3 readings changed, plus day 3 new.
    second = days(codes, datetime.date(2018, 1, 2), 2)
    changed = {0: 5000, 7: 6000, 200: 7000}
    second = [(r[0], r[1], changed.get(i, r[2]), *r[3:]) for i, r in enumerate(second)]
    outcome = load(chunk_of(second))
    assert (outcome.rows, outcome.inserted, outcome.updated, outcome.unchanged) == (384, 192, 3, 189)
    assert Reading.objects.count() == 576
    undo = ReadingUndo.objects.order_by("interval_end")
    assert undo.count() == 3
    assert {u.kwh for u in undo} == {Decimal("1.000"), Decimal("1.007"), Decimal("1.008")}
    assert Reading.objects.filter(batch_id=outcome.batch).count() == 195
    assert_rollups_consistent()


def test_reactive_energy_estimated_flags_and_max_demand(points):
    code = points[0].code
    readings = day_readings(
        code,
        JAN1,
        lambda i: 2000 if i in (40, 60) else 1234,
        lag=lambda i: 500,
        lead=lambda i: 1,
        estimated=lambda i: i < 3,
    )
    load(chunk_of(readings))
    daily = PointDailyRollup.objects.get(metering_point=points[0])
    assert daily.kvarh_lag == Decimal("48")
    assert daily.kvarh_lead == Decimal("0.096")
    assert daily.max_demand_kw == Decimal("8")
    assert daily.max_demand_at == local(2018, 1, 1, 10, 15)  # the first of the two maxima (interval 40)
    assert daily.estimated_intervals == 3
    assert daily.kwh_total == Decimal("1.234") * 94 + 4
    assert_rollups_consistent()


def test_a_file_without_reactive_energy_keeps_the_stored_reactive_readings(points):
    code = points[0].code
    load(chunk_of(day_readings(code, JAN1, lambda i: 1234, lag=lambda i: 500, lead=lambda i: 7)))
    outcome = load(chunk_of(day_readings(code, JAN1, lambda i: 1234)))
    assert (outcome.inserted, outcome.updated, outcome.unchanged) == (0, 0, 96)
    reading = Reading.objects.filter(metering_point=points[0]).first()
    assert (reading.kvarh_lag, reading.kvarh_lead) == (Decimal("0.500"), Decimal("0.007"))
    # New active energy with no reactive column: the active value changes, the reactive ones stay.
    outcome = load(chunk_of(day_readings(code, JAN1, lambda i: 2000)))
    assert outcome.updated == 96
    reading = Reading.objects.filter(metering_point=points[0]).first()
    assert (reading.kwh, reading.kvarh_lag, reading.kvarh_lead) == (Decimal("2"), Decimal("0.5"), Decimal("0.007"))
    assert_rollups_consistent()


def test_account_rollup_sums_billing_points_per_interval():
    tariff = make_tariff()
    first, second = make_points(2, tariff=tariff)
    (check,) = make_points(1, account=first.account, purpose="check")
    # The two billing points peak at different times: the account's maximum is that of the summed curve.
    readings = (
        day_readings(first.code, JAN1, lambda i: 9000 if i == 10 else 1000)
        + day_readings(second.code, JAN1, lambda i: 8000 if i == 11 else 1000)
        + day_readings(check.code, JAN1, lambda i: 50000)
    )
    load(chunk_of(readings))
    account = AccountDailyRollup.objects.get(account=first.account)
    assert account.max_demand_kw == Decimal("40")  # (9 + 1) × 4, not (9 + 8) × 4
    assert account.max_demand_at == local(2018, 1, 1, 2, 45)
    assert account.kwh_total == Decimal(2 * 96 + 8 + 7)
    assert account.intervals == 96
    assert_rollups_consistent()


def test_monthly_usage_is_written_from_metering_but_never_over_billing_figures(points):
    other = make_points(1, tariff=points[0].account.tariff)[0]
    MonthlyUsage.objects.create(account=other.account, month=JAN1, peak_kwh=Decimal("1"), source="entered")
    load(chunk_of(days([points[0].code, other.code], JAN1, 1, kwh=lambda i: 1005)))
    usage = MonthlyUsage.objects.get(account=points[0].account, month=JAN1)
    assert usage.source == "metering"
    # New Year's Day (holiday): deep valley 0–8, valley otherwise; 1.005 × 32 = 32.16, × 64 = 64.32.
    assert (usage.deep_valley_kwh, usage.valley_kwh, usage.peak_kwh) == (Decimal("32.16"), Decimal("64.32"), 0)
    assert usage.max_demand_kw == Decimal("4.020")
    assert MonthlyUsage.objects.get(account=other.account).source == "entered"
    assert MonthlyUsage.objects.get(account=other.account).peak_kwh == Decimal("1")
    # A second import of the month rewrites the metering figures.
    load(chunk_of(days([points[0].code], datetime.date(2018, 1, 2), 1, kwh=lambda i: 1000)))
    usage.refresh_from_db()
    assert usage.valley_kwh == Decimal("64.32") + 32


# -- rejections --------------------------------------------------------------------------------------------


def test_unknown_point_rejects_the_file_and_nothing_is_written(points):
    readings = day_readings(points[0].code, JAN1, lambda i: 1000) + day_readings("NOPE", JAN1, lambda i: 1)
    outcome = load(chunk_of(readings))
    assert not outcome.committed
    assert [r["line"] for r in outcome.rejected] == list(range(98, 194))
    assert "NOPE" in outcome.rejected[0]["errors"][0]
    assert not Reading.objects.exists()
    assert not PointDailyRollup.objects.exists()
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.rejected_count, batch.rows) == (BatchStatus.REJECTED, 96, 192)


def test_skip_invalid_writes_the_valid_lines_and_lists_the_rejected(points):
    code = points[0].code
    readings = day_readings(code, JAN1, lambda i: 1000)
    outcome = load(
        chunk_of(readings + [("NOPE", local(2018, 1, 1, 0, 15), 1, None, None, False)], rejected=[(500, ["bad time"])]),
        skip_invalid=True,
    )
    assert outcome.committed
    assert outcome.rejected == [
        {"line": 98, "errors": [outcome.rejected[0]["errors"][0]]},
        {"line": 500, "errors": ["bad time"]},
    ]
    assert (outcome.rows, outcome.inserted) == (97, 96)
    assert ImportBatch.objects.get().rejected_count == 2
    assert_rollups_consistent()


def test_parser_rejections_alone_reject_the_file(points):
    outcome = load(
        chunk_of(day_readings(points[0].code, JAN1, lambda i: 1000), rejected=[(7, ["not on a quarter-hour"])])
    )
    assert outcome.rejected == [{"line": 7, "errors": ["not on a quarter-hour"]}]
    assert not outcome.committed
    assert not Reading.objects.exists()


def test_a_value_beyond_the_physical_maximum_is_rejected(settings):
    settings.GRIDKAM = {**settings.GRIDKAM, "READING_MAX_LOAD_RATIO": 2.0}
    (point,) = make_points(1, tariff=None, capacity_kva="100")  # at most 100 × 0.25 × 2 = 50 kWh
    readings = day_readings(point.code, JAN1, lambda i: {3: 50000, 4: 50001}.get(i, 0))
    outcome = load(chunk_of(readings))
    assert [r["line"] for r in outcome.rejected] == [6]
    assert "50.001" in outcome.rejected[0]["errors"][0]


def test_duplicates_across_chunks_reject_every_duplicate_line(points):
    code = points[0].code
    readings = day_readings(code, JAN1, lambda i: 1000)
    duplicate = [(code, local(2018, 1, 1, 0, 30), 2000, None, None, False)]
    outcome = load(chunk_of(readings), chunk_of(duplicate, first_line=900))
    assert [r["line"] for r in outcome.rejected] == [3, 900]
    assert not Reading.objects.exists()
    outcome = load(chunk_of(readings), chunk_of(duplicate, first_line=900), skip_invalid=True)
    assert (outcome.inserted, outcome.committed) == (95, True)
    assert not Reading.objects.filter(interval_end=local(2018, 1, 1, 0, 30)).exists()
    assert_rollups_consistent()


def test_gaps_are_reported_not_fatal(points):
    code = points[0].code
    readings = [r for i, r in enumerate(day_readings(code, JAN1, lambda i: 1000)) if i not in (10, 11, 12, 50)]
    outcome = load(chunk_of(readings))
    assert outcome.committed
    assert outcome.gaps == [
        {
            "metering_point": code,
            "from": "2018-01-01T02:45:00+08:00",
            "to": "2018-01-01T03:15:00+08:00",
            "intervals": 3,
        },
        {
            "metering_point": code,
            "from": "2018-01-01T12:45:00+08:00",
            "to": "2018-01-01T12:45:00+08:00",
            "intervals": 1,
        },
    ]
    assert ImportBatch.objects.get().gaps == outcome.gaps
    assert PointDailyRollup.objects.get().intervals == 92


def test_dry_run_counts_but_writes_nothing(points):
    readings = days([p.code for p in points], JAN1, 1)
    load(chunk_of(readings[:100]))
    batches = ImportBatch.objects.count()
    outcome = load(chunk_of(readings), dry_run=True)
    assert (outcome.inserted, outcome.unchanged, outcome.committed, outcome.batch) == (92, 100, False, None)
    assert Reading.objects.count() == 100
    assert ImportBatch.objects.count() == batches


# -- query counts and crash safety -------------------------------------------------------------------------


def queries_of(chunks) -> int:
    with CaptureQueriesContext(connection) as context:
        outcome = load(*chunks)
    assert outcome.committed
    return len(context.captured_queries)


def test_query_count_does_not_grow_with_days_or_points():
    tariff = make_tariff()
    two = make_points(2, tariff=tariff)
    one_day = queries_of([chunk_of(days([p.code for p in two], JAN1, 1))])
    # Each import in a month of its own: on PostgreSQL each then creates one partition.
    three_days = queries_of([chunk_of(days([p.code for p in two], datetime.date(2018, 2, 10), 3))])
    assert one_day == three_days
    twenty = [make_points(1, tariff=tariff)[0] for _i in range(20)]  # 20 accounts too
    twenty_points = queries_of([chunk_of(days([p.code for p in twenty], datetime.date(2018, 3, 20), 1))])
    assert twenty_points == one_day


def test_a_crash_in_the_rollups_leaves_nothing_but_a_failed_batch(points, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(loading, "rollups_refresh", broken)
    with pytest.raises(RuntimeError):
        load(chunk_of(days([p.code for p in points], JAN1, 1)))
    assert not Reading.objects.exists()
    assert not ReadingUndo.objects.exists()
    for model in (PointDailyRollup, PointMonthlyRollup, AccountDailyRollup, AccountMonthlyRollup, MonthlyUsage):
        assert not model.objects.exists()
    assert ImportBatch.objects.get().status == BatchStatus.FAILED
    # The next import works (no leftover staging table in the way).
    monkeypatch.setattr(loading, "rollups_refresh", rollups.rollups_refresh)
    assert load(chunk_of(days([p.code for p in points], JAN1, 1))).inserted == 192


# -- new months straight into their partition, and the pipeline around it -----------------------------------


@pytest.fixture
def fresh_months(monkeypatch) -> list:
    """The months an import wrote straight into a new partition (PostgreSQL; always empty on SQLite)."""
    written = []
    original = loading._Loader._fresh_write

    def spy(self, target, frame):
        if target.month not in written:
            written.append(target.month)
        return original(self, target, frame)

    monkeypatch.setattr(loading._Loader, "_fresh_write", spy)
    return written


def stored() -> tuple[dict, dict]:
    readings = {
        (r["metering_point_id"], r["interval_end"]): r
        for r in Reading.objects.values(
            "metering_point_id", "interval_end", "day", "period", "kwh", "kvarh_lag", "kvarh_lead", "estimated"
        )
    }
    return readings, rollups_stored()


def test_a_new_month_written_to_its_own_partition_equals_one_staged_over_stored_readings(fresh_months):
    from gridkam.metering.services import batch_rollback

    tariff = make_tariff()
    first, second = make_points(2, tariff=tariff)
    (single,) = make_points(1, tariff=tariff)
    (check,) = make_points(1, account=single.account, purpose="check")
    readings = days([first.code, second.code, single.code, check.code], JAN1, 2, kwh=lambda i: 1000 + (i * 37) % 500)
    readings += day_readings(first.code, datetime.date(2018, 1, 3), lambda i: 2000, lag=lambda i: 3, estimated=bool)
    chunks = [chunk_of(readings[:500]), chunk_of(readings[500:], first_line=502)]
    batch = load(*chunks).batch
    new_month = stored()
    assert_rollups_consistent()
    assert fresh_months == ([JAN1] if connection.vendor == "postgresql" else [])
    # Rolled back, the month's partition stays (empty): the same file is then staged and compared.
    batch_rollback(batch=ImportBatch.objects.get(pk=batch), user=None)
    fresh_months.clear()
    outcome = load(*chunks)
    assert (outcome.inserted, outcome.updated, outcome.unchanged) == (len(readings), 0, 0)
    assert fresh_months == []
    assert stored() == new_month


def test_days_and_account_intervals_cut_by_chunk_borders_merge_exactly():
    tariff = make_tariff()
    first, second = make_points(2, tariff=tariff)
    # The day's maximum (3 kWh) twice in the first point's day, once in each chunk: the earlier one counts.
    peaks = {20: 3000, 70: 3000}
    a = day_readings(first.code, JAN1, lambda i: peaks.get(i, 1000))
    b = day_readings(second.code, JAN1, lambda i: 500 if i != 21 else 2600, estimated=lambda i: i == 5)
    # Chunk 1: the first point's morning; chunk 2: the rest of its day and half the second point's; chunk 3: the rest.
    load(chunk_of(a[:40]), chunk_of(a[40:] + b[:48], first_line=100), chunk_of(b[48:], first_line=300))
    assert_rollups_consistent()
    daily = PointDailyRollup.objects.get(metering_point=first)
    assert (daily.max_demand_kw, daily.max_demand_at) == (Decimal("12"), local(2018, 1, 1, 5, 15))
    account = AccountDailyRollup.objects.get(account=first.account)
    # Interval 21 (05:15–05:30): 1 + 2.6 kWh, above interval 20's 3 + 0.5.
    assert (account.max_demand_kw, account.max_demand_at) == (Decimal("14.4"), local(2018, 1, 1, 5, 30))
    assert (account.intervals, account.estimated_intervals) == (96, 1)


def test_a_file_over_a_stored_month_and_a_new_one(points, fresh_months):
    code = points[0].code
    jan31 = datetime.date(2018, 1, 31)
    load(chunk_of(day_readings(code, jan31, lambda i: 1000)))
    fresh_months.clear()
    # 31 January again with three readings changed, then 1–2 February with two readings missing at midnight.
    january = day_readings(code, jan31, lambda i: 1500 if i in (3, 4, 5) else 1000)
    february = [r for r in days([code], datetime.date(2018, 2, 1), 2) if r[1] not in (local(2018, 2, 1, 0, 15),)]
    outcome = load(chunk_of(january + february))
    assert (outcome.inserted, outcome.updated, outcome.unchanged) == (191, 3, 93)
    assert fresh_months == ([datetime.date(2018, 2, 1)] if connection.vendor == "postgresql" else [])
    assert ReadingUndo.objects.filter(batch_id=outcome.batch).count() == 3
    assert outcome.gaps == [
        {
            "metering_point": code,
            "from": "2018-02-01T00:15:00+08:00",
            "to": "2018-02-01T00:15:00+08:00",
            "intervals": 1,
        }
    ]
    assert ImportBatch.objects.get(pk=outcome.batch).first_interval_end == local(2018, 1, 31, 0, 15)
    assert_rollups_consistent()


def test_every_digit_and_every_blank_survives_the_bulk_write(settings, fresh_months):
    settings.GRIDKAM = {**settings.GRIDKAM, "READING_MAX_LOAD_RATIO": 1e9}
    (point,) = make_points(1, tariff=None, capacity_kva="9999999")
    # The largest kWh whose demand (× 4) still fits the rollups' 14 digits.
    values = {0: 0, 1: 1, 2: 24_999_999_999_999, 3: 123_456_789_012, 4: 10_000_000}
    readings = day_readings(
        point.code,
        JAN1,
        lambda i: values.get(i, 5),
        lag=lambda i: None if i % 2 else 7,
        lead=lambda i: 99_999_999_999_999 if i == 1 else None,
        estimated=lambda i: i == 3,
    )
    load(chunk_of(readings))
    stored_values = {
        r.interval_end: (r.kwh, r.kvarh_lag, r.kvarh_lead, r.estimated, r.period)
        for r in Reading.objects.filter(metering_point=point)
    }
    expected = {
        end: (
            Decimal(kwh).scaleb(-3),
            None if lag is None else Decimal(lag).scaleb(-3),
            None if lead is None else Decimal(lead).scaleb(-3),
            estimated,
            None,
        )
        for _code, end, kwh, lag, lead, estimated in readings
    }
    assert stored_values == expected
    assert PointDailyRollup.objects.get().kvarh_lead == Decimal("99999999999.999")
    assert_rollups_consistent()


def test_duplicates_in_a_new_month_left_out_with_their_account_days_recomputed():
    tariff = make_tariff()
    first, second = make_points(2, tariff=tariff)
    readings = days([first.code, second.code], JAN1, 2)
    duplicate = [(first.code, local(2018, 1, 2, 10, 0), 9000, None, None, False)]
    outcome = load(chunk_of(readings), chunk_of(duplicate, first_line=1000), skip_invalid=True)
    assert [r["line"] for r in outcome.rejected] == [2 + 96 + 39, 1000]
    assert "137, 1000" in outcome.rejected[0]["errors"][0]
    assert (outcome.inserted, outcome.committed) == (len(readings) - 1, True)
    assert ImportBatch.objects.get(pk=outcome.batch).points == 2
    assert_rollups_consistent()


def test_the_parsing_thread_speaks_the_callers_language_and_stops_with_the_import(monkeypatch):
    from django.utils import translation

    from gridkam.metering.loading import readings_import

    with translation.override("en"):
        outcome = readings_import(data=b"metering_point,kwh\nMP1,1\n", file_name="r.csv", file_format="long")
    assert "Missing columns: interval_end." in outcome.rejected[0]["errors"][0]
    with translation.override("zh-hans"):
        outcome = readings_import(data=b"metering_point,kwh\nMP1,1\n", file_name="r.csv", file_format="long")
    assert "缺少列：interval_end。" in outcome.rejected[0]["errors"][0]

    def produce():
        yield 1
        yield 2
        raise RuntimeError("parser broke")

    with pytest.raises(RuntimeError, match="parser broke"):
        list(loading._prefetched(produce()))
    stopped = []

    def endless():
        try:
            while True:
                yield "chunk"
        finally:
            stopped.append(True)

    items = loading._prefetched(endless())
    assert next(items) == "chunk"
    items.close()
    assert stopped == [True]


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin"])
def test_day_and_period_of_the_interval_start_in_the_local_zone(settings, zone):
    import polars as pl

    settings.TIME_ZONE = zone
    loader = loading._Loader(batch=None, user=None, skip_invalid=False)
    loader.calendars = {"t": [(datetime.date(2017, 1, 1), loading.parse_calendar(CALENDAR))]}
    # Hourly from 2018-03-24 to 03-27: Berlin moves its clocks on 25 March, so its chunk has no fixed offset.
    ends = [
        datetime.datetime(2018, 3, 24, tzinfo=datetime.UTC) + datetime.timedelta(minutes=15 * k) for k in range(288)
    ]
    frame = pl.DataFrame(
        {"interval_end": ends, "_tariff": ["t"] * len(ends)},
        schema={"interval_end": pl.Datetime("us", "UTC"), "_tariff": pl.Utf8},
    )
    result = loader._day_and_period(frame)
    assert (loader._fixed_offset(frame.get_column("interval_end")) is None) == (zone == "Europe/Berlin")
    calendar = loading.parse_calendar(CALENDAR)
    for end, day, period in result.select("interval_end", "day", "period").rows():
        start = (end - QUARTER).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        assert day == start.date()
        assert period == int(calendar.period_codes(np.array([start], dtype="datetime64[us]"))[0])
