"""API of the ledger part of billing: an account's billing figures and the payments endpoint.

``GET /api/v1/accounts/{id}/billing/``: balance, arrears, penalty, aging and prepayment state of an
account the user sees (404 otherwise). ``/api/v1/payments/``: list (filters: account, dates, method,
kind, source), retrieve, and create (billing roles only: 403 otherwise), which records the payment
through ``payment_record`` (field errors answer 400).
"""

from __future__ import annotations

import re

import django_filters
from django.db import IntegrityError
from django.db.models import Prefetch
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from gridkam.core.api import validation_error_response
from gridkam.core.api_views import DEFAULT_FILTER_BACKENDS, SafeLookupMixin, ScopedPrimaryKeyRelatedField
from gridkam.customers.models import ElectricityAccount

from ..choices import AgingBucket, PaymentKind, PaymentMethod, PaymentSource
from ..ledger import account_for_billing, account_ledger, as_of_parse, payment_record
from ..models import Allocation, Payment
from ..permissions import DoesBilling

ACCOUNT_ID = re.compile(r"\d{1,18}")
MONEY = {"max_digits": 14, "decimal_places": 2}


# --- account figures -------------------------------------------------------------------------------


AGING_NAMES = {
    AgingBucket.NOT_DUE: "not_due",
    AgingBucket.DAYS_1_30: "days_1_30",
    AgingBucket.DAYS_31_60: "days_31_60",
    AgingBucket.DAYS_61_90: "days_61_90",
    AgingBucket.OVER_90: "over_90",
}


class AgingSerializer(serializers.Serializer):
    """Unpaid amounts by days past due."""

    not_due = serializers.DecimalField(**MONEY)
    days_1_30 = serializers.DecimalField(**MONEY)
    days_31_60 = serializers.DecimalField(**MONEY)
    days_61_90 = serializers.DecimalField(**MONEY)
    over_90 = serializers.DecimalField(**MONEY)


class PrepaymentSerializer(serializers.Serializer):
    prepayment = serializers.BooleanField(help_text=gettext_lazy("Whether the account pays in advance."))
    credit = serializers.DecimalField(**MONEY, help_text=gettext_lazy("Money held for the account (−balance)."))
    threshold = serializers.DecimalField(**MONEY, help_text=gettext_lazy("Low-balance warning below this credit."))
    low = serializers.BooleanField(help_text=gettext_lazy("Prepayment account with credit below its threshold."))


class AccountBillingSerializer(serializers.Serializer):
    account = serializers.IntegerField(source="account.pk")
    account_no = serializers.CharField(source="account.account_no")
    as_of = serializers.DateField(source="today")
    balance = serializers.DecimalField(
        **MONEY,
        help_text=gettext_lazy("Issued charges minus payments plus refunds: owed if positive, credit if negative."),
    )
    credit = serializers.DecimalField(**MONEY, help_text=gettext_lazy("Money received and not yet used by bills."))
    open_amount = serializers.DecimalField(**MONEY, help_text=gettext_lazy("Unpaid on issued bills."))
    arrears = serializers.DecimalField(**MONEY, help_text=gettext_lazy("Unpaid on issued bills past their due date."))
    oldest_due = serializers.DateField(allow_null=True, help_text=gettext_lazy("Due date of the oldest unpaid bill."))
    penalty = serializers.DecimalField(
        **MONEY, help_text=gettext_lazy("Late-payment penalty accrued to `as_of` on unpaid bills.")
    )
    penalty_exempt = serializers.BooleanField()
    aging = AgingSerializer()
    prepayment = PrepaymentSerializer()


def _account(request, pk: str) -> ElectricityAccount:
    if not ACCOUNT_ID.fullmatch(pk):
        raise NotFound
    try:
        return account_for_billing(user=request.user, pk=int(pk))
    except ElectricityAccount.DoesNotExist:
        raise NotFound from None


