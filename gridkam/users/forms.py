"""Forms of portal-user management, invitation acceptance and two-factor set-up."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridkam.customers.forms import BootstrapFormMixin
from gridkam.customers.models import Contact, Customer

from .services import scope_choices

MAX_ID = 2**63 - 1


class ScopeField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def _check_values(self, value):
        # Only plain ASCII ids the database can hold reach the query: "²" passes str.isdigit(), and an id beyond
        # 2**63 - 1 is an OverflowError on SQLite. Either is simply not one of the choices.
        for pk in value:
            raw = str(pk).strip()
            if not (raw.isascii() and raw.isdigit() and int(raw) <= MAX_ID):
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
                )
        return super()._check_values(value)

    def label_from_instance(self, obj: Customer) -> str:
        return obj.name


class InvitationForm(BootstrapFormMixin, forms.Form):
    layout = {"scope": "col-12"}
    contact = forms.ModelChoiceField(
        label=_("Contact"),
        queryset=Contact.objects.none(),
        required=False,
        help_text=_("The customer's contact this person is, if recorded."),
    )
    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=50)
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    scope = ScopeField(
        label=_("Subsidiaries in scope"),
        queryset=Customer.objects.none(),
        required=False,
        help_text=_("Group subsidiaries this person may see besides the customer itself."),
    )

    def __init__(self, *args, customer: Customer, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = Contact.objects.filter(customer=customer).order_by("name")
        choices = scope_choices(customer=customer, user=user)
        self.fields["scope"].queryset = Customer.objects.filter(pk__in=[c.pk for c in choices]).order_by("name")
        if not choices:
            del self.fields["scope"]


class ScopeForm(BootstrapFormMixin, forms.Form):
    default_column = "col-12"
    scope = ScopeField(label=_("Subsidiaries in scope"), queryset=Customer.objects.none(), required=False)

    def __init__(self, *args, customer: Customer, user, **kwargs):
        super().__init__(*args, **kwargs)
        choices = scope_choices(customer=customer, user=user)
        self.fields["scope"].queryset = Customer.objects.filter(pk__in=[c.pk for c in choices]).order_by("name")


class AcceptInvitationForm(BootstrapFormMixin, forms.Form):
    default_column = "col-12"
    username = forms.CharField(
        label=_("User name"), max_length=150, help_text=_("You log in with it. Your e-mail address is fine.")
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return data


class TokenForm(BootstrapFormMixin, forms.Form):
    default_column = "col-12"
    token = forms.RegexField(
        label=_("Code"),
        regex=r"^\s*\d{6,8}\s*$",
        max_length=20,
        error_messages={"invalid": _("Enter the 6 digits your authenticator app shows.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )
