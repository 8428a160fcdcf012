"""The filters of the power-quality event list, shared by the page and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.forms import Select
from django.utils.translation import gettext_lazy as _

from gridkam.customers.filters import MAX_ID

from .choices import PqKind, PqSource, Severity
from .models import PowerQualityEvent

YES_NO = [("", _("All")), ("true", _("Yes")), ("false", _("No"))]


class PowerQualityEventFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Account or customer"), max_length=100)
    kind = django_filters.ChoiceFilter(choices=PqKind.choices, label=_("Kind"))
    source = django_filters.ChoiceFilter(choices=PqSource.choices, label=_("Source"))
    severity = django_filters.ChoiceFilter(choices=Severity.choices, label=_("Severity"))
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account"), min_value=1, max_value=MAX_ID)
    customer = django_filters.NumberFilter(
        field_name="account__customer_id", label=_("Customer"), min_value=1, max_value=MAX_ID
    )
    start_from = django_filters.DateFilter(field_name="started_at", lookup_expr="date__gte", label=_("From"))
    start_to = django_filters.DateFilter(field_name="started_at", lookup_expr="date__lte", label=_("To"))
    outside = django_filters.BooleanFilter(
        field_name="outside_tolerance", label=_("Outside tolerance"), widget=Select(choices=YES_NO)
    )
    has_request = django_filters.BooleanFilter(
        field_name="service_request",
        lookup_expr="isnull",
        exclude=True,
        label=_("Has a service request"),
        widget=Select(choices=YES_NO),
    )

    class Meta:
        model = PowerQualityEvent
        fields = [
            "q",
            "kind",
            "source",
            "severity",
            "account",
            "customer",
            "start_from",
            "start_to",
            "outside",
            "has_request",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.form.fields.items():
            css = "form-select form-select-sm" if isinstance(field.widget, Select) else "form-control form-control-sm"
            field.widget.attrs.setdefault("class", css)
            if name in ("start_from", "start_to"):
                field.widget.input_type = "date"

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(account__account_no__icontains=value)
            | Q(account__name__icontains=value)
            | Q(account__customer__name__icontains=value)
        )
