"""API of the VIP desk appointments part of the service desk: ``register(router)`` and ``urlpatterns``.

- ``GET /appointments/`` the appointments of customers the user sees (``day``, ``hall``, ``status``,
  ``customer`` filter), ``GET /appointments/{id}/``;
- ``POST /appointments/`` books (staff who see the customer; field errors), ``POST
  /appointments/{id}/complete/`` (``notes``), ``/no-show/``, ``/cancel/`` (staff);
- ``GET /service-halls/`` halls with desks and opening hours, ``GET /service-halls/{id}/slots/?day=&length=``
  the free slots per desk (staff).

Portal users read their own customer's appointments and are refused anything else (403).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from gridkam.customers.models import Customer, ElectricityAccount

from .. import appointments as svc
from ..appointment_views import AppointmentFilterSet
from ..models import Appointment, Desk, OpeningHours, ServiceHall, ServiceRequest
from ..permissions import IsStaffUser, is_staff_user


def _api_error(error: ValidationError) -> ApiValidationError:
    if hasattr(error, "error_dict"):
        return ApiValidationError(
            {name: [str(m) for e in errors for m in e.messages] for name, errors in error.error_dict.items()}
        )
    return ApiValidationError({"non_field_errors": [str(m) for m in error.messages]})


class DeskSerializer(serializers.ModelSerializer):
    class Meta:
        model = Desk
        fields = ["id", "name", "active"]


class OpeningHoursSerializer(serializers.ModelSerializer):
    class Meta:
        model = OpeningHours
        fields = ["weekday", "opens", "closes"]


class ServiceHallSerializer(serializers.ModelSerializer):
    desks = DeskSerializer(many=True, read_only=True)
    opening_hours = OpeningHoursSerializer(many=True, read_only=True)

    class Meta:
        model = ServiceHall
        fields = ["id", "name", "org_unit", "address", "phone", "desks", "opening_hours"]


class SlotSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class DeskSlotsSerializer(serializers.Serializer):
    desk = serializers.IntegerField()
    desk_name = serializers.CharField()
    slots = SlotSerializer(many=True)


class SlotQuerySerializer(serializers.Serializer):
    day = serializers.DateField()
    length = serializers.IntegerField(min_value=svc.MIN_LENGTH, max_value=svc.MAX_LENGTH, default=30)


class ServiceHallViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ServiceHallSerializer
    permission_classes = [IsStaffUser]

    def get_queryset(self):
        return svc.halls_visible(self.request.user)

    @extend_schema(
        parameters=[
            OpenApiParameter("day", str, description="YYYY-MM-DD", required=True),
            OpenApiParameter("length", int, description="minutes (default 30)"),
        ],
        responses=DeskSlotsSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def slots(self, request, pk=None):
        hall = self.get_object()
        query = SlotQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = svc.slots(hall, query.validated_data["day"], query.validated_data["length"])
        data = [
            {
                "desk": row.desk.pk,
                "desk_name": row.desk.name,
                "slots": [{"starts_at": start, "ends_at": end} for start, end in row.slots],
            }
            for row in rows
        ]
        return Response(DeskSlotsSerializer(data, many=True).data)


class AppointmentSerializer(serializers.ModelSerializer):
    hall = serializers.IntegerField(source="desk.hall_id", read_only=True)
    length = serializers.IntegerField(write_only=True, min_value=svc.MIN_LENGTH, max_value=svc.MAX_LENGTH, default=30)
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    desk = serializers.PrimaryKeyRelatedField(queryset=Desk.objects.all())
    account = serializers.PrimaryKeyRelatedField(
        queryset=ElectricityAccount.objects.all(), required=False, allow_null=True
    )
    service_request = serializers.PrimaryKeyRelatedField(
        queryset=ServiceRequest.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Appointment
        fields = [
            "id",
            "hall",
            "desk",
            "customer",
            "account",
            "contact_name",
            "contact_phone",
            "starts_at",
            "ends_at",
            "length",
            "topic",
            "status",
            "booked_by",
            "notes",
            "service_request",
            "reminded_at",
            "created_at",
        ]
        read_only_fields = ["id", "ends_at", "status", "booked_by", "reminded_at", "created_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "customer" in self.fields:
            user = request.user
            self.fields["customer"].queryset = Customer.objects.visible_to(user)
            self.fields["account"].queryset = ElectricityAccount.objects.visible_to(user)
            self.fields["service_request"].queryset = ServiceRequest.objects.visible_to(user)


class NotesSerializer(serializers.Serializer):
    notes = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")


class AppointmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = AppointmentSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        appointments = svc.appointments_visible(self.request.user).order_by("starts_at", "pk")
        if self.action == "list":
            appointments = AppointmentFilterSet(self.request.query_params, queryset=appointments).qs
        return appointments

    def create(self, request, *args, **kwargs):
        if not is_staff_user(request.user):
            raise PermissionDenied
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            appointment = svc.appointment_book(
                desk=data["desk"],
                customer=data["customer"],
                starts_at=data["starts_at"],
                length=data["length"],
                topic=data["topic"],
                account=data.get("account"),
                contact_name=data.get("contact_name", ""),
                contact_phone=data.get("contact_phone", ""),
                service_request=data.get("service_request"),
                notes=data.get("notes", ""),
                user=request.user,
            )
        except ValidationError as error:
            raise _api_error(error) from None
        return Response(self.get_serializer(appointment).data, status=status.HTTP_201_CREATED)

    def _act(self, request, perform):
        if not is_staff_user(request.user):
            raise PermissionDenied
        appointment = self.get_object()
        body = NotesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            perform(appointment, body.validated_data["notes"])
        except ValidationError as error:
            raise _api_error(error) from None
        return Response(self.get_serializer(appointment).data)

    @extend_schema(request=NotesSerializer, responses=AppointmentSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._act(
            request, lambda a, notes: svc.appointment_complete(appointment=a, user=request.user, notes=notes)
        )

    @extend_schema(request=NotesSerializer, responses=AppointmentSerializer)
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request, pk=None):
        return self._act(request, lambda a, notes: svc.appointment_no_show(appointment=a, user=request.user))

    @extend_schema(request=NotesSerializer, responses=AppointmentSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._act(
            request, lambda a, notes: svc.appointment_cancel(appointment=a, user=request.user, notes=notes or None)
        )


def register(router) -> None:
    router.register("appointments", AppointmentViewSet, basename="appointment")
    router.register("service-halls", ServiceHallViewSet, basename="service-hall")


urlpatterns: list = []
