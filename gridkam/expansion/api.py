"""API of business expansion under /api/v1/ (the twins of the /expansion/ pages), for staff (portal users: 403).

- ``GET /api/v1/expansion-projects/`` and ``/{id}/``: the projects of the customers the user sees, with stages,
  clock stops and days left. Filters as on the page (``q``, ``kind``, ``stage``, ``status``, ``owner`` ("mine" or
  an id), ``overdue``, ``customer``); ``ordering`` accepted_on, due_date, number, working_days_used.
- ``POST /api/v1/expansion-projects/``: accept an application (customers the user may change).
- ``POST .../{id}/advance/``: end the current stage and start the next (``on``, ``notes``, ``breach_reason``).
- ``POST .../{id}/clock-stop/``: ``{"action": "start", "on", "reason"}`` or ``{"action": "end", "on"}``.
- ``POST .../{id}/cancel/``: ``reason``.
- ``POST .../{id}/complete/``: energisation from the last stage, with the master-data fields of the kind.
- ``GET /api/v1/expansion-time-limits/``, ``/{id}/`` (by voltage class, kind, supply mode and stage); ``PATCH``/
  ``PUT`` ``working_days`` 1 to 999 (administrators and supervisors).

A project the user does not see is a 404 for every action; one they see but may not change answers 403 to a write.
"""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from gridkam.core.api_views import DEFAULT_FILTER_BACKENDS, IsStaff, SafeLookupMixin, ScopedPrimaryKeyRelatedField
from gridkam.customers.choices import BasicChargeMethod, SupplyMode, VoltageLevel
from gridkam.customers.models import Customer, ElectricityAccount
from gridkam.tariffs.models import Tariff

from .choices import ProjectKind, Stage
from .models import ClockStop, Project, ProjectStage, TimeLimit
from .selectors import ProjectFilterSet, project_get, project_list, time_limit_list
from .services import (
    clock_stop_end,
    clock_stop_start,
    days_left,
    may_configure,
    project_cancel,
    project_complete,
    project_create,
    stage_advance,
    time_limit_save,
)


class StageDocumentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()


class ProjectStageSerializer(serializers.ModelSerializer):
    stage_display = serializers.CharField(source="get_stage_display", read_only=True)
    documents = StageDocumentRefSerializer(many=True, read_only=True)
    breached = serializers.BooleanField(read_only=True)

    class Meta:
        model = ProjectStage
        fields = [
            "stage",
            "stage_display",
            "position",
            "started_on",
            "ended_on",
            "owner",
            "limit_days",
            "due_date",
            "working_days_used",
            "breached",
            "breach_reason",
            "notes",
            "documents",
        ]
        read_only_fields = fields


class ClockStopSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClockStop
        fields = ["id", "started_on", "ended_on", "reason"]
        read_only_fields = fields


class ProjectSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    account_no = serializers.CharField(source="account.account_no", read_only=True, default=None)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    current_stage_display = serializers.CharField(source="get_current_stage_display", read_only=True)
    owner_name = serializers.CharField(source="owner.__str__", read_only=True)
    days_left = serializers.SerializerMethodField(
        help_text="Working days to the due date (negative once passed); null without a limit or when finished."
    )

    class Meta:
        model = Project
        fields = [
            "id",
            "number",
            "customer",
            "customer_name",
            "account",
            "account_no",
            "kind",
            "kind_display",
            "title",
            "requested_capacity_kva",
            "supply_mode",
            "voltage_kv",
            "new_tariff",
            "new_name",
            "status",
            "current_stage",
            "current_stage_display",
            "owner",
            "owner_name",
            "accepted_on",
            "time_limit_days",
            "working_days_used",
            "due_date",
            "days_left",
            "clock_stopped",
            "completed_on",
            "cancelled_on",
            "cancel_reason",
            "breach_reason",
        ]
        read_only_fields = fields

    def get_days_left(self, project) -> int | None:
        return days_left(project.due_date) if project.status == "in_progress" else None


class ProjectDetailSerializer(ProjectSerializer):
    stages = ProjectStageSerializer(many=True, read_only=True)
    clock_stops = ClockStopSerializer(many=True, read_only=True)

    class Meta(ProjectSerializer.Meta):
        fields = [*ProjectSerializer.Meta.fields, "stages", "clock_stops"]
        read_only_fields = fields


class ProjectCreateSerializer(serializers.Serializer):
    customer = ScopedPrimaryKeyRelatedField(
        queryset=Customer.objects.all(), scope=lambda user: Customer.objects.editable_by(user)
    )
    kind = serializers.ChoiceField(choices=ProjectKind.choices)
    account = ScopedPrimaryKeyRelatedField(
        queryset=ElectricityAccount.objects.all(),
        scope=lambda user: ElectricityAccount.objects.editable_by(user),
        required=False,
        allow_null=True,
    )
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    requested_capacity_kva = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0.01"), required=False, allow_null=True
    )
    supply_mode = serializers.ChoiceField(choices=SupplyMode.choices, default=SupplyMode.SINGLE)
    voltage_kv = serializers.ChoiceField(choices=VoltageLevel.choices)
    new_tariff = serializers.SlugRelatedField(
        slug_field="code", queryset=Tariff.objects.all(), required=False, allow_null=True
    )
    new_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    accepted_on = serializers.DateField()


