"""Cost advisor for one electricity account: what the customer could change to pay less, and how much.

Pure domain code over plain data (no ORM). Input: the last 12 months of monthly quantities, the account's
current terms, the tariff's prices and rules. Output: the 12 bills under the current terms and a list of
recommendations ranked by yuan per year, each with its calculation as short sentences and a month table.

Every money figure comes from re-pricing the 12 bills through ``engine.compute_bill`` with changed inputs,
never from a shortcut formula, so the advice always agrees with the bills. Formulas appear only where the
advisor has to *choose* an input (a contract demand, a capacitor size, a capacity to give up).
The advice looks back: it assumes the coming 12 months repeat the past 12.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from gridkam.tariffs.engine import Bill, BillInput, EngineError, Feeder, Prices, Rules, Suspension, compute_bill

CENT = Decimal("0.01")
KW_STEP = Decimal("0.001")  # the engine keeps demand to 0.001 kW
CAPACITY_STEP_KVA = Decimal("10")  # capacity is given up in 10 kVA steps
MONTHS = 12
DEMAND_METHODS = ("contract_demand", "actual_demand")
PEAK_PERIODS = ("sharp", "peak")
OFF_PEAK_PERIODS = ("valley", "deep_valley")


class AdvisorError(ValueError):
    """Input the advisor cannot work from; ``message`` is a translated sentence for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class MonthQuantities:
    """One month of metered quantities: kWh per time-of-use period, kvarh, and the month's maximum demand (kW)."""

    year: int
    month: int
    energy_kwh: Mapping[str, Decimal]
    lagging_kvarh: Decimal
    leading_kvarh: Decimal
    max_demand_kw: Decimal | None


@dataclass(frozen=True)
class AccountTerms:
    """The account's current supply terms: contracted capacity (kVA), basic charge method, contract demand (kW)."""

    capacity_kva: Decimal
    basic_charge_method: str
    contract_demand_kw: Decimal | None
    pf_standard: str


@dataclass(frozen=True)
class AdvisorSettings:
    """Assumptions of the advice; the UI shows these defaults and lets the user change them."""

    target_power_factor: Decimal = Decimal("0.95")
    capacitor_yuan_per_kvar: Decimal = Decimal("120")  # installed cost, illustrative
    capacitor_step_kvar: Decimal = Decimal("50")
    shift_percent: Decimal = Decimal("10")
    capacity_margin: Decimal = Decimal("0.20")  # headroom kept above the peak kVA when judging idle capacity
    max_suspension_months: int = 6


DEFAULT_SETTINGS = AdvisorSettings()


@dataclass(frozen=True)
class Table:
    """Month-level figures behind a recommendation, for the page and the Excel export."""

    columns: list[str]
    rows: list[list[str | Decimal | int]]


