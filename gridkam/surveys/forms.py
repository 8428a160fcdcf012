"""Forms of the survey pages: the answer (questions chosen by the template) and the annual survey sent by hand.
Both only collect input; the services validate and write."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gridkam.customers.choices import Tier
from gridkam.users.models import Team

from .models import DIMENSION_FIELDS, SurveyTemplate
from .services import annual_years

QUESTIONS = {
    "satisfaction": _("How satisfied are you with how your request was handled?"),
    "nps": _("How likely are you to recommend our service to another enterprise?"),
}
DIMENSION_QUESTIONS = {
    "reliability": _("Reliability of your power supply"),
    "responsiveness": _("How quickly we respond to your requests"),
    "billing_clarity": _("How clear your bills are"),
    "account_manager": _("Your account manager"),
}


def _scale(low: int, high: int) -> list[tuple[str, str]]:
    return [(str(n), str(n)) for n in range(low, high + 1)]


class SurveyAnswerForm(forms.Form):
    """The questions of a survey's template: radio scales (1–5, NPS 0–10) and a comment."""

    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )

    def __init__(self, *args, template: SurveyTemplate, **kwargs):
        super().__init__(*args, **kwargs)
        fields = {}
        if template.asks_satisfaction:
            fields["satisfaction"] = forms.ChoiceField(
                label=QUESTIONS["satisfaction"], choices=_scale(1, 5), widget=forms.RadioSelect
            )
        if template.asks_nps:
            fields["nps"] = forms.ChoiceField(label=QUESTIONS["nps"], choices=_scale(0, 10), widget=forms.RadioSelect)
        for code in template.dimensions:
            fields[DIMENSION_FIELDS[code]] = forms.ChoiceField(
                label=DIMENSION_QUESTIONS[code], choices=_scale(1, 5), widget=forms.RadioSelect
            )
        self.fields = {**fields, "comment": self.fields["comment"]}
        for name in fields:
            self.fields[name].error_messages["required"] = _("Choose a score.")

    def scales(self):
        """The scale questions as (bound field, is the NPS scale)."""
        return [(self[name], name == "nps") for name in self.fields if name != "comment"]


class AnnualSendForm(forms.Form):
    """Send the annual survey of a year to the customers the user sees: all of them, those they manage, or by tier
    and team."""

    SCOPE_ALL = "all"
    SCOPE_MINE = "mine"
    year = forms.TypedChoiceField(label=_("Year surveyed"), coerce=int)
    scope = forms.ChoiceField(
        label=_("Customers"),
        choices=[(SCOPE_ALL, _("All the customers I see")), (SCOPE_MINE, _("Only the customers I manage"))],
        initial=SCOPE_ALL,
        widget=forms.RadioSelect,
    )
    tier = forms.MultipleChoiceField(
        label=_("Tier"), choices=Tier.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [(y, str(y)) for y in annual_years()]
        self.fields["team"].queryset = Team.objects.visible_to(user)
        self.fields["team"].widget.attrs["class"] = "form-select"
        self.fields["year"].widget.attrs["class"] = "form-select"