class ProjectAdvanceSerializer(serializers.Serializer):
    on = serializers.DateField()
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    breach_reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class ProjectCompleteSerializer(ProjectAdvanceSerializer):
    account_no = serializers.CharField(required=False, allow_blank=True, max_length=32)
    account_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    tariff = serializers.SlugRelatedField(slug_field="code", queryset=Tariff.objects.all(), required=False)
    meter_code = serializers.CharField(required=False, allow_blank=True, max_length=32)
    meter_no = serializers.CharField(required=False, allow_blank=True, max_length=32)
    ct_ratio = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"), required=False)
    pt_ratio = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"), required=False)
    basic_charge_method = serializers.ChoiceField(choices=BasicChargeMethod.choices, required=False)
    contract_demand_kw = serializers.DecimalField(
        max_digits=12, decimal_places=3, min_value=Decimal("0.001"), required=False
    )


class ProjectClockStopSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=[("start", "start"), ("end", "end")])
    on = serializers.DateField()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class ProjectCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class ProjectViewSet(SafeLookupMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Business expansion projects of the customers the user sees; accept, advance, clock stops, cancel, complete."""

    permission_classes = [IsStaff]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = ProjectFilterSet
    ordering_fields = ["accepted_on", "due_date", "number", "working_days_used"]
    ordering = ["-accepted_on"]

    def get_queryset(self):
        qs = project_list(user=self.request.user)
        if self.action != "list":
            qs = qs.prefetch_related("stages__documents", "clock_stops")
        return qs

    def get_serializer_class(self):
        return ProjectSerializer if self.action == "list" else ProjectDetailSerializer

    def _answer(self, project, code=status.HTTP_200_OK) -> Response:
        fresh = project_get(user=self.request.user, pk=project.pk)
        return Response(ProjectDetailSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    def _data(self, serializer_class):
        data = serializer_class(data=self.request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        return {k: v for k, v in data.validated_data.items() if v not in (None, "")}

    @extend_schema(
        request=ProjectCreateSerializer,
        responses={201: ProjectDetailSerializer, 400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT},
    )
    def create(self, request, *args, **kwargs):
        project = project_create(user=request.user, **self._data(ProjectCreateSerializer))
        return self._answer(project, status.HTTP_201_CREATED)

    @extend_schema(request=ProjectAdvanceSerializer, responses={200: ProjectDetailSerializer, 400: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def advance(self, request, pk=None):
        """End the current stage and start the next (in order; the last ends with ``complete``)."""
        project = self.get_object()
        return self._answer(stage_advance(project=project, user=request.user, **self._data(ProjectAdvanceSerializer)))

    @extend_schema(
        request=ProjectClockStopSerializer, responses={200: ProjectDetailSerializer, 400: OpenApiTypes.OBJECT}
    )
    @action(detail=True, methods=["post"], url_path="clock-stop")
    def clock_stop(self, request, pk=None):
        """Stop the clock for customer time (``start``) or let it run again (``end``)."""
        project = self.get_object()
        data = self._data(ProjectClockStopSerializer)
        if data.pop("action") == "start":
            clock_stop_start(project=project, user=request.user, on=data["on"], reason=data.get("reason", ""))
        else:
            clock_stop_end(project=project, user=request.user, on=data["on"])
        return self._answer(project)

    @extend_schema(request=ProjectCancelSerializer, responses={200: ProjectDetailSerializer, 400: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        project = self.get_object()
        return self._answer(project_cancel(project=project, user=request.user, **self._data(ProjectCancelSerializer)))

    @extend_schema(
        request=ProjectCompleteSerializer, responses={200: ProjectDetailSerializer, 400: OpenApiTypes.OBJECT}
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """Energisation: the last stage ends and the account's master data changes (with history)."""
        project = self.get_object()
        return self._answer(
            project_complete(project=project, user=request.user, **self._data(ProjectCompleteSerializer))
        )


class TimeLimitSerializer(serializers.ModelSerializer):
    stage = serializers.ChoiceField(
        choices=Stage.choices, allow_blank=True, read_only=True, help_text="Blank: the limit of the whole project."
    )

    class Meta:
        model = TimeLimit
        fields = ["id", "voltage_class", "kind", "supply_mode", "stage", "working_days"]
        read_only_fields = ["id", "voltage_class", "kind", "supply_mode", "stage"]


class TimeLimitViewSet(SafeLookupMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Statutory time limits in working days by voltage class (low: below 10 kV), kind, supply mode and stage (blank:
    the whole project)."""

    serializer_class = TimeLimitSerializer
    permission_classes = [IsStaff]
    pagination_class = None

    def get_queryset(self):
        return time_limit_list()

    def perform_update(self, serializer):
        if not may_configure(self.request.user):
            raise PermissionDenied
        time_limit_save(
            limit=serializer.instance,
            # A PATCH without the field changes nothing (the limit keeps its days).
            working_days=serializer.validated_data.get("working_days", serializer.instance.working_days),
            user=self.request.user,
        )


def register(router) -> None:
    router.register("expansion-projects", ProjectViewSet, basename="expansion-project")
    router.register("expansion-time-limits", TimeLimitViewSet, basename="expansion-time-limit")


urlpatterns: list = []
