"""Forms and filters of the risk pages (shared with the risk API)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from gridkam.core.models import OrgUnit
from gridkam.customers.choices import AssignmentRole
from gridkam.customers.models import AccountAssignment
from gridkam.users.models import User

from .choices import RiskLevel, WarningStatus
from .models import RiskScore, RiskScorecard, RiskWarning
from .risk import WEIGHT_FIELDS

THRESHOLD_FIELDS = ("medium_from", "high_from", "severe_from")


def _search(queryset, value: str):
    value = value.strip()
    if not value:
        return queryset
    return queryset.filter(
        Q(account__account_no__icontains=value)
        | Q(account__name__icontains=value)
        | Q(account__customer__name__icontains=value)
    )


def _managed_by(queryset, user):
    served = AccountAssignment.objects.filter(
        customer=OuterRef("account__customer"), role=AssignmentRole.MANAGER, end_date__isnull=True, user=user
    )
    return queryset.filter(Exists(served))


class RiskScoreFilterSet(django_filters.FilterSet):
    """Latest scores: search, level (several), org unit (and below), account manager."""

    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    level = django_filters.MultipleChoiceFilter(choices=RiskLevel.choices, label=_("Level"))
    org_unit = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(queryset=OrgUnit.objects.all(), method="filter_org_unit", label=_("Org unit"))
    )
    manager = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(
            queryset=User.objects.filter(assignments__role=AssignmentRole.MANAGER).distinct(),
            method="filter_manager",
            label=_("Account manager"),
        )
    )

    class Meta:
        model = RiskScore
        fields = ["q", "level", "org_unit", "manager"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = getattr(self.request, "user", None)
        fields = self.form.fields
        if user is not None and user.is_authenticated:
            fields["org_unit"].queryset = OrgUnit.objects.visible_to(user)
            fields["manager"].queryset = (
                User.objects.visible_to(user)
                .filter(assignments__role=AssignmentRole.MANAGER, assignments__end_date__isnull=True)
                .distinct()
            )
        for name in ("org_unit", "manager"):
            fields[name].widget.attrs["class"] = "form-select form-select-sm"

    def filter_q(self, queryset, name, value):
        return _search(queryset, value)

    def filter_org_unit(self, queryset, name, value):
        return queryset.filter(account__customer__org_unit__path__startswith=value.path) if value else queryset

    def filter_manager(self, queryset, name, value):
        return _managed_by(queryset, value) if value else queryset


class RiskWarningFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    status = django_filters.MultipleChoiceFilter(choices=WarningStatus.choices, label=_("Status"))
    level = django_filters.MultipleChoiceFilter(choices=RiskLevel.choices, label=_("Level"))
    mine = django_filters.BooleanFilter(method="filter_mine", label=_("Assigned to me"))

    class Meta:
        model = RiskWarning
        fields = ["q", "status", "level", "mine"]

    def filter_q(self, queryset, name, value):
        return _search(queryset, value)

    def filter_mine(self, queryset, name, value):
        request = getattr(self, "request", None)
        if value and request is not None:
            return queryset.filter(assignee=request.user)
        return queryset


class ScorecardForm(forms.ModelForm):
    """The weights (0–100 each, not all zero) and the scores at which medium, high and severe start."""

    class Meta:
        model = RiskScorecard
        fields = [*WEIGHT_FIELDS.values(), *THRESHOLD_FIELDS]
        widgets = {
            name: forms.NumberInput(attrs={"min": 0, "max": 100})
            for name in [*WEIGHT_FIELDS.values(), *THRESHOLD_FIELDS]
        }

    def clean(self):
        data = super().clean()
        errors = {}
        for name in [*WEIGHT_FIELDS.values(), *THRESHOLD_FIELDS]:
            value = data.get(name)
            if value is not None and value > 100:
                errors[name] = _("At most 100.")
        weights = [data.get(name) for name in WEIGHT_FIELDS.values()]
        if all(w is not None for w in weights) and sum(weights) == 0:
            errors["weight_on_time_rate"] = _("At least one weight must be above zero.")
        medium, high, severe = (data.get(name) for name in THRESHOLD_FIELDS)
        if None not in (medium, high, severe) and not (0 < medium < high < severe <= 100):
            errors["high_from"] = _("The levels must start at increasing scores: medium < high < severe ≤ 100.")
        for name, message in errors.items():
            self.add_error(name, message)
        return data


class WarningActForm(forms.Form):
    """Acknowledge a warning, or close it saying what was done."""

    ACTIONS = (("acknowledge", _("Acknowledge")), ("close", _("Close")))

    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)
    note = forms.CharField(
        label=_("What was done"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean(self):
        data = super().clean()
        if data.get("action") == "close" and not (data.get("note") or "").strip():
            self.add_error("note", _("Say what was done to close the warning."))
        return data
