"""Regressions from the review: two-factor on the token endpoint, scopes that leave the group, odd digits and
oversized ids in the portal-user forms."""

import importlib
import time

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection
from django_otp.oath import TOTP
from rest_framework.test import APIClient

from gridkam.core.testing import PASSWORD, make_customer, make_user
from gridkam.customers.models import Customer
from gridkam.customers.services import customer_save
from gridkam.users.choices import Role
from gridkam.users.models import PortalScope
from gridkam.users.services import portal_scope_set, totp_device_pending, totp_enable

from .portal_support import grandchild

pytestmark = pytest.mark.django_db
TOKEN_URL = "/api/v1/auth/token/"


def code(device, steps: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps * device.step
    return f"{totp.token():0{device.digits}d}"


def enable(user):
    device = totp_device_pending(user=user)
    totp_enable(user=user, token=code(device))
    device.refresh_from_db()
    return device


def visible_ids(user) -> set[int]:
    return set(Customer.objects.visible_to(user).values_list("pk", flat=True))


# ---------------------------------------------------------------------------------- 1. token and two-factor


def test_token_needs_the_one_time_code_when_two_factor_is_on(p):
    device = enable(p.customer_user)
    credentials = {"username": p.customer_user.username, "password": PASSWORD}
    response = APIClient().post(TOKEN_URL, credentials, format="json")
    assert response.status_code == 400
    assert "otp_token" in response.json()["errors"] and "token" not in response.json()
    response = APIClient().post(TOKEN_URL, {**credentials, "otp_token": ""}, format="json")
    assert response.status_code == 400 and "otp_token" in response.json()["errors"]
    # The right code of the next period gives the token, which then works.
    response = APIClient().post(TOKEN_URL, {**credentials, "otp_token": code(device, 1)}, format="json")
    assert response.status_code == 200, response.json()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api.get("/api/v1/portal/home/").status_code == 200


def test_token_refuses_a_wrong_code_and_throttles_like_the_code_page(p):
    device = enable(p.manager)
    credentials = {"username": p.manager.username, "password": PASSWORD}
    wrong = "123456" if code(device, 1) != "123456" else "654321"
    response = APIClient().post(TOKEN_URL, {**credentials, "otp_token": wrong}, format="json")
    assert response.status_code == 400 and "otp_token" in response.json()["errors"]
    # Right after a wrong code, even the right one waits (django-otp's throttle).
    response = APIClient().post(TOKEN_URL, {**credentials, "otp_token": code(device, 1)}, format="json")
    assert response.status_code == 400 and "otp_token" in response.json()["errors"]
    device.refresh_from_db()
    device.throttle_reset()
    response = APIClient().post(TOKEN_URL, {**credentials, "otp_token": code(device, 1)}, format="json")
    assert response.status_code == 200 and response.json()["token"]


def test_token_without_two_factor_needs_no_code_and_a_wrong_password_still_fails(p):
    response = APIClient().post(TOKEN_URL, {"username": p.colleague.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200 and response.json()["token"]
    enable(p.manager)
    response = APIClient().post(
        TOKEN_URL, {"username": p.manager.username, "password": "wrong-password", "otp_token": "000000"}, format="json"
    )
    assert response.status_code == 400 and "token" not in response.json()


# ------------------------------------------------------------------------------ 2. scope outside the group


def test_a_scope_on_a_subsidiary_that_left_the_group_no_longer_shows(p):
    assert p.a1_sub.pk in visible_ids(p.customer_user)
    # Moved behind the services' back: visibility alone already ignores the stale row.
    Customer.objects.filter(pk=p.a1_sub.pk).update(parent=p.b1)
    assert visible_ids(p.customer_user) == {p.a1.pk}


def test_moving_a_subsidiary_out_deletes_the_grants_outside_the_new_group(p):
    deep, sibling = grandchild(p)
    plant_user = make_user("plant-portal", role=Role.CUSTOMER_USER, customer=p.a1_sub)
    portal_scope_set(user=p.customer_user, customers=[p.a1_sub, deep, sibling], by=p.supervisor)
    portal_scope_set(user=plant_user, customers=[deep], by=p.supervisor)
    b1_user = make_user("b1-hq", role=Role.CUSTOMER_USER, customer=p.b1)
    sub = Customer.objects.get(pk=p.a1_sub.pk)
    sub.parent = p.b1
    customer_save(customer=sub)
    # A1's user loses the branch that left (A1-sub and its plant), keeps the sibling; the branch's own user keeps
    # its grant inside the branch; B1's user gets nothing by itself.
    assert set(PortalScope.objects.filter(user=p.customer_user).values_list("customer_id", flat=True)) == {sibling.pk}
    assert set(PortalScope.objects.filter(user=plant_user).values_list("customer_id", flat=True)) == {deep.pk}
    assert not PortalScope.objects.filter(user=b1_user).exists()
    assert visible_ids(p.customer_user) == {p.a1.pk, sibling.pk}


def test_saving_without_moving_keeps_the_scope_and_moving_within_the_group_too(p):
    deep, sibling = grandchild(p)
    portal_scope_set(user=p.customer_user, customers=[p.a1_sub, deep, sibling], by=p.supervisor)
    sub = Customer.objects.get(pk=p.a1_sub.pk)
    sub.name = sub.name + "（改）"
    customer_save(customer=sub)
    # The plant moves from A1-sub to the sibling: still A1's group.
    deep = Customer.objects.get(pk=deep.pk)
    deep.parent = sibling
    customer_save(customer=deep)
    assert PortalScope.objects.filter(user=p.customer_user).count() == 3


def test_prune_is_one_delete_whatever_the_number_of_grants(p, django_assert_max_num_queries):
    from gridkam.users.services import portal_scopes_prune

    deep, sibling = grandchild(p)
    users = [make_user(f"hq{i}", role=Role.CUSTOMER_USER, customer=p.a1) for i in range(5)]
    PortalScope.objects.bulk_create([PortalScope(user=u, customer=c) for u in users for c in (p.a1_sub, deep)])
    Customer.objects.filter(pk=p.a1_sub.pk).update(parent=None)
    # The persona's own grant of A1-sub goes too. Branch: A1-sub, its plant, nothing below (3 queries);
    # the parent (1); the delete with its cascade collection (at most 2).
    with django_assert_max_num_queries(6):
        assert portal_scopes_prune(customer_id=p.a1_sub.pk) == 11
    assert not PortalScope.objects.exists()


def test_portal_scope_clean_enforces_the_family(p):
    deep, sibling = grandchild(p)
    PortalScope(user=p.customer_user, customer=deep).full_clean()
    with pytest.raises(ValidationError) as err:
        PortalScope(user=p.customer_user, customer=p.b1).full_clean()
    assert "customer" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        PortalScope(user=p.customer_user, customer=p.a1).full_clean()
    assert "customer" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        PortalScope(user=p.manager, customer=p.a1_sub).full_clean()
    assert "user" in err.value.message_dict


def test_admin_refuses_a_scope_outside_the_group(p, client_for):
    client = client_for(p.admin)
    PortalScope.objects.filter(user=p.customer_user).delete()
    url = "/admin/users/portalscope/add/"
    response = client.post(
        url, {"user": p.customer_user.pk, "customer": p.b1.pk, "granted_at_0": "2026-01-05", "granted_at_1": "08:00:00"}
    )
    assert response.status_code == 200
    assert "customer" in response.context["adminform"].form.errors
    assert not PortalScope.objects.exists()
    response = client.post(
        url,
        {"user": p.customer_user.pk, "customer": p.a1_sub.pk, "granted_at_0": "2026-01-05", "granted_at_1": "08:00:00"},
    )
    assert response.status_code == 302
    assert PortalScope.objects.filter(user=p.customer_user, customer=p.a1_sub).exists()


def test_upgrade_grants_existing_portal_users_their_whole_group(p):
    deep, sibling = grandchild(p)
    plant_user = make_user("plant-portal", role=Role.CUSTOMER_USER, customer=p.a1_sub)
    lone = make_user("lone-portal", role=Role.CUSTOMER_USER, customer=p.a2)
    PortalScope.objects.all().delete()
    migration = importlib.import_module("gridkam.users.migrations.0002_portal_users")
    migration.grant_family_to_existing_portal_users(apps, connection.schema_editor())
    assert visible_ids(p.customer_user) == {p.a1.pk, p.a1_sub.pk, deep.pk, sibling.pk}
    assert visible_ids(plant_user) == {p.a1_sub.pk, deep.pk}
    assert visible_ids(lone) == {p.a2.pk}
    assert not PortalScope.objects.exclude(granted_by=None).exists()
    # Running it again changes nothing (existing grants are kept, not doubled).
    migration.grant_family_to_existing_portal_users(apps, connection.schema_editor())
    assert PortalScope.objects.count() == 4


# ------------------------------------------------------------------------------ 3./4. digits and big ids


def test_superscript_contact_on_the_invite_page_is_ignored(p, client_for):
    response = client_for(p.manager).get(f"/accounts/portal-users/customer/{p.a1.pk}/invite/?contact=%C2%B2")
    assert response.status_code == 200
    response = client_for(p.manager).get(
        f"/accounts/portal-users/customer/{p.a1.pk}/invite/?contact=99999999999999999999"
    )
    assert response.status_code == 200


@pytest.mark.parametrize("bad", ["99999999999999999999", "9223372036854775808", "²", "-1", "x"])
def test_invite_form_rejects_odd_scope_ids_as_a_field_error(p, client_for, bad):
    response = client_for(p.manager).post(
        f"/accounts/portal-users/customer/{p.a1.pk}/invite/",
        {"name": "王工", "email": "wang@example.com", "scope": [bad]},
    )
    assert response.status_code == 400
    assert "scope" in response.context["form"].errors


@pytest.mark.parametrize("bad", ["99999999999999999999", "²"])
def test_scope_form_rejects_odd_ids_as_a_field_error(p, client_for, bad):
    response = client_for(p.manager).post(
        f"/accounts/portal-users/{p.customer_user.pk}/scope/", {"scope": [str(p.a1_sub.pk), bad]}
    )
    assert response.status_code == 400
    assert "scope" in response.context["form"].errors
    assert set(PortalScope.objects.filter(user=p.customer_user).values_list("customer_id", flat=True)) == {p.a1_sub.pk}


def test_scope_form_still_accepts_the_largest_id_as_an_unknown_choice(p, client_for):
    response = client_for(p.manager).post(
        f"/accounts/portal-users/{p.customer_user.pk}/scope/", {"scope": [str(2**63 - 1)]}
    )
    assert response.status_code == 400
    assert "scope" in response.context["form"].errors


def test_scope_form_saves_a_valid_scope(p, client_for):
    sibling = make_customer(name="惠州钢铁物流有限公司", org_unit=p.city_a, parent=p.a1)
    response = client_for(p.supervisor).post(
        f"/accounts/portal-users/{p.customer_user.pk}/scope/", {"scope": [str(sibling.pk)]}
    )
    assert response.status_code == 302
    assert set(PortalScope.objects.filter(user=p.customer_user).values_list("customer_id", flat=True)) == {sibling.pk}
