"""Vectorised bill pricing for bill runs: the arithmetic of ``engine.compute_bill`` over numpy arrays.

A ``BillBatch`` holds many monthly bills as a struct of int64 fixed-point arrays (no floats, no
objects); ``price_batch`` prices them all with integer arithmetic and agrees with ``compute_bill`` to
the fen, line rounding included (half-up, away from zero for negative amounts). The batch gives
totals per kind of charge, not lines: explaining a bill is the engine's job.

What a batch can hold (``BillBatch.from_inputs`` rejects anything else with ValueError, after the
engine's own checks, which raise EngineError, a ValueError too):

- energy and reactive energy in 0.01 kWh/kvarh, demand in 0.001 kW, capacity in 0.01 kVA (the
  engine's resolutions); prices with at most 6 decimals (micro-yuan);
- at most one suspension overlapping the month per bill (billing by capacity);
- rule values ``demand_floor_ratio``, ``excess_threshold`` and ``excess_multiplier`` with at most 2
  decimals (held as hundredths);
- magnitudes for which every intermediate product fits in int64. Realistic bills are far inside this
  (it holds e.g. 10^9 kWh in a period at 10 yuan/kWh, and 10^5 kW per feeder or 10^6 kVA at 40
  yuan/kW·month); ``from_inputs`` and ``price_batch`` check the bounds from the arrays' maxima and raise
  ValueError rather than overflow.

Codes: ``method`` 0 single-part, 1 capacity, 2 contract demand, 3 actual demand; ``pf_standard`` is
the index in PF_STANDARDS (0 "0.90", 1 "0.85", 2 "0.80", 3 "none"); energy columns follow PERIODS.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext

import numpy as np

from .engine import _CONTEXT, METHODS, PERIODS, BillInput, Prices, Rules, _normalise
from .powerfactor import PF_STANDARDS, pf_percent_table, power_factor

METHOD_CODES = {None: 0, **{method: code for code, method in enumerate(METHODS, start=1)}}
STANDARD_CODES = {standard: code for code, standard in enumerate(PF_STANDARDS)}

_INT64_HEADROOM = 2**62  # products are checked against this, leaving room for the rounding additions
# Power-factor percentages per standard code; column 0 is "no power factor" (no energy), column c + 1 is
# cos φ = c / 100, so that the index is code * 102 + cos_centi + 1 with cos_centi -1 for none.
_PF_TABLE = np.concatenate([np.concatenate(([0], pf_percent_table(standard))) for standard in PF_STANDARDS]).astype(
    np.int64
)
_PF_ROW = 102
_PF_MAX = int(np.abs(_PF_TABLE).max())
# cos φ × 100 this close to a .5 boundary is recomputed exactly (float64 is good to ~1e-14 there).
_NEAR_HALF = 1e-9


def _fixed(value: object, places: int, what: str) -> int:
    """A Decimal as an integer count of 10^-places units; ValueError if it needs more decimals."""
    scaled = Decimal(value).scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{what} has more than {places} decimals: {value}")
    return int(scaled)


def to_fen(amount: Decimal) -> int:
    """Yuan as integer fen (Decimal("12.34") → 1234); ValueError for fractions of a fen."""
    return _fixed(amount, 2, "amount")


@dataclass(frozen=True, eq=False)
class BillBatch:
    """n monthly bills as int64 fixed-point arrays (row i is one bill); see the module docstring.

    Feeder arrays are (n, F), padded with 0 beyond ``feeder_count``. The rule arrays may be left out
    (None) for the defaults of ``engine.Rules``."""

    energy_ckwh: np.ndarray  # (n, 5) 0.01 kWh, columns in PERIODS order
    energy_price_uyuan: np.ndarray  # (n, 5) micro-yuan/kWh; 0 for periods the tariff does not price
    lagging_ckvarh: np.ndarray  # 0.01 kvarh
    leading_ckvarh: np.ndarray
    method: np.ndarray  # int8 METHOD_CODES
    capacity_ckva: np.ndarray  # 0.01 kVA (0 when not needed)
    suspension_ckva: np.ndarray  # 0.01 kVA suspended, 0 for none
    suspension_days: np.ndarray  # days of the month the suspension covers
    days_in_month: np.ndarray
    max_demand_mkw: np.ndarray  # (n, F) 0.001 kW
    contract_demand_mkw: np.ndarray  # (n, F) 0.001 kW
    feeder_count: np.ndarray
    pf_standard: np.ndarray  # int8 STANDARD_CODES
    funds_price_uyuan: np.ndarray  # micro-yuan/kWh
    capacity_price_uyuan: np.ndarray  # micro-yuan/kVA·month
    demand_price_uyuan: np.ndarray  # micro-yuan/kW·month
    pf_counts_leading: np.ndarray | None = None  # bool
    pf_base_includes_funds: np.ndarray | None = None  # bool
    actual_demand_floor: np.ndarray | None = None  # bool
    floor_ratio_hundredths: np.ndarray | None = None  # 40 for 0.40
    excess_threshold_hundredths: np.ndarray | None = None  # 105 for 1.05
    excess_multiplier_hundredths: np.ndarray | None = None  # 200 for 2

    def __post_init__(self) -> None:
        energy = np.asarray(self.energy_ckwh, dtype=np.int64)
        if energy.ndim != 2 or energy.shape[1] != len(PERIODS):
            raise ValueError("energy_ckwh must have shape (n, 5)")
        n = energy.shape[0]
        object.__setattr__(self, "energy_ckwh", energy)
        defaults = Rules()
        fill = {
            "pf_counts_leading": defaults.pf_counts_leading,
            "pf_base_includes_funds": defaults.pf_base_includes_funds,
            "actual_demand_floor": defaults.actual_demand_floor,
            "floor_ratio_hundredths": _fixed(defaults.demand_floor_ratio, 2, "demand_floor_ratio"),
            "excess_threshold_hundredths": _fixed(defaults.excess_threshold, 2, "excess_threshold"),
            "excess_multiplier_hundredths": _fixed(defaults.excess_multiplier, 2, "excess_multiplier"),
        }
        for name, default in fill.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.full(n, default))
        flags = ("pf_counts_leading", "pf_base_includes_funds", "actual_demand_floor")
        codes = ("method", "pf_standard")
        for name in self.__dataclass_fields__:
            dtype = np.bool_ if name in flags else np.int8 if name in codes else np.int64
            array = np.asarray(getattr(self, name), dtype=dtype)
            object.__setattr__(self, name, array)
            wide = name in ("energy_ckwh", "energy_price_uyuan", "max_demand_mkw", "contract_demand_mkw")
            if array.shape[:1] != (n,) or array.ndim != (2 if wide else 1):
                raise ValueError(f"{name} has shape {array.shape}, not ({n}{', …' if wide else ''})")
            if name not in flags and array.size and array.min() < 0:
                raise ValueError(f"{name} cannot be negative")
        width = self.max_demand_mkw.shape[1]
        if self.contract_demand_mkw.shape[1] != width or width < 1:
            raise ValueError("max_demand_mkw and contract_demand_mkw must both be (n, F) with F >= 1")
        if (self.method > 3).any() or (self.pf_standard > 3).any():
            raise ValueError("unknown method or power-factor standard code")
        if (self.feeder_count > width).any() or ((self.method >= 2) & (self.feeder_count < 1)).any():
            raise ValueError("feeder_count must be 1 … F for billing by demand")
        padding = np.arange(width) >= self.feeder_count[:, None]
        if (self.max_demand_mkw[padding] != 0).any() or (self.contract_demand_mkw[padding] != 0).any():
            raise ValueError("feeder columns beyond feeder_count must be 0")
        if ((self.days_in_month < 28) | (self.days_in_month > 31) | (self.suspension_days > self.days_in_month)).any():
            raise ValueError("days_in_month must be 28 … 31 and suspension_days at most that")

    def __len__(self) -> int:
        return self.energy_ckwh.shape[0]

    @classmethod
    def from_inputs(cls, rows: Iterable[tuple[BillInput, Prices, Rules]]) -> BillBatch:
        """A batch of engine inputs, checked by the engine first (EngineError) and then for what a batch
        can hold (ValueError, see the module docstring)."""
        columns: dict[str, list] = {name: [] for name in cls.__dataclass_fields__}
        feeders: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
        for row, (bill, prices, rules) in enumerate(rows):
            with localcontext(_CONTEXT):
                checked = _normalise(bill, prices, rules)

            def fixed(value: object, places: int, what: str, row: int = row) -> int:
                return _fixed(value, places, f"row {row}: {what}")

            energy_price = [fixed(checked.energy_price.get(p, 0), 6, f"prices.energy.{p}") for p in PERIODS]
            if len(checked.suspensions) > 1:
                raise ValueError(f"row {row}: a batch holds at most one suspension in the month per bill")
            suspension = checked.suspensions[0] if checked.suspensions else None
            price = checked.basic_price or 0
            two_part = checked.method is not None
            values = {
                "energy_ckwh": [fixed(checked.energy_kwh[p], 2, f"energy_kwh.{p}") for p in PERIODS],
                "energy_price_uyuan": energy_price,
                "lagging_ckvarh": fixed(checked.lagging_kvarh, 2, "lagging_kvarh"),
                "leading_ckvarh": fixed(checked.leading_kvarh, 2, "leading_kvarh"),
                "method": METHOD_CODES[checked.method],
                "capacity_ckva": fixed(checked.capacity_kva or 0, 2, "capacity_kva"),
                "suspension_ckva": fixed(suspension.kva, 2, "suspensions.kva") if suspension else 0,
                "suspension_days": suspension.days if suspension else 0,
                "days_in_month": checked.days_in_month,
                "feeder_count": len(checked.max_demand_kw),
                "pf_standard": STANDARD_CODES[checked.pf_standard],
                "funds_price_uyuan": fixed(checked.funds_price, 6, "prices.funds_yuan_per_kwh"),
                "capacity_price_uyuan": fixed(price, 6, "prices.capacity_yuan_per_kva_month")
                if checked.method == "capacity"
                else 0,
                "demand_price_uyuan": fixed(price, 6, "prices.demand_yuan_per_kw_month")
                if checked.method in ("contract_demand", "actual_demand")
                else 0,
                "pf_counts_leading": rules.pf_counts_leading,
                "pf_base_includes_funds": rules.pf_base_includes_funds,
                "actual_demand_floor": two_part and rules.actual_demand_floor,
                "floor_ratio_hundredths": fixed(rules.demand_floor_ratio, 2, "rules.demand_floor_ratio")
                if two_part
                else 0,
                "excess_threshold_hundredths": fixed(rules.excess_threshold, 2, "rules.excess_threshold")
                if two_part
                else 0,
                "excess_multiplier_hundredths": fixed(rules.excess_multiplier, 2, "rules.excess_multiplier")
                if two_part
                else 0,
            }
            for name, value in values.items():
                columns[name].append(value)
            max_demand = tuple(fixed(kw, 3, f"feeders.{i}.max_demand_kw") for i, kw in enumerate(checked.max_demand_kw))
            contract = tuple(
                fixed(kw, 3, f"feeders.{i}.contract_demand_kw") for i, kw in enumerate(checked.contract_demand_kw)
            )
            feeders.append((max_demand, contract or (0,) * len(max_demand)))
        n = len(feeders)
        width = max([1, *(len(max_demand) for max_demand, _ in feeders)])
        columns["max_demand_mkw"] = np.zeros((n, width), dtype=np.int64)
        columns["contract_demand_mkw"] = np.zeros((n, width), dtype=np.int64)
        for i, (max_demand, contract) in enumerate(feeders):
            columns["max_demand_mkw"][i, : len(max_demand)] = max_demand
            columns["contract_demand_mkw"][i, : len(contract)] = contract
        if n == 0:
            columns["energy_ckwh"] = np.zeros((0, len(PERIODS)), dtype=np.int64)
            columns["energy_price_uyuan"] = np.zeros((0, len(PERIODS)), dtype=np.int64)
        batch = cls(**columns)
        _check_magnitudes(batch)
        return batch


@dataclass(frozen=True, eq=False)
class BatchResult:
    """Amounts in fen (int64), one entry per bill of the batch."""

    energy_fen: np.ndarray  # (n, 5) per period, PERIODS order
    energy_charge_fen: np.ndarray
    basic_fen: np.ndarray
    pf_adjustment_fen: np.ndarray
    funds_fen: np.ndarray
    total_fen: np.ndarray
    cos_phi_centi: np.ndarray  # cos φ in hundredths, -1 when there is no energy
    pf_percent_centi: np.ndarray  # adjustment in hundredths of a percent (-75 is -0.75 %)


def _fits(*factors: int) -> bool:
    product = 1
    for factor in factors:
        product *= int(factor)
    return product <= _INT64_HEADROOM


def _max(array: np.ndarray) -> int:
    return int(array.max()) if array.size else 0


def _check_magnitudes(batch: BillBatch) -> None:
    """Raise ValueError unless every product price_batch forms fits in int64 (bounds from the maxima)."""
    energy = _max(batch.energy_ckwh)
    capacity = _max(batch.capacity_ckva)
    floor = (_max(batch.floor_ratio_hundredths) * capacity + 5) // 10
    demand = max(_max(batch.max_demand_mkw), _max(batch.contract_demand_mkw), floor)
    demand_price = _max(batch.demand_price_uyuan)
    width = batch.max_demand_mkw.shape[1]
    checks = {
        "energy × price": _fits(energy, _max(batch.energy_price_uyuan)),
        "energy × funds price": _fits(len(PERIODS), energy, _max(batch.funds_price_uyuan)),
        "reactive energy": _fits(2, max(_max(batch.lagging_ckvarh), _max(batch.leading_ckvarh))),
        "capacity × price × days": _fits(
            4 * 31, max(capacity, _max(batch.suspension_ckva)), _max(batch.capacity_price_uyuan)
        ),
        "demand × threshold × price": _fits(demand, max(100, _max(batch.excess_threshold_hundredths)), demand_price),
        "demand floor share": _fits(2 * width, floor, max(floor, demand, 1) + 1),
        "excess multiplier": _fits(10**11, _max(batch.excess_multiplier_hundredths) + 1),
    }
    failed = [what for what, ok in checks.items() if not ok]
    if failed:
        raise ValueError(f"batch magnitudes beyond int64 ({', '.join(failed)}); price these bills with compute_bill")


def _row_sum(array: np.ndarray) -> np.ndarray:
    """Sum over the (few) columns: adding columns is several times faster than sum(axis=1) on short rows."""
    total = array[:, 0].copy()
    for column in range(1, array.shape[1]):
        total += array[:, column]
    return total


def _round_div(numerator: np.ndarray, divisor: int) -> np.ndarray:
    """numerator / divisor rounded half-up, for numerator >= 0, in place."""
    numerator += divisor // 2
    numerator //= divisor
    return numerator


def _floor_shares(shortfall: np.ndarray, values: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Raise per feeder so that rows reach their floor: the shortfall shared in proportion to the values
    (equally over the row's feeders when they are all 0) by rounding cumulative shares, as the engine does."""
    total = _row_sum(values)
    weights = np.where((total > 0)[:, None], values, np.arange(values.shape[1]) < count[:, None])
    weight_sum = _row_sum(weights)[:, None]
    upto = 2 * shortfall[:, None] * np.cumsum(weights, axis=1) + weight_sum
    upto //= 2 * weight_sum
    return np.diff(upto, axis=1, prepend=0)


