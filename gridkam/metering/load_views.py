"""Load analytics pages: an account's load (curve, band, heat map, months), the manager's portfolio ranked by
load figures, and the anomaly list. The curve itself is fetched by the page from the API (a year of quarter-
hours is too much to inline); everything else is rendered with the page.

An account's load is visible to whoever sees its customer (its portal users included); the portfolio and the
anomaly list are staff tools.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView

from gridkam.core.exports import Column, Sheet, xlsx_response, xlsx_sheets_response
from gridkam.core.views import FilteredListView, HtmxTableMixin, StaffOnlyMixin, requested_page_size
from gridkam.customers.models import ElectricityAccount

from . import selectors
from .analytics import (
    CurveRangeError,
    curve_range,
    day_parse,
    load_curve,
    load_months,
    month_start,
    months_chart,
    period_share,
)
from .filters import LoadPortfolioFilterSet
from .watch import OVER_CONTRACT, Kind, accounts_with_load, default_as_of, drop_ratio, load_anomalies

MONTH_COLUMNS = (
    Column(gettext_lazy("Month"), lambda r: r["month"], 10),
    Column(gettext_lazy("Energy (kWh)"), lambda r: _dec(r["kwh_total"]), 14),
    Column(gettext_lazy("Same month a year before (kWh)"), lambda r: _dec(r["kwh_total_year_before"]), 14),
    Column(gettext_lazy("Year on year"), lambda r: _dec(r["yoy_change"]), 10),
    Column(gettext_lazy("Maximum demand (kW)"), lambda r: _dec(r["max_demand_kw"]), 12),
    Column(gettext_lazy("Power factor"), lambda r: _dec(r["power_factor"]), 10),
    Column(gettext_lazy("Load factor"), lambda r: _dec(r["load_factor"]), 10),
    Column(gettext_lazy("Of contract demand"), lambda r: _dec(r["contract_demand_utilisation"]), 10),
    Column(gettext_lazy("Of capacity"), lambda r: _dec(r["capacity_utilisation"]), 10),
    Column(gettext_lazy("Quarter-hours with a reading"), lambda r: r["intervals"], 10),
    Column(gettext_lazy("Missing quarter-hours"), lambda r: r["missing_intervals"], 10),
)
DAY_COLUMNS = (
    Column(gettext_lazy("Day"), lambda r: r[0], 12),
    Column(gettext_lazy("Highest load (kW)"), lambda r: r[1], 14),
    Column(gettext_lazy("Lowest load (kW)"), lambda r: r[2], 14),
    Column(gettext_lazy("Mean load (kW)"), lambda r: r[3], 14),
)
PORTFOLIO_COLUMNS = (
    Column(gettext_lazy("Account"), lambda a: a.account_no, 16),
    Column(gettext_lazy("Account name"), lambda a: a.name, 24),
    Column(gettext_lazy("Customer"), lambda a: a.customer.name, 28),
    Column(gettext_lazy("Energy, last 30 days (kWh)"), lambda a: a.kwh_30d, 16),
    Column(gettext_lazy("Energy, 30 days before (kWh)"), lambda a: a.kwh_prev_30d, 16),
    Column(gettext_lazy("Energy change"), lambda a: _round(a.change_30d), 10),
    Column(gettext_lazy("Maximum demand (kW)"), lambda a: a.max_demand_30d, 14),
    Column(gettext_lazy("Load factor"), lambda a: _round(a.load_factor_30d), 10),
    Column(gettext_lazy("Utilisation"), lambda a: _round(a.utilisation), 10),
)
ANOMALY_COLUMNS = (
    Column(gettext_lazy("Anomaly"), lambda x: x.kind_label, 24),
    Column(gettext_lazy("Account"), lambda x: x.account.account_no, 16),
    Column(gettext_lazy("Customer"), lambda x: x.account.customer.name, 28),
    Column(gettext_lazy("Day"), lambda x: x.day, 12),
    Column(gettext_lazy("Detail"), lambda x: x.detail, 60),
)


def _dec(text):
    return None if text is None else float(text)


def _round(value):
    return None if value is None else round(value, 4)


def _date_param(request, name: str) -> datetime.date | None:
    return day_parse(request.GET.get(name, ""), name)


def as_of_param(request) -> tuple[datetime.date, str | None]:
    """The ``as_of`` day of the portfolio and anomaly pages (yesterday by default) and an error message."""
    try:
        return _date_param(request, "as_of") or default_as_of(), None
    except CurveRangeError as exc:
        return default_as_of(), str(exc)


class AccountLoadView(LoginRequiredMixin, TemplateView):
    """One account's load: curve with zoom and several points, daily band, month × quarter-hour heat map,
    energy by period, monthly trend with year on year, power factor and demand against the contract."""

    template_name = "metering/account_load.html"

    def get(self, request, *args, **kwargs):
        try:
            self.account = selectors.account_get(user=request.user, pk=kwargs["pk"])
        except ElectricityAccount.DoesNotExist:
            raise Http404 from None
        self.error = None
        try:
            first, last = curve_range(self.account, _date_param(request, "from"), _date_param(request, "to"))
        except CurveRangeError as exc:
            self.error = str(exc)
            first, last = curve_range(self.account, None, None)
        self.first, self.last = first, last
        self.rows = load_months(self.account, month_start(last))
        if request.GET.get("export") == "xlsx":
            return self.export()
        return super().get(request, *args, **kwargs)

    def export(self):
        curve = load_curve(self.account, self.first, self.last)
        band = curve.daily_band()
        days = list(zip(band["days"], band["max_kw"], band["min_kw"], band["mean_kw"], strict=True))
        return xlsx_sheets_response(
            filename=f"load-{self.account.account_no}",
            sheets=[
                Sheet(title=str(_("Months")), columns=MONTH_COLUMNS, rows=self.rows),
                Sheet(title=str(_("Days")), columns=DAY_COLUMNS, rows=days),
            ],
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        account = self.account
        at = self.request.GET.get("at", "")
        context.update(
            nav="customers",
            account=account,
            customer=account.customer,
            points=list(account.metering_points.order_by("purpose", "code")),
            first=self.first,
            last=self.last,
            error=self.error,
            rows=[_flagged(account, row) for row in reversed(self.rows[-12:])],
            chart=months_chart(account, self.rows),
            share=period_share(self.rows[-12:]),
            curve_options=curve_options(
                account,
                self.first,
                self.last,
                at=at if _is_day(at) else "",
                zoom=self.request.GET.get("zoom", "month"),
            ),
            anomalies=[]
            if self.request.user.is_customer_user
            else load_anomalies(ElectricityAccount.objects.filter(pk=account.pk), default_as_of()),
        )
        return context


ZOOMS = ("day", "week", "month", "year")
PAGE_SIZES = FilteredListView.page_sizes


def curve_options(
    account: ElectricityAccount, first: datetime.date, last: datetime.date, *, at: str = "", zoom: str = "month"
) -> dict:
    """What load.js needs to fetch and zoom a curve (the account page and the customer 360 card)."""
    return {
        "url": reverse("account-load-curve", args=[account.pk]),
        "from": first.isoformat(),
        "to": last.isoformat(),
        "at": at,
        "zoom": zoom if zoom in ZOOMS else "month",
        "labels": {
            "total": _("Account total"),
            "highest": _("Highest"),
            "lowest": _("Lowest"),
            "mean": _("Mean"),
            "none": _("No readings in these days."),
            "failed": _("The curve could not be loaded."),
        },
    }


def _flagged(account: ElectricityAccount, row: dict) -> dict:
    """A month's row with what the table highlights: power factor under standard, demand over contract."""
    standard = None if account.pf_standard == "none" else Decimal(account.pf_standard)
    pf = row["power_factor"]
    over = row["contract_demand_utilisation"]
    return {
        **row,
        "pf_low": standard is not None and pf is not None and Decimal(pf) < standard,
        "over_contract": over is not None and Decimal(over) > OVER_CONTRACT,
    }


