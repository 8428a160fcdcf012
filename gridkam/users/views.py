"""Pages of portal users: the card on the customer 360 page and its actions, the invitation link, the security
page with two-factor set-up, the code step of logging in, and password reset."""

from __future__ import annotations

from base64 import b32encode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import select_template
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django_otp import login as otp_login

from gridkam.core.views import StaffOnlyMixin
from gridkam.customers.models import Customer

from . import services
from .choices import Role
from .forms import AcceptInvitationForm, InvitationForm, ScopeForm, TokenForm
from .models import Invitation, PortalScope, User
from .otp import owes_code

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def base_template_for(user):
    """Portal users see their pages in the portal's frame, staff in the back office's."""
    if user.is_authenticated and user.is_customer_user:
        return select_template(["portal/base.html", "base.html"])
    return "base.html"


def customer_detail_url(customer_id: int) -> str:
    return reverse("customers:customer_detail", args=[customer_id]) + "#portal-users"


# ---------------------------------------------------------------------------------------- staff: the card


def card_context(*, customer: Customer, user) -> dict:
    """Everything the portal-users card shows, in four queries whatever the number of users and invitations."""
    scopes = Prefetch("portal_scopes", queryset=PortalScope.objects.select_related("customer"))
    portal_users = list(
        User.objects.filter(customer=customer, role=Role.CUSTOMER_USER).prefetch_related(scopes).order_by("username")
    )
    invitations = list(
        Invitation.objects.open()
        .filter(customer=customer)
        .select_related("invited_by")
        .prefetch_related("scope")
        .order_by("-sent_at", "-pk")
    )
    group_users = list(
        PortalScope.objects.filter(customer=customer, user__is_active=True)
        .select_related("user__customer")
        .order_by("user__username")
    )
    return {
        "customer": customer,
        "portal_users": portal_users,
        "invitations": invitations,
        "group_scopes": group_users,
        "can_manage": services.may_manage_portal_users(user=user, customer=customer),
    }


class StaffCustomerMixin(StaffOnlyMixin):
    """A customer the (staff) user can see, else 404; ``manage`` views also need to be allowed to edit it (403)."""

    manage = False

    def get_customer(self, pk: int) -> Customer:
        customer = get_object_or_404(Customer.objects.visible_to(self.request.user), pk=pk)
        if self.manage and not services.may_manage_portal_users(user=self.request.user, customer=customer):
            raise PermissionDenied
        return customer


class PortalUsersCardView(StaffCustomerMixin, View):
    """The "Portal users" card of the customer 360 page, loaded by HTMX after the page."""

    def get(self, request, customer_pk: int):
        customer = self.get_customer(customer_pk)
        return render(request, "users/_portal_users_card.html", card_context(customer=customer, user=request.user))


