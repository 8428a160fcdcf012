"""Key-account master data under /api/v1/: the API twin of the customer pages.

Reads come from the selectors (or ``visible_to``), so a row outside the user's view is a 404 here as
on the page; writes need the row in ``editable_by`` (else 403) and go through the services.
"""

from __future__ import annotations

import re

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from gridkam.core.api_views import (
    DEFAULT_FILTER_BACKENDS,
    EditableByUser,
    IsStaff,
    IsSupervisorOrAdministrator,
    ReadOrWriterRole,
    SafeLookupMixin,
)
from gridkam.users.permissions import manages_portfolios

from .. import selectors, services
from ..filters import AccountFilterSet, ContactFilterSet, CustomerFilterSet, IndustryFilterSet, MeteringPointFilterSet
from ..models import AccountAssignment, Customer, Industry, TierRule
from .serializers import (
    AccountSerializer,
    AssignmentCreateSerializer,
    AssignmentSerializer,
    ContactSerializer,
    CustomerDetailSerializer,
    CustomerListSerializer,
    CustomerWriteSerializer,
    HistoryEntrySerializer,
    IndustrySerializer,
    MeteringPointSerializer,
    ReassignResultSerializer,
    ReassignSerializer,
    TierOverrideSerializer,
    TierRuleSerializer,
)


class CanCreateCustomers(IsAuthenticated):
    message = _("Only supervisors and administrators create customers.")

    def has_permission(self, request, view) -> bool:
        return manages_portfolios(request.user)


class CanDeleteCustomer(IsAuthenticated):
    """Deleting a customer removes its whole record; only administrators may, and only rows they see."""

    message = _("Only administrators may delete customers.")

    def has_object_permission(self, request, view, obj) -> bool:
        return request.user.is_administrator


@extend_schema_view(
    list=extend_schema(summary=_("Customers the user may see, filtered like the customer list page")),
    retrieve=extend_schema(summary=_("The customer 360 picture")),
    create=extend_schema(request=CustomerWriteSerializer, responses={201: CustomerDetailSerializer}),
    update=extend_schema(request=CustomerWriteSerializer, responses={200: CustomerDetailSerializer}),
    partial_update=extend_schema(request=CustomerWriteSerializer, responses={200: CustomerDetailSerializer}),
    destroy=extend_schema(summary=_("Delete a customer entered by mistake (administrators)")),
)
class CustomerViewSet(SafeLookupMixin, viewsets.ModelViewSet):
    """Key-account customers. The list takes the filters of the customer list page; one customer
    comes as its 360 picture (key facts, accounts with metering points, contacts, current team,
    supply-requirement gaps). A customer outside your view answers 404; one you see but may not
    change answers 403 to a write."""

    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = CustomerFilterSet
    # The sortable columns of the customer list page.
    ordering_fields = ["name", "credit_code", "tier", "capacity_total_kva", "annual_energy_mwh"]
    ordering = ["name"]

    def get_permissions(self):
        if self.action == "create":
            return [CanCreateCustomers()]
        if self.action == "destroy":
            return [CanDeleteCustomer()]
        if self.action == "reassign":
            return [IsSupervisorOrAdministrator()]
        return [ReadOrWriterRole(), EditableByUser()]

    def get_queryset(self):
        if self.action == "list":
            return selectors.customer_list(user=self.request.user)
        return Customer.objects.visible_to(self.request.user)

    def get_serializer_class(self):
        return {
            "list": CustomerListSerializer,
            "retrieve": CustomerDetailSerializer,
            "create": CustomerWriteSerializer,
            "update": CustomerWriteSerializer,
            "partial_update": CustomerWriteSerializer,
            "tier_override": TierOverrideSerializer,
            "history": HistoryEntrySerializer,
            "reassign": ReassignSerializer,
        }.get(self.action, CustomerDetailSerializer)

    def _detail(self, pk: int, status_code: int = status.HTTP_200_OK) -> Response:
        customer = selectors.customer_get(user=self.request.user, pk=pk)
        return Response(CustomerDetailSerializer(customer, context=self.get_serializer_context()).data, status_code)

    def retrieve(self, request, *args, **kwargs):
        return self._detail(int(self.lookup_value()))

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = serializer.save()
        return self._detail(customer.pk, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        customer = self.get_object()
        serializer = self.get_serializer(customer, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return self._detail(customer.pk)

    def perform_destroy(self, instance: Customer) -> None:
        services.customer_delete(customer=instance)

    @extend_schema(
        request=TierOverrideSerializer,
        responses={200: CustomerDetailSerializer},
        summary=_("Set the tier by hand (with a reason), or return to the tier the rules give"),
    )
    @action(detail=True, methods=["post"], url_path="tier-override")
    def tier_override(self, request, pk=None):
        customer = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.customer_override_tier(
                customer=customer, tier=serializer.validated_data["tier"], reason=serializer.validated_data["reason"]
            )
        except DjangoValidationError as error:
            # The model calls it tier_override_reason; the client sent "reason".
            if hasattr(error, "error_dict") and "tier_override_reason" in error.error_dict:
                error.error_dict["reason"] = error.error_dict.pop("tier_override_reason")
            raise
        return self._detail(customer.pk)

    @extend_schema(responses={200: HistoryEntrySerializer(many=True)}, summary=_("Field-level change history"))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def history(self, request, pk=None):
        customer = self.get_object()
        if request.user.is_customer_user:
            # The history names staff and internal reasons; the portal shows the current picture only.
            raise PermissionDenied(_("The change history is available to utility staff only."))
        entries = selectors.customer_history(customer=customer)
        return Response(HistoryEntrySerializer(entries, many=True).data)

    @extend_schema(
        request=ReassignSerializer,
        responses={200: ReassignResultSerializer},
        summary=_("Move customers to another holder of a team role, keeping the history"),
    )
    @action(detail=False, methods=["post"], filter_backends=[])
    def reassign(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        moved = services.portfolio_reassign(**serializer.validated_data)
        return Response({"moved": moved})


class MasterDataViewSet(SafeLookupMixin, viewsets.ModelViewSet):
    """Rows owned by a customer: readable when the customer is visible, writable when it is editable."""

    permission_classes = [ReadOrWriterRole, EditableByUser]
    filter_backends = DEFAULT_FILTER_BACKENDS


class AccountViewSet(MasterDataViewSet):
    """Electricity accounts. They are never deleted (bills and readings hang on them): close one by
    setting ``status`` to ``closed``."""

    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    serializer_class = AccountSerializer
    filterset_class = AccountFilterSet
    ordering_fields = ["account_no", "name", "capacity_kva", "status"]
    ordering = ["account_no"]

    def get_queryset(self):
        return selectors.account_list(user=self.request.user)


class MeteringPointViewSet(MasterDataViewSet):
    """Metering points. Like accounts they are not deleted: readings refer to them."""

    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    serializer_class = MeteringPointSerializer
    filterset_class = MeteringPointFilterSet
    ordering_fields = ["code", "meter_no", "multiplier"]
    ordering = ["code"]

    def get_queryset(self):
        return selectors.metering_point_list(user=self.request.user)


class ContactViewSet(MasterDataViewSet):
    """The people at a customer the account team deals with; one primary contact per role (a new
    primary demotes the previous one)."""

    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet
    ordering_fields = ["name", "role"]
    ordering = ["customer", "role", "-is_primary", "name"]

    def get_queryset(self):
        return selectors.contact_list(user=self.request.user)

    def perform_destroy(self, instance) -> None:
        services.contact_delete(contact=instance)


class AssignmentFilterSet(django_filters.FilterSet):
    """Filters of the assignment list (no UI page lists assignments; the 360 page shows the team)."""

    customer = django_filters.NumberFilter(field_name="customer_id", label=_("Customer"))
    user = django_filters.NumberFilter(field_name="user_id", label=_("Staff member"))

    class Meta:
        model = AccountAssignment
        fields = ["customer", "role", "user"]


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "all",
                OpenApiTypes.BOOL,
                description=_("Include ended assignments (the team history); current ones only by default."),
            )
        ]
    ),
    create=extend_schema(request=AssignmentCreateSerializer, responses={201: AssignmentSerializer}),
)
class AssignmentViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Who serves which customer in which role. Creating one ends the previous holder's term."""

    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = AssignmentFilterSet
    ordering_fields = ["start_date", "end_date", "role"]
    ordering = ["customer__name", "role", "-start_date"]

    def get_permissions(self):
        if self.action == "create":
            return [IsSupervisorOrAdministrator()]
        return [IsStaff()]

    def get_serializer_class(self):
        return AssignmentCreateSerializer if self.action == "create" else AssignmentSerializer

    def include_ended(self) -> bool:
        return self.request.query_params.get("all", "").strip().lower() in {"1", "true", "yes", "on"}

    def get_queryset(self):
        return selectors.assignment_list(user=self.request.user, current_only=not self.include_ended())

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assignment: AccountAssignment = serializer.save()
        data = AssignmentSerializer(assignment, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)


