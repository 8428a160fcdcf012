"""Pages of the tariff catalogue: the list, a tariff with its version history, a version with its
time-of-use heat map, and the quote calculator."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from gridkam.core.exports import Column
from gridkam.core.ids import id_from
from gridkam.core.views import FilteredListView
from gridkam.customers.models import ElectricityAccount

from . import selectors
from .api.serializers import QuoteInputSerializer
from .choices import PERIOD_COLOURS, Period
from .filters import TariffFilterSet
from .models import PRICE_FIELDS, Tariff, TariffVersion
from .quoting import flatten_errors, quote_result

TARIFF_COLUMNS = [
    Column(_("Code"), lambda t: t.code, 20),
    Column(_("Name"), lambda t: t.name, 40),
    Column(_("Region"), lambda t: t.region, 16),
    Column(_("Customer category"), lambda t: str(t.get_customer_category_display()), 20),
    Column(_("Voltage band"), lambda t: str(t.get_voltage_band_display()), 14),
    Column(_("Structure"), lambda t: str(t.get_structure_display()), 10),
    Column(_("Versions"), lambda t: t.version_count, 10),
    Column(_("In effect since"), lambda t: t.latest_effective, 14),
    Column(_("Accounts"), lambda t: t.account_count, 10),
    Column(_("Open to new accounts"), lambda t: str(_("Yes") if t.active else _("No")), 12),
]


class TariffListView(FilteredListView):
    template_name = "tariffs/tariff_list.html"
    filterset_class = TariffFilterSet
    sort_fields = {
        "code": "code",
        "name": "name",
        "region": "region",
        "latest": "latest_effective",
        "accounts": "account_count",
    }
    default_sort = "code"
    export_columns = TARIFF_COLUMNS
    export_filename = "tariffs"
    export_title = _("Tariffs")

    def base_queryset(self):
        return selectors.tariff_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(nav="tariffs", **kwargs)


def _version_rows(version: TariffVersion, previous: TariffVersion | None) -> list[dict]:
    """Prices of a version beside the previous version's, for the change column."""
    fields = [
        *((Period(p).label, name, _("yuan/kWh")) for p, name in PRICE_FIELDS.items()),
        (_("Capacity price"), "capacity_yuan_per_kva_month", _("yuan/kVA·month")),
        (_("Demand price"), "demand_yuan_per_kw_month", _("yuan/kW·month")),
        (_("Government funds"), "funds_yuan_per_kwh", _("yuan/kWh")),
    ]
    rows = []
    for label, name, unit in fields:
        value = getattr(version, name)
        before = getattr(previous, name) if previous else None
        if value is None and before is None:
            continue
        change = None
        if value is not None and before not in (None, Decimal("0")):
            change = (value - before) / before * 100
        rows.append({"label": label, "unit": unit, "value": value, "before": before, "change": change})
    return rows


class TariffDetailView(LoginRequiredMixin, TemplateView):
    template_name = "tariffs/tariff_detail.html"

    def get_context_data(self, **kwargs):
        try:
            tariff = selectors.tariff_get(user=self.request.user, code=kwargs["code"])
        except Tariff.DoesNotExist:
            raise Http404 from None
        versions = list(tariff.versions.all())
        today = datetime.date.today()
        current = next((v for v in versions if v.is_published and v.effective_from <= today), None)
        return super().get_context_data(nav="tariffs", tariff=tariff, versions=versions, current=current, **kwargs)


