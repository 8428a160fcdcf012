"""Reads for the demo tooling."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.hashers import check_password
from django.db.models import Q

from gridkam.users.choices import Role
from gridkam.users.models import User

from .services import DEMO_PASSWORD

# The order a newcomer tries them in: most powerful first, the customer's own view last.
LOGIN_ROLES = (
    Role.ADMINISTRATOR,
    Role.SUPERVISOR,
    Role.ACCOUNT_MANAGER,
    Role.FIELD_ENGINEER,
    Role.BILLING_CLERK,
    Role.CUSTOMER_USER,
)


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    name: str
    where: str  # org unit, or the customer of a portal user
    demo_password: bool  # False once the user has changed it


def demo_logins() -> list[DemoLogin]:
    """The first active user of each role, by username, as they are in the database now.

    A superuser counts as an administrator whatever their role field says (``createsuperuser`` does
    not set it), and only there.
    """
    logins = []
    active = User.objects.filter(is_active=True).select_related("org_unit", "customer").order_by("username")
    for role in LOGIN_ROLES:
        if role == Role.ADMINISTRATOR:
            user = active.filter(Q(role=role) | Q(is_superuser=True)).first()
        else:
            user = active.filter(role=role, is_superuser=False).first()
        if user is None:
            continue
        place = user.customer or user.org_unit
        logins.append(
            DemoLogin(
                role=role,
                username=user.username,
                name=user.display_name or user.get_full_name(),
                where=str(place) if place else "",
                demo_password=check_password(DEMO_PASSWORD, user.password),
            )
        )
    return logins
