"""The filters of the service request list, shared by the page and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridkam.core.ids import id_from

from .choices import OPEN_STATUSES, Channel, Priority, RequestStatus, RequestType
from .models import ServiceRequest

STATUS_OPEN = "open"
STATUS_ALL = "all"
STATUS_CHOICES = [(STATUS_OPEN, _("Open")), (STATUS_ALL, _("All")), *RequestStatus.choices]
ASSIGNEE_MINE = "mine"


class RequestFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Number or customer"), max_length=100)
    status = django_filters.ChoiceFilter(choices=STATUS_CHOICES, method="filter_status", label=_("Status"))
    request_type = django_filters.ChoiceFilter(choices=RequestType.choices, label=_("Type"))
    priority = django_filters.ChoiceFilter(choices=Priority.choices, label=_("Priority"))
    channel = django_filters.ChoiceFilter(choices=Channel.choices, label=_("Channel"))
    assignee = django_filters.CharFilter(
        method="filter_assignee", label=_("Assignee"), help_text=_("“mine” or a user id."), max_length=20
    )
    customer = django_filters.NumberFilter(field_name="customer_id", label=_("Customer"), min_value=1)

    class Meta:
        model = ServiceRequest
        fields = ["q", "status", "request_type", "priority", "channel", "assignee", "customer"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__icontains=value)
            | Q(customer__name__icontains=value)
            | Q(customer__name_initials__icontains=value)
        )

    def filter_status(self, queryset, name, value):
        if value == STATUS_OPEN:
            return queryset.filter(status__in=OPEN_STATUSES)
        if value == STATUS_ALL or not value:
            return queryset
        return queryset.filter(status=value)

    def filter_assignee(self, queryset, name, value):
        value = value.strip()
        if value == ASSIGNEE_MINE:
            user = getattr(self.request, "user", None)
            return queryset.filter(assignee_id=user.pk if user is not None else None)
        if (assignee_id := id_from(value)) is not None:
            return queryset.filter(assignee_id=assignee_id)
        return queryset.none()
