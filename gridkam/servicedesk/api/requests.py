"""API of the service requests: ``/api/v1/service-requests/``.

List (filters as on the page: q, status ("open", "all" or a status), request_type, priority, channel,
assignee ("mine" or an id), customer), retrieve (with the timeline: customers' portal users get no internal
events), create (staff who see the customer; multipart with ``attachments`` files), and the POST actions
``assign``, ``handover``, ``status``, ``reply``, ``note``, ``onsite``. Field errors answer 400; a role that may
not act 403; a request out of view 404.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from gridkam.core.api_views import DEFAULT_FILTER_BACKENDS, SafeLookupMixin, ScopedPrimaryKeyRelatedField
from gridkam.core.parsers import PARSERS
from gridkam.customers.models import Customer, ElectricityAccount, MeteringPoint
from gridkam.users.models import User

from .. import services
from ..choices import Channel, Priority, RequestStatus, RequestType
from ..filters import RequestFilterSet
from ..models import RequestAttachment, RequestEvent, ServiceRequest
from ..permissions import IsStaffUser, can_act
from ..selectors import PRIORITY_RANK, request_events, requests_visible


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = RequestAttachment
        fields = ["id", "name", "content_type", "size", "internal", "uploaded_at", "url"]

    def get_url(self, obj) -> str:
        return reverse("servicedesk:attachment", args=[obj.pk])


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = RequestEvent
        fields = ["id", "kind", "at", "actor", "internal", "body", "data", "attachments"]

    def get_actor(self, obj) -> str | None:
        return str(obj.actor) if obj.actor_id else None


class RequestSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    assignee_name = serializers.SerializerMethodField()

    class Meta:
        model = ServiceRequest
        fields = [
            "id",
            "number",
            "customer",
            "customer_name",
            "account",
            "metering_point",
            "request_type",
            "channel",
            "priority",
            "title",
            "status",
            "team",
            "assignee",
            "assignee_name",
            "created_at",
            "clock",
            "response_due_at",
            "responded_at",
            "onsite_due_at",
            "onsite_at",
            "resolution_due_at",
            "resolved_at",
            "closed_at",
            "paused_at",
            "reopen_until",
        ]
        read_only_fields = fields

    def get_assignee_name(self, obj) -> str | None:
        return str(obj.assignee) if obj.assignee_id else None


class RequestDetailSerializer(RequestSerializer):
    events = serializers.SerializerMethodField()

    class Meta(RequestSerializer.Meta):
        fields = [*RequestSerializer.Meta.fields, "description", "events"]
        read_only_fields = fields

    @extend_schema_field(EventSerializer(many=True))
    def get_events(self, obj) -> list[dict]:
        request = self.context["request"]
        return EventSerializer(request_events(request=obj, user=request.user), many=True).data


class RequestCreateSerializer(serializers.Serializer):
    customer = ScopedPrimaryKeyRelatedField(
        queryset=Customer.objects.all(), scope=lambda user: Customer.objects.visible_to(user)
    )
    request_type = serializers.ChoiceField(choices=RequestType.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    account = ScopedPrimaryKeyRelatedField(
        queryset=ElectricityAccount.objects.all(),
        scope=lambda user: ElectricityAccount.objects.visible_to(user),
        required=False,
        allow_null=True,
        default=None,
    )
    metering_point = ScopedPrimaryKeyRelatedField(
        queryset=MeteringPoint.objects.all(),
        scope=lambda user: MeteringPoint.objects.visible_to(user),
        required=False,
        allow_null=True,
        default=None,
    )
    attachments = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class AssignSerializer(serializers.Serializer):
    assignee = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class HandoverSerializer(serializers.Serializer):
    to_user = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=500)


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RequestStatus.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class MessageSerializer(serializers.Serializer):
    body = serializers.CharField()
    attachments = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class OnsiteSerializer(serializers.Serializer):
    at = serializers.DateTimeField(required=False, allow_null=True, default=None)


ERRORS = {
    400: OpenApiResponse(description=gettext_lazy("Field errors.")),
    403: OpenApiResponse(description=gettext_lazy("You may not work on this request.")),
    404: OpenApiResponse(description=gettext_lazy("No such request in your view.")),
}


def _action_schema(serializer, summary, response=None):
    return extend_schema(
        request=serializer, responses={200: response or RequestDetailSerializer, **ERRORS}, summary=summary
    )


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("Service requests of the customers you see")),
    retrieve=extend_schema(summary=gettext_lazy("One service request with its timeline")),
    create=extend_schema(
        summary=gettext_lazy("Log a service request (staff)"),
        request=RequestCreateSerializer,
        responses={201: RequestDetailSerializer, **ERRORS},
    ),
)
class ServiceRequestViewSet(
    SafeLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Service requests of key accounts, routed to their account team and timed by their SLA."""

    serializer_class = RequestSerializer
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = RequestFilterSet
    ordering_fields = ["created_at", "resolution_due_at", "priority_rank", "number"]
    ordering = ["-created_at", "-pk"]
    parser_classes = PARSERS

    def get_permissions(self):
        if self.action in ("list", "retrieve"):
            return [IsAuthenticated()]
        return [IsStaffUser()]

    def get_queryset(self):
        # ``priority_rank``: 0 for urgent up to 3 for low, to sort by priority.
        return requests_visible(self.request.user).annotate(priority_rank=PRIORITY_RANK)

    def get_serializer_class(self):
        if self.action == "retrieve":
            return RequestDetailSerializer
        if self.action == "create":
            return RequestCreateSerializer
        return RequestSerializer

    def _detail(self, obj, code=status.HTTP_200_OK):
        obj = self.get_queryset().get(pk=obj.pk)
        return Response(RequestDetailSerializer(obj, context=self.get_serializer_context()).data, status=code)

    def _run(self, func, **kwargs):
        try:
            return func(**kwargs)
        except PermissionError as error:
            raise PermissionDenied(str(error)) from None
        except ValidationError as error:
            raise serializers.ValidationError(
                error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
            ) from None

    def create(self, request, *args, **kwargs):
        serializer = RequestCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        sr = self._run(services.request_create, user=request.user, **serializer.validated_data)
        return self._detail(sr, status.HTTP_201_CREATED)

    def _acting(self):
        sr = self.get_object()
        if not can_act(self.request.user, sr):
            raise PermissionDenied
        return sr

    def _valid(self, serializer_class):
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @_action_schema(AssignSerializer, gettext_lazy("Assign the request"))
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        sr = self._acting()
        data = self._valid(AssignSerializer)
        assignee = User.objects.filter(pk=data["assignee"]).first()
        self._run(services.request_assign, request=sr, assignee=assignee, user=request.user, reason=data["reason"])
        return self._detail(sr)

    @_action_schema(HandoverSerializer, gettext_lazy("Hand the request over, with a reason"))
    @action(detail=True, methods=["post"])
    def handover(self, request, pk=None):
        sr = self._acting()
        data = self._valid(HandoverSerializer)
        to_user = User.objects.filter(pk=data["to_user"]).first()
        self._run(services.request_handover, request=sr, to_user=to_user, user=request.user, reason=data["reason"])
        return self._detail(sr)

    @_action_schema(StatusSerializer, gettext_lazy("Change the status (closed → in progress reopens)"))
    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request, pk=None):
        sr = self._acting()
        data = self._valid(StatusSerializer)
        self._run(services.request_status, request=sr, status=data["status"], user=request.user, note=data["note"])
        return self._detail(sr)

    @_action_schema(MessageSerializer, gettext_lazy("Reply to the customer"))
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        sr = self._acting()
        data = self._valid(MessageSerializer)
        self._run(services.request_reply, request=sr, user=request.user, **data)
        return self._detail(sr)

    @_action_schema(MessageSerializer, gettext_lazy("Add an internal note"))
    @action(detail=True, methods=["post"])
    def note(self, request, pk=None):
        sr = self._acting()
        data = self._valid(MessageSerializer)
        self._run(services.request_note, request=sr, user=request.user, **data)
        return self._detail(sr)

    @_action_schema(OnsiteSerializer, gettext_lazy("Record the arrival on site"))
    @action(detail=True, methods=["post"])
    def onsite(self, request, pk=None):
        sr = self._acting()
        data = self._valid(OnsiteSerializer)
        self._run(services.request_onsite, request=sr, user=request.user, at=data["at"])
        return self._detail(sr)


def register(router) -> None:
    router.register("service-requests", ServiceRequestViewSet, basename="service-request")


urlpatterns: list = []
