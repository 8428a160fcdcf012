"""Dates people type (filters, forms, API): kept within the years an outage can have, so that nothing out of range
reaches date arithmetic or the UTC conversion (year 1 or 9999 would overflow there and answer 500)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

MIN_YEAR = 2000
MAX_YEAR = 2100


def year_in_range(value: dt.date | dt.datetime | None) -> None:
    """Refuse a date or datetime outside the years MIN_YEAR–MAX_YEAR (a field error)."""
    if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValidationError(
            _("Enter a date between the years %(min)s and %(max)s."),
            code="out_of_range",
            params={"min": MIN_YEAR, "max": MAX_YEAR},
        )


class BoundedDateTimeField(forms.DateTimeField):
    """A form datetime within MIN_YEAR–MAX_YEAR."""

    default_validators = [year_in_range]

    def to_python(self, value):
        try:
            return super().to_python(value)
        except (OverflowError, ValueError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class BoundedDateField(forms.DateField):
    """A form date within MIN_YEAR–MAX_YEAR."""

    default_validators = [year_in_range]


class BoundedDateFilter(django_filters.DateFilter):
    field_class = BoundedDateField


class BoundedDateTimeSerializerField(serializers.DateTimeField):
    """An API datetime within MIN_YEAR–MAX_YEAR (a field error, never an overflow)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validators", []).append(year_in_range)
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        try:
            return super().to_internal_value(value)
        except OverflowError:
            self.fail("invalid", format="YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]")
