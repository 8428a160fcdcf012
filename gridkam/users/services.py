"""Writes on portal users: invitations, their acceptance, the group scope of a user, deactivation, two-factor.

Who may do what is checked here, so the pages, the API and the demo share one rule: staff who may edit a
customer (``Customer.objects.editable_by``) manage its portal users.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from gridkam.customers.models import Contact, Customer, customer_family_ids
from gridkam.engagement.notifications import absolute_link

from .choices import Role
from .models import Invitation, PortalScope, User

TOKEN_BYTES = 32


def token_hash(raw_token: str) -> str:
    """What is stored of an invitation token: its SHA-256. The token has 256 random bits, so no salt is needed."""
    return hashlib.sha256(raw_token.encode("utf-8", "surrogatepass")).hexdigest()


def invitation_days() -> int:
    return int(settings.GRIDKAM.get("PORTAL_INVITATION_DAYS", 7))


def may_manage_portal_users(*, user, customer: Customer) -> bool:
    return Customer.objects.editable_by(user).filter(pk=customer.pk).exists()


def _require_manager(user, customer: Customer) -> None:
    if not may_manage_portal_users(user=user, customer=customer):
        raise PermissionDenied(_("You may not manage the portal users of this customer."))


def scope_choices(*, customer: Customer, user) -> list[Customer]:
    """The subsidiaries (any depth) of ``customer`` that ``user`` (the staff member granting) can see."""
    family = customer_family_ids(customer.pk) - {customer.pk}
    if not family:
        return []
    return list(Customer.objects.visible_to(user).filter(pk__in=family).order_by("name"))


def _clean_scope(*, customer: Customer, scope: Iterable[Customer], by) -> list[Customer]:
    scope = list(scope)
    allowed = {c.pk for c in scope_choices(customer=customer, user=by)} if scope else set()
    wrong = [c for c in scope if c.pk not in allowed]
    if wrong:
        raise ValidationError(
            {
                "scope": _("Only subsidiaries of %(customer)s may be in the scope: %(wrong)s.")
                % {"customer": customer.name, "wrong": ", ".join(c.name for c in wrong)}
            }
        )
    return scope


def _send_invitation(invitation: Invitation, raw_token: str) -> None:
    link = absolute_link(reverse("users:invitation_accept", args=[raw_token]))
    context = {
        "invitation": invitation,
        "customer": invitation.customer,
        "link": link,
        "expires_at": invitation.expires_at,
        "days": invitation_days(),
        "site_name": settings.GRIDKAM.get("SITE_NAME", "GridKAM"),
        "invited_by": invitation.invited_by,
    }
    subject = " ".join(render_to_string("users/email/invitation_subject.txt", context).split())
    body = render_to_string("users/email/invitation.txt", context)
    # After commit: a rolled-back invitation sends nothing, and its token would not work anyway.
    transaction.on_commit(lambda: send_mail(subject, body, None, [invitation.email]))


def _new_token(invitation: Invitation, now: dt.datetime) -> str:
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    invitation.token_hash = token_hash(raw)
    invitation.sent_at = now
    invitation.expires_at = now + dt.timedelta(days=invitation_days())
    return raw


@transaction.atomic
def invitation_create(
    *,
    customer: Customer,
    email: str,
    name: str,
    by,
    phone: str = "",
    contact: Contact | None = None,
    scope: Iterable[Customer] = (),
    raw_token: str | None = None,
) -> tuple[Invitation, str]:
    """Invite someone to the customer's portal and e-mail them the link; returns the invitation and raw token.

    Inviting an address again while its invitation is open renews that invitation (new link, new expiry, the new
    name and scope) instead of adding a second one. ``raw_token`` is for tests and the demo only.
    """
    _require_manager(by, customer)
    email = (email or "").strip()
    errors = {}
    if not email:
        errors["email"] = _("Give the e-mail address the invitation goes to.")
    elif User.objects.filter(email__iexact=email).exists():
        errors["email"] = _("A user with this e-mail address already exists.")
    if not (name or "").strip():
        errors["name"] = _("Give the name of the person invited.")
    if contact is not None and contact.customer_id != customer.pk:
        errors["contact"] = _("This contact belongs to another customer.")
    if errors:
        raise ValidationError(errors)
    scope = _clean_scope(customer=customer, scope=scope, by=by)
    now = timezone.now()
    invitation = Invitation.objects.select_for_update().open().filter(
        customer=customer, email__iexact=email
    ).first() or Invitation(customer=customer, created_at=now)
    invitation.email = email
    invitation.name = name.strip()
    invitation.phone = (phone or "").strip()
    invitation.contact = contact
    invitation.invited_by = by
    raw = _new_token(invitation, now)
    if raw_token:
        raw = raw_token
        invitation.token_hash = token_hash(raw)
    invitation.full_clean(exclude=["token_hash", "scope"])
    invitation.save()
    invitation.scope.set(scope)
    _send_invitation(invitation, raw)
    return invitation, raw


def _require_open(invitation: Invitation) -> None:
    if invitation.accepted_at or invitation.revoked_at:
        raise ValidationError(_("This invitation is no longer open."))


@transaction.atomic
def invitation_resend(*, invitation: Invitation, by) -> tuple[Invitation, str]:
    """Send the invitation again with a new link (the old one stops working) and a new expiry."""
    invitation = Invitation.objects.select_for_update().select_related("customer").get(pk=invitation.pk)
    _require_manager(by, invitation.customer)
    _require_open(invitation)
    raw = _new_token(invitation, timezone.now())
    invitation.save(update_fields=["token_hash", "sent_at", "expires_at"])
    _send_invitation(invitation, raw)
    return invitation, raw


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, by) -> Invitation:
    invitation = Invitation.objects.select_for_update().select_related("customer").get(pk=invitation.pk)
    _require_manager(by, invitation.customer)
    _require_open(invitation)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    return invitation


def invitation_for_token(raw_token: str) -> Invitation | None:
    """The invitation a link's token opens, if any, whatever its state."""
    if not raw_token or len(raw_token) > 200:
        return None
    return Invitation.objects.select_related("customer").filter(token_hash=token_hash(raw_token)).first()


