"""A bill quote: one month's quantities priced under the tariff version in effect, by the pure engine.

Shared by ``POST /api/v1/billing/quote/``, the web calculator and ``manage.py bill_quote``; all three
validate with ``QuoteInputSerializer`` so a bad field gets the same message everywhere.
"""

from __future__ import annotations

import calendar as pycalendar
import datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from . import engine
from .models import Tariff, TariffVersion


def _nested(path: str, message) -> dict:
    """ "energy_kwh.peak" → {"energy_kwh": {"peak": [message]}}, the shape DRF gives nested fields."""
    head, _sep, rest = path.partition(".")
    return {head: _nested(rest, message) if rest else [message]}


def flatten_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error dicts (and lists for many=True) as {"dotted.path": [messages]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            flat.update(flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(errors, list) and errors and all(isinstance(e, (dict, list)) for e in errors):
        for index, value in enumerate(errors):
            if value:
                flat.update(flatten_errors(value, f"{prefix}.{index}"))
    else:
        flat[prefix or "non_field_errors"] = [str(e) for e in (errors if isinstance(errors, list) else [errors])]
    return flat


def _bill_input(attrs: dict) -> engine.BillInput:
    month: datetime.date = attrs["period"]
    reactive = attrs.get("reactive_kvarh") or {}
    if attrs.get("feeders"):
        feeders = tuple(engine.Feeder(**feeder) for feeder in attrs["feeders"])
    elif attrs.get("max_demand_kw") is not None or attrs.get("contract_demand_kw") is not None:
        feeders = (
            engine.Feeder(max_demand_kw=attrs.get("max_demand_kw"), contract_demand_kw=attrs.get("contract_demand_kw")),
        )
    else:
        feeders = ()
    suspensions = [
        engine.Suspension(kva=s["kva"], start=s.get("start"), end=s.get("end")) for s in attrs.get("suspensions", [])
    ]
    if attrs.get("suspended_kva"):
        suspensions.insert(0, engine.Suspension(kva=attrs["suspended_kva"]))
    return engine.BillInput(
        year=month.year,
        month=month.month,
        energy_kwh=dict(attrs["energy_kwh"]),
        lagging_kvarh=reactive.get("lagging", Decimal("0")),
        leading_kvarh=reactive.get("leading", Decimal("0")),
        capacity_kva=attrs.get("capacity_kva"),
        basic_charge_method=attrs.get("basic_charge_method"),
        feeders=feeders,
        suspensions=tuple(suspensions),
        pf_standard=attrs.get("pf_standard") or "0.90",
    )


def _check_suspensions(attrs: dict) -> None:
    month: datetime.date = attrs["period"]
    last = month.replace(day=pycalendar.monthrange(month.year, month.month)[1])
    for index, suspension in enumerate(attrs.get("suspensions", [])):
        start, end = suspension.get("start") or month, suspension.get("end") or last
        if start > end:
            raise serializers.ValidationError(_nested(f"suspensions.{index}.end", _("The end is before the start.")))
        if end < month or start > last:
            raise serializers.ValidationError(
                _nested(f"suspensions.{index}.start", _("This suspension does not fall in the billing month."))
            )
    if attrs.get("capacity_kva") is not None:
        suspended = attrs.get("suspended_kva") or Decimal("0")
        if suspended > attrs["capacity_kva"]:
            raise serializers.ValidationError({"suspended_kva": [_("More capacity is suspended than contracted.")]})


def _check_method_fields(attrs: dict, version: TariffVersion) -> None:
    """Every field the chosen basic-charge method needs, named at once (the engine stops at the first)."""
    method = attrs.get("basic_charge_method")
    needed = {
        None: ["basic_charge_method"],
        "capacity": ["capacity_kva"],
        "contract_demand": ["capacity_kva", "contract_demand_kw", "max_demand_kw"],
        "actual_demand": ["max_demand_kw", *(["capacity_kva"] if version.actual_demand_floor else [])],
    }[method]
    if attrs.get("feeders"):
        needed = [name for name in needed if name not in ("contract_demand_kw", "max_demand_kw")]
    missing = [name for name in needed if attrs.get(name) is None]
    if missing:
        message = (
            _("A two-part tariff needs the basic-charge method.")
            if method is None
            else _("The chosen basic-charge method needs this field.")
        )
        raise serializers.ValidationError({name: [message] for name in missing})


def quote_check(attrs: dict) -> TariffVersion:
    """Find the version in effect and price the month; a problem becomes a field error. The bill is
    kept in ``attrs["bill"]`` so that it is computed once."""
    code = attrs["tariff"].strip()
    if not Tariff.objects.filter(code=code).exists():
        raise serializers.ValidationError({"tariff": [_("Unknown tariff “%(code)s”.") % {"code": code}]})
    month: datetime.date = attrs["period"]
    version = TariffVersion.objects.in_effect(code=code, on=month)
    if version is None:
        raise serializers.ValidationError(
            {
                "period": [
                    _("Tariff %(code)s has no published version in effect in %(month)s.")
                    % {"code": code, "month": f"{month:%Y-%m}"}
                ]
            }
        )
    _check_suspensions(attrs)
    if version.tariff.two_part:
        _check_method_fields(attrs, version)
    bill_input = _bill_input(attrs)
    try:
        attrs["bill"] = engine.compute_bill(bill_input, version.prices(), version.rules())
    except engine.EngineError as exc:
        field = exc.field
        # Scalar demand fields are feeder 0 to the engine; name the field the client sent.
        if not attrs.get("feeders") and field.startswith("feeders.0."):
            field = field.removeprefix("feeders.0.")
        raise serializers.ValidationError(_nested(field, str(exc.message))) from exc
    return version


def line_label(item: str) -> str:
    """A bill line's item in words: "energy.peak" → "Peak", "basic.demand_excess" → "Excess demand"."""
    from .choices import Period

    if item.startswith("energy."):
        return str(Period(item.removeprefix("energy.")).label)
    labels = {
        "basic.capacity": _("Basic charge by capacity"),
        "basic.suspension": _("Suspended capacity"),
        "basic.contract_demand": _("Basic charge by contract demand"),
        "basic.demand_excess": _("Excess demand, double price"),
        "basic.actual_demand": _("Basic charge by actual demand"),
        "pf_adjustment": _("Power-factor adjustment"),
        "funds": _("Government funds"),
    }
    return str(labels.get(item, item))


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def quote_result(version: TariffVersion, bill: engine.Bill, month: datetime.date) -> dict[str, Any]:
    """The quote as the contract of issue 3 gives it: decimals as strings, lines with their rule."""
    prices = version.prices()
    return {
        "tariff": version.tariff.code,
        "tariff_version": version.label,
        "illustrative": version.illustrative,
        "period": f"{month:%Y-%m}",
        "prices": {
            "energy": {period: f"{price:f}" for period, price in prices.energy.items()},
            "capacity_yuan_per_kva_month": _money(prices.capacity_yuan_per_kva_month),
            "demand_yuan_per_kw_month": _money(prices.demand_yuan_per_kw_month),
            "funds_yuan_per_kwh": f"{prices.funds_yuan_per_kwh:f}",
        },
        "rules": {
            "two_part": version.tariff.two_part,
            "pf_counts_leading": version.pf_counts_leading,
            "pf_base_includes_funds": version.pf_base_includes_funds,
            "actual_demand_floor": version.actual_demand_floor,
        },
        "energy_charge": f"{bill.energy_charge:f}",
        "basic_charge": f"{bill.basic_charge:f}",
        "power_factor": _money(bill.power_factor),
        "pf_adjustment_percent": f"{bill.pf_adjustment_percent:f}",
        "pf_adjustment": f"{bill.pf_adjustment:f}",
        "government_funds": f"{bill.government_funds:f}",
        "total": f"{bill.total:f}",
        "lines": [
            {
                "item": line.item,
                "label": line_label(line.item),
                "quantity": f"{line.quantity:f}",
                "unit_price": f"{line.unit_price:f}",
                "amount": f"{line.amount:f}",
                "rule": str(engine.describe(line)),
                "rule_code": line.rule,
            }
            for line in bill.lines
        ],
    }


def quote(data: dict) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """Validate and price raw input. Returns (result, {}) or (None, {dotted field: [messages]})."""
    from .api.serializers import QuoteInputSerializer

    serializer = QuoteInputSerializer(data=data)
    if not serializer.is_valid():
        return None, flatten_errors(serializer.errors)
    attrs = serializer.validated_data
    return quote_result(attrs["version"], attrs["bill"], attrs["period"]), {}
