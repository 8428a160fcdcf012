from __future__ import annotations

import datetime
from decimal import Decimal

from django import forms
from django.core.validators import MinValueValidator
from django.utils.translation import gettext_lazy as _

from .advisor import DEFAULT_SETTINGS, AdvisorSettings
from .models import MonthlyUsage
from .services import USAGE_FIELDS


class AdvisorSettingsForm(forms.Form):
    """The advisor's assumptions, shown with their defaults and changeable on the page and in the API."""

    target_power_factor = forms.DecimalField(
        label=_("Target power factor"),
        min_value=Decimal("0.80"),
        max_value=Decimal("1.00"),
        decimal_places=2,
        initial=DEFAULT_SETTINGS.target_power_factor,
    )
    capacitor_yuan_per_kvar = forms.DecimalField(
        label=_("Capacitor cost (yuan/kvar, installed)"),
        min_value=Decimal("0"),
        max_value=Decimal("10000"),
        decimal_places=2,
        initial=DEFAULT_SETTINGS.capacitor_yuan_per_kvar,
    )
    capacitor_step_kvar = forms.DecimalField(
        label=_("Capacitor bank step (kvar)"),
        min_value=Decimal("1"),
        max_value=Decimal("1000"),
        decimal_places=0,
        initial=DEFAULT_SETTINGS.capacitor_step_kvar,
    )
    shift_percent = forms.DecimalField(
        label=_("Peak energy moved to valley (%)"),
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        decimal_places=1,
        initial=DEFAULT_SETTINGS.shift_percent,
    )
    capacity_margin = forms.DecimalField(
        label=_("Capacity headroom kept (%)"),
        min_value=Decimal("0"),
        max_value=Decimal("200"),
        decimal_places=0,
        initial=(DEFAULT_SETTINGS.capacity_margin * 100).quantize(Decimal("1")),
    )
    max_suspension_months = forms.IntegerField(
        label=_("Longest suspension (months a year)"),
        min_value=0,
        max_value=12,
        initial=DEFAULT_SETTINGS.max_suspension_months,
    )

    @classmethod
    def from_query(cls, query) -> AdvisorSettingsForm:
        """Bound to the query string, with the defaults for what it leaves out."""
        data = {name: query.get(name) or field.initial for name, field in cls.base_fields.items()}
        return cls(data)

    def settings(self) -> AdvisorSettings:
        data = self.cleaned_data
        return AdvisorSettings(
            target_power_factor=data["target_power_factor"],
            capacitor_yuan_per_kvar=data["capacitor_yuan_per_kvar"],
            capacitor_step_kvar=data["capacitor_step_kvar"],
            shift_percent=data["shift_percent"],
            capacity_margin=data["capacity_margin"] / 100,
            max_suspension_months=data["max_suspension_months"],
        )


class MonthlyUsageForm(forms.Form):
    """One month of an account's quantities in the entry grid; a row left blank is skipped."""

    month = forms.DateField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in forms.fields_for_model(MonthlyUsage, fields=USAGE_FIELDS).items():
            field.required = False
            # Model validators are not form validators: say "negative" on the cell, not after saving.
            field.validators.append(MinValueValidator(Decimal("0")))
            field.widget.attrs.update({"inputmode": "decimal", "class": "form-control form-control-sm text-end"})
            self.fields[name] = field

    def has_values(self) -> bool:
        return any(self.cleaned_data.get(name) is not None for name in USAGE_FIELDS)

    def values(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in USAGE_FIELDS}


MonthlyUsageFormSet = forms.formset_factory(MonthlyUsageForm, extra=0)


def last_months(end: datetime.date, count: int = 12) -> list[datetime.date]:
    """The first days of ``count`` months ending with ``end``'s month, oldest first."""
    year, month = end.year, end.month
    months = []
    for _i in range(count):
        months.append(datetime.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]
