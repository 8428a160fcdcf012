"""Monthly power factor and the power-factor adjustment table (〔83〕水电财字第215号).

The table in DOMAIN.md is piecewise linear in steps of 0.01 cos φ, so it is kept here as its rules
(a starting percentage at cos φ 1.00 and the change per 0.01 step down to each breakpoint) rather than
as 150 literal entries; ``pf_percent_table`` expands the rules once into the lookup the batch path
indexes. Percentages are held as integer centi-percent (-75 is -0.75 %) so that no float is involved.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import cache

import numpy as np

PF_STANDARDS = ("0.90", "0.85", "0.80", "none")

_CENT = Decimal("0.01")

# Per standard: centi-percent at cos φ 1.00, then (breakpoint in hundredths, centi-percent added per 0.01
# step down to that breakpoint). The last slope continues to cos φ 0.00 (the table stops at "and below").
_RULES: dict[str, tuple[int, tuple[tuple[int, int], ...]]] = {
    "0.90": (-75, ((95, 0), (90, 15), (70, 50), (65, 100), (0, 200))),
    "0.85": (-110, ((94, 0), (90, 15), (85, 10), (65, 50), (60, 100), (0, 200))),
    "0.80": (-130, ((92, 0), (90, 15), (80, 10), (60, 50), (55, 100), (0, 200))),
}


def power_factor(active_kwh: Decimal, reactive_kvarh: Decimal) -> Decimal | None:
    """cos φ = kWh / √(kWh² + kvarh²), rounded half-up to 0.01; None when there is no active energy.

    Worked at 60 significant digits: cos φ of decimal inputs is never exactly on a .xx5 boundary (a
    rational cos φ comes from a Pythagorean triple, whose hypotenuse is odd), and for inputs of up to
    15 significant digits it stays more than 1e-35 away from one, so rounding the 60-digit value is exact.
    """
    active = Decimal(active_kwh)
    reactive = Decimal(reactive_kvarh)
    if active < 0 or reactive < 0:
        raise ValueError("energy for the power factor cannot be negative")
    if active == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 60
        cos_phi = active / (active * active + reactive * reactive).sqrt()
        return cos_phi.quantize(_CENT, rounding=ROUND_HALF_UP)


@cache
def _centi_percent_table(standard: str) -> tuple[int, ...]:
    """Centi-percent for cos φ 0.00 … 1.00, indexed by hundredths."""
    if standard == "none":
        return (0,) * 101
    try:
        start, steps = _RULES[standard]
    except KeyError:
        raise ValueError(f"unknown power-factor standard {standard!r}") from None
    table = [0] * 101
    table[100] = percent = start
    cos = 100
    for breakpoint, slope in steps:
        while cos > breakpoint:
            cos -= 1
            percent += slope
            table[cos] = percent
    return tuple(table)


def pf_adjustment_percent(standard: str, cos_phi: Decimal) -> Decimal:
    """The adjustment in percent of (basic + energy charge) for a cos φ of two decimals: negative is a
    reduction (减收), positive a surcharge (增收); Decimal("0.00") for standard "none"."""
    cos_phi = Decimal(cos_phi)
    hundredths = cos_phi * 100
    if not (0 <= cos_phi <= 1) or hundredths != hundredths.to_integral_value():
        raise ValueError(f"cos φ must be a multiple of 0.01 between 0 and 1, not {cos_phi}")
    return Decimal(_centi_percent_table(standard)[int(hundredths)]).scaleb(-2)


def pf_percent_table(standard: str) -> np.ndarray:
    """int64 centi-percent indexed by round(cos φ × 100), 0 … 100 (a fresh, writable copy)."""
    return np.array(_centi_percent_table(standard), dtype=np.int64)
