"""The cost advisor for a stored account: its last 12 months and terms, the tariff version in effect,
handed to the pure ``advisor.advise``; and the advice as JSON and as an Excel workbook."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridkam.core.exports import Column, Sheet
from gridkam.customers.models import ElectricityAccount

from .advisor import AccountTerms, Advice, AdvisorError, AdvisorSettings, MonthQuantities, advise
from .choices import PERIOD_COLOURS, Period
from .models import MonthlyUsage, TariffVersion
from .selectors import monthly_usage_recent, tariff_version_current


@dataclass(frozen=True)
class AccountAdvice:
    account: ElectricityAccount
    version: TariffVersion
    usage: list[MonthlyUsage]
    advice: Advice


def _quantities(row: MonthlyUsage) -> MonthQuantities:
    return MonthQuantities(
        year=row.month.year,
        month=row.month.month,
        energy_kwh=row.energy_kwh(),
        lagging_kvarh=row.lagging_kvarh,
        leading_kvarh=row.leading_kvarh,
        max_demand_kw=row.max_demand_kw,
    )


def account_advice(*, account: ElectricityAccount, settings: AdvisorSettings) -> AccountAdvice:
    """Advice from the account's latest 12 months under its tariff's version in effect today.

    Raises AdvisorError (with a message for the user) when the account has no tariff, the tariff no
    published version, or there are not 12 consecutive months of quantities.
    """
    if not account.tariff_id:
        raise AdvisorError(_("The account has no tariff; set one on the account first."))
    version = tariff_version_current(code=account.tariff_id)
    if version is None:
        raise AdvisorError(_("Tariff %(code)s has no published version to price with.") % {"code": account.tariff_id})
    usage = monthly_usage_recent(account=account, months=12)
    if len(usage) < 12:
        raise AdvisorError(
            _("The advisor needs the quantities of the last 12 months; this account has %(count)d.")
            % {"count": len(usage)}
        )
    terms = AccountTerms(
        capacity_kva=account.capacity_kva,
        basic_charge_method=account.basic_charge_method,
        contract_demand_kw=account.contract_demand_kw,
        pf_standard=account.pf_standard,
    )
    advice = advise([_quantities(row) for row in usage], terms, version.prices(), version.rules(), settings)
    return AccountAdvice(account=account, version=version, usage=usage, advice=advice)


def _plain(value: Any) -> Any:
    return f"{value:f}" if isinstance(value, Decimal) else value


def advice_as_dict(result: AccountAdvice) -> dict[str, Any]:
    advice = result.advice
    return {
        "account": result.account.pk,
        "account_no": result.account.account_no,
        "tariff_version": result.version.label,
        "illustrative": result.version.illustrative,
        "months": advice.baseline.months,
        "baseline": {
            "total_yuan": f"{advice.baseline.total_yuan:f}",
            "bills": [
                {
                    "month": month,
                    "energy_charge": f"{bill.energy_charge:f}",
                    "basic_charge": f"{bill.basic_charge:f}",
                    "power_factor": _plain(bill.power_factor),
                    "pf_adjustment": f"{bill.pf_adjustment:f}",
                    "government_funds": f"{bill.government_funds:f}",
                    "total": f"{bill.total:f}",
                }
                for month, bill in zip(advice.baseline.months, advice.baseline.bills, strict=True)
            ],
        },
        "recommendations": [
            {
                "rank": rank,
                "kind": r.kind,
                "title": r.title,
                "saving_yuan_per_year": f"{r.saving_yuan_per_year:f}",
                "summary": r.summary,
                "steps": list(r.steps),
                "risk": r.risk,
                "figures": {k: _plain(v) for k, v in r.figures.items()},
                "table": None
                if r.table is None
                else {"columns": list(r.table.columns), "rows": [[_plain(c) for c in row] for row in r.table.rows]},
            }
            for rank, r in enumerate(advice.recommendations, start=1)
        ],
        "notes": list(advice.notes),
    }


BILL_COLUMNS = [
    Column(gettext_lazy("Month"), lambda r: r[0], 10),
    Column(gettext_lazy("Energy charge"), lambda r: r[1].energy_charge, 14),
    Column(gettext_lazy("Basic charge"), lambda r: r[1].basic_charge, 14),
    Column(gettext_lazy("Power factor"), lambda r: r[1].power_factor, 10),
    Column(gettext_lazy("Power-factor adjustment"), lambda r: r[1].pf_adjustment, 14),
    Column(gettext_lazy("Government funds"), lambda r: r[1].government_funds, 14),
    Column(gettext_lazy("Total"), lambda r: r[1].total, 14),
]


def advice_sheets(result: AccountAdvice) -> list[Sheet]:
    """The advice as a workbook: the ranking, the bills it starts from, and one sheet per option."""
    advice = result.advice
    account = result.account
    heading = [
        _("Cost advice for account %(no)s %(name)s") % {"no": account.account_no, "name": account.name},
        _("Tariff version %(version)s%(flag)s")
        % {"version": result.version.label, "flag": _(" (illustrative prices)") if result.version.illustrative else ""},
        *advice.notes,
    ]
    ranking = Sheet(
        title=str(_("Ranking")),
        columns=[
            Column(gettext_lazy("Rank"), lambda r: r[0], 6),
            Column(gettext_lazy("Option"), lambda r: r[1].title, 36),
            Column(gettext_lazy("Saving (yuan/year)"), lambda r: r[1].saving_yuan_per_year, 16),
            Column(gettext_lazy("Summary"), lambda r: r[1].summary, 80),
            Column(gettext_lazy("Risk"), lambda r: r[1].risk or "", 40),
        ],
        rows=list(enumerate(advice.recommendations, start=1)),
        notes=heading,
    )
    bills = Sheet(
        title=str(_("Bills as they are")),
        columns=BILL_COLUMNS,
        rows=list(zip(advice.baseline.months, advice.baseline.bills, strict=True)),
        notes=[_("Total of the 12 months: %(total)s yuan") % {"total": advice.baseline.total_yuan}],
    )
    sheets = [ranking, bills]
    for rank, rec in enumerate(advice.recommendations, start=1):
        columns = (
            [Column(header, lambda row, i=i: row[i], 16) for i, header in enumerate(rec.table.columns)]
            if rec.table
            else [Column(gettext_lazy("Calculation"), lambda row: row, 100)]
        )
        sheets.append(
            Sheet(
                title=f"{rank}. {rec.title}"[:31],
                columns=columns,
                rows=rec.table.rows if rec.table else [],
                notes=[rec.summary, *rec.steps, *([rec.risk] if rec.risk else [])],
            )
        )
    return sheets


def usage_chart(usage: list[MonthlyUsage]) -> dict[str, Any]:
    """Energy by period per month for the stacked bar chart of the usage and advice pages."""
    return {
        "months": [f"{row.month:%Y-%m}" for row in usage],
        "unit": "MWh",
        "series": [
            {
                "name": str(label),
                "colour": PERIOD_COLOURS[p],
                "data": [float(getattr(row, f"{p}_kwh") / 1000) for row in usage],
            }
            for p, label in Period.choices
            if any(getattr(row, f"{p}_kwh") for row in usage)
        ],
    }
