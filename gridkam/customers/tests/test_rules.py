from decimal import Decimal

import pytest

from gridkam.customers.rules import TierThresholds, supply_gaps, tier_for

RULES = [
    TierThresholds("special", Decimal("100000"), Decimal("50000"), ("special",)),
    TierThresholds("first", Decimal("20000"), Decimal("10000"), ("first",)),
    TierThresholds("second", Decimal("5000"), Decimal("3150"), ("second",)),
]


@pytest.mark.parametrize(
    ("energy", "capacity", "importance", "expected"),
    [
        ("0", "0", "none", "third"),
        ("5000", "0", "none", "second"),
        ("4999.99", "3150", "none", "second"),
        ("0", "10000", "none", "first"),
        ("150000", "0", "none", "special"),
        ("0", "0", "first", "first"),
        ("25000", "0", "special", "special"),
    ],
)
def test_highest_tier_met_on_any_threshold_wins(energy, capacity, importance, expected):
    assert (
        tier_for(
            rules=RULES, annual_energy_mwh=Decimal(energy), capacity_kva=Decimal(capacity), importance_class=importance
        )
        == expected
    )


def test_empty_threshold_does_not_apply():
    rules = [TierThresholds("first", None, None, ())]
    assert (
        tier_for(rules=rules, annual_energy_mwh=Decimal("1e9"), capacity_kva=Decimal("1e9"), importance_class="none")
        == "third"
    )


def gaps(importance, modes, security="100", emergency="150"):
    return [
        g.code
        for g in supply_gaps(
            importance_class=importance,
            supply_modes=modes,
            security_load_kw=Decimal(security),
            emergency_power_kw=Decimal(emergency),
            min_emergency_ratio=Decimal("1.2"),
        )
    ]


def test_ordinary_customer_has_no_gaps_even_on_single_supply():
    assert gaps("none", [("single", "active")], emergency="0") == []


def test_first_class_user_on_single_supply_is_flagged():
    assert gaps("first", [("single", "active")]) == ["supply_sources"]


def test_first_class_user_on_dual_supply_is_fine():
    assert gaps("first", [("dual", "active")]) == []


def test_special_class_needs_three_sources():
    assert gaps("special", [("dual", "active")]) == ["supply_sources"]
    assert gaps("special", [("multiple", "active")]) == []


def test_closed_accounts_do_not_count_as_supply():
    assert gaps("second", [("dual", "closed"), ("single", "active")]) == ["supply_sources"]


def test_important_user_without_emergency_power_is_flagged():
    assert gaps("second", [("dual", "active")], emergency="0") == ["no_emergency_power"]


def test_emergency_power_below_120_percent_of_security_load_is_flagged():
    assert gaps("second", [("dual", "active")], security="100", emergency="119") == ["emergency_power_short"]
    assert gaps("second", [("dual", "active")], security="100", emergency="120") == []


def test_unknown_security_load_is_flagged_not_ignored():
    assert gaps("temporary", [("single", "active")], security="0", emergency="50") == ["no_security_load"]
