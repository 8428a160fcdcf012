"""People: utility staff in their org units and teams, and the customers' own portal users."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
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
