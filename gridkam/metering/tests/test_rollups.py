"""Rollups stay equal to a full recomputation from the readings through imports and rollbacks; rollback puts the
previous values back and refuses while a later import builds on the batch."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from gridkam.customers.models import MeteringPoint
from gridkam.metering.choices import BatchStatus
from gridkam.metering.loading import chunks_import
from gridkam.metering.models import AccountDailyRollup, ImportBatch, PointDailyRollup, PointMonthlyRollup, Reading
from gridkam.metering.services import batch_rollback
from gridkam.tariffs.models import MonthlyUsage

from .factories import (
    ROLLUP_FIELDS,
    assert_rollups_consistent,
    chunk_of,
    day_readings,
    local,
    make_points,
    make_tariff,
)

pytestmark = pytest.mark.django_db
JAN31 = datetime.date(2018, 1, 31)
FEB1 = datetime.date(2018, 2, 1)


def load(readings, **kwargs):
    outcome = chunks_import([chunk_of(readings)], file_name="r.csv", file_format="long", **kwargs)
    assert outcome.committed
    return ImportBatch.objects.get(pk=outcome.batch)


@pytest.fixture
def setup():
    tariff = make_tariff()
    first, second = make_points(2, tariff=tariff)
    (check,) = make_points(1, account=first.account, purpose="check")
    (bare,) = make_points(1, tariff=None)
    return first, second, check, bare


def values(point) -> dict:
    return dict(Reading.objects.filter(metering_point=point).values_list("interval_end", "kwh"))


def test_rollups_match_a_full_recomputation_across_a_month_boundary(setup):
    first, second, check, bare = setup
    readings = []
    for point, base in ((first, 1000), (second, 2333), (check, 10), (bare, 777)):
        for day in (JAN31, FEB1):
            readings += day_readings(
                point.code, day, lambda i, b=base: b + (i * 37) % 500, lag=lambda i: 123, estimated=lambda i: i == 5
            )
    load(readings)
    assert_rollups_consistent()
    january = PointMonthlyRollup.objects.get(metering_point=first, month=datetime.date(2018, 1, 1))
    assert (january.intervals, january.expected_intervals) == (96, 31 * 96)


def test_rollback_of_an_inserting_batch_removes_its_readings_and_rollups(setup):
    first, second, _check, _bare = setup
    keep = load(day_readings(first.code, JAN31, lambda i: 1000))
    batch = load(day_readings(first.code, FEB1, lambda i: 2000) + day_readings(second.code, FEB1, lambda i: 3000))
    assert MonthlyUsage.objects.filter(month=FEB1).exists()
    batch_rollback(batch=batch, user=None)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ROLLED_BACK
    assert batch.rolled_back_at is not None
    assert set(Reading.objects.values_list("batch_id", flat=True)) == {keep.pk}
    assert not PointDailyRollup.objects.filter(day=FEB1).exists()
    assert not PointMonthlyRollup.objects.filter(month=FEB1).exists()
    assert not MonthlyUsage.objects.filter(month=FEB1).exists()
    assert MonthlyUsage.objects.filter(month=datetime.date(2018, 1, 1)).exists()
    assert_rollups_consistent()


def test_rollback_of_an_updating_batch_restores_the_previous_values(setup):
    first, second, _check, _bare = setup
    original = load(day_readings(first.code, JAN31, lambda i: 1000) + day_readings(second.code, JAN31, lambda i: 5))
    before = values(first)
    usage_before = MonthlyUsage.objects.get(account=first.account).valley_kwh
    update = load(
        day_readings(first.code, JAN31, lambda i: 1000 if i % 2 else 4000) + day_readings(first.code, FEB1, lambda i: 1)
    )
    assert (update.updated, update.inserted, update.unchanged) == (48, 96, 48)
    assert_rollups_consistent()
    batch_rollback(batch=update, user=None)
    assert values(first) == before
    assert set(Reading.objects.values_list("batch_id", flat=True)) == {original.pk}
    assert MonthlyUsage.objects.get(account=first.account, month=datetime.date(2018, 1, 1)).valley_kwh == usage_before
    assert_rollups_consistent()
    # Now the original batch can go too; nothing is left.
    batch_rollback(batch=original, user=None)
    assert not Reading.objects.exists()
    assert not PointDailyRollup.objects.exists()
    assert_rollups_consistent()


def test_rollback_is_refused_while_a_later_batch_changed_its_readings(setup):
    first, _second, _check, _bare = setup
    original = load(day_readings(first.code, JAN31, lambda i: 1000))
    later = load(day_readings(first.code, JAN31, lambda i: 1000 if i else 9999))
    with pytest.raises(ValidationError, match=f"#{later.pk}"):
        batch_rollback(batch=original, user=None)
    assert Reading.objects.filter(batch=original).count() == 95
    # Once the later one is rolled back, the original may go.
    batch_rollback(batch=later, user=None)
    batch_rollback(batch=original, user=None)
    assert not Reading.objects.exists()
    assert_rollups_consistent()


def test_a_later_batch_that_changed_nothing_does_not_block(setup):
    first, _second, _check, _bare = setup
    readings = day_readings(first.code, JAN31, lambda i: 1000)
    original = load(readings)
    load(readings)
    batch_rollback(batch=original, user=None)
    assert not Reading.objects.exists()


def test_only_committed_batches_roll_back(setup):
    first, _second, _check, _bare = setup
    batch = load(day_readings(first.code, JAN31, lambda i: 1000))
    batch_rollback(batch=batch, user=None)
    with pytest.raises(ValidationError):
        batch_rollback(batch=batch, user=None)


def test_max_demand_of_a_month_is_the_first_interval_reaching_it(setup):
    first, _second, _check, _bare = setup
    load(
        day_readings(first.code, JAN31 - datetime.timedelta(days=1), lambda i: 5000 if i == 90 else 1)
        + day_readings(first.code, JAN31, lambda i: 5000 if i in (3, 4) else 1)
    )
    month = PointMonthlyRollup.objects.get(metering_point=first)
    assert month.max_demand_kw == Decimal("20")
    assert month.max_demand_at == local(2018, 1, 30, 22, 45)
    assert_rollups_consistent()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions exist on PostgreSQL only")
def test_readings_land_in_the_partition_of_their_start_month(setup):
    first, _second, _check, _bare = setup
    load(day_readings(first.code, JAN31, lambda i: 1000))
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM metering_reading_y2018m01")
        assert cursor.fetchone()[0] == 96  # the 24:00 reading included
        cursor.execute("SELECT COUNT(*) FROM metering_reading_default")
        assert cursor.fetchone()[0] == 0


def test_an_account_with_one_billing_point_has_that_points_days():
    tariff = make_tariff()
    (billing,) = make_points(1, tariff=tariff)
    (check,) = make_points(1, account=billing.account, purpose="check")
    load(day_readings(billing.code, JAN31, lambda i: 1000 + (i * 37) % 500, lag=lambda i: 3, estimated=lambda i: i < 2))
    # Only the check point comes now: the account's day is touched, and taken from its billing point's.
    load(day_readings(check.code, JAN31, lambda i: 5))
    account = AccountDailyRollup.objects.get(account=billing.account, day=JAN31)
    point = PointDailyRollup.objects.get(metering_point=billing, day=JAN31)
    assert [getattr(account, name) for name in ROLLUP_FIELDS] == [getattr(point, name) for name in ROLLUP_FIELDS]
    assert_rollups_consistent()


def test_a_check_point_turned_billing_is_summed_in_from_the_next_import(setup):
    first, second, check, _bare = setup
    load(day_readings(first.code, JAN31, lambda i: 1000) + day_readings(check.code, JAN31, lambda i: 700))
    MeteringPoint.objects.filter(pk=check.pk).update(purpose="billing")
    load(day_readings(check.code, JAN31, lambda i: 800 if i == 10 else 700))
    account = AccountDailyRollup.objects.get(account=first.account, day=JAN31)
    assert (account.kwh_total, account.max_demand_kw) == (Decimal("163.3"), Decimal("7.2"))
    assert_rollups_consistent()
