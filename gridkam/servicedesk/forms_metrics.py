"""The filters of the service metrics (page and API alike): a span of local days, an org unit, a team, a tier,
a request type and a priority. Org units and teams are offered only as far as the reader sees them, so an id
outside that answers a field error, not an empty page."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridkam.core.models import OrgUnit
from gridkam.customers.choices import Tier
from gridkam.users.models import Team

from .choices import Priority, RequestType
from .metrics import MAX_SPAN_DAYS, MetricsFilter

EARLIEST = dt.date(2000, 1, 1)


def default_span(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """This year to date."""
    today = today or timezone.localdate()
    return today.replace(month=1, day=1), today


class MetricsFilterForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    unit = forms.ModelChoiceField(label=_("Org unit"), queryset=OrgUnit.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    tier = forms.ChoiceField(label=_("Tier"), choices=[("", _("All"))] + Tier.choices, required=False)
    type = forms.ChoiceField(label=_("Type"), choices=[("", _("All"))] + RequestType.choices, required=False)
    priority = forms.ChoiceField(label=_("Priority"), choices=[("", _("All"))] + Priority.choices, required=False)

    def __init__(self, *args, user, today: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()
        self.fields["unit"].queryset = OrgUnit.objects.visible_to(user)
        self.fields["team"].queryset = Team.objects.visible_to(user).select_related("org_unit")
        self.fields["unit"].empty_label = _("All")
        self.fields["team"].empty_label = _("All")
        start, end = default_span(self.today)
        self.fields["start"].widget.attrs["placeholder"] = start.isoformat()
        self.fields["end"].widget.attrs["placeholder"] = end.isoformat()
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-select form-select-sm")
        for name in ("start", "end"):
            self.fields[name].widget.attrs["class"] = "form-control form-control-sm"

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()

    def _day(self, name: str) -> dt.date | None:
        value = self.cleaned_data.get(name)
        if value is not None and not EARLIEST <= value <= dt.date(self.today.year + 1, 12, 31):
            raise forms.ValidationError(
                _("Give a day from %(first)s to the end of next year.") % {"first": EARLIEST.isoformat()}
            )
        return value

    def clean_start(self):
        return self._day("start")

    def clean_end(self):
        return self._day("end")

    def clean(self):
        data = super().clean()
        if "start" in self.errors or "end" in self.errors:
            return data
        default_start, default_end = default_span(self.today)
        end = data.get("end") or default_end
        start = data.get("start") or (default_start if end >= default_start else end.replace(month=1, day=1))
        if start > end:
            self.add_error("end", _("The last day comes before the first."))
        elif (end - start).days + 1 > MAX_SPAN_DAYS:
            self.add_error("end", _("Choose at most %(days)s days.") % {"days": MAX_SPAN_DAYS})
        data["start"], data["end"] = start, end
        return data

    def metrics_filter(self) -> MetricsFilter:
        """The valid filters (call after ``is_valid()``)."""
        data = self.cleaned_data
        return MetricsFilter(
            start=data["start"],
            end=data["end"],
            unit=data.get("unit"),
            team=data.get("team"),
            tier=data.get("tier") or "",
            request_type=data.get("type") or "",
            priority=data.get("priority") or "",
        )
