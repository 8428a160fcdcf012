"""Forms of the conversation pages; the services validate again (and the API uses them directly)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridkam.customers.forms import BootstrapFormMixin
from gridkam.servicedesk.choices import Priority, RequestType
from gridkam.servicedesk.forms import MultipleFileField

from .services import max_chars


class MessageForm(BootstrapFormMixin, forms.Form):
    layout = {"body": "col-12", "attachments": "col-12"}

    body = forms.CharField(
        label=_("Message"),
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    attachments = MultipleFileField(label=_("Photos and files"), help_text=_("Images (JPEG, PNG, GIF, WebP) or PDF."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].widget.attrs["maxlength"] = str(max_chars())


class MakeRequestForm(BootstrapFormMixin, forms.Form):
    """A service request from a customer's message: its type and priority; the title defaults to the text's
    first line."""

    request_type = forms.ChoiceField(label=_("Type"), choices=RequestType.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL)
    title = forms.CharField(label=_("Title"), max_length=200, required=False)


class ConversationFilterSet(django_filters.FilterSet):
    """The inbox filters, shared by the page and the API: customer (name, pinyin initials, credit code) and
    unread only."""

    q = django_filters.CharFilter(method="filter_q", label=_("Customer"))
    unread = django_filters.BooleanFilter(method="filter_unread", label=_("Unread only"))

    def filter_q(self, queryset, name, value):
        value = value.strip()[:100]
        if not value:
            return queryset
        return queryset.filter(
            Q(customer__name__icontains=value)
            | Q(customer__name_initials__icontains=value)
            | Q(customer__credit_code__iexact=value)
        )

    def filter_unread(self, queryset, name, value):
        return queryset.filter(unread__gt=0) if value else queryset
