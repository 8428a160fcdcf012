"""The bill engine: one month's bill of one electricity account, priced line by line from plain data.

Pure domain code (no ORM): the bill run, the API, the CLI and the advisor all price through
``compute_bill``; ``gridkam.tariffs.batch`` is the vectorised twin for bill runs and must agree with it
to the fen. DOMAIN.md ("Tariffs") is the authority for the rules; choices where it is silent:

- Quantities are rounded half-up to their resolution on the way in (energy and reactive energy 0.01
  kWh/kvarh, demand 0.001 kW, capacity 0.01 kVA), like the meter readings they come from; prices are
  used exactly as given.
- Demand is billed per feeder (one line each, ``params["feeder"]`` is the 0-based index, as in the error
  field ``feeders.<i>.max_demand_kw``). The 40 % floor applies to the sum over feeders; the shortfall is
  spread in proportion to the declared values (equally when all are 0) by cumulative rounding to 0.001
  kW, so each share is within 0.001 kW of its exact value, none is negative, and the last feeder takes
  the remainder. The floor uses the contracted capacity as given (kVA taken as kW); suspensions only
  reduce the basic charge by capacity.
- A suspension that does not overlap the month gives no line; the suspended kVA may not exceed the
  contracted capacity.
- The power-factor line is written whenever a standard applies and there is energy, also at 0 %, so
  the bill shows that the standard was met. The funds line is written when the funds price is not 0.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .powerfactor import PF_STANDARDS, pf_adjustment_percent, power_factor

__all__ = [
    "METHODS",
    "PERIODS",
    "PF_STANDARDS",
    "Bill",
    "BillInput",
    "EngineError",
    "Feeder",
    "Line",
    "Prices",
    "Rules",
    "Suspension",
    "compute_bill",
    "describe",
    "pf_adjustment_percent",
    "power_factor",
]

PERIODS = ("sharp", "peak", "flat", "valley", "deep_valley")  # fixed order everywhere
METHODS = ("capacity", "contract_demand", "actual_demand")  # basic-charge methods

ZERO = Decimal("0.00")
_CENT = Decimal("0.01")
_KWH = Decimal("0.01")
_KVA = Decimal("0.01")
_KW = Decimal("0.001")
# Products of quantities and prices are exact at this precision; only quantize() rounds.
_CONTEXT = Context(prec=60, rounding=ROUND_HALF_UP, traps=[InvalidOperation, DivisionByZero, Overflow])


class EngineError(ValueError):
    """Input the engine cannot price. `field` names the input field (dotted path, e.g.
    "energy_kwh.deep_valley", "contract_demand_kw", "feeders.1.max_demand_kw"), `message` is a
    translatable (gettext_lazy) sentence."""

    def __init__(self, field: str, message):
        super().__init__(field, message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class Prices:
    energy: Mapping[str, Decimal]  # yuan/kWh for each period the tariff prices (subset of PERIODS)
    funds_yuan_per_kwh: Decimal = Decimal("0")
    capacity_yuan_per_kva_month: Decimal | None = None  # two-part only
    demand_yuan_per_kw_month: Decimal | None = None  # two-part only


@dataclass(frozen=True)
class Rules:
    two_part: bool = True
    pf_counts_leading: bool = False  # default: lagging kvarh only
    pf_base_includes_funds: bool = False  # default: adjustment on basic + energy only
    actual_demand_floor: bool = False  # 40 % floor also for billing by actual demand
    demand_floor_ratio: Decimal = Decimal("0.40")
    excess_threshold: Decimal = Decimal("1.05")
    excess_multiplier: Decimal = Decimal("2")


@dataclass(frozen=True)
class Feeder:
    """One incoming feeder's demand figures (kW). Demand is per feeder, summed."""

    max_demand_kw: Decimal | None = None
    contract_demand_kw: Decimal | None = None


