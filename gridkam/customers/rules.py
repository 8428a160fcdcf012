"""Pure classification rules for key accounts: tier by configurable thresholds, and the supply
requirements of important power users (GB/T 29328-2018). Plain data in, plain data out, no ORM."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from .choices import SUPPLY_SOURCES, TIER_RANK, AccountStatus, ImportanceClass, SupplyMode, Tier


@dataclass(frozen=True)
class TierThresholds:
    tier: str
    min_annual_energy_mwh: Decimal | None = None
    min_capacity_kva: Decimal | None = None
    importance_classes: tuple[str, ...] = ()


def tier_for(
    *, rules: Iterable[TierThresholds], annual_energy_mwh: Decimal, capacity_kva: Decimal, importance_class: str
) -> str:
    """The highest tier whose rule the customer meets on any one threshold; the lowest tier otherwise."""
    for rule in sorted(rules, key=lambda r: TIER_RANK[r.tier]):
        if rule.min_annual_energy_mwh is not None and annual_energy_mwh >= rule.min_annual_energy_mwh:
            return rule.tier
        if rule.min_capacity_kva is not None and capacity_kva >= rule.min_capacity_kva:
            return rule.tier
        if importance_class in rule.importance_classes:
            return rule.tier
    return Tier.THIRD


# Sources required by importance class: 特级 three (two substations), 一级 and 二级 two.
REQUIRED_SOURCES = {ImportanceClass.SPECIAL: 3, ImportanceClass.FIRST: 2, ImportanceClass.SECOND: 2}


def _kw(value: Decimal) -> str:
    """150.000 → "150", 1234.5 → "1,234.5": a demand as people write it."""
    return f"{value:,.3f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class SupplyGap:
    code: str
    message: str


def supply_gaps(
    *,
    importance_class: str,
    supply_modes: Sequence[tuple[str, str]],
    security_load_kw: Decimal,
    emergency_power_kw: Decimal,
    min_emergency_ratio: Decimal,
) -> list[SupplyGap]:
    """What an important user lacks against GB/T 29328. ``supply_modes`` is (supply_mode, status)
    per account; closed accounts do not count."""
    if importance_class == ImportanceClass.NONE:
        return []
    gaps: list[SupplyGap] = []
    live = [mode for mode, status in supply_modes if status != AccountStatus.CLOSED]
    best = max((SUPPLY_SOURCES.get(mode, 1) for mode in live), default=0)
    needed = REQUIRED_SOURCES.get(importance_class, 0)
    if needed and best < needed:
        if needed == 3:
            message = _("A special-class important user needs three sources, two from different substations.")
        elif importance_class == ImportanceClass.FIRST:
            message = _("A first-class important user needs dual supply from two substations.")
        else:
            message = _("A second-class important user needs dual supply or a double circuit.")
        if not live:
            message = _("No account in use, so no supply to check: %(rule)s") % {"rule": message}
        gaps.append(SupplyGap("supply_sources", str(message)))
    if emergency_power_kw <= 0:
        gaps.append(SupplyGap("no_emergency_power", str(_("No self-provided emergency power is recorded."))))
    elif security_load_kw <= 0:
        gaps.append(
            SupplyGap("no_security_load", str(_("The security load is unknown, so emergency power cannot be checked.")))
        )
    elif emergency_power_kw < security_load_kw * min_emergency_ratio:
        gaps.append(
            SupplyGap(
                "emergency_power_short",
                str(
                    _("Emergency power %(have)s kW is below %(ratio)s%% of the security load (%(need)s kW).")
                    % {
                        "have": _kw(emergency_power_kw),
                        "ratio": int(min_emergency_ratio * 100),
                        "need": _kw(security_load_kw * min_emergency_ratio),
                    }
                ),
            )
        )
    return gaps


__all__ = ["TierThresholds", "tier_for", "supply_gaps", "SupplyGap", "SupplyMode"]