@dataclass(frozen=True)
class Recommendation:
    kind: str  # basic_method, contract_demand, capacitor, load_shift, capacity
    title: str
    saving_yuan_per_year: Decimal
    summary: str
    steps: list[str]
    table: Table | None
    risk: str | None
    # The chosen values as flat scalars (e.g. contract_demand_kw, kvar), for the API and for a form that turns
    # advice into a request; month-level values are in the table.
    figures: Mapping[str, Decimal | int | str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Baseline:
    """The 12 bills under the current terms, oldest first."""

    months: list[str]  # "2025-03"
    inputs: list[BillInput]
    bills: list[Bill]
    total_yuan: Decimal


@dataclass(frozen=True)
class Advice:
    baseline: Baseline
    recommendations: list[Recommendation]  # highest saving first
    notes: list[str]


# --- formatting -------------------------------------------------------------------------------------------------


def _money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _yuan(value: Decimal) -> str:
    return format(_money(value), ",.2f")


def _num(value: Decimal | int) -> str:
    """A quantity without trailing zeros, with thousands separators: 1,250 / 22.6 / 0.3287."""
    return format(Decimal(value).normalize(), ",f")


def _ceil(value: Decimal, step: Decimal = Decimal("1")) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def _floor(value: Decimal, step: Decimal = Decimal("1")) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def _method_label(method: str) -> str:
    return {
        "capacity": _("by capacity"),
        "contract_demand": _("by contract demand"),
        "actual_demand": _("by actual demand"),
    }[method]


def _period_label(period: str) -> str:
    return {
        "sharp": _("sharp peak"),
        "peak": _("peak"),
        "flat": _("flat"),
        "valley": _("valley"),
        "deep_valley": _("deep valley"),
    }[period]


def _yes_no(flag: bool) -> str:
    return _("yes") if flag else _("no")


# --- re-pricing -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scenario:
    """Changed inputs for the 12 months; None keeps the metered value."""

    capacity_kva: Decimal
    suspended_kva: tuple[Decimal, ...] = (Decimal("0"),) * MONTHS
    energy_kwh: tuple[Mapping[str, Decimal], ...] | None = None
    lagging_kvarh: tuple[Decimal, ...] | None = None


@dataclass(frozen=True)
class _Priced:
    """One basic-charge method priced over a scenario (contract demand at its best value)."""

    method: str
    contract_kw: Decimal | None
    bills: list[Bill]
    total: Decimal
    candidates: list[tuple[Decimal, Decimal]] = field(default_factory=list)  # (contract kW, annual total)


class _Account:
    def __init__(self, months: list[MonthQuantities], terms: AccountTerms, prices: Prices, rules: Rules):
        self.months = months
        self.terms = terms
        self.prices = prices
        self.rules = rules
        self.labels = [f"{m.year}-{m.month:02d}" for m in months]
        self.has_demand = all(m.max_demand_kw is not None for m in months)

    def base_scenario(self) -> _Scenario:
        return _Scenario(capacity_kva=self.terms.capacity_kva)

    def available_methods(self) -> list[str]:
        if not self.rules.two_part:
            return []
        methods = []
        if self.prices.capacity_yuan_per_kva_month is not None:
            methods.append("capacity")
        if self.prices.demand_yuan_per_kw_month is not None and self.has_demand:
            # Actual demand before contract demand: on equal money it needs no declaration and has no excess.
            methods += ["actual_demand", "contract_demand"]
        return methods

    def bill_input(self, i: int, scenario: _Scenario, method: str | None, contract_kw: Decimal | None) -> BillInput:
        m = self.months[i]
        energy = scenario.energy_kwh[i] if scenario.energy_kwh is not None else m.energy_kwh
        lagging = scenario.lagging_kvarh[i] if scenario.lagging_kvarh is not None else m.lagging_kvarh
        common = {
            "year": m.year,
            "month": m.month,
            "energy_kwh": energy,
            "lagging_kvarh": lagging,
            "leading_kvarh": m.leading_kvarh,
            "pf_standard": self.terms.pf_standard,
        }
        if not self.rules.two_part:
            return BillInput(**common)
        feeders: tuple[Feeder, ...] = ()
        if m.max_demand_kw is not None or method in DEMAND_METHODS:
            contract = contract_kw if method == "contract_demand" else None
            feeders = (Feeder(max_demand_kw=m.max_demand_kw, contract_demand_kw=contract),)
        suspended = scenario.suspended_kva[i]
        return BillInput(
            **common,
            capacity_kva=scenario.capacity_kva,
            basic_charge_method=method,
            feeders=feeders,
            suspensions=(Suspension(kva=suspended),) if suspended > 0 else (),
        )

    def bills(
        self, scenario: _Scenario, method: str | None, contract_kw: Decimal | None = None, only: Sequence[int] = ()
    ) -> list[Bill]:
        indexes = only or range(MONTHS)
        return [
            compute_bill(self.bill_input(i, scenario, method, contract_kw), self.prices, self.rules) for i in indexes
        ]

    # Contract demand -------------------------------------------------------------------------------------------

    def demand_floor_kw(self, scenario: _Scenario) -> Decimal:
        """The 40 % floor as the engine applies it: the ratio times the contracted capacity (suspensions aside)."""
        return (self.rules.demand_floor_ratio * scenario.capacity_kva).quantize(KW_STEP, rounding=ROUND_HALF_UP)

    def contract_candidates(self, scenario: _Scenario, only: Sequence[int]) -> list[Decimal]:
        """Where the annual cost, piecewise linear in the contract demand C, can have its minimum.

        Each month's charge falls with C while the demand exceeds 105 % of C and rises once it does not, so
        the total is convex and linear between the breakpoints D / 1.05, the 40 % floor and the capacity.
        Declared values are whole kW, so the cheapest one is the floor or the ceiling of a breakpoint (the
        floor can win for small demands: below the breakpoint the charge falls 1.05 times as fast as it
        rises above it), or a bound. Values below the 40 % floor cost the floor.
        """
        top = scenario.capacity_kva
        bottom = self.demand_floor_kw(scenario)
        values = {bottom, top}
        for i in only:
            breakpoint_kw = self.months[i].max_demand_kw / self.rules.excess_threshold
            for whole in (_floor(breakpoint_kw), _ceil(breakpoint_kw)):
                values.add(min(max(whole, bottom), top))
        return sorted(values)

    def best_contract(self, scenario: _Scenario, only: Sequence[int] = ()) -> _Priced:
        evaluated = []
        for candidate in self.contract_candidates(scenario, only or range(MONTHS)):
            bills = self.bills(scenario, "contract_demand", candidate, only)
            evaluated.append((candidate, bills, _sum(bills)))
        # On a tie the larger value wins: same money, fewer months over 105 %.
        kw, bills, total = min(evaluated, key=lambda item: (item[2], -item[0]))
        return _Priced("contract_demand", kw, bills, total, [(c, t) for c, _b, t in evaluated])

    def price_method(self, scenario: _Scenario, method: str) -> _Priced:
        if method == "contract_demand":
            return self.best_contract(scenario)
        bills = self.bills(scenario, method)
        return _Priced(method, None, bills, _sum(bills))

    def price_all(self, scenario: _Scenario) -> dict[str, _Priced]:
        return {method: self.price_method(scenario, method) for method in self.available_methods()}

    # Quantities ------------------------------------------------------------------------------------------------

    def energy_total(self, i: int, energy: Mapping[str, Decimal] | None = None) -> Decimal:
        return sum((energy or self.months[i].energy_kwh).values(), Decimal("0"))

    def counted_kvarh(self, i: int) -> Decimal:
        m = self.months[i]
        return m.lagging_kvarh + (m.leading_kvarh if self.rules.pf_counts_leading else Decimal("0"))

    def average_kw(self, i: int) -> Decimal:
        m = self.months[i]
        hours = calendar.monthrange(m.year, m.month)[1] * 24
        return (self.energy_total(i) / hours).quantize(KW_STEP, rounding=ROUND_HALF_UP)


def _sum(bills: Sequence[Bill]) -> Decimal:
    return sum((bill.total for bill in bills), Decimal("0"))


def _excess_yuan(bill: Bill) -> Decimal:
    return sum((line.amount for line in bill.lines if line.item == "basic.demand_excess"), Decimal("0"))


def _cheapest(priced: Mapping[str, _Priced], prefer: str | None = None) -> _Priced:
    # Ties keep the preferred (current) method: no change for no money.
    return min(priced.values(), key=lambda p: (p.total, p.method != prefer))


# --- validation -------------------------------------------------------------------------------------------------


def _checked_months(months: Sequence[MonthQuantities]) -> list[MonthQuantities]:
    if len(months) != MONTHS:
        raise AdvisorError(
            _("The advice needs exactly 12 months of quantities; %(count)d were given.") % {"count": len(months)}
        )
    for m in months:
        if not 1 <= m.month <= 12:
            raise AdvisorError(_("Month %(month)s is not a calendar month.") % {"month": m.month})
    ordered = sorted(months, key=lambda m: (m.year, m.month))
    keys = [m.year * 12 + m.month - 1 for m in ordered]
    if len(set(keys)) != MONTHS:
        raise AdvisorError(_("The 12 months must be distinct; a month is given twice."))
    if keys[-1] - keys[0] != MONTHS - 1:
        raise AdvisorError(_("The 12 months must be consecutive, with no gap."))
    return ordered


def _baseline(account: _Account) -> Baseline:
    terms, rules = account.terms, account.rules
    method = terms.basic_charge_method if rules.two_part else None
    if rules.two_part:
        if method not in ("capacity", *DEMAND_METHODS):
            raise AdvisorError(_("Unknown basic charge method: %(method)s.") % {"method": method})
        if method in DEMAND_METHODS and not account.has_demand:
            missing = [
                label for label, m in zip(account.labels, account.months, strict=True) if m.max_demand_kw is None
            ]
            raise AdvisorError(
                _("The account is billed %(method)s, but the maximum demand is missing for %(months)s.")
                % {"method": _method_label(method), "months": ", ".join(missing)}
            )
        if method == "contract_demand" and terms.contract_demand_kw is None:
            raise AdvisorError(_("The account is billed by contract demand, but no contract demand is given."))
    scenario = account.base_scenario()
    inputs, bills = [], []
    for i, label in enumerate(account.labels):
        bill_input = account.bill_input(i, scenario, method, terms.contract_demand_kw)
        try:
            bills.append(compute_bill(bill_input, account.prices, rules))
        except EngineError as error:
            raise AdvisorError(
                _("%(month)s cannot be priced (%(field)s): %(error)s")
                % {"month": label, "field": error.field, "error": error.message}
            ) from error
        inputs.append(bill_input)
    return Baseline(months=list(account.labels), inputs=inputs, bills=bills, total_yuan=_sum(bills))


# --- the advice -------------------------------------------------------------------------------------------------


def advise(
    months: Sequence[MonthQuantities],
    terms: AccountTerms,
    prices: Prices,
    rules: Rules,
    settings: AdvisorSettings = DEFAULT_SETTINGS,
) -> Advice:
    """Price the 12 months as billed, then each change the customer could make; rank the changes that pay."""
    account = _Account(_checked_months(months), terms, prices, rules)
    baseline = _baseline(account)
    notes: list[str] = []
    recommendations: list[Recommendation] = []

    builders = [_capacitor, _load_shift]
    if not rules.two_part:
        notes.append(_("Single-part tariff: only the power factor and the load shift are assessed."))
    elif not account.has_demand:
        missing = [label for label, m in zip(account.labels, account.months, strict=True) if m.max_demand_kw is None]
        notes.append(
            _(
                "The maximum demand is missing for %(months)s: billing by demand, the contract demand and idle "
                "capacity are not assessed."
            )
            % {"months": ", ".join(missing)}
        )
        builders.insert(0, _basic_method)
    else:
        builders = [_basic_method, _contract_demand, *builders, _capacity]

    for builder in builders:
        try:
            recommendations += builder(account, baseline, settings, notes)
        except EngineError as error:
            notes.append(_("An option could not be priced: %(error)s") % {"error": error.message})

    shown = [r for r in recommendations if r.saving_yuan_per_year > 0 or r.kind == "contract_demand"]
    shown.sort(key=lambda r: r.saving_yuan_per_year, reverse=True)
    if len([r for r in shown if r.saving_yuan_per_year > 0]) > 1:
        notes.append(
            _(
                "The options overlap (a method change, the contract demand, a capacity change), so their savings "
                "do not simply add up. Each is measured against the current bills, except the idle capacity's, "
                "which comes on top of the cheapest method."
            )
        )
    return Advice(baseline=baseline, recommendations=shown, notes=notes)


# --- 1. basic charge method -------------------------------------------------------------------------------------


def _method_step(account: _Account, priced: _Priced) -> str:
    prices = account.prices
    basic = sum((bill.basic_charge for bill in priced.bills), Decimal("0"))
    if priced.method == "capacity":
        return _(
            "By capacity: %(kva)s kVA × %(price)s 元 × 12 months = %(basic)s 元 basic charge; 12 bills %(total)s 元."
        ) % {
            "kva": _num(account.terms.capacity_kva),
            "price": _num(prices.capacity_yuan_per_kva_month),
            "basic": _yuan(basic),
            "total": _yuan(priced.total),
        }
    if priced.method == "actual_demand":
        floor = account.demand_floor_kw(account.base_scenario()) if account.rules.actual_demand_floor else 0
        billed = sum((max(m.max_demand_kw, floor) for m in account.months), Decimal("0"))
        return _(
            "By actual demand: %(kw)s kW (the 12 monthly maxima added) × %(price)s 元 = %(basic)s 元 basic charge; "
            "12 bills %(total)s 元."
        ) % {
            "kw": _num(billed),
            "price": _num(prices.demand_yuan_per_kw_month),
            "basic": _yuan(basic),
            "total": _yuan(priced.total),
        }
    excess = sum((_excess_yuan(bill) for bill in priced.bills), Decimal("0"))
    return _(
        "By contract demand at %(kw)s kW: %(kw)s kW × %(price)s 元 × 12 months + %(excess)s 元 over 105 %% "
        "= %(basic)s 元 basic charge; 12 bills %(total)s 元."
    ) % {
        "kw": _num(priced.contract_kw),
        "price": _num(prices.demand_yuan_per_kw_month),
        "excess": _yuan(excess),
        "basic": _yuan(basic),
        "total": _yuan(priced.total),
    }


def _basic_method(account: _Account, baseline: Baseline, settings: AdvisorSettings, notes: list[str]):
    current = account.terms.basic_charge_method
    priced = account.price_all(account.base_scenario())
    if not priced or set(priced) == {current}:
        return []
    best = _cheapest(priced, prefer=current)
    if best.method == current:
        # A better contract demand under the same method is the contract-demand recommendation's business.
        notes.append(
            _("The current basic charge method (%(method)s) is the cheapest.") % {"method": _method_label(current)}
        )
        return []
    saving = baseline.total_yuan - best.total
    steps = [_method_step(account, p) for p in priced.values()]
    steps.append(
        _("Now (%(method)s): 12 bills %(now)s 元; %(best)s: %(total)s 元; saving %(now)s − %(total)s = %(saving)s 元.")
        % {
            "method": _method_label(current),
            "now": _yuan(baseline.total_yuan),
            "best": _method_label(best.method),
            "total": _yuan(best.total),
            "saving": _yuan(saving),
        }
    )
    methods = list(priced)
    monthly_best = Decimal("0")
    rows: list[list[str | Decimal | int]] = []
    for i, label in enumerate(account.labels):
        month_bills = {method: priced[method].bills[i].total for method in methods}
        cheapest = min(methods, key=lambda method: (month_bills[method], method != current))
        monthly_best += month_bills[cheapest]
        demand = account.months[i].max_demand_kw
        row: list[str | Decimal | int] = [label, demand if demand is not None else ""]
        row += [baseline.bills[i].total, *(month_bills[method] for method in methods), _method_label(cheapest)]
        rows.append(row)
    steps.append(
        _(
            "Choosing the cheapest method month by month (allowed monthly since 2018) would have cost %(total)s 元, "
            "in hindsight."
        )
        % {"total": _yuan(monthly_best)}
    )
    columns = [_("Month"), _("Max demand (kW)"), _("Bill now (元)")]
    for method in methods:
        if method == "contract_demand":
            columns.append(_("Bill by contract demand %(kw)s kW (元)") % {"kw": _num(priced[method].contract_kw)})
        else:
            columns.append(_("Bill %(method)s (元)") % {"method": _method_label(method)})
    columns.append(_("Cheapest this month"))
    return [
        Recommendation(
            kind="basic_method",
            title=_("Pay the basic charge %(method)s") % {"method": _method_label(best.method)},
            saving_yuan_per_year=saving,
            summary=_(
                "Billed %(best)s instead of %(current)s, the last 12 months would have cost %(total)s 元 instead "
                "of %(now)s 元: %(saving)s 元 a year less."
            )
            % {
                "best": _method_label(best.method),
                "current": _method_label(current),
                "total": _yuan(best.total),
                "now": _yuan(baseline.total_yuan),
                "saving": _yuan(saving),
            },
            steps=steps,
            table=Table(columns=columns, rows=rows),
            risk=None,
            figures={"method": best.method, "contract_demand_kw": best.contract_kw, "monthly_best_yuan": monthly_best},
        )
    ]


# --- 2. contract demand -----------------------------------------------------------------------------------------


def _contract_demand(account: _Account, baseline: Baseline, settings: AdvisorSettings, notes: list[str]):
    if "contract_demand" not in account.available_methods():
        return []
    scenario = account.base_scenario()
    threshold = account.rules.excess_threshold
    best = account.best_contract(scenario)
    demands = [m.max_demand_kw for m in account.months]

    bottom = account.demand_floor_kw(scenario)
    limit_kw = (threshold * max(best.contract_kw, bottom)).quantize(KW_STEP, rounding=ROUND_HALF_UP)
    over_kw = [max(Decimal("0"), d - limit_kw) for d in demands]
    excess = [_excess_yuan(bill) for bill in best.bills]
    months_over = sum(1 for kw in over_kw if kw > 0)

    safe_kw = min(max(_ceil(max(demands) / threshold), bottom), scenario.capacity_kva)
    safe_total = (
        best.total if safe_kw == best.contract_kw else _sum(account.bills(scenario, "contract_demand", safe_kw))
    )

    monthly = [account.best_contract(scenario, only=[i]) for i in range(MONTHS)]
    monthly_total = sum((p.total for p in monthly), Decimal("0"))

    current = account.terms.basic_charge_method
    difference = baseline.total_yuan - best.total
    saving = max(difference, Decimal("0"))
    if current == "contract_demand":
        now_text = _("now %(kw)s kW") % {"kw": _num(account.terms.contract_demand_kw)}
    else:
        now_text = _("now billed %(method)s") % {"method": _method_label(current)}
    if difference > 0:
        summary = _(
            "Declare %(kw)s kW (%(now)s): the last 12 months would have cost %(total)s 元, %(saving)s 元 less."
        ) % {"kw": _num(best.contract_kw), "now": now_text, "total": _yuan(best.total), "saving": _yuan(difference)}
    else:
        summary = _(
            "The best contract demand is %(kw)s kW (%(now)s); the 12 bills would be %(total)s 元, %(more)s 元 more "
            "than now: no saving."
        ) % {"kw": _num(best.contract_kw), "now": now_text, "total": _yuan(best.total), "more": _yuan(-difference)}

    steps = [
        _(
            "The annual cost is piecewise linear in the contract demand, so only these values need pricing: each "
            "month's maximum demand ÷ %(threshold)s rounded up to whole kW, the %(ratio)s %% floor (%(floor)s kW) "
            "and the capacity (%(capacity)s kW)."
        )
        % {
            "threshold": _num(threshold),
            "ratio": _num(account.rules.demand_floor_ratio * 100),
            "floor": _num(bottom),
            "capacity": _num(scenario.capacity_kva),
        }
    ]
    steps += [
        _("%(kw)s kW: 12 bills %(total)s 元.") % {"kw": _num(kw), "total": _yuan(total)}
        for kw, total in best.candidates
    ]
    contract_basic = sum((bill.basic_charge for bill in best.bills), Decimal("0")) - sum(excess, Decimal("0"))
    steps.append(
        _(
            "Cheapest: %(kw)s kW, basic charge %(basic)s 元 plus %(excess)s 元 charged double over 105 %%; "
            "12 bills %(total)s 元 against %(now)s 元 now."
        )
        % {
            "kw": _num(best.contract_kw),
            "basic": _yuan(contract_basic),
            "excess": _yuan(sum(excess, Decimal("0"))),
            "total": _yuan(best.total),
            "now": _yuan(baseline.total_yuan),
        }
    )
    steps.append(
        _(
            "Safe value with no month over 105 %%: %(max)s kW ÷ %(threshold)s → %(safe)s kW, 12 bills %(total)s 元, "
            "%(diff)s 元 more than %(kw)s kW."
        )
        % {
            "max": _num(max(demands)),
            "threshold": _num(threshold),
            "safe": _num(safe_kw),
            "total": _yuan(safe_total),
            "diff": _yuan(safe_total - best.total),
            "kw": _num(best.contract_kw),
        }
    )
    steps.append(
        _(
            "Declared month by month at each month's best value (allowed since 2018, in hindsight): 12 bills "
            "%(total)s 元, %(diff)s 元 less than one value for the year."
        )
        % {"total": _yuan(monthly_total), "diff": _yuan(best.total - monthly_total)}
    )

    if months_over:
        worst = max(range(MONTHS), key=lambda i: (over_kw[i], -i))
        risk = _(
            "At %(kw)s kW, %(count)d of the 12 months would have exceeded 105 %%; the largest excess was %(over)s kW "
            "in %(month)s (%(yuan)s 元 charged double). Declaring %(safe)s kW avoids any excess for %(diff)s 元 more."
        ) % {
            "kw": _num(best.contract_kw),
            "count": months_over,
            "over": _num(over_kw[worst]),
            "month": account.labels[worst],
            "yuan": _yuan(excess[worst]),
            "safe": _num(safe_kw),
            "diff": _yuan(safe_total - best.total),
        }
    else:
        risk = _("At %(kw)s kW no month of the last 12 would have exceeded 105 %% (%(limit)s kW).") % {
            "kw": _num(best.contract_kw),
            "limit": _num(limit_kw),
        }

    rows: list[list[str | Decimal | int]] = []
    for i, label in enumerate(account.labels):
        rows.append(
            [
                label,
                demands[i],
                limit_kw,
                _yes_no(over_kw[i] > 0),
                over_kw[i],
                excess[i],
                baseline.bills[i].total,
                best.bills[i].total,
                monthly[i].contract_kw,
                monthly[i].total,
            ]
        )
    columns = [
        _("Month"),
        _("Max demand (kW)"),
        _("105 %% limit (kW)") % {},
        _("Over 105 %%") % {},
        _("kW over 105 %%") % {},
        _("Excess charge (元)"),
        _("Bill now (元)"),
        _("Bill at %(kw)s kW (元)") % {"kw": _num(best.contract_kw)},
        _("Best contract demand this month (kW)"),
        _("Bill at the month's best value (元)"),
    ]
    return [
        Recommendation(
            kind="contract_demand",
            title=_("Contract demand for the coming months: %(kw)s kW") % {"kw": _num(best.contract_kw)},
            saving_yuan_per_year=saving,
            summary=summary,
            steps=steps,
            table=Table(columns=columns, rows=rows),
            risk=risk,
            figures={
                "contract_demand_kw": best.contract_kw,
                "total_yuan": best.total,
                "months_over": months_over,
                "largest_excess_kw": max(over_kw),
                "safe_contract_demand_kw": safe_kw,
                "safe_total_yuan": safe_total,
                "monthly_total_yuan": monthly_total,
            },
        )
    ]


# --- 3. capacitor -----------------------------------------------------------------------------------------------


def _capacitor(account: _Account, baseline: Baseline, settings: AdvisorSettings, notes: list[str]):
    if account.terms.pf_standard == "none":
        return []
    target = settings.target_power_factor
    # Rounded down, so that kvarh cut to kWh × tan φ give at least the target after the engine's rounding.
    tan_target = ((1 - target * target).sqrt() / target).quantize(Decimal("0.0001"), rounding=ROUND_FLOOR)
    below = [
        i
        for i, bill in enumerate(baseline.bills)
        if bill.power_factor is not None and bill.power_factor < target and account.energy_total(i) > 0
    ]
    if not below:
        return []

    need: dict[int, Decimal] = {}
    load: dict[int, Decimal] = {}
    tan_now: dict[int, Decimal] = {}
    for i in below:
        demand = account.months[i].max_demand_kw
        load[i] = demand if demand is not None else account.average_kw(i)
        tan_now[i] = (account.counted_kvarh(i) / account.energy_total(i)).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )
        need[i] = max(Decimal("0"), load[i] * (tan_now[i] - tan_target))
    worst = max(below, key=lambda i: (need[i], -i))
    kvar = max(_ceil(need[worst], settings.capacitor_step_kvar), settings.capacitor_step_kvar)

    # The bank is assumed to hold the monthly power factor at the target: lagging kvarh cut to kWh × tan φ.
    lagging = []
    for i, m in enumerate(account.months):
        leading = m.leading_kvarh if account.rules.pf_counts_leading else Decimal("0")
        allowed = max(Decimal("0"), (account.energy_total(i) * tan_target - leading).quantize(CENT, ROUND_FLOOR))
        lagging.append(min(m.lagging_kvarh, allowed))
    scenario = _Scenario(capacity_kva=account.terms.capacity_kva, lagging_kvarh=tuple(lagging))
    method = account.terms.basic_charge_method if account.rules.two_part else None
    after = account.bills(scenario, method, account.terms.contract_demand_kw)
    after_total = _sum(after)
    saving = baseline.total_yuan - after_total
    if saving <= 0:
        return []
    cost = _money(kvar * settings.capacitor_yuan_per_kvar)
    payback = (cost / saving).quantize(CENT, rounding=ROUND_HALF_UP)
    lowest = min(below, key=lambda i: (baseline.bills[i].power_factor, i))
    used_average = account.months[worst].max_demand_kw is None

    steps = [
        _("Target cos φ %(target)s: tan φ = %(tan)s.") % {"target": _num(target), "tan": _num(tan_target)},
        _("%(count)d of the 12 months are below the target; the lowest is cos φ %(pf)s in %(month)s.")
        % {"count": len(below), "pf": _num(baseline.bills[lowest].power_factor), "month": account.labels[lowest]},
        (
            _(
                "Largest need in %(month)s: %(kw)s kW (average load; no maximum demand) × (%(tan)s − %(target)s) "
                "= %(need)s kvar, in steps of %(step)s kvar: %(kvar)s kvar."
            )
            if used_average
            else _(
                "Largest need in %(month)s: %(kw)s kW × (%(tan)s − %(target)s) = %(need)s kvar, in steps of "
                "%(step)s kvar: %(kvar)s kvar."
            )
        )
        % {
            "month": account.labels[worst],
            "kw": _num(load[worst]),
            "tan": _num(tan_now[worst]),
            "target": _num(tan_target),
            "need": _num(need[worst].quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)),
            "step": _num(settings.capacitor_step_kvar),
            "kvar": _num(kvar),
        },
        _("12 bills now %(now)s 元 − 12 bills at cos φ %(target)s %(after)s 元 = %(saving)s 元 a year.")
        % {
            "now": _yuan(baseline.total_yuan),
            "target": _num(target),
            "after": _yuan(after_total),
            "saving": _yuan(saving),
        },
        _("Installed cost %(kvar)s kvar × %(price)s 元 = %(cost)s 元; payback %(cost)s ÷ %(saving)s = %(years)s years.")
        % {
            "kvar": _num(kvar),
            "price": _num(settings.capacitor_yuan_per_kvar),
            "cost": _yuan(cost),
            "saving": _yuan(saving),
            "years": _num(payback),
        },
    ]
    rows: list[list[str | Decimal | int]] = []
    for i, label in enumerate(account.labels):
        now, later = baseline.bills[i], after[i]
        rows.append(
            [
                label,
                account.energy_total(i),
                account.counted_kvarh(i),
                now.power_factor if now.power_factor is not None else "",
                now.pf_adjustment_percent,
                load.get(i, ""),
                (need[i].quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if i in need else ""),
                later.power_factor if later.power_factor is not None else "",
                later.pf_adjustment_percent,
                now.total,
                later.total,
                now.total - later.total,
            ]
        )
    columns = [
        _("Month"),
        _("Energy (kWh)"),
        _("Reactive counted (kvarh)"),
        _("cos φ now"),
        _("Adjustment now (%%)") % {},
        _("Load (kW)"),
        _("kvar needed"),
        _("cos φ after"),
        _("Adjustment after (%%)") % {},
        _("Bill now (元)"),
        _("Bill after (元)"),
        _("Saving (元)"),
    ]
    risk = None
    if account.rules.pf_counts_leading:
        risk = _(
            "Leading kvarh count too under this tariff: a bank left on at light load over-compensates and raises "
            "the charge; switch it automatically with the load."
        )
    return [
        Recommendation(
            kind="capacitor",
            title=_("Install %(kvar)s kvar of capacitors") % {"kvar": _num(kvar)},
            saving_yuan_per_year=saving,
            summary=_(
                "Raising cos φ to %(target)s saves %(saving)s 元 a year in power-factor adjustment; %(kvar)s kvar "
                "cost about %(cost)s 元 and pay back in %(years)s years."
            )
            % {
                "target": _num(target),
                "saving": _yuan(saving),
                "kvar": _num(kvar),
                "cost": _yuan(cost),
                "years": _num(payback),
            },
            steps=steps,
            table=Table(columns=columns, rows=rows),
            risk=risk,
            figures={"kvar": kvar, "cost_yuan": cost, "payback_years": payback, "tan_target": tan_target},
        )
    ]


