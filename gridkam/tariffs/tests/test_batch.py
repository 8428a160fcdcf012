"""The vectorised bill run agrees with the engine to the fen."""

from __future__ import annotations

import dataclasses
import math
from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gridkam.tariffs import batch as batch_module
from gridkam.tariffs.batch import BillBatch, price_batch, to_fen
from gridkam.tariffs.engine import PERIODS, BillInput, EngineError, Feeder, Prices, Rules, Suspension, compute_bill
from gridkam.tariffs.tests.test_engine import priced_inputs

D = Decimal


def assert_agrees(rows: list[tuple[BillInput, Prices, Rules]]) -> None:
    result = price_batch(BillBatch.from_inputs(rows))
    for i, row in enumerate(rows):
        bill = compute_bill(*row)
        energy = {
            line.item.removeprefix("energy."): to_fen(line.amount) for line in bill.lines if "energy." in line.item
        }
        expected = {
            "energy": [energy.get(period, 0) for period in PERIODS],
            "energy_charge": to_fen(bill.energy_charge),
            "basic": to_fen(bill.basic_charge),
            "pf_adjustment": to_fen(bill.pf_adjustment),
            "funds": to_fen(bill.government_funds),
            "total": to_fen(bill.total),
            "cos_phi": -1 if bill.power_factor is None else int(bill.power_factor * 100),
            "percent": int(bill.pf_adjustment_percent * 100),
        }
        actual = {
            "energy": result.energy_fen[i].tolist(),
            "energy_charge": int(result.energy_charge_fen[i]),
            "basic": int(result.basic_fen[i]),
            "pf_adjustment": int(result.pf_adjustment_fen[i]),
            "funds": int(result.funds_fen[i]),
            "total": int(result.total_fen[i]),
            "cos_phi": int(result.cos_phi_centi[i]),
            "percent": int(result.pf_percent_centi[i]),
        }
        assert actual == expected, f"row {i}: {row}"


def row(**changes) -> tuple[BillInput, Prices, Rules]:
    bill = {"year": 2026, "month": 3, "energy_kwh": {"flat": D("100000")}, "pf_standard": "0.90"}
    return (
        BillInput(**(bill | changes)),
        Prices(energy={"flat": D("0.6")}, capacity_yuan_per_kva_month=D("22.6"), demand_yuan_per_kw_month=D("40")),
        Rules(two_part="basic_charge_method" in changes),
    )


# Half-fen ties in every kind of line, and negative adjustments (also tied).
TIES = [
    # energy 1 kWh × 0.005 = 0.005 → 0.01; funds likewise
    (
        BillInput(2026, 3, {"flat": D("1")}, pf_standard="none"),
        Prices({"flat": D("0.005")}, funds_yuan_per_kwh=D("0.005")),
        Rules(two_part=False),
    ),
    # 10.00 × -0.15 % = -0.015 → -0.02
    (BillInput(2026, 3, {"flat": D("10")}, lagging_kvarh=D("4.5")), Prices({"flat": D("1")}), Rules(two_part=False)),
    # 1 kVA × 0.01 × 14 / 28 = 0.005 deducted → -0.01
    (
        BillInput(
            2026,
            2,
            {},
            capacity_kva=D("1"),
            basic_charge_method="capacity",
            suspensions=(Suspension(D("1"), date(2026, 2, 1), date(2026, 2, 14)),),
        ),
        Prices({}, capacity_yuan_per_kva_month=D("0.01")),
        Rules(),
    ),
    # excess 0.001 kW × 2 × 2.5 = 0.005 → 0.01; contract 1 kW × 1.05 × 0.01 = 0.0105 → 0.01
    (
        BillInput(
            2026,
            3,
            {"flat": D("1")},
            capacity_kva=D("1"),
            basic_charge_method="contract_demand",
            feeders=(Feeder(D("1.051"), D("1")),),
        ),
        Prices({"flat": D("1")}, demand_yuan_per_kw_month=D("2.5")),
        Rules(),
    ),
    # actual 0.002 kW × 2.5 = 0.005 → 0.01
    (
        BillInput(2026, 3, {}, basic_charge_method="actual_demand", feeders=(Feeder(D("0.002")),)),
        Prices({}, demand_yuan_per_kw_month=D("2.5")),
        Rules(),
    ),
]


@pytest.mark.parametrize("tie", TIES)
def test_half_fen_ties_round_like_the_engine(tie):
    assert_agrees([tie])