class TariffVersionDetailView(LoginRequiredMixin, TemplateView):
    template_name = "tariffs/tariff_version_detail.html"

    def get_context_data(self, **kwargs):
        try:
            day = datetime.date.fromisoformat(kwargs["effective_from"])
            version = selectors.tariff_version_get(user=self.request.user, code=kwargs["code"], effective_from=day)
        except (ValueError, TariffVersion.DoesNotExist):
            raise Http404 from None
        calendar = version.tou_calendar()
        used = calendar.periods_used()
        index = {p: i for i, p in enumerate(used)}
        grid = calendar.month_hour_grid()
        heatmap = {
            "hours": [f"{h:02d}" for h in range(24)],
            "months": [str(_("Month %(n)d") % {"n": m}) for m in range(1, 13)],
            "cells": [
                [hour, month, index[period]] for month, row in enumerate(grid) for hour, period in enumerate(row)
            ],
            "periods": [{"label": str(Period(p).label), "colour": PERIOD_COLOURS[p]} for p in used],
        }
        profiles = [
            {
                "profile": profile,
                "ranges": _ranges(profile.hours),
            }
            for profile in calendar.profiles
        ]
        previous = selectors.tariff_version_previous(version)
        return super().get_context_data(
            nav="tariffs",
            version=version,
            tariff=version.tariff,
            previous=previous,
            price_rows=_version_rows(version, previous),
            heatmap=heatmap,
            profiles=profiles,
            exceptions=calendar.exceptions,
            **kwargs,
        )


def _ranges(hours: tuple[str, ...]) -> list[dict]:
    """A day's 24 periods as runs: [{"from": 0, "to": 8, "period": label}, …]."""
    runs: list[dict] = []
    for hour, period in enumerate(hours):
        if runs and runs[-1]["key"] == period:
            runs[-1]["to"] = hour + 1
        else:
            runs.append({"from": hour, "to": hour + 1, "key": period, "period": Period(period).label})
    for run in runs:
        run["colour"] = PERIOD_COLOURS[run["key"]]
    return runs


QUOTE_EXAMPLE = {
    "tariff": "GD-TOU-2P-10KV",
    "period": "2025-07",
    "energy_kwh": {"sharp": "50000", "peak": "180000", "flat": "220000", "valley": "150000"},
    "reactive_kvarh": {"lagging": "260000", "leading": "0"},
    "capacity_kva": "2000",
    "suspended_kva": "0",
    "basic_charge_method": "contract_demand",
    "contract_demand_kw": "1000",
    "max_demand_kw": "1200",
    "pf_standard": "0.90",
}


class QuoteView(LoginRequiredMixin, TemplateView):
    """The bill calculator: a month's quantities under any tariff, priced line by line.

    Validated by the API's QuoteInputSerializer, so the page and ``POST /api/v1/billing/quote/``
    accept and refuse exactly the same input.
    """

    template_name = "tariffs/quote.html"

    def initial(self) -> dict:
        """Flat form values: an account's terms when ``?account=`` names one the user sees, else an example."""
        data = dict(QUOTE_EXAMPLE)
        account_id = self.request.GET.get("account", "")
        if (pk := id_from(account_id)) is not None:
            try:
                account = selectors.account_get(user=self.request.user, pk=pk)
            except ElectricityAccount.DoesNotExist:
                account = None
            if account is not None:
                data.update(_account_terms(account))
        values = {name: "" for name in FORM_FIELDS}
        for key, value in data.items():
            if isinstance(value, dict):
                values.update({f"{key}.{sub}": v for sub, v in value.items()})
            else:
                values[key] = value
        return values

    def get_context_data(self, **kwargs):
        tariffs = selectors.tariff_list(user=self.request.user).filter(version_count__gt=0).order_by("code")
        values, errors = kwargs["values"], kwargs["errors"]
        if not values.get("tariff") and self.request.GET.get("tariff"):
            values["tariff"] = self.request.GET["tariff"]
        return super().get_context_data(
            nav="tariffs",
            tariffs=tariffs,
            groups=_form_groups(values, errors, tariffs),
            other_errors={k: v for k, v in errors.items() if k not in FORM_FIELDS},
            **kwargs,
        )

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(values=self.initial(), errors={}))

    def post(self, request, *args, **kwargs):
        values = _form_values(request.POST)
        serializer = QuoteInputSerializer(data=_serializer_input(values))
        context = {"values": values, "errors": {}, "result": None}
        if serializer.is_valid():
            attrs = serializer.validated_data
            context["result"] = quote_result(attrs["version"], attrs["bill"], attrs["period"])
            context["labels"] = {f"energy.{p}": label for p, label in Period.choices}
        else:
            context["errors"] = flatten_errors(serializer.errors)
        if request.htmx:
            return TemplateResponse(request, "tariffs/quote.html#area", self.get_context_data(**context))
        return self.render_to_response(self.get_context_data(**context))


