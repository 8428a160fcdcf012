"""Time-of-use calendars: validation, lookups, and the vectorised classifier against the scalar one."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridkam.tariffs.calendar import (
    NO_PERIOD,
    PERIODS,
    CalendarError,
    DateException,
    DayProfile,
    TouCalendar,
    interval_starts_from_ends,
    parse_calendar,
)


def ranges(*spec):
    return [{"from": start, "to": end, "period": period} for start, end, period in spec]


# 粤发改价格〔2021〕331号 as DOMAIN.md states it.
GUANGDONG = {
    "profiles": [
        {
            "key": "standard",
            "name": "非夏季",
            "months": [1, 2, 3, 4, 5, 6, 10, 11, 12],
            "ranges": ranges(
                (0, 8, "valley"),
                (8, 10, "flat"),
                (10, 12, "peak"),
                (12, 14, "flat"),
                (14, 19, "peak"),
                (19, 24, "flat"),
            ),
        },
        {
            "key": "summer",
            "name": "夏季（7–9月，含尖峰）",
            "months": [7, 8, 9],
            "ranges": ranges(
                (0, 8, "valley"),
                (8, 10, "flat"),
                (10, 11, "peak"),
                (11, 12, "sharp"),
                (12, 14, "flat"),
                (14, 15, "peak"),
                (15, 17, "sharp"),
                (17, 19, "peak"),
                (19, 24, "flat"),
            ),
        },
    ],
    "exceptions": [],
}

HOLIDAY = {
    "key": "holiday",
    "name": "节假日",
    "months": [],
    "ranges": ranges((0, 8, "deep_valley"), (8, 24, "valley")),
}


def with_holidays(*exceptions):
    data = copy.deepcopy(GUANGDONG)
    data["profiles"].append(copy.deepcopy(HOLIDAY))
    data["exceptions"] = [{"from": a, "to": b, "profile": p, "name": n} for a, b, p, n in exceptions]
    return data


def errors_of(data) -> list[str]:
    with translation.override("en"), pytest.raises(CalendarError) as caught:
        parse_calendar(data)
    return caught.value.errors


@pytest.fixture
def guangdong() -> TouCalendar:
    return parse_calendar(GUANGDONG)


# -- validation ----------------------------------------------------------------------------------


def test_valid_calendar_parses_into_profiles_with_24_hours(guangdong):
    assert [p.key for p in guangdong.profiles] == ["standard", "summer"]
    assert all(len(p.hours) == 24 for p in guangdong.profiles)
    assert guangdong.profiles[1].months == (7, 8, 9)


def test_every_problem_is_reported_at_once():
    data = {
        "profiles": [
            {
                "key": "standard",
                "name": "非夏季",
                "months": [1, 2, 3, 4, 6, 10, 11, 12],
                "ranges": ranges((0, 8, "valley"), (8, 24, "flat")),
            },
            {
                "key": "summer",
                "name": "夏季",
                "months": [7, 8, 9],
                "ranges": ranges((0, 14, "valley"), (12, 22, "peak")),
            },
        ],
        "exceptions": [{"from": "2025-10-01", "to": "2025-10-07", "profile": "x", "name": "国庆节"}],
    }
    assert errors_of(data) == [
        "Profile “summer”: hours 12–14 are covered twice.",
        "Profile “summer”: hours 22–24 are not covered.",
        "Month 5 has no profile.",
        "Exception 1 (国庆节) names unknown profile “x”.",
    ]


def test_a_range_covered_three_times_says_how_often():
    data = copy.deepcopy(GUANGDONG)
    data["profiles"][0]["ranges"] += ranges((9, 10, "peak"), (9, 11, "flat"))
    assert errors_of(data) == [
        "Profile “standard”: hours 9–10 are covered 3 times.",
        "Profile “standard”: hours 10–11 are covered twice.",
    ]


def test_month_in_two_profiles_is_an_error():
    data = copy.deepcopy(GUANGDONG)
    data["profiles"][1]["months"].append(6)
    assert errors_of(data) == ["Month 6 belongs to more than one profile: “standard”, “summer”."]


def test_month_listed_twice_and_month_out_of_range():
    data = copy.deepcopy(GUANGDONG)
    data["profiles"][1]["months"] += [9, 13, "7"]
    assert errors_of(data) == [
        "Profile “summer”: month 9 is listed twice.",
        "Profile “summer”: 13 is not a month number 1–12.",
        "Profile “summer”: '7' is not a month number 1–12.",
    ]


@pytest.mark.parametrize(
    ("bad_range", "message"),
    [
        (
            {"from": "8", "to": 10, "period": "flat"},
            "Profile “standard”, range 2: “from” must be a whole hour from 0 to 23, not '8'.",
        ),
        (
            {"from": 8, "to": 10.0, "period": "flat"},
            "Profile “standard”, range 2: “to” must be a whole hour from 1 to 24, not 10.0.",
        ),
        (
            {"from": True, "to": 10, "period": "flat"},
            "Profile “standard”, range 2: “from” must be a whole hour from 0 to 23, not True.",
        ),
        (
            {"from": 8, "to": 25, "period": "flat"},
            "Profile “standard”, range 2: “to” must be a whole hour from 1 to 24, not 25.",
        ),
        (
            {"from": 10, "to": 8, "period": "flat"},
            "Profile “standard”, range 2: “from” (10) must be before “to” (8).",
        ),
        (
            {"from": 8, "to": 10, "period": "peek"},
            "Profile “standard”, range 2: unknown period 'peek'; use one of sharp, peak, flat, valley, deep_valley.",
        ),
        (
            {"from": 8, "to": 10, "period": "flat", "price": "1"},
            "Profile “standard”, range 2: unknown field(s) “price”.",
        ),
        (["8", "10", "flat"], "Profile “standard”, range 2 must be an object with “from”, “to” and “period”."),
    ],
)
def test_a_bad_range_gets_a_clear_message(bad_range, message):
    data = copy.deepcopy(GUANGDONG)
    data["profiles"][0]["ranges"][1] = bad_range
    assert message in errors_of(data)


def test_an_unreadable_range_does_not_also_report_coverage_gaps():
    data = copy.deepcopy(GUANGDONG)
    data["profiles"][0]["ranges"][1]["period"] = "peek"
    assert errors_of(data) == [
        "Profile “standard”, range 2: unknown period 'peek'; use one of sharp, peak, flat, valley, deep_valley."
    ]


def test_profile_shape_errors():
    data = copy.deepcopy(GUANGDONG)
    data["profiles"].append({"key": "", "months": [], "ranges": []})
    data["profiles"].append({"key": "summer", "name": 3, "months": "7", "ranges": None})
    data["profiles"].append("holiday")
    assert errors_of(data) == [
        "Profile 3: “key” must be a non-empty string.",
        "Profile “summer”: “name” must be a string.",
        "Profile “summer”: “months” must be a list of month numbers 1–12.",
        "Profile “summer”: “ranges” must be a non-empty list.",
        "Profile key “summer” is used more than once.",
        "Profile 5 must be an object.",
    ]


def test_calendar_shape_errors():
    assert errors_of([]) == ["A calendar must be an object with “profiles” and “exceptions”."]
    assert errors_of({"profiles": [], "exceptions": {}, "holidays": []}) == [
        "Calendar: unknown field(s) “holidays”.",
        "“profiles” must be a non-empty list.",
        "“exceptions” must be a list.",
    ]


def test_exception_errors_are_numbered_and_named():
    data = with_holidays(
        ("2025-10-07", "2025-10-01", "holiday", "国庆节"),
        ("2025-13-01", "2025-10-02", "holiday", "坏日期"),
        ("2025/05/01", "2025-05-05", "holiday", ""),
        ("2025-05-01", "2025-05-05", "x", "劳动节"),
    )
    assert errors_of(data) == [
        "Exception 1 (国庆节): “from” 2025-10-07 is after “to” 2025-10-01.",
        "Exception 2 (坏日期): “from” must be a date written YYYY-MM-DD, not '2025-13-01'.",
        "Exception 3: “from” must be a date written YYYY-MM-DD, not '2025/05/01'.",
        "Exception 4 (劳动节) names unknown profile “x”.",
    ]


def test_overlapping_exceptions_are_reported_pairwise():
    data = with_holidays(
        ("2025-10-01", "2025-10-07", "holiday", "国庆节"),
        ("2025-02-01", "2025-02-04", "holiday", "春节"),
        ("2025-10-07", "2025-10-08", "holiday", "中秋节"),
        ("2025-10-05", "2025-10-05", "holiday", "调休"),
    )
    assert errors_of(data) == [
        "Exception 1 (国庆节) and Exception 4 (调休) overlap.",
        "Exception 1 (国庆节) and Exception 3 (中秋节) overlap.",
    ]


def test_exceptions_touching_end_to_start_do_not_overlap():
    parse_calendar(
        with_holidays(
            ("2025-10-01", "2025-10-07", "holiday", "国庆节"), ("2025-10-08", "2025-10-08", "holiday", "中秋")
        )
    )


def test_missing_exceptions_means_none():
    data = copy.deepcopy(GUANGDONG)
    del data["exceptions"]
    assert parse_calendar(data).exceptions == ()


# -- lookups -------------------------------------------------------------------------------------


def domain_md_guangdong(month: int, hour: int) -> str:
    """The Guangdong rule in DOMAIN.md, written independently of the JSON above."""
    if month in (7, 8, 9) and hour in (11, 15, 16):
        return "sharp"
    if 10 <= hour < 12 or 14 <= hour < 19:
        return "peak"
    if hour < 8:
        return "valley"
    return "flat"


def test_month_hour_grid_of_guangdong_matches_domain_md_hour_by_hour(guangdong):
    grid = guangdong.month_hour_grid()
    assert len(grid) == 12
    assert all(len(row) == 24 for row in grid)
    for month in range(1, 13):
        for hour in range(24):
            assert grid[month - 1][hour] == domain_md_guangdong(month, hour), (month, hour)


@pytest.mark.parametrize(
    ("moment", "period"),
    [
        (datetime(2025, 3, 3, 7, 59), "valley"),
        (datetime(2025, 3, 3, 8, 0), "flat"),
        (datetime(2025, 3, 3, 9, 45), "flat"),
        (datetime(2025, 3, 3, 10, 0), "peak"),
        (datetime(2025, 3, 3, 11, 0), "peak"),
        (datetime(2025, 8, 12, 11, 0), "sharp"),
        (datetime(2025, 8, 12, 11, 45), "sharp"),
        (datetime(2025, 8, 12, 12, 0), "flat"),
        (datetime(2025, 9, 30, 16, 45), "sharp"),
        (datetime(2025, 10, 1, 16, 45), "peak"),
        (datetime(2025, 6, 30, 18, 59), "peak"),
        (datetime(2025, 6, 30, 19, 0), "flat"),
        (datetime(2025, 12, 31, 23, 45), "flat"),
    ],
)
def test_period_at_boundaries(guangdong, moment, period):
    assert guangdong.period_at(moment) == period


def test_period_at_converts_aware_datetimes_to_shanghai_time(guangdong):
    # 03:00 UTC is 11:00 in Shanghai.
    assert guangdong.period_at(datetime(2025, 8, 12, 3, 0, tzinfo=UTC)) == "sharp"
    # 23:59 UTC on the 11th is 07:59 on the 12th in Shanghai, 00:00 UTC is 08:00.
    assert guangdong.period_at(datetime(2025, 8, 11, 23, 59, tzinfo=UTC)) == "valley"
    assert guangdong.period_at(datetime(2025, 8, 12, 0, 0, tzinfo=UTC)) == "flat"


def test_exceptions_override_the_month_profile():
    calendar = parse_calendar(with_holidays(("2025-10-01", "2025-10-07", "holiday", "国庆节")))
    assert calendar.profile_for(date(2025, 9, 30)).key == "summer"
    assert calendar.profile_for(date(2025, 10, 1)).key == "holiday"
    assert calendar.profile_for(date(2025, 10, 7)).key == "holiday"
    assert calendar.profile_for(date(2025, 10, 8)).key == "standard"
    assert calendar.period_at(datetime(2025, 10, 3, 3, 0)) == "deep_valley"
    assert calendar.period_at(datetime(2025, 10, 3, 11, 0)) == "valley"
    assert calendar.period_at(datetime(2025, 10, 8, 11, 0)) == "peak"


def test_month_hour_grid_leaves_exceptions_out():
    calendar = parse_calendar(with_holidays(("2025-10-01", "2025-10-31", "holiday", "整月")))
    assert calendar.month_hour_grid()[9][11] == "peak"


def test_periods_used_follow_the_fixed_order(guangdong):
    assert guangdong.periods_used() == ("sharp", "peak", "flat", "valley")
    holiday = parse_calendar(with_holidays(("2025-10-01", "2025-10-07", "holiday", "国庆节")))
    assert holiday.periods_used() == PERIODS


def test_hours_by_period_counts_a_month(guangdong):
    # August: 31 days × (3 sharp, 4 peak, 9 flat, 8 valley).
    assert guangdong.hours_by_period(2025, 8) == {
        "sharp": 93,
        "peak": 124,
        "flat": 279,
        "valley": 248,
        "deep_valley": 0,
    }
    # February 2024 has 29 days.
    assert guangdong.hours_by_period(2024, 2) == {"sharp": 0, "peak": 203, "flat": 261, "valley": 232, "deep_valley": 0}


def test_hours_by_period_applies_exceptions():
    calendar = parse_calendar(with_holidays(("2025-10-01", "2025-10-07", "holiday", "国庆节")))
    assert calendar.hours_by_period(2025, 10) == {
        "sharp": 0,
        "peak": 24 * 7,
        "flat": 24 * 9,
        "valley": 24 * 8 + 7 * 16,
        "deep_valley": 7 * 8,
    }


def test_to_json_round_trips(guangdong):
    assert guangdong.to_json() == GUANGDONG
    assert parse_calendar(guangdong.to_json()) == guangdong
    holiday_json = with_holidays(("2025-10-01", "2025-10-07", "holiday", "国庆节"))
    assert parse_calendar(holiday_json).to_json() == holiday_json


def test_to_json_merges_adjacent_ranges_of_one_period():
    data = copy.deepcopy(GUANGDONG)
    data["profiles"][0]["ranges"] = ranges((0, 4, "valley"), (4, 8, "valley")) + data["profiles"][0]["ranges"][1:]
    assert parse_calendar(data).to_json() == GUANGDONG


def test_calendars_built_in_code_work_like_parsed_ones():
    calendar = TouCalendar(
        profiles=(DayProfile(key="all", name="全天", months=tuple(range(1, 13)), hours=("flat",) * 24),),
        exceptions=(DateException(start=date(2025, 1, 1), end=date(2025, 1, 1), profile="all", name="元旦"),),
    )
    assert calendar.period_at(datetime(2025, 1, 1, 12)) == "flat"
    assert parse_calendar(calendar.to_json()) == calendar


# -- interval data -------------------------------------------------------------------------------


def test_interval_starts_from_ends_follows_the_end_timestamp_convention():
    ends = np.array(["2025-03-01T00:15", "2025-03-01T08:00", "2025-03-02T00:00"], dtype="datetime64[m]")
    assert interval_starts_from_ends(ends).tolist() == [
        datetime(2025, 3, 1, 0, 0),
        datetime(2025, 3, 1, 7, 45),
        datetime(2025, 3, 1, 23, 45),
    ]


def test_the_midnight_reading_takes_the_period_of_the_day_before(guangdong):
    # The 00:00 reading of 1 October is the 23:45–24:00 interval of 30 September (summer profile, flat)
    # and the 08:00 reading is still valley: it covers 07:45–08:00.
    ends = np.array(["2025-10-01T00:00", "2025-10-01T08:00", "2025-10-01T08:15"], dtype="datetime64[s]")
    codes = guangdong.period_codes(interval_starts_from_ends(ends))
    assert [PERIODS[c] for c in codes] == ["flat", "valley", "flat"]


def test_interval_starts_from_ends_rejects_non_datetimes():
    with pytest.raises(TypeError):
        interval_starts_from_ends(np.array([1, 2, 3]))


@pytest.mark.parametrize("unit", ["m", "s", "ms", "ns"])
def test_period_codes_accepts_any_unit(guangdong, unit):
    starts = np.array(["2025-08-12T10:59", "2025-08-12T11:00", "2025-03-12T11:00"], dtype="datetime64[m]")
    assert guangdong.period_codes(starts.astype(f"datetime64[{unit}]")).tolist() == [
        PERIODS.index("peak"),
        PERIODS.index("sharp"),
        PERIODS.index("peak"),
    ]


def test_period_codes_truncates_to_the_hour_that_contains_the_moment(guangdong):
    # A start a hair before 11:00 still belongs to the 10:00 hour.
    starts = np.array(["2025-08-12T10:59:59.999999999", "2025-08-12T11:00:00"], dtype="datetime64[ns]")
    assert [PERIODS[c] for c in guangdong.period_codes(starts)] == ["peak", "sharp"]


def test_period_codes_keeps_shape_and_marks_nat(guangdong):
    starts = np.array([["2025-08-12T11:00", "NaT"], ["2025-01-01T00:00", "2025-01-01T23:00"]], dtype="datetime64[m]")
    codes = guangdong.period_codes(starts)
    assert codes.dtype == np.int8
    assert codes.shape == (2, 2)
    assert codes.tolist() == [[PERIODS.index("sharp"), NO_PERIOD], [PERIODS.index("valley"), PERIODS.index("flat")]]
    assert guangdong.period_codes(np.array(["NaT"], dtype="datetime64[m]")).tolist() == [NO_PERIOD]


def test_period_codes_applies_exceptions_before_1970_and_outside_the_data():
    calendar = parse_calendar(
        with_holidays(("1969-12-31", "1970-01-01", "holiday", "跨纪元"), ("2030-01-01", "2030-01-02", "holiday", "远"))
    )
    starts = np.array(["1969-12-30T03:00", "1969-12-31T03:00", "1970-01-01T23:00", "1970-01-02T03:00"], "datetime64[m]")
    assert [PERIODS[c] for c in calendar.period_codes(starts)] == ["valley", "deep_valley", "valley", "valley"]


def test_period_codes_rejects_non_datetimes(guangdong):
    with pytest.raises(TypeError):
        guangdong.period_codes(np.array([1.0]))


# -- properties over random valid calendars ------------------------------------------------------


@st.composite
def day_ranges(draw):
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=23), max_size=8)))
    bounds = [0, *cuts, 24]
    return [
        {"from": bounds[i], "to": bounds[i + 1], "period": draw(st.sampled_from(PERIODS))}
        for i in range(len(bounds) - 1)
    ]


@st.composite
def calendars(draw, year=2025):
    count = draw(st.integers(min_value=1, max_value=4))
    owner = draw(st.lists(st.integers(min_value=0, max_value=count - 1), min_size=12, max_size=12))
    profiles = [
        {
            "key": f"p{index}",
            "name": f"方案{index}",
            "months": [month for month in range(1, 13) if owner[month - 1] == index],
            "ranges": draw(day_ranges()),
        }
        for index in range(count)
    ]
    # Non-overlapping exceptions: cut the year into ordered day offsets and pair them up.
    offsets = sorted(draw(st.sets(st.integers(min_value=-3, max_value=368), max_size=8)))
    exceptions = []
    for i in range(0, len(offsets) - 1, 2):
        first = date(year, 1, 1) + timedelta(days=offsets[i])
        last = date(year, 1, 1) + timedelta(days=offsets[i + 1] - draw(st.integers(min_value=0, max_value=1)))
        exceptions.append(
            {
                "from": first.isoformat(),
                "to": last.isoformat(),
                "profile": f"p{draw(st.integers(0, count - 1))}",
                "name": "",
            }
        )
    return {"profiles": profiles, "exceptions": exceptions}


def covering_ranges(data: dict, day: date, hour: int) -> list[str]:
    """Oracle straight from the JSON: the periods of every range that covers this hour on this day."""
    profile_key = None
    for exception in data["exceptions"]:
        if date.fromisoformat(exception["from"]) <= day <= date.fromisoformat(exception["to"]):
            profile_key = exception["profile"]
    profile = next(
        p for p in data["profiles"] if (p["key"] == profile_key if profile_key else day.month in p["months"])
    )
    return [r["period"] for r in profile["ranges"] if r["from"] <= hour < r["to"]]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendars())
def test_every_hour_of_the_year_has_exactly_one_period(data):
    calendar = parse_calendar(data)
    day = date(2025, 1, 1)
    while day.year == 2025:
        for hour in range(24):
            covering = covering_ranges(data, day, hour)
            assert len(covering) == 1
            assert calendar.period_at(datetime(day.year, day.month, day.day, hour)) == covering[0]
        day += timedelta(days=1)
    for month in range(1, 13):
        days = (date(2025 + month // 12, month % 12 + 1, 1) - date(2025, month, 1)).days
        assert sum(calendar.hours_by_period(2025, month).values()) == days * 24


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendars(), st.sampled_from(["m", "s", "ns"]))
def test_period_codes_over_a_year_of_quarter_hours_equals_period_at(data, unit):
    calendar = parse_calendar(data)
    starts = np.arange("2025-01-01T00:00", "2026-01-01T00:00", np.timedelta64(15, "m"), dtype="datetime64[m]")
    codes = calendar.period_codes(starts.astype(f"datetime64[{unit}]"))
    expected = [PERIODS.index(calendar.period_at(moment)) for moment in starts.tolist()]
    assert codes.tolist() == expected


@settings(max_examples=60, deadline=None)
@given(calendars())
def test_to_json_round_trips_random_calendars(data):
    calendar = parse_calendar(data)
    assert parse_calendar(calendar.to_json()) == calendar
