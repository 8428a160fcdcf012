"""A bill run of 100,000 monthly bills priced by the vectorised engine (gridkam.tariffs.batch).

Target: well under 5 s for 100,000 bills, and at most 3× a bare float64 numpy computation of the
same sums (energy by period, basic charge by method, power-factor table, funds, total) without
rounding or exactness; the ratio is the price of exact fixed-point money with line rounding. Times are
reported, not asserted (STYLE.md). No database: the bills are built in memory.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np

from gridkam.tariffs.batch import BillBatch, price_batch
from gridkam.tariffs.powerfactor import PF_STANDARDS, pf_percent_table

BILLS = 100_000
FEEDERS = 2
ROUNDS = 25
SEED = 2026


def random_batch(n: int = BILLS, seed: int = SEED) -> BillBatch:
    """Key-account months: 10^4 … 10^8 kWh log-uniform, Guangdong-like time-of-use shares and prices,
    demand from the energy and a load factor, capacity above demand, a mix of methods and standards."""
    rng = np.random.default_rng(seed)
    kwh = 10 ** rng.uniform(4, 8, n)
    shares = rng.dirichlet([1, 4, 5, 4, 1], n)
    priced = rng.random((n, 5)) < 0.8
    priced[:, 1:4] = True  # peak, flat and valley are always priced; sharp and deep valley often
    energy = np.rint(kwh[:, None] * shares * 100).astype(np.int64) * priced
    flat = rng.uniform(0.45, 0.75, n)
    factors = np.array([1.7 * 1.25, 1.7, 1.0, 0.38, 0.3])
    energy_price = np.rint(flat[:, None] * factors * 1e6).astype(np.int64) * priced
    cos_phi = rng.uniform(0.55, 1.0, n)
    lagging = np.rint(kwh * np.tan(np.arccos(cos_phi)) * 100).astype(np.int64)
    leading = np.rint(kwh * rng.uniform(0, 0.05, n) * 100).astype(np.int64)

    method = rng.choice(np.array([0, 1, 2, 3], dtype=np.int8), n, p=[0.1, 0.3, 0.3, 0.3])
    demand_kw = kwh / (720 * rng.uniform(0.3, 0.9, n))
    capacity = np.rint(demand_kw / rng.uniform(0.3, 0.9, n) * 100).astype(np.int64)
    count = np.where(method >= 2, rng.choice([1, 2], n, p=[0.7, 0.3]), 0)
    split = np.where(count[:, None] == 2, np.stack([np.full(n, 0.6), np.full(n, 0.4)], axis=1), [1.0, 0.0])
    max_demand = np.rint(demand_kw[:, None] * split * 1000).astype(np.int64) * (count[:, None] > 0)
    # declared contract demand around the actual one: some exceed 105 %, some fall under the 40 % floor
    contract = np.rint(max_demand * rng.uniform(0.5, 1.3, (n, 1))).astype(np.int64) * (method[:, None] == 2)

    suspended = (method == 1) & (rng.random(n) < 0.05)
    days = rng.integers(1, 31, n) * suspended
    return BillBatch(
        energy_ckwh=energy,
        energy_price_uyuan=energy_price,
        lagging_ckvarh=lagging,
        leading_ckvarh=leading,
        method=method,
        capacity_ckva=capacity,
        suspension_ckva=(capacity * rng.uniform(0, 0.5, n)).astype(np.int64) * suspended,
        suspension_days=days,
        days_in_month=np.full(n, 31),
        max_demand_mkw=max_demand,
        contract_demand_mkw=contract,
        feeder_count=count,
        pf_standard=rng.choice(np.array([0, 1, 2, 3], dtype=np.int8), n, p=[0.5, 0.3, 0.1, 0.1]),
        funds_price_uyuan=rng.integers(30_000, 50_000, n),
        capacity_price_uyuan=np.where(method == 1, rng.choice([16_300_000, 19_400_000, 22_600_000], n), 0),
        demand_price_uyuan=np.where(method >= 2, rng.choice([26_100_000, 31_000_000, 36_100_000], n), 0),
        pf_counts_leading=rng.random(n) < 0.2,
        pf_base_includes_funds=rng.random(n) < 0.1,
        actual_demand_floor=rng.random(n) < 0.3,
    )


@dataclass
class FloatBills:
    """The same bills as plain float64 in natural units (kWh, yuan), as a float implementation holds them."""

    kwh: np.ndarray
    price: np.ndarray
    lagging: np.ndarray
    leading: np.ndarray
    counts_leading: np.ndarray
    method: np.ndarray
    capacity: np.ndarray
    suspended_kva_months: np.ndarray
    max_demand: np.ndarray
    contract: np.ndarray
    standard: np.ndarray
    funds_price: np.ndarray
    capacity_price: np.ndarray
    demand_price: np.ndarray
    includes_funds: np.ndarray
    actual_floor: np.ndarray
    ratio: np.ndarray
    threshold: np.ndarray
    multiplier: np.ndarray

    @classmethod
    def of(cls, b: BillBatch) -> FloatBills:
        return cls(
            kwh=b.energy_ckwh / 100,
            price=b.energy_price_uyuan / 1e6,
            lagging=b.lagging_ckvarh / 100,
            leading=b.leading_ckvarh / 100,
            counts_leading=b.pf_counts_leading,
            method=b.method,
            capacity=b.capacity_ckva / 100,
            suspended_kva_months=b.suspension_ckva / 100 * b.suspension_days / b.days_in_month,
            max_demand=b.max_demand_mkw / 1000,
            contract=b.contract_demand_mkw / 1000,
            standard=b.pf_standard,
            funds_price=b.funds_price_uyuan / 1e6,
            capacity_price=b.capacity_price_uyuan / 1e6,
            demand_price=b.demand_price_uyuan / 1e6,
            includes_funds=b.pf_base_includes_funds,
            actual_floor=b.actual_demand_floor,
            ratio=b.floor_ratio_hundredths / 100,
            threshold=b.excess_threshold_hundredths / 100,
            multiplier=b.excess_multiplier_hundredths / 100,
        )


PF_TABLE = np.stack([pf_percent_table(standard) for standard in PF_STANDARDS]) / 10_000  # fraction of the base


def row_sum(array: np.ndarray) -> np.ndarray:
    """The same column-wise sum as the engine uses (sum(axis=1) over 5 columns is several times slower)."""
    total = array[:, 0].copy()
    for column in range(1, array.shape[1]):
        total += array[:, column]
    return total


def bare_numpy(f: FloatBills) -> np.ndarray:
    """The bill arithmetic in float64 over all rows at once, every method computed and picked by np.where."""
    energy = row_sum(f.kwh * f.price)
    total_kwh = row_sum(f.kwh)
    funds = total_kwh * f.funds_price
    by_capacity = (f.capacity - f.suspended_kva_months) * f.capacity_price
    floor = f.ratio * f.capacity
    declared = row_sum(f.contract)
    contract = f.contract * np.where(declared < floor, floor / np.maximum(declared, 1e-9), 1.0)[:, None]
    limit = f.threshold[:, None] * contract
    excess = np.maximum(f.max_demand - limit, 0.0)
    charged = np.where(excess > 0, limit, contract) * f.demand_price[:, None]
    by_contract = row_sum(charged + excess * (f.demand_price * f.multiplier)[:, None])
    actual = row_sum(f.max_demand)
    by_actual = np.where(f.actual_floor, np.maximum(actual, floor), actual) * f.demand_price
    basic = np.where(f.method == 1, by_capacity, np.where(f.method == 2, by_contract, by_actual))
    basic = np.where(f.method == 0, 0.0, basic)
    kvarh = f.lagging + f.leading * f.counts_leading
    with np.errstate(invalid="ignore"):
        cos = np.floor(total_kwh * 100 / np.sqrt(total_kwh * total_kwh + kvarh * kvarh) + 0.5)
    percent = PF_TABLE[f.standard, np.nan_to_num(cos).astype(np.intp)]
    adjustment = (energy + basic + funds * f.includes_funds) * percent
    return energy + basic + adjustment + funds


def time_rounds(function, *args) -> list[float]:
    function(*args)  # warm-up
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - started)
    return times


def test_price_batch_100k_bills(benchmark):
    batch = random_batch()
    floats = FloatBills.of(batch)
    # Both are timed back to back on a warm cache (interleaving them leaves each a cold cache, which
    # flatters the engine); the bare rounds run before and after the engine's, so a change of load on the
    # machine falls on both.
    bare_times = time_rounds(bare_numpy, floats)
    result = benchmark.pedantic(price_batch, args=(batch,), rounds=ROUNDS, iterations=1, warmup_rounds=2)
    bare_times += time_rounds(bare_numpy, floats)
    bare_total = bare_numpy(floats)

    engine_median = benchmark.stats.stats.median
    bare_median = statistics.median(bare_times)
    ratio = engine_median / bare_median
    benchmark.extra_info.update(
        bills=BILLS,
        engine_median_s=round(engine_median, 4),
        bare_numpy_median_s=round(bare_median, 4),
        ratio_to_bare_numpy=round(ratio, 2),
        ratio_of_minima=round(benchmark.stats.stats.min / min(bare_times), 2),
    )
    print(
        f"\n{BILLS:,} bills: price_batch median {engine_median * 1000:.1f} ms (min "
        f"{benchmark.stats.stats.min * 1000:.1f}), bare float numpy median {bare_median * 1000:.1f} ms (min "
        f"{min(bare_times) * 1000:.1f}), ratio {ratio:.2f} (of minima {benchmark.extra_info['ratio_of_minima']:.2f})"
    )

    # The two compute the same bills: they differ by line rounding (a few fen) and, rarely, by a power
    # factor on the other side of a .5 boundary or a floor shared differently.
    difference = np.abs(result.total_fen / 100 - bare_total)
    assert np.quantile(difference, 0.999) < 1.0
    assert abs(result.total_fen.sum() / 100 / bare_total.sum() - 1) < 1e-9
    assert (result.basic_fen[batch.method == 2] > 0).all()
