"""Logging in safely: the lockout after wrong passwords, password reset by e-mail, and TOTP two-factor."""

import re
import time

import pytest
from django.core import mail
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from gridkam.core.testing import PASSWORD
from gridkam.users.models import User
from gridkam.users.services import invitation_create, totp_device_pending, totp_enable

from .portal_support import b1_user

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Brand-new-pass-2026"
LOGIN = "/accounts/login/"


def code(device: TOTPDevice, steps: int = 0) -> str:
    """The code the app shows now (or ``steps`` periods later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps * device.step
    return f"{totp.token():0{device.digits}d}"


def lock_out(client, username: str) -> None:
    for _ in range(5):
        response = client.post(LOGIN, {"username": username, "password": "wrong-password"})
        assert response.status_code in (200, 429)


# ------------------------------------------------------------------------------------------- throttling


def test_five_wrong_passwords_lock_the_username_out(p, client):
    lock_out(client, "manager")
    response = client.post(LOGIN, {"username": "manager", "password": PASSWORD})
    assert response.status_code == 429
    assert b"alert-danger" in response.content and "_auth_user_id" not in client.session
    # Another user from the same address is not locked: the lockout is per user name and address.
    assert client.post(LOGIN, {"username": "colleague", "password": PASSWORD}).status_code == 302


def test_four_wrong_passwords_do_not_lock(p, client):
    for _ in range(4):
        client.post(LOGIN, {"username": "manager", "password": "wrong-password"})
    assert client.post(LOGIN, {"username": "manager", "password": PASSWORD}).status_code == 302


def test_the_token_endpoint_counts_towards_the_lockout(p, client):
    lock_out(client, "manager")
    response = client.post("/api/v1/auth/token/", {"username": "manager", "password": PASSWORD})
    assert response.status_code in (400, 403, 429)
    assert "token" not in response.json()


# ---------------------------------------------------------------------------------------- password reset


def reset_link(body: str) -> str:
    match = re.search(r"(/accounts/reset/[^/\s]+/[^/\s]+/)", body)
    assert match, body
    return match.group(1)


def test_login_page_links_to_password_reset(client):
    assert reverse("password_reset").encode() in client.get(LOGIN).content


def test_password_reset_by_e_mail(p, client, settings):
    settings.GRIDKAM = {**settings.GRIDKAM, "SITE_URL": "https://kam.example.cn"}
    User.objects.filter(pk=p.customer_user.pk).update(email="energy@steel.example.cn")
    assert client.get(reverse("password_reset")).status_code == 200
    response = client.post(reverse("password_reset"), {"email": "Energy@steel.example.cn"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["energy@steel.example.cn"]
    body = mail.outbox[0].body
    assert "https://kam.example.cn/accounts/reset/" in body and "customer" in body
    form = client.get(reset_link(body), follow=True)
    assert form.status_code == 200 and form.context["validlink"]
    set_url = form.redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_complete")
    # Not logged in by the reset: the new password is used on the log-in page.
    assert "_auth_user_id" not in client.session
    assert client.post(LOGIN, {"username": "customer", "password": NEW_PASSWORD}).status_code == 302
    # The link works once.
    assert not client.get(reset_link(body), follow=True).context["validlink"]


def test_password_reset_weak_password_is_a_field_error(p, client):
    User.objects.filter(pk=p.manager.pk).update(email="li@grid.example.cn")
    client.post(reverse("password_reset"), {"email": "li@grid.example.cn"})
    form = client.get(reset_link(mail.outbox[0].body), follow=True)
    response = client.post(form.redirect_chain[-1][0], {"new_password1": "123", "new_password2": "123"})
    assert response.status_code == 200 and "new_password2" in response.context["form"].errors
    assert User.objects.get(pk=p.manager.pk).check_password(PASSWORD)


def test_password_reset_for_an_unknown_address_tells_nothing_and_sends_nothing(p, client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.cn"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_password_reset_does_not_lift_a_lockout(p, client):
    User.objects.filter(pk=p.manager.pk).update(email="li@grid.example.cn")
    lock_out(client, "manager")
    client.post(reverse("password_reset"), {"email": "li@grid.example.cn"})
    form = client.get(reset_link(mail.outbox[0].body), follow=True)
    response = client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and "_auth_user_id" not in client.session
    assert client.post(LOGIN, {"username": "manager", "password": NEW_PASSWORD}).status_code == 429


def test_an_invitation_does_not_lift_a_lockout_nor_take_over_a_user(p, client):
    lock_out(client, "customer")
    _invitation, raw = invitation_create(customer=p.a1, email="new@steel.example.cn", name="新人", by=p.manager)
    url = reverse("users:invitation_accept", args=[raw])
    response = client.post(url, {"username": "customer", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 400 and "username" in response.context["form"].errors
    assert User.objects.get(username="customer").check_password(PASSWORD)
    assert "_auth_user_id" not in client.session
    assert client.post(LOGIN, {"username": "customer", "password": PASSWORD}).status_code == 429


# ------------------------------------------------------------------------------------------------ TOTP


def enable(user) -> TOTPDevice:
    device = totp_device_pending(user=user)
    totp_enable(user=user, token=code(device))
    device.refresh_from_db()
    return device


def test_security_page_for_staff_and_customer_users(p, client_for):
    for user in (p.manager, p.customer_user, b1_user(p)):
        response = client_for(user).get(reverse("users:security"))
        assert response.status_code == 200 and b'data-enabled="0"' in response.content


def test_enabling_totp_shows_a_qr_code_and_needs_a_right_code(p, client_for):
    client = client_for(p.manager)
    page = client.get(reverse("users:totp_enable"))
    assert page.status_code == 200 and b"<svg" in page.content and page.context["secret"]
    device = TOTPDevice.objects.get(user=p.manager)
    assert not device.confirmed
    response = client.post(reverse("users:totp_enable"), {"token": "000000" if code(device) != "000000" else "111111"})
    assert response.status_code == 400 and "token" in response.context["form"].errors
    assert not User.objects.get(pk=p.manager.pk).two_factor_enabled
    response = client.post(reverse("users:totp_enable"), {"token": "abc"})
    assert response.status_code == 400
    device.throttle_reset()
    response = client.post(reverse("users:totp_enable"), {"token": code(device)})
    assert response.status_code == 302
    assert User.objects.get(pk=p.manager.pk).two_factor_enabled
    assert TOTPDevice.objects.get(user=p.manager).confirmed
    # The session that turned it on stays usable.
    assert client.get("/customers/").status_code == 200


def test_login_with_totp_asks_for_the_code_before_anything(p, client):
    device = enable(p.manager)
    response = client.post(LOGIN, {"username": "manager", "password": PASSWORD, "next": "/customers/"})
    assert response.status_code == 302
    # Signed in by the password, but every page leads to the code step, and the API refuses.
    page = client.get("/customers/")
    assert page.status_code == 302 and page["Location"].startswith(reverse("users:otp_verify"))
    assert client.get(f"/customers/{p.a1.pk}/").status_code == 302
    assert client.get("/api/v1/customers/").status_code == 403
    fragment = client.get(f"/accounts/portal-users/customer/{p.a1.pk}/", headers={"HX-Request": "true"})
    assert fragment.status_code == 204 and fragment["HX-Redirect"] == reverse("users:otp_verify")
    assert client.post(f"/accounts/portal-users/{p.customer_user.pk}/active/", {"active": "0"}).status_code == 302
    assert User.objects.get(pk=p.customer_user.pk).is_active
    assert client.get(reverse("users:otp_verify")).status_code == 200
    # A wrong code is refused.
    wrong = "123456" if code(device, 1) != "123456" else "654321"
    response = client.post(reverse("users:otp_verify"), {"token": wrong, "next": "/customers/"})
    assert response.status_code == 400 and "token" in response.context["form"].errors
    assert client.get("/customers/").status_code == 302
    device.refresh_from_db()
    device.throttle_reset()
    # The next period's code (the one used to turn it on cannot be used twice).
    response = client.post(reverse("users:otp_verify"), {"token": code(device, 1), "next": "/customers/"})
    assert response.status_code == 302 and response["Location"] == "/customers/"
    assert client.get("/customers/").status_code == 200
    assert client.get("/api/v1/customers/").status_code == 200


def test_wrong_codes_are_throttled(p, client):
    device = enable(p.customer_user)
    client.post(LOGIN, {"username": "customer", "password": PASSWORD})
    client.post(reverse("users:otp_verify"), {"token": "000001"})
    # Right after a wrong code, even the right one waits.
    response = client.post(reverse("users:otp_verify"), {"token": code(device, 1)})
    assert response.status_code == 400
    assert client.get("/customers/").status_code == 302


def test_code_step_keeps_next_on_this_site(p, client):
    device = enable(p.manager)
    client.post(LOGIN, {"username": "manager", "password": PASSWORD})
    response = client.post(reverse("users:otp_verify"), {"token": code(device, 1), "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:home")


def test_code_step_is_not_for_anonymous_nor_for_users_without_two_factor(p, client, client_for):
    assert client.get(reverse("users:otp_verify"))["Location"].startswith(LOGIN)
    response = client_for(p.colleague).get(reverse("users:otp_verify"))
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:home")


def test_logout_stays_reachable_while_a_code_is_owed(p, client):
    enable(p.manager)
    client.post(LOGIN, {"username": "manager", "password": PASSWORD})
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_api_token_auth_is_not_affected_by_two_factor(p, api):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    enable(p.manager)
    token = Token.objects.create(user=p.manager)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/customers/").status_code == 200


def test_disabling_needs_a_right_code(p, client):
    device = enable(p.manager)
    client.post(LOGIN, {"username": "manager", "password": PASSWORD})
    client.post(reverse("users:otp_verify"), {"token": code(device, 1)})
    device.refresh_from_db()
    device.throttle_reset()
    # The login's code moved the device's clock drift one period on: the app's next code is one period on.
    response = client.post(
        reverse("users:totp_disable"), {"token": "000000" if code(device, 1) != "000000" else "111111"}
    )
    assert response.status_code == 400 and User.objects.get(pk=p.manager.pk).two_factor_enabled
    device.refresh_from_db()
    device.throttle_reset()
    response = client.post(reverse("users:totp_disable"), {"token": code(device, 1)})
    assert response.status_code == 302
    assert not User.objects.get(pk=p.manager.pk).two_factor_enabled
    assert not TOTPDevice.objects.filter(user=p.manager).exists()
    client.post(reverse("logout"))
    assert client.post(LOGIN, {"username": "manager", "password": PASSWORD}).status_code == 302
    assert client.get("/customers/").status_code == 200


def test_security_pages_need_a_login(client):
    for name in ("users:security", "users:totp_enable"):
        assert client.get(reverse(name))["Location"].startswith(LOGIN)
    assert client.post(reverse("users:totp_disable"), {"token": "123456"})["Location"].startswith(LOGIN)


def test_admin_turns_two_factor_off_for_a_lost_phone(p, client_for):
    enable(p.manager)
    client = client_for(p.admin)
    response = client.post("/admin/users/user/", {"action": "turn_off_two_factor", "_selected_action": [p.manager.pk]})
    assert response.status_code == 302
    assert not User.objects.get(pk=p.manager.pk).two_factor_enabled
    assert not TOTPDevice.objects.filter(user=p.manager).exists()


def test_deleting_the_device_turns_the_flag_off(p):
    device = enable(p.customer_user)
    device.delete()
    assert not User.objects.get(pk=p.customer_user.pk).two_factor_enabled
