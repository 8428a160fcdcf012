"""Severity of a power-quality event: pure functions over plain values (no ORM), documented in docs/power-quality.md.

rms-voltage events (GB/T 30137-2013 definitions: a sag leaves 10–90 % of the declared voltage, a swell more than
110 %, an interruption less than 10 %) are placed against an equipment tolerance curve, the residual voltage (in %
of the declared voltage) against the duration:

- **ITIC** (the CBEMA curve as revised by the Information Technology Industry Council): no sag limit up to 20 ms;
  at least 70 % up to 0.5 s, 80 % up to 10 s, 90 % beyond. Swells: at most 140 % up to 3 ms, 120 % up to 0.5 s,
  110 % beyond.
- **SEMI F47-0706** (semiconductor tools): at least 50 % up to 0.2 s, 70 % up to 0.5 s, 80 % up to 1 s; beyond
  1 s (which F47 does not cover) the ITIC limits apply; swells as ITIC.

A duration on a step's boundary belongs to the shorter step (a 500 ms sag to 70 % is inside ITIC). Outside the
curve a sag keeping at least 50 % is *moderate*, below 50 % *severe*; an interruption longer than 20 ms is always
severe (shorter ones are inside: ITIC rides through 20 ms at 0 %); a swell outside the curve is moderate, at
140 % or more severe.

Measured values are compared with a limit: the one given with the event, else the national standard's for the
account's voltage level — THDu by GB/T 14549-1993 (0.38 kV 5 %, 6–20 kV 4 %, 35/66 kV 3 %, 110 kV and above 2 %),
long-term flicker Plt by GB/T 12326-2008 (≤ 110 kV 1.0, above 0.8), negative-sequence unbalance by GB/T 15543-2008
(2 %), frequency deviation by GB/T 15945-2008 (0.2 Hz, the value is the deviation, its sign ignored). Above the
limit is outside tolerance: moderate up to 1.5 × the limit, severe beyond.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .choices import PqKind, SagCurve, Severity

INTERRUPTION_RIDE_THROUGH_MS = 20
SEVERE_SAG_BELOW_PCT = Decimal("50")
SEVERE_SWELL_FROM_PCT = Decimal("140")
SEVERE_FACTOR = Decimal("1.5")
INFINITE_MS = 10**12

# (up to this duration in ms, the least residual voltage in %) — the first step whose duration is reached applies.
SAG_CURVES: dict[str, tuple[tuple[int, Decimal], ...]] = {
    SagCurve.ITIC: ((20, Decimal("0")), (500, Decimal("70")), (10_000, Decimal("80")), (INFINITE_MS, Decimal("90"))),
    SagCurve.SEMI_F47: (
        (20, Decimal("0")),
        (200, Decimal("50")),
        (500, Decimal("70")),
        (1_000, Decimal("80")),
        (10_000, Decimal("80")),
        (INFINITE_MS, Decimal("90")),
    ),
}
# (up to this duration in ms, the most voltage in %).
SWELL_CURVE: tuple[tuple[int, Decimal], ...] = (
    (3, Decimal("140")),
    (500, Decimal("120")),
    (INFINITE_MS, Decimal("110")),
)

UNITS = {PqKind.HARMONICS: "%", PqKind.FLICKER: "Plt", PqKind.UNBALANCE: "%", PqKind.FREQUENCY: "Hz"}


@dataclass(frozen=True)
class Classification:
    severity: str
    outside: bool
    limit: Decimal | None  # the limit compared with (measured kinds) or the curve's level at the duration (rms)


def _voltage(voltage_kv: str | Decimal | None) -> Decimal | None:
    try:
        return Decimal(str(voltage_kv)) if voltage_kv not in (None, "") else None
    except ArithmeticError:
        return None


def thd_limit(voltage_kv: str | Decimal | None) -> Decimal:
    """GB/T 14549-1993 Table 1 total harmonic voltage distortion limit (%) for the voltage level."""
    kv = _voltage(voltage_kv)
    if kv is None or kv < 1:
        return Decimal("5.0")
    if kv < 35:
        return Decimal("4.0")
    if kv < 110:
        return Decimal("3.0")
    return Decimal("2.0")


def standard_limit(kind: str, voltage_kv: str | Decimal | None) -> Decimal | None:
    """The national standard's limit for a measured kind at the voltage level (None for rms kinds)."""
    if kind == PqKind.HARMONICS:
        return thd_limit(voltage_kv)
    if kind == PqKind.FLICKER:
        kv = _voltage(voltage_kv)
        return Decimal("0.8") if kv is not None and kv > 110 else Decimal("1.0")
    if kind == PqKind.UNBALANCE:
        return Decimal("2.0")
    if kind == PqKind.FREQUENCY:
        return Decimal("0.2")
    return None


