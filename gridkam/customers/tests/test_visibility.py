"""One visibility rule per model (visible_to), checked persona by persona."""

import pytest
from django.contrib.auth.models import AnonymousUser

from gridkam.customers.models import AccountAssignment, Contact, Customer, ElectricityAccount, MeteringPoint

pytestmark = pytest.mark.django_db


def names(qs):
    return {c.name for c in qs}


def visible(user):
    return set(Customer.objects.visible_to(user))


def test_manager_sees_own_portfolio_and_the_teams(p):
    assert visible(p.manager) == {p.a1, p.a1_sub, p.a2, p.a3}


def test_manager_edits_only_own_portfolio(p):
    assert set(Customer.objects.editable_by(p.manager)) == {p.a1, p.a1_sub, p.a2}
    assert set(Customer.objects.editable_by(p.colleague)) == {p.a3}


def test_field_engineer_sees_the_customers_he_serves(p):
    assert visible(p.engineer) == {p.a1}
    assert set(Customer.objects.editable_by(p.engineer)) == {p.a1}


def test_supervisor_and_clerk_see_their_unit_and_below(p):
    city_a = {p.a1, p.a1_sub, p.a2, p.a3}
    assert visible(p.supervisor) == city_a
    assert visible(p.clerk) == city_a
    assert set(Customer.objects.editable_by(p.supervisor)) == city_a
    assert set(Customer.objects.editable_by(p.clerk)) == set()


def test_outsider_sees_only_his_city(p):
    assert visible(p.outsider) == {p.b1}


def test_customer_user_sees_own_customer_and_subsidiaries_only(p):
    assert visible(p.customer_user) == {p.a1, p.a1_sub}
    assert set(Customer.objects.editable_by(p.customer_user)) == set()


def test_customer_user_of_a_subsidiary_does_not_see_the_parent(p):
    from gridkam.core.testing import make_user

    sub_user = make_user("subuser", role="customer_user", customer=p.a1_sub)
    assert visible(sub_user) == {p.a1_sub}


def test_administrator_sees_everything(p):
    assert visible(p.admin) == set(Customer.objects.all())


def test_anonymous_and_inactive_see_nothing(p):
    assert visible(AnonymousUser()) == set()
    p.supervisor.is_active = False
    assert visible(p.supervisor) == set()


def test_ended_assignment_no_longer_gives_sight(p):
    from gridkam.customers.services import assignment_set

    assignment_set(customer=p.b1, role="manager", user=p.colleague)
    assert p.b1 in visible(p.manager)  # through the team
    assignment_set(customer=p.b1, role="manager", user=p.outsider)
    assert p.b1 not in visible(p.manager)
    assert AccountAssignment.objects.filter(customer=p.b1, user=p.colleague, end_date__isnull=False).exists()


@pytest.mark.parametrize("model", [ElectricityAccount, MeteringPoint, Contact, AccountAssignment])
def test_owned_rows_follow_their_customer(p, model):
    for user in (p.manager, p.outsider, p.customer_user, p.clerk):
        rows = model.objects.visible_to(user)
        customers = visible(user)
        path = "account__customer" if model is MeteringPoint else "customer"
        seen = {Customer.objects.get(pk=pk) for pk in rows.values_list(f"{path}_id", flat=True)}
        assert seen <= customers
        assert seen == {c for c in customers if model.objects.filter(**{path: c}).exists()}


def test_visible_querysets_have_no_duplicates_for_team_members(p):
    # The colleague also serves A1 as backup: the Exists() rule must not repeat A1.
    from gridkam.customers.services import assignment_set

    assignment_set(customer=p.a1, role="backup_manager", user=p.colleague)
    rows = list(Customer.objects.visible_to(p.manager))
    assert len(rows) == len(set(rows))
