"""The severity function on its boundaries: the ITIC and SEMI F47 steps, interruptions, swells and the
GB/T 14549 harmonic limits by voltage level."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridkam.powerquality.choices import PqKind, SagCurve, Severity
from gridkam.powerquality.classify import classify, curve_points, standard_limit, thd_limit

D = Decimal


@pytest.mark.parametrize(
    ("duration", "residual", "severity", "outside"),
    [
        (20, "10", Severity.WITHIN, False),  # up to 20 ms ITIC has no sag limit
        (21, "69.9", Severity.MODERATE, True),
        (500, "70", Severity.WITHIN, False),  # on the step: the shorter step applies, 70 % is enough
        (501, "70", Severity.MODERATE, True),  # past 0.5 s the curve asks for 80 %
        (10_000, "80", Severity.WITHIN, False),
        (10_001, "85", Severity.MODERATE, True),  # beyond 10 s: 90 %
        (100, "49.9", Severity.SEVERE, True),  # deep: below 50 %
        (100, "50", Severity.MODERATE, True),
    ],
)
def test_sags_against_the_itic_curve(duration, residual, severity, outside):
    result = classify(kind=PqKind.SAG, duration_ms=duration, residual_pct=D(residual), curve=SagCurve.ITIC)
    assert (result.severity, result.outside) == (severity, outside)


@pytest.mark.parametrize(
    ("duration", "residual", "outside"),
    [
        (200, "50", False),
        (200, "49", True),
        (201, "65", True),
        (500, "70", False),
        (1000, "80", False),
        (1001, "79", True),
    ],
)
def test_sags_against_semi_f47(duration, residual, outside):
    result = classify(kind=PqKind.SAG, duration_ms=duration, residual_pct=D(residual), curve=SagCurve.SEMI_F47)
    assert result.outside is outside


def test_semi_f47_is_stricter_than_itic_for_a_short_deep_sag():
    kwargs = {"kind": PqKind.SAG, "duration_ms": 150, "residual_pct": D("60")}
    assert classify(**kwargs, curve=SagCurve.ITIC).outside is True
    assert classify(**kwargs, curve=SagCurve.SEMI_F47).outside is False


def test_interruptions_are_severe_after_20_ms():
    assert classify(kind=PqKind.INTERRUPTION, duration_ms=20).severity == Severity.WITHIN
    assert classify(kind=PqKind.INTERRUPTION, duration_ms=21).severity == Severity.SEVERE


@pytest.mark.parametrize(
    ("duration", "residual", "severity"),
    [
        (3, "140", Severity.WITHIN),
        (4, "125", Severity.MODERATE),
        (500, "120", Severity.WITHIN),
        (600, "115", Severity.MODERATE),
        (600, "140", Severity.SEVERE),
    ],
)
def test_swells_against_the_upper_curve(duration, residual, severity):
    assert classify(kind=PqKind.SWELL, duration_ms=duration, residual_pct=D(residual)).severity == severity


@pytest.mark.parametrize(
    ("kv", "limit"),
    [("0.4", "5.0"), ("10", "4.0"), ("20", "4.0"), ("35", "3.0"), ("66", "3.0"), ("110", "2.0"), ("220", "2.0")],
)
def test_thd_limits_by_voltage_level(kv, limit):
    assert thd_limit(kv) == D(limit)


def test_harmonics_against_the_limit_of_the_voltage_level():
    at_10kv = classify(kind=PqKind.HARMONICS, value=D("4.0"), voltage_kv="10")
    assert (at_10kv.severity, at_10kv.outside, at_10kv.limit) == (Severity.WITHIN, False, D("4.0"))
    at_35kv = classify(kind=PqKind.HARMONICS, value=D("4.0"), voltage_kv="35")
    assert (at_35kv.severity, at_35kv.outside) == (Severity.MODERATE, True)
    assert classify(kind=PqKind.HARMONICS, value=D("3.1"), voltage_kv="110").severity == Severity.SEVERE  # > 1.5 × 2 %
    # A limit given with the event wins over the standard's.
    assert classify(kind=PqKind.HARMONICS, value=D("4.5"), limit=D("5"), voltage_kv="10").outside is False


def test_other_measured_kinds():
    assert standard_limit(PqKind.FLICKER, "220") == D("0.8")
    assert classify(kind=PqKind.FLICKER, value=D("1.0"), voltage_kv="10").outside is False
    assert classify(kind=PqKind.UNBALANCE, value=D("2.1")).outside is True
    assert classify(kind=PqKind.FREQUENCY, value=D("-0.25")).outside is True  # the sign of a deviation is ignored
    assert classify(kind=PqKind.FREQUENCY, value=D("-0.2")).outside is False


def test_missing_measurements_are_not_guessed():
    assert classify(kind=PqKind.SAG, duration_ms=100).severity == Severity.UNKNOWN
    assert classify(kind=PqKind.HARMONICS, voltage_kv="10").severity == Severity.UNKNOWN


def test_the_curve_for_the_chart_is_a_step_line():
    points = curve_points(SagCurve.ITIC, longest_ms=60_000)
    assert points[0] == [1, 0.0] and [500, 70.0] in points and [501, 80.0] not in points
    assert points[-1] == [60_000, 90.0]
