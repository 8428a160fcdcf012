"""API of power quality under /api/v1/ (the twins of the /power-quality/ pages): ``register(router)``.

- ``GET /api/v1/power-quality-events/`` and ``/{id}/``: the events of the customers the user sees (portal users:
  their own accounts'). Filters as on the page (``q``, ``kind``, ``source``, ``severity``, ``account``,
  ``customer``, ``start_from``, ``start_to``, ``outside``, ``has_request``); ``ordering`` started_at, duration_ms,
  residual_pct.
- ``POST /api/v1/power-quality-events/``, ``PATCH /{id}/``: record or edit an event (staff who change master data).
- ``POST /api/v1/power-quality-events/report/``: a portal user reports an event (``open_request`` logs a service
  request for it).
- ``POST /api/v1/power-quality-events/{id}/open-request/``: open the event's service request; 201 when opened,
  200 with the one already linked.
- ``POST /api/v1/power-quality-imports/`` (multipart ``file``) and ``GET /{id}/``: import a monitoring export,
  all-or-nothing; the result lists every rejected row (line, column, reasons).

Field errors answer 400; a role that may not write 403; an event or import out of view 404.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from gridkam.core.api_views import DEFAULT_FILTER_BACKENDS, SafeLookupMixin, ScopedPrimaryKeyRelatedField, service_call
from gridkam.core.parsers import PARSERS
from gridkam.customers.models import ElectricityAccount, MeteringPoint
from gridkam.servicedesk.choices import Priority

from . import services
from .choices import Phase, PqKind
from .filters import PowerQualityEventFilterSet
from .imports import max_bytes, pq_import
from .models import PowerQualityEvent, PqImport
from .selectors import event_get, events_visible


class StartField(serializers.DateTimeField):
    """A start date and time; one too early to convert to UTC (near year 1) is a field error, not an overflow."""

    def enforce_timezone(self, value):
        try:
            return super().enforce_timezone(value)
        except OverflowError:
            # Only a start near year 1 or year 9999 overflows: both are outside the accepted range.
            early = value.year < services.EARLIEST_START.year
            raise serializers.ValidationError(
                services.start_too_early() if early else services.start_in_future()
            ) from None


class PowerQualityEventSerializer(serializers.ModelSerializer):
    account = ScopedPrimaryKeyRelatedField(
        queryset=ElectricityAccount.objects.all(), scope=lambda user: ElectricityAccount.objects.visible_to(user)
    )
    metering_point = ScopedPrimaryKeyRelatedField(
        queryset=MeteringPoint.objects.all(),
        scope=lambda user: MeteringPoint.objects.visible_to(user),
        required=False,
        allow_null=True,
    )
    account_no = serializers.CharField(source="account.account_no", read_only=True)
    customer = serializers.IntegerField(source="account.customer_id", read_only=True)
    customer_name = serializers.CharField(source="account.customer.name", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    severity_display = serializers.CharField(source="get_severity_display", read_only=True)
    service_request_number = serializers.CharField(source="service_request.number", read_only=True, default=None)
    started_at = StartField(label=gettext_lazy("start"))

    class Meta:
        model = PowerQualityEvent
        fields = [
            "id",
            "account",
            "account_no",
            "customer",
            "customer_name",
            "metering_point",
            "kind",
            "kind_display",
            "started_at",
            "duration_ms",
            "residual_pct",
            "value",
            "unit",
            "limit_value",
            "applied_limit",
            "phases",
            "source",
            "description",
            "production_stopped",
            "loss_yuan",
            "severity",
            "severity_display",
            "outside_tolerance",
            "service_request",
            "service_request_number",
            "import_batch",
            "created_at",
        ]
        read_only_fields = [
            "unit",
            "applied_limit",
            "source",
            "severity",
            "outside_tolerance",
            "service_request",
            "import_batch",
            "created_at",
        ]

    def _save(self, event: PowerQualityEvent) -> PowerQualityEvent:
        for name, value in self.validated_data.items():
            setattr(event, name, value)
        return service_call(services.event_save, event=event, user=self.context["request"].user)

    def create(self, validated_data) -> PowerQualityEvent:
        return self._save(PowerQualityEvent())

    def update(self, instance, validated_data) -> PowerQualityEvent:
        return self._save(instance)


class PqReportSerializer(serializers.Serializer):
    account = ScopedPrimaryKeyRelatedField(
        queryset=ElectricityAccount.objects.all(), scope=lambda user: ElectricityAccount.objects.visible_to(user)
    )
    kind = serializers.ChoiceField(choices=PqKind.choices)
    started_at = StartField()
    duration_ms = serializers.IntegerField(required=False, allow_null=True, min_value=0, default=None)
    phases = serializers.ChoiceField(choices=Phase.choices, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=2000)
    production_stopped = serializers.BooleanField(required=False, default=False)
    loss_yuan = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True, default=None
    )
    open_request = serializers.BooleanField(required=False, default=False)


class PqOpenRequestSerializer(serializers.Serializer):
    priority = serializers.ChoiceField(
        choices=Priority.choices, required=False, allow_null=True, default=None, help_text="Default: by severity."
    )


class PqImportSerializer(serializers.ModelSerializer):
    class Meta:
        model = PqImport
        fields = [
            "id",
            "file_name",
            "encoding",
            "status",
            "rows_total",
            "created_count",
            "duplicate_count",
            "rejected",
            "created_at",
        ]
        read_only_fields = fields


class PqImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()

    def validate_file(self, upload):
        if upload.size > max_bytes():
            raise serializers.ValidationError(gettext_lazy("The file is too large."))
        return upload


ERRORS = {
    400: OpenApiResponse(description=gettext_lazy("Field errors.")),
    403: OpenApiResponse(description=gettext_lazy("Your role may not do this.")),
    404: OpenApiResponse(description=gettext_lazy("Not in your view.")),
}


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("Power-quality events of the customers you see")),
    retrieve=extend_schema(summary=gettext_lazy("One power-quality event")),
    create=extend_schema(
        summary=gettext_lazy("Record a power-quality event (staff)"),
        responses={201: PowerQualityEventSerializer, **ERRORS},
    ),
    partial_update=extend_schema(
        summary=gettext_lazy("Edit a power-quality event (staff)"),
        responses={200: PowerQualityEventSerializer, **ERRORS},
    ),
)
class PowerQualityEventViewSet(
    SafeLookupMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Voltage sags, interruptions, harmonics and other power-quality events at key accounts."""

    serializer_class = PowerQualityEventSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = PowerQualityEventFilterSet
    ordering_fields = ["started_at", "duration_ms", "residual_pct"]
    ordering = ["-started_at"]
    parser_classes = PARSERS
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return events_visible(self.request.user)

    def _recorder(self) -> None:
        if not services.can_record(self.request.user):
            raise PermissionDenied

    def create(self, request, *args, **kwargs):
        self._recorder()
        return super().create(request, *args, **kwargs)

    def update(self, request, *args, **kwargs):
        event = self.get_object()
        self._recorder()
        serializer = self.get_serializer(event, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        saved = serializer.save()
        return Response(
            PowerQualityEventSerializer(
                event_get(user=request.user, pk=saved.pk), context=self.get_serializer_context()
            ).data
        )

    @extend_schema(request=PqReportSerializer, responses={201: PowerQualityEventSerializer, **ERRORS})
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def report(self, request):
        """A portal user reports an event at one of its accounts (optionally opening a service request)."""
        if not request.user.is_customer_user:
            raise PermissionDenied
        data = PqReportSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        event = service_call(services.event_report, user=request.user, **data.validated_data)
        event = event_get(user=request.user, pk=event.pk)
        return Response(
            PowerQualityEventSerializer(event, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=PqOpenRequestSerializer,
        responses={200: PowerQualityEventSerializer, 201: PowerQualityEventSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="open-request")
    def open_request(self, request, pk=None):
        """Open the event's power-quality service request (staff); 200 with the request already linked."""
        event = self.get_object()
        self._recorder()
        data = PqOpenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _request, created = service_call(
            services.event_open_request, event=event, user=request.user, priority=data.validated_data["priority"]
        )
        event = event_get(user=request.user, pk=event.pk)
        body = PowerQualityEventSerializer(event, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@extend_schema_view(
    retrieve=extend_schema(summary=gettext_lazy("One power-quality import and its rejected rows")),
    create=extend_schema(
        summary=gettext_lazy("Import a monitoring export (CSV)"),
        request={"multipart/form-data": PqImportUploadSerializer},
        responses={201: PqImportSerializer, **ERRORS},
    ),
)
class PqImportViewSet(SafeLookupMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Imports of power-quality events from monitoring exports (all-or-nothing)."""

    serializer_class = PqImportSerializer
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return PqImport.objects.visible_to(self.request.user)

    def create(self, request, *args, **kwargs):
        if not services.can_record(request.user):
            raise PermissionDenied
        data = PqImportUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        batch = service_call(pq_import, data=upload.read(), file_name=upload.name, user=request.user)
        return Response(PqImportSerializer(batch).data, status=status.HTTP_201_CREATED)


def register(router) -> None:
    router.register("power-quality-events", PowerQualityEventViewSet, basename="pq-event")
    router.register("power-quality-imports", PqImportViewSet, basename="pq-import")


urlpatterns: list = []
