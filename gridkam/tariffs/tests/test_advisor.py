"""The cost advisor: each recommendation checked against figures worked out by hand.

Most cases use the power-factor standard "none" and one flat energy price, so the money is the basic charge
plus a constant energy charge (100,000 kWh × 0.6 = 60,000 元 a month) and can be checked on paper.
"""

from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridkam.tariffs.advisor import (
    AccountTerms,
    AdvisorError,
    AdvisorSettings,
    MonthQuantities,
    advise,
)
from gridkam.tariffs.engine import BillInput, Feeder, Prices, Rules, compute_bill

D = Decimal
FLAT = {"flat": D("100000")}
FLAT_PRICES = {"flat": D("0.6")}
TOU_ENERGY = {"peak": D("30000"), "flat": D("40000"), "valley": D("30000")}
TOU_PRICES = {"peak": D("1.0"), "flat": D("0.6"), "valley": D("0.3")}
ZERO = D("0")
START = (2024, 7)  # the year runs across new year: 2024-07 … 2025-06


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def year_of(demands, *, energy=FLAT, lagging=ZERO, leading=ZERO):
    """12 months from START with the given maximum demands (a single value: every month)."""
    if not isinstance(demands, list | tuple):
        demands = [demands] * 12
    months = []
    for i, demand in enumerate(demands):
        index = START[0] * 12 + START[1] - 1 + i
        months.append(
            MonthQuantities(
                year=index // 12,
                month=index % 12 + 1,
                energy_kwh=dict(energy),
                lagging_kvarh=lagging,
                leading_kvarh=leading,
                max_demand_kw=None if demand is None else D(demand),
            )
        )
    return months


def terms(method="capacity", *, capacity="1000", contract=None, pf="none"):
    return AccountTerms(
        capacity_kva=D(capacity),
        basic_charge_method=method,
        contract_demand_kw=None if contract is None else D(contract),
        pf_standard=pf,
    )


def prices(*, energy=FLAT_PRICES, capacity="20", demand="30"):
    return Prices(
        energy=energy,
        capacity_yuan_per_kva_month=None if capacity is None else D(capacity),
        demand_yuan_per_kw_month=None if demand is None else D(demand),
    )


def by_kind(advice):
    return {r.kind: r for r in advice.recommendations}


def assert_well_formed(advice):
    savings = [r.saving_yuan_per_year for r in advice.recommendations]
    assert savings == sorted(savings, reverse=True)
    for r in advice.recommendations:
        assert r.saving_yuan_per_year > 0 or (r.kind == "contract_demand" and r.saving_yuan_per_year == 0)
        assert r.saving_yuan_per_year == r.saving_yuan_per_year.quantize(D("0.01"))
        assert r.table is not None and len(r.table.rows) == 12
        assert all(len(row) == len(r.table.columns) for row in r.table.rows)


# --- baseline and validation ------------------------------------------------------------------------------------


def test_baseline_is_the_twelve_bills_under_current_terms():
    advice = advise(year_of(500), terms(), prices(), Rules())
    assert advice.baseline.months[0] == "2024-07" and advice.baseline.months[-1] == "2025-06"
    # 1,000 kVA × 20 + 100,000 kWh × 0.6 = 80,000 a month.
    assert [bill.total for bill in advice.baseline.bills] == [D("80000.00")] * 12
    assert advice.baseline.total_yuan == D("960000.00")


def test_months_may_come_in_any_order():
    months = year_of(500)
    assert advise(list(reversed(months)), terms(), prices(), Rules()).baseline.months[0] == "2024-07"


@pytest.mark.parametrize("count", [0, 11, 13])
def test_anything_but_twelve_months_is_refused(count):
    months = (year_of(500) * 2)[:count]
    with pytest.raises(AdvisorError, match="exactly 12 months"):
        advise(months, terms(), prices(), Rules())


def test_a_month_given_twice_is_refused():
    months = year_of(500)
    months[5] = months[4]
    with pytest.raises(AdvisorError, match="distinct"):
        advise(months, terms(), prices(), Rules())


def test_a_gap_in_the_months_is_refused():
    months = year_of(500)[:11] + [MonthQuantities(2026, 1, FLAT, D("0"), D("0"), D("500"))]
    with pytest.raises(AdvisorError, match="consecutive"):
        advise(months, terms(), prices(), Rules())


