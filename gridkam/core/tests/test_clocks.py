"""SLA clock arithmetic: 24×7 and working-hours clocks across nights, weekends, statutory holidays and make-up
working days, with pauses; elapsed() inverts deadline(). Most tests pass the package's calendar as a plain
function (no database); the last ones use the default, the statutory days in the database."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridkam.core.apps import check_working_hours
from gridkam.core.clocks import deadline, elapsed, parse_working_hours
from gridkam.core.services import statutory_days_load
from gridkam.core.workdays import package_days

SH = ZoneInfo("Asia/Shanghai")
WORKING = "working"
ROUND = "24x7"
STATUTORY = {entry.day: entry.working for entry in package_days(range(2024, 2027))}


def package_calendar(day: dt.date) -> bool:
    """The chinese-calendar schedule for 2024-2026 and the weekday rule otherwise, without the database."""
    return STATUTORY.get(day, day.weekday() < 5)


def at(year, month, day, hour=0, minute=0, second=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=SH)


def due(start, minutes, kind=WORKING, pauses=(), **kwargs):
    return deadline(start, minutes, kind, pauses, calendar=package_calendar, **kwargs)


def spent(start, end, kind=WORKING, pauses=(), **kwargs):
    return elapsed(start, end, kind, pauses, calendar=package_calendar, **kwargs)


# --- 24×7 against working hours ---


def test_an_around_the_clock_target_is_wall_time():
    start = at(2026, 2, 13, 16)
    assert due(start, 240, ROUND) == at(2026, 2, 13, 20)
    assert due(start, 3 * 24 * 60, ROUND) == at(2026, 2, 16, 16)  # holidays do not stop it
    assert spent(start, at(2026, 2, 16, 16), ROUND) == 3 * 24 * 60


def test_four_working_hours_from_friday_16_00_before_the_spring_festival():
    # Friday 16:00-17:30 counts 1.5 h; Saturday Feb 14 is a make-up working day: 08:30 + 2.5 h.
    assert due(at(2026, 2, 13, 16), 240) == at(2026, 2, 14, 11)
    # Ten hours: 1.5 on Friday, 7.5 on the make-up Saturday, the last hour after the holiday week.
    assert due(at(2026, 2, 13, 16), 600) == at(2026, 2, 24, 9, 30)
    assert spent(at(2026, 2, 13, 16), at(2026, 2, 24, 9, 30)) == 600


def test_four_working_hours_from_the_eve_of_national_day_2025():
    # Tuesday Sep 30 16:00: 1.5 h; Oct 1-8 off (Oct 4-5 a weekend anyway); Thursday Oct 9 08:30 + 2.5 h.
    assert due(at(2025, 9, 30, 16), 240) == at(2025, 10, 9, 11)
    # Friday Sep 26 16:00: 1.5 h, then the make-up Sunday Sep 28.
    assert due(at(2025, 9, 26, 16), 240) == at(2025, 9, 28, 11)


def test_a_plain_weekend_is_skipped():
    assert due(at(2026, 3, 6, 17), 60) == at(2026, 3, 9, 9)  # Friday 17:00 -> Monday
    assert spent(at(2026, 3, 6, 17), at(2026, 3, 9, 9)) == 60


def test_a_start_outside_working_hours_waits_for_the_next_period():
    assert due(at(2026, 3, 2, 6), 30) == at(2026, 3, 2, 9)  # before work
    assert due(at(2026, 3, 2, 12, 15), 30) == at(2026, 3, 2, 14)  # at lunch
    assert due(at(2026, 3, 2, 20), 30) == at(2026, 3, 3, 9)  # in the evening
    assert due(at(2026, 2, 21, 10), 30) == at(2026, 2, 24, 9)  # in the holiday
    assert spent(at(2026, 3, 2, 12), at(2026, 3, 2, 13, 30)) == 0


def test_a_working_day_counts_seven_and_a_half_hours():
    assert spent(at(2026, 3, 2), at(2026, 3, 3)) == 450
    assert spent(at(2026, 3, 2), at(2026, 3, 9)) == 5 * 450
    assert spent(at(2026, 2, 14), at(2026, 2, 24)) == 450  # the make-up Saturday only


# --- Pauses ---


def test_a_pause_over_the_night_stops_the_working_clock():
    start = at(2026, 3, 2, 9)
    # Without the pause: 3 h + 4 h on Monday, the eighth hour Tuesday 08:30-09:30.
    assert due(start, 480) == at(2026, 3, 3, 9, 30)
    # Waiting for the customer from Monday 17:00 to Tuesday 10:00: Monday gives 6.5 h, Tuesday 10:00 + 1.5 h.
    pauses = [(at(2026, 3, 2, 17), at(2026, 3, 3, 10))]
    assert due(start, 480, pauses=pauses) == at(2026, 3, 3, 11, 30)
    assert spent(start, at(2026, 3, 3, 11, 30), pauses=pauses) == 480


def test_a_pause_over_the_night_stops_the_around_the_clock_clock():
    start = at(2026, 3, 2, 9)
    pauses = [(at(2026, 3, 2, 17), at(2026, 3, 3, 10))]
    assert due(start, 600, ROUND, pauses) == at(2026, 3, 3, 12)
    assert spent(start, at(2026, 3, 3, 12), ROUND, pauses) == 600
    assert spent(start, at(2026, 3, 3, 10), ROUND, pauses) == 480


def test_overlapping_and_unordered_pauses_count_once():
    start = at(2026, 3, 2, 9)
    pauses = [(at(2026, 3, 2, 11), at(2026, 3, 2, 14)), (at(2026, 3, 2, 10), at(2026, 3, 2, 11, 30))]
    assert spent(start, at(2026, 3, 2, 15), ROUND, pauses) == 120  # 09-10 and 14-15


def test_a_pause_still_open_leaves_the_deadline_unknown():
    start = at(2026, 3, 2, 9)
    pauses = [(at(2026, 3, 2, 10), None)]
    assert due(start, 120, pauses=pauses) is None
    assert due(start, 120, ROUND, pauses) is None
    assert due(start, 30, pauses=pauses) == at(2026, 3, 2, 9, 30)  # due before the pause
    assert spent(start, at(2026, 3, 20), pauses=pauses) == 60
    assert spent(start, at(2026, 3, 20), ROUND, pauses) == 60


def test_a_clock_started_inside_a_pause_runs_when_it_ends():
    pauses = [(at(2026, 3, 2, 8), at(2026, 3, 2, 14))]
    assert due(at(2026, 3, 2, 9), 60, pauses=pauses) == at(2026, 3, 2, 15)


# --- Edges and checks ---


def test_elapsed_counts_whole_minutes():
    start = at(2026, 3, 2, 9)
    assert spent(start, start + dt.timedelta(seconds=119), ROUND) == 1
    assert spent(start, start - dt.timedelta(hours=1)) == 0
    assert due(start, 0) == start


def test_datetimes_are_aware_in_and_out_and_any_zone_gives_the_same_answer():
    start_utc = at(2026, 2, 13, 16).astimezone(dt.UTC)
    result = due(start_utc, 240)
    assert result == at(2026, 2, 14, 11)
    assert result.utcoffset() == dt.timedelta(0)
    with pytest.raises(ValueError):
        due(dt.datetime(2026, 3, 2, 9), 60)
    with pytest.raises(ValueError):
        spent(at(2026, 3, 2), at(2026, 3, 3), pauses=[(dt.datetime(2026, 3, 2, 10), None)])


def test_unknown_kinds_and_negative_targets_are_refused():
    with pytest.raises(ValueError):
        due(at(2026, 3, 2), 60, "business")
    with pytest.raises(ValueError):
        due(at(2026, 3, 2), -1)


def test_working_hours_can_be_given_or_configured(settings):
    assert due(at(2026, 3, 2, 16), 120, hours=[("09:00", "17:00")]) == at(2026, 3, 3, 10)
    settings.GRIDKAM = {**settings.GRIDKAM, "WORKING_HOURS": [("08:00", "12:00"), ("14:00", "18:00")]}
    assert due(at(2026, 3, 2, 11), 120) == at(2026, 3, 2, 15)


@pytest.mark.parametrize(
    "hours",
    [[], [("17:30", "08:30")], [("08:30", "12:00"), ("11:00", "17:00")], [("8h", "12h")], [("08:30",)]],
)
def test_bad_working_hours_are_refused(hours):
    with pytest.raises(ValueError):
        parse_working_hours(hours)


def test_bad_configured_working_hours_fail_the_system_check(settings):
    assert check_working_hours() == []
    settings.GRIDKAM = {**settings.GRIDKAM, "WORKING_HOURS": [("08:30",)]}
    assert [error.id for error in check_working_hours()] == ["gridkam_core.E001"]


def test_a_calendar_without_working_days_is_an_error_not_a_hang():
    with pytest.raises(ValueError):
        deadline(at(2026, 3, 2), 60, WORKING, calendar=lambda day: False)


def test_the_default_working_hours():
    assert parse_working_hours([("08:30", "12:00"), ("13:30", "17:30")]) == [
        (dt.time(8, 30), dt.time(12)),
        (dt.time(13, 30), dt.time(17, 30)),
    ]


# --- elapsed() inverts deadline() ---

moments = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2026, 11, 30)).map(
    lambda moment: moment.replace(tzinfo=SH)
)
pause_lists = st.lists(
    st.tuples(st.integers(min_value=-3000, max_value=20000), st.integers(min_value=1, max_value=5000)), max_size=3
)


@settings(max_examples=300, deadline=None)
@given(start=moments, minutes=st.integers(min_value=0, max_value=20000), pause_spec=pause_lists)
def test_elapsed_until_the_deadline_is_the_target(start, minutes, pause_spec):
    pauses = [
        (start + dt.timedelta(minutes=offset), start + dt.timedelta(minutes=offset + length))
        for offset, length in pause_spec
    ]
    for kind in (WORKING, ROUND):
        end = due(start, minutes, kind, pauses)
        assert end is not None and end >= start
        assert spent(start, end, kind, pauses) == minutes
        if minutes:
            # Due at the first moment the target is reached, not later.
            assert spent(start, end - dt.timedelta(seconds=1), kind, pauses) == minutes - 1


@settings(max_examples=100, deadline=None)
@given(start=moments, minutes=st.integers(min_value=1, max_value=5000))
def test_a_working_clock_is_never_faster_than_wall_time(start, minutes):
    assert due(start, minutes) >= due(start, minutes, ROUND)


# --- With the statutory days in the database (the default calendar) ---


@pytest.mark.django_db
def test_the_default_calendar_is_the_statutory_days_table():
    start = at(2026, 2, 13, 16)
    # Before loading: 2026 follows the weekday rule, so Saturday Feb 14 is not worked.
    assert deadline(start, 240, WORKING) == at(2026, 2, 16, 11)
    statutory_days_load(years=[2026])
    assert deadline(start, 240, WORKING) == at(2026, 2, 14, 11)
    assert deadline(start, 600, WORKING) == at(2026, 2, 24, 9, 30)
    assert elapsed(start, at(2026, 2, 24, 9, 30), WORKING) == 600


@pytest.mark.django_db
def test_a_month_of_working_clock_is_one_query(django_assert_max_num_queries):
    statutory_days_load(years=[2025, 2026])
    with django_assert_max_num_queries(1):
        assert elapsed(at(2025, 12, 1), at(2026, 1, 31), WORKING) > 30 * 450
