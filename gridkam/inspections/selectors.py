"""Reads of the inspections part. Every one starts from ``visible_to(user)`` and owns its joins and annotations.

- ``due_inspections``: the customers with their last plan inspection, the interval of their tier and importance
  class and the next due date, computed by the database in one query (``AddMonths``).
- ``inspection_list`` / ``inspection_get``, ``danger_list`` / ``danger_get``, ``portal_dangers``.
- ``danger_chart``: open dangers by severity and age band (one grouped query).
- ``emergency_power_gaps``: important users whose self-provided emergency power is missing or below
  security load × ``EMERGENCY_POWER_MIN_RATIO``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import django_filters
from django import forms as django_forms
from django.conf import settings
from django.db import models
from django.db.models import Count, F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from gridkam.customers.choices import AssignmentRole, ImportanceClass, Tier
from gridkam.customers.models import AccountAssignment, Customer
from gridkam.users.models import User

from .choices import PLAN_KINDS, DangerAge, DangerStatus, InspectionKind, Severity
from .models import DangerEvent, HiddenDanger, Inspection, InspectionInterval, InspectionItem, InspectionPhoto

IMPORTANT = (ImportanceClass.SPECIAL, ImportanceClass.FIRST, ImportanceClass.SECOND, ImportanceClass.TEMPORARY)
DECIMAL = models.DecimalField(max_digits=14, decimal_places=3)


class AddMonths(models.Func):
    """``date + months`` in the database. PostgreSQL adds calendar months (the 31st becomes the end of a shorter
    month); SQLite's ``date(d, '+n months')`` carries the 31st into the next month. Either way a day or two at most
    at a month's end (docs/inspections.md)."""

    output_field = models.DateField()
    arity = 2

    def _parts(self, compiler):
        date_sql, date_params = compiler.compile(self.source_expressions[0])
        months_sql, months_params = compiler.compile(self.source_expressions[1])
        return date_sql, months_sql, (*date_params, *months_params)

    def as_sql(self, compiler, connection, **extra):
        date_sql, months_sql, params = self._parts(compiler)
        return f"date({date_sql}, '+' || ({months_sql}) || ' months')", params

    def as_postgresql(self, compiler, connection, **extra):
        date_sql, months_sql, params = self._parts(compiler)
        return f"(({date_sql}) + make_interval(months => ({months_sql})::integer))::date", params