@transaction.atomic
def invitation_accept(*, raw_token: str, username: str, password: str) -> User:
    """Create the invited person's portal user with the invitation's scope; the invitation is then used up.

    Raises ``Invitation.DoesNotExist`` for a token that is unknown, used, revoked or expired (nothing is created),
    ``ValidationError`` for a bad user name or password.
    """
    found = invitation_for_token(raw_token)
    if found is None:
        raise Invitation.DoesNotExist
    invitation = Invitation.objects.select_for_update().select_related("customer").get(pk=found.pk)
    if invitation.accepted_at or invitation.revoked_at or invitation.expires_at <= timezone.now():
        raise Invitation.DoesNotExist
    username = (username or "").strip()
    user = User(
        username=username,
        email=invitation.email,
        display_name=invitation.name,
        phone=invitation.phone,
        role=Role.CUSTOMER_USER,
        customer=invitation.customer,
    )
    errors = {}
    if not username:
        errors["username"] = [_("Choose a user name.")]
    else:
        try:
            user.full_clean(exclude=["password"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if User.objects.filter(email__iexact=invitation.email).exists():
        errors.setdefault("username", []).append(_("A user with this e-mail address already exists."))
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.save()
    # Subsidiaries that left the group since the invitation are not granted.
    family = customer_family_ids(invitation.customer_id)
    PortalScope.objects.bulk_create(
        [
            PortalScope(user=user, customer_id=pk, granted_by_id=invitation.invited_by_id)
            for pk in invitation.scope.filter(pk__in=family).values_list("pk", flat=True)
        ]
    )
    invitation.accepted_at = timezone.now()
    invitation.user = user
    invitation.save(update_fields=["accepted_at", "user"])
    return user


def _portal_user_for_update(user: User) -> User:
    portal_user = User.objects.select_for_update(of=("self",)).select_related("customer").get(pk=user.pk)
    if not portal_user.is_customer_user or portal_user.customer_id is None:
        raise ValidationError(_("This is not a portal user."))
    return portal_user


@transaction.atomic
def portal_scope_set(*, user: User, customers: Iterable[Customer], by) -> list[Customer]:
    """Make ``customers`` (subsidiaries of the user's customer) exactly the user's extra scope."""
    portal_user = _portal_user_for_update(user)
    _require_manager(by, portal_user.customer)
    wanted = _clean_scope(customer=portal_user.customer, scope=customers, by=by)
    wanted_ids = {c.pk for c in wanted}
    current = PortalScope.objects.filter(user=portal_user)
    # Subsidiaries the granting manager cannot see stay as they are: they were granted by someone who can.
    visible = {c.pk for c in scope_choices(customer=portal_user.customer, user=by)}
    current.filter(customer_id__in=visible - wanted_ids).delete()
    have = set(current.values_list("customer_id", flat=True))
    now = timezone.now()
    PortalScope.objects.bulk_create(
        [PortalScope(user=portal_user, customer_id=pk, granted_by=by, granted_at=now) for pk in wanted_ids - have]
    )
    return wanted


@transaction.atomic
def portal_scopes_prune(*, customer_id: int) -> int:
    """Drop the scope rows a move of ``customer_id`` in the group tree left outside their grantee's group.

    Call after the customer's parent changed. Only rows on the moved customer and its subsidiaries can be affected;
    such a row stays when its grantee's customer is now above the moved customer, or inside the moved branch
    (whose inner structure did not change). One delete, whatever the number of rows. Returns the rows deleted.
    """
    branch = customer_family_ids(customer_id)
    above: set[int] = set()
    parent_id = Customer.objects.filter(pk=customer_id).values_list("parent_id", flat=True).first()
    while parent_id is not None and parent_id not in above and parent_id not in branch:
        above.add(parent_id)
        parent_id = Customer.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
    deleted, _rows = (
        PortalScope.objects.filter(customer_id__in=branch).exclude(user__customer_id__in=above | branch).delete()
    )
    return deleted


def portal_user_set_active(*, user: User, active: bool, by) -> User:
    """Deactivate a portal user (they can no longer log in, their history stays) or reactivate them."""
    portal_user = _portal_user_for_update(user)
    _require_manager(by, portal_user.customer)
    if portal_user.is_active != active:
        portal_user.is_active = active
        portal_user.save(update_fields=["is_active"])
    return portal_user


# ------------------------------------------------------------------------------------------------ two-factor


def totp_device_pending(*, user: User) -> TOTPDevice:
    """The unconfirmed device being set up (created on first call), whose secret the security page shows."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)
    return device


def totp_enable(*, user: User, token: str) -> TOTPDevice:
    """Confirm the pending device with a code from the app; from now on logging in asks for a code."""
    # A wrong code is committed as a throttling failure (django-otp slows guessing down), so the error is raised
    # after the transaction, not inside it.
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            raise ValidationError({"token": _("Start again: show the QR code and scan it first.")})
        accepted = device.verify_token((token or "").strip())
        if accepted:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            User.objects.filter(pk=user.pk).update(two_factor_enabled=True)
            user.two_factor_enabled = True
    if not accepted:
        raise ValidationError({"token": _("This code is not right. Check the time of your phone and try again.")})
    return device


def totp_disable(*, user: User, token: str) -> None:
    """Turn two-factor off, proven with a current code."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None:
            raise ValidationError({"token": _("Two-factor authentication is not turned on.")})
        accepted = device.verify_token((token or "").strip())
        if accepted:
            TOTPDevice.objects.filter(user=user).delete()
            User.objects.filter(pk=user.pk).update(two_factor_enabled=False)
            user.two_factor_enabled = False
    if not accepted:
        raise ValidationError({"token": _("This code is not right.")})


def totp_verify(*, user: User, token: str) -> TOTPDevice | None:
    """The confirmed device that accepts ``token`` (throttled by django-otp after wrong codes), or None."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is not None and device.verify_token((token or "").strip()):
            return device
    return None