# --- 4. load shift ----------------------------------------------------------------------------------------------


def _shifted(account: _Account, period: str, percent: Decimal) -> tuple[_Scenario, list[Decimal]]:
    """Move `percent` of each month's sharp-peak and peak energy (each in proportion) to `period`."""
    energies, moved = [], []
    for m in account.months:
        energy = dict(m.energy_kwh)
        total = Decimal("0")
        for source in PEAK_PERIODS:
            amount = (energy.get(source, Decimal("0")) * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
            if amount:
                energy[source] -= amount
                total += amount
        if total:
            energy[period] = energy.get(period, Decimal("0")) + total
        energies.append(energy)
        moved.append(total)
    return _Scenario(capacity_kva=account.terms.capacity_kva, energy_kwh=tuple(energies)), moved


def _load_shift(account: _Account, baseline: Baseline, settings: AdvisorSettings, notes: list[str]):
    prices = account.prices.energy
    targets = [period for period in OFF_PEAK_PERIODS if period in prices]
    if not targets or not any(period in prices for period in PEAK_PERIODS):
        notes.append(_("The tariff has no peak and valley prices: load shifting is not assessed."))
        return []
    period = min(targets, key=lambda p: (prices[p], OFF_PEAK_PERIODS.index(p)))
    method = account.terms.basic_charge_method if account.rules.two_part else None
    contract = account.terms.contract_demand_kw

    one_scenario, _moved_one = _shifted(account, period, Decimal("1"))
    one = account.bills(one_scenario, method, contract)
    scenario, moved = _shifted(account, period, settings.shift_percent)
    after = account.bills(scenario, method, contract)
    saving_one = baseline.total_yuan - _sum(one)
    saving = baseline.total_yuan - _sum(after)
    if saving <= 0:
        return []
    peak_kwh = [sum((m.energy_kwh.get(p, Decimal("0")) for p in PEAK_PERIODS), Decimal("0")) for m in account.months]
    price_text = ", ".join(f"{_period_label(p)} {_num(prices[p])}" for p in (*PEAK_PERIODS, period) if p in prices)
    steps = [
        _("Energy prices: %(prices)s 元/kWh.") % {"prices": price_text},
        _("Sharp-peak and peak energy in the 12 months: %(kwh)s kWh; %(percent)s %% of it is %(moved)s kWh.")
        % {
            "kwh": _num(sum(peak_kwh, Decimal("0"))),
            "percent": _num(settings.shift_percent),
            "moved": _num(sum(moved, Decimal("0"))),
        },
        _("Per 1 %%: 12 bills %(now)s 元 − %(after)s 元 = %(saving)s 元 a year.")
        % {"now": _yuan(baseline.total_yuan), "after": _yuan(_sum(one)), "saving": _yuan(saving_one)},
        _("For %(percent)s %%: 12 bills %(now)s 元 − %(after)s 元 = %(saving)s 元 a year.")
        % {
            "percent": _num(settings.shift_percent),
            "now": _yuan(baseline.total_yuan),
            "after": _yuan(_sum(after)),
            "saving": _yuan(saving),
        },
        _("Assumes the moved energy keeps the month's maximum demand and reactive energy unchanged."),
    ]
    rows: list[list[str | Decimal | int]] = [
        [
            label,
            peak_kwh[i],
            moved[i],
            baseline.bills[i].total,
            after[i].total,
            baseline.bills[i].total - after[i].total,
            baseline.bills[i].total - one[i].total,
        ]
        for i, label in enumerate(account.labels)
    ]
    columns = [
        _("Month"),
        _("Sharp-peak and peak energy (kWh)"),
        _("Moved (kWh)"),
        _("Bill now (元)"),
        _("Bill after (元)"),
        _("Saving (元)"),
        _("Saving per 1 %% (元)") % {},
    ]
    return [
        Recommendation(
            kind="load_shift",
            title=_("Move %(percent)s %% of peak energy to the %(period)s period")
            % {"percent": _num(settings.shift_percent), "period": _period_label(period)},
            saving_yuan_per_year=saving,
            summary=_(
                "Each 1 %% of sharp-peak and peak energy moved to the %(period)s period saves %(one)s 元 a year; "
                "%(percent)s %% saves %(saving)s 元."
            )
            % {
                "period": _period_label(period),
                "one": _yuan(saving_one),
                "percent": _num(settings.shift_percent),
                "saving": _yuan(saving),
            },
            steps=steps,
            table=Table(columns=columns, rows=rows),
            risk=None,
            figures={"period": period, "saving_per_percent_yuan": saving_one, "moved_kwh": sum(moved, Decimal("0"))},
        )
    ]


# --- 5. idle capacity: reduction and suspension -----------------------------------------------------------------


def _priced_steps(before: Mapping[str, _Priced], after: Mapping[str, _Priced], what: str):
    steps = []
    for method in after:
        old, new = before[method], after[method]
        label = _method_label(method)
        if method == "contract_demand":
            label = _("%(method)s (best value %(old)s → %(new)s kW)") % {
                "method": label,
                "old": _num(old.contract_kw),
                "new": _num(new.contract_kw),
            }
        steps.append(
            _("%(what)s, %(method)s: 12 bills %(old)s 元 → %(new)s 元 (%(saving)s 元 less).")
            % {
                "what": what,
                "method": label,
                "old": _yuan(old.total),
                "new": _yuan(new.total),
                "saving": _yuan(old.total - new.total),
            }
        )
    return steps


def _capacity(account: _Account, baseline: Baseline, settings: AdvisorSettings, notes: list[str]):
    if not account.available_methods():
        return []
    capacity = account.terms.capacity_kva
    margin = settings.capacity_margin
    needed = []
    for i, m in enumerate(account.months):
        cos = baseline.bills[i].power_factor or Decimal("1")
        needed.append((m.max_demand_kw / cos * (1 + margin)).quantize(CENT, rounding=ROUND_HALF_UP))
    idle = [capacity - kva for kva in needed]
    reduction = max(Decimal("0"), _floor(min(idle), CAPACITY_STEP_KVA))
    busiest = max(range(MONTHS), key=lambda i: (needed[i], -i))

    current = account.terms.basic_charge_method
    full_scenario = account.base_scenario()
    full = account.price_all(full_scenario)
    reference = min(baseline.total_yuan, _cheapest(full, prefer=current).total)
    steps = [
        _(
            "Needed capacity each month = maximum demand ÷ cos φ × (1 + %(margin)s %%); the busiest month, "
            "%(month)s, needs %(demand)s kW ÷ %(cos)s × %(factor)s = %(kva)s kVA of %(capacity)s kVA."
        )
        % {
            "margin": _num(margin * 100),
            "month": account.labels[busiest],
            "demand": _num(account.months[busiest].max_demand_kw),
            "cos": _num(baseline.bills[busiest].power_factor or Decimal("1")),
            "factor": _num(1 + margin),
            "kva": _num(needed[busiest]),
            "capacity": _num(capacity),
        }
    ]

    chosen_scenario, chosen = full_scenario, full
    reduced_kva = Decimal("0")
    if reduction > 0:
        scenario = _Scenario(capacity_kva=capacity - reduction)
        priced = account.price_all(scenario)
        steps.append(
            _(
                "Permanent reduction (减容): the smallest idle capacity, %(idle)s kVA, rounded down to %(step)s kVA "
                "is %(kva)s kVA, leaving %(left)s kVA."
            )
            % {
                "idle": _num(min(idle)),
                "step": _num(CAPACITY_STEP_KVA),
                "kva": _num(reduction),
                "left": _num(capacity - reduction),
            }
        )
        steps += _priced_steps(full, priced, _("Reduction"))
        if _cheapest(priced, prefer=current).total < _cheapest(full, prefer=current).total:
            chosen_scenario, chosen, reduced_kva = scenario, priced, reduction
        else:
            steps.append(_("The reduction does not lower the cheapest option; it is left out."))
    else:
        steps.append(_("No permanent reduction: the busiest month needs nearly all the capacity."))

    base_capacity = chosen_scenario.capacity_kva
    extra = [max(Decimal("0"), _floor(base_capacity - kva, CAPACITY_STEP_KVA)) for kva in needed]
    ranked = sorted((i for i in range(MONTHS) if extra[i] > 0), key=lambda i: (-extra[i], i))
    picked = sorted(ranked[: settings.max_suspension_months])
    suspended = tuple(extra[i] if i in picked else Decimal("0") for i in range(MONTHS))
    if picked:
        scenario = _Scenario(capacity_kva=base_capacity, suspended_kva=suspended)
        priced = account.price_all(scenario)
        steps.append(
            _("Seasonal suspension (暂停) of whole months, up to %(count)d: %(months)s.")
            % {
                "count": settings.max_suspension_months,
                "months": ", ".join(f"{account.labels[i]} {_num(extra[i])} kVA" for i in picked),
            }
        )
        steps += _priced_steps(chosen, priced, _("Suspension"))
        if _cheapest(priced, prefer=current).total < _cheapest(chosen, prefer=current).total:
            chosen_scenario, chosen = scenario, priced
        else:
            picked, suspended = [], (Decimal("0"),) * MONTHS
            steps.append(_("The suspension does not lower the cheapest option; it is left out."))

    if set(chosen) & set(DEMAND_METHODS):
        steps.append(
            _(
                "Billed by demand, giving up capacity pays only where the %(ratio)s %% floor of the contract "
                "demand binds; a suspension lowers only the charge by capacity."
            )
            % {"ratio": _num(account.rules.demand_floor_ratio * 100)}
        )
    best = _cheapest(chosen, prefer=current)
    saving = reference - best.total
    if saving <= 0 or (not reduced_kva and not picked):
        if reduction > 0 or any(extra):
            notes.append(_("Idle capacity was found, but reducing or suspending it would not lower the bills."))
        return []
    steps.append(
        _(
            "Best: %(method)s, 12 bills %(total)s 元, %(saving)s 元 less than the cheapest option that keeps the "
            "capacity (%(reference)s 元); %(now)s 元 now."
        )
        % {
            "method": _method_label(best.method),
            "total": _yuan(best.total),
            "saving": _yuan(saving),
            "reference": _yuan(reference),
            "now": _yuan(baseline.total_yuan),
        }
    )
    if capacity - reduced_kva < 315:
        steps.append(
            _("Below 315 kVA the two-part tariff becomes optional (发改价格〔2023〕526号); not modelled here.")
        )
    steps.append(
        _(
            "Assumptions: the coming 12 months repeat the last 12; %(margin)s %% headroom above the needed kVA; "
            "suspensions last whole calendar months (the 15-day minimum of 供电营业规则 is met; shorter ones are not "
            "modelled), at most %(count)d months a year; capacity in %(step)s kVA steps (in practice whole "
            "transformers)."
        )
        % {
            "margin": _num(margin * 100),
            "count": settings.max_suspension_months,
            "step": _num(CAPACITY_STEP_KVA),
        }
    )

    if reduced_kva and picked:
        title = _("Reduce the capacity by %(kva)s kVA and suspend more in %(count)d months") % {
            "kva": _num(reduced_kva),
            "count": len(picked),
        }
    elif reduced_kva:
        title = _("Reduce the capacity by %(kva)s kVA (减容)") % {"kva": _num(reduced_kva)}
    else:
        title = _("Suspend idle capacity in %(count)d months (暂停)") % {"count": len(picked)}
    rows: list[list[str | Decimal | int]] = [
        [
            label,
            account.months[i].max_demand_kw,
            baseline.bills[i].power_factor or "",
            needed[i],
            idle[i],
            reduced_kva,
            suspended[i],
            baseline.bills[i].total,
            best.bills[i].total,
        ]
        for i, label in enumerate(account.labels)
    ]
    columns = [
        _("Month"),
        _("Max demand (kW)"),
        _("cos φ"),
        _("Needed (kVA)"),
        _("Idle (kVA)"),
        _("Reduced (kVA)"),
        _("Suspended (kVA)"),
        _("Bill now (元)"),
        _("Bill after, %(method)s (元)") % {"method": _method_label(best.method)},
    ]
    return [
        Recommendation(
            kind="capacity",
            title=title,
            saving_yuan_per_year=saving,
            summary=_(
                "Giving up capacity the load does not use, billed %(method)s, would have cost %(total)s 元 for the "
                "12 months: %(saving)s 元 a year less than the cheapest option that keeps the capacity."
            )
            % {"method": _method_label(best.method), "total": _yuan(best.total), "saving": _yuan(saving)},
            steps=steps,
            table=Table(columns=columns, rows=rows),
            risk=_(
                "The new capacity keeps %(margin)s %% headroom over the busiest month; more load later needs an "
                "application to restore it (增容 or resumption)."
            )
            % {"margin": _num(margin * 100)},
            figures={
                "reduction_kva": reduced_kva,
                "suspended_months": ", ".join(account.labels[i] for i in picked),
                "suspended_kva_months": sum(suspended, Decimal("0")),
                "method": best.method,
                "contract_demand_kw": best.contract_kw,
            },
        )
    ]
