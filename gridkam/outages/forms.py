"""Forms of the outage pages: they check input shape; the services check the rules."""

from __future__ import annotations

from django import forms
from django.forms.models import construct_instance
from django.utils.translation import gettext_lazy as _

from gridkam.core.uploads import upload_check

from .bounds import BoundedDateTimeField
from .choices import FollowUpKind
from .models import Feeder, Outage

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M")


class FeederChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Feeder) -> str:
        return f"{obj.code} {obj.name} ({obj.substation.name})"


class OutageForm(forms.ModelForm):
    feeders = FeederChoiceField(
        queryset=Feeder.objects.none(),
        label=_("Feeders"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one feeder.")},
    )

    class Meta:
        model = Outage
        fields = ["kind", "feeders", "planned_start", "planned_end", "reason", "scope"]
        field_classes = {"planned_start": BoundedDateTimeField, "planned_end": BoundedDateTimeField}
        widgets = {
            "kind": forms.Select(attrs={"class": "form-select"}),
            "planned_start": DATETIME,
            "planned_end": DATETIME,
            "reason": forms.TextInput(attrs={"class": "form-control"}),
            "scope": forms.Textarea(attrs={"class": "form-control", "rows": 3}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["feeders"].queryset = (
            Feeder.objects.visible_to(user).select_related("substation").order_by("substation__name", "code")
        )
        for name in ("planned_start", "planned_end"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]

    def clean(self):
        data = super().clean()
        start, end = data.get("planned_start"), data.get("planned_end")
        if start and end and end <= start:
            self.add_error("planned_end", _("The planned end must be after the planned start."))
        return data

    def _post_clean(self):
        # Only copy the fields onto the instance: the service validates it (with the feeders), and a second
        # full_clean here would repeat its messages.
        self.instance = construct_instance(self, self.instance, self._meta.fields, self._meta.exclude)


class AnnounceForm(forms.Form):
    late_reason = forms.CharField(
        label=_("Reason for announcing late"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )


class ActualTimesForm(forms.Form):
    actual_start = BoundedDateTimeField(
        label=_("Actual start"), widget=DATETIME, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
    )
    actual_end = BoundedDateTimeField(
        label=_("Actual end"),
        required=False,
        widget=DATETIME,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text=_("Leave empty while the outage lasts."),
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for cancelling"), max_length=300, widget=forms.TextInput(attrs={"class": "form-control"})
    )


class PhoneAckForm(forms.Form):
    person = forms.CharField(
        label=_("Confirmed by (customer side)"),
        max_length=100,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )


class FollowUpForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Follow-up"), choices=FollowUpKind.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    description = forms.CharField(
        label=_("What happened to the customer"),
        max_length=2000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3}),
    )
    visited_on = forms.DateField(
        label=_("Visited on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
        help_text=_("For a visit: the day it took place."),
    )


class SupplyImportForm(forms.Form):
    file = forms.FileField(
        label=_("File (CSV or Excel)"), widget=forms.ClearableFileInput(attrs={"class": "form-control"})
    )

    def clean_file(self):
        return upload_check(self.cleaned_data["file"], allowed_suffixes=(".csv", ".xlsx"))
