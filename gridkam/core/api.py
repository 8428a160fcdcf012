"""API conventions shared by every endpoint: pagination, and one error shape
``{"detail": ..., "errors": {field: [messages]}}`` for every client error."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _as_lists(detail) -> dict:
    if isinstance(detail, dict):
        # Django names errors of the whole object "__all__"; DRF clients expect non_field_errors.
        return {
            ("non_field_errors" if key == "__all__" else key): value if isinstance(value, list) else [value]
            for key, value in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": detail}
    return {"non_field_errors": [detail]}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": _("The input is not valid."), "errors": _as_lists(exc.detail)}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": response.data["detail"], "errors": {}}
    return response


def validation_error_response(errors: dict) -> Response:
    return Response({"detail": _("The input is not valid."), "errors": _as_lists(errors)}, status.HTTP_400_BAD_REQUEST)
