"""Reconciliation of the bills imported from the billing system against GridKAM's own pricing.

For one month, every account the user may see that has a live imported bill (issued, not credited) is
priced again by GridKAM (``computing.bill_compute``: the engine, the tariff version in effect on the first
day of the month, the account's contract terms) on the quantities the imported bill carried; a quantity
the bill did not carry (reactive energy, maximum demand) is taken from the account's monthly usage, and a
bill without any quantities is priced on the monthly usage alone. The two bills are compared item by item
(energy per period, the basic charge as a whole, the power-factor adjustment, the funds and the total) and
each account is flagged:

- ``match``: every item agrees to the fen;
- ``differs``: the items that do not, each with both amounts, the difference and the rule GridKAM applied;
- ``cannot_compute``: why GridKAM could not price the month (no tariff, no version in effect, no
  quantities, or what the engine refused).

Everything is loaded in a constant number of queries (the bills with their lines, the month's usage, the
tariff versions); the pricing itself is pure Python per account.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridkam.tariffs import engine
from gridkam.tariffs.models import MonthlyUsage, TariffVersion

from .choices import BillKind, BillSource, BillStatus
from .computing import bill_compute, line_as_engine
from .imports import AMOUNT_ITEMS, bill_amounts, item_group
from .models import Bill

MATCH, DIFFERS, CANNOT_COMPUTE = "match", "differs", "cannot_compute"
STATUS_CHOICES = [
    (MATCH, gettext_lazy("Match")),
    (DIFFERS, gettext_lazy("Differs")),
    (CANNOT_COMPUTE, gettext_lazy("Cannot compute")),
]
ITEM_LABELS = {
    "energy.sharp": gettext_lazy("Sharp-peak energy"),
    "energy.peak": gettext_lazy("Peak energy"),
    "energy.flat": gettext_lazy("Flat energy"),
    "energy.valley": gettext_lazy("Valley energy"),
    "energy.deep_valley": gettext_lazy("Deep-valley energy"),
    "basic": gettext_lazy("Basic charge"),
    "pf_adjustment": gettext_lazy("Power-factor adjustment"),
    "funds": gettext_lazy("Government funds"),
    "total": gettext_lazy("Total"),
}
ZERO = Decimal("0.00")
USAGE_QUANTITY_FIELDS = ("lagging_kvarh", "leading_kvarh", "max_demand_kw")


@dataclass
class LineComparison:
    """One item of the bill: the billing system's amount, GridKAM's, and the rule GridKAM applied."""

    item: str
    imported: Decimal
    computed: Decimal | None
    rule: str = ""

    @property
    def label(self) -> str:
        return str(ITEM_LABELS.get(self.item, self.item))

    @property
    def difference(self) -> Decimal | None:
        return None if self.computed is None else self.imported - self.computed

    @property
    def differs(self) -> bool:
        return self.computed is not None and self.imported != self.computed

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "label": self.label,
            "imported": _text(self.imported),
            "computed": _text(self.computed),
            "difference": _text(self.difference),
            "differs": self.differs,
            "rule": self.rule,
        }


@dataclass
class AccountReconciliation:
    account_id: int
    account_no: str
    account_name: str
    customer_id: int
    customer_name: str
    bill_id: int
    bill_number: str
    status: str
    imported_total: Decimal
    computed_total: Decimal | None = None
    tariff_label: str = ""
    reason: str = ""
    lines: list[LineComparison] = field(default_factory=list)

    @property
    def difference(self) -> Decimal | None:
        return None if self.computed_total is None else self.imported_total - self.computed_total

    @property
    def differing(self) -> list[LineComparison]:
        return [line for line in self.lines if line.differs]

    @property
    def status_label(self) -> str:
        return str(dict(STATUS_CHOICES)[self.status])

    def as_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "account_no": self.account_no,
            "account_name": self.account_name,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "bill_id": self.bill_id,
            "bill_number": self.bill_number,
            "status": self.status,
            "reason": self.reason,
            "tariff_version": self.tariff_label,
            "imported_total": _text(self.imported_total),
            "computed_total": _text(self.computed_total),
            "difference": _text(self.difference),
            "lines": [line.as_dict() for line in self.lines],
        }


@dataclass
class Report:
    period: dt.date
    accounts: list[AccountReconciliation]

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys((MATCH, DIFFERS, CANNOT_COMPUTE), 0)
        for account in self.accounts:
            counts[account.status] += 1
        return counts

    @property
    def imported_total(self) -> Decimal:
        return sum((a.imported_total for a in self.accounts), ZERO)

    @property
    def computed_total(self) -> Decimal:
        """GridKAM's total over the accounts it could price."""
        return sum((a.computed_total for a in self.accounts if a.computed_total is not None), ZERO)

    @property
    def difference(self) -> Decimal:
        """Imported minus computed, over the accounts GridKAM could price."""
        return sum((a.difference for a in self.accounts if a.difference is not None), ZERO)

    def with_status(self, status: str | None) -> list[AccountReconciliation]:
        return [a for a in self.accounts if not status or a.status == status]

    def summary(self) -> dict[str, Any]:
        return {
            "period": f"{self.period:%Y-%m}",
            "accounts": len(self.accounts),
            "counts": self.counts,
            "imported_total": _text(self.imported_total),
            "computed_total": _text(self.computed_total),
            "difference": _text(self.difference),
        }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def live_imported_bills(user, period: dt.date):
    """The user's imported bills of the month that stand (issued: a credited one is replaced by its rebill)."""
    return Bill.objects.visible_to(user).filter(
        period=period,
        source=BillSource.IMPORTED,
        kind__in=[BillKind.REGULAR, BillKind.REBILL],
        status=BillStatus.ISSUED,
    )