def test_billing_by_demand_without_the_demand_is_refused():
    demands = [500] * 12
    demands[3] = None
    with pytest.raises(AdvisorError, match="2024-10"):
        advise(year_of(demands), terms("actual_demand"), prices(), Rules())


def test_contract_demand_billing_needs_the_contract_demand():
    with pytest.raises(AdvisorError, match="no contract demand"):
        advise(year_of(500), terms("contract_demand"), prices(), Rules())


def test_missing_max_demand_skips_the_demand_options_with_a_note():
    demands = [500] * 12
    demands[2] = None
    advice = advise(year_of(demands), terms(), prices(), Rules())
    assert not {"basic_method", "contract_demand", "capacity"} & set(by_kind(advice))
    assert any("2024-09" in note and "not assessed" in note for note in advice.notes)


# --- 1. basic charge method -------------------------------------------------------------------------------------


def test_cheapest_basic_charge_method():
    # 1,250 kVA, 600 kW every month. By capacity 1,250 × 22.6 × 12 = 339,000; by actual demand
    # 600 × 36.1 × 12 = 259,920; by contract demand at ceil(600 / 1.05) = 572 kW: 572 × 36.1 × 12 = 247,790.40.
    advice = advise(year_of(600), terms(capacity="1250"), prices(capacity="22.6", demand="36.1"), Rules())
    rec = by_kind(advice)["basic_method"]
    assert rec.saving_yuan_per_year == D("91209.60")
    assert rec.figures["method"] == "contract_demand"
    assert rec.figures["contract_demand_kw"] == D("572")
    assert rec.steps[0] == (
        "By capacity: 1,250 kVA × 22.6 元 × 12 months = 339,000.00 元 basic charge; 12 bills 1,059,000.00 元."
    )
    assert rec.steps[1].startswith("By actual demand: 7,200 kW (the 12 monthly maxima added) × 36.1 元 = 259,920.00")
    assert rec.steps[2].startswith("By contract demand at 572 kW: 572 kW × 36.1 元 × 12 months + 0.00 元")
    assert rec.table.rows[0][3:] == [D("88250.00"), D("81660.00"), D("80649.20"), "by contract demand"]
    assert_well_formed(advice)


def test_no_method_advice_when_the_current_method_is_cheapest():
    # 300 kW on 1,000 kVA: by actual demand 9,000 a month beats capacity (20,000) and the contract floor (12,000).
    advice = advise(year_of(300), terms("actual_demand"), prices(), Rules())
    assert "basic_method" not in by_kind(advice)
    assert any("is the cheapest" in note for note in advice.notes)


# --- 2. contract demand -----------------------------------------------------------------------------------------

# 1,000 kVA (floor 400 kW), declared 600 kW; ten quiet months at 400 kW, then 525 and 630 kW.
# Annual basic charge at C (× 30 元): 400 → 10 × 400 + (420 + 2 × 105) + (420 + 2 × 210) = 5,470 → 164,100;
# 500 → 5,000 + 500 + (525 + 2 × 105) = 6,235 → 187,050; 600 → 7,200 → 216,000; 1,000 → 360,000.
PEAKY = [400] * 10 + [525, 630]


@pytest.fixture
def peaky():
    return advise(year_of(PEAKY), terms("contract_demand", contract="600"), prices(), Rules())


def test_best_contract_demand_and_its_saving(peaky):
    rec = by_kind(peaky)["contract_demand"]
    assert rec.figures["contract_demand_kw"] == D("400")
    assert rec.saving_yuan_per_year == D("216000") - D("164100")
    candidates = [step for step in rec.steps if step.endswith("元.") and " kW: 12 bills " in step]
    assert candidates == [
        "400 kW: 12 bills 884,100.00 元.",
        "500 kW: 12 bills 907,050.00 元.",
        "600 kW: 12 bills 936,000.00 元.",
        "1,000 kW: 12 bills 1,080,000.00 元.",
    ]