class IndustryViewSet(SafeLookupMixin, viewsets.ReadOnlyModelViewSet):
    """The GB/T 4754-2017 industry classification (sections, divisions, groups and classes)."""

    lookup_pattern = re.compile(r"[A-Za-z0-9]{1,8}")
    queryset = Industry.objects.all()
    serializer_class = IndustrySerializer
    permission_classes = [IsStaff]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = IndustryFilterSet
    ordering_fields = ["code", "name"]
    ordering = ["code"]

    def lookup_value(self) -> str:
        # Codes are upper case (C3110); a lower-case link still finds its class.
        return super().lookup_value().upper()


@extend_schema_view(
    update=extend_schema(summary=_("Change a tier rule; every customer's tier is recomputed at once")),
    partial_update=extend_schema(summary=_("Change a tier rule; every customer's tier is recomputed at once")),
)
class TierRuleViewSet(
    SafeLookupMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The thresholds that give each tier. Supervisors and administrators change them."""

    queryset = TierRule.objects.all()
    serializer_class = TierRuleSerializer
    filter_backends = []

    def get_permissions(self):
        if self.action in ("update", "partial_update"):
            return [IsSupervisorOrAdministrator()]
        return [IsStaff()]

    def get_queryset(self):
        return TierRule.objects.order_by("pk")


def register(router) -> None:
    router.register("customers", CustomerViewSet, basename="customer")
    router.register("accounts", AccountViewSet, basename="account")
    router.register("metering-points", MeteringPointViewSet, basename="metering-point")
    router.register("contacts", ContactViewSet, basename="contact")
    router.register("assignments", AssignmentViewSet, basename="assignment")
    router.register("industries", IndustryViewSet, basename="industry")
    router.register("tier-rules", TierRuleViewSet, basename="tier-rule")
