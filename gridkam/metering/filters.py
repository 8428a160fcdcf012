"""The readings-import list's filters, shared by the page and the API."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from .models import ImportBatch


class ImportBatchFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))

    class Meta:
        model = ImportBatch
        fields = ["q", "status", "file_format"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(file_name__icontains=value) if value else queryset