def test_risk_of_exceeding_105_percent_counts_the_months_over(peaky):
    rec = by_kind(peaky)["contract_demand"]
    assert rec.figures["months_over"] == 2
    assert rec.figures["largest_excess_kw"] == D("210")
    assert rec.risk.startswith(
        "At 400 kW, 2 of the 12 months would have exceeded 105 %; the largest excess was 210 kW in 2025-06 "
        "(12,600.00 元 charged double)."
    )
    over = [row[3] for row in rec.table.rows]
    assert over == ["no"] * 10 + ["yes", "yes"]
    assert [row[4] for row in rec.table.rows][-2:] == [D("105"), D("210")]


def test_safe_contract_demand_and_its_extra_cost(peaky):
    figures = by_kind(peaky)["contract_demand"].figures
    # ceil(630 / 1.05) = 600 kW: no month over, 51,900 元 more than 400 kW.
    assert figures["safe_contract_demand_kw"] == D("600")
    assert figures["safe_total_yuan"] - figures["total_yuan"] == D("51900.00")


def test_contract_demand_declared_month_by_month(peaky):
    rec = by_kind(peaky)["contract_demand"]
    # Each month at its own best: 400 (floor) ten times, 500 and 600: (4,000 + 500 + 600) × 30 = 153,000.
    assert [row[8] for row in rec.table.rows] == [D("400.000")] * 10 + [D("500"), D("600")]
    assert rec.figures["monthly_total_yuan"] == D("153000.00") + D("720000.00")


def test_recommendations_are_ranked_by_saving(peaky):
    # By actual demand (400 × 10 + 525 + 630) × 30 = 154,650 beats every contract demand:
    # 216,000 − 154,650 = 61,350 ranks above the contract demand's 51,900.
    assert [(r.kind, r.saving_yuan_per_year) for r in peaky.recommendations] == [
        ("basic_method", D("61350.00")),
        ("contract_demand", D("51900.00")),
    ]
    assert_well_formed(peaky)


def test_contract_demand_is_shown_even_without_saving():
    # 477 kW already covers 500 kW within 105 %: nothing to gain.
    advice = advise(year_of(500), terms("contract_demand", contract="477"), prices(capacity=None), Rules())
    assert [r.kind for r in advice.recommendations] == ["contract_demand"]
    rec = advice.recommendations[0]
    assert rec.saving_yuan_per_year == 0
    assert "no saving" in rec.summary
    assert rec.risk.startswith("At 477 kW no month")
    assert_well_formed(advice)


def _annual_contract_total(months, capacity, price, contract):
    return sum(
        compute_bill(
            BillInput(
                year=m.year,
                month=m.month,
                energy_kwh=m.energy_kwh,
                capacity_kva=capacity,
                basic_charge_method="contract_demand",
                feeders=(Feeder(max_demand_kw=m.max_demand_kw, contract_demand_kw=contract),),
                pf_standard="none",
            ),
            Prices(energy=FLAT_PRICES, demand_yuan_per_kw_month=price),
            Rules(),
        ).total
        for m in months
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    capacity=st.integers(min_value=50, max_value=600),
    fractions=st.lists(st.integers(min_value=0, max_value=130), min_size=12, max_size=12),
    price=st.integers(min_value=10, max_value=45),
)
def test_chosen_contract_demand_is_never_beaten_by_brute_force(capacity, fractions, price):
    capacity = D(capacity)
    months = year_of([(capacity * f / 100).quantize(D("0.1")) for f in fractions])
    advice = advise(
        months, terms("contract_demand", capacity=capacity, contract=capacity), prices(demand=price), Rules()
    )
    figures = by_kind(advice)["contract_demand"].figures
    chosen = figures["contract_demand_kw"]
    assert capacity * D("0.4") <= chosen <= capacity
    chosen_total = _annual_contract_total(months, capacity, D(price), chosen)
    assert chosen_total == figures["total_yuan"]
    floor = int((capacity * D("0.4")).to_integral_value(rounding="ROUND_CEILING"))
    for contract in range(floor, int(capacity) + 1):
        assert chosen_total <= _annual_contract_total(months, capacity, D(price), D(contract)), contract
    limit = D("1.05") * chosen
    assert figures["months_over"] == sum(1 for m in months if m.max_demand_kw > limit)


def test_a_small_demand_can_be_cheapest_just_below_its_breakpoint():
    # 19.97 kW ÷ 1.05 = 19.02: declaring 19 kW charges 19.95 kW + 0.02 kW at double price = 19.99 kW
    # of price, less than the 20 kW that declaring 20 kW costs.
    capacity = D("40")
    months = year_of(D("19.97"))
    advice = advise(months, terms("contract_demand", capacity=capacity, contract=capacity), prices(demand=10), Rules())
    assert by_kind(advice)["contract_demand"].figures["contract_demand_kw"] == D("19")


