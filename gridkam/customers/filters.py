"""One FilterSet per list, shared by the UI list page and the API list endpoint."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from gridkam.core.models import OrgUnit
from gridkam.users.models import User

from .choices import ImportanceClass, Tier, VoltageLevel
from .models import AccountAssignment, Contact, Customer, ElectricityAccount, Industry, MeteringPoint

# Ids beyond a 64-bit integer would overflow the database driver instead of matching nothing.
MAX_ID = 2**63 - 1


def _visible_units(request):
    if request is None:
        return OrgUnit.objects.none()
    return OrgUnit.objects.visible_to(request.user)


def _visible_staff(request):
    if request is None:
        return User.objects.none()
    return User.objects.visible_to(request.user).filter(customer__isnull=True)


def customer_search(queryset: QuerySet, value: str) -> QuerySet:
    """Customers whose name (or, for Latin input, pinyin initials) contains ``value``, or whose credit
    code, account number or meter number starts with it.

    Credit codes, account and meter numbers are ASCII, so Chinese input is a name search alone: one
    condition, evaluated inline, which a trigram index serves on PostgreSQL (migration 0005) and
    which stays cheap inside a manager's portfolio. Latin input may be any of the five; as one OR
    with EXISTS subqueries it would be re-evaluated for every customer by both the page and the
    count query, so it is matched once as a UNION of indexed queries and applied as a set of ids.
    """
    value = value.strip()
    if not value.isascii():
        return queryset.filter(name__icontains=value)
    upper = value.upper()
    parts = [
        Customer.objects.filter(name__icontains=value).values("pk"),
        Customer.objects.filter(credit_code__startswith=upper).values("pk"),
        ElectricityAccount.objects.filter(account_no__startswith=value).values("customer_id"),
        MeteringPoint.objects.filter(meter_no__startswith=value).values("account__customer_id"),
    ]
    if upper.isalnum():
        parts.append(Customer.objects.filter(name_initials__contains=upper).values("pk"))
    parts = [part.order_by() for part in parts]
    return queryset.filter(pk__in=parts[0].union(*parts[1:]))


class CustomerFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    org_unit = django_filters.ModelChoiceFilter(
        queryset=_visible_units, method="filter_org_unit", label=_("Org unit (and below)")
    )
    # The customer's own columns cannot repeat rows, so no DISTINCT: on PostgreSQL it would force the
    # list's annotations to be computed for every matching row before paging.
    tier = django_filters.MultipleChoiceFilter(choices=Tier.choices, label=_("Tier"), distinct=False)
    importance_class = django_filters.MultipleChoiceFilter(
        choices=ImportanceClass.choices, label=_("Importance"), distinct=False
    )
    industry = django_filters.CharFilter(method="filter_industry", label=_("Industry code"))
    voltage_kv = django_filters.ChoiceFilter(
        choices=VoltageLevel.choices, method="filter_voltage", label=_("Voltage level")
    )
    manager = django_filters.ModelChoiceFilter(queryset=_visible_staff, method="filter_manager", label=_("Manager"))

    class Meta:
        model = Customer
        fields = ["q", "org_unit", "tier", "importance_class", "industry", "voltage_kv", "manager"]

    def filter_q(self, queryset, name, value):
        return customer_search(queryset, value) if value.strip() else queryset

    def filter_org_unit(self, queryset, name, value):
        return queryset.filter(org_unit__path__startswith=value.path)

    def filter_industry(self, queryset, name, value):
        # A division code (C31) also finds its finer classes (C311, C3110).
        return queryset.filter(industry__code__startswith=value.strip().upper())

    def filter_voltage(self, queryset, name, value):
        return queryset.filter(Exists(ElectricityAccount.objects.filter(customer=OuterRef("pk"), voltage_kv=value)))

    def filter_manager(self, queryset, name, value):
        return queryset.filter(
            Exists(AccountAssignment.objects.filter(customer=OuterRef("pk"), user=value, end_date__isnull=True))
        )


class AccountFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    customer = django_filters.NumberFilter(field_name="customer_id", label=_("Customer"), min_value=1, max_value=MAX_ID)
    voltage_kv = django_filters.ChoiceFilter(choices=VoltageLevel.choices, label=_("Voltage level"))
    # The tariff's code is the key (ElectricityAccount.tariff uses to_field="code").
    tariff_code = django_filters.CharFilter(field_name="tariff_id", label=_("Tariff"))

    class Meta:
        model = ElectricityAccount
        fields = ["q", "customer", "voltage_kv", "status", "basic_charge_method", "supply_mode", "tariff_code"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(account_no__startswith=value) | Q(name__icontains=value)) if value else queryset


class MeteringPointFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account"), min_value=1, max_value=MAX_ID)

    class Meta:
        model = MeteringPoint
        fields = ["q", "account", "purpose"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(code__startswith=value) | Q(meter_no__startswith=value)) if value else queryset


class ContactFilterSet(django_filters.FilterSet):
    customer = django_filters.NumberFilter(field_name="customer_id", label=_("Customer"), min_value=1, max_value=MAX_ID)

    class Meta:
        model = Contact
        fields = ["customer", "role", "is_primary"]


class IndustryFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))

    class Meta:
        model = Industry
        fields = ["q", "section"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(code__istartswith=value) | Q(name__icontains=value)) if value else queryset
