"""Forms for key-account master data.

Forms check the shape of the input and offer only the choices a user may make (org units in their
scope, customers they see, staff with a suitable role). Business rules stay in the models' clean()
and in the services; the views put a service's ValidationError back on the fields it names.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db.models import Q, QuerySet
from django.forms.boundfield import BoundField
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridkam.tariffs.models import Tariff
from gridkam.users.choices import Role
from gridkam.users.models import User

from . import selectors
from .choices import AssignmentRole, ImportanceClass, Tier
from .models import Contact, Customer, ElectricityAccount, Industry, MeteringPoint, TierRule, customer_family_ids
from .validators import validate_credit_code

# Which staff may hold which place in an account team. Supervisors oversee portfolios rather than
# hold them, and billing clerks serve the whole unit, so neither is offered.
ASSIGNABLE_ROLES: dict[str, tuple[str, ...]] = {
    AssignmentRole.MANAGER: (Role.ACCOUNT_MANAGER,),
    AssignmentRole.BACKUP_MANAGER: (Role.ACCOUNT_MANAGER,),
    AssignmentRole.FIELD_ENGINEER: (Role.FIELD_ENGINEER,),
}


class BootstrapBoundField(BoundField):
    """Marks a field with errors ``is-invalid`` so Bootstrap shows it red next to its message."""

    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        if self.form.is_bound and self.errors:
            widget = widget or self.field.widget
            # Extra attrs replace the widget's own "class" at render time, so start from it.
            base = attrs.get("class") or widget.attrs.get("class", "")
            attrs["class"] = f"{base} is-invalid".strip()
        return attrs


class BootstrapFormMixin:
    """Bootstrap 5 classes on every widget, and a column width per field for the form grid."""

    bound_field_class = BootstrapBoundField
    # Field name -> Bootstrap column classes; fields not listed take half a row on medium screens.
    layout: dict[str, str] = {}
    default_column = "col-md-6"

    def __init__(self, *args, compact: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                # Small controls where a form shares a bar with a list (the bulk reassignment bar).
                css = "form-select form-select-sm" if compact else "form-select"
            else:
                css = "form-control form-control-sm" if compact else "form-control"
            widget.attrs.setdefault("class", css)
            field.column = self.layout.get(name, self.default_column)


class CreditCodeField(forms.CharField):
    """Accepts the code as people type it (lower case, stray spaces) before the GB 32100 check."""

    default_validators = [validate_credit_code]

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace(" ", "").upper() if value else value


class ParentCustomerField(forms.ModelChoiceField):
    """A group parent picked by its credit code (typed, pasted, or chosen from the search list)."""

    def to_python(self, value):
        if isinstance(value, str):
            value = value.replace(" ", "").upper()
        return super().to_python(value)

    def prepare_value(self, value):
        # The stored value is a primary key; the input shows the credit code people recognise.
        if isinstance(value, int):
            return Customer.objects.filter(pk=value).values_list("credit_code", flat=True).first() or ""
        return super().prepare_value(value)


def grouped_industry_choices(current: str | None = None) -> list:
    """Industry divisions grouped under their GB/T 4754 section, for a select people can scan."""
    industries = list(Industry.objects.order_by("code"))
    sections = {i.code: i for i in industries if i.parent_id is None}
    groups: dict[str, list[tuple[str, str]]] = {}
    for item in industries:
        if item.parent_id is None and item.code != current:
            continue
        section = sections.get(item.section)
        label = f"{section.code} {section.name}" if section else item.section
        groups.setdefault(label, []).append((item.code, f"{item.code} {item.name}"))
    return [("", "---------"), *groups.items()]


class CustomerForm(BootstrapFormMixin, forms.ModelForm):
    """Create or edit a customer's master data. The tier is not here: the rules compute it and a
    supervisor overrides it with a reason on its own form."""

    credit_code = CreditCodeField(
        label=_("unified social credit code"),
        max_length=18,
        help_text=_("18 characters; the last is a checksum (GB 32100-2015)."),
    )

    layout = {"name": "col-md-8", "credit_code": "col-md-4", "address": "col-12"}

    class Meta:
        model = Customer
        fields = [
            "credit_code",
            "name",
            "industry",
            "org_unit",
            "parent",
            "address",
            "credit_rating",
            "annual_energy_mwh",
            "importance_class",
            "security_load_kw",
            "emergency_power_kw",
        ]
        error_messages = {
            "credit_code": {"unique": _("A customer with this credit code is already registered.")},
        }

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        editing = self.instance.pk is not None
        if editing:
            # The credit code is the natural key imports match customers by; changing it here would
            # make the next import create a duplicate. Administrators correct it in the admin site.
            del self.fields["credit_code"]
            self.fields["name"].column = "col-12"
        elif user.org_unit_id:
            # New customers usually belong to the creator's own unit.
            self.fields["org_unit"].initial = user.org_unit_id
        self.fields["org_unit"].queryset = selectors.customer_org_units(
            user=user, current_id=self.instance.org_unit_id if editing else None
        )
        industry = self.fields["industry"]
        industry.widget.choices = grouped_industry_choices(self.instance.industry_id if editing else None)
        industry.error_messages["invalid_choice"] = _("Pick an industry from the GB/T 4754 list.")

        parent_field = ParentCustomerField(
            queryset=Customer.objects.visible_to(user),
            to_field_name="credit_code",
            required=False,
            label=_("group parent"),
            help_text=_("Credit code of the group company; type part of its name to search."),
            error_messages={"invalid_choice": _("No customer you can see has this credit code.")},
            widget=forms.TextInput(attrs={"list": "parent-options", "autocomplete": "off", "class": "form-control"}),
        )
        parent_field.column = self.default_column
        self.fields["parent"] = parent_field
        if editing and self.instance.parent_id:
            parent_field.help_text = _("Now: %(name)s. Clear the field to remove the group link.") % {
                "name": self.instance.parent.name
            }
        for name in ("annual_energy_mwh", "security_load_kw", "emergency_power_kw"):
            self.fields[name].widget.attrs.update(inputmode="decimal")
        # Field order of the model puts these apart; people fill them as one block.
        self.order_fields(self._meta.fields)

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        if parent is not None and self.instance.pk and parent.pk in customer_family_ids(self.instance.pk):
            raise ValidationError(_("A customer cannot belong to a group that is itself or one of its subsidiaries."))
        return parent


class AccountForm(BootstrapFormMixin, forms.ModelForm):
    """An electricity account (用电户) of a customer: its supply contract terms."""

    layout = {"name": "col-md-8", "account_no": "col-md-4"}

    class Meta:
        model = ElectricityAccount
        fields = [
            "account_no",
            "name",
            "voltage_kv",
            "capacity_kva",
            "basic_charge_method",
            "contract_demand_kw",
            "pf_standard",
            "supply_mode",
            "tariff",
            "status",
        ]
        error_messages = {
            "account_no": {"unique": _("This account number is already registered.")},
            "capacity_kva": {"min_value": _("The contracted capacity must be greater than zero.")},
            "contract_demand_kw": {"min_value": _("The contract demand must be greater than zero.")},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The account number is the key imports and bills match on; see CustomerForm.
            del self.fields["account_no"]
        for name in ("capacity_kva", "contract_demand_kw"):
            self.fields[name].widget.attrs.update(inputmode="decimal")
        # Closed tariffs take no new accounts, but an account already on one keeps it.
        tariffs = Tariff.objects.filter(Q(active=True) | Q(code=self.instance.tariff_id or ""))
        self.fields["tariff"].queryset = tariffs.order_by("code")


class MeteringPointForm(BootstrapFormMixin, forms.ModelForm):
    """A metering point. The multiplier may be left empty when CT and PT are given: it is CT × PT."""

    layout = {"code": "col-md-6", "meter_no": "col-md-6", "ct_ratio": "col-4", "pt_ratio": "col-4"}

    class Meta:
        model = MeteringPoint
        fields = ["code", "meter_no", "ct_ratio", "pt_ratio", "multiplier", "purpose"]
        error_messages = {
            "code": {"unique": _("This metering point code is already registered.")},
            "meter_no": {"unique": _("This meter number is already used by another metering point.")},
            "multiplier": {"min_value": _("The multiplier must be greater than zero.")},
            "ct_ratio": {"min_value": _("The CT ratio must be greater than zero.")},
            "pt_ratio": {"min_value": _("The PT ratio must be greater than zero.")},
        }
        help_texts = {"meter_no": _("Changes when the meter is replaced; the metering point stays.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The point code is what interval-data files are matched on; the meter number may change.
            del self.fields["code"]
        self.fields["multiplier"].required = False
        self.fields["multiplier"].help_text = _("Left empty, it is computed as CT ratio × PT ratio.")
        self.fields["multiplier"].column = "col-4"
        for name in ("ct_ratio", "pt_ratio", "multiplier"):
            self.fields[name].widget.attrs.update(inputmode="decimal", **{"data-ratio": name})

    def clean(self):
        cleaned = super().clean()
        ct, pt, multiplier = cleaned.get("ct_ratio"), cleaned.get("pt_ratio"), cleaned.get("multiplier")
        if multiplier is None and not self.has_error("multiplier") and not (ct and pt):
            self.add_error("multiplier", _("Give the multiplier, or both the CT and PT ratios to compute it."))
        return cleaned


class ContactForm(BootstrapFormMixin, forms.ModelForm):
    layout = {"is_primary": "col-12"}

    class Meta:
        model = Contact
        fields = ["name", "role", "phone", "email", "is_primary"]
        widgets = {"phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"})}
        help_texts = {"is_primary": _("Making this contact primary ends the primary status of the current one.")}


class TierOverrideForm(BootstrapFormMixin, forms.Form):
    """Set the tier by hand. Field names follow the model, so the service's errors land on them."""

    tier = forms.ChoiceField(label=_("tier"), choices=Tier.choices)
    tier_override_reason = forms.CharField(
        label=_("reason"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the tier differs from the one the rules give."),
    )
    layout = {"tier": "col-12", "tier_override_reason": "col-12"}


def assignable_staff(user: User) -> QuerySet[User]:
    """Active staff the user sees who can hold a place in an account team."""
    roles = sorted({role for roles in ASSIGNABLE_ROLES.values() for role in roles})
    return (
        User.objects.visible_to(user)
        .filter(is_active=True, customer__isnull=True, role__in=roles)
        .select_related("org_unit")
        .order_by("role", "org_unit__path", "display_name", "username")
    )


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        unit = f", {obj.org_unit}" if obj.org_unit_id else ""
        return f"{obj} ({obj.get_role_display()}{unit})"


class AssigneeFormMixin:
    """A role in the account team and the staff member to hold it, checked against each other."""

    def clean(self):
        cleaned = super().clean()
        role, member = cleaned.get("role"), cleaned.get("user")
        if role and member is not None and member.role not in ASSIGNABLE_ROLES.get(role, ()):
            self.add_error(
                "user",
                _("%(person)s (%(their_role)s) cannot serve as %(role)s.")
                % {
                    "person": member,
                    "their_role": member.get_role_display(),
                    "role": AssignmentRole(role).label.lower(),
                },
            )
        return cleaned


class TeamChangeForm(AssigneeFormMixin, BootstrapFormMixin, forms.Form):
    """Change who holds one place in a customer's account team; the previous term is ended."""

    role = forms.ChoiceField(label=_("role"), choices=AssignmentRole.choices)
    user = StaffChoiceField(
        label=_("staff member"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("— nobody (end the current assignment) —"),
    )
    start_date = forms.DateField(
        label=_("from"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), initial=timezone.localdate
    )
    reason = forms.CharField(label=_("reason"), max_length=300)
    layout = {"role": "col-md-6", "user": "col-md-6", "start_date": "col-md-4", "reason": "col-md-8"}

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = assignable_staff(user)

    def clean_start_date(self) -> dt.date:
        start = self.cleaned_data["start_date"]
        # Visibility follows the current assignment at once, so a term starting later would hand the
        # customer over before the date it names.
        if start > timezone.localdate():
            raise ValidationError(_("The change cannot start in the future."))
        return start


class PortfolioReassignForm(AssigneeFormMixin, BootstrapFormMixin, forms.Form):
    """Move the selected customers to another staff member in one role, with one reason."""

    customers = forms.ModelMultipleChoiceField(
        label=_("customers"),
        queryset=Customer.objects.none(),
        widget=forms.MultipleHiddenInput,
        error_messages={
            "required": _("Select at least one customer in the list."),
            "invalid_choice": _("You cannot reassign one of the selected customers."),
        },
    )
    role = forms.ChoiceField(label=_("role"), choices=AssignmentRole.choices)
    user = StaffChoiceField(label=_("new holder"), queryset=User.objects.none())
    reason = forms.CharField(label=_("reason"), max_length=300)
    layout = {"role": "col-md-3", "user": "col-md-4", "reason": "col-md-5"}

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customers"].queryset = Customer.objects.editable_by(user)
        self.fields["user"].queryset = assignable_staff(user)


class TierRuleForm(BootstrapFormMixin, forms.ModelForm):
    """The thresholds of one tier; one form per tier on the tier rules page."""

    importance_classes = forms.MultipleChoiceField(
        label=_("importance classes"),
        choices=[(value, label) for value, label in ImportanceClass.choices if value != ImportanceClass.NONE],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = TierRule
        fields = ["min_annual_energy_mwh", "min_capacity_kva", "importance_classes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("min_annual_energy_mwh", "min_capacity_kva"):
            field = self.fields[name]
            field.validators.append(MinValueValidator(Decimal("0"), _("A threshold cannot be negative.")))
            field.widget.attrs.update(inputmode="decimal", min="0")
