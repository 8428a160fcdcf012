"""Forms of the inspection pages; the services validate again (and the API calls them directly)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridkam.customers.choices import ImportanceClass, Tier
from gridkam.customers.forms import BootstrapFormMixin
from gridkam.customers.models import Customer
from gridkam.servicedesk.forms import MultipleFileField, MultipleFileInput
from gridkam.users.models import User

from .choices import ChecklistItem, CheckResult, DangerStatus, InspectionKind, Severity
from .services import RECORDER_ROLES, DangerInput


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _photos_field() -> MultipleFileField:
    return MultipleFileField(
        label=_("Photos"),
        help_text=_("Images (JPEG, PNG, GIF, WebP)."),
        widget=MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}),
    )


def _inspectors(user):
    return (
        User.objects.visible_to(user)
        .filter(is_active=True)
        .filter(role__in=[*RECORDER_ROLES, "administrator"])
        .order_by("display_name", "username")
    )


class InspectionForm(BootstrapFormMixin, forms.Form):
    """An inspection with one result, remark and optional danger per checklist item (fields ``result_<item>``,
    ``remark_<item>``, ``danger_<item>``, ``severity_<item>``, ``description_<item>``)."""

    layout = {"conclusion": "col-12", "photos": "col-12"}

    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), label=_("Customer"))
    date = forms.DateField(label=_("Date"), widget=_date_input())
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[(k, v) for k, v in InspectionKind.choices if k != InspectionKind.REINSPECTION]
    )
    inspector = forms.ModelChoiceField(queryset=User.objects.none(), label=_("Inspector"))
    conclusion = forms.CharField(label=_("Conclusion"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    photos = _photos_field()

    def __init__(self, *args, user, customer: Customer | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = Customer.objects.visible_to(user).order_by("name")
        self.fields["inspector"].queryset = _inspectors(user)
        self.fields["inspector"].initial = user.pk
        self.fields["date"].initial = timezone.localdate()
        if customer is not None:
            self.fields["customer"].initial = customer.pk
        self.rows = []
        for code, label in ChecklistItem.choices:
            result = forms.ChoiceField(label=label, choices=CheckResult.choices, widget=forms.RadioSelect)
            remark = forms.CharField(
                label=_("Remark"),
                max_length=500,
                required=False,
                widget=forms.TextInput(attrs={"placeholder": _("Remark")}),
            )
            danger = forms.BooleanField(label=_("Raise a hidden danger"), required=False)
            severity = forms.ChoiceField(
                label=_("Severity"), choices=[("", "---------"), *Severity.choices], required=False
            )
            description = forms.CharField(
                label=_("Danger"),
                required=False,
                widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("Describe the danger.")}),
                max_length=2000,
            )
            for name, field in (
                (f"result_{code}", result),
                (f"remark_{code}", remark),
                (f"danger_{code}", danger),
                (f"severity_{code}", severity),
                (f"description_{code}", description),
            ):
                field.widget.attrs.setdefault(
                    "class",
                    "form-check-input"
                    if isinstance(field.widget, forms.CheckboxInput | forms.RadioSelect)
                    else "form-select form-select-sm"
                    if isinstance(field.widget, forms.Select)
                    else "form-control form-control-sm",
                )
                self.fields[name] = field
            self.rows.append(
                {
                    "code": code,
                    "label": label,
                    "result": self[f"result_{code}"],
                    "remark": self[f"remark_{code}"],
                    "danger": self[f"danger_{code}"],
                    "severity": self[f"severity_{code}"],
                    "description": self[f"description_{code}"],
                }
            )

    def visible_main_fields(self):
        return [self[name] for name in ("customer", "date", "kind", "inspector", "conclusion", "photos")]

    def clean(self):
        data = super().clean()
        for code in ChecklistItem.values:
            if data.get(f"danger_{code}"):
                if data.get(f"result_{code}") != CheckResult.FAIL:
                    self.add_error(f"danger_{code}", _("A danger is raised from a failed item."))
                if not data.get(f"severity_{code}"):
                    self.add_error(f"severity_{code}", _("Choose the severity."))
                if not (data.get(f"description_{code}") or "").strip():
                    self.add_error(f"description_{code}", _("Describe the danger."))
        return data

    def results(self) -> dict[str, tuple[str, str]]:
        data = self.cleaned_data
        return {code: (data[f"result_{code}"], data.get(f"remark_{code}") or "") for code in ChecklistItem.values}

    def dangers(self) -> list[DangerInput]:
        data = self.cleaned_data
        return [
            DangerInput(item=code, severity=data[f"severity_{code}"], description=data.get(f"description_{code}") or "")
            for code in ChecklistItem.values
            if data.get(f"danger_{code}")
        ]


class NoticeDeliveryForm(BootstrapFormMixin, forms.Form):
    delivered_on = forms.DateField(label=_("Delivered on"), widget=_date_input())
    signed_by = forms.CharField(label=_("Signed for by"), max_length=100)


class AdvanceForm(BootstrapFormMixin, forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[(s, label) for s, label in DangerStatus.choices if s in (DangerStatus.RECTIFYING, "reinspection")],
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)


class ReinspectForm(BootstrapFormMixin, forms.Form):
    layout = {"remark": "col-12", "photos": "col-12"}

    date = forms.DateField(label=_("Date"), widget=_date_input())
    inspector = forms.ModelChoiceField(queryset=User.objects.none(), label=_("Inspector"))
    passed = forms.TypedChoiceField(
        label=_("Result"),
        choices=[("1", _("Rectified: close the danger")), ("0", _("Not rectified: set a new deadline"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    new_deadline = forms.DateField(label=_("New deadline"), required=False, widget=_date_input())
    remark = forms.CharField(label=_("Remark"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    photos = _photos_field()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inspector"].queryset = _inspectors(user)
        self.fields["inspector"].initial = user.pk
        self.fields["date"].initial = timezone.localdate()


class IntervalsForm(forms.Form):
    """The plan matrix: one number of months per importance class (row) and tier (column), ``m_<class>_<tier>``."""

    def __init__(self, *args, current: dict[tuple[str, str], int], **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = []
        for cls, cls_label in ImportanceClass.choices:
            cells = []
            for tier, tier_label in Tier.choices:
                name = f"m_{cls}_{tier}"
                self.fields[name] = forms.IntegerField(
                    label=f"{cls_label} / {tier_label}",
                    min_value=1,
                    max_value=60,
                    initial=current.get((tier, cls)),
                    widget=forms.NumberInput(attrs={"class": "form-control form-control-sm", "style": "width: 6rem"}),
                )
                cells.append(self[name])
            self.rows.append((cls_label, cells))

    def values(self) -> dict[tuple[str, str], int]:
        return {
            (tier, cls): self.cleaned_data[f"m_{cls}_{tier}"] for cls in ImportanceClass.values for tier in Tier.values
        }
