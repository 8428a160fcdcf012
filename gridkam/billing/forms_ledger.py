"""The payment and refund forms of an account's billing page (the service validates the rest)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridkam.customers.forms import BootstrapFormMixin

from .choices import PaymentMethod


class PaymentForm(BootstrapFormMixin, forms.Form):
    """Money received for the account, or (on the refund page) credit paid back to it."""

    layout = {"note": "col-12"}

    method = forms.ChoiceField(label=_("method"), choices=PaymentMethod.choices)
    amount = forms.DecimalField(label=_("amount (yuan)"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    received_on = forms.DateField(label=_("date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    reference = forms.CharField(
        label=_("reference"),
        max_length=64,
        required=False,
        help_text=_("Bank or billing-system reference; unique per account."),
    )
    note = forms.CharField(label=_("note"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"received_on": timezone.localdate(), "method": PaymentMethod.BANK_TRANSFER})
        super().__init__(*args, **kwargs)