def _is_day(text: str) -> bool:
    try:
        return day_parse(text, "at") is not None
    except CurveRangeError:
        return False


class LoadPortfolioView(StaffOnlyMixin, FilteredListView):
    """The user's accounts ranked by the change of their energy, load factor or utilisation."""

    template_name = "metering/load_portfolio.html"
    filterset_class = LoadPortfolioFilterSet
    sort_fields = {
        "account": "account_no",
        "customer": "customer__name",
        "kwh": "kwh_30d",
        "change": "change_30d",
        "demand": "max_demand_30d",
        "load_factor": "load_factor_30d",
        "utilisation": "utilisation",
    }
    default_sort = "change"
    nulls_last = True  # accounts without a figure go last
    export_columns = PORTFOLIO_COLUMNS
    export_filename = "load-portfolio"
    export_title = gettext_lazy("Load portfolio")

    def base_queryset(self):
        self.as_of, self.as_of_error = as_of_param(self.request)
        return accounts_with_load(selectors.accounts_visible(user=self.request.user), self.as_of)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(nav="load", as_of=self.as_of, as_of_error=self.as_of_error)
        return context


class LoadAnomalyListView(StaffOnlyMixin, HtmxTableMixin, TemplateView):
    """Consumption drops, missing data, power factor under standard, demand over contract: one row each,
    linking to the curve where it shows."""

    template_name = "metering/load_anomalies.html"
    sorts = {
        "kind": lambda x: (x.kind, -x.severity),
        "severity": lambda x: -x.severity,
        "account": lambda x: x.account.account_no,
        "customer": lambda x: x.account.customer.name,
        "day": lambda x: x.day,
    }

    def get(self, request, *args, **kwargs):
        self.as_of, self.as_of_error = as_of_param(request)
        accounts = selectors.accounts_visible(user=request.user)
        q = request.GET.get("q", "").strip()
        if q:
            accounts = accounts.filter(Q(account_no__startswith=q) | Q(customer__name__icontains=q))
        found = load_anomalies(accounts, self.as_of)
        self.kind = request.GET.get("kind", "")
        if self.kind in Kind.labels:
            found = [x for x in found if x.kind == self.kind]
        sort = request.GET.get("sort", "kind")
        key = sort.lstrip("-")
        if key in self.sorts:
            found.sort(key=self.sorts[key], reverse=sort.startswith("-"))
        else:
            sort = "kind"
        self.sort, self.q, self.found = sort, q, found
        if request.GET.get("export") == "xlsx":
            return xlsx_response(
                filename="load-anomalies", title=str(_("Load anomalies")), columns=ANOMALY_COLUMNS, rows=found
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        size = requested_page_size(self.request, PAGE_SIZES[0], PAGE_SIZES)
        page = Paginator(self.found, size).get_page(self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        counts = {kind: 0 for kind in Kind.labels}
        for anomaly in self.found:
            counts[anomaly.kind] += 1
        context.update(
            nav="load",
            as_of=self.as_of,
            as_of_error=self.as_of_error,
            page_obj=page,
            object_list=page.object_list,
            is_paginated=page.has_other_pages(),
            paginator=page.paginator,
            page_sizes=PAGE_SIZES,
            sort=self.sort,
            q=self.q,
            kind=self.kind,
            kinds=Kind.choices,
            counts=[(kind, Kind.labels[kind], n) for kind, n in counts.items()],
            querystring=query.urlencode(),
            drop_percent=int(drop_ratio() * 100),
        )
        return context
