"""The tariffs API under /api/v1/: the catalogue (read-only; it is loaded with ``load_tariffs``), the
bill quote, an account's monthly quantities and its cost advice."""

from __future__ import annotations

import datetime
import re

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from gridkam.core.api import validation_error_response
from gridkam.core.api_views import DEFAULT_FILTER_BACKENDS, SafeLookupMixin
from gridkam.customers.models import ElectricityAccount

from .. import selectors, services
from ..advising import account_advice, advice_as_dict
from ..advisor import AdvisorError
from ..filters import MonthlyUsageFilterSet, TariffFilterSet
from ..forms import AdvisorSettingsForm
from ..models import MonthlyUsage, TariffVersion
from ..quoting import flatten_errors, quote_result
from .serializers import (
    MonthlyUsageSerializer,
    QuoteInputSerializer,
    QuoteOutputSerializer,
    TariffSerializer,
    TariffVersionDetailSerializer,
)


class TariffViewSet(viewsets.ReadOnlyModelViewSet):
    """The tariff catalogue, every version with its prices and rules. ``/tariffs/{code}/versions/{date}/``
    gives one version with its time-of-use calendar and the month × hour grid of periods."""

    serializer_class = TariffSerializer
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = TariffFilterSet
    ordering_fields = ["code", "name", "region"]
    ordering = ["code"]
    lookup_field = "code"
    lookup_value_regex = r"[-a-zA-Z0-9_]{1,40}"
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        return selectors.tariff_list(user=self.request.user).prefetch_related("versions")

    @extend_schema(
        responses={200: TariffVersionDetailSerializer},
        parameters=[OpenApiParameter("effective_from", OpenApiTypes.DATE, OpenApiParameter.PATH)],
    )
    def version(self, request, code=None, effective_from=None):
        try:
            day = datetime.date.fromisoformat(effective_from or "")
            version = selectors.tariff_version_get(user=request.user, code=code, effective_from=day)
        except (ValueError, TariffVersion.DoesNotExist):
            raise NotFound from None
        return Response(TariffVersionDetailSerializer(version).data)


class QuoteView(APIView):
    """Price one month's quantities under the tariff version in effect, line by line."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=QuoteInputSerializer,
        responses={200: QuoteOutputSerializer, 400: OpenApiResponse(description=_("Field errors."))},
        summary=_("Quote a monthly bill"),
    )
    def post(self, request):
        serializer = QuoteInputSerializer(data=request.data)
        if not serializer.is_valid():
            # Nested fields as dotted paths ("energy_kwh.peak"), as bill_quote prints them.
            return validation_error_response(flatten_errors(serializer.errors))
        attrs = serializer.validated_data
        return Response(quote_result(attrs["version"], attrs["bill"], attrs["period"]))


ACCOUNT_ID = re.compile(r"\d{1,18}")


def _visible_account(request, pk: str) -> ElectricityAccount:
    if not ACCOUNT_ID.fullmatch(str(pk)):
        raise NotFound
    visible = ElectricityAccount.objects.visible_to(request.user).select_related("customer", "tariff")
    return get_object_or_404(visible, pk=int(pk))


class AdviceSerializer(serializers.Serializer):
    """The advice as ``advising.advice_as_dict`` gives it (documented in docs/tariffs.md)."""

    account = serializers.IntegerField()
    account_no = serializers.CharField()
    tariff_version = serializers.CharField()
    illustrative = serializers.BooleanField()
    months = serializers.ListField(child=serializers.CharField())
    baseline = serializers.DictField()
    recommendations = serializers.ListField(child=serializers.DictField())
    notes = serializers.ListField(child=serializers.CharField())


class AdviceView(APIView):
    """Cost advice for an account from its last 12 months: options ranked by yuan per year."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description=_("Account id.")),
            *(
                OpenApiParameter(name, OpenApiTypes.NUMBER, required=False, description=str(field.label))
                for name, field in AdvisorSettingsForm.base_fields.items()
            ),
        ],
        responses={200: AdviceSerializer, 400: OpenApiResponse(description=_("Field errors."))},
        summary=_("Cost advice for an account"),
    )
    def get(self, request, pk):
        account = _visible_account(request, pk)
        form = AdvisorSettingsForm.from_query(request.query_params)
        if not form.is_valid():
            return validation_error_response(form.errors)
        try:
            result = account_advice(account=account, settings=form.settings())
        except AdvisorError as exc:
            return validation_error_response({"account": [exc.message]})
        return Response(advice_as_dict(result))


class MonthlyUsageViewSet(
    SafeLookupMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Accounts' monthly quantities. ``POST`` creates or replaces the month of an account (an upsert
    by account and month, so a script can send the same month again); ``DELETE`` removes one."""

    serializer_class = MonthlyUsageSerializer
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = MonthlyUsageFilterSet
    ordering_fields = ["month", "account"]
    ordering = ["account", "-month"]
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        return selectors.monthly_usage_list(user=self.request.user)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        account = data.pop("account")
        month = data.pop("month")
        existed = MonthlyUsage.objects.filter(account=account, month=month).exists()
        usage = services.monthly_usage_save(
            account=account, month=month, values=data, source=data.pop("source", None) or "entered", user=request.user
        )
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(self.get_serializer(usage).data, status=code)

    def perform_destroy(self, instance: MonthlyUsage) -> None:
        if not selectors.accounts_usage_editable(self.request.user).filter(pk=instance.account_id).exists():
            raise PermissionDenied(_("You may not change this account's quantities."))
        instance.delete()


def register(router) -> None:
    router.register("tariffs", TariffViewSet, basename="tariff")
    router.register("monthly-usage", MonthlyUsageViewSet, basename="monthly-usage")
