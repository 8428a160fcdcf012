"""The bill engine against the rules and worked examples of DOMAIN.md ("Tariffs")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from gridkam.tariffs.engine import (
    METHODS,
    PERIODS,
    BillInput,
    EngineError,
    Feeder,
    Prices,
    Rules,
    Suspension,
    compute_bill,
    describe,
)

D = Decimal
SINGLE_PART = Rules(two_part=False)


def bill_input(**changes) -> BillInput:
    """A March 2026 bill (31 days) with 100,000 kWh flat and no power-factor standard, unless changed."""
    values = {"year": 2026, "month": 3, "energy_kwh": {"flat": D("100000")}, "pf_standard": "none"}
    return BillInput(**(values | changes))


def prices(**changes) -> Prices:
    values = {
        "energy": {"flat": D("0.6")},
        "capacity_yuan_per_kva_month": D("22.6"),
        "demand_yuan_per_kw_month": D("40"),
    }
    return Prices(**(values | changes))


def contract(*feeders: tuple[str, str], capacity="2000") -> BillInput:
    """Billing by contract demand; feeders as (contract kW, maximum demand kW)."""
    return bill_input(
        basic_charge_method="contract_demand",
        capacity_kva=D(capacity),
        feeders=tuple(Feeder(max_demand_kw=D(m), contract_demand_kw=D(c)) for c, m in feeders),
    )


def lines(bill, prefix=""):
    return [(line.item, line.quantity, line.amount) for line in bill.lines if line.item.startswith(prefix)]


# --- Basic charge by contract demand ---------------------------------------------------------------------


def test_contract_demand_excess_is_charged_double():
    # DOMAIN.md: contract 1,000 kW, actual 1,200 kW, 40 元/kW·月 → 1,050 × 40 + 150 × 40 × 2 = 54,000 元.
    bill = compute_bill(contract(("1000", "1200")), prices(), Rules())
    assert lines(bill, "basic") == [
        ("basic.contract_demand", D("1050"), D("42000.00")),
        ("basic.demand_excess", D("150"), D("12000.00")),
    ]
    assert [line.rule for line in bill.lines if line.item.startswith("basic")] == [
        "contract_demand",
        "contract_demand_excess",
    ]
    assert bill.basic_charge == D("54000.00")


def test_maximum_demand_at_exactly_105_percent_charges_the_contract_demand_only():
    bill = compute_bill(contract(("1000", "1050")), prices(), Rules())
    assert lines(bill, "basic") == [("basic.contract_demand", D("1000"), D("40000.00"))]


def test_maximum_demand_just_above_105_percent_charges_the_excess():
    bill = compute_bill(contract(("1000", "1050.001")), prices(), Rules())
    assert lines(bill, "basic") == [
        ("basic.contract_demand", D("1050"), D("42000.00")),
        ("basic.demand_excess", D("0.001"), D("0.08")),
    ]


def test_contract_demand_below_40_percent_of_capacity_is_raised():
    bill = compute_bill(contract(("1500", "1800"), capacity="5000"), prices(), Rules())
    (line,) = [line for line in bill.lines if line.item.startswith("basic")]
    assert (line.quantity, line.amount, line.rule) == (D("2000"), D("80000.00"), "contract_demand_floor")
    assert line.params["declared_kw"] == D("1500")
    assert line.params["floor_kw"] == D("2000")


def test_raised_contract_demand_is_the_base_for_the_excess():
    # floor 2,000 kW; 2,200 kW > 2,100 kW: 2,100 × 40 + 100 × 80
    bill = compute_bill(contract(("1500", "2200"), capacity="5000"), prices(), Rules())
    assert lines(bill, "basic") == [
        ("basic.contract_demand", D("2100"), D("84000.00")),
        ("basic.demand_excess", D("100"), D("8000.00")),
    ]


def test_floor_ratio_is_configurable():
    bill = compute_bill(contract(("1500", "1500"), capacity="5000"), prices(), Rules(demand_floor_ratio=D("0.25")))
    assert lines(bill, "basic") == [("basic.contract_demand", D("1500"), D("60000.00"))]


def test_demand_of_two_feeders_is_billed_per_feeder_and_summed():
    # feeder 1: 700 kW > 105 % of 600 → 630 × 40 + 70 × 80; feeder 2: 300 kW within 400 → 400 × 40
    bill = compute_bill(contract(("600", "700"), ("400", "300")), prices(), Rules())
    assert lines(bill, "basic") == [
        ("basic.contract_demand", D("630"), D("25200.00")),
        ("basic.demand_excess", D("70"), D("5600.00")),
        ("basic.contract_demand", D("400"), D("16000.00")),
    ]
    assert [line.params["feeder"] for line in bill.lines if line.item.startswith("basic")] == [0, 0, 1]
    assert bill.basic_charge == D("46800.00")


def test_floor_applies_to_the_sum_of_feeders_in_proportion_to_their_declared_demand():
    # declared 600 + 900 = 1,500 < 2,000: the 500 kW shortfall is shared 200 : 300
    bill = compute_bill(contract(("600", "0"), ("900", "0"), capacity="5000"), prices(), Rules())
    assert lines(bill, "basic") == [
        ("basic.contract_demand", D("800"), D("32000.00")),
        ("basic.contract_demand", D("1200"), D("48000.00")),
    ]


def test_floor_shares_are_rounded_to_a_watt_and_add_up():
    # a shortfall of 1 W over declared 500 : 499.999 : 0 kW: shares add up and none is negative
    bill = compute_bill(contract(("500", "0"), ("499.999", "0"), ("0", "0"), capacity="2500"), prices(), Rules())
    quantities = [line.quantity for line in bill.lines if line.item.startswith("basic")]
    assert sum(quantities) == D("1000")
    assert all(q >= 0 for q in quantities)
    assert quantities[2] == 0


def test_floor_with_all_feeders_declared_zero_is_shared_equally():
    bill = compute_bill(contract(("0", "0"), ("0", "0"), ("0", "0"), capacity="1000"), prices(), Rules())
    assert [line.quantity for line in bill.lines if line.item.startswith("basic")] == [
        D("133.333"),
        D("133.334"),
        D("133.333"),
    ]


# --- Basic charge by actual demand and by capacity ---------------------------------------------------------


def actual(*demands: str, capacity="5000") -> BillInput:
    return bill_input(
        basic_charge_method="actual_demand",
        capacity_kva=D(capacity),
        feeders=tuple(Feeder(max_demand_kw=D(m)) for m in demands),
    )


def test_actual_demand_is_charged_per_feeder_without_floor_by_default():
    bill = compute_bill(actual("700", "500"), prices(demand_yuan_per_kw_month=D("36.1")), Rules())
    assert lines(bill, "basic") == [
        ("basic.actual_demand", D("700"), D("25270.00")),
        ("basic.actual_demand", D("500"), D("18050.00")),
    ]
    assert {line.rule for line in bill.lines if line.item.startswith("basic")} == {"actual_demand"}


def test_actual_demand_floor_when_configured():
    bill = compute_bill(
        actual("700", "500"), prices(demand_yuan_per_kw_month=D("36.1")), Rules(actual_demand_floor=True)
    )
    # 1,200 kW < 40 % of 5,000 kVA: raised to 2,000 kW, shared 7 : 5
    assert lines(bill, "basic") == [
        ("basic.actual_demand", D("1166.667"), D("42116.68")),
        ("basic.actual_demand", D("833.333"), D("30083.32")),
    ]
    assert bill.basic_charge == D("72200.00")
    assert {line.rule for line in bill.lines if line.item.startswith("basic")} == {"actual_demand_floor"}


def test_actual_demand_floor_does_not_lower_a_higher_demand():
    bill = compute_bill(actual("2500"), prices(), Rules(actual_demand_floor=True))
    assert lines(bill, "basic") == [("basic.actual_demand", D("2500"), D("100000.00"))]


def capacity(*suspensions: Suspension) -> BillInput:
    return bill_input(basic_charge_method="capacity", capacity_kva=D("2000"), suspensions=suspensions)


def test_capacity_is_charged_per_kva():
    bill = compute_bill(capacity(), prices(), Rules())
    assert lines(bill, "basic") == [("basic.capacity", D("2000"), D("45200.00"))]


def test_mid_month_suspension_is_deducted_by_days():
    # 500 kVA suspended from 11 March to the month end: 21 of 31 days, 500 × 22.6 × 21 / 31 = 7,654.838…
    bill = compute_bill(capacity(Suspension(kva=D("500"), start=date(2026, 3, 11))), prices(), Rules())
    assert lines(bill, "basic") == [
        ("basic.capacity", D("2000"), D("45200.00")),
        ("basic.suspension", D("-500"), D("-7654.84")),
    ]
    (line,) = [line for line in bill.lines if line.item == "basic.suspension"]
    assert (line.rule, line.params["days"], line.params["days_in_month"]) == ("suspension_prorated", 21, 31)
    assert bill.basic_charge == D("37545.16")


def test_suspension_is_clipped_to_the_month():
    # from 20 February to 5 March: 5 days of March; one that ended in February gives no line
    bill = compute_bill(
        capacity(
            Suspension(kva=D("310"), start=date(2026, 2, 20), end=date(2026, 3, 5)),
            Suspension(kva=D("100"), end=date(2026, 2, 28)),
        ),
        prices(),
        Rules(),
    )
    # 310 × 22.6 × 5 / 31 = 1,130 exactly
    assert lines(bill, "basic.suspension") == [("basic.suspension", D("-310"), D("-1130.00"))]


def test_suspension_amount_is_rounded_as_one_product():
    # 1 kVA × 0.01 × 14 / 28 days = 0.005: rounded once, half-up, not per day
    bill = compute_bill(
        bill_input(
            year=2026,
            month=2,
            basic_charge_method="capacity",
            capacity_kva=D("1"),
            suspensions=(Suspension(kva=D("1"), start=date(2026, 2, 1), end=date(2026, 2, 14)),),
        ),
        prices(capacity_yuan_per_kva_month=D("0.01")),
        Rules(),
    )
    assert lines(bill, "basic.suspension") == [("basic.suspension", D("-1"), D("-0.01"))]


def test_single_part_tariff_has_no_basic_charge():
    bill = compute_bill(bill_input(basic_charge_method="capacity", capacity_kva=D("2000")), prices(), SINGLE_PART)
    assert lines(bill, "basic") == []
    assert bill.basic_charge == 0
    assert bill.total == D("60000.00")


# --- Energy, power factor and funds ---------------------------------------------------------------------


def test_energy_is_priced_per_period_and_priced_periods_always_show():
    bill = compute_bill(
        bill_input(energy_kwh={"peak": D("1000.004"), "valley": D("2000")}),
        prices(energy={"peak": D("1.02"), "flat": D("0.6"), "valley": D("0.228")}),
        SINGLE_PART,
    )
    assert lines(bill, "energy") == [
        ("energy.peak", D("1000.00"), D("1020.00")),
        ("energy.flat", D("0"), D("0.00")),
        ("energy.valley", D("2000"), D("456.00")),
    ]
    assert bill.energy_charge == D("1476.00")


def test_line_amounts_round_half_up():
    bill = compute_bill(bill_input(energy_kwh={"flat": D("1")}), prices(energy={"flat": D("0.005")}), SINGLE_PART)
    assert bill.energy_charge == D("0.01")


def test_power_factor_better_than_standard_reduces_the_bill():
    # cos φ = 100,000 / √(100,000² + 30,000²) = 0.958 → 0.96: -0.75 % of 60,000
    bill = compute_bill(bill_input(lagging_kvarh=D("30000"), pf_standard="0.90"), prices(), SINGLE_PART)
    assert (bill.power_factor, bill.pf_adjustment_percent, bill.pf_adjustment) == (D("0.96"), D("-0.75"), D("-450.00"))
    (line,) = lines(bill, "pf")
    assert line == ("pf_adjustment", D("60000.00"), D("-450.00"))
    assert bill.total == D("59550.00")


def test_power_factor_below_standard_adds_a_surcharge_on_basic_plus_energy():
    # 40,000 kWh, 30,000 kvarh: cos φ 0.80 against 0.90 → +5 % of (20,000 energy + 45,200 basic)
    bill = compute_bill(
        bill_input(
            energy_kwh={"flat": D("40000")},
            lagging_kvarh=D("30000"),
            pf_standard="0.90",
            basic_charge_method="capacity",
            capacity_kva=D("2000"),
        ),
        prices(energy={"flat": D("0.5")}),
        Rules(),
    )
    assert (bill.power_factor, bill.pf_adjustment_percent) == (D("0.80"), D("5.00"))
    (line,) = [line for line in bill.lines if line.item == "pf_adjustment"]
    assert (line.quantity, line.unit_price, line.amount) == (D("65200.00"), D("0.0500"), D("3260.00"))


def test_negative_adjustment_ties_round_away_from_zero():
    # 10.00 × -0.15 % = -0.015 → -0.02
    bill = compute_bill(
        bill_input(energy_kwh={"flat": D("10")}, lagging_kvarh=D("4.5"), pf_standard="0.90"),
        prices(energy={"flat": D("1")}),
        SINGLE_PART,
    )
    assert (bill.power_factor, bill.pf_adjustment) == (D("0.91"), D("-0.02"))


def test_leading_kvarh_is_not_counted_by_default():
    bill = compute_bill(
        bill_input(lagging_kvarh=D("30000"), leading_kvarh=D("20000"), pf_standard="0.90"), prices(), SINGLE_PART
    )
    (line,) = [line for line in bill.lines if line.item == "pf_adjustment"]
    assert (bill.power_factor, line.params["kvarh"], line.params["kvarh_counted"]) == (D("0.96"), D("30000"), "lagging")


def test_leading_kvarh_counts_when_configured():
    # 50,000 kvarh: cos φ 0.894 → 0.89, +0.5 % of 60,000
    bill = compute_bill(
        bill_input(lagging_kvarh=D("30000"), leading_kvarh=D("20000"), pf_standard="0.90"),
        prices(),
        Rules(two_part=False, pf_counts_leading=True),
    )
    (line,) = [line for line in bill.lines if line.item == "pf_adjustment"]
    assert (bill.power_factor, bill.pf_adjustment) == (D("0.89"), D("300.00"))
    assert (line.params["kvarh"], line.params["kvarh_counted"]) == (D("50000"), "lagging_and_leading")


def test_government_funds_are_outside_the_power_factor_base():
    bill = compute_bill(
        bill_input(lagging_kvarh=D("30000"), pf_standard="0.90"), prices(funds_yuan_per_kwh=D("0.03")), SINGLE_PART
    )
    assert (bill.government_funds, bill.pf_adjustment) == (D("3000.00"), D("-450.00"))
    assert [line.item for line in bill.lines] == ["energy.flat", "pf_adjustment", "funds"]
    assert bill.total == D("62550.00")


def test_government_funds_inside_the_power_factor_base_when_configured():
    bill = compute_bill(
        bill_input(lagging_kvarh=D("30000"), pf_standard="0.90"),
        prices(funds_yuan_per_kwh=D("0.03")),
        Rules(two_part=False, pf_base_includes_funds=True),
    )
    # 63,000 × -0.75 % = -472.50
    assert bill.pf_adjustment == D("-472.50")


def test_no_power_factor_line_without_standard_or_energy():
    none = compute_bill(bill_input(lagging_kvarh=D("90000")), prices(), SINGLE_PART)
    assert (none.power_factor, none.pf_adjustment_percent, lines(none, "pf")) == (D("0.74"), 0, [])
    no_energy = compute_bill(
        bill_input(energy_kwh={}, lagging_kvarh=D("10"), pf_standard="0.90", basic_charge_method="capacity",
                   capacity_kva=D("100")),
        prices(),
        Rules(),
    )  # fmt: skip
    assert (no_energy.power_factor, no_energy.pf_adjustment, lines(no_energy, "pf")) == (None, 0, [])
    assert no_energy.total == D("2260.00")


def test_power_factor_at_the_standard_shows_a_zero_line():
    bill = compute_bill(bill_input(lagging_kvarh=D("48432.2"), pf_standard="0.90"), prices(), SINGLE_PART)
    assert lines(bill, "pf") == [("pf_adjustment", D("60000.00"), D("0.00"))]


# --- Input the engine refuses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bill", "price_list", "rules", "field"),
    [
        (bill_input(energy_kwh={"flat": D("-1")}), prices(), SINGLE_PART, "energy_kwh.flat"),
        (bill_input(energy_kwh={"shoulder": D("1")}), prices(), SINGLE_PART, "energy_kwh.shoulder"),
        (bill_input(energy_kwh={"deep_valley": D("1")}), prices(), SINGLE_PART, "energy_kwh.deep_valley"),
        (bill_input(energy_kwh={"flat": 1.5}), prices(), SINGLE_PART, "energy_kwh.flat"),
        (bill_input(energy_kwh={"flat": D("NaN")}), prices(), SINGLE_PART, "energy_kwh.flat"),
        (bill_input(lagging_kvarh=D("-1")), prices(), SINGLE_PART, "lagging_kvarh"),
        (bill_input(leading_kvarh=D("-1")), prices(), SINGLE_PART, "leading_kvarh"),
        (bill_input(pf_standard="0.95"), prices(), SINGLE_PART, "pf_standard"),
        (bill_input(month=13), prices(), SINGLE_PART, "month"),
        (bill_input(), prices(energy={"flat": D("-0.6")}), SINGLE_PART, "prices.energy.flat"),
        (bill_input(), prices(energy={"flat": D("0.6"), "noon": D("1")}), SINGLE_PART, "prices.energy.noon"),
        (bill_input(), prices(funds_yuan_per_kwh=D("-0.1")), SINGLE_PART, "prices.funds_yuan_per_kwh"),
        (bill_input(), prices(), Rules(), "basic_charge_method"),
        (bill_input(basic_charge_method="by_magic"), prices(), Rules(), "basic_charge_method"),
        (bill_input(basic_charge_method="capacity"), prices(), Rules(), "capacity_kva"),
        (capacity(), prices(capacity_yuan_per_kva_month=None), Rules(), "prices.capacity_yuan_per_kva_month"),
        (capacity(Suspension(kva=D("2001"))), prices(), Rules(), "suspensions.0.kva"),
        (capacity(Suspension(kva=D("-1"))), prices(), Rules(), "suspensions.0.kva"),
        (
            capacity(Suspension(kva=D("1")), Suspension(kva=D("1"), start=date(2026, 3, 9), end=date(2026, 3, 8))),
            prices(),
            Rules(),
            "suspensions.1.end",
        ),
        (contract(("1000", "900")), prices(demand_yuan_per_kw_month=None), Rules(), "prices.demand_yuan_per_kw_month"),
        (bill_input(basic_charge_method="contract_demand", feeders=(Feeder(D("1"), D("1")),)), prices(), Rules(),
         "capacity_kva"),
        (bill_input(basic_charge_method="contract_demand", capacity_kva=D("100")), prices(), Rules(), "feeders"),
        (contract(("1000", "900"), ("-1", "900")), prices(), Rules(), "feeders.1.contract_demand_kw"),
        (contract(("1000", "-900")), prices(), Rules(), "feeders.0.max_demand_kw"),
        (
            bill_input(basic_charge_method="contract_demand", capacity_kva=D("100"), feeders=(Feeder(D("1")),)),
            prices(),
            Rules(),
            "feeders.0.contract_demand_kw",
        ),
        (
            bill_input(basic_charge_method="actual_demand", feeders=(Feeder(D("1")), Feeder(None, D("1")))),
            prices(),
            Rules(),
            "feeders.1.max_demand_kw",
        ),
        (bill_input(basic_charge_method="actual_demand", feeders=(Feeder(D("1")),)), prices(),
         Rules(actual_demand_floor=True), "capacity_kva"),
        (contract(("1000", "900")), prices(), Rules(excess_multiplier=D("-2")), "rules.excess_multiplier"),
    ],
)  # fmt: skip
def test_input_that_cannot_be_priced_names_its_field(bill, price_list, rules, field):
    with pytest.raises(EngineError) as raised:
        compute_bill(bill, price_list, rules)
    assert raised.value.field == field
    assert str(raised.value.message)


def test_actual_demand_without_floor_needs_no_capacity():
    bill = compute_bill(bill_input(basic_charge_method="actual_demand", feeders=(Feeder(D("10")),)), prices(), Rules())
    assert bill.basic_charge == D("400.00")


def test_single_part_ignores_basic_charge_inputs():
    bill = compute_bill(bill_input(basic_charge_method="by_magic", feeders=(Feeder(),)), prices(), SINGLE_PART)
    assert bill.basic_charge == 0


# --- Explaining lines ----------------------------------------------------------------------------------------


def test_every_line_is_explained_with_its_figures():
    bills = [
        compute_bill(contract(("1500", "2200"), capacity="5000"), prices(funds_yuan_per_kwh=D("0.03")), Rules()),
        compute_bill(contract(("1000", "1000")), prices(), Rules()),
        compute_bill(capacity(Suspension(kva=D("500"), start=date(2026, 3, 11))), prices(), Rules()),
        compute_bill(actual("700", "500"), prices(), Rules(actual_demand_floor=True)),
        compute_bill(actual("700"), prices(), Rules()),
        compute_bill(bill_input(lagging_kvarh=D("30000"), pf_standard="0.90"), prices(), SINGLE_PART),
        compute_bill(bill_input(lagging_kvarh=D("90000"), pf_standard="0.85"), prices(), Rules(False, True)),
        compute_bill(bill_input(lagging_kvarh=D("48432.2"), pf_standard="0.90"), prices(), SINGLE_PART),
    ]
    explained = set()
    with translation.override("en"):
        for bill in bills:
            for line in bill.lines:
                text = describe(line)
                figure = {"pf_table": "cos_phi", "suspension_prorated": "kva"}.get(line.rule)
                assert str(line.params[figure] if figure else line.quantity) in text
                explained.add(line.rule)
    assert explained == {
        "tou",
        "capacity",
        "suspension_prorated",
        "contract_demand",
        "contract_demand_floor",
        "contract_demand_excess",
        "actual_demand",
        "actual_demand_floor",
        "pf_table",
        "funds",
    }


def test_explanations_name_the_rule_in_words():
    bill = compute_bill(contract(("1000", "1200")), prices(), Rules())
    with translation.override("en"):
        assert describe(bill.lines[1]) == (
            "By contract demand, feeder 1: the maximum demand of 1200.000 kW exceeds 105% of the contract demand "
            "of 1000.000 kW, so 1050.000 kW is charged at 40 yuan/kW per month."
        )
        assert describe(bill.lines[2]) == (
            "Maximum demand above 105% of the contract demand, feeder 1: 150.000 kW at 2 × 40 yuan/kW per month."
        )


# --- Properties ------------------------------------------------------------------------------------------------


def scaled(low: int, high: int, places: int) -> st.SearchStrategy[Decimal]:
    """Decimals from low to high (in units of 10^-places) with `places` decimals."""
    return st.integers(low, high).map(lambda units: Decimal(units).scaleb(-places))


# Prices with at most 6 decimals, sometimes a multiple of half a fen so that line amounts tie.
energy_prices = st.one_of(scaled(0, 2_000_000, 6), st.integers(0, 400).map(lambda i: Decimal(5 * i).scaleb(-3)))
kwh = st.one_of(scaled(0, 10**10, 2), scaled(0, 10**5, 0), st.just(D(0)))


@st.composite
def feeders_for(draw, method: str) -> tuple[Feeder, ...]:
    count = draw(st.integers(1, 3))
    demand = scaled(0, 300_000_000, 3)
    if method == "contract_demand":
        out = []
        for _ in range(count):
            c = draw(demand)
            # maximum demand around the contract demand so that the 105 % test goes both ways
            m = draw(st.one_of(demand, st.sampled_from([c, c * D("1.05"), c * D("1.05") + D("0.001")])))
            out.append(Feeder(max_demand_kw=m.quantize(D("0.001")), contract_demand_kw=c))
        return tuple(out)
    return tuple(Feeder(max_demand_kw=draw(demand)) for _ in range(count))


@st.composite
def priced_inputs(draw) -> tuple[BillInput, Prices, Rules]:
    """Valid engine input of every method, within what a BillBatch holds (one suspension at most)."""
    two_part = draw(st.booleans())
    method = draw(st.sampled_from(METHODS)) if two_part else draw(st.sampled_from([None, *METHODS]))
    priced = draw(st.lists(st.sampled_from(PERIODS), min_size=1, unique=True))
    energy = {period: draw(kwh) for period in priced if draw(st.booleans())}
    total = sum(energy.values(), D(0))
    # reactive energy as a fraction of active energy, to cover cos φ from 1 down below 0.5
    ratio = draw(scaled(0, 2000, 3))
    lagging = draw(st.one_of(st.just((total * ratio).quantize(D("0.01"))), scaled(0, 10**9, 2)))
    year, month = draw(st.integers(2020, 2030)), draw(st.integers(1, 12))
    # small capacities leave the 40 % floor below the demand, large ones make it bind
    capacity = draw(st.one_of(scaled(0, 100_000, 2), scaled(0, 100_000_000, 2)))
    suspensions = ()
    if method == "capacity" and draw(st.booleans()):
        start = draw(st.one_of(st.none(), st.dates(date(year, month, 1), date(year, month, 28))))
        end = draw(st.one_of(st.none(), st.dates(start or date(year, month, 1), date(year, month, 28))))
        suspensions = (Suspension(kva=draw(scaled(0, int(capacity * 100), 2)), start=start, end=end),)
    bill = BillInput(
        year=year,
        month=month,
        energy_kwh=energy,
        lagging_kvarh=lagging,
        leading_kvarh=draw(scaled(0, 10**8, 2)),
        capacity_kva=capacity,
        basic_charge_method=method,
        feeders=draw(feeders_for(method)) if method in ("contract_demand", "actual_demand") else (),
        suspensions=suspensions,
        pf_standard=draw(st.sampled_from(["0.90", "0.85", "0.80", "none"])),
    )
    price_list = Prices(
        energy={period: draw(energy_prices) for period in priced},
        funds_yuan_per_kwh=draw(st.one_of(st.just(D(0)), scaled(0, 60_000, 6))),
        capacity_yuan_per_kva_month=draw(scaled(0, 40_000_000, 6)),
        demand_yuan_per_kw_month=draw(scaled(0, 60_000_000, 6)),
    )
    rules = Rules(
        two_part=two_part,
        pf_counts_leading=draw(st.booleans()),
        pf_base_includes_funds=draw(st.booleans()),
        actual_demand_floor=draw(st.booleans()),
        demand_floor_ratio=draw(st.sampled_from([D("0.40"), D("0.35"), D("0.5"), D("0")])),
        excess_threshold=draw(st.sampled_from([D("1.05"), D("1.1"), D("1")])),
        excess_multiplier=draw(st.sampled_from([D("2"), D("1.5"), D("3")])),
    )
    return bill, price_list, rules


@settings(deadline=None)
@given(priced_inputs())
def test_total_is_the_sum_of_lines_and_every_amount_has_two_decimals(row):
    bill = compute_bill(*row)
    assert bill.total == sum(line.amount for line in bill.lines)
    assert bill.energy_charge == sum(line.amount for line in bill.lines if line.item.startswith("energy."))
    assert bill.basic_charge == sum(line.amount for line in bill.lines if line.item.startswith("basic."))
    amounts = [line.amount for line in bill.lines]
    amounts += [bill.total, bill.energy_charge, bill.basic_charge, bill.pf_adjustment, bill.government_funds]
    assert all(amount.as_tuple().exponent == -2 for amount in amounts)
    assert all(line.quantity >= 0 for line in bill.lines if line.item not in ("basic.suspension", "pf_adjustment"))
    with translation.override("en"):
        assert all(describe(line) for line in bill.lines)
