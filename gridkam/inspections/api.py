"""API of the inspections part under /api/v1/ (the twins of the /inspections/ pages): ``register(router)``.

- ``GET /api/v1/inspection-intervals/``, ``PATCH /api/v1/inspection-intervals/{id}/``: the plan rules (staff read;
  supervisors and administrators change ``interval_months``).
- ``GET /api/v1/inspection-due/``: customers with ``last_inspection``, ``interval_months``, ``next_due`` and
  ``overdue`` (filters ``q``, ``tier``, ``importance_class``, ``overdue``, ``due_before``).
- ``GET /api/v1/inspections/``, ``GET /api/v1/inspections/{id}/``, ``POST /api/v1/inspections/``: inspections with
  their checklist, photos (links to the access-checked page) and dangers; create records one with its checklist
  ``items`` (every standard item once) and the ``dangers`` raised from failed items. Photos are added on the page.
- ``GET /api/v1/hidden-dangers/`` (filters ``q``, ``severity``, ``status``, ``open``, ``overdue``, ``customer``,
  ``manager``; ``ordering``), ``GET /api/v1/hidden-dangers/{id}/``: portal users see their customers' dangers,
  read-only. ``POST …/{id}/deliver-notice/``, ``…/{id}/advance/``, ``…/{id}/reinspect/``: the lifecycle (staff who
  record inspections). ``GET /api/v1/hidden-dangers/chart/``: open dangers by severity and age band.
- ``GET /api/v1/emergency-power-gaps/``: important users without adequate emergency power.

Staff-only endpoints answer 403 to portal users; an object the user does not see is a 404.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from gridkam.core.api_views import DEFAULT_FILTER_BACKENDS, IsStaff, SafeLookupMixin, ScopedPrimaryKeyRelatedField
from gridkam.customers.choices import ImportanceClass, Tier
from gridkam.customers.models import Customer
from gridkam.users.models import User

from .choices import ChecklistItem, CheckResult, DangerStatus, InspectionKind, LegalBasis, Severity
from .models import HiddenDanger, Inspection, InspectionInterval
from .selectors import (
    DangerFilterSet,
    DueFilterSet,
    EmergencyFilterSet,
    InspectionFilterSet,
    danger_chart,
    danger_list,
    due_inspections,
    emergency_power_gaps,
    inspection_details,
    inspection_get,
    inspection_list,
)
from .services import (
    DangerInput,
    danger_advance,
    danger_deliver_notice,
    danger_reinspect,
    inspection_record,
    intervals_save,
    may_edit_rules,
    may_record,
)


def _call(func, **kwargs):
    try:
        return func(**kwargs)
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc)) from None
    except DjangoValidationError as exc:
        raise ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        ) from None


def _recorders(user):
    return User.objects.visible_to(user).filter(is_active=True)


# --- Plan ---------------------------------------------------------------------------------------------------------


class InspectionIntervalSerializer(serializers.ModelSerializer):
    tier = serializers.ChoiceField(choices=Tier.choices, read_only=True)
    importance_class = serializers.ChoiceField(choices=ImportanceClass.choices, read_only=True)

    class Meta:
        model = InspectionInterval
        fields = ["id", "tier", "importance_class", "interval_months", "updated_at"]
        read_only_fields = ["id", "tier", "importance_class", "updated_at"]


class InspectionIntervalViewSet(
    SafeLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    """The inspection plan: months between periodic inspections per tier and importance class."""

    serializer_class = InspectionIntervalSerializer
    permission_classes = [IsStaff]
    queryset = InspectionInterval.objects.order_by("importance_class", "tier")
    pagination_class = None

    def perform_update(self, serializer):
        if not may_edit_rules(self.request.user):
            raise PermissionDenied
        row = serializer.instance
        months = serializer.validated_data.get("interval_months", row.interval_months)
        _call(intervals_save, values={(row.tier, row.importance_class): months}, user=self.request.user)
        row.refresh_from_db()


class DueSerializer(serializers.ModelSerializer):
    tier = serializers.ChoiceField(choices=Tier.choices)
    importance_class = serializers.ChoiceField(choices=ImportanceClass.choices)
    manager_name = serializers.CharField(allow_null=True)
    interval_months = serializers.IntegerField()
    last_inspection = serializers.DateField(allow_null=True)
    next_due = serializers.DateField(allow_null=True, help_text="Null: never inspected, due now.")
    overdue = serializers.BooleanField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "tier",
            "importance_class",
            "manager_name",
            "interval_months",
            "last_inspection",
            "next_due",
            "overdue",
        ]
        read_only_fields = fields


class InspectionDueViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Customers with their next periodic inspection (never inspected and soonest due first)."""

    serializer_class = DueSerializer
    permission_classes = [IsStaff]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = DueFilterSet
    ordering_fields = ["name", "last_inspection"]

    def get_queryset(self):
        return due_inspections(user=self.request.user)