class AccountBillingView(APIView):
    """The account's balance, arrears, late-payment penalty, aging buckets and prepayment state."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description=gettext_lazy("Account id.")),
            OpenApiParameter(
                "as_of", OpenApiTypes.DATE, description=gettext_lazy("Day of the arrears and penalty (default: today).")
            ),
        ],
        responses={
            200: AccountBillingSerializer,
            400: OpenApiResponse(description=gettext_lazy("The day is malformed.")),
            404: OpenApiResponse(description=gettext_lazy("No such account in your view.")),
        },
        summary=gettext_lazy("An account's balance, arrears, penalty and aging"),
    )
    def get(self, request, pk):
        account = _account(request, pk)
        today = timezone.localdate()
        if text := request.query_params.get("as_of", "").strip():
            try:
                today = as_of_parse(text)
            except ValueError:
                return validation_error_response({"as_of": [_("Enter a date as YYYY-MM-DD, from 1900 to 2999.")]})
        ledger = account_ledger(account=account, today=today, with_drafts=False)
        data = {
            "account": account,
            "today": today,
            "balance": ledger.balance,
            "credit": ledger.credit,
            "open_amount": ledger.open_amount,
            "arrears": ledger.arrears,
            "oldest_due": ledger.oldest_due,
            "penalty": ledger.penalty,
            "penalty_exempt": ledger.exempt,
            "aging": {AGING_NAMES[bucket]: amount for bucket, amount in ledger.aging.items()},
            "prepayment": ledger.prepayment,
        }
        return Response(AccountBillingSerializer(data).data)


# --- payments ----------------------------------------------------------------------------------------


class AllocationSerializer(serializers.ModelSerializer):
    bill_number = serializers.CharField(source="bill.number", allow_null=True)
    period = serializers.DateField(source="bill.period")

    class Meta:
        model = Allocation
        fields = ["bill", "bill_number", "period", "amount", "allocated_on"]


class PaymentSerializer(serializers.ModelSerializer):
    account_no = serializers.CharField(source="account.account_no")
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    allocations = AllocationSerializer(many=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "account",
            "account_no",
            "kind",
            "method",
            "received_on",
            "amount",
            "reference",
            "source",
            "note",
            "created_at",
            "created_by",
            "allocations",
        ]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None and getattr(request.user, "is_customer_user", False):
            data["created_by"] = None  # the utility's staff directory is not the customer's to read
        return data


class PaymentCreateSerializer(serializers.Serializer):
    account = ScopedPrimaryKeyRelatedField(
        queryset=ElectricityAccount.objects.all(), scope=lambda user: ElectricityAccount.objects.visible_to(user)
    )
    kind = serializers.ChoiceField(choices=PaymentKind.choices, default=PaymentKind.PAYMENT)
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    amount = serializers.DecimalField(**MONEY)
    received_on = serializers.DateField()
    reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class PaymentFilterSet(django_filters.FilterSet):
    account = django_filters.NumberFilter(field_name="account_id", label=gettext_lazy("Account"), min_value=1)
    received_from = django_filters.DateFilter(
        field_name="received_on", lookup_expr="gte", label=gettext_lazy("Received on or after")
    )
    received_to = django_filters.DateFilter(
        field_name="received_on", lookup_expr="lte", label=gettext_lazy("Received on or before")
    )
    method = django_filters.ChoiceFilter(choices=PaymentMethod.choices, label=gettext_lazy("Method"))
    kind = django_filters.ChoiceFilter(choices=PaymentKind.choices, label=gettext_lazy("Kind"))
    source = django_filters.ChoiceFilter(choices=PaymentSource.choices, label=gettext_lazy("Source"))

    class Meta:
        model = Payment
        fields = ["account", "received_from", "received_to", "method", "kind", "source"]


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("Payments and refunds of the accounts you see")),
    retrieve=extend_schema(summary=gettext_lazy("One payment with the bills it paid")),
    create=extend_schema(
        summary=gettext_lazy("Record a payment or refund (billing roles)"),
        request=PaymentCreateSerializer,
        responses={201: PaymentSerializer, 400: OpenApiResponse(description=gettext_lazy("Field errors."))},
    ),
)
class PaymentViewSet(
    SafeLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Money received for accounts (kind "payment") or paid back from their credit (kind "refund"),
    each with its allocations to bills, oldest open bill first."""

    serializer_class = PaymentSerializer
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = PaymentFilterSet
    ordering_fields = ["received_on", "amount", "created_at"]
    ordering = ["-received_on", "-pk"]

    def get_permissions(self):
        if self.action == "create":
            return [DoesBilling()]
        return [IsAuthenticated()]

    def get_queryset(self):
        return (
            Payment.objects.visible_to(self.request.user)
            .select_related("account", "created_by")
            .prefetch_related(
                Prefetch(
                    "allocations", queryset=Allocation.objects.select_related("bill").order_by("allocated_on", "pk")
                )
            )
        )

    def get_serializer_class(self):
        return PaymentCreateSerializer if self.action == "create" else PaymentSerializer

    def create(self, request, *args, **kwargs):
        serializer = PaymentCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        try:
            payment = payment_record(user=request.user, source=PaymentSource.ENTERED, **serializer.validated_data)
        except IntegrityError:  # the same reference recorded at the same moment by someone else
            return validation_error_response(
                {"reference": [_("A payment with this reference is already recorded for the account.")]}
            )
        payment = self.get_queryset().get(pk=payment.pk)
        return Response(PaymentSerializer(payment, context=self.get_serializer_context()).data, status.HTTP_201_CREATED)


def register(router) -> None:
    router.register("payments", PaymentViewSet, basename="payment")


urlpatterns: list = [
    # A path, not a router action: the accounts viewset belongs to the customers app.
    path("accounts/<str:pk>/billing/", AccountBillingView.as_view(), name="account-billing"),
]
