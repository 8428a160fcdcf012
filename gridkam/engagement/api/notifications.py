"""API of notifications: ``/api/v1/notifications/`` and ``/api/v1/notification-preferences/``.

- ``GET notifications/`` the user's own notifications, unread first (filters ``unread=true|false``, ``event``;
  ``ordering=created_at|event``); ``GET notifications/{id}/``; ``POST notifications/{id}/read/``;
  ``POST notifications/read-all/`` → ``{"marked": n}``. Another user's notification is a 404.
- ``GET notification-preferences/`` the effective channels of every event (``custom`` false: the defaults);
  ``GET/PUT/PATCH notification-preferences/{event}/`` with ``in_app``, ``email``, ``sms`` (PUT needs all three).
  The answer carries ``warnings`` when a channel is chosen without an address.

Every logged-in user has these (portal users included): each sees only their own rows.
"""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from gridkam.core.api_views import DEFAULT_FILTER_BACKENDS, SafeLookupMixin

from .. import notifications as service
from ..choices import NotificationChannel, NotificationEvent
from ..models import Notification
from ..notification_filters import NotificationFilterSet


class NotificationSerializer(serializers.ModelSerializer):
    unread = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "event", "title", "body", "link", "created_at", "read_at", "unread"]
        read_only_fields = fields

    def get_unread(self, obj) -> bool:
        return obj.read_at is None


class NotificationViewSet(SafeLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = NotificationSerializer
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = NotificationFilterSet
    ordering_fields = ["created_at", "event"]
    ordering = ["-unread", "-created_at"]

    def get_queryset(self):
        return service.notifications_for(self.request.user)

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, *args, **kwargs):
        notification = service.notification_mark_read(notification=self.get_object())
        return Response(NotificationSerializer(notification).data)

    @extend_schema(
        request=None,
        responses=inline_serializer("NotificationsMarked", fields={"marked": serializers.IntegerField()}),
    )
    @action(detail=False, methods=["post"], url_path="read-all", filter_backends=[])
    def read_all(self, request, *args, **kwargs):
        return Response({"marked": service.notifications_mark_all_read(user=request.user)})


class PreferenceSerializer(serializers.Serializer):
    event = serializers.ChoiceField(choices=NotificationEvent.choices, read_only=True)
    label = serializers.CharField(read_only=True)
    in_app = serializers.BooleanField()
    email = serializers.BooleanField()
    sms = serializers.BooleanField()
    custom = serializers.BooleanField(read_only=True, help_text="False: the defaults of the installation apply.")


class PreferenceAnswerSerializer(PreferenceSerializer):
    warnings = serializers.ListField(child=serializers.CharField(), read_only=True)


MISSING = {
    NotificationChannel.EMAIL: gettext_lazy("No e-mail address: e-mails are not sent."),
    NotificationChannel.SMS: gettext_lazy("No mobile phone number: SMS are not sent."),
}


def _warnings(user, preferences) -> list[str]:
    return [str(MISSING[channel]) for channel in service.missing_addresses(user, preferences)]


class NotificationPreferenceViewSet(viewsets.ViewSet):
    """The user's channels per event; events are the keys (``request_assigned``, ``sla_escalation`` …)."""

    lookup_field = "event"
    lookup_value_regex = r"[a-z_]{1,30}"
    serializer_class = PreferenceSerializer

    def _one(self, event: str):
        for pref in service.preferences_for(self.request.user):
            if pref.event == event:
                return pref
        raise Http404

    @extend_schema(responses=PreferenceSerializer(many=True))
    def list(self, request):
        return Response(PreferenceSerializer(service.preferences_for(request.user), many=True).data)

    @extend_schema(responses=PreferenceSerializer)
    def retrieve(self, request, event=None):
        return Response(PreferenceSerializer(self._one(event)).data)

    def _save(self, request, event, *, partial: bool):
        self._one(event)
        serializer = PreferenceSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        preferences = service.preferences_save(user=request.user, choices={event: dict(serializer.validated_data)})
        pref = next(p for p in preferences if p.event == event)
        data = dict(PreferenceSerializer(pref).data)
        data["warnings"] = _warnings(request.user, [pref])
        return Response(data)

    @extend_schema(request=PreferenceSerializer, responses=PreferenceAnswerSerializer)
    def update(self, request, event=None):
        return self._save(request, event, partial=False)

    @extend_schema(request=PreferenceSerializer, responses={200: PreferenceAnswerSerializer, 404: OpenApiResponse()})
    def partial_update(self, request, event=None):
        return self._save(request, event, partial=True)


urlpatterns: list = []


def register(router) -> None:
    router.register("notifications", NotificationViewSet, basename="notification")
    router.register("notification-preferences", NotificationPreferenceViewSet, basename="notification-preference")
