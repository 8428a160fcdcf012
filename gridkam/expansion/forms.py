"""Forms of the expansion pages; the services validate again (and the API calls them directly)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridkam.core.ids import id_from
from gridkam.customers.choices import BasicChargeMethod, SupplyMode, VoltageLevel
from gridkam.customers.forms import BootstrapFormMixin
from gridkam.customers.models import Customer, ElectricityAccount
from gridkam.servicedesk.forms import MultipleFileField
from gridkam.tariffs.models import Tariff

from .choices import ProjectKind

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ProjectCreateForm(BootstrapFormMixin, forms.Form):
    layout = {"title": "col-12"}

    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), label=_("Customer"))
    kind = forms.ChoiceField(choices=ProjectKind.choices, label=_("Kind"))
    account = forms.ModelChoiceField(
        queryset=ElectricityAccount.objects.none(),
        label=_("Account"),
        required=False,
        help_text=_("Not for a new connection: its account is created at energisation."),
    )
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    requested_capacity_kva = forms.DecimalField(
        label=_("Requested capacity (kVA)"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"), required=False
    )
    supply_mode = forms.ChoiceField(choices=SupplyMode.choices, label=_("Supply mode"), initial=SupplyMode.SINGLE)
    voltage_kv = forms.ChoiceField(choices=VoltageLevel.choices, label=_("Voltage level (kV)"), initial="10")
    new_tariff = forms.ModelChoiceField(
        queryset=Tariff.objects.order_by("code"), to_field_name="code", label=_("New tariff"), required=False
    )
    new_name = forms.CharField(label=_("New account name"), max_length=200, required=False)
    accepted_on = forms.DateField(label=_("Accepted on"), widget=DATE)

    def __init__(self, *args, user, customer: Customer | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        customers = Customer.objects.editable_by(user).order_by("name")
        self.fields["customer"].queryset = customers
        self.fields["accepted_on"].initial = timezone.localdate()
        chosen = customer
        if self.is_bound:
            customer_id = id_from(self.data.get("customer", ""))
            chosen = customers.filter(pk=customer_id).first() if customer_id else None
        elif customer is not None:
            self.fields["customer"].initial = customer.pk
        accounts = ElectricityAccount.objects.editable_by(user).select_related("customer")
        self.fields["account"].queryset = accounts.filter(customer=chosen) if chosen else accounts


class AdvanceForm(BootstrapFormMixin, forms.Form):
    layout = {"notes": "col-12", "breach_reason": "col-12"}

    on = forms.DateField(label=_("Stage ended on"), widget=DATE)
    notes = forms.CharField(
        label=_("Internal notes"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000
    )
    breach_reason = forms.CharField(
        label=_("Reason for passing the time limit"),
        max_length=300,
        required=False,
        help_text=_("Required when the stage ends after its due date."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["on"].initial = timezone.localdate()


CAPACITY_FIELDS = ("meter_no", "ct_ratio", "pt_ratio", "basic_charge_method", "contract_demand_kw")


class CompleteForm(AdvanceForm):
    """Energisation: the last stage ends and the master data changes (the fields that apply to the kind)."""

    layout = {"notes": "col-12", "breach_reason": "col-12", "account_name": "col-md-6"}

    account_no = forms.CharField(label=_("New account number"), max_length=32, required=False)
    account_name = forms.CharField(label=_("Account name"), max_length=200, required=False)
    tariff = forms.ModelChoiceField(
        queryset=Tariff.objects.order_by("code"), to_field_name="code", label=_("Tariff"), required=False
    )
    meter_code = forms.CharField(label=_("Metering point code"), max_length=32, required=False)
    meter_no = forms.CharField(label=_("Meter number"), max_length=32, required=False)
    ct_ratio = forms.DecimalField(
        label=_("CT ratio"), max_digits=10, decimal_places=2, min_value=Decimal("0.01"), required=False
    )
    pt_ratio = forms.DecimalField(
        label=_("PT ratio"), max_digits=10, decimal_places=2, min_value=Decimal("0.01"), required=False
    )
    basic_charge_method = forms.ChoiceField(
        choices=[("", "—"), *BasicChargeMethod.choices], label=_("Basic charge method"), required=False
    )
    contract_demand_kw = forms.DecimalField(
        label=_("Contract demand (kW)"), max_digits=12, decimal_places=3, min_value=Decimal("0.001"), required=False
    )

    FIELDS_BY_KIND = {
        ProjectKind.NEW_CONNECTION: (
            "account_no",
            "account_name",
            "tariff",
            "meter_code",
            "meter_no",
            "ct_ratio",
            "pt_ratio",
            "basic_charge_method",
            "contract_demand_kw",
        ),
        ProjectKind.CAPACITY_INCREASE: CAPACITY_FIELDS,
        ProjectKind.CAPACITY_REDUCTION: CAPACITY_FIELDS,
    }
    ENERGISATION_FIELDS = FIELDS_BY_KIND[ProjectKind.NEW_CONNECTION]

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        keep = set(self.FIELDS_BY_KIND.get(kind, ()))
        for name in self.ENERGISATION_FIELDS:
            if name not in keep:
                del self.fields[name]


class ClockStopStartForm(BootstrapFormMixin, forms.Form):
    layout = {"reason": "col-12"}

    on = forms.DateField(label=_("Clock stops on"), widget=DATE)
    reason = forms.CharField(
        label=_("Reason"), max_length=300, help_text=_("E.g. the customer designs or builds its installation.")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["on"].initial = timezone.localdate()


class ClockStopEndForm(BootstrapFormMixin, forms.Form):
    on = forms.DateField(label=_("Clock runs again after"), widget=DATE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["on"].initial = timezone.localdate()


class DocumentForm(BootstrapFormMixin, forms.Form):
    layout = {"documents": "col-12"}

    stage = forms.TypedChoiceField(label=_("Stage"), coerce=int)
    documents = MultipleFileField(label=_("Documents"), help_text=_("Images (JPEG, PNG, GIF, WebP) or PDF."))

    def __init__(self, *args, stages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [(s.pk, s.get_stage_display()) for s in stages]
        if stages:
            self.fields["stage"].initial = stages[-1].pk


class CancelForm(BootstrapFormMixin, forms.Form):
    layout = {"reason": "col-12"}

    reason = forms.CharField(label=_("Reason for cancelling"), max_length=300)


class TimeLimitForm(forms.Form):
    working_days = forms.IntegerField(label=_("Working days"), min_value=1, max_value=999)
