"""The demo's portal users (gridkam/demo/portal_users.py), on the personas."""

import pytest

from gridkam.core.testing import make_contact
from gridkam.customers.models import Customer
from gridkam.demo.portal_users import DEMO_INVITATION_TOKEN, portal_users_seed
from gridkam.users.models import Invitation, PortalScope, User
from gridkam.users.services import invitation_for_token

pytestmark = pytest.mark.django_db


def test_seed_grants_group_scopes_adds_a_plant_user_and_a_pending_invitation(p):
    PortalScope.objects.all().delete()
    make_contact(customer=p.a2, name="石化能源", email="energy@petro.example.cn")
    created = portal_users_seed(password="Demo-password-2026")
    assert created == {"scopes": 1, "portal_users": 1, "invitations": 1}
    assert set(Customer.objects.visible_to(p.customer_user)) == {p.a1, p.a1_sub}
    plant = User.objects.get(username="portal-subsidiary")
    assert set(Customer.objects.visible_to(plant)) == {p.a1_sub}
    assert plant.check_password("Demo-password-2026") and plant.is_active
    invitation = invitation_for_token(DEMO_INVITATION_TOKEN)
    assert invitation.customer == p.a2 and invitation.status == "pending" and invitation.invited_by == p.manager
    # Again: nothing more.
    assert portal_users_seed(password="Demo-password-2026") == {"scopes": 0, "portal_users": 0, "invitations": 0}
    assert Invitation.objects.count() == 1
