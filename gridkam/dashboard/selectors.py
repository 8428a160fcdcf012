"""Portfolio overview figures for the home page, computed by the database for whatever the user
may see: a handful of grouped queries whatever the portfolio size."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Prefetch, Sum

from gridkam.customers.choices import AssignmentRole, ImportanceClass, Tier
from gridkam.customers.models import AccountAssignment, Customer, ElectricityAccount, Industry
from gridkam.customers.services import customer_supply_gaps


@dataclass
class PortfolioOverview:
    customers: int = 0
    accounts: int = 0
    capacity_kva: float = 0
    annual_energy_mwh: float = 0
    without_manager: int = 0
    important: int = 0
    with_gaps: list[Customer] = field(default_factory=list)
    by_tier: list[tuple[str, str, int]] = field(default_factory=list)
    by_importance: list[tuple[str, str, int]] = field(default_factory=list)
    by_section: list[tuple[str, str, int]] = field(default_factory=list)
    by_voltage: list[tuple[str, int]] = field(default_factory=list)


def portfolio_overview(*, user, gap_limit: int = 10) -> PortfolioOverview:
    customers = Customer.objects.visible_to(user)
    totals = customers.aggregate(n=Count("pk"), energy=Sum("annual_energy_mwh"))
    accounts = ElectricityAccount.objects.filter(customer__in=customers.values("pk")).exclude(status="closed")
    account_totals = accounts.aggregate(n=Count("pk"), capacity=Sum("capacity_kva"))
    has_manager = AccountAssignment.objects.filter(
        customer=OuterRef("pk"), role=AssignmentRole.MANAGER, end_date__isnull=True
    )
    overview = PortfolioOverview(
        customers=totals["n"] or 0,
        annual_energy_mwh=float(totals["energy"] or 0),
        accounts=account_totals["n"] or 0,
        capacity_kva=float(account_totals["capacity"] or 0),
        without_manager=customers.exclude(Exists(has_manager)).count(),
    )
    tier_counts = dict(customers.order_by().values_list("tier").annotate(n=Count("pk")))
    overview.by_tier = [(value, str(label), tier_counts.get(value, 0)) for value, label in Tier.choices]
    importance_counts = dict(customers.order_by().values_list("importance_class").annotate(n=Count("pk")))
    overview.by_importance = [
        (value, str(label), importance_counts.get(value, 0))
        for value, label in ImportanceClass.choices
        if value != ImportanceClass.NONE
    ]
    overview.important = sum(n for _, _, n in overview.by_importance)
    sections = dict(Industry.objects.filter(parent__isnull=True).values_list("code", "name"))
    section_counts = customers.order_by().values_list("industry__section").annotate(n=Count("pk")).order_by("-n")
    overview.by_section = [(code, sections.get(code, code), n) for code, n in section_counts]
    overview.by_voltage = sorted(
        accounts.order_by().values_list("voltage_kv").annotate(n=Count("pk")), key=lambda row: float(row[0])
    )
    # Gaps are a rule over each important customer's accounts; important users are few, so this
    # reads only them (two queries) rather than the whole portfolio.
    important = (
        customers.exclude(importance_class=ImportanceClass.NONE)
        .select_related("org_unit")
        .prefetch_related(
            Prefetch("accounts", queryset=ElectricityAccount.objects.only("customer_id", "supply_mode", "status"))
        )
        .order_by("importance_class", "name")
    )
    for customer in important:
        gaps = customer_supply_gaps(customer, customer.accounts.all())
        if gaps:
            customer.gaps = gaps
            overview.with_gaps.append(customer)
    return overview
