"""/api/v1/portal-users/ and /api/v1/portal-invitations/: staff only, scoped to the customers they see and edit."""

import pytest
from django.core import mail

from gridkam.core.testing import make_user
from gridkam.users.choices import Role
from gridkam.users.models import Invitation, PortalScope, User
from gridkam.users.services import invitation_create

from .portal_support import b1_user

pytestmark = pytest.mark.django_db
USERS = "/api/v1/portal-users/"
INVITATIONS = "/api/v1/portal-invitations/"


def pending(p, **kwargs):
    fields = {"customer": p.a1, "email": "energy@steel.example.cn", "name": "张能源", "by": p.manager}
    return invitation_create(**{**fields, **kwargs})[0]


def test_anonymous_gets_401_or_403(p, api):
    invitation = pending(p)
    for url in (USERS, f"{USERS}{p.customer_user.pk}/", INVITATIONS, f"{INVITATIONS}{invitation.pk}/"):
        assert api(None).get(url).status_code in (401, 403)


@pytest.mark.parametrize("who", ["customer_user", "b1"])
def test_customer_users_get_403(p, api, who):
    invitation = pending(p)
    client = api(b1_user(p) if who == "b1" else p.customer_user)
    for url in (USERS, f"{USERS}{p.customer_user.pk}/", INVITATIONS, f"{INVITATIONS}{invitation.pk}/"):
        assert client.get(url).status_code == 403
    assert client.patch(f"{USERS}{p.customer_user.pk}/", {"is_active": False}, format="json").status_code == 403
    assert (
        client.post(INVITATIONS, {"customer": p.a1.pk, "email": "x@y.cn", "name": "x"}, format="json").status_code
        == 403
    )
    assert client.post(f"{INVITATIONS}{invitation.pk}/revoke/").status_code == 403


def test_outsider_sees_nothing_of_a1(p, api):
    invitation = pending(p)
    client = api(p.outsider)
    assert client.get(USERS).json()["count"] == 0 and client.get(INVITATIONS).json()["count"] == 0
    assert client.get(f"{USERS}{p.customer_user.pk}/").status_code == 404
    assert client.get(f"{INVITATIONS}{invitation.pk}/").status_code == 404
    assert client.patch(f"{USERS}{p.customer_user.pk}/", {"is_active": False}, format="json").status_code == 404
    assert client.post(f"{INVITATIONS}{invitation.pk}/revoke/").status_code == 404
    response = client.post(INVITATIONS, {"customer": p.a1.pk, "email": "x@y.cn", "name": "x"}, format="json")
    assert response.status_code == 400 and "customer" in response.json()["errors"]
    assert User.objects.get(pk=p.customer_user.pk).is_active and Invitation.objects.get().status == "pending"


def test_list_and_detail_for_staff_who_see_the_customer(p, api):
    pending(p, scope=[p.a1_sub])
    for user in (p.manager, p.colleague, p.supervisor, p.clerk, p.admin):
        data = api(user).get(USERS).json()
        assert [row["id"] for row in data["results"]] == [p.customer_user.pk]
        assert data["results"][0]["scope"] == [p.a1_sub.pk]
        invitations = api(user).get(INVITATIONS, {"status": "pending"}).json()["results"]
        assert [row["email"] for row in invitations] == ["energy@steel.example.cn"]
        assert "token_hash" not in invitations[0]
    assert api(p.manager).get(INVITATIONS, {"status": "revoked"}).json()["count"] == 0
    assert api(p.manager).get(USERS, {"customer": p.b1.pk}).json()["count"] == 0


def test_ids_beyond_the_database_answer_404(p, api):
    client = api(p.manager)
    for url in (f"{USERS}{2**63 + 1}/", f"{INVITATIONS}{2**64}/", f"{USERS}{p.manager.pk}/"):
        assert client.get(url).status_code == 404