@dataclass(frozen=True)
class Suspension:
    """Suspended or reduced capacity (暂停/减容) in the month; start/end inclusive dates, None = month edge."""

    kva: Decimal
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class BillInput:
    year: int
    month: int
    energy_kwh: Mapping[str, Decimal]  # kWh per period (keys subset of PERIODS), >= 0
    lagging_kvarh: Decimal = Decimal("0")
    leading_kvarh: Decimal = Decimal("0")
    capacity_kva: Decimal | None = None  # contracted capacity (two-part)
    basic_charge_method: str | None = None  # one of METHODS (two-part); ignored for single-part
    feeders: tuple[Feeder, ...] = ()  # one per incoming feeder; demand methods need >= 1
    suspensions: tuple[Suspension, ...] = ()
    pf_standard: str = "0.90"


@dataclass(frozen=True)
class Line:
    item: str  # "energy.sharp" … "energy.deep_valley", "basic.capacity", "basic.suspension",
    # "basic.contract_demand", "basic.demand_excess", "basic.actual_demand", "pf_adjustment", "funds"
    quantity: Decimal  # kWh, kVA, kW, or yuan (pf_adjustment: the base it applies to)
    unit_price: Decimal  # yuan per unit (pf_adjustment: the rate, e.g. Decimal("-0.0030"))
    amount: Decimal  # yuan, 2 places, half-up
    rule: str  # machine code of the rule applied, e.g. "tou", "capacity", "suspension_prorated",
    # "contract_demand", "contract_demand_floor", "contract_demand_excess",
    # "actual_demand", "actual_demand_floor", "pf_table", "funds"
    params: Mapping[str, object] = field(default_factory=dict)  # what the rule used (days, ratio, standard…)


@dataclass(frozen=True)
class Bill:
    lines: tuple[Line, ...]
    energy_charge: Decimal
    basic_charge: Decimal
    power_factor: Decimal | None  # cos φ, 2 places half-up; None when no energy
    pf_adjustment_percent: Decimal  # e.g. Decimal("-0.30"); 0 when standard "none" or no energy
    pf_adjustment: Decimal
    government_funds: Decimal
    total: Decimal  # == sum of line amounts


# --- Checking and normalising the input (shared with batch.BillBatch.from_inputs) ---------------------


@dataclass(frozen=True)
class _Suspended:
    """A suspension's overlap with the billed month."""

    index: int
    kva: Decimal
    start: date
    end: date
    days: int
    days_in_month: int


@dataclass(frozen=True)
class _Checked:
    """The input after validation: quantities at their resolution, every period present."""

    energy_kwh: dict[str, Decimal]
    energy_price: dict[str, Decimal]
    funds_price: Decimal
    lagging_kvarh: Decimal
    leading_kvarh: Decimal
    pf_standard: str
    days_in_month: int
    method: str | None = None  # None: single-part
    basic_price: Decimal | None = None  # per kVA (capacity) or per kW (demand methods)
    capacity_kva: Decimal | None = None
    max_demand_kw: tuple[Decimal, ...] = ()
    contract_demand_kw: tuple[Decimal, ...] = ()
    suspensions: tuple[_Suspended, ...] = ()


