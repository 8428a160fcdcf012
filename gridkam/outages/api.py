"""API of the outage part under /api/v1/ (the twins of the /outages/ pages): ``register(router)``.

- ``/outages/``: list (filters as on the page: ``q``, ``kind``, ``status``, ``feeder``, ``start_from``, ``start_to``,
  ``late``; ``ordering`` planned_start, number), detail, create and change (supervisors and administrators; draft or
  announced outages). Actions: ``POST {id}/announce/`` (``late_reason`` when late), ``POST {id}/finish/``
  (``actual_start``, ``actual_end``), ``POST {id}/cancel/`` (``reason``), ``GET {id}/affected/``.
- ``/outage-notices/``: the notices of the customers the user sees (portal users: their own); ``POST
  {id}/acknowledge/`` (portal users; staff give ``person``, who confirmed on the phone); ``POST {id}/follow-up/``
  (staff of the account team: ``kind`` request or visit, ``description``, ``visited_on``).
- ``/feeders/`` (read), ``/account-supplies/`` (read; create and delete by supervisors and administrators;
  ``POST import/`` with a ``file``).

Staff endpoints answer 403 to portal users; an object the user does not see is a 404.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from gridkam.core.api_views import DEFAULT_FILTER_BACKENDS, IsStaff, SafeLookupMixin, service_call
from gridkam.core.parsers import NulSafeMultiPartParser
from gridkam.customers.models import ElectricityAccount

from .bounds import BoundedDateTimeSerializerField
from .choices import FollowUpKind, OutageKind, OutageStatus
from .models import AccountSupply, Feeder, Outage, OutageNotice
from .selectors import (
    FeederFilterSet,
    NoticeFilterSet,
    OutageFilterSet,
    SupplyFilterSet,
    affected_accounts,
    feeder_list,
    notice_list,
    outage_feeder_ids,
    outage_list,
    supply_list,
)
from .services import (
    can_follow_up,
    can_plan,
    notice_acknowledge,
    notice_closed_reason,
    notice_follow_up,
    outage_announce,
    outage_cancel,
    outage_record_actual,
    outage_save,
    supplies_import,
    supply_delete,
    supply_save,
)


class VisibleFeederField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Feeder.objects.visible_to(self.context["request"].user)


class VisibleAccountField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return ElectricityAccount.objects.visible_to(self.context["request"].user)


class FeederSerializer(serializers.ModelSerializer):
    substation_name = serializers.CharField(source="substation.name", read_only=True)
    voltage_kv = serializers.CharField(source="substation.voltage_kv", read_only=True)
    account_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Feeder
        fields = ["id", "code", "name", "substation", "substation_name", "voltage_kv", "account_count"]
        read_only_fields = fields


class OutageSerializer(serializers.ModelSerializer):
    feeders = VisibleFeederField(many=True)
    planned_start = BoundedDateTimeSerializerField()
    planned_end = BoundedDateTimeSerializerField()
    feeder_codes = serializers.SerializerMethodField()
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    notice_count = serializers.IntegerField(read_only=True)
    unacknowledged = serializers.IntegerField(read_only=True)

    class Meta:
        model = Outage
        fields = [
            "id",
            "number",
            "kind",
            "kind_display",
            "status",
            "status_display",
            "feeders",
            "feeder_codes",
            "planned_start",
            "planned_end",
            "reason",
            "scope",
            "announced_at",
            "lead_breach",
            "late_reason",
            "actual_start",
            "actual_end",
            "duration_minutes",
            "cancel_reason",
            "notice_count",
            "unacknowledged",
        ]
        read_only_fields = [
            "number",
            "status",
            "announced_at",
            "lead_breach",
            "late_reason",
            "actual_start",
            "actual_end",
            "duration_minutes",
            "cancel_reason",
        ]

    def get_feeder_codes(self, outage) -> list[str]:
        return [f.code for f in outage.feeders.all()]


class AnnounceSerializer(serializers.Serializer):
    late_reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class AnnounceSummarySerializer(serializers.Serializer):
    notices = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    late = serializers.IntegerField(help_text="Notices told later than the commitments.")
    withdrawn = serializers.IntegerField(
        help_text="Notices withdrawn: customers no longer affected, told so (the cancellation message)."
    )


class FinishSerializer(serializers.Serializer):
    actual_start = BoundedDateTimeSerializerField()
    actual_end = BoundedDateTimeSerializerField(required=False, allow_null=True)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class AffectedSerializer(serializers.Serializer):
    account = serializers.IntegerField(source="account.pk")
    account_no = serializers.CharField(source="account.account_no")
    customer = serializers.IntegerField(source="customer.pk")
    customer_name = serializers.CharField(source="customer.name")
    importance_class = serializers.CharField(source="customer.importance_class")
    tier = serializers.CharField(source="customer.tier")
    feeders_out = serializers.SerializerMethodField()
    feeders_up = serializers.SerializerMethodField()
    backup_available = serializers.BooleanField()

    def get_feeders_out(self, item) -> list[str]:
        return [f.code for f in item.feeders_out]

    def get_feeders_up(self, item) -> list[str]:
        return [f.code for f in item.feeders_up]


class OutageViewSet(
    SafeLookupMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Outages of the feeders of the user's unit; supervisors and administrators plan and announce them."""

    serializer_class = OutageSerializer
    permission_classes = [IsStaff]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = OutageFilterSet
    ordering_fields = ["planned_start", "number"]
    ordering = ["-planned_start"]

    def get_queryset(self):
        return outage_list(user=self.request.user)

    def _planner(self) -> None:
        if not can_plan(self.request.user):
            raise PermissionDenied

    def _saved(self, serializer, outage: Outage):
        data = {k: v for k, v in serializer.validated_data.items() if k != "feeders"}
        for name, value in data.items():
            setattr(outage, name, value)
        feeders = serializer.validated_data.get("feeders")
        if feeders is None:
            feeders = list(outage.feeders.all()) if outage.pk else []
        saved = service_call(outage_save, outage=outage, feeders=feeders, user=self.request.user)
        return self.get_queryset().get(pk=saved.pk)

    def create(self, request, *args, **kwargs):
        self._planner()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outage = self._saved(serializer, Outage())
        return Response(self.get_serializer(outage).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        outage = self.get_object()
        self._planner()
        serializer = self.get_serializer(outage, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        return Response(self.get_serializer(self._saved(serializer, outage)).data)

    @extend_schema(request=AnnounceSerializer, responses={200: AnnounceSummarySerializer, 400: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def announce(self, request, pk=None):
        """Announce the outage (again): notices to the affected customers; ``late_reason`` when late."""
        outage = self.get_object()
        self._planner()
        data = AnnounceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        summary = service_call(
            outage_announce, outage=outage, user=request.user, late_reason=data.validated_data.get("late_reason", "")
        )
        return Response(AnnounceSummarySerializer(summary).data)

    @extend_schema(request=FinishSerializer, responses={200: OutageSerializer, 400: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def finish(self, request, pk=None):
        """Record the actual times: without ``actual_end`` the outage is in progress, with it finished."""
        outage = self.get_object()
        self._planner()
        data = FinishSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        service_call(
            outage_record_actual,
            outage=outage,
            actual_start=data.validated_data["actual_start"],
            actual_end=data.validated_data.get("actual_end"),
            user=request.user,
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=outage.pk)).data)

    @extend_schema(request=CancelSerializer, responses={200: OutageSerializer, 400: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a draft or announced outage (customers told are told it is cancelled)."""
        outage = self.get_object()
        self._planner()
        data = CancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        service_call(outage_cancel, outage=outage, reason=data.validated_data["reason"], user=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=outage.pk)).data)

    @extend_schema(responses=AffectedSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def affected(self, request, pk=None):
        """The affected accounts of the customers the user sees: important users first, then by tier."""
        outage = self.get_object()
        items = affected_accounts(feeder_ids=outage_feeder_ids(outage), user=request.user)
        return Response(AffectedSerializer(items, many=True).data)


class NoticeSerializer(serializers.ModelSerializer):
    outage_number = serializers.CharField(source="outage.number", read_only=True)
    outage_kind = serializers.ChoiceField(source="outage.kind", choices=OutageKind.choices, read_only=True)
    outage_status = serializers.ChoiceField(source="outage.status", choices=OutageStatus.choices, read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    reason = serializers.CharField(source="outage.reason", read_only=True)
    scope = serializers.CharField(source="outage.scope", read_only=True)
    account_nos = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = OutageNotice
        fields = [
            "id",
            "outage",
            "outage_number",
            "outage_kind",
            "outage_status",
            "customer",
            "customer_name",
            "importance_class",
            "tier",
            "account_nos",
            "backup_available",
            "version",
            "planned_start",
            "planned_end",
            "reason",
            "scope",
            "sent_at",
            "late",
            "withdrawn_at",
            "acknowledged_at",
            "ack_channel",
            "ack_person",
            "hurt",
            "follow_up_request",
            "follow_up_visit",
        ]
        read_only_fields = fields


class AcknowledgeSerializer(serializers.Serializer):
    person = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="Staff: who confirmed at the customer."
    )


class FollowUpSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=FollowUpKind.choices)
    description = serializers.CharField(max_length=2000)
    visited_on = serializers.DateField(required=False, allow_null=True)


class OutageNoticeViewSet(SafeLookupMixin, viewsets.ReadOnlyModelViewSet):
    """Outage notices of the customers the user sees; acknowledgements and follow-ups."""

    serializer_class = NoticeSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = NoticeFilterSet
    ordering_fields = ["sent_at", "planned_start"]
    ordering = ["-sent_at"]

    def get_queryset(self):
        return notice_list(user=self.request.user)

    @extend_schema(
        request=AcknowledgeSerializer,
        responses={200: NoticeSerializer, 400: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Acknowledge the notice: a portal user of the customer, or staff recording a phone call (``person``).
        A notice of a cancelled or finished outage, or a withdrawn one, answers 409 with the reason (``detail``)."""
        notice = self.get_object()
        reason = notice_closed_reason(notice)
        if reason:
            return Response({"detail": reason}, status=status.HTTP_409_CONFLICT)
        data = AcknowledgeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        service_call(notice_acknowledge, notice=notice, user=request.user, person=data.validated_data.get("person", ""))
        return Response(self.get_serializer(self.get_queryset().get(pk=notice.pk)).data)

    @extend_schema(request=FollowUpSerializer, responses={200: NoticeSerializer, 400: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path="follow-up")
    def follow_up(self, request, pk=None):
        """The customer was hurt: open a follow-up service request or record a visit (the account team)."""
        notice = self.get_object()
        if request.user.is_customer_user or not can_follow_up(request.user, notice.customer):
            raise PermissionDenied
        data = FollowUpSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        service_call(notice_follow_up, notice=notice, user=request.user, **data.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=notice.pk)).data)


class FeederViewSet(SafeLookupMixin, viewsets.ReadOnlyModelViewSet):
    """Feeders of the user's unit with the number of accounts on each."""

    serializer_class = FeederSerializer
    permission_classes = [IsStaff]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = FeederFilterSet
    ordering_fields = ["code", "account_count"]
    ordering = ["code"]

    def get_queryset(self):
        return feeder_list(user=self.request.user)


class SupplySerializer(serializers.ModelSerializer):
    account = VisibleAccountField()
    feeder = VisibleFeederField()
    account_no = serializers.CharField(source="account.account_no", read_only=True)
    customer = serializers.IntegerField(source="account.customer_id", read_only=True)
    feeder_code = serializers.CharField(source="feeder.code", read_only=True)

    class Meta:
        model = AccountSupply
        fields = ["id", "account", "account_no", "customer", "feeder", "feeder_code", "role"]
        validators: list = []  # the service reports a repeated link as a field error


class ImportFileSerializer(serializers.Serializer):
    file = serializers.FileField()


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.ListField(child=serializers.DictField(), help_text="[{line, errors: {column: [messages]}}]")


class AccountSupplyViewSet(
    SafeLookupMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Which feeders accounts hang on (main or backup)."""

    serializer_class = SupplySerializer
    permission_classes = [IsStaff]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = SupplyFilterSet
    ordering_fields = ["id"]
    ordering = ["id"]

    def get_queryset(self):
        return supply_list(user=self.request.user)

    def _planner(self) -> None:
        if not can_plan(self.request.user):
            raise PermissionDenied

    def perform_create(self, serializer):
        self._planner()
        serializer.instance = service_call(supply_save, supply=AccountSupply(**serializer.validated_data))

    def perform_destroy(self, instance):
        self._planner()
        service_call(supply_delete, supply=instance)

    @extend_schema(request={"multipart/form-data": ImportFileSerializer}, responses={200: ImportResultSerializer})
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[NulSafeMultiPartParser])
    def import_file(self, request):
        """Import account–feeder links (CSV or Excel: account_no, feeder_code, role); all or nothing."""
        self._planner()
        data = ImportFileSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = service_call(supplies_import, data=data.validated_data["file"].read(), user=request.user)
        code = status.HTTP_400_BAD_REQUEST if result["rejected"] else status.HTTP_200_OK
        return Response(ImportResultSerializer(result).data, status=code)


def register(router) -> None:
    router.register("outages", OutageViewSet, basename="outage")
    router.register("outage-notices", OutageNoticeViewSet, basename="outage-notice")
    router.register("feeders", FeederViewSet, basename="feeder")
    router.register("account-supplies", AccountSupplyViewSet, basename="account-supply")


urlpatterns: list = []
