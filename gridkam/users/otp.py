"""Two-factor sign-in with a TOTP authenticator app (django-otp): the second step and its enforcement.

A user with a confirmed device logs in with the password first (Django's login page, throttled by django-axes);
the session is then signed in but not *verified*. Until the code page verifies it, the middleware below answers
every page with a redirect to the code page and every session API call with 403; only the code page, log-out and
static files stay reachable. API calls with a token (scripts) are not affected: the token is the credential.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _


def owes_code(user) -> bool:
    """Signed in with the password, has two-factor turned on, and has not given a code in this session."""
    return bool(
        user is not None
        and user.is_authenticated
        and getattr(user, "two_factor_enabled", False)
        and not (hasattr(user, "is_verified") and user.is_verified())
    )


class TwoFactorMiddleware:
    """Keeps a session that still owes its one-time code away from everything but the code page.

    Placed after django_otp's OTPMiddleware, which tells whether the session is verified. ``two_factor_enabled``
    comes with the user row, so users without two-factor pay no query here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if owes_code(getattr(request, "user", None)) and not self.exempt(request.path_info):
            if request.path_info.startswith("/api/"):
                return JsonResponse(
                    {"detail": _("Give the one-time code of your authenticator app on the log-in page first.")},
                    status=403,
                )
            target = reverse("users:otp_verify")
            if request.headers.get("HX-Request"):
                # An HTMX fragment request: send the whole page to the code step, not the fragment.
                response = HttpResponse(status=204)
                response["HX-Redirect"] = target
                return response
            if request.method == "GET":
                target += "?" + urlencode({"next": request.get_full_path()})
            return redirect(target)
        return self.get_response(request)

    @staticmethod
    def exempt(path: str) -> bool:
        allowed = (reverse("users:otp_verify"), reverse("logout"))
        prefixes = tuple("/" + prefix.lstrip("/") for prefix in (settings.STATIC_URL, "/jsi18n/", "/i18n/") if prefix)
        return path in allowed or path.startswith(prefixes)
