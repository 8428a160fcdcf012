"""Reads of key-account master data. Every one starts from ``visible_to(user)``."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, DecimalField, OuterRef, Prefetch, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from gridkam.core.models import OrgUnit

from .choices import AssignmentRole
from .models import AccountAssignment, Contact, Customer, ElectricityAccount, MeteringPoint
from .services import customer_supply_gaps


def _current_holder(role: str, field: str = "user__display_name"):
    return Subquery(
        AccountAssignment.objects.filter(customer=OuterRef("pk"), role=role, end_date__isnull=True).values(field)[:1]
    )


def customer_list(*, user):
    """Customers the user may see, with the figures the list shows, in a constant number of queries."""
    capacity = (
        ElectricityAccount.objects.filter(customer=OuterRef("pk"))
        .exclude(status="closed")
        .values("customer")
        .annotate(total=Sum("capacity_kva"))
        .values("total")
    )
    accounts = (
        ElectricityAccount.objects.filter(customer=OuterRef("pk"))
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Customer.objects.visible_to(user)
        .select_related("org_unit", "industry")
        .annotate(
            capacity_total_kva=Coalesce(
                Subquery(capacity, output_field=DecimalField(max_digits=14, decimal_places=2)),
                Value(0, output_field=DecimalField(max_digits=14, decimal_places=2)),
            ),
            account_count=Coalesce(Subquery(accounts), Value(0)),
            manager_name=_current_holder(AssignmentRole.MANAGER),
            manager_username=_current_holder(AssignmentRole.MANAGER, "user__username"),
        )
    )


def customer_get(*, user, pk: int) -> Customer:
    """One customer for its 360 page, with everything the page shows fetched up front (404 if hidden).

    Also sets ``capacity_total_kva`` (accounts not closed, the tier rule's capacity) and
    ``supply_gaps``, derived from the prefetched accounts, for the page and the API alike."""
    points = MeteringPoint.objects.order_by("code")
    accounts = ElectricityAccount.objects.order_by("account_no").prefetch_related(
        Prefetch("metering_points", queryset=points)
    )
    current_team = AccountAssignment.objects.filter(end_date__isnull=True).select_related("user", "user__team")
    queryset = (
        Customer.objects.visible_to(user)
        .select_related("org_unit", "industry", "parent")
        .prefetch_related(
            Prefetch("accounts", queryset=accounts),
            Prefetch("contacts", queryset=Contact.objects.order_by("role", "-is_primary", "name")),
            Prefetch("assignments", queryset=current_team, to_attr="current_team"),
            Prefetch("subsidiaries", queryset=Customer.objects.visible_to(user).order_by("name")),
        )
    )
    customer = get_object_or_404(queryset, pk=pk)
    accounts = customer.accounts.all()
    customer.capacity_total_kva = sum((a.capacity_kva for a in accounts if a.status != "closed"), Decimal("0"))
    customer.supply_gaps = customer_supply_gaps(customer, accounts)
    return customer


def _choice_label(model, field_name: str, value):
    """A choice field's label (Tier 1, not "first"), so the history reads like the rest of the page."""
    field = model._meta.get_field(field_name)
    return dict(field.flatchoices).get(value, value) if field.choices else value


def customer_history(*, customer: Customer, limit: int = 50) -> list[dict]:
    """Field-level changes to the customer and everything it owns, newest first.

    One query per kind of record, whatever the number of changes: the history of one customer is
    small, so it is paired up in memory instead of asking simple-history for each previous record.
    """
    sources = [
        (customer.history.all(), lambda r: r.name),
        (ElectricityAccount.history.filter(customer_id=customer.pk), lambda r: r.account_no),
        (MeteringPoint.history.filter(account__customer_id=customer.pk), lambda r: r.code),
        (Contact.history.filter(customer_id=customer.pk), lambda r: r.name),
        (
            AccountAssignment.history.filter(customer_id=customer.pk).select_related("user"),
            lambda r: f"{r.get_role_display()}: {r.user}",
        ),
    ]
    entries = []
    for records, label in sources:
        by_object: dict[int, list] = {}
        for record in records.select_related("history_user").order_by("history_date", "history_id"):
            by_object.setdefault(record.id, []).append(record)
        for versions in by_object.values():
            previous = None
            for record in versions:
                changes = []
                if record.history_type == "~" and previous is not None:
                    model = record.instance_type
                    changes = [
                        {
                            "field": model._meta.get_field(c.field).verbose_name,
                            "old": _choice_label(model, c.field, c.old),
                            "new": _choice_label(model, c.field, c.new),
                        }
                        for c in record.diff_against(previous).changes
                    ]
                    if not changes:
                        previous = record
                        continue
                entries.append(
                    {
                        "when": record.history_date,
                        "who": record.history_user,
                        "type": record.history_type,
                        "model": record.instance_type._meta.verbose_name,
                        "label": label(record),
                        "changes": changes,
                    }
                )
                previous = record
    entries.sort(key=lambda e: e["when"], reverse=True)
    return entries[:limit]


def customer_org_units(*, user, current_id: int | None = None):
    """Units a user may place a customer in: anywhere for administrators, else their unit and below.

    The customer's current unit stays acceptable so an edit that leaves it alone is valid.
    """
    if user.is_administrator:
        return OrgUnit.objects.all()
    if user.org_unit_id is None:
        return OrgUnit.objects.none()
    scope = Q(path__startswith=user.org_unit.path)
    if current_id:
        scope |= Q(pk=current_id)
    return OrgUnit.objects.filter(scope).order_by("path")


def metering_point_list(*, user):
    return MeteringPoint.objects.visible_to(user).select_related("account", "account__customer")


def account_list(*, user):
    return ElectricityAccount.objects.visible_to(user).select_related("customer")


def contact_list(*, user):
    return Contact.objects.visible_to(user).select_related("customer")


def assignment_list(*, user, current_only: bool = True):
    qs = AccountAssignment.objects.visible_to(user).select_related("customer", "user")
    return qs.filter(end_date__isnull=True) if current_only else qs


def customer_past_team(*, customer: Customer) -> list[AccountAssignment]:
    """Ended assignments of a customer, latest first: who served it before, and why they moved."""
    return list(
        AccountAssignment.objects.filter(customer=customer, end_date__isnull=False)
        .select_related("user")
        .order_by("-end_date", "-start_date", "-pk")
    )


def customer_tier_counts(*, user) -> dict[str, int]:
    """How many of the customers the user sees are in each tier (for the tier rules page)."""
    rows = Customer.objects.visible_to(user).order_by().values("tier").annotate(n=Count("pk"))
    return {row["tier"]: row["n"] for row in rows}


__all__ = ["customer_list", "customer_get", "customer_history", "Q"]
