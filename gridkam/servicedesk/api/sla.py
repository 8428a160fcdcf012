"""API of the sla part of the service desk: ``register(router)`` and ``urlpatterns``.

- ``GET /sla-policies/`` every policy (staff; ``tier``, ``request_type``, ``priority`` filter), ``GET
  /sla-policies/{id}/``;
- ``PATCH /sla-policies/{id}/`` changes the clock and targets (supervisors and administrators; field errors).

Portal users are refused (403).
"""

from __future__ import annotations

from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import PermissionDenied

from gridkam.billing.permissions import IsStaffUser, approves

from ..forms_sla import policy_errors
from ..models import SlaPolicy
from ..sla import describe_minutes


class SlaPolicySerializer(serializers.ModelSerializer):
    response = serializers.SerializerMethodField()
    onsite = serializers.SerializerMethodField()
    resolution = serializers.SerializerMethodField()

    class Meta:
        model = SlaPolicy
        fields = [
            "id",
            "tier",
            "request_type",
            "priority",
            "clock",
            "response_minutes",
            "onsite_minutes",
            "resolution_minutes",
            "response",
            "onsite",
            "resolution",
            "updated_at",
            "updated_by",
        ]
        read_only_fields = ["id", "tier", "request_type", "priority", "updated_at", "updated_by"]

    def get_response(self, obj) -> str:
        return describe_minutes(obj.response_minutes, obj.clock)

    def get_onsite(self, obj) -> str | None:
        return describe_minutes(obj.onsite_minutes, obj.clock) if obj.onsite_minutes is not None else None

    def get_resolution(self, obj) -> str:
        return describe_minutes(obj.resolution_minutes, obj.clock)

    def validate(self, attrs):
        data = {
            name: attrs.get(name, getattr(self.instance, name, None))
            for name in ("response_minutes", "onsite_minutes", "resolution_minutes")
        }
        errors = policy_errors(self.instance.request_type, data)
        if errors:
            raise serializers.ValidationError({name: [str(message)] for name, message in errors.items()})
        return attrs


class SlaPolicyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    serializer_class = SlaPolicySerializer
    permission_classes = [IsStaffUser]
    http_method_names = ["get", "patch", "head", "options"]
    filter_fields = ("tier", "request_type", "priority")

    def get_queryset(self):
        policies = SlaPolicy.objects.all()
        for name in self.filter_fields:
            value = self.request.query_params.get(name)
            if value:
                policies = policies.filter(**{name: value})
        return policies

    def update(self, request, *args, **kwargs):
        if not approves(request.user):
            raise PermissionDenied
        return super().update(request, *args, **kwargs)

    def perform_update(self, serializer):
        serializer.save(updated_by=self.request.user)


def register(router) -> None:
    router.register("sla-policies", SlaPolicyViewSet, basename="sla-policy")


urlpatterns: list = []
