import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import CustomerCategory, Structure, VoltageBand
from .models import MonthlyUsage, Tariff


class TariffFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    customer_category = django_filters.ChoiceFilter(choices=CustomerCategory.choices, label=_("Customer category"))
    voltage_band = django_filters.ChoiceFilter(choices=VoltageBand.choices, label=_("Voltage band"))
    structure = django_filters.ChoiceFilter(choices=Structure.choices, label=_("Structure"))
    region = django_filters.CharFilter(field_name="region", lookup_expr="icontains", label=_("Region"))

    class Meta:
        model = Tariff
        fields = ["q", "region", "customer_category", "voltage_band", "structure", "active"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value)) if value else queryset


class MonthlyUsageFilterSet(django_filters.FilterSet):
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account"), min_value=1, max_value=2**31 - 1)
    month_from = django_filters.DateFilter(field_name="month", lookup_expr="gte", label=_("From month"))
    month_to = django_filters.DateFilter(field_name="month", lookup_expr="lte", label=_("To month"))

    class Meta:
        model = MonthlyUsage
        fields = ["account", "month_from", "month_to", "source"]
