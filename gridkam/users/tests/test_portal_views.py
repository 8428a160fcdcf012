"""Pages of portal-user management and the invitation link, with every persona."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from gridkam.core.testing import make_contact, make_user
from gridkam.users.choices import Role
from gridkam.users.models import Invitation, PortalScope, User
from gridkam.users.services import invitation_create

from .portal_support import b1_user, link_token

pytestmark = pytest.mark.django_db
PASSWORD = "Steel-energy-2026!"


def pending(p, **kwargs):
    fields = {"customer": p.a1, "email": "energy@steel.example.cn", "name": "张能源", "by": p.manager}
    return invitation_create(**{**fields, **kwargs})


def staff_urls(p, invitation):
    """(method, url) of every staff page here, about customer A1 and its portal user."""
    return [
        ("get", reverse("users:portal_users_card", args=[p.a1.pk])),
        ("get", reverse("users:invitation_create", args=[p.a1.pk])),
        ("post", reverse("users:invitation_create", args=[p.a1.pk])),
        ("post", reverse("users:invitation_resend", args=[invitation.pk])),
        ("post", reverse("users:invitation_revoke", args=[invitation.pk])),
        ("get", reverse("users:portal_user_scope", args=[p.customer_user.pk])),
        ("post", reverse("users:portal_user_scope", args=[p.customer_user.pk])),
        ("post", reverse("users:portal_user_active", args=[p.customer_user.pk])),
    ]


def test_anonymous_is_sent_to_log_in_everywhere(p, client):
    invitation, _ = pending(p)
    for method, url in [
        *staff_urls(p, invitation),
        ("get", reverse("users:security")),
        ("get", reverse("users:totp_enable")),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_outsider_staff_gets_404(p, client_for):
    invitation, _ = pending(p)
    client = client_for(p.outsider)
    for method, url in staff_urls(p, invitation):
        assert getattr(client, method)(url).status_code == 404, url
    assert Invitation.objects.get().status == "pending" and User.objects.get(pk=p.customer_user.pk).is_active


@pytest.mark.parametrize("who", ["customer_user", "b1"])
def test_customer_users_get_403(p, client_for, who):
    invitation, _ = pending(p)
    user = b1_user(p) if who == "b1" else p.customer_user
    client = client_for(user)
    for method, url in staff_urls(p, invitation):
        assert getattr(client, method)(url).status_code == 403, url


def test_staff_who_see_but_may_not_edit_read_the_card_only(p, client_for):
    invitation, _ = pending(p)
    client = client_for(p.colleague)  # same team: sees A1, does not hold it
    card = client.get(reverse("users:portal_users_card", args=[p.a1.pk]))
    assert card.status_code == 200
    assert b'data-testid="portal-users-card"' in card.content and b"portal-invite" not in card.content
    for method, url in staff_urls(p, invitation)[1:]:
        assert getattr(client, method)(url).status_code == 403, url


def test_card_lists_users_invitations_and_group_users(p, client_for):
    pending(p, scope=[p.a1_sub])
    response = client_for(p.manager).get(reverse("users:portal_users_card", args=[p.a1.pk]))
    html = response.content.decode()
    assert f'data-portal-user="{p.customer_user.pk}"' in html and "energy@steel.example.cn" in html
    assert 'data-testid="portal-invite"' in html and p.a1_sub.name in html
    # On the subsidiary's card: the group's user who sees it too.
    sub = client_for(p.manager).get(reverse("users:portal_users_card", args=[p.a1_sub.pk])).content.decode()
    assert 'data-testid="portal-group-users"' in sub and str(p.customer_user) in sub


def test_card_query_count_is_the_same_for_few_and_many(p, client_for, django_assert_max_num_queries):
    client = client_for(p.manager)
    url = reverse("users:portal_users_card", args=[p.a1.pk])
    pending(p)
    with django_assert_max_num_queries(99) as few:
        client.get(url)
    for n in range(8):
        user = make_user(f"p{n}", role=Role.CUSTOMER_USER, customer=p.a1)
        PortalScope.objects.create(user=user, customer=p.a1_sub)
        pending(p, email=f"p{n}@steel.example.cn", scope=[p.a1_sub])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.content.count(b"data-portal-user=") == 9


def test_manager_invites_a_contact(p, client_for, django_capture_on_commit_callbacks):
    contact = make_contact(customer=p.a1, name="张能源", email="zhang@steel.example.cn")
    client = client_for(p.manager)
    url = reverse("users:invitation_create", args=[p.a1.pk])
    form = client.get(url, {"contact": contact.pk})
    assert form.status_code == 200 and b"zhang@steel.example.cn" in form.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"contact": contact.pk, "name": "张能源", "email": "zhang@steel.example.cn", "scope": [p.a1_sub.pk]}
        )
    assert response.status_code == 302 and response["Location"].endswith(f"/customers/{p.a1.pk}/#portal-users")
    invitation = Invitation.objects.get()
    assert invitation.contact == contact and list(invitation.scope.all()) == [p.a1_sub]
    assert len(mail.outbox) == 1


def test_invite_form_shows_field_errors(p, client_for):
    make_user("taken", role=Role.BILLING_CLERK, org_unit=p.city_a, email="taken@steel.example.cn")
    client = client_for(p.manager)
    url = reverse("users:invitation_create", args=[p.a1.pk])
    response = client.post(url, {"name": "", "email": "not-an-address", "scope": [p.a2.pk]})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name", "email", "scope"}
    response = client.post(url, {"name": "某人", "email": "taken@steel.example.cn"})
    assert response.status_code == 400 and "email" in response.context["form"].errors
    assert client.get(url, {"contact": "99999999999999999999999"}).status_code == 200
    assert not Invitation.objects.exists()


def test_resend_and_revoke_from_the_card(p, client_for, django_capture_on_commit_callbacks):
    invitation, _ = pending(p)
    client = client_for(p.manager)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("users:invitation_resend", args=[invitation.pk])).status_code == 302
    assert len(mail.outbox) == 1
    assert client.post(reverse("users:invitation_revoke", args=[invitation.pk])).status_code == 302
    assert Invitation.objects.get().status == "revoked"
    # A second revocation is refused with a message, not an error page.
    assert client.post(reverse("users:invitation_revoke", args=[invitation.pk])).status_code == 302
    assert client.post(reverse("users:invitation_revoke", args=[2**63 + 5])).status_code == 404


def test_change_scope_and_deactivate(p, client_for):
    client = client_for(p.manager)
    url = reverse("users:portal_user_scope", args=[p.customer_user.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"scope": []}).status_code == 302
    assert not PortalScope.objects.filter(user=p.customer_user).exists()
    response = client.post(url, {"scope": [p.a2.pk]})
    assert response.status_code == 400 and "scope" in response.context["form"].errors
    active = reverse("users:portal_user_active", args=[p.customer_user.pk])
    assert client.post(active, {"active": "0"}).status_code == 302
    assert not User.objects.get(pk=p.customer_user.pk).is_active
    assert client.post(active, {"active": "1"}).status_code == 302
    assert User.objects.get(pk=p.customer_user.pk).is_active
    # Staff users are not portal users: 404.
    assert client.post(reverse("users:portal_user_active", args=[p.colleague.pk]), {"active": "0"}).status_code == 404


# ------------------------------------------------------------------------------------ the invitation link


def test_accept_page_shows_the_customer_and_creates_the_user(p, client):
    _invitation, raw = pending(p, scope=[p.a1_sub])
    url = reverse("users:invitation_accept", args=[raw])
    page = client.get(url)
    assert page.status_code == 200 and p.a1.name in page.content.decode()
    assert page.context["form"]["username"].value() == "energy@steel.example.cn"
    response = client.post(url, {"username": "zhang", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    user = User.objects.get(username="zhang")
    assert int(client.session["_auth_user_id"]) == user.pk
    assert user.customer == p.a1 and set(user.portal_scopes.values_list("customer", flat=True)) == {p.a1_sub.pk}


def test_accept_page_field_errors(p, client):
    _invitation, raw = pending(p)
    url = reverse("users:invitation_accept", args=[raw])
    response = client.post(url, {"username": "zhang", "password1": PASSWORD, "password2": PASSWORD + "x"})
    assert response.status_code == 400 and "password2" in response.context["form"].errors
    response = client.post(url, {"username": "manager", "password1": "short", "password2": "short"})
    assert response.status_code == 400 and {"username", "password1"} <= set(response.context["form"].errors)
    assert not User.objects.filter(email="energy@steel.example.cn").exists()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("state", ["expired", "revoked", "accepted"])
def test_used_expired_or_revoked_links_answer_410_and_create_nothing(p, client, state):
    invitation, raw = pending(p)
    if state == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    elif state == "revoked":
        Invitation.objects.filter(pk=invitation.pk).update(revoked_at=timezone.now())
    else:
        client.post(
            reverse("users:invitation_accept", args=[raw]),
            {"username": "first", "password1": PASSWORD, "password2": PASSWORD},
        )
        client.logout()
    users = User.objects.count()
    url = reverse("users:invitation_accept", args=[raw])
    page = client.get(url)
    assert page.status_code == 410 and f'data-status="{state}"'.encode() in page.content
    response = client.post(url, {"username": "second", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 410 and User.objects.count() == users
    assert "_auth_user_id" not in client.session


def test_unknown_link_answers_404(p, client):
    pending(p)
    for token in ("unknown", "a" * 300):
        assert client.get(reverse("users:invitation_accept", args=[token])).status_code == 404


def test_invitation_e_mail_link_leads_to_the_portal(p, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        pending(p)
    raw = link_token(mail.outbox[0].body)
    response = client.post(
        reverse("users:invitation_accept", args=[raw]),
        {"username": "energy@steel.example.cn", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert User.objects.get(username="energy@steel.example.cn").is_customer_user