# --- Inspections ----------------------------------------------------------------------------------------------------


class ItemSerializer(serializers.Serializer):
    item = serializers.ChoiceField(choices=ChecklistItem.choices)
    result = serializers.ChoiceField(choices=CheckResult.choices)
    remark = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class PhotoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.SerializerMethodField()

    def get_url(self, photo) -> str:
        return f"/inspections/photos/{photo.pk}/"


class DangerBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.choices)
    status = serializers.ChoiceField(choices=DangerStatus.choices)


class InspectionSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=InspectionKind.choices)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    inspector_name = serializers.CharField(source="inspector.__str__", read_only=True)
    failed = serializers.IntegerField(read_only=True)
    danger_count = serializers.IntegerField(read_only=True)
    items = serializers.SerializerMethodField()
    photos = serializers.SerializerMethodField()
    dangers = serializers.SerializerMethodField()

    class Meta:
        model = Inspection
        fields = [
            "id",
            "customer",
            "customer_name",
            "date",
            "kind",
            "inspector",
            "inspector_name",
            "conclusion",
            "danger",
            "failed",
            "danger_count",
            "items",
            "photos",
            "dangers",
        ]
        read_only_fields = fields

    def _detail(self, inspection) -> bool:
        return "items" in getattr(inspection, "_prefetched_objects_cache", {})

    @extend_schema(responses=ItemSerializer(many=True))
    def get_items(self, inspection) -> list[dict]:
        if not self._detail(inspection):
            return []
        return ItemSerializer(inspection.items.all(), many=True).data

    @extend_schema(responses=PhotoSerializer(many=True))
    def get_photos(self, inspection) -> list[dict]:
        return PhotoSerializer(inspection.photos.all(), many=True).data if self._detail(inspection) else []

    @extend_schema(responses=DangerBriefSerializer(many=True))
    def get_dangers(self, inspection) -> list[dict]:
        return DangerBriefSerializer(inspection.dangers.all(), many=True).data if self._detail(inspection) else []


class DangerInputSerializer(serializers.Serializer):
    item = serializers.ChoiceField(choices=ChecklistItem.choices, required=False, allow_blank=True, default="")
    severity = serializers.ChoiceField(choices=Severity.choices)
    description = serializers.CharField(max_length=2000)
    legal_basis = serializers.ChoiceField(choices=LegalBasis.choices, required=False, allow_blank=True, default="")
    legal_basis_text = serializers.CharField(required=False, allow_blank=True, default="")
    requirement = serializers.CharField(required=False, allow_blank=True, default="")
    deadline = serializers.DateField(required=False, allow_null=True, default=None)


class InspectionCreateSerializer(serializers.Serializer):
    customer = ScopedPrimaryKeyRelatedField(
        queryset=Customer.objects.all(), scope=lambda user: Customer.objects.visible_to(user)
    )
    date = serializers.DateField()
    kind = serializers.ChoiceField(choices=[InspectionKind.PERIODIC, InspectionKind.SPECIAL])
    inspector = ScopedPrimaryKeyRelatedField(queryset=User.objects.all(), scope=_recorders, required=False)
    conclusion = serializers.CharField(required=False, allow_blank=True, default="")
    items = ItemSerializer(many=True)
    dangers = DangerInputSerializer(many=True, required=False, default=list)


