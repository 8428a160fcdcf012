"""Forms of the service request pages; the services validate again (and the API uses them directly)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gridkam.core.ids import id_from
from gridkam.customers.forms import BootstrapFormMixin
from gridkam.customers.models import Customer, ElectricityAccount, MeteringPoint

from .choices import Channel, Priority, RequestStatus, RequestType


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (images and PDFs; the services check type and size)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp,application/pdf"})
        )
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class RequestCreateForm(BootstrapFormMixin, forms.Form):
    layout = {"title": "col-12", "description": "col-12", "attachments": "col-12"}

    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), label=_("Customer"))
    request_type = forms.ChoiceField(choices=RequestType.choices, label=_("Type"))
    channel = forms.ChoiceField(choices=Channel.choices, label=_("Channel"), initial=Channel.MANAGER_LINE)
    priority = forms.ChoiceField(choices=Priority.choices, label=_("Priority"), initial=Priority.NORMAL)
    account = forms.ModelChoiceField(queryset=ElectricityAccount.objects.none(), label=_("Account"), required=False)
    metering_point = forms.ModelChoiceField(
        queryset=MeteringPoint.objects.none(), label=_("Metering point"), required=False
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}), required=False)
    attachments = MultipleFileField(label=_("Attachments"), help_text=_("Images (JPEG, PNG, GIF, WebP) or PDF."))

    def __init__(self, *args, user, customer: Customer | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = Customer.objects.visible_to(user).order_by("name")
        if customer is not None:
            self.fields["customer"].initial = customer.pk
        chosen = customer
        if self.is_bound:
            raw = self.data.get("customer", "")
            customer_id = id_from(raw)
            chosen = Customer.objects.visible_to(user).filter(pk=customer_id).first() if customer_id else None
        if chosen is not None:
            self.fields["account"].queryset = ElectricityAccount.objects.filter(customer=chosen).order_by("account_no")
            self.fields["metering_point"].queryset = (
                MeteringPoint.objects.filter(account__customer=chosen).select_related("account").order_by("code")
            )


class MessageForm(BootstrapFormMixin, forms.Form):
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 3}))
    attachments = MultipleFileField(label=_("Attachments"))


class StatusForm(BootstrapFormMixin, forms.Form):
    status = forms.ChoiceField(choices=RequestStatus.choices, label=_("Status"))
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)


class HandoverForm(BootstrapFormMixin, forms.Form):
    to_user = forms.IntegerField(label=_("Hand over to"), min_value=1)
    reason = forms.CharField(label=_("Reason"), max_length=500)


class OnsiteForm(BootstrapFormMixin, forms.Form):
    at = forms.DateTimeField(label=_("Arrived at"), required=False)


class ReopenForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000)
