from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gridkam.customers.forms import BootstrapFormMixin
from gridkam.customers.models import ElectricityAccount, MeteringPoint
from gridkam.servicedesk.choices import Priority

from .choices import Phase, PqKind
from .imports import max_bytes
from .models import PowerQualityEvent
from .services import EDITABLE_FIELDS

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S")


class EventForm(BootstrapFormMixin, forms.ModelForm):
    """Staff entry and edit; accounts and metering points limited to the customers the user sees."""

    class Meta:
        model = PowerQualityEvent
        fields = list(EDITABLE_FIELDS)
        widgets = {"started_at": DATETIME, "description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = ElectricityAccount.objects.visible_to(user).select_related("customer")
        self.fields["metering_point"].queryset = MeteringPoint.objects.visible_to(user)
        self.fields["started_at"].input_formats = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"]


class PortalReportForm(BootstrapFormMixin, forms.Form):
    """A customer's report: what happened, when, and how it hurt; measurements are not asked for."""

    account = forms.ModelChoiceField(queryset=ElectricityAccount.objects.none(), label=_("Account"))
    kind = forms.ChoiceField(choices=PqKind.choices, label=_("What happened"))
    started_at = forms.DateTimeField(
        label=_("When"), widget=DATETIME, input_formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
    )
    duration_ms = forms.IntegerField(
        label=_("Duration (ms)"), required=False, min_value=0, help_text=_("If you know it.")
    )
    phases = forms.ChoiceField(choices=[("", "—"), *Phase.choices], required=False, label=_("Phase(s)"))
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    production_stopped = forms.BooleanField(label=_("Production stopped"), required=False)
    loss_yuan = forms.DecimalField(
        label=_("Estimated loss (yuan)"), required=False, min_value=0, max_digits=14, decimal_places=2
    )
    open_request = forms.BooleanField(
        label=_("Ask the utility to investigate (opens a service request)"), required=False, initial=True
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = ElectricityAccount.objects.visible_to(user).order_by("account_no")


class OpenRequestForm(BootstrapFormMixin, forms.Form):
    priority = forms.ChoiceField(
        choices=[("", _("By severity")), *Priority.choices], required=False, label=_("Priority")
    )


class ImportForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8 or GBK, with a header line."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > max_bytes():
            raise forms.ValidationError(_("The file is too large."))
        return upload
