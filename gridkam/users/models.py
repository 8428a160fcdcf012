"""People: utility staff in their org units and teams, and the customers' own portal users."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridkam.core.models import OrgUnit

from .choices import Role


class UserQuerySet(models.QuerySet):
    def visible_to(self, user) -> UserQuerySet:
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_administrator:
            return self.all()
        if user.is_customer_user or user.org_unit_id is None:
            return self.filter(pk=user.pk)
        # Staff see the staff of their unit and below (colleagues, team leads); never portal users of
        # customers they may not see, so customer users are left out here.
        return self.filter(
            models.Q(pk=user.pk) | models.Q(org_unit__path__startswith=user.org_unit.path, customer__isnull=True)
        )


class GridKAMUserManager(UserManager.from_queryset(UserQuerySet)):
    pass


class TeamQuerySet(models.QuerySet):
    def visible_to(self, user) -> TeamQuerySet:
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_administrator:
            return self.all()
        if user.is_customer_user or user.org_unit_id is None:
            return self.none()
        return self.filter(org_unit__path__startswith=user.org_unit.path)


class Team(models.Model):
    """A group of managers and field engineers who serve key accounts together under one lead."""

    name = models.CharField(_("name"), max_length=100)
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="teams")
    lead = models.ForeignKey(
        "users.User", verbose_name=_("team lead"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = TeamQuerySet.as_manager()

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["org_unit__path", "name"]
        constraints = [models.UniqueConstraint(fields=["org_unit", "name"], name="team_unique_name_per_unit")]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who logs in: utility staff (with an org unit and role) or a customer's portal user."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.ACCOUNT_MANAGER)
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="portal_users",
        help_text=_("Only for customer users: the enterprise whose data they may see."),
    )
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    display_name = models.CharField(_("display name"), max_length=50, blank=True)
    # Kept by the two-factor services next to the device, so that every request knows without a query whether
    # the user must give a code (the middleware in gridkam.users.otp reads it).
    two_factor_enabled = models.BooleanField(_("two-factor authentication"), default=False, editable=False)

    objects = GridKAMUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def is_administrator(self) -> bool:
        return self.is_superuser or self.role == Role.ADMINISTRATOR

    @property
    def is_customer_user(self) -> bool:
        return self.role == Role.CUSTOMER_USER

    @property
    def is_supervisor(self) -> bool:
        return self.role == Role.SUPERVISOR

    @property
    def is_portfolio_holder(self) -> bool:
        return self.role in (Role.ACCOUNT_MANAGER, Role.FIELD_ENGINEER)

    def clean(self) -> None:
        errors = {}
        if self.role == Role.CUSTOMER_USER:
            if not self.customer_id:
                errors["customer"] = _("A customer user must belong to a customer.")
        else:
            if self.customer_id:
                errors["customer"] = _("Only customer users belong to a customer.")
            if not self.org_unit_id and not self.is_superuser and self.role != Role.ADMINISTRATOR:
                errors["org_unit"] = _("Staff must belong to an org unit.")
        if errors:
            raise ValidationError(errors)


class PortalScope(models.Model):
    """A subsidiary a group headquarters' portal user may see besides their own customer.

    Chosen by the account manager per user: a group's energy manager may follow some of the group's plants
    and not others. The customer must belong to the user's customer's group (its subsidiaries, any depth).
    """

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="portal_scopes")
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="portal_scopes"
    )
    granted_by = models.ForeignKey(
        User, verbose_name=_("granted by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)

    class Meta:
        verbose_name = _("portal scope")
        verbose_name_plural = _("portal scopes")
        ordering = ["user", "customer__name"]
        constraints = [models.UniqueConstraint(fields=["user", "customer"], name="portal_scope_unique_user_customer")]

    def __str__(self) -> str:
        return f"{self.user} → {self.customer}"

    def clean(self) -> None:
        """Only a customer user may have a scope, and only over subsidiaries of their own customer's group."""
        super().clean()
        if self.user_id is None or self.customer_id is None:
            return
        from gridkam.customers.models import customer_family_ids

        owner = User.objects.filter(pk=self.user_id).values_list("customer_id", "role").first()
        owner_customer, role = owner if owner else (None, None)
        if role != Role.CUSTOMER_USER or owner_customer is None:
            raise ValidationError({"user": _("Only a customer's portal users have a scope.")})
        if self.customer_id not in customer_family_ids(owner_customer) - {owner_customer}:
            raise ValidationError({"customer": _("Only subsidiaries of the user's customer may be in the scope.")})


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")


class InvitationQuerySet(models.QuerySet):
    def pending(self, *, now=None) -> InvitationQuerySet:
        """Open invitations whose link still works."""
        return self.open().filter(expires_at__gt=now or timezone.now())

    def open(self) -> InvitationQuerySet:
        """Neither accepted nor revoked (expired ones included: a new invitation to the address replaces them)."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)

    def visible_to(self, user) -> InvitationQuerySet:
        from gridkam.customers.models import Customer

        if not user.is_authenticated or not user.is_active or user.is_customer_user:
            return self.none()
        return self.filter(customer__in=Customer.objects.visible_to(user).values("pk"))


class Invitation(models.Model):
    """An e-mailed invitation for a customer's contact to become one of its portal users.

    Only a hash of the link's token is stored: the raw token exists in the e-mail only. Accepting it creates the
    user with the scope chosen here; an invitation is used once, may be revoked, and expires after
    GRIDKAM["PORTAL_INVITATION_DAYS"] days.
    """

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("e-mail"))
    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations",
    )
    scope = models.ManyToManyField(
        "customers.Customer",
        verbose_name=_("subsidiaries in scope"),
        blank=True,
        related_name="+",
        help_text=_("Group subsidiaries the new user may see besides the customer itself."),
    )
    invited_by = models.ForeignKey(
        User, verbose_name=_("invited by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("last sent at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    user = models.ForeignKey(
        User,
        verbose_name=_("resulting user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations",
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("portal invitation")
        verbose_name_plural = _("portal invitations")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One open invitation per address and customer: inviting again renews it.
            models.UniqueConstraint(
                fields=["customer", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
                violation_error_message=_("This address already has an open invitation for this customer."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    @property
    def status(self) -> str:
        if self.accepted_at:
            return InvitationStatus.ACCEPTED
        if self.revoked_at:
            return InvitationStatus.REVOKED
        if self.expires_at <= timezone.now():
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING

    def get_status_display(self) -> str:
        return InvitationStatus(self.status).label