# --- 3. capacitor -----------------------------------------------------------------------------------------------


def test_capacitor_size_saving_and_payback():
    # 100,000 kWh and 62,000 kvarh: cos φ 0.85, +2.5 % under the 0.90 standard on 83,000 元 = 2,075.
    # At 0.95: −0.75 % = −622.50. Saving (2,075 + 622.50) × 12 = 32,370.
    # kvar: 250 kW × (0.62 − 0.3286) = 72.85 → 100 kvar in 50 kvar steps; 12,000 元 pays back in 0.37 years.
    months = year_of(250, energy=TOU_ENERGY, lagging=D("62000"))
    advice = advise(months, terms(pf="0.90"), prices(energy=TOU_PRICES, demand=None), Rules())
    rec = by_kind(advice)["capacitor"]
    assert rec.saving_yuan_per_year == D("32370.00")
    assert rec.figures["kvar"] == D("100")
    assert rec.figures["payback_years"] == D("0.37")
    assert "250 kW × (0.62 − 0.3286) = 72.9 kvar, in steps of 50 kvar: 100 kvar." in rec.steps[2]
    assert (
        rec.steps[-1] == "Installed cost 100 kvar × 120 元 = 12,000.00 元; payback 12,000.00 ÷ 32,370.00 = 0.37 years."
    )
    row = rec.table.rows[0]
    assert (row[3], row[4], row[7], row[8]) == (D("0.85"), D("2.50"), D("0.95"), D("-0.75"))
    assert_well_formed(advice)


def test_no_capacitor_when_the_power_factor_meets_the_target():
    months = year_of(250, energy=TOU_ENERGY, lagging=D("30000"))  # cos φ 0.96
    advice = advise(months, terms(pf="0.90"), prices(energy=TOU_PRICES), Rules())
    assert "capacitor" not in by_kind(advice)


def test_no_capacitor_without_a_power_factor_standard():
    months = year_of(250, energy=TOU_ENERGY, lagging=D("62000"))
    advice = advise(months, terms(pf="none"), prices(energy=TOU_PRICES), Rules())
    assert "capacitor" not in by_kind(advice)


def test_leading_kvarh_counts_when_the_tariff_says_so():
    # 40,000 lagging + 22,000 leading = 62,000 counted: cos φ 0.85 again; the bank can cut only lagging.
    months = year_of(250, energy=TOU_ENERGY, lagging=D("40000"), leading=D("22000"))
    advice = advise(months, terms(pf="0.90"), prices(energy=TOU_PRICES), Rules(pf_counts_leading=True))
    rec = by_kind(advice)["capacitor"]
    assert rec.saving_yuan_per_year == D("32370.00")
    assert rec.risk is not None


# --- 4. load shift ----------------------------------------------------------------------------------------------


def test_load_shift_saving_per_percent_to_the_cheaper_valley():
    # 1 % of 10,000 sharp-peak and 20,000 peak kWh to deep valley (0.2 < 0.3 valley):
    # 100 × (1.25 − 0.2) + 200 × (1.0 − 0.2) = 265 a month, 3,180 a year; 10 % → 31,800.
    energy = {"sharp": D("10000"), "peak": D("20000"), "flat": D("40000"), "valley": D("30000")}
    tariff = {"sharp": D("1.25"), "peak": D("1.0"), "flat": D("0.6"), "valley": D("0.3"), "deep_valley": D("0.2")}
    advice = advise(year_of(500, energy=energy), terms(), prices(energy=tariff, demand=None), Rules())
    rec = by_kind(advice)["load_shift"]
    assert rec.saving_yuan_per_year == D("31800.00")
    assert rec.figures["period"] == "deep_valley"
    assert rec.figures["saving_per_percent_yuan"] == D("3180.00")
    assert "saves 3,180.00 元 a year" in rec.summary
    # A month now: 12,500 + 20,000 + 24,000 + 9,000 energy + 20,000 basic = 85,500.
    assert rec.table.rows[0][1:] == [D("30000"), D("3000.00"), D("85500.00"), D("82850.00"), D("2650.00"), D("265.00")]