def test_worked_examples_agree():
    assert_agrees(
        [
            row(
                basic_charge_method="contract_demand",
                capacity_kva=D("2000"),
                feeders=(Feeder(D("1200"), D("1000")),),
                lagging_kvarh=D("30000"),
            ),
            row(
                basic_charge_method="contract_demand",
                capacity_kva=D("5000"),
                feeders=(Feeder(D("0"), D("600")), Feeder(D("2000"), D("900"))),
            ),
            # exactly 105 % of the contract demand, and 1 W above it
            row(basic_charge_method="contract_demand", capacity_kva=D("2000"), feeders=(Feeder(D("1050"), D("1000")),)),
            row(
                basic_charge_method="contract_demand",
                capacity_kva=D("2000"),
                feeders=(Feeder(D("1050.001"), D("1000")),),
            ),
            row(
                basic_charge_method="actual_demand",
                capacity_kva=D("5000"),
                feeders=(Feeder(D("700")), Feeder(D("500"))),
            ),
            row(
                basic_charge_method="capacity",
                capacity_kva=D("2000"),
                suspensions=(Suspension(D("500"), date(2026, 3, 11)),),
            ),
            row(lagging_kvarh=D("90000")),
            row(energy_kwh={}),
        ]
    )


def test_the_batch_says_which_bill_is_which():
    result = price_batch(BillBatch.from_inputs([row(), row(basic_charge_method="capacity", capacity_kva=D("1000"))]))
    assert result.basic_fen.tolist() == [0, 2_260_000]
    assert result.cos_phi_centi.tolist() == [100, 100]
    assert result.pf_percent_centi.tolist() == [-75, -75]


def test_cos_phi_near_a_boundary_falls_back_to_exact_arithmetic(monkeypatch):
    # cos φ × 100 = 60.5 - 6.3e-16: float64 says 61, the exact value rounds to 60
    kwh, kvarh = D("10000000034.64"), D("13160751625.42")
    assert math.floor(float(kwh) * 100 / math.hypot(float(kwh), float(kvarh)) + 0.5) == 61
    calls = []
    exact = batch_module.power_factor
    monkeypatch.setattr(batch_module, "power_factor", lambda *args: calls.append(args) or exact(*args))
    rows = [row(energy_kwh={"flat": kwh}, lagging_kvarh=kvarh), row(lagging_kvarh=D("30000"))]
    assert price_batch(BillBatch.from_inputs(rows)).cos_phi_centi.tolist() == [60, 96]
    assert calls == [(kwh, kvarh)]  # only the row near the boundary
    assert_agrees(rows)


def test_rows_a_batch_cannot_hold_are_refused():
    two = (Suspension(D("1"), date(2026, 3, 1), date(2026, 3, 2)), Suspension(D("1"), date(2026, 3, 5)))
    with pytest.raises(ValueError, match="one suspension"):
        BillBatch.from_inputs([row(basic_charge_method="capacity", capacity_kva=D("10"), suspensions=two)])
    bill, prices, _ = row()
    with pytest.raises(ValueError, match="6 decimals"):
        BillBatch.from_inputs([(bill, Prices({"flat": D("0.1234567")}), Rules(two_part=False))])
    bill, prices, _ = row(basic_charge_method="actual_demand", feeders=(Feeder(D("1")),))
    with pytest.raises(ValueError, match="2 decimals"):
        BillBatch.from_inputs([(bill, prices, Rules(excess_threshold=D("1.055")))])
    with pytest.raises(EngineError):
        BillBatch.from_inputs([row(energy_kwh={"flat": D("-1")})])


def test_magnitudes_beyond_int64_are_refused_not_overflowed():
    with pytest.raises(ValueError, match="int64"):
        BillBatch.from_inputs([row(energy_kwh={"flat": D("1e15")})])
    good = BillBatch.from_inputs([row(basic_charge_method="actual_demand", feeders=(Feeder(D("1")),))])
    with pytest.raises(ValueError, match="int64"):
        price_batch(dataclasses.replace(good, max_demand_mkw=np.array([[10**13]])))


def test_an_empty_batch_prices_to_nothing():
    result = price_batch(BillBatch.from_inputs([]))
    assert result.total_fen.shape == (0,)
    assert result.energy_fen.shape == (0, 5)


def test_malformed_arrays_are_refused():
    good = BillBatch.from_inputs([row(basic_charge_method="actual_demand", feeders=(Feeder(D("1")),))])
    fields = {name: getattr(good, name) for name in BillBatch.__dataclass_fields__}
    with pytest.raises(ValueError, match="cannot be negative"):
        BillBatch(**(fields | {"lagging_ckvarh": np.array([-1])}))
    with pytest.raises(ValueError, match="feeder_count"):
        BillBatch(**(fields | {"feeder_count": np.array([0])}))
    with pytest.raises(ValueError, match="shape"):
        BillBatch(**(fields | {"funds_price_uyuan": np.array([1, 2])}))


def test_to_fen_refuses_fractions_of_a_fen():
    assert to_fen(D("-12.34")) == -1234
    with pytest.raises(ValueError):
        to_fen(D("0.005"))


@settings(deadline=None, max_examples=300)
@given(st.lists(priced_inputs(), min_size=1, max_size=6))
@example(TIES)
def test_batch_equals_engine_in_fen(rows):
    assert_agrees(rows)
