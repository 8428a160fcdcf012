"""The interval-data API under /api/v1/: a month of load per metering point and per account.

The documents are those of ``load_summary --json``. A point or account outside the user's view answers
404 (its customer decides, as everywhere); a missing or malformed ``month`` answers 400 naming it.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from gridkam.core.api import validation_error_response
from gridkam.customers.models import ElectricityAccount, MeteringPoint

from .. import selectors
from ..summaries import account_month_summary, month_parse, point_month_summary
from .serializers import AccountSummarySerializer, MeteringPointSummarySerializer

ACCOUNT_ID = re.compile(r"\d{1,18}")
# Codes are at most 32 characters; a NUL byte would be refused by PostgreSQL rather than not found.
POINT_CODE = re.compile(r"[^\x00]{1,32}")

MONTH_PARAMETER = OpenApiParameter(
    "month",
    OpenApiTypes.STR,
    required=True,
    pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
    description=_("The month, YYYY-MM: the readings whose interval starts in it (Asia/Shanghai)."),
)
ERRORS = {
    400: OpenApiResponse(description=_("The month is missing or not YYYY-MM.")),
    404: OpenApiResponse(description=_("No such metering point or account in your view.")),
}


def _month_or_error(request):
    """(first day of the month, None), or (None, the 400 response naming ``month``)."""
    text = request.query_params.get("month")
    if not text:
        return None, validation_error_response({"month": [_("Give the month as YYYY-MM, e.g. 2025-03.")]})
    try:
        return month_parse(text), None
    except ValueError as exc:
        return None, validation_error_response({"month": [str(exc)]})


class MeteringPointSummaryView(APIView):
    """A month of a metering point's load: energy by time-of-use period, reactive energy, maximum demand,
    power factor (as the bill engine computes it) and load factor."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("code", OpenApiTypes.STR, OpenApiParameter.PATH, description=_("Metering point code.")),
            MONTH_PARAMETER,
        ],
        responses={200: MeteringPointSummarySerializer, **ERRORS},
        summary=_("A month of a metering point's load"),
    )
    def get(self, request, code):
        if not POINT_CODE.fullmatch(code):
            raise NotFound
        try:
            point = selectors.metering_point_get(user=request.user, code=code)
        except MeteringPoint.DoesNotExist:
            raise NotFound from None
        month, error = _month_or_error(request)
        if error is not None:
            return error
        return Response(point_month_summary(point, month))


class AccountSummaryView(APIView):
    """A month of an account's load: its billing metering points summed per interval, so the maximum
    demand is that of the account, not the sum of its points' maxima."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description=_("Account id.")),
            MONTH_PARAMETER,
        ],
        responses={200: AccountSummarySerializer, **ERRORS},
        summary=_("A month of an account's load"),
    )
    def get(self, request, pk):
        if not ACCOUNT_ID.fullmatch(pk):
            raise NotFound
        try:
            account = selectors.account_get(user=request.user, pk=int(pk))
        except ElectricityAccount.DoesNotExist:
            raise NotFound from None
        month, error = _month_or_error(request)
        if error is not None:
            return error
        return Response(account_month_summary(account, month))
