"""Forms of the portal: the service desk's own forms, narrowed to what a customer chooses."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gridkam.customers.forms import BootstrapFormMixin
from gridkam.servicedesk.forms import RequestCreateForm
from gridkam.servicedesk.models import ServiceHall
from gridkam.servicedesk.services import RATING_COMMENT_MAX


class PortalRequestForm(RequestCreateForm):
    """A new request from the portal: the channel is the portal and the priority is set by the desk."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["channel"]
        del self.fields["priority"]


class RatingForm(BootstrapFormMixin, forms.Form):
    score = forms.TypedChoiceField(
        label=_("Satisfaction"),
        choices=[(n, str(n)) for n in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=RATING_COMMENT_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )


class SlotQuery(forms.Form):
    hall = forms.ModelChoiceField(label=_("Service hall"), queryset=ServiceHall.objects.order_by("name"))
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for bound in self.fields.values():
            select = isinstance(bound.widget, forms.Select)
            bound.widget.attrs.setdefault("class", "form-select" if select else "form-control")
