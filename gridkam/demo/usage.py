"""Monthly billing quantities (结算电量) for the demo accounts, and the sample tariff each account is on.

Pure and deterministic like generator.py, but with a ``random.Random`` of its own per account, seeded
from (seed, account number): the generator's stream, and with it every name and number a seed gives,
stays as it was, and an account's quantities do not depend on which other accounts were made.

The model, per account, from what the generator already decided (capacity, annual energy, status,
industry):

- monthly energy = annual energy spread over the calendar months by their days and a seasonal
  shape: a summer (July–August) bulge that is large for commercial and public buildings (cooling),
  moderate for light industry and small for process industry, a February dip for the Spring Festival
  where factories close, a slight trend over the months, and a few per cent of noise;
- energy by time-of-use period in proportion to the month's hours of each period in the tariff's
  calendar times the account's habits (how much it runs in peak hours and at night), so sharp-peak
  energy appears exactly in the months whose calendar has sharp-peak hours (July–September in
  Guangdong);
- maximum demand = the month's average load ÷ the account's load factor (负荷率), never above 95 % of
  the contracted capacity;
- lagging kvarh from the account's own power factor (most near 0.92, some below their 0.90
  standard, a few well compensated), a little leading kvarh from capacitors left on at light load.

Suspended and reduced accounts already have a small annual energy from the generator, so they use
little; closed accounts have no quantities.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from gridkam.customers.choices import AccountStatus

from .generator import PROFILES, AccountSpec

# The shipped sample tariffs the demo accounts are put on, by supply voltage (lowest kV of the band).
# Guangdong prices 20 kV with 1–10 kV and 110 kV with 35 kV (惠州 agency purchase table).
DEMO_TARIFFS: tuple[tuple[Decimal, str], ...] = (
    (Decimal("220"), "GD-TOU-2P-220KV"),
    (Decimal("35"), "GD-TOU-2P-35KV"),
    (Decimal("0"), "GD-TOU-2P-10KV"),
)
DEMO_TARIFF_CODES: tuple[str, ...] = tuple(code for _kv, code in DEMO_TARIFFS)
DEFAULT_MONTHS = 24
PERIODS = ("sharp", "peak", "flat", "valley", "deep_valley")
# Maximum demand stays below the transformers' rating: no key account runs them flat out for 15 minutes.
MAX_DEMAND_SHARE_OF_CAPACITY = 0.95
LOAD_FACTOR_RANGE = (0.45, 0.85)
POWER_FACTOR_RANGE = (0.80, 0.98)
# A calendar year's days: the seasonal shape is normalised over it so a year's months add up to the
# annual energy.
YEAR_DAYS = [calendar.monthrange(2025, month)[1] for month in range(1, 13)]


def demo_tariff_code(voltage_kv: str) -> str:
    """The sample tariff for a supply voltage: 10 and 20 kV → 1–10(20) kV, 35 and 110 kV → 35–110 kV, 220 kV+."""
    kv = Decimal(voltage_kv)
    return next(code for lowest, code in DEMO_TARIFFS if kv >= lowest)


def last_complete_month(today: dt.date) -> dt.date:
    """The first day of the month before ``today``'s: the current month is not billed yet."""
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def months_ending(end: dt.date, count: int) -> list[dt.date]:
    """The first days of ``count`` consecutive months ending with ``end``'s month, oldest first."""
    last = end.year * 12 + end.month - 1
    return [dt.date(index // 12, index % 12 + 1, 1) for index in range(last - count + 1, last + 1)]


@dataclass(frozen=True)
class LoadPattern:
    """How a kind of customer uses power over the year and the day; each range is drawn per account."""

    summer_amplitude: tuple[float, float]  # relative swing of the seasonal shape, peaking mid-July
    february: tuple[float, float]  # factor for the Spring Festival month
    peak_weight: tuple[float, float]  # load in peak hours relative to flat hours
    valley_weight: tuple[float, float]  # load at night relative to flat hours
    sharp_over_peak: float  # the sharp-peak hours are hot afternoons: cooling loads are highest then


# Malls, hotels, offices, hospitals, colleges: air conditioning drives the summer, little runs at night.
COMMERCIAL = LoadPattern((0.22, 0.35), (0.90, 0.97), (1.10, 1.30), (0.60, 0.80), 1.10)
# Furnaces, kilns, reactors, pumps and servers run round the clock all year.
PROCESS = LoadPattern((0.02, 0.06), (0.93, 1.00), (0.80, 1.05), (0.95, 1.20), 1.00)
# Light industry: day shifts (some with a night shift), some cooling, closed over the Spring Festival.
MANUFACTURING = LoadPattern((0.06, 0.15), (0.65, 0.85), (0.95, 1.30), (0.60, 1.10), 1.03)
PATTERN_BY_KIND = {
    **dict.fromkeys(("mall", "hotel", "property", "hospital", "college"), COMMERCIAL),
    **dict.fromkeys(
        (
            "steel",
            "nonferrous",
            "petrochem",
            "chemical",
            "chemfibre",
            "building",
            "paper",
            "datacentre",
            "water",
            "gas",
            "sewage",
        ),
        PROCESS,
    ),
}
PROFILE_BY_DIVISION = {profile.division: profile for profile in PROFILES}


@dataclass(frozen=True, slots=True)
class UsageMonth:
    """One month's quantities in the units and precision of ``MonthlyUsage``."""

    month: dt.date
    sharp_kwh: Decimal
    peak_kwh: Decimal
    flat_kwh: Decimal
    valley_kwh: Decimal
    deep_valley_kwh: Decimal
    lagging_kvarh: Decimal
    leading_kvarh: Decimal
    max_demand_kw: Decimal

    @property
    def total_kwh(self) -> Decimal:
        return self.sharp_kwh + self.peak_kwh + self.flat_kwh + self.valley_kwh + self.deep_valley_kwh


@dataclass(frozen=True)
class Habits:
    """One account's drawn habits: the figures its 24 months are made from."""

    seasonal: tuple[float, ...]  # 12 factors, January first; a year of them adds up to the annual energy
    trend_per_year: float
    weights: Mapping[str, float]  # per time-of-use period, flat = 1
    load_factor: float
    power_factor: float
    leading_share: float  # leading kvarh as a share of kWh


def _clip(value: float, bounds: tuple[float, float]) -> float:
    return min(max(value, bounds[0]), bounds[1])


def account_habits(account: AccountSpec, *, industry_code: str, rng: random.Random) -> Habits:
    profile = PROFILE_BY_DIVISION.get(industry_code)
    pattern = PATTERN_BY_KIND.get(profile.key, MANUFACTURING) if profile else MANUFACTURING
    amplitude = rng.uniform(*pattern.summer_amplitude)
    february = rng.uniform(*pattern.february)
    shape = [1 + amplitude * math.cos(2 * math.pi * (month - 7.5) / 12) for month in range(1, 13)]
    shape[1] *= february
    # Per day, so that a 31-day month uses more than February; scaled so a year sums to 1.
    year = sum(s * days for s, days in zip(shape, YEAR_DAYS, strict=True))
    seasonal = tuple(s / year for s in shape)

    peak = rng.uniform(*pattern.peak_weight)
    valley = rng.uniform(*pattern.valley_weight)
    weights = {
        "sharp": peak * pattern.sharp_over_peak,
        "peak": peak,
        "flat": 1.0,
        "valley": valley,
        "deep_valley": valley,
    }
    # The industry's load factor, within the range the demo allows; the generator derived the annual
    # energy from the same range, so demand and energy stay consistent with the capacity.
    low, high = profile.load_factor if profile else LOAD_FACTOR_RANGE
    low, high = _clip(low, LOAD_FACTOR_RANGE), _clip(high, LOAD_FACTOR_RANGE)
    load_factor = rng.uniform(min(low, high - 0.05), high)
    # Most key accounts compensate to about 0.92; about one in four falls below 0.90.
    power_factor = _clip(rng.gauss(0.92, 0.03), POWER_FACTOR_RANGE)
    return Habits(
        seasonal=seasonal,
        trend_per_year=rng.uniform(-0.05, 0.06),
        weights=weights,
        load_factor=load_factor,
        power_factor=power_factor,
        leading_share=rng.uniform(0.0, 0.02),
    )


def _kwh(value: float) -> Decimal:
    return Decimal(round(value))


def account_usage(
    account: AccountSpec,
    *,
    industry_code: str,
    seed: int,
    hours: Sequence[tuple[dt.date, Mapping[str, int]]],
) -> list[UsageMonth]:
    """The account's quantities for each (month, hours of each period in that month's calendar) given.

    Deterministic for (seed, account number, months); nothing for a closed account.
    """
    if account.status == AccountStatus.CLOSED or not hours:
        return []
    rng = random.Random(f"gridkam-demo-usage:{seed}:{account.account_no}")
    habits = account_habits(account, industry_code=industry_code, rng=rng)
    annual_kwh = float(account.annual_energy_mwh) * 1000
    max_kw = float(account.capacity_kva) * MAX_DEMAND_SHARE_OF_CAPACITY
    middle = (len(hours) - 1) / 2
    tan_lagging = math.sqrt(1 - habits.power_factor**2) / habits.power_factor
    result = []
    for index, (month, month_hours) in enumerate(hours):
        days = calendar.monthrange(month.year, month.month)[1]
        trend = 1 + habits.trend_per_year * (index - middle) / 12
        noise = _clip(rng.gauss(1, 0.03), (0.9, 1.1))
        energy = annual_kwh * habits.seasonal[month.month - 1] * days * trend * noise
        weighted = {p: month_hours.get(p, 0) * habits.weights[p] for p in PERIODS}
        scale = energy / (sum(weighted.values()) or 1)
        by_period = {p: _kwh(weighted[p] * scale) for p in PERIODS}
        total = float(sum(by_period.values()))
        average_kw = energy / (days * 24)
        demand = min(average_kw / habits.load_factor * _clip(rng.gauss(1, 0.04), (0.93, 1.1)), max_kw)
        # The power factor wanders a little from month to month with the load.
        tan_phi = tan_lagging * _clip(rng.gauss(1, 0.05), (0.85, 1.15))
        leading = total * habits.leading_share * rng.uniform(0.5, 1.5)
        result.append(
            UsageMonth(
                month=month,
                sharp_kwh=by_period["sharp"],
                peak_kwh=by_period["peak"],
                flat_kwh=by_period["flat"],
                valley_kwh=by_period["valley"],
                deep_valley_kwh=by_period["deep_valley"],
                lagging_kvarh=_kwh(total * tan_phi),
                leading_kvarh=_kwh(leading),
                # Rounded down to 0.1 kW, so that rounding never lifts it above the cap.
                max_demand_kw=Decimal(math.floor(demand * 10)) / 10,
            )
        )
    return result