def _bootstrap(form) -> None:
    """Small Bootstrap controls on a filter form's widgets (the list pages lay them out by hand)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, django_forms.CheckboxSelectMultiple | django_forms.CheckboxInput):
            continue
        if isinstance(widget, django_forms.Select):
            widget.attrs.setdefault("class", "form-select form-select-sm")
        else:
            widget.attrs.setdefault("class", "form-control form-control-sm")


def _manager_name():
    return Subquery(
        AccountAssignment.objects.filter(
            customer=OuterRef("pk"), role=AssignmentRole.MANAGER, end_date__isnull=True
        ).values("user__display_name")[:1]
    )


# --- Due inspections ----------------------------------------------------------------------------------------------


def due_inspections(*, user, today: dt.date | None = None) -> QuerySet[Customer]:
    """The customers the user sees with ``last_inspection`` (date of the last periodic or special inspection),
    ``interval_months`` (their rule, else ``INSPECTION_DEFAULT_MONTHS``), ``next_due`` (null: never inspected, due
    now) and ``overdue``; soonest due first. One query."""
    today = today or timezone.localdate()
    last = (
        Inspection.objects.filter(customer=OuterRef("pk"), kind__in=PLAN_KINDS)
        .order_by()
        .values("customer")
        .annotate(d=Max("date"))
        .values("d")
    )
    interval = InspectionInterval.objects.filter(
        tier=OuterRef("tier"), importance_class=OuterRef("importance_class")
    ).values("interval_months")[:1]
    return (
        Customer.objects.visible_to(user)
        .select_related("org_unit")
        .annotate(
            last_inspection=Subquery(last, output_field=models.DateField()),
            interval_months=Coalesce(
                Subquery(interval, output_field=models.IntegerField()),
                Value(int(settings.GRIDKAM["INSPECTION_DEFAULT_MONTHS"])),
            ),
            manager_name=_manager_name(),
        )
        .annotate(next_due=AddMonths(F("last_inspection"), F("interval_months")))
        .annotate(
            overdue=models.Case(
                models.When(Q(last_inspection__isnull=True) | Q(next_due__lt=today), then=Value(True)),
                default=Value(False),
                output_field=models.BooleanField(),
            )
        )
        .order_by(F("next_due").asc(nulls_first=True), "name", "pk")
    )


class DueFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=gettext_lazy("Search"))
    tier = django_filters.MultipleChoiceFilter(choices=Tier.choices, label=gettext_lazy("Tier"))
    importance_class = django_filters.ChoiceFilter(
        choices=ImportanceClass.choices, label=gettext_lazy("Importance class")
    )
    overdue = django_filters.BooleanFilter(field_name="overdue", label=gettext_lazy("Overdue"))
    due_before = django_filters.DateFilter(method="filter_due_before", label=gettext_lazy("Due by"))

    class Meta:
        model = Customer
        fields = ["q", "tier", "importance_class", "overdue", "due_before"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.form.fields["due_before"].widget.input_type = "date"
        _bootstrap(self.form)

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(name_initials__icontains=value)) if value else queryset

    def filter_due_before(self, queryset, name, value):
        return queryset.filter(Q(last_inspection__isnull=True) | Q(next_due__lte=value))


# --- Inspections ----------------------------------------------------------------------------------------------------


def inspection_list(*, user) -> QuerySet[Inspection]:
    return (
        Inspection.objects.visible_to(user)
        .select_related("customer", "inspector", "danger")
        .annotate(
            failed=Count("items", filter=Q(items__result="fail"), distinct=True),
            danger_count=Count("dangers", distinct=True),
        )
        .order_by("-date", "-pk")
    )


def inspection_details(*, user) -> QuerySet[Inspection]:
    """Inspections with their checklist, photos and dangers (for one inspection's page and API)."""
    return inspection_list(user=user).prefetch_related(
        Prefetch("items", queryset=InspectionItem.objects.order_by("pk")),
        Prefetch("photos", queryset=InspectionPhoto.objects.order_by("pk")),
        Prefetch("dangers", queryset=HiddenDanger.objects.with_overdue().order_by("number")),
    )


def inspection_get(*, user, pk: int) -> Inspection:
    return inspection_details(user=user).get(pk=pk)


def photo_for_user(*, user, pk: int) -> InspectionPhoto:
    return InspectionPhoto.objects.filter(inspection__in=Inspection.objects.visible_to(user).values("pk")).get(pk=pk)


class InspectionFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=gettext_lazy("Search"))
    kind = django_filters.ChoiceFilter(choices=InspectionKind.choices, label=gettext_lazy("Kind"))
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte", label=gettext_lazy("From"))
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", label=gettext_lazy("Until"))
    customer = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(queryset=Customer.objects.all(), label=gettext_lazy("Customer"))
    )
    inspector = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(queryset=User.objects.all(), label=gettext_lazy("Inspector"))
    )

    class Meta:
        model = Inspection
        fields = ["q", "kind", "date_from", "date_to", "customer", "inspector"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = getattr(self.request, "user", None)
        fields = self.form.fields
        if user is not None and user.is_authenticated:
            fields["customer"].queryset = Customer.objects.visible_to(user)
            fields["inspector"].queryset = User.objects.visible_to(user)
        for name in ("date_from", "date_to"):
            fields[name].widget.input_type = "date"
        _bootstrap(self.form)

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(customer__name__icontains=value) | Q(conclusion__icontains=value))


# --- Dangers --------------------------------------------------------------------------------------------------------


def danger_list(*, user, today: dt.date | None = None) -> QuerySet[HiddenDanger]:
    manager = AccountAssignment.objects.filter(
        customer=OuterRef("customer_id"), role=AssignmentRole.MANAGER, end_date__isnull=True
    )
    return (
        HiddenDanger.objects.visible_to(user)
        .with_overdue(today)
        .select_related("customer", "inspection")
        .annotate(manager_name=Subquery(manager.values("user__display_name")[:1]))
        .order_by("deadline", "pk")
    )


def danger_get(*, user, pk: int) -> HiddenDanger:
    return (
        danger_list(user=user)
        .select_related("inspection__inspector", "raised_by", "customer__org_unit")
        .prefetch_related(
            Prefetch("events", queryset=DangerEvent.objects.select_related("actor").order_by("at", "pk")),
            Prefetch("reinspections", queryset=Inspection.objects.select_related("inspector").order_by("date", "pk")),
        )
        .get(pk=pk)
    )


def portal_dangers(*, user) -> QuerySet[HiddenDanger]:
    """A portal user's customers' dangers, open ones first."""
    return danger_list(user=user).order_by(
        models.Case(models.When(status=DangerStatus.CLOSED, then=Value(1)), default=Value(0)), "deadline", "pk"
    )


class DangerFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=gettext_lazy("Search"))
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices, label=gettext_lazy("Severity"))
    status = django_filters.MultipleChoiceFilter(choices=DangerStatus.choices, label=gettext_lazy("Status"))
    open = django_filters.BooleanFilter(method="filter_open", label=gettext_lazy("Open"))
    overdue = django_filters.BooleanFilter(field_name="overdue", label=gettext_lazy("Overdue"))
    customer = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(queryset=Customer.objects.all(), label=gettext_lazy("Customer"))
    )
    manager = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(
            queryset=User.objects.all(), method="filter_manager", label=gettext_lazy("Account manager")
        )
    )

    class Meta:
        model = HiddenDanger
        fields = ["q", "severity", "status", "open", "overdue", "customer", "manager"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = getattr(self.request, "user", None)
        fields = self.form.fields
        if user is not None and user.is_authenticated:
            fields["customer"].queryset = Customer.objects.visible_to(user)
            fields["manager"].queryset = (
                User.objects.visible_to(user)
                .filter(assignments__role=AssignmentRole.MANAGER)
                .distinct()
                .order_by("display_name", "username")
            )
        _bootstrap(self.form)

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__icontains=value) | Q(customer__name__icontains=value) | Q(description__icontains=value)
        )

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.exclude(status=DangerStatus.CLOSED) if value else queryset.filter(status=DangerStatus.CLOSED)

    def filter_manager(self, queryset, name, value):
        current = AccountAssignment.objects.filter(role=AssignmentRole.MANAGER, end_date__isnull=True, user=value)
        return queryset.filter(customer__in=current.values("customer"))


AGE_BANDS: tuple[tuple[str, int | None], ...] = (
    (DangerAge.WEEK, 7),
    (DangerAge.MONTH, 30),
    (DangerAge.QUARTER, 90),
    (DangerAge.OLDER, None),
)


def danger_chart(dangers: QuerySet[HiddenDanger], *, today: dt.date | None = None) -> dict:
    """Open dangers of ``dangers`` counted by severity and age band (days since the inspection found them); one
    grouped query."""
    today = today or timezone.localdate()
    whens = [
        models.When(inspection__date__gte=today - dt.timedelta(days=days), then=Value(band.value))
        for band, days in AGE_BANDS
        if days is not None
    ]
    rows = (
        dangers.exclude(status=DangerStatus.CLOSED)
        .order_by()
        .annotate(
            band=models.Case(*whens, default=Value(DangerAge.OLDER.value), output_field=models.CharField()),
        )
        .values("severity", "band")
        .annotate(n=Count("pk"))
    )
    counts = {(r["severity"], r["band"]): r["n"] for r in rows}
    return {
        "bands": [str(label) for label in DangerAge.labels],
        "series": [
            {
                "code": code,
                "name": str(label),
                "data": [counts.get((code, band), 0) for band in DangerAge.values],
            }
            for code, label in Severity.choices
        ],
        "total": sum(counts.values()),
    }


# --- Emergency power ------------------------------------------------------------------------------------------------


def emergency_ratio() -> Decimal:
    return Decimal(str(settings.GRIDKAM["EMERGENCY_POWER_MIN_RATIO"]))


def emergency_power_gaps(*, user) -> QuerySet[Customer]:
    """Important users the user sees whose emergency power is missing (0), whose security load is unknown (0), or
    whose emergency power is below security load × the ratio; with ``required_kw`` and ``shortfall_kw`` (None when
    the security load is unknown: the shortfall cannot be told, and is never negative)."""
    ratio = Value(emergency_ratio(), output_field=DECIMAL)
    return (
        Customer.objects.visible_to(user)
        .filter(importance_class__in=IMPORTANT)
        .select_related("org_unit")
        .annotate(required_kw=models.ExpressionWrapper(F("security_load_kw") * ratio, output_field=DECIMAL))
        .filter(Q(emergency_power_kw__lte=0) | Q(security_load_kw__lte=0) | Q(emergency_power_kw__lt=F("required_kw")))
        .annotate(
            shortfall_kw=models.Case(
                models.When(security_load_kw__gt=0, then=F("required_kw") - F("emergency_power_kw")),
                default=Value(None),
                output_field=DECIMAL,
            ),
            manager_name=_manager_name(),
        )
        .order_by("importance_class", "name", "pk")
    )


class EmergencyFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=gettext_lazy("Search"))
    importance_class = django_filters.ChoiceFilter(
        choices=[(c, label) for c, label in ImportanceClass.choices if c in IMPORTANT],
        label=gettext_lazy("Importance class"),
    )

    class Meta:
        model = Customer
        fields = ["q", "importance_class"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap(self.form)

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(name_initials__icontains=value)) if value else queryset
