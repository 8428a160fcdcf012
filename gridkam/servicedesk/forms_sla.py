"""The form of one SLA policy (supervisors and administrators change the targets and the clock)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import RequestType
from .models import SlaPolicy

MAX_TARGET_MINUTES = 60 * 24 * 365


def policy_errors(request_type: str, data: dict) -> dict[str, str]:
    """Field errors of a policy's targets (shared by the form and the API): each at least 1 minute and at most a
    year, on site for repairs only (and required for them), neither response nor on site after the resolution."""
    errors: dict[str, str] = {}
    for name in ("response_minutes", "onsite_minutes", "resolution_minutes"):
        value = data.get(name)
        if value is not None and not 1 <= value <= MAX_TARGET_MINUTES:
            errors[name] = _("Between 1 minute and a year (%(max)s minutes).") % {"max": MAX_TARGET_MINUTES}
    onsite = data.get("onsite_minutes")
    if request_type == RequestType.REPAIR and onsite is None:
        errors.setdefault("onsite_minutes", _("Repairs need an on-site target."))
    if request_type != RequestType.REPAIR and onsite is not None:
        errors.setdefault("onsite_minutes", _("Only repairs have an on-site target."))
    resolution = data.get("resolution_minutes")
    if resolution is not None and "resolution_minutes" not in errors:
        response = data.get("response_minutes")
        if response is not None and response > resolution and "response_minutes" not in errors:
            errors["response_minutes"] = _("The first response cannot be due after the resolution.")
        if onsite is not None and onsite > resolution and "onsite_minutes" not in errors:
            errors["onsite_minutes"] = _("Being on site cannot be due after the resolution.")
    return errors


class SlaPolicyForm(forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = ["clock", "response_minutes", "onsite_minutes", "resolution_minutes"]
        widgets = {
            name: forms.NumberInput(attrs={"min": 1, "max": MAX_TARGET_MINUTES})
            for name in ("response_minutes", "onsite_minutes", "resolution_minutes")
        }

    def clean(self):
        data = super().clean()
        for name, message in policy_errors(self.instance.request_type, data).items():
            if name not in self.errors:
                self.add_error(name, message)
        return data