def latest_imported_period(user) -> dt.date | None:
    """The last month the user has imported bills for (the page's default)."""
    return (
        Bill.objects.visible_to(user)
        .filter(source=BillSource.IMPORTED, status=BillStatus.ISSUED)
        .aggregate(latest=Max("period"))["latest"]
    )


def _versions_in_effect(codes: set[str], period: dt.date) -> dict[str, TariffVersion]:
    """The published version of each tariff in effect on the first day of the month, in one query."""
    versions: dict[str, TariffVersion] = {}
    if not codes:
        return versions
    for version in (
        TariffVersion.objects.published()
        .filter(tariff__code__in=codes, effective_from__lte=period)
        .select_related("tariff")
        .order_by("tariff__code", "-effective_from")
    ):
        versions.setdefault(version.tariff.code, version)
    return versions


def _usage_for(bill: Bill, stored: MonthlyUsage | None) -> MonthlyUsage | None:
    """The quantities to price: the imported bill's, completed from the account's monthly usage."""
    quantities = bill.quantities or {}
    energy = quantities.get("energy_kwh")
    if not energy:
        return stored
    usage = MonthlyUsage(account=bill.account, month=bill.period)
    for period in engine.PERIODS:
        setattr(usage, f"{period}_kwh", Decimal(energy.get(period) or "0"))
    reactive = quantities.get("reactive_kvarh")
    if reactive is not None:
        usage.lagging_kvarh = Decimal(reactive.get("lagging") or "0")
        usage.leading_kvarh = Decimal(reactive.get("leading") or "0")
    elif stored is not None:
        usage.lagging_kvarh, usage.leading_kvarh = stored.lagging_kvarh, stored.leading_kvarh
    if quantities.get("max_demand_kw") is not None:
        usage.max_demand_kw = Decimal(quantities["max_demand_kw"])
    elif stored is not None:
        usage.max_demand_kw = stored.max_demand_kw
    return usage


def _describe(lines) -> str:
    texts = []
    for line in lines:
        try:
            texts.append(engine.describe(line_as_engine(line)))
        except (KeyError, ValueError):
            # A rule without a description (none today): the line is still compared.
            texts.append(line.rule_code)
    return " ".join(texts)


def _compare(bill: Bill, usage: MonthlyUsage | None, version: TariffVersion | None) -> AccountReconciliation:
    account = bill.account
    result = AccountReconciliation(
        account_id=account.pk,
        account_no=account.account_no,
        account_name=account.name,
        customer_id=account.customer_id,
        customer_name=account.customer.name,
        bill_id=bill.pk,
        bill_number=bill.number or "",
        status=CANNOT_COMPUTE,
        imported_total=bill.total,
    )
    imported = bill_amounts(bill.lines.all())
    if not account.tariff_id:
        result.reason = _("The account has no tariff.")
    elif version is None:
        result.reason = _("No published version of tariff %(tariff)s is in effect in %(month)s.") % {
            "tariff": account.tariff_id,
            "month": f"{bill.period:%Y-%m}",
        }
    elif usage is None:
        result.reason = _(
            "No quantities: the imported bill carries none and the account has no monthly usage for the month."
        )
    if result.reason:
        result.lines = [LineComparison(item, imported[item], None) for item in AMOUNT_ITEMS if imported[item]]
        result.lines.append(LineComparison("total", bill.total, None))
        return result
    try:
        computed_bill, computed_lines = bill_compute(account, usage, version)
    except engine.EngineError as exc:
        result.reason = _("GridKAM cannot price the month: %(field)s: %(message)s") % {
            "field": exc.field,
            "message": exc.message,
        }
        result.lines = [LineComparison(item, imported[item], None) for item in AMOUNT_ITEMS if imported[item]]
        result.lines.append(LineComparison("total", bill.total, None))
        return result
    result.tariff_label = version.label
    computed = bill_amounts(computed_lines)
    by_group: dict[str, list] = defaultdict(list)
    for line in computed_lines:
        by_group[item_group(line.item)].append(line)
    for item in AMOUNT_ITEMS:
        if imported[item] or computed[item] or by_group.get(item):
            result.lines.append(LineComparison(item, imported[item], computed[item], _describe(by_group.get(item, []))))
    result.lines.append(LineComparison("total", bill.total, computed_bill.total))
    result.computed_total = computed_bill.total
    result.status = DIFFERS if result.differing else MATCH
    return result


def reconcile(period: dt.date, user) -> Report:
    """The month's reconciliation over the accounts ``user`` may see, ordered by account number."""
    bills = list(
        live_imported_bills(user, period)
        .select_related("account", "account__customer")
        .prefetch_related("lines")
        .order_by("account__account_no", "pk")
    )
    account_ids = {bill.account_id for bill in bills}
    usage: dict[int, MonthlyUsage] = {}
    if account_ids:
        # A subquery, not a list of ids: 20,000 accounts stay one query under any parameter limit.
        for row in MonthlyUsage.objects.filter(
            month=period, account__in=live_imported_bills(user, period).values("account_id")
        ):
            usage[row.account_id] = row
    versions = _versions_in_effect({bill.account.tariff_id for bill in bills if bill.account.tariff_id}, period)
    return Report(
        period=period,
        accounts=[
            _compare(
                bill,
                _usage_for(bill, usage.get(bill.account_id)),
                versions.get(bill.account.tariff_id) if bill.account.tariff_id else None,
            )
            for bill in bills
        ],
    )
