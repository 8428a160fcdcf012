"""API building blocks shared by every app (role permissions, safe lookups, filtering that never
reaches the database with a value it cannot hold) and the org-unit endpoint."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from decimal import Decimal

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import IntegerField, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from django_filters import utils as filter_utils
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.drainage import has_override, set_override
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.filters import OrderingFilter

from gridkam.users.choices import Role
from gridkam.users.permissions import is_active_user, manages_portfolios

from .choices import OrgUnitKind
from .models import OrgUnit
from .services import org_unit_save

# The largest value a 64-bit primary key holds; SQLite raises OverflowError past it instead of
# answering "no such row", so ids from outside are bounded before they reach a query.
MAX_DB_ID = 2**63 - 1

# Roles whose work includes changing master data. Billing clerks and customer users read only.
WRITER_ROLES = {Role.ADMINISTRATOR, Role.SUPERVISOR, Role.ACCOUNT_MANAGER, Role.FIELD_ENGINEER}


def service_call(func, **kwargs):
    """Call a service from an API view: PermissionError → 403, Django's ValidationError → 400 with field errors."""
    try:
        return func(**kwargs)
    except PermissionError as error:
        raise PermissionDenied(str(error)) from None
    except DjangoValidationError as error:
        raise ValidationError(
            error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
        ) from None


class IsStaff(permissions.BasePermission):
    """Utility staff: everyone but the customers' own portal users."""

    message = _("This is available to utility staff only.")

    def has_permission(self, request, view) -> bool:
        return is_active_user(request.user) and not request.user.is_customer_user


class IsAdministrator(permissions.BasePermission):
    message = _("Only administrators may do this.")

    def has_permission(self, request, view) -> bool:
        return is_active_user(request.user) and request.user.is_administrator


class IsSupervisorOrAdministrator(permissions.BasePermission):
    message = _("Only supervisors and administrators may do this.")

    def has_permission(self, request, view) -> bool:
        return manages_portfolios(request.user)


class ReadOrWriterRole(permissions.BasePermission):
    """Anyone signed in reads (visibility narrows what); creating needs a role that edits master data.

    Writes to an existing row are left to the object check (EditableByUser), so that a row the user
    cannot see answers 404 before any 403.
    """

    message = _("Your role may read this data but not change it.")

    def has_permission(self, request, view) -> bool:
        if not is_active_user(request.user):
            return False
        if request.method in permissions.SAFE_METHODS or getattr(view, "detail", False):
            return True
        return request.user.is_administrator or request.user.role in WRITER_ROLES


class EditableByUser(permissions.BasePermission):
    """Writes to one row need the row in ``Model.objects.editable_by(user)``.

    The view fetches the row from the visible queryset first, so a row the user cannot see is a 404
    and only a visible, read-only row becomes this 403.
    """

    message = _("You may see this record but not change it.")

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return type(obj).objects.editable_by(request.user).filter(pk=obj.pk).exists()


class SafeLookupMixin:
    """Looks one row up by a validated URL value, in the visible queryset only.

    A non-numeric or oversized id (or a NUL byte, which PostgreSQL refuses in text) answers 404 like
    any other id the user cannot see, instead of a database error. List filters and ordering do not
    apply to one row: they belong to the list (and ``?ordering=`` on a list-only annotation would
    otherwise break a detail request).
    """

    lookup_pattern = re.compile(r"\d{1,18}")

    def lookup_value(self) -> str:
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        value = str(self.kwargs.get(lookup_url_kwarg, ""))
        if not self.lookup_pattern.fullmatch(value):
            raise NotFound()
        return value

    def get_object(self):
        obj = get_object_or_404(self.get_queryset(), **{self.lookup_field: self.lookup_value()})
        self.check_object_permissions(self.request, obj)
        return obj