FORM_FIELDS = [
    "tariff",
    "period",
    *(f"energy_kwh.{p}" for p in Period.values),
    "reactive_kvarh.lagging",
    "reactive_kvarh.leading",
    "capacity_kva",
    "suspended_kva",
    "basic_charge_method",
    "contract_demand_kw",
    "max_demand_kw",
    "pf_standard",
]


def _form_groups(values: dict, errors: dict, tariffs) -> list[dict]:
    """The calculator's fields in groups, each with its value and its messages."""
    serializer = QuoteInputSerializer()

    def field(name: str, label, *, choices=None, unit: str = "") -> dict:
        return {
            "name": name,
            "id": "id_" + name.replace(".", "_"),
            "label": label,
            "unit": unit,
            "value": values.get(name, ""),
            "errors": errors.get(name, []),
            "choices": choices,
        }

    return [
        {
            "title": _("Tariff and month"),
            "fields": [
                field("tariff", _("Tariff"), choices=[(t.code, f"{t.code} · {t.name}") for t in tariffs]),
                field("period", _("Month (YYYY-MM)")),
            ],
        },
        {
            "title": _("Active energy by period"),
            "fields": [field(f"energy_kwh.{p}", label, unit="kWh") for p, label in Period.choices],
        },
        {
            "title": _("Reactive energy"),
            "fields": [
                field("reactive_kvarh.lagging", _("Lagging"), unit="kvarh"),
                field("reactive_kvarh.leading", _("Leading"), unit="kvarh"),
                field(
                    "pf_standard", _("Power-factor standard"), choices=serializer.fields["pf_standard"].choices.items()
                ),
            ],
        },
        {
            "title": _("Basic charge"),
            "fields": [
                field(
                    "basic_charge_method",
                    _("Basic-charge method"),
                    choices=[("", "—"), *serializer.fields["basic_charge_method"].choices.items()],
                ),
                field("capacity_kva", _("Contracted capacity"), unit="kVA"),
                field("suspended_kva", _("Suspended all month"), unit="kVA"),
                field("contract_demand_kw", _("Contract demand"), unit="kW"),
                field("max_demand_kw", _("Maximum demand"), unit="kW"),
            ],
        },
    ]


def _form_values(post) -> dict:
    return {name: post.get(name, "").strip() for name in FORM_FIELDS}


def _serializer_input(values: dict) -> dict:
    """Flat form fields (energy_kwh.peak) as the nested JSON the serializer reads; blanks left out."""
    data: dict = {}
    for name, value in values.items():
        if value == "":
            continue
        head, _sep, tail = name.partition(".")
        if tail:
            data.setdefault(head, {})[tail] = value
        else:
            data[head] = value
    data.setdefault("energy_kwh", {})
    return data


def _account_terms(account) -> dict:
    """An account's contract terms and its latest month's quantities, to start a quote from."""
    data = {
        "tariff": account.tariff_code or QUOTE_EXAMPLE["tariff"],
        "capacity_kva": str(account.capacity_kva),
        "basic_charge_method": account.basic_charge_method,
        "contract_demand_kw": str(account.contract_demand_kw or ""),
        "pf_standard": account.pf_standard,
    }
    latest = selectors.monthly_usage_recent(account=account, months=1)
    if latest:
        usage = latest[0]
        data["period"] = f"{usage.month:%Y-%m}"
        data["energy_kwh"] = {p: str(v) for p, v in usage.energy_kwh().items() if v}
        data["reactive_kvarh"] = {"lagging": str(usage.lagging_kvarh), "leading": str(usage.leading_kvarh)}
        data["max_demand_kw"] = str(usage.max_demand_kw or "")
    return data
