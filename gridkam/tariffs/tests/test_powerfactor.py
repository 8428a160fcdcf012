"""The monthly power factor and the adjustment table of DOMAIN.md (〔83〕水电财字第215号)."""

import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridkam.tariffs.powerfactor import pf_adjustment_percent, pf_percent_table, power_factor

COS_PHI = [f"{c / 100:.2f}" for c in range(100, 49, -1)]  # "1.00", "0.99", …, "0.50"

# The table of DOMAIN.md written out by hand, one value per cos φ of COS_PHI, in percent.
EXPECTED = {
    "0.90": [
        # 1.00 … 0.95: -0.75; 0.94 … 0.91: -0.15 per step; 0.90: 0
        "-0.75", "-0.75", "-0.75", "-0.75", "-0.75", "-0.75", "-0.60", "-0.45", "-0.30", "-0.15", "0",
        # 0.89 … 0.70: +0.5 per 0.01
        "0.5", "1.0", "1.5", "2.0", "2.5", "3.0", "3.5", "4.0", "4.5", "5.0",
        "5.5", "6.0", "6.5", "7.0", "7.5", "8.0", "8.5", "9.0", "9.5", "10",
        # 0.69 … 0.65: +1 per 0.01
        "11", "12", "13", "14", "15",
        # 0.64 and below: +2 per 0.01
        "17", "19", "21", "23", "25", "27", "29", "31", "33", "35", "37", "39", "41", "43", "45",
    ],
    "0.85": [
        # 1.00 … 0.94: -1.10; 0.93 -0.95, 0.92 -0.80, 0.91 -0.65, 0.90 -0.50
        "-1.10", "-1.10", "-1.10", "-1.10", "-1.10", "-1.10", "-1.10", "-0.95", "-0.80", "-0.65", "-0.50",
        # 0.89 -0.40, 0.88 -0.30, 0.87 -0.20, 0.86 -0.10, 0.85 0
        "-0.40", "-0.30", "-0.20", "-0.10", "0",
        # 0.84 … 0.65: +0.5 per 0.01
        "0.5", "1.0", "1.5", "2.0", "2.5", "3.0", "3.5", "4.0", "4.5", "5.0",
        "5.5", "6.0", "6.5", "7.0", "7.5", "8.0", "8.5", "9.0", "9.5", "10",
        # 0.64 … 0.60: +1 per 0.01
        "11", "12", "13", "14", "15",
        # 0.59 and below: +2 per 0.01
        "17", "19", "21", "23", "25", "27", "29", "31", "33", "35",
    ],
    "0.80": [
        # 1.00 … 0.92: -1.30; 0.91 -1.15, 0.90 -1.00
        "-1.30", "-1.30", "-1.30", "-1.30", "-1.30", "-1.30", "-1.30", "-1.30", "-1.30", "-1.15", "-1.00",
        # 0.89 … 0.81: -0.10 per 0.01 towards 0.80: 0
        "-0.90", "-0.80", "-0.70", "-0.60", "-0.50", "-0.40", "-0.30", "-0.20", "-0.10", "0",
        # 0.79 … 0.60: +0.5 per 0.01
        "0.5", "1.0", "1.5", "2.0", "2.5", "3.0", "3.5", "4.0", "4.5", "5.0",
        "5.5", "6.0", "6.5", "7.0", "7.5", "8.0", "8.5", "9.0", "9.5", "10",
        # 0.59 … 0.55: +1 per 0.01
        "11", "12", "13", "14", "15",
        # 0.54 and below: +2 per 0.01
        "17", "19", "21", "23", "25",
    ],
}  # fmt: skip


@pytest.mark.parametrize("standard", ["0.90", "0.85", "0.80"])
def test_adjustment_table_matches_domain_at_every_hundredth(standard):
    expected = EXPECTED[standard]
    assert len(expected) == len(COS_PHI) == 51
    actual = {cos: pf_adjustment_percent(standard, Decimal(cos)) for cos in COS_PHI}
    assert actual == {cos: Decimal(percent) for cos, percent in zip(COS_PHI, expected, strict=True)}


@pytest.mark.parametrize("standard", ["0.90", "0.85", "0.80"])
def test_numpy_lookup_agrees_with_the_table(standard):
    table = pf_percent_table(standard)
    assert table.dtype == np.int64
    assert table.shape == (101,)
    for cos, percent in zip(COS_PHI, EXPECTED[standard], strict=True):
        assert table[round(float(cos) * 100)] == int(Decimal(percent) * 100)


@pytest.mark.parametrize(
    ("standard", "cos_phi", "percent"),
    [("0.90", "0.49", "47"), ("0.90", "0.00", "145"), ("0.85", "0.49", "37"), ("0.80", "0.40", "45")],
)
def test_below_the_table_the_last_slope_continues(standard, cos_phi, percent):
    assert pf_adjustment_percent(standard, Decimal(cos_phi)) == Decimal(percent)


def test_standard_none_never_adjusts():
    assert pf_adjustment_percent("none", Decimal("0.50")) == 0
    assert not pf_percent_table("none").any()


def test_percent_has_two_decimals():
    assert str(pf_adjustment_percent("0.90", Decimal("0.92"))) == "-0.30"
    assert str(pf_adjustment_percent("0.90", Decimal("0.70"))) == "10.00"


@pytest.mark.parametrize("cos_phi", ["0.905", "1.01", "-0.01"])
def test_cos_phi_off_the_grid_is_refused(cos_phi):
    with pytest.raises(ValueError):
        pf_adjustment_percent("0.90", Decimal(cos_phi))


def test_unknown_standard_is_refused():
    with pytest.raises(ValueError):
        pf_adjustment_percent("0.95", Decimal("0.90"))


@pytest.mark.parametrize(
    ("kwh", "kvarh", "cos_phi"),
    [
        ("100", "0", "1.00"),
        ("0.01", "1000000", "0.00"),
        ("3", "4", "0.60"),  # exactly 0.6
        ("4", "3", "0.80"),  # exactly 0.8
        ("100", "48.4322", "0.90"),  # 0.90000004
        ("1000", "484.322", "0.90"),
        ("100", "48.4324", "0.90"),  # 0.89999933 rounds up
        ("605", "796.226", "0.60"),  # 0.60499974: just below the 0.605 boundary
        ("605", "796.225", "0.61"),  # 0.60500023: just above it
    ],
)
def test_power_factor_rounds_half_up_to_hundredths(kwh, kvarh, cos_phi):
    assert power_factor(Decimal(kwh), Decimal(kvarh)) == Decimal(cos_phi)


def test_power_factor_is_none_without_active_energy():
    assert power_factor(Decimal("0"), Decimal("50")) is None


def test_power_factor_near_a_boundary_is_exact():
    # cos φ × 100 = 60.5 - 6.3e-16: float64 rounds this to 61, the exact value is below the boundary.
    kwh, kvarh = Decimal("10000000034.64"), Decimal("13160751625.42")
    assert math.floor(float(kwh) * 100 / math.hypot(float(kwh), float(kvarh)) + 0.5) == 61
    assert power_factor(kwh, kvarh) == Decimal("0.60")


cos_grid = st.integers(min_value=0, max_value=100).map(lambda c: Decimal(c).scaleb(-2))


@given(standard=st.sampled_from(["0.90", "0.85", "0.80", "none"]), a=cos_grid, b=cos_grid)
def test_adjustment_never_rises_as_the_power_factor_improves(standard, a, b):
    low, high = sorted((a, b))
    assert pf_adjustment_percent(standard, low) >= pf_adjustment_percent(standard, high)
