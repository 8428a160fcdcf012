"""Forms of the VIP desk appointments: booking (customer, hall, day, then a free slot of a desk) and the
notes of a completion or cancellation."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gridkam.core.ids import id_from
from gridkam.customers.models import Customer, ElectricityAccount

from .appointments import MAX_LENGTH, MIN_LENGTH
from .models import Desk, ServiceHall


class SlotQueryForm(forms.Form):
    """Which hall and day to show the free slots of (GET)."""

    hall = forms.ModelChoiceField(label=_("Service hall"), queryset=ServiceHall.objects.order_by("name"))
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    length = forms.IntegerField(label=_("Length (minutes)"), min_value=MIN_LENGTH, max_value=MAX_LENGTH, initial=30)


class AppointmentBookForm(forms.Form):
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.none())
    account = forms.ModelChoiceField(label=_("Account"), queryset=ElectricityAccount.objects.none(), required=False)
    desk = forms.ModelChoiceField(label=_("Desk"), queryset=Desk.objects.filter(active=True))
    starts_at = forms.DateTimeField(label=_("Starts"))
    length = forms.IntegerField(label=_("Length (minutes)"), min_value=MIN_LENGTH, max_value=MAX_LENGTH, initial=30)
    topic = forms.CharField(label=_("Purpose"), max_length=200)
    contact_name = forms.CharField(label=_("Contact"), max_length=60, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=40, required=False)

    def __init__(self, *args, user, customer: Customer | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = Customer.objects.visible_to(user).order_by("name")
        if customer is not None:
            self.fields["customer"].initial = customer.pk
            self.fields["account"].queryset = ElectricityAccount.objects.filter(customer=customer)
        for bound in self.fields.values():
            select = isinstance(bound.widget, forms.Select)
            bound.widget.attrs.setdefault(
                "class", "form-select form-select-sm" if select else "form-control form-control-sm"
            )
        raw = self.data.get("customer") if self.is_bound else None
        if (customer_id := id_from(raw)) is not None:
            self.fields["account"].queryset = ElectricityAccount.objects.filter(
                customer_id=customer_id, customer__in=Customer.objects.visible_to(user).values("pk")
            )


class AppointmentNotesForm(forms.Form):
    notes = forms.CharField(
        label=_("Notes"),
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        required=False,
        max_length=4000,
    )
