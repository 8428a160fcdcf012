"""API of the conversations under /api/v1/ (keyed by the customer: one conversation per customer).

- ``GET conversations/`` the conversations of the customers you see with your ``unread`` count, unread first
  (filters ``q`` customer name / pinyin initials / credit code, ``unread=true``; ``ordering=unread|last_message_at|
  customer__name``); ``GET conversations/{customer}/`` one of them (404 until its first message).
- ``GET conversations/{customer}/messages/`` its messages, newest first (paginated); ``POST`` the same path sends a
  message (multipart: ``body`` and ``attachments`` files; JSON for text only) and starts the conversation if needed.
- ``GET conversations/unread/`` → ``{"unread": n}``: all your unread messages (one query).
- ``POST conversations/{customer}/read/`` marks the thread read → ``{"marked": n}`` (read receipts given).
- ``GET messages/{id}/``; ``POST messages/{id}/request/`` opens a service request from a customer's message
  (account team): ``request_type``, ``priority``, ``title`` (optional) → the message with its request.

Customers out of view answer 404 (another customer's ids included); writing where you may not 403; bad input 400
with field errors. Who reads and writes: ``gridkam.messaging.permissions``.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from gridkam.core.api_views import DEFAULT_FILTER_BACKENDS, SafeLookupMixin, service_call
from gridkam.core.parsers import PARSERS
from gridkam.customers.models import Customer
from gridkam.servicedesk.choices import Priority, RequestType

from . import selectors, services
from .forms import ConversationFilterSet
from .models import Conversation, Message, MessageAttachment


class MessageAttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = MessageAttachment
        fields = ["id", "name", "content_type", "size", "url"]

    def get_url(self, obj) -> str:
        return reverse("messaging:attachment", args=[obj.pk])


KIND_HELP = gettext_lazy("message, or note (a line the system wrote: a service request opened from a message).")


class ConversationMessageSerializer(serializers.ModelSerializer):
    # Plain strings: several components already have an enum named after a "kind" field.
    kind = serializers.CharField(read_only=True, help_text=KIND_HELP)
    customer = serializers.IntegerField(source="conversation.customer_id", read_only=True)
    sender_name = serializers.SerializerMethodField()
    service_request_number = serializers.SerializerMethodField()
    attachments = MessageAttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "customer",
            "kind",
            "side",
            "sender",
            "sender_name",
            "body",
            "sent_at",
            "read_at",
            "service_request",
            "service_request_number",
            "attachments",
        ]
        read_only_fields = fields
        extra_kwargs = {"read_at": {"help_text": gettext_lazy("When the other side first read it (read receipt).")}}

    def get_sender_name(self, obj) -> str | None:
        return str(obj.sender) if obj.sender_id else None

    def get_service_request_number(self, obj) -> str | None:
        return obj.service_request.number if obj.service_request_id else None


class ConversationLastMessageSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True, help_text=KIND_HELP)
    sender_name = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "kind", "side", "sender_name", "body", "sent_at"]
        read_only_fields = fields

    def get_sender_name(self, obj) -> str | None:
        return str(obj.sender) if obj.sender_id else None


class ConversationSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    unread = serializers.IntegerField(
        read_only=True, help_text=gettext_lazy("Messages of the other side you have not read.")
    )
    last_message = ConversationLastMessageSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Conversation
        fields = ["id", "customer", "customer_name", "unread", "created_at", "last_message_at", "last_message"]
        read_only_fields = fields


class ConversationMessageCreateSerializer(serializers.Serializer):
    body = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=True)
    attachments = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class MessageMakeRequestSerializer(serializers.Serializer):
    request_type = serializers.ChoiceField(choices=RequestType.choices)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    title = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


ERRORS = {
    400: OpenApiResponse(description=gettext_lazy("Field errors.")),
    403: OpenApiResponse(description=gettext_lazy("You may read this conversation but not do this.")),
    404: OpenApiResponse(description=gettext_lazy("No such conversation or message in your view.")),
}


def _messages_queryset(conversation):
    return (
        Message.objects.filter(conversation=conversation)
        .select_related("conversation", "sender", "service_request")
        .prefetch_related("attachments")
        .order_by("-sent_at", "-pk")
    )


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("Conversations of the customers you see, unread first")),
    retrieve=extend_schema(summary=gettext_lazy("One customer's conversation (by customer id)")),
)
class ConversationViewSet(SafeLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A customer's conversation with its account team; ``{customer}`` is the customer's id."""

    serializer_class = ConversationSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = ConversationFilterSet
    ordering_fields = ["unread", "last_message_at", "customer__name"]
    ordering = ["-unread", "-last_message_at"]
    lookup_field = "customer"
    lookup_value_regex = r"[0-9]+"
    parser_classes = PARSERS

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Conversation.objects.none()
        return selectors.conversation_list(user=self.request.user)

    def _customer(self) -> Customer:
        try:
            return selectors.customer_for_user(user=self.request.user, pk=self.lookup_value())
        except Customer.DoesNotExist:
            raise NotFound from None

    @extend_schema(
        methods=["GET"],
        summary=gettext_lazy("Messages of the conversation, newest first"),
        responses={200: ConversationMessageSerializer(many=True), 404: ERRORS[404]},
        filters=False,
    )
    @extend_schema(
        methods=["POST"],
        summary=gettext_lazy("Send a message (multipart for attachments)"),
        request=ConversationMessageCreateSerializer,
        responses={201: ConversationMessageSerializer, **ERRORS},
        filters=False,
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def messages(self, request, *args, **kwargs):
        customer = self._customer()
        if request.method == "POST":
            serializer = ConversationMessageCreateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            message = service_call(
                services.message_send, customer=customer, user=request.user, **serializer.validated_data
            )
            message = _messages_queryset(message.conversation).get(pk=message.pk)
            return Response(ConversationMessageSerializer(message).data, status=status.HTTP_201_CREATED)
        conversation = selectors.conversation_of(customer)
        rows = _messages_queryset(conversation) if conversation else Message.objects.none()
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(ConversationMessageSerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer("ConversationMarked", fields={"marked": serializers.IntegerField()}),
            404: ERRORS[404],
        },
        summary=gettext_lazy("Mark the conversation read (gives read receipts)"),
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def read(self, request, *args, **kwargs):
        conversation = self.get_object()
        return Response({"marked": services.conversation_mark_read(conversation=conversation, user=request.user)})

    @extend_schema(
        request=None,
        responses=inline_serializer("ConversationsUnread", fields={"unread": serializers.IntegerField()}),
        summary=gettext_lazy("All your unread messages, in every conversation"),
    )
    @action(detail=False, methods=["get"], url_path="unread", filter_backends=[], pagination_class=None)
    def unread(self, request, *args, **kwargs):
        return Response({"unread": selectors.unread_total(request.user)})


class MessageViewSet(SafeLookupMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """One message of a conversation you see."""

    serializer_class = ConversationMessageSerializer
    permission_classes = [IsAuthenticated]
    parser_classes = PARSERS

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Message.objects.none()
        return (
            Message.objects.visible_to(self.request.user)
            .select_related("conversation__customer__org_unit", "sender", "service_request")
            .prefetch_related("attachments")
        )

    @extend_schema(
        request=MessageMakeRequestSerializer,
        responses={201: ConversationMessageSerializer, **ERRORS},
        summary=gettext_lazy("Open a service request from a customer's message (account team)"),
    )
    @action(detail=True, methods=["post"], url_path="request")
    def make_request(self, request, *args, **kwargs):
        message = self.get_object()
        serializer = MessageMakeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        service_call(services.message_to_request, message=message, user=request.user, **serializer.validated_data)
        message = self.get_queryset().get(pk=message.pk)
        return Response(ConversationMessageSerializer(message).data, status=status.HTTP_201_CREATED)


def register(router) -> None:
    router.register("conversations", ConversationViewSet, basename="conversation")
    router.register("messages", MessageViewSet, basename="message")


urlpatterns: list = []
