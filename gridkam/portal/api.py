"""API of the portal under /api/v1/: the start page's summary (``portal/home/``). Everything else the portal shows
is read from the existing endpoints, which already limit customer users to their own customers."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .selectors import portal_home


class PortalAccountSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    account_no = serializers.CharField()
    name = serializers.CharField()
    customer = serializers.CharField(source="customer.name")
    open_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    arrears = serializers.DecimalField(max_digits=14, decimal_places=2)
    latest_bill_id = serializers.IntegerField(allow_null=True)
    latest_bill_period = serializers.DateField(allow_null=True)
    latest_bill_total = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    month_kwh = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)


class PortalTeamSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    role = serializers.CharField()
    name = serializers.SerializerMethodField()
    phone = serializers.CharField(source="user.phone")
    email = serializers.CharField(source="user.email")

    def get_name(self, obj) -> str:
        return str(obj.user)


class PortalHomeSerializer(serializers.Serializer):
    month = serializers.DateField()
    balance_due = serializers.DecimalField(max_digits=14, decimal_places=2)
    overdue = serializers.DecimalField(max_digits=14, decimal_places=2)
    month_kwh = serializers.DecimalField(max_digits=16, decimal_places=2)
    open_requests = serializers.IntegerField()
    unread_notifications = serializers.IntegerField()
    unread_messages = serializers.IntegerField()
    surveys_waiting = serializers.IntegerField()
    latest_bill_id = serializers.SerializerMethodField()
    next_appointment_at = serializers.SerializerMethodField()
    accounts = PortalAccountSerializer(many=True)
    team = PortalTeamSerializer(many=True)

    def get_latest_bill_id(self, obj) -> int | None:
        return obj.latest_bill.pk if obj.latest_bill else None

    def get_next_appointment_at(self, obj) -> str | None:
        return obj.next_appointment.starts_at.isoformat() if obj.next_appointment else None


class PortalHomeView(APIView):
    """The portal's start page as data, for the customer's own user (staff: 403)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=PortalHomeSerializer, operation_id="portal_home")
    def get(self, request):
        if not request.user.is_customer_user:
            raise PermissionDenied
        return Response(PortalHomeSerializer(portal_home(user=request.user)).data)


def register(router) -> None:
    """The portal adds no viewset."""


urlpatterns: list = [path("portal/home/", PortalHomeView.as_view(), name="portal-home")]