def _raised(values: np.ndarray, floor: np.ndarray, count: np.ndarray, applies: np.ndarray | None = None) -> None:
    """Raise rows of `values` (milli-kW, (m, F)) whose sum is below `floor` to it, in place."""
    short = floor - _row_sum(values)
    need = short > 0
    if applies is not None:
        need &= applies
    if need.any():
        rows = np.flatnonzero(need)
        values[rows] += _floor_shares(short[rows], values[rows], count[rows])


def _basic_fen(batch: BillBatch) -> np.ndarray:
    method = batch.method
    basic = np.zeros(len(batch), dtype=np.int64)

    rows = np.flatnonzero(method == 1)
    if rows.size:
        price = batch.capacity_price_uyuan[rows]
        # 0.01 kVA × micro-yuan = 1e-8 yuan
        basic[rows] = _round_div(batch.capacity_ckva[rows] * price, 10**6)
        suspended = batch.suspension_days[rows] > 0
        if suspended.any():
            s = rows[suspended]
            # kVA × price × days / days in month, rounded as one product (the divisor is even)
            numerator = batch.suspension_ckva[s] * batch.capacity_price_uyuan[s] * batch.suspension_days[s]
            divisor = batch.days_in_month[s] * 10**6
            basic[s] -= (numerator + divisor // 2) // divisor

    rows = np.flatnonzero(method == 2)
    if rows.size:
        contract = batch.contract_demand_mkw[rows]  # a copy: fancy indexing
        floor = _round_div(batch.floor_ratio_hundredths[rows] * batch.capacity_ckva[rows], 10)
        _raised(contract, floor, batch.feeder_count[rows])
        price = batch.demand_price_uyuan[rows][:, None]
        # quantities in 1e-5 kW (0.001 kW × hundredths), so that threshold × contract is exact
        limit = contract * batch.excess_threshold_hundredths[rows][:, None]
        demand = batch.max_demand_mkw[rows] * 100
        over = demand > limit
        charged = np.where(over, limit, contract * 100)
        charged *= price  # 1e-11 yuan
        amounts = _round_div(charged, 10**9)
        if over.any():
            r, f = np.nonzero(over)
            # (D - t·C) × price × multiplier in 1e-13 yuan; split to stay in int64
            excess = (demand[r, f] - limit[r, f]) * price[r, 0]
            multiplier = batch.excess_multiplier_hundredths[rows[r]]
            whole, rest = np.divmod(excess, 10**11)
            amounts[r, f] += whole * multiplier + _round_div(rest * multiplier, 10**11)
        basic[rows] = _row_sum(amounts)

    rows = np.flatnonzero(method == 3)
    if rows.size:
        demand = batch.max_demand_mkw[rows]
        floored = batch.actual_demand_floor[rows]
        if floored.any():
            floor = _round_div(batch.floor_ratio_hundredths[rows] * batch.capacity_ckva[rows], 10)
            _raised(demand, floor, batch.feeder_count[rows], floored)
        demand *= batch.demand_price_uyuan[rows][:, None]  # 1e-9 yuan
        basic[rows] = _row_sum(_round_div(demand, 10**7))
    return basic


def _cos_phi_centi(kwh: np.ndarray, kvarh: np.ndarray) -> np.ndarray:
    """round(cos φ × 100) half-up, -1 without energy: float64, with the rare rows within 1e-9 of a .5
    boundary recomputed exactly by powerfactor.power_factor."""
    active = kwh.astype(np.float64)
    reactive = kvarh.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        shifted = active * 100.0
        active *= active
        reactive *= reactive
        active += reactive
        shifted /= np.sqrt(active, out=active)
        shifted += 0.5
        cos = np.floor(shifted)
        near = np.abs(shifted - cos - 0.5) > 0.5 - _NEAR_HALF
        cos = cos.astype(np.int64)
    for i in np.flatnonzero(near & (kwh > 0)):
        exact = power_factor(Decimal(int(kwh[i])).scaleb(-2), Decimal(int(kvarh[i])).scaleb(-2))
        cos[i] = int(exact * 100)
    cos[kwh == 0] = -1
    return cos


def price_batch(batch: BillBatch) -> BatchResult:
    """Price every bill of the batch; equal to ``compute_bill`` in fen, row by row."""
    _check_magnitudes(batch)
    energy = batch.energy_ckwh * batch.energy_price_uyuan  # 1e-8 yuan
    energy = _round_div(energy, 10**6)
    energy_charge = _row_sum(energy)
    kwh = _row_sum(batch.energy_ckwh)
    funds = _round_div(kwh * batch.funds_price_uyuan, 10**6)
    basic = _basic_fen(batch)

    kvarh = batch.lagging_ckvarh + batch.leading_ckvarh * batch.pf_counts_leading
    cos = _cos_phi_centi(kwh, kvarh)
    percent = _PF_TABLE[batch.pf_standard.astype(np.int64) * _PF_ROW + cos + 1]

    base = energy_charge + basic
    base += funds * batch.pf_base_includes_funds
    if not _fits(max(_max(base), -int(base.min()) if base.size else 0), _PF_MAX):
        raise ValueError("batch magnitudes beyond int64 (power-factor base); price these bills with compute_bill")
    # fen × centi-percent = 1e-4 fen; half away from zero: ties of negative amounts round down
    adjustment = base * percent
    adjustment += 5000 - (adjustment < 0)
    adjustment //= 10000

    total = energy_charge + basic
    total += adjustment
    total += funds
    return BatchResult(
        energy_fen=energy,
        energy_charge_fen=energy_charge,
        basic_fen=basic,
        pf_adjustment_fen=adjustment,
        funds_fen=funds,
        total_fen=total,
        cos_phi_centi=cos,
        pf_percent_centi=percent,
    )
