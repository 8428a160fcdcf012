"""Demo portal users: group scopes for the groups' portal users, one more user in a subsidiary, and one pending
invitation, all through the services of gridkam.users (so the demo follows the same rules as the pages).

``seed_demo`` calls :func:`portal_users_seed` after the customers, their account teams and the generator's portal
users exist. Running it again adds nothing.
"""

from __future__ import annotations

from django.contrib.auth.hashers import make_password
from django.db import transaction

from gridkam.customers.choices import AssignmentRole
from gridkam.customers.models import AccountAssignment, Contact, Customer, customer_family_ids
from gridkam.users.choices import Role
from gridkam.users.models import Invitation, PortalScope, User
from gridkam.users.services import invitation_create

# The demo's pending invitation opens with this link: /accounts/invitation/<DEMO_INVITATION_TOKEN>/ (demo only).
DEMO_INVITATION_TOKEN = "gridkam-demo-invitation-2026"


def _manager_of(customer_id: int) -> User | None:
    assignment = (
        AccountAssignment.objects.filter(customer_id=customer_id, role=AssignmentRole.MANAGER, end_date__isnull=True)
        .select_related("user")
        .first()
    )
    return assignment.user if assignment else None


@transaction.atomic
def portal_users_seed(*, password: str) -> dict[str, int]:
    """Give each group headquarters' portal user its group's subsidiaries, add a portal user to one subsidiary
    (logging in with ``password``), and leave one pending invitation. Returns what was created."""
    created = {"scopes": 0, "portal_users": 0, "invitations": 0}
    heads = list(
        User.objects.filter(role=Role.CUSTOMER_USER, customer__subsidiaries__isnull=False)
        .select_related("customer")
        .distinct()
        .order_by("pk")
    )
    scopes = []
    for user in heads:
        granted_by = _manager_of(user.customer_id)
        for pk in sorted(customer_family_ids(user.customer_id) - {user.customer_id}):
            scopes.append(PortalScope(user=user, customer_id=pk, granted_by=granted_by))
    before = PortalScope.objects.count()
    PortalScope.objects.bulk_create(scopes, ignore_conflicts=True)
    created["scopes"] = PortalScope.objects.count() - before

    # A plant's own energy manager: sees only the subsidiary, unlike the group's user.
    if heads:
        subsidiary = Customer.objects.filter(parent_id=heads[0].customer_id).order_by("pk").first()
        username = "portal-subsidiary"
        if subsidiary is not None and not User.objects.filter(username=username).exists():
            User.objects.create(
                username=username,
                display_name=f"{subsidiary.name[:6]}能源主管",
                role=Role.CUSTOMER_USER,
                customer=subsidiary,
                email=f"{username}@demo.gridkam.local",
                password=make_password(password),
            )
            created["portal_users"] += 1

    # A pending invitation, sent by the account manager to a contact of a customer without portal users.
    if not Invitation.objects.exists():
        contact = (
            Contact.objects.exclude(email="")
            .filter(customer__portal_users__isnull=True, customer__assignments__role=AssignmentRole.MANAGER)
            .exclude(email__in=User.objects.exclude(email="").values("email"))
            .select_related("customer")
            .order_by("customer_id", "pk")
            .first()
        )
        manager = _manager_of(contact.customer_id) if contact else None
        if contact is not None and manager is not None:
            invitation_create(
                customer=contact.customer,
                email=contact.email,
                name=contact.name,
                phone=contact.phone,
                contact=contact,
                by=manager,
                raw_token=DEMO_INVITATION_TOKEN,
            )
            created["invitations"] += 1
    return created
