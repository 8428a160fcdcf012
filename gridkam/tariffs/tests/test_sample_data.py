"""The shipped sample tariffs (data/tariffs/*.json): shape, calendars, prices and the national ratio rules."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from gridkam.tariffs.calendar import NO_PERIOD, PERIODS, parse_calendar

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "tariffs"
FILES = sorted(DATA_DIR.glob("*.json"))

CUSTOMER_CATEGORIES = {"industrial_commercial", "large_industrial", "general_industrial_commercial", "agricultural"}
VOLTAGE_BANDS = {"<1kV": "LV", "1-10kV": "10KV", "20kV": "20KV", "35kV": "35KV", "110kV": "110KV", "220kV+": "220KV"}
STRUCTURES = {"two_part": "2P", "single_part": "1P"}
# Code: <province>[-TOU]-<2P|1P>-<voltage>, e.g. GD-TOU-2P-10KV; "-TOU" exactly when the calendar has two or
# more periods.
CODE = re.compile(r"^(?P<region>[A-Z]{2})(?P<tou>-TOU)?-(?P<structure>[12]P)-(?P<voltage>[0-9A-Z]+)$")
TARIFF_KEYS = {
    "code",
    "name",
    "region",
    "customer_category",
    "voltage_band",
    "structure",
    "description",
    "versions",
}
VERSION_KEYS = {
    "effective_from",
    "energy_prices",
    "capacity_yuan_per_kva_month",
    "demand_yuan_per_kw_month",
    "funds_yuan_per_kwh",
    "rules",
    "illustrative",
    "source",
    "notes",
    "calendar",
}
RULE_KEYS = {"pf_counts_leading", "pf_base_includes_funds", "actual_demand_floor"}
# 发改价格〔2021〕1093号: peak ≥ 4 × valley where the system peak-valley gap exceeds 40 %, else ≥ 3 ×; the samples
# are held to 4:1 (Guangdong's 1.7 : 0.38 and Shanghai's summer/winter 1.8 : 0.4 meet it; Jiangsu's gap is unknown,
# so the stricter floor is assumed).
MIN_PEAK_TO_VALLEY = {"GD": Decimal(4), "JS": Decimal(4), "SH": Decimal(4)}
NATIONAL_FLOOR = Decimal(3)
MIN_SHARP_TO_PEAK = Decimal("1.2")


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def versions() -> list:
    return [
        pytest.param(tariff, version, id=f"{tariff['code']}@{version['effective_from']}")
        for tariff in map(load, FILES)
        for version in tariff["versions"]
    ]


def decimals(value: str) -> int:
    return max(0, -Decimal(value).as_tuple().exponent)


def test_the_four_samples_are_shipped():
    assert {path.stem for path in FILES} >= {"GD-TOU-2P-10KV", "GD-1P-10KV", "JS-TOU-2P-10KV", "SH-TOU-2P-10KV"}


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_tariff_fields_and_code_naming(path):
    tariff = load(path)
    assert set(tariff) == TARIFF_KEYS
    assert path.stem == tariff["code"]
    assert tariff["customer_category"] in CUSTOMER_CATEGORIES
    assert tariff["voltage_band"] in VOLTAGE_BANDS
    assert tariff["structure"] in STRUCTURES
    for field in ("name", "region", "description"):
        assert isinstance(tariff[field], str)
        assert tariff[field].strip()

    match = CODE.match(tariff["code"])
    assert match, tariff["code"]
    assert match["structure"] == STRUCTURES[tariff["structure"]]
    assert match["voltage"] == VOLTAGE_BANDS[tariff["voltage_band"]]
    for version in tariff["versions"]:
        is_tou = len(parse_calendar(version["calendar"]).periods_used()) > 1
        assert bool(match["tou"]) == is_tou, version["effective_from"]


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_versions_are_dated_in_increasing_order(path):
    dates = [date.fromisoformat(version["effective_from"]) for version in load(path)["versions"]]
    assert dates
    assert dates == sorted(set(dates))


@pytest.mark.parametrize(("tariff", "version"), versions())
def test_version_fields_and_labelling(tariff, version):
    assert set(version) == VERSION_KEYS
    assert set(version["rules"]) == RULE_KEYS
    assert all(isinstance(value, bool) for value in version["rules"].values())
    assert version["source"].strip()
    assert version["illustrative"] is True
    # Every sample says in its notes which figures are made up.
    assert "示意" in version["notes"]
    assert "illustrative" in version["notes"]


@pytest.mark.parametrize(("tariff", "version"), versions())
def test_prices_are_positive_decimal_strings_of_allowed_precision(tariff, version):
    for period, price in version["energy_prices"].items():
        assert period in PERIODS
        assert isinstance(price, str)
        assert Decimal(price) > 0
        assert decimals(price) <= 6, (period, price)
    assert isinstance(version["funds_yuan_per_kwh"], str)
    assert Decimal(version["funds_yuan_per_kwh"]) >= 0
    assert decimals(version["funds_yuan_per_kwh"]) <= 6

    basic = [version["capacity_yuan_per_kva_month"], version["demand_yuan_per_kw_month"]]
    if tariff["structure"] == "two_part":
        for price in basic:
            assert isinstance(price, str)
            assert Decimal(price) > 0
            assert decimals(price) <= 4
    else:
        # A single-part tariff has no basic charge.
        assert basic == [None, None]


@pytest.mark.parametrize(("tariff", "version"), versions())
def test_every_period_the_calendar_uses_has_a_price_and_no_price_is_idle(tariff, version):
    calendar = parse_calendar(version["calendar"])
    assert set(calendar.periods_used()) == set(version["energy_prices"])


@pytest.mark.parametrize(("tariff", "version"), versions())
def test_national_ratio_rules_hold(tariff, version):
    prices = {period: Decimal(price) for period, price in version["energy_prices"].items()}
    ordered = [prices[period] for period in PERIODS if period in prices]
    assert ordered == sorted(ordered, reverse=True)
    assert len(set(ordered)) == len(ordered)
    if "peak" in prices and "valley" in prices:
        floor = MIN_PEAK_TO_VALLEY.get(tariff["code"][:2], NATIONAL_FLOOR)
        assert prices["peak"] >= floor * prices["valley"]
    if "sharp" in prices:
        assert prices["sharp"] >= MIN_SHARP_TO_PEAK * prices["peak"]


@pytest.mark.parametrize(("tariff", "version"), versions())
def test_calendar_covers_every_hour_of_2025_and_2026_exactly_once(tariff, version):
    raw = version["calendar"]
    calendar = parse_calendar(raw)
    # Straight from the JSON: how many ranges of the day's profile cover each hour.
    coverage = {
        profile["key"]: [sum(r["from"] <= hour < r["to"] for r in profile["ranges"]) for hour in range(24)]
        for profile in raw["profiles"]
    }
    day = date(2025, 1, 1)
    while day.year < 2027:
        profile = calendar.profile_for(day)
        assert coverage[profile.key] == [1] * 24, (day, profile.key)
        day += timedelta(days=1)

    starts = np.arange("2025-01-01T00:00", "2027-01-01T00:00", np.timedelta64(15, "m"), dtype="datetime64[m]")
    codes = calendar.period_codes(starts)
    assert (codes != NO_PERIOD).all()
    assert {PERIODS[code] for code in np.unique(codes)} <= set(calendar.periods_used())


@pytest.mark.parametrize(("tariff", "version"), versions())
def test_exception_profiles_serve_no_month_and_months_are_not_left_to_exceptions(tariff, version):
    raw = version["calendar"]
    named = {exception["profile"] for exception in raw["exceptions"]}
    for profile in raw["profiles"]:
        # A profile is either a month's or an exception's; one that is neither is dead data.
        assert bool(profile["months"]) != (profile["key"] in named), profile["key"]
