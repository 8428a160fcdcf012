import pytest
from django.core.exceptions import ValidationError

from gridkam.users.models import User

pytestmark = pytest.mark.django_db


def test_customer_user_must_belong_to_a_customer(p):
    with pytest.raises(ValidationError) as err:
        User(username="x", role="customer_user").full_clean()
    assert "customer" in err.value.message_dict


def test_staff_must_not_belong_to_a_customer_and_need_a_unit(p):
    with pytest.raises(ValidationError) as err:
        User(username="y", role="account_manager", customer=p.a1).full_clean()
    assert {"customer", "org_unit"} <= set(err.value.message_dict)


def test_role_properties(p):
    assert p.admin.is_administrator and not p.admin.is_customer_user
    assert p.customer_user.is_customer_user
    assert p.manager.is_portfolio_holder and p.engineer.is_portfolio_holder
    assert not p.clerk.is_portfolio_holder and p.supervisor.is_supervisor


def test_production_settings_hash_passwords_with_argon2():
    # Tests swap in a fast hasher (conftest.py); the settings module itself must keep Argon2 first.
    import config.settings

    assert config.settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_teams_are_visible_within_the_unit_subtree(p):
    from gridkam.users.models import Team

    assert set(Team.objects.visible_to(p.supervisor)) == {p.team_a}
    assert set(Team.objects.visible_to(p.outsider)) == set()
    assert set(Team.objects.visible_to(p.customer_user)) == set()
    assert set(Team.objects.visible_to(p.admin)) == {p.team_a}