class BoundedFilterBackend(filters.DjangoFilterBackend):
    """The shared FilterSets, with one more check: numbers beyond any id answer 400, not a crash."""

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise filter_utils.translate_validation(filterset.errors)
        errors = {
            name: [_("Ensure this value is less than or equal to %(limit)s.") % {"limit": MAX_DB_ID}]
            for name, value in filterset.form.cleaned_data.items()
            if isinstance(value, int | Decimal) and abs(value) > MAX_DB_ID
        }
        if errors:
            raise ValidationError(errors)
        return filterset.qs


class BoundedFilterSchema(DjangoFilterExtension):
    """drf-spectacular's django-filter support, taught one case it cannot guess: a model-choice filter
    applied through a method (e.g. ``manager``) takes the id of a row, not a field of the list's model."""

    target_class = "gridkam.core.api_views.BoundedFilterBackend"
    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        if (
            isinstance(filter_field, django_filters.ModelChoiceFilter)
            and filter_field.method
            and not has_override(filter_field, "field")
        ):
            queryset = filter_field.queryset(None) if callable(filter_field.queryset) else filter_field.queryset
            pk = queryset.model._meta.pk
            id_type = OpenApiTypes.INT if isinstance(pk, IntegerField) else OpenApiTypes.STR
            filter_field = set_override(copy.copy(filter_field), "field", id_type)
        return super().resolve_filter_field(auto_schema, model, filterset_class, field_name, filter_field)


class StableOrderingFilter(OrderingFilter):
    """Adds the primary key as the last sort key, so pages never repeat or skip rows that tie."""

    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if not {"pk", "-pk", "id", "-id"} & set(ordering):
            ordering.append("pk")
        return ordering


DEFAULT_FILTER_BACKENDS = [BoundedFilterBackend, StableOrderingFilter]


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference to a row the requesting user may use in this write.

    ``scope(user)`` gives the rows allowed (e.g. the customers the user may edit); any other id gets
    the same "does not exist" field error, so a write does not reveal rows the user cannot see.
    ``queryset`` stays the unscoped model queryset for the schema's sake.
    """

    def __init__(self, *, scope: Callable[..., QuerySet], **kwargs):
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        request = self.context.get("request")
        if request is None or not is_active_user(request.user):
            return self.queryset.none()
        return self.scope(request.user)

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", pk_value=data.replace("\x00", ""))
        if isinstance(data, int) and not isinstance(data, bool) and abs(data) > MAX_DB_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.STR)
class OptionalEmailField(serializers.EmailField):
    """An e-mail address that may be left empty. The schema says "string", because an empty value
    is not a valid ``format: email`` and clients validating responses would reject it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


class OrgUnitSerializer(serializers.ModelSerializer):
    parent = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all(), allow_null=True, required=False)
    kind = serializers.ChoiceField(choices=OrgUnitKind.choices, default=OrgUnitKind.CITY)
    depth = serializers.IntegerField(read_only=True)

    class Meta:
        model = OrgUnit
        fields = ["id", "code", "name", "kind", "parent", "path", "depth"]
        read_only_fields = ["path"]

    def create(self, validated_data) -> OrgUnit:
        return org_unit_save(unit=OrgUnit(**validated_data))

    def update(self, instance: OrgUnit, validated_data) -> OrgUnit:
        for field, value in validated_data.items():
            setattr(instance, field, value)
        return org_unit_save(unit=instance)


class OrgUnitFilterSet(filters.FilterSet):
    parent = filters.NumberFilter(field_name="parent_id", label=_("Parent unit"))

    class Meta:
        model = OrgUnit
        fields = ["kind", "parent"]


class OrgUnitViewSet(
    SafeLookupMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The organisation tree as the user sees it (own unit, below and the chain above).

    Only administrators change it: moving a unit rewrites the paths every visibility rule uses.
    """

    serializer_class = OrgUnitSerializer
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = OrgUnitFilterSet
    ordering_fields = ["path", "code", "name"]
    ordering = ["path"]

    def get_permissions(self):
        if self.action in ("create", "update", "partial_update"):
            return [IsAdministrator()]
        return [IsStaff()]

    def get_queryset(self):
        return OrgUnit.objects.visible_to(self.request.user)


def register(router) -> None:
    router.register("org-units", OrgUnitViewSet, basename="org-unit")