class InvitationCreateView(StaffCustomerMixin, View):
    manage = True
    template_name = "users/invitation_form.html"

    def get(self, request, customer_pk: int):
        customer = self.get_customer(customer_pk)
        initial = {}
        contact_id = request.GET.get("contact", "")
        if contact_id.isascii() and contact_id.isdigit() and len(contact_id) < 19:
            contact = customer.contacts.filter(pk=int(contact_id)).first()
            if contact is not None:
                initial = {"contact": contact, "name": contact.name, "email": contact.email, "phone": contact.phone}
        form = InvitationForm(customer=customer, user=request.user, initial=initial)
        return self.render(request, customer, form)

    def post(self, request, customer_pk: int):
        customer = self.get_customer(customer_pk)
        form = InvitationForm(request.POST, customer=customer, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                invitation, _raw = services.invitation_create(
                    customer=customer,
                    email=data["email"],
                    name=data["name"],
                    phone=data["phone"],
                    contact=data["contact"],
                    scope=data.get("scope") or [],
                    by=request.user,
                )
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
                return redirect(customer_detail_url(customer.pk))
        return self.render(request, customer, form, status=400)

    def render(self, request, customer, form, status=200):
        context = {"nav": "customers", "customer": customer, "form": form}
        return render(request, self.template_name, context, status=status)


def add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class InvitationActionView(StaffOnlyMixin, View):
    """Resend or revoke an open invitation (POST)."""

    action = ""

    def post(self, request, pk: int):
        invitation = get_object_or_404(Invitation.objects.visible_to(request.user).select_related("customer"), pk=pk)
        if not services.may_manage_portal_users(user=request.user, customer=invitation.customer):
            raise PermissionDenied
        try:
            if self.action == "resend":
                services.invitation_resend(invitation=invitation, by=request.user)
                messages.success(request, _("Invitation sent again to %(email)s.") % {"email": invitation.email})
            else:
                services.invitation_revoke(invitation=invitation, by=request.user)
                messages.success(request, _("Invitation to %(email)s revoked.") % {"email": invitation.email})
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect(customer_detail_url(invitation.customer_id))


class PortalUserMixin(StaffOnlyMixin):
    def get_portal_user(self, pk: int) -> User:
        visible = Customer.objects.visible_to(self.request.user).values("pk")
        portal_user = get_object_or_404(
            User.objects.select_related("customer").filter(role=Role.CUSTOMER_USER, customer__in=visible), pk=pk
        )
        if not services.may_manage_portal_users(user=self.request.user, customer=portal_user.customer):
            raise PermissionDenied
        return portal_user


class PortalUserScopeView(PortalUserMixin, View):
    template_name = "users/portal_user_scope.html"

    def get(self, request, pk: int):
        portal_user = self.get_portal_user(pk)
        current = list(portal_user.portal_scopes.values_list("customer_id", flat=True))
        form = ScopeForm(customer=portal_user.customer, user=request.user, initial={"scope": current})
        return self.render(request, portal_user, form)

    def post(self, request, pk: int):
        portal_user = self.get_portal_user(pk)
        form = ScopeForm(request.POST, customer=portal_user.customer, user=request.user)
        if form.is_valid():
            try:
                services.portal_scope_set(user=portal_user, customers=form.cleaned_data["scope"], by=request.user)
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, _("Scope of %(user)s saved.") % {"user": portal_user})
                return redirect(customer_detail_url(portal_user.customer_id))
        return self.render(request, portal_user, form, status=400)

    def render(self, request, portal_user, form, status=200):
        context = {"nav": "customers", "portal_user": portal_user, "customer": portal_user.customer, "form": form}
        return render(request, self.template_name, context, status=status)


class PortalUserActiveView(PortalUserMixin, View):
    """Deactivate (``active=0``) or reactivate (``active=1``) a portal user (POST)."""

    def post(self, request, pk: int):
        portal_user = self.get_portal_user(pk)
        active = request.POST.get("active") == "1"
        services.portal_user_set_active(user=portal_user, active=active, by=request.user)
        if active:
            messages.success(request, _("%(user)s may log in again.") % {"user": portal_user})
        else:
            messages.success(request, _("%(user)s can no longer log in.") % {"user": portal_user})
        return redirect(customer_detail_url(portal_user.customer_id))


# ------------------------------------------------------------------------------------ the invitation link


class InvitationAcceptView(View):
    """Where the invitation e-mail's link leads: choose a user name and password, then land in the portal."""

    template_name = "users/invitation_accept.html"

    def dispatch(self, request, *args, **kwargs):
        self.invitation = services.invitation_for_token(kwargs["token"])
        if self.invitation is None:
            return self.invalid(request, status=404)
        if self.invitation.status != "pending":
            return self.invalid(request, status=410)
        return super().dispatch(request, *args, **kwargs)

    def invalid(self, request, status):
        context = {"invitation": self.invitation, "status": self.invitation.status if self.invitation else None}
        return render(request, "users/invitation_invalid.html", context, status=status)

    def get(self, request, token: str):
        form = AcceptInvitationForm(initial={"username": self.invitation.email})
        return self.render(request, form)

    def post(self, request, token: str):
        form = AcceptInvitationForm(request.POST)
        if form.is_valid():
            try:
                user = services.invitation_accept(
                    raw_token=token, username=form.cleaned_data["username"], password=form.cleaned_data["password1"]
                )
            except Invitation.DoesNotExist:
                return self.invalid(request, status=410)
            except ValidationError as exc:
                fields = {"username": "username", "password": "password1"}
                for field, errors in exc.message_dict.items():
                    form.add_error(fields.get(field), errors)
            else:
                login(request, user, backend=MODEL_BACKEND)
                messages.success(request, _("Welcome, %(name)s.") % {"name": user})
                return redirect("portal:home")
        return self.render(request, form, status=400)

    def render(self, request, form, status=200):
        return render(request, self.template_name, {"invitation": self.invitation, "form": form}, status=status)


