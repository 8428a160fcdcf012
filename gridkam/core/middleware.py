"""Requests carrying a NUL character are refused before any view sees them.

No text GridKAM stores or looks up may contain one, and PostgreSQL refuses it in a text value with a
database error, which a view would otherwise turn into a server error (a lookup by code in the path,
a filter in the query string). Django's form fields and DRF's character fields already refuse NUL in
submitted values; the path and the query string are checked here, JSON bodies by ``NulSafeJSONParser``.
"""

from __future__ import annotations

from django.core.exceptions import BadRequest
from django.http import JsonResponse
from django.utils.translation import gettext as _

NUL = "\x00"


def nul_message() -> str:
    return _("Text may not contain NUL characters.")


def nul_parameters(request) -> list[str]:
    """The query-string parameters whose name or a value holds a NUL character."""
    return [key for key, values in request.GET.lists() if NUL in key or any(NUL in value for value in values)]


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        parameters = nul_parameters(request)
        if parameters or NUL in request.path:
            if request.path.startswith("/api/"):
                errors = {name: [nul_message()] for name in parameters}
                return JsonResponse({"detail": nul_message(), "errors": errors}, status=400)
            raise BadRequest(nul_message())
        return self.get_response(request)