def test_list_query_count_is_constant(p, api, django_assert_max_num_queries):
    client = api(p.manager)
    pending(p, scope=[p.a1_sub])
    with django_assert_max_num_queries(99) as few_users:
        client.get(USERS)
    with django_assert_max_num_queries(99) as few_invitations:
        client.get(INVITATIONS)
    for n in range(10):
        user = make_user(f"p{n}", role=Role.CUSTOMER_USER, customer=p.a1)
        PortalScope.objects.create(user=user, customer=p.a1_sub)
        pending(p, email=f"p{n}@steel.example.cn", scope=[p.a1_sub])
    with django_assert_max_num_queries(len(few_users.captured_queries)):
        assert client.get(USERS).json()["count"] == 11
    with django_assert_max_num_queries(len(few_invitations.captured_queries)):
        assert client.get(INVITATIONS).json()["count"] == 11


def test_manager_invites_through_the_api(p, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(p.manager).post(
            INVITATIONS,
            {"customer": p.a1.pk, "email": "zhang@steel.example.cn", "name": "张", "scope": [p.a1_sub.pk]},
            format="json",
        )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "pending" and data["scope"] == [p.a1_sub.pk] and "token_hash" not in data
    assert len(mail.outbox) == 1


def test_invite_field_errors(p, api):
    make_user("taken", role=Role.BILLING_CLERK, org_unit=p.city_a, email="taken@steel.example.cn")
    client = api(p.manager)
    response = client.post(INVITATIONS, {"customer": p.a1.pk, "email": "bad", "name": ""}, format="json")
    assert response.status_code == 400 and {"email", "name"} <= set(response.json()["errors"])
    response = client.post(
        INVITATIONS, {"customer": p.a1.pk, "email": "taken@steel.example.cn", "name": "x"}, format="json"
    )
    assert response.status_code == 400 and "email" in response.json()["errors"]
    response = client.post(
        INVITATIONS,
        {"customer": p.a1.pk, "email": "ok@steel.example.cn", "name": "x", "scope": [p.a2.pk]},
        format="json",
    )
    assert response.status_code == 400 and "scope" in response.json()["errors"]
    response = client.post(
        INVITATIONS, {"customer": p.a3.pk, "email": "ok@steel.example.cn", "name": "x"}, format="json"
    )
    assert response.status_code == 400 and "customer" in response.json()["errors"]
    assert not Invitation.objects.exists()


def test_staff_who_may_not_edit_get_403_on_writes(p, api):
    invitation = pending(p)
    client = api(p.colleague)
    assert client.get(f"{INVITATIONS}{invitation.pk}/").status_code == 200
    assert client.post(f"{INVITATIONS}{invitation.pk}/revoke/").status_code == 403
    assert client.post(f"{INVITATIONS}{invitation.pk}/resend/").status_code == 403
    assert client.patch(f"{USERS}{p.customer_user.pk}/", {"is_active": False}, format="json").status_code == 403
    assert User.objects.get(pk=p.customer_user.pk).is_active


def test_resend_revoke_scope_and_deactivate(p, api):
    invitation = pending(p)
    client = api(p.manager)
    assert client.post(f"{INVITATIONS}{invitation.pk}/resend/").status_code == 200
    response = client.post(f"{INVITATIONS}{invitation.pk}/revoke/")
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    response = client.post(f"{INVITATIONS}{invitation.pk}/revoke/")
    assert response.status_code == 400
    url = f"{USERS}{p.customer_user.pk}/"
    response = client.patch(url, {"scope": [], "is_active": False}, format="json")
    assert response.status_code == 200 and response.json()["scope"] == [] and not response.json()["is_active"]
    response = client.patch(url, {"scope": [p.a1_sub.pk], "is_active": True}, format="json")
    assert response.json()["scope"] == [p.a1_sub.pk] and response.json()["is_active"]
    response = client.patch(url, {"scope": [p.b1.pk]}, format="json")
    assert response.status_code == 400 and "scope" in response.json()["errors"]