def curve_level(steps: tuple[tuple[int, Decimal], ...], duration_ms: int) -> Decimal:
    for up_to, level in steps:
        if duration_ms <= up_to:
            return level
    return steps[-1][1]


def classify(
    *,
    kind: str,
    duration_ms: int | None = None,
    residual_pct: Decimal | None = None,
    value: Decimal | None = None,
    limit: Decimal | None = None,
    voltage_kv: str | Decimal | None = None,
    curve: str = SagCurve.ITIC,
) -> Classification:
    """The event's severity and whether it lies outside the tolerance curve or above its limit.

    Missing measurements (a customer's report without them) give ``unknown``, never a guess.
    """
    if kind == PqKind.INTERRUPTION:
        if duration_ms is None:
            return Classification(Severity.UNKNOWN, False, None)
        outside = duration_ms > INTERRUPTION_RIDE_THROUGH_MS
        return Classification(Severity.SEVERE if outside else Severity.WITHIN, outside, Decimal("0"))
    if kind == PqKind.SAG:
        if duration_ms is None or residual_pct is None:
            return Classification(Severity.UNKNOWN, False, None)
        level = curve_level(SAG_CURVES.get(curve, SAG_CURVES[SagCurve.ITIC]), duration_ms)
        if residual_pct >= level:
            return Classification(Severity.WITHIN, False, level)
        severe = residual_pct < SEVERE_SAG_BELOW_PCT
        return Classification(Severity.SEVERE if severe else Severity.MODERATE, True, level)
    if kind == PqKind.SWELL:
        if duration_ms is None or residual_pct is None:
            return Classification(Severity.UNKNOWN, False, None)
        level = curve_level(SWELL_CURVE, duration_ms)
        if residual_pct <= level:
            return Classification(Severity.WITHIN, False, level)
        severe = residual_pct >= SEVERE_SWELL_FROM_PCT
        return Classification(Severity.SEVERE if severe else Severity.MODERATE, True, level)
    applied = limit if limit is not None else standard_limit(kind, voltage_kv)
    if value is None or applied is None:
        return Classification(Severity.UNKNOWN, False, applied)
    measured = abs(value) if kind == PqKind.FREQUENCY else value
    if measured <= applied:
        return Classification(Severity.WITHIN, False, applied)
    severe = measured > applied * SEVERE_FACTOR
    return Classification(Severity.SEVERE if severe else Severity.MODERATE, True, applied)


def curve_points(curve: str = SagCurve.ITIC, *, longest_ms: int = 60_000) -> list[list[float]]:
    """The sag tolerance curve as a step line [[duration ms, residual %], …] for the chart (log-scale x)."""
    points: list[list[float]] = []
    start = 1
    for up_to, level in SAG_CURVES.get(curve, SAG_CURVES[SagCurve.ITIC]):
        end = min(up_to, longest_ms)
        points += [[start, float(level)], [end, float(level)]]
        if up_to >= longest_ms:
            break
        start = end
    return points
