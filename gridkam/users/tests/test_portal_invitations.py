"""Invitations: create, e-mail, renew instead of duplicating, accept once, expire, revoke."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from gridkam.core.testing import make_contact, make_user
from gridkam.customers.models import Customer
from gridkam.users.choices import Role
from gridkam.users.models import Invitation, InvitationStatus, User
from gridkam.users.services import (
    invitation_accept,
    invitation_create,
    invitation_resend,
    invitation_revoke,
    token_hash,
)

from .portal_support import link_token

pytestmark = pytest.mark.django_db
PASSWORD = "Steel-energy-2026!"


def invite(p, **kwargs):
    fields = {"customer": p.a1, "email": "energy@steel.example.cn", "name": "张能源", "by": p.manager}
    fields.update(kwargs)
    return invitation_create(**fields)


def test_invitation_is_mailed_with_a_link_whose_token_is_stored_hashed(p, settings, django_capture_on_commit_callbacks):
    settings.GRIDKAM = {**settings.GRIDKAM, "SITE_URL": "https://kam.example.cn/"}
    with django_capture_on_commit_callbacks(execute=True):
        invitation, raw = invite(p, scope=[p.a1_sub])
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["energy@steel.example.cn"]
    assert f"https://kam.example.cn/accounts/invitation/{raw}/" in message.body
    assert link_token(message.body) == raw
    assert p.a1.name in message.subject
    invitation.refresh_from_db()
    assert invitation.token_hash == token_hash(raw) and raw not in invitation.token_hash
    assert invitation.status == InvitationStatus.PENDING
    assert list(invitation.scope.all()) == [p.a1_sub]


def test_invitation_expires_after_the_configured_days(p, settings):
    settings.GRIDKAM = {**settings.GRIDKAM, "PORTAL_INVITATION_DAYS": 3}
    invitation, _raw = invite(p)
    assert abs(invitation.expires_at - (invitation.sent_at + dt.timedelta(days=3))) < dt.timedelta(seconds=1)


def test_rolled_back_invitation_sends_nothing(p, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invite(p)
    # The mail waits for the commit.
    assert len(callbacks) == 1 and mail.outbox == []


def test_accepting_creates_the_customer_user_with_the_scope(p):
    invitation, raw = invite(p, scope=[p.a1_sub], phone="13900000000")
    user = invitation_accept(raw_token=raw, username="zhang", password=PASSWORD)
    assert user.role == Role.CUSTOMER_USER and user.customer == p.a1
    assert user.email == "energy@steel.example.cn" and user.display_name == "张能源" and user.phone == "13900000000"
    assert user.check_password(PASSWORD)
    assert set(Customer.objects.visible_to(user)) == {p.a1, p.a1_sub}
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED and invitation.user == user


def test_a_used_token_creates_nothing_the_second_time(p):
    _invitation, raw = invite(p)
    invitation_accept(raw_token=raw, username="zhang", password=PASSWORD)
    with pytest.raises(Invitation.DoesNotExist):
        invitation_accept(raw_token=raw, username="zhang2", password=PASSWORD)
    assert not User.objects.filter(username="zhang2").exists()


def test_an_expired_invitation_creates_nothing(p):
    invitation, raw = invite(p)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.EXPIRED
    with pytest.raises(Invitation.DoesNotExist):
        invitation_accept(raw_token=raw, username="zhang", password=PASSWORD)
    assert not User.objects.filter(username="zhang").exists()


def test_a_revoked_invitation_creates_nothing(p):
    invitation, raw = invite(p)
    invitation_revoke(invitation=invitation, by=p.manager)
    with pytest.raises(Invitation.DoesNotExist):
        invitation_accept(raw_token=raw, username="zhang", password=PASSWORD)
    with pytest.raises(ValidationError):
        invitation_revoke(invitation=invitation, by=p.manager)
    assert not User.objects.filter(username="zhang").exists()


def test_an_unknown_token_creates_nothing(p):
    invite(p)
    for token in ("nope", "x" * 500, ""):
        with pytest.raises(Invitation.DoesNotExist):
            invitation_accept(raw_token=token, username="zhang", password=PASSWORD)


def test_inviting_the_same_address_again_renews_the_open_invitation(p, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first, old = invite(p)
        second, new = invite(p, email="ENERGY@steel.example.cn", name="张新", scope=[p.a1_sub])
    assert first.pk == second.pk and Invitation.objects.count() == 1
    assert len(mail.outbox) == 2 and old != new
    second.refresh_from_db()
    assert second.name == "张新" and list(second.scope.all()) == [p.a1_sub]
    # The first link no longer works; the new one does.
    with pytest.raises(Invitation.DoesNotExist):
        invitation_accept(raw_token=old, username="zhang", password=PASSWORD)
    assert invitation_accept(raw_token=new, username="zhang", password=PASSWORD).customer == p.a1


def test_the_same_address_may_be_invited_again_after_a_revocation(p):
    first, _ = invite(p)
    invitation_revoke(invitation=first, by=p.manager)
    second, _ = invite(p)
    assert second.pk != first.pk and Invitation.objects.open().count() == 1


def test_resend_gives_a_new_link_and_expiry(p, django_capture_on_commit_callbacks):
    invitation, old = invite(p)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        invitation, new = invitation_resend(invitation=invitation, by=p.manager)
    assert invitation.status == InvitationStatus.PENDING
    assert link_token(mail.outbox[-1].body) == new != old
    with pytest.raises(Invitation.DoesNotExist):
        invitation_accept(raw_token=old, username="zhang", password=PASSWORD)


def test_an_address_already_used_by_a_user_is_a_field_error(p):
    make_user("taken", role=Role.ACCOUNT_MANAGER, org_unit=p.city_a, email="Energy@Steel.example.cn")
    with pytest.raises(ValidationError) as err:
        invite(p)
    assert "email" in err.value.message_dict and not Invitation.objects.exists()


def test_the_address_taken_between_invitation_and_acceptance_is_a_field_error(p):
    _invitation, raw = invite(p)
    make_user("taken", role=Role.ACCOUNT_MANAGER, org_unit=p.city_a, email="energy@steel.example.cn")
    with pytest.raises(ValidationError) as err:
        invitation_accept(raw_token=raw, username="zhang", password=PASSWORD)
    assert "username" in err.value.message_dict


def test_weak_password_and_taken_user_name_are_field_errors(p):
    _invitation, raw = invite(p)
    with pytest.raises(ValidationError) as err:
        invitation_accept(raw_token=raw, username="manager", password="1234")
    assert {"username", "password"} <= set(err.value.message_dict)
    # Nothing was used up.
    assert invitation_accept(raw_token=raw, username="zhang", password=PASSWORD)


def test_scope_outside_the_group_and_foreign_contact_are_refused(p):
    with pytest.raises(ValidationError) as err:
        invite(p, scope=[p.a2])
    assert "scope" in err.value.message_dict
    foreign = make_contact(customer=p.a2, name="外人")
    with pytest.raises(ValidationError) as err:
        invite(p, contact=foreign)
    assert "contact" in err.value.message_dict
    assert not Invitation.objects.exists()


def test_only_staff_who_may_edit_the_customer_invite(p):
    for user in (p.colleague, p.clerk, p.outsider, p.customer_user):
        with pytest.raises(PermissionDenied):
            invite(p, by=user)
    for user in (p.manager, p.supervisor, p.admin):
        invitation, _ = invite(p, by=user, email=f"{user.username}@steel.example.cn")
        assert invitation.invited_by == user


def test_only_staff_who_may_edit_the_customer_resend_or_revoke(p):
    invitation, _ = invite(p)
    for user in (p.colleague, p.clerk, p.outsider, p.customer_user):
        with pytest.raises(PermissionDenied):
            invitation_resend(invitation=invitation, by=user)
        with pytest.raises(PermissionDenied):
            invitation_revoke(invitation=invitation, by=user)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING
