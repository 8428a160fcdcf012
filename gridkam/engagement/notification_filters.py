"""The filters of the notification list, shared by the page and the API."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from .choices import NotificationEvent
from .models import Notification


class NotificationFilterSet(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(field_name="read_at", lookup_expr="isnull", label=_("Unread only"))
    event = django_filters.ChoiceFilter(choices=NotificationEvent.choices, label=_("Event"))

    class Meta:
        model = Notification
        fields = ["unread", "event"]