# ------------------------------------------------------------------------------ security and two-factor


class SecurityView(LoginRequiredMixin, View):
    """The signed-in user's security: password change link, two-factor on or off."""

    def get(self, request):
        return render(
            request,
            "users/security.html",
            {"base_template": base_template_for(request.user), "disable_form": TokenForm(), "nav": "security"},
        )


def qr_svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


class TotpEnableView(LoginRequiredMixin, View):
    """Set up an authenticator app: scan the QR code (or type the secret), confirm with one code."""

    def get(self, request):
        if request.user.two_factor_enabled:
            return redirect("users:security")
        return self.render(request, TokenForm())

    def post(self, request):
        if request.user.two_factor_enabled:
            return redirect("users:security")
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                device = services.totp_enable(user=request.user, token=form.cleaned_data["token"])
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                # This session has just proved the code: it stays verified.
                otp_login(request, device)
                messages.success(request, _("Two-factor authentication is on. Logging in now asks for a code."))
                return redirect("users:security")
        return self.render(request, form, status=400)

    def render(self, request, form, status=200):
        device = services.totp_device_pending(user=request.user)
        context = {
            "base_template": base_template_for(request.user),
            "form": form,
            "qr_svg": qr_svg(device.config_url),
            "secret": b32encode(device.bin_key).decode("ascii").rstrip("="),
            "nav": "security",
        }
        return render(request, "users/totp_enable.html", context, status=status)


class TotpDisableView(LoginRequiredMixin, View):
    def post(self, request):
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                services.totp_disable(user=request.user, token=form.cleaned_data["token"])
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, _("Two-factor authentication is off."))
                return redirect("users:security")
        context = {"base_template": base_template_for(request.user), "disable_form": form, "nav": "security"}
        return render(request, "users/security.html", context, status=400)


class OtpVerifyView(View):
    """The second step of logging in for users with two-factor: the code of their authenticator app."""

    template_name = "registration/otp_verify.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(settings.LOGIN_URL)
        if not owes_code(request.user):
            return HttpResponseRedirect(self.next_url(request))
        return super().dispatch(request, *args, **kwargs)

    def next_url(self, request) -> str:
        target = request.POST.get("next") or request.GET.get("next") or ""
        if url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return target
        return reverse(settings.LOGIN_REDIRECT_URL)

    def get(self, request):
        return self.render(request, TokenForm())

    def post(self, request):
        form = TokenForm(request.POST)
        if form.is_valid():
            device = services.totp_verify(user=request.user, token=form.cleaned_data["token"])
            if device is not None:
                otp_login(request, device)
                return HttpResponseRedirect(self.next_url(request))
            form.add_error("token", _("This code is not right. Wait for the next one and try again."))
        return self.render(request, form, status=400)

    def render(self, request, form, status=200):
        context = {"form": form, "next": request.POST.get("next") or request.GET.get("next") or ""}
        return render(request, self.template_name, context, status=status)


# -------------------------------------------------------------------------------------------- password reset


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset by e-mail, with links made absolute from GRIDKAM["SITE_URL"] when it is set."""

    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    def get_extra_email_context(self):
        return {
            "site_url": (settings.GRIDKAM.get("SITE_URL") or "").rstrip("/"),
            "site_name": settings.GRIDKAM.get("SITE_NAME", "GridKAM"),
        }

    def form_valid(self, form):
        self.extra_email_context = self.get_extra_email_context()
        return super().form_valid(form)