def _number(value: object, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise EngineError(field, _("Enter a decimal number."))
    number = Decimal(value)
    if not number.is_finite():
        raise EngineError(field, _("Enter a finite number."))
    if number < 0:
        raise EngineError(field, _("This cannot be negative."))
    return number


def _quantity(value: object, field: str, step: Decimal) -> Decimal:
    return _number(value, field).quantize(step, rounding=ROUND_HALF_UP)


def _required(value: object, field: str) -> object:
    if value is None:
        raise EngineError(field, _("This is needed for the chosen basic charge method."))
    return value


def _normalise(bill: BillInput, prices: Prices, rules: Rules) -> _Checked:
    """Validate the input and bring quantities to their resolution; raises EngineError naming the field."""
    if not 1 <= bill.month <= 12:
        raise EngineError("month", _("Enter a month from 1 to 12."))
    if not 1 <= bill.year <= 9999:
        raise EngineError("year", _("Enter a valid year."))
    for key in bill.energy_kwh:
        if key not in PERIODS:
            raise EngineError(f"energy_kwh.{key}", _("This is not a time-of-use period."))
    for key in prices.energy:
        if key not in PERIODS:
            raise EngineError(f"prices.energy.{key}", _("This is not a time-of-use period."))
    energy_price = {key: _number(value, f"prices.energy.{key}") for key, value in prices.energy.items()}
    energy = {}
    for period in PERIODS:
        kwh = _quantity(bill.energy_kwh.get(period, 0), f"energy_kwh.{period}", _KWH)
        if kwh and period not in energy_price:
            raise EngineError(f"energy_kwh.{period}", _("The tariff has no price for energy in this period."))
        energy[period] = kwh
    if bill.pf_standard not in PF_STANDARDS:
        raise EngineError("pf_standard", _("Choose a power-factor standard."))
    checked = _Checked(
        energy_kwh=energy,
        energy_price=energy_price,
        funds_price=_number(prices.funds_yuan_per_kwh, "prices.funds_yuan_per_kwh"),
        lagging_kvarh=_quantity(bill.lagging_kvarh, "lagging_kvarh", _KWH),
        leading_kvarh=_quantity(bill.leading_kvarh, "leading_kvarh", _KWH),
        pf_standard=bill.pf_standard,
        days_in_month=calendar.monthrange(bill.year, bill.month)[1],
    )
    if not rules.two_part:
        return checked
    for name in ("demand_floor_ratio", "excess_threshold", "excess_multiplier"):
        _number(getattr(rules, name), f"rules.{name}")

    method = bill.basic_charge_method
    if method not in METHODS:
        raise EngineError("basic_charge_method", _("Choose how the basic charge is billed."))
    capacity = None
    if method == "capacity" or method == "contract_demand" or rules.actual_demand_floor:
        capacity = _quantity(_required(bill.capacity_kva, "capacity_kva"), "capacity_kva", _KVA)
    if method == "capacity":
        price = _number(
            _required(prices.capacity_yuan_per_kva_month, "prices.capacity_yuan_per_kva_month"),
            "prices.capacity_yuan_per_kva_month",
        )
        return replace(
            checked,
            method=method,
            basic_price=price,
            capacity_kva=capacity,
            suspensions=_suspensions(bill, capacity, checked.days_in_month),
        )

    price = _number(
        _required(prices.demand_yuan_per_kw_month, "prices.demand_yuan_per_kw_month"), "prices.demand_yuan_per_kw_month"
    )
    if not bill.feeders:
        raise EngineError("feeders", _("Billing by demand needs at least one feeder."))
    max_demand, contract_demand = [], []
    for i, feeder in enumerate(bill.feeders):
        name = f"feeders.{i}.max_demand_kw"
        max_demand.append(_quantity(_required(feeder.max_demand_kw, name), name, _KW))
        if method == "contract_demand":
            name = f"feeders.{i}.contract_demand_kw"
            contract_demand.append(_quantity(_required(feeder.contract_demand_kw, name), name, _KW))
    return replace(
        checked,
        method=method,
        basic_price=price,
        capacity_kva=capacity,
        max_demand_kw=tuple(max_demand),
        contract_demand_kw=tuple(contract_demand),
    )


def _suspensions(bill: BillInput, capacity: Decimal, days_in_month: int) -> tuple[_Suspended, ...]:
    first = date(bill.year, bill.month, 1)
    last = date(bill.year, bill.month, days_in_month)
    overlapping = []
    for i, suspension in enumerate(bill.suspensions):
        kva = _quantity(suspension.kva, f"suspensions.{i}.kva", _KVA)
        if kva > capacity:
            raise EngineError(f"suspensions.{i}.kva", _("More capacity is suspended than is contracted."))
        if suspension.start and suspension.end and suspension.start > suspension.end:
            raise EngineError(f"suspensions.{i}.end", _("The suspension ends before it starts."))
        start = max(suspension.start or first, first)
        end = min(suspension.end or last, last)
        if end >= start:
            days = (end - start).days + 1
            overlapping.append(_Suspended(i, kva, start, end, days, days_in_month))
    return tuple(overlapping)


# --- Pricing -------------------------------------------------------------------------------------------


def _tidy(kw: Decimal) -> Decimal:
    """1050.00000 → 1050.000: products of a threshold and a demand shown at demand resolution when exact."""
    shown = kw.quantize(_KW)
    return shown if shown == kw else kw


def _money(amount: Decimal) -> Decimal:
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def _money_ratio(numerator: Decimal, denominator: int) -> Decimal:
    """numerator / denominator rounded half-up (away from zero) to 0.01, exactly (no intermediate rounding)."""
    top, bottom = (numerator * 100).as_integer_ratio()
    bottom *= denominator
    whole, rest = divmod(abs(top), bottom)
    if 2 * rest >= bottom:
        whole += 1
    return Decimal(whole if top >= 0 else -whole).scaleb(-2)


def _raise_to_floor(values: tuple[Decimal, ...], floor: Decimal) -> tuple[Decimal, ...] | None:
    """The values raised so that their sum reaches `floor` (all 0.001 kW), or None when it already does.

    The shortfall is shared in proportion to the values (equally when all are 0) by rounding the
    cumulative shares to 0.001 kW: each share is within 0.001 of its exact value, none is negative, and
    the shares add up to the shortfall exactly (the last value takes the remainder)."""
    milli = [int(value.scaleb(3)) for value in values]
    shortfall = int(floor.scaleb(3)) - sum(milli)
    if shortfall <= 0:
        return None
    weights = milli if sum(milli) > 0 else [1] * len(milli)
    total = sum(weights)
    raised, cumulative, shared = [], 0, 0
    for value, weight in zip(milli, weights, strict=True):
        cumulative += weight
        upto = (2 * shortfall * cumulative + total) // (2 * total)
        raised.append(Decimal(value + upto - shared).scaleb(-3))
        shared = upto
    return tuple(raised)


def _energy_lines(checked: _Checked) -> list[Line]:
    lines = []
    for period in PERIODS:
        kwh = checked.energy_kwh[period]
        if kwh or period in checked.energy_price:
            price = checked.energy_price[period]
            lines.append(Line(f"energy.{period}", kwh, price, _money(kwh * price), "tou", {"period": period}))
    return lines


def _capacity_lines(checked: _Checked) -> list[Line]:
    price = checked.basic_price
    capacity = checked.capacity_kva
    lines = [Line("basic.capacity", capacity, price, _money(capacity * price), "capacity", {"capacity_kva": capacity})]
    for s in checked.suspensions:
        amount = -_money_ratio(s.kva * price * s.days, s.days_in_month)
        params = {
            "suspension": s.index,
            "kva": s.kva,
            "start": s.start,
            "end": s.end,
            "days": s.days,
            "days_in_month": s.days_in_month,
        }
        lines.append(Line("basic.suspension", -s.kva, price, amount, "suspension_prorated", params))
    return lines


def _floor_kw(checked: _Checked, rules: Rules) -> Decimal:
    return (rules.demand_floor_ratio * checked.capacity_kva).quantize(_KW, rounding=ROUND_HALF_UP)


def _contract_demand_lines(checked: _Checked, rules: Rules) -> list[Line]:
    price = checked.basic_price
    declared = checked.contract_demand_kw
    floor = _floor_kw(checked, rules)
    raised = _raise_to_floor(declared, floor)
    contract = raised or declared
    threshold = rules.excess_threshold
    lines = []
    for i, (contract_kw, max_kw) in enumerate(zip(contract, checked.max_demand_kw, strict=True)):
        params: dict[str, object] = {
            "feeder": i,
            "contract_kw": contract_kw,
            "max_demand_kw": max_kw,
            "threshold": threshold,
        }
        rule = "contract_demand"
        if raised:
            rule = "contract_demand_floor"
            params |= {"declared_kw": declared[i], "floor_kw": floor, "ratio": rules.demand_floor_ratio}
        limit = _tidy(threshold * contract_kw)
        if max_kw > limit:
            params["excess"] = True
            lines.append(Line("basic.contract_demand", limit, price, _money(limit * price), rule, params))
            excess = _tidy(max_kw - limit)
            excess_price = price * rules.excess_multiplier
            excess_params = {
                "feeder": i,
                "contract_kw": contract_kw,
                "max_demand_kw": max_kw,
                "threshold": threshold,
                "multiplier": rules.excess_multiplier,
                "price": price,
            }
            lines.append(
                Line(
                    "basic.demand_excess",
                    excess,
                    excess_price,
                    _money(excess * excess_price),
                    "contract_demand_excess",
                    excess_params,
                )
            )
        else:
            params["excess"] = False
            lines.append(Line("basic.contract_demand", contract_kw, price, _money(contract_kw * price), rule, params))
    return lines


def _actual_demand_lines(checked: _Checked, rules: Rules) -> list[Line]:
    price = checked.basic_price
    actual = checked.max_demand_kw
    raised = None
    if rules.actual_demand_floor:
        floor = _floor_kw(checked, rules)
        raised = _raise_to_floor(actual, floor)
    lines = []
    for i, billed in enumerate(raised or actual):
        params: dict[str, object] = {"feeder": i, "max_demand_kw": actual[i]}
        rule = "actual_demand"
        if raised:
            rule = "actual_demand_floor"
            params |= {"floor_kw": floor, "ratio": rules.demand_floor_ratio}
        lines.append(Line("basic.actual_demand", billed, price, _money(billed * price), rule, params))
    return lines


def compute_bill(bill: BillInput, prices: Prices, rules: Rules) -> Bill:
    """One month's bill: energy by period, basic charge, power-factor adjustment, government funds.

    Every line amount is rounded half-up to 0.01 yuan on its own; the totals are exact sums of lines.
    Raises EngineError naming the input field the bill cannot be priced for."""
    with localcontext(_CONTEXT):
        checked = _normalise(bill, prices, rules)
        energy_lines = _energy_lines(checked)
        if checked.method == "capacity":
            basic_lines = _capacity_lines(checked)
        elif checked.method == "contract_demand":
            basic_lines = _contract_demand_lines(checked, rules)
        elif checked.method == "actual_demand":
            basic_lines = _actual_demand_lines(checked, rules)
        else:
            basic_lines = []
        energy_charge = sum((line.amount for line in energy_lines), ZERO)
        basic_charge = sum((line.amount for line in basic_lines), ZERO)

        total_kwh = sum(checked.energy_kwh.values(), ZERO)
        funds_lines = []
        if checked.funds_price:
            amount = _money(total_kwh * checked.funds_price)
            funds_lines.append(Line("funds", total_kwh, checked.funds_price, amount, "funds", {}))
        funds = sum((line.amount for line in funds_lines), ZERO)

        counted = checked.lagging_kvarh + (checked.leading_kvarh if rules.pf_counts_leading else 0)
        cos_phi = power_factor(total_kwh, counted)
        percent, pf_lines = ZERO, []
        if cos_phi is not None and checked.pf_standard != "none":
            percent = pf_adjustment_percent(checked.pf_standard, cos_phi)
            base = basic_charge + energy_charge + (funds if rules.pf_base_includes_funds else 0)
            params = {
                "standard": checked.pf_standard,
                "cos_phi": cos_phi,
                "percent": percent,
                "active_kwh": total_kwh,
                "kvarh": counted,
                "kvarh_counted": "lagging_and_leading" if rules.pf_counts_leading else "lagging",
                "lagging_kvarh": checked.lagging_kvarh,
                "leading_kvarh": checked.leading_kvarh,
                "includes_funds": rules.pf_base_includes_funds,
            }
            rate = percent.scaleb(-2)
            pf_lines.append(Line("pf_adjustment", base, rate, _money(base * rate), "pf_table", params))
        pf_amount = sum((line.amount for line in pf_lines), ZERO)

        lines = (*energy_lines, *basic_lines, *pf_lines, *funds_lines)
        return Bill(
            lines=lines,
            energy_charge=energy_charge,
            basic_charge=basic_charge,
            power_factor=cos_phi,
            pf_adjustment_percent=percent,
            pf_adjustment=pf_amount,
            government_funds=funds,
            total=sum((line.amount for line in lines), ZERO),
        )


# --- Explaining a line ---------------------------------------------------------------------------------

_PERIOD_NAMES = {
    "sharp": _("Sharp-peak"),
    "peak": _("Peak"),
    "flat": _("Flat"),
    "valley": _("Valley"),
    "deep_valley": _("Deep-valley"),
}


def _percent(ratio: object) -> str:
    """1.05 → "105", 0.40 → "40"."""
    return format((Decimal(ratio) * 100).normalize(), "f")


def describe(line: Line) -> str:
    """A translated explanation of the rule applied to one line, with its figures."""
    p = line.params
    v: dict[str, object] = {"quantity": line.quantity, "price": line.unit_price, "amount": line.amount}
    if "feeder" in p:
        v["feeder"] = int(p["feeder"]) + 1  # people count feeders from 1
    rule = line.rule
    if rule == "tou":
        v["period"] = _PERIOD_NAMES[p["period"]]
        return gettext("%(period)s energy: %(quantity)s kWh at %(price)s yuan/kWh.") % v
    if rule == "capacity":
        return gettext("By capacity: %(quantity)s kVA of contracted capacity at %(price)s yuan/kVA per month.") % v
    if rule == "suspension_prorated":
        v |= {"kva": p["kva"], "days": p["days"], "days_in_month": p["days_in_month"]}
        return (
            gettext(
                "Suspended capacity deducted: %(kva)s kVA for %(days)s of %(days_in_month)s days "
                "at %(price)s yuan/kVA per month."
            )
            % v
        )
    if rule in ("contract_demand", "contract_demand_floor"):
        v |= {"max_demand": p["max_demand_kw"], "contract": p["contract_kw"], "threshold": _percent(p["threshold"])}
        if p.get("excess"):
            text = gettext(
                "By contract demand, feeder %(feeder)s: the maximum demand of %(max_demand)s kW exceeds "
                "%(threshold)s%% of the contract demand of %(contract)s kW, so %(quantity)s kW is charged "
                "at %(price)s yuan/kW per month."
            )
        else:
            text = gettext(
                "By contract demand, feeder %(feeder)s: %(quantity)s kW at %(price)s yuan/kW per month "
                "(maximum demand %(max_demand)s kW, within %(threshold)s%%)."
            )
        if rule == "contract_demand_floor":
            v |= {"declared": p["declared_kw"], "floor": p["floor_kw"], "ratio": _percent(p["ratio"])}
            text += " " + gettext(
                "The declared contract demand (%(declared)s kW here) was raised because the declared total is "
                "below %(ratio)s%% of the contracted capacity, %(floor)s kW."
            )
        return text % v
    if rule == "contract_demand_excess":
        v |= {
            "threshold": _percent(p["threshold"]),
            "multiplier": format(Decimal(p["multiplier"]).normalize(), "f"),
            "base_price": p["price"],
        }
        return (
            gettext(
                "Maximum demand above %(threshold)s%% of the contract demand, feeder %(feeder)s: %(quantity)s kW "
                "at %(multiplier)s × %(base_price)s yuan/kW per month."
            )
            % v
        )
    if rule == "actual_demand":
        return gettext("By actual demand, feeder %(feeder)s: %(quantity)s kW at %(price)s yuan/kW per month.") % v
    if rule == "actual_demand_floor":
        v |= {"max_demand": p["max_demand_kw"], "floor": p["floor_kw"], "ratio": _percent(p["ratio"])}
        return (
            gettext(
                "By actual demand, feeder %(feeder)s: %(quantity)s kW at %(price)s yuan/kW per month; the "
                "maximum demand of %(max_demand)s kW was raised because the total is below %(ratio)s%% of the "
                "contracted capacity, %(floor)s kW."
            )
            % v
        )
    if rule == "pf_table":
        v |= {
            "cos_phi": p["cos_phi"],
            "standard": p["standard"],
            "percent": abs(p["percent"]),
            "base": line.quantity,
            "kvarh": p["kvarh"],
        }
        if p["percent"] < 0:
            text = gettext(
                "Power factor %(cos_phi)s is better than the standard %(standard)s: the charges of %(base)s yuan "
                "are reduced by %(percent)s%%."
            )
        elif p["percent"] > 0:
            text = gettext(
                "Power factor %(cos_phi)s is below the standard %(standard)s: the charges of %(base)s yuan "
                "carry a surcharge of %(percent)s%%."
            )
        else:
            text = gettext("Power factor %(cos_phi)s meets the standard %(standard)s: no adjustment.")
        if p["kvarh_counted"] == "lagging_and_leading":
            text += " " + gettext("Reactive energy counted: %(kvarh)s kvarh, lagging and leading.")
        else:
            text += " " + gettext("Reactive energy counted: %(kvarh)s kvarh, lagging only.")
        return text % v
    if rule == "funds":
        return gettext("Government funds: %(quantity)s kWh at %(price)s yuan/kWh.") % v
    raise ValueError(f"no description for rule {rule!r}")
