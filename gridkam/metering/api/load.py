"""The load-analytics API: an account's curve and months, the load portfolio and the anomaly list.

An account outside the user's view answers 404; the portfolio and the anomalies list only the user's accounts
(customer portal users are refused: they are staff tools). Bad parameters answer 400 naming them.
"""

from __future__ import annotations

import datetime

from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from gridkam.core.api import validation_error_response
from gridkam.core.ids import id_from
from gridkam.customers.models import ElectricityAccount

from .. import selectors
from ..analytics import (
    TREND_MONTHS,
    CurveRangeError,
    curve_range,
    day_checked,
    day_parse,
    load_curve,
    load_months,
    month_start,
)
from ..filters import LoadPortfolioFilterSet
from ..summaries import month_parse
from ..watch import Kind, accounts_with_load, default_as_of, load_anomalies
from .serializers import LoadAnomalyListSerializer, LoadCurveSerializer, LoadMonthsSerializer, LoadPortfolioSerializer
from .views import ACCOUNT_ID

MAX_MONTHS = 60
NOT_FOUND = OpenApiResponse(description=gettext_lazy("No such account in your view."))


def _account(request, pk: str) -> ElectricityAccount:
    if not ACCOUNT_ID.fullmatch(pk):
        raise NotFound
    try:
        return selectors.account_get(user=request.user, pk=int(pk))
    except ElectricityAccount.DoesNotExist:
        raise NotFound from None


def _day(request, name: str) -> datetime.date | None:
    return day_parse(request.query_params.get(name, ""), name)


def _staff_only(request) -> None:
    if request.user.is_customer_user:
        raise PermissionDenied


AS_OF = OpenApiParameter(
    "as_of",
    OpenApiTypes.DATE,
    description=gettext_lazy("The last day of the windows compared (default: yesterday)."),
)


class AccountLoadCurveView(APIView):
    """The account's 15-minute load in kW per metering point and in total, the daily highest/lowest/mean, and the
    mean load by month and quarter-hour, over up to 366 whole days."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description=gettext_lazy("Account id.")),
            OpenApiParameter(
                "from", OpenApiTypes.DATE, description=gettext_lazy("First day (default: a year before `to`).")
            ),
            OpenApiParameter(
                "to", OpenApiTypes.DATE, description=gettext_lazy("Last day (default: the last day with readings).")
            ),
        ],
        responses={
            200: LoadCurveSerializer,
            400: OpenApiResponse(description=gettext_lazy("A day is malformed or the range is too long.")),
            404: NOT_FOUND,
        },
        summary=gettext_lazy("An account's load curve"),
    )
    def get(self, request, pk):
        account = _account(request, pk)
        try:
            first, last = curve_range(account, _day(request, "from"), _day(request, "to"))
        except CurveRangeError as exc:
            return validation_error_response({exc.field: [str(exc)]})
        return Response(load_curve(account, first, last).as_dict())


class AccountLoadMonthsView(APIView):
    """The account's months up to ``to``: energy by period, maximum demand, power factor, load factor, the same
    month a year before, and maximum demand against contract demand and capacity."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description=gettext_lazy("Account id.")),
            OpenApiParameter(
                "to",
                OpenApiTypes.STR,
                pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
                description=gettext_lazy("Last month, YYYY-MM (default: that of the last day with readings)."),
            ),
            OpenApiParameter(
                "months", OpenApiTypes.INT, description=gettext_lazy("How many months, 1–60 (default 24).")
            ),
        ],
        responses={
            200: LoadMonthsSerializer,
            400: OpenApiResponse(description=gettext_lazy("The month or the count is not valid.")),
            404: NOT_FOUND,
        },
        summary=gettext_lazy("An account's months of load"),
    )
    def get(self, request, pk):
        account = _account(request, pk)
        errors = {}
        last = None
        if text := request.query_params.get("to", "").strip():
            try:
                last = day_checked(month_parse(text), "to")
            except ValueError as exc:
                errors["to"] = [str(exc)]
        count = TREND_MONTHS
        if text := request.query_params.get("months", "").strip():
            if not 1 <= (id_from(text) or 0) <= MAX_MONTHS:
                errors["months"] = [_("Give a whole number of months from 1 to %(max)d.") % {"max": MAX_MONTHS}]
            else:
                count = int(text)
        if errors:
            return validation_error_response(errors)
        if last is None:
            last = month_start(curve_range(account, None, None)[1])
        return Response({"account": account.account_no, "months": load_months(account, last, count)})


class NullsLastOrdering(OrderingFilter):
    """Accounts without a figure (no readings in the window) go last whichever way a column is sorted, on
    both databases (PostgreSQL and SQLite disagree about where NULL sorts)."""

    def filter_queryset(self, request, queryset, view):
        ordering = self.get_ordering(request, queryset, view)
        if not ordering:
            return queryset
        return queryset.order_by(
            *(F(f[1:]).desc(nulls_last=True) if f.startswith("-") else F(f).asc(nulls_last=True) for f in ordering),
            "pk",
        )


class LoadPortfolioView(generics.ListAPIView):
    """The user's accounts with their load figures over the 30 days ending on ``as_of``: energy and its change
    against the 30 days before, maximum demand, load factor, utilisation. Sort with ``ordering``."""

    permission_classes = [IsAuthenticated]
    serializer_class = LoadPortfolioSerializer
    filterset_class = LoadPortfolioFilterSet
    filter_backends = [DjangoFilterBackend, NullsLastOrdering]
    ordering_fields = ["account_no", "kwh_30d", "change_30d", "max_demand_30d", "load_factor_30d", "utilisation"]
    ordering = ["account_no"]

    @extend_schema(parameters=[AS_OF], summary=gettext_lazy("Accounts ranked by load figures"))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator, without a user
            return ElectricityAccount.objects.none()
        _staff_only(self.request)
        try:
            as_of = _day(self.request, "as_of") or default_as_of()
        except CurveRangeError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from None
        return accounts_with_load(selectors.accounts_visible(user=self.request.user), as_of)


class LoadAnomalyListView(APIView):
    """Anomalies of the user's accounts as of a day: consumption down sharply against the account's own recent
    weeks, missing data, power factor under standard, demand over 105 % of contract."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            AS_OF,
            OpenApiParameter("kind", OpenApiTypes.STR, enum=list(Kind.labels), description=gettext_lazy("One kind.")),
        ],
        responses={200: LoadAnomalyListSerializer, 400: OpenApiResponse(description=gettext_lazy("Bad parameter."))},
        summary=gettext_lazy("Load anomalies"),
    )
    def get(self, request):
        _staff_only(request)
        try:
            as_of = _day(request, "as_of") or default_as_of()
        except CurveRangeError as exc:
            return validation_error_response({exc.field: [str(exc)]})
        kind = request.query_params.get("kind", "").strip()
        if kind and kind not in Kind.labels:
            return validation_error_response(
                {"kind": [_("Choose one of: %(kinds)s.") % {"kinds": ", ".join(Kind.labels)}]}
            )
        found = load_anomalies(selectors.accounts_visible(user=request.user), as_of)
        results = [x.as_dict() for x in found if not kind or x.kind == kind]
        return Response({"as_of": as_of.isoformat(), "count": len(results), "results": results})