def test_no_load_shift_without_time_of_use_prices():
    advice = advise(year_of(500), terms(), prices(), Rules())
    assert "load_shift" not in by_kind(advice)
    assert any("load shifting is not assessed" in note for note in advice.notes)


# --- 5. idle capacity -------------------------------------------------------------------------------------------


def test_capacity_reduction_and_seasonal_suspension_by_capacity():
    # 300 kW for six months, 500 kW for six, cos φ 1.00: needed 360 and 600 kVA with 20 % headroom.
    # Reduce 1,000 → 600 kVA, then suspend 240 kVA in the six quiet months:
    # 6 × 360 × 20 + 6 × 600 × 20 = 115,200 against 240,000 now.
    months = year_of([300] * 6 + [500] * 6)
    advice = advise(months, terms(), prices(demand=None), Rules())
    rec = by_kind(advice)["capacity"]
    assert rec.saving_yuan_per_year == D("124800.00")
    assert rec.figures["reduction_kva"] == D("400")
    assert rec.figures["suspended_months"] == ", ".join(f"2024-{m:02d}" for m in range(7, 13))
    assert rec.figures["suspended_kva_months"] == D("1440")
    assert rec.title == "Reduce the capacity by 400 kVA and suspend more in 6 months"
    assert [row[6] for row in rec.table.rows] == [D("240")] * 6 + [D("0")] * 6
    assert any("Reduction, by capacity: 12 bills 960,000.00 元 → 864,000.00 元" in step for step in rec.steps)
    assert_well_formed(advice)


def test_suspension_is_limited_to_the_allowed_months():
    months = year_of([300] * 6 + [500] * 6)
    advice = advise(months, terms(), prices(demand=None), Rules(), AdvisorSettings(max_suspension_months=2))
    rec = by_kind(advice)["capacity"]
    # 2 × 360 × 20 + 10 × 600 × 20 = 134,400.
    assert rec.saving_yuan_per_year == D("105600.00")
    assert rec.figures["suspended_months"] == "2024-07, 2024-08"


def test_under_demand_billing_a_reduction_pays_only_through_the_floor():
    # Declared 400 kW = the 40 % floor of 1,000 kVA, but the load is 200 kW. Keeping the capacity, actual
    # demand is cheapest (200 × 30 × 12 = 72,000). Reduced to 240 kVA, the floor drops to 96 kW and a
    # contract demand of ceil(200 / 1.05) = 191 kW costs 191 × 30 × 12 = 68,760: 3,240 less.
    advice = advise(year_of(200), terms("contract_demand", contract="400"), prices(capacity=None), Rules())
    assert [(r.kind, r.saving_yuan_per_year) for r in advice.recommendations] == [
        ("basic_method", D("72000.00")),
        ("capacity", D("3240.00")),
        ("contract_demand", D("0")),
    ]
    rec = by_kind(advice)["capacity"]
    assert rec.figures == {
        "reduction_kva": D("760"),
        "suspended_months": "",
        "suspended_kva_months": D("0"),
        "method": "contract_demand",
        "contract_demand_kw": D("191"),
    }
    assert any("floor of the contract demand binds" in step for step in rec.steps)
    assert_well_formed(advice)


def test_idle_capacity_that_does_not_pay_gives_a_note(peaky):
    # Billed by actual demand (no floor) the bills do not depend on the capacity.
    assert "capacity" not in by_kind(peaky)
    assert any("Idle capacity was found" in note for note in peaky.notes)


# --- single-part tariff -----------------------------------------------------------------------------------------


def test_single_part_tariff_gets_only_power_factor_and_load_shift():
    months = year_of(None, energy=TOU_ENERGY, lagging=D("62000"))
    advice = advise(months, terms(pf="0.90"), Prices(energy=TOU_PRICES), Rules(two_part=False))
    assert {r.kind for r in advice.recommendations} == {"capacitor", "load_shift"}
    assert any("Single-part tariff" in note for note in advice.notes)
    # No maximum demand: sized on the average load, 100,000 kWh ÷ 672 h in February = 148.81 kW.
    capacitor = by_kind(advice)["capacitor"]
    assert capacitor.figures["kvar"] == D("50")
    assert "average load" in capacitor.steps[2]
    assert_well_formed(advice)