class InspectionViewSet(SafeLookupMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Safety inspections of the customers the user sees (staff)."""

    serializer_class = InspectionSerializer
    permission_classes = [IsStaff]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = InspectionFilterSet
    ordering_fields = ["date"]
    ordering = ["-date"]

    def get_queryset(self):
        if self.action == "retrieve":
            return inspection_details(user=self.request.user)
        return inspection_list(user=self.request.user)

    @extend_schema(request=InspectionCreateSerializer, responses={201: InspectionSerializer, 400: OpenApiTypes.OBJECT})
    def create(self, request, *args, **kwargs):
        if not may_record(request.user):
            raise PermissionDenied
        data = InspectionCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        items = values["items"]
        results = {row["item"]: (row["result"], row.get("remark", "")) for row in items}
        if len(results) != len(items):
            raise ValidationError({"items": [_("Give each checklist item once.")]})
        inspection = _call(
            inspection_record,
            customer=values["customer"],
            date=values["date"],
            kind=values["kind"],
            inspector=values.get("inspector") or request.user,
            user=request.user,
            results=results,
            conclusion=values["conclusion"],
            dangers=[DangerInput(**d) for d in values["dangers"]],
        )
        inspection = inspection_get(user=request.user, pk=inspection.pk)
        return Response(InspectionSerializer(inspection).data, status=201)


# --- Dangers --------------------------------------------------------------------------------------------------------


class HiddenDangerSerializer(serializers.ModelSerializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    status = serializers.ChoiceField(choices=DangerStatus.choices)
    legal_basis = serializers.ChoiceField(choices=LegalBasis.choices)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    found_on = serializers.DateField(source="inspection.date", read_only=True)
    manager_name = serializers.CharField(read_only=True, allow_null=True)
    overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = HiddenDanger
        fields = [
            "id",
            "number",
            "customer",
            "customer_name",
            "inspection",
            "found_on",
            "item",
            "description",
            "severity",
            "legal_basis",
            "legal_basis_text",
            "requirement",
            "deadline",
            "status",
            "overdue",
            "notice_delivered_on",
            "notice_signed_by",
            "escalation_level",
            "escalated_on",
            "closed_on",
            "manager_name",
        ]
        read_only_fields = fields

    # The utility's internal follow-up: left out for portal (customer) users.
    STAFF_ONLY = ("escalation_level", "escalated_on", "manager_name")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and getattr(request.user, "is_customer_user", False):
            for name in self.STAFF_ONLY:
                self.fields.pop(name, None)


class NoticeSerializer(serializers.Serializer):
    delivered_on = serializers.DateField()
    signed_by = serializers.CharField(max_length=100)


class AdvanceSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[DangerStatus.RECTIFYING, DangerStatus.REINSPECTION])
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ReinspectSerializer(serializers.Serializer):
    date = serializers.DateField()
    passed = serializers.BooleanField()
    remark = serializers.CharField(required=False, allow_blank=True, default="")
    new_deadline = serializers.DateField(required=False, allow_null=True, default=None)
    inspector = ScopedPrimaryKeyRelatedField(queryset=User.objects.all(), scope=_recorders, required=False)


class ChartSeriesSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=Severity.choices)
    name = serializers.CharField()
    data = serializers.ListField(child=serializers.IntegerField(), help_text="Open dangers per age band.")


class ChartSerializer(serializers.Serializer):
    bands = serializers.ListField(child=serializers.CharField())
    series = ChartSeriesSerializer(many=True)
    total = serializers.IntegerField()


class HiddenDangerViewSet(SafeLookupMixin, viewsets.ReadOnlyModelViewSet):
    """Hidden dangers of the customers the user sees (portal users: their own customers', read-only)."""

    serializer_class = HiddenDangerSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = DangerFilterSet
    ordering_fields = ["deadline", "number", "severity"]
    ordering = ["deadline"]

    def get_queryset(self):
        return danger_list(user=self.request.user)

    def _recorder(self) -> None:
        if not may_record(self.request.user):
            raise PermissionDenied

    def _done(self, danger):
        danger = danger_list(user=self.request.user).get(pk=danger.pk)
        return Response(HiddenDangerSerializer(danger, context=self.get_serializer_context()).data)

    @extend_schema(request=NoticeSerializer, responses={200: HiddenDangerSerializer, 400: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path="deliver-notice")
    def deliver_notice(self, request, pk=None):
        """Record the delivery of the rectification notice and who signed for it."""
        danger = self.get_object()
        self._recorder()
        data = NoticeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _call(danger_deliver_notice, danger=danger, user=request.user, **data.validated_data)
        return self._done(danger)

    @extend_schema(request=AdvanceSerializer, responses={200: HiddenDangerSerializer, 400: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def advance(self, request, pk=None):
        """The customer rectifies, or reports the danger rectified (waiting for re-inspection)."""
        danger = self.get_object()
        self._recorder()
        data = AdvanceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _call(
            danger_advance,
            danger=danger,
            to=data.validated_data["status"],
            note=data.validated_data["note"],
            user=request.user,
        )
        return self._done(danger)

    @extend_schema(request=ReinspectSerializer, responses={200: HiddenDangerSerializer, 400: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def reinspect(self, request, pk=None):
        """Record the re-inspection: passed closes the danger, failed sets ``new_deadline``."""
        danger = self.get_object()
        self._recorder()
        data = ReinspectSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        _call(
            danger_reinspect,
            danger=danger,
            user=request.user,
            inspector=values.get("inspector") or request.user,
            date=values["date"],
            passed=values["passed"],
            remark=values["remark"],
            new_deadline=values["new_deadline"],
        )
        return self._done(danger)

    @extend_schema(responses=ChartSerializer)
    @action(detail=False, methods=["get"], pagination_class=None)
    def chart(self, request):
        """Open dangers of the filter by severity and age band (days since found)."""
        if request.user.is_customer_user:
            raise PermissionDenied
        return Response(ChartSerializer(danger_chart(self.filter_queryset(self.get_queryset()))).data)


# --- Emergency power ------------------------------------------------------------------------------------------------


class EmergencyGapSerializer(serializers.ModelSerializer):
    importance_class = serializers.ChoiceField(choices=ImportanceClass.choices)
    manager_name = serializers.CharField(allow_null=True)
    required_kw = serializers.DecimalField(max_digits=14, decimal_places=3)
    # Null when the security load is unknown (the shortfall cannot be told).
    shortfall_kw = serializers.DecimalField(max_digits=14, decimal_places=3, allow_null=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "importance_class",
            "manager_name",
            "security_load_kw",
            "emergency_power_kw",
            "required_kw",
            "shortfall_kw",
        ]
        read_only_fields = fields


class EmergencyPowerGapViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Important users whose self-provided emergency power is missing or below the required share of the
    security load (``EMERGENCY_POWER_MIN_RATIO``)."""

    serializer_class = EmergencyGapSerializer
    permission_classes = [IsStaff]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = EmergencyFilterSet
    ordering_fields = ["name", "shortfall_kw"]

    def get_queryset(self):
        return emergency_power_gaps(user=self.request.user)


def register(router) -> None:
    router.register("inspection-intervals", InspectionIntervalViewSet, basename="inspection-interval")
    router.register("inspection-due", InspectionDueViewSet, basename="inspection-due")
    router.register("inspections", InspectionViewSet, basename="inspection")
    router.register("hidden-dangers", HiddenDangerViewSet, basename="hidden-danger")
    router.register("emergency-power-gaps", EmergencyPowerGapViewSet, basename="emergency-power-gap")


urlpatterns: list = []
