"""One account's month priced by the engine, as unsaved ``Bill`` and ``BillLine`` objects.

The bill run, the billing-system reconciliation and the demo history all price through here, so a
stored bill is exactly what ``bill_quote`` gives on the same quantities: the same engine, the same
tariff version (the one in effect on the first day of the month), the account's contract terms.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from gridkam.customers.models import ElectricityAccount
from gridkam.tariffs import engine
from gridkam.tariffs.models import MonthlyUsage, TariffVersion

from .choices import BillKind, BillSource, BillStatus
from .models import Bill, BillLine


def _plain(value: Any) -> Any:
    """Rule parameters as JSON: decimals as strings, dates as ISO text."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def bill_input(account: ElectricityAccount, usage: MonthlyUsage, version: TariffVersion) -> engine.BillInput:
    """The engine's input for one account month: the month's quantities and the account's terms."""
    month = usage.month
    common = {
        "year": month.year,
        "month": month.month,
        "energy_kwh": usage.energy_kwh(),
        "lagging_kvarh": usage.lagging_kvarh,
        "leading_kvarh": usage.leading_kvarh,
        "pf_standard": account.pf_standard or "0.90",
    }
    if not version.tariff.two_part:
        return engine.BillInput(**common)
    method = account.basic_charge_method or None
    feeders: tuple[engine.Feeder, ...] = ()
    if usage.max_demand_kw is not None or method in ("contract_demand", "actual_demand"):
        contract = account.contract_demand_kw if method == "contract_demand" else None
        feeders = (engine.Feeder(max_demand_kw=usage.max_demand_kw, contract_demand_kw=contract),)
    return engine.BillInput(**common, capacity_kva=account.capacity_kva, basic_charge_method=method, feeders=feeders)


def quantities_of(bill_in: engine.BillInput) -> dict[str, Any]:
    """The input as JSON, in the shape of the quote API where the names agree (to recompute it)."""
    return _plain(
        {
            "period": f"{bill_in.year}-{bill_in.month:02d}",
            "energy_kwh": dict(bill_in.energy_kwh),
            "reactive_kvarh": {"lagging": bill_in.lagging_kvarh, "leading": bill_in.leading_kvarh},
            "capacity_kva": bill_in.capacity_kva,
            "basic_charge_method": bill_in.basic_charge_method,
            "feeders": [
                {"max_demand_kw": f.max_demand_kw, "contract_demand_kw": f.contract_demand_kw} for f in bill_in.feeders
            ],
            "pf_standard": bill_in.pf_standard,
        }
    )


def bill_compute(
    account: ElectricityAccount, usage: MonthlyUsage, version: TariffVersion
) -> tuple[Bill, list[BillLine]]:
    """Price the month and return the draft bill and its lines, not saved (``line.bill`` is set; save
    the bill first). Raises ``engine.EngineError`` when the quantities cannot be priced."""
    bill_in = bill_input(account, usage, version)
    priced = engine.compute_bill(bill_in, version.prices(), version.rules())
    bill = Bill(
        account=account,
        period=usage.month,
        kind=BillKind.REGULAR,
        status=BillStatus.DRAFT,
        source=BillSource.COMPUTED,
        tariff_version=version,
        tariff_label=version.label,
        quantities=quantities_of(bill_in),
        energy_kwh=sum(bill_in.energy_kwh.values(), Decimal("0")),
        energy_charge=priced.energy_charge,
        basic_charge=priced.basic_charge,
        power_factor=priced.power_factor,
        pf_adjustment_percent=priced.pf_adjustment_percent,
        pf_adjustment=priced.pf_adjustment,
        government_funds=priced.government_funds,
        total=priced.total,
    )
    lines = [
        BillLine(
            bill=bill,
            position=position,
            item=line.item,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
            rule_code=line.rule,
            params=_plain(dict(line.params)),
        )
        for position, line in enumerate(priced.lines, start=1)
    ]
    return bill, lines


def line_as_engine(line: BillLine) -> engine.Line:
    """A stored line back as the engine's, so that ``engine.describe`` explains it in the reader's language."""
    params: dict[str, Any] = {}
    for key, value in (line.params or {}).items():
        if isinstance(value, str):
            try:
                params[key] = Decimal(value)
                continue
            except ArithmeticError:
                pass
        params[key] = value
    return engine.Line(line.item, _tidy(line.quantity), line.unit_price, line.amount, line.rule_code, params)


def _tidy(quantity: Decimal) -> Decimal:
    """A stored quantity (4 places in the database) as the engine gave it: 2 places, more only where it had them."""
    two = quantity.quantize(Decimal("0.01"))
    return two if two == quantity else quantity.normalize()
