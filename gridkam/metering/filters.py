"""The readings-import list's and the load portfolio's filters, shared by the pages and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridkam.customers.choices import Tier, VoltageLevel
from gridkam.customers.models import ElectricityAccount

from .models import ImportBatch


class ImportBatchFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))

    class Meta:
        model = ImportBatch
        fields = ["q", "status", "file_format"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(file_name__icontains=value) if value else queryset


class LoadPortfolioFilterSet(django_filters.FilterSet):
    """The load portfolio's filters: a search on account number, account or customer name, tier and voltage."""

    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    tier = django_filters.ChoiceFilter(field_name="customer__tier", choices=Tier.choices, label=_("Tier"))
    voltage_kv = django_filters.ChoiceFilter(choices=VoltageLevel.choices, label=_("Voltage level"))

    class Meta:
        model = ElectricityAccount
        fields = ["q", "tier", "voltage_kv"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(account_no__startswith=value) | Q(name__icontains=value) | Q(customer__name__icontains=value)
        )
