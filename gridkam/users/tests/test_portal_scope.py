"""Who a customer user sees: their own customer and exactly the group subsidiaries granted to them."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from gridkam.core.testing import make_customer, make_user
from gridkam.customers.models import Customer, ElectricityAccount
from gridkam.users.choices import Role
from gridkam.users.models import PortalScope
from gridkam.users.services import portal_scope_set, portal_user_set_active, scope_choices

from .portal_support import b1_user, grandchild

pytestmark = pytest.mark.django_db


def visible(user) -> set:
    return set(Customer.objects.visible_to(user))


def test_persona_group_user_sees_its_customer_and_granted_subsidiary(p):
    assert visible(p.customer_user) == {p.a1, p.a1_sub}


def test_group_user_sees_exactly_the_granted_subsidiaries(p):
    deep, sibling = grandchild(p)
    hq = make_user("hq", role=Role.CUSTOMER_USER, customer=p.a1)
    assert visible(hq) == {p.a1}
    portal_scope_set(user=hq, customers=[deep], by=p.supervisor)
    # The second-level plant, not the subsidiary between, nor the other subsidiary.
    assert visible(hq) == {p.a1, deep}
    assert set(ElectricityAccount.objects.visible_to(hq)) == set(
        ElectricityAccount.objects.filter(customer__in=[p.a1, deep])
    )


def test_subsidiary_user_does_not_see_the_parent_nor_its_siblings(p):
    deep, sibling = grandchild(p)
    plant = make_user("plant", role=Role.CUSTOMER_USER, customer=p.a1_sub)
    assert visible(plant) == {p.a1_sub}
    # Even granted "upwards" or sideways in the database, the services refuse it.
    with pytest.raises(ValidationError) as err:
        portal_scope_set(user=plant, customers=[p.a1, sibling], by=p.manager)
    assert "scope" in err.value.message_dict
    assert visible(plant) == {p.a1_sub}


def test_scope_outside_the_group_is_refused(p):
    with pytest.raises(ValidationError):
        portal_scope_set(user=p.customer_user, customers=[p.a2], by=p.manager)
    assert visible(p.customer_user) == {p.a1, p.a1_sub}


def test_visibility_queries_do_not_grow_with_the_scope_size(p, django_assert_num_queries):
    deep, sibling = grandchild(p)
    # The group tree (one query per level: A1's children, their children, none below) and the customers.
    with django_assert_num_queries(4):
        assert len(list(Customer.objects.visible_to(p.customer_user))) == 2
    portal_scope_set(user=p.customer_user, customers=[p.a1_sub, deep, sibling], by=p.supervisor)
    with django_assert_num_queries(4):
        assert len(list(Customer.objects.visible_to(p.customer_user))) == 4


def test_scope_set_replaces_the_scope_and_records_who_granted(p):
    deep, sibling = grandchild(p)
    portal_scope_set(user=p.customer_user, customers=[sibling, deep], by=p.supervisor)
    assert visible(p.customer_user) == {p.a1, sibling, deep}
    assert set(PortalScope.objects.filter(user=p.customer_user).values_list("granted_by", flat=True)) == {
        p.supervisor.pk
    }
    # A manager who does not see the new plants leaves their grants alone.
    portal_scope_set(user=p.customer_user, customers=[], by=p.manager)
    assert visible(p.customer_user) == {p.a1, sibling, deep}
    portal_scope_set(user=p.customer_user, customers=[], by=p.supervisor)
    assert visible(p.customer_user) == {p.a1}


def test_only_staff_who_may_edit_the_customer_change_a_scope(p):
    for user in (p.colleague, p.clerk, p.outsider, p.customer_user):
        with pytest.raises(PermissionDenied):
            portal_scope_set(user=p.customer_user, customers=[], by=user)
        with pytest.raises(PermissionDenied):
            portal_user_set_active(user=p.customer_user, active=False, by=user)
    assert visible(p.customer_user) == {p.a1, p.a1_sub}


def test_scope_choices_are_the_subsidiaries_the_granting_staff_sees(p):
    deep, sibling = grandchild(p)
    assert set(scope_choices(customer=p.a1, user=p.supervisor)) == {p.a1_sub, deep, sibling}
    assert scope_choices(customer=p.a1_sub, user=p.supervisor) == [deep]
    assert scope_choices(customer=p.b1, user=p.admin) == []


def test_deactivated_portal_user_sees_nothing(p):
    portal_user_set_active(user=p.customer_user, active=False, by=p.manager)
    p.customer_user.refresh_from_db()
    assert visible(p.customer_user) == set()
    portal_user_set_active(user=p.customer_user, active=True, by=p.manager)
    p.customer_user.refresh_from_db()
    assert visible(p.customer_user) == {p.a1, p.a1_sub}


def test_other_customers_user_sees_only_its_customer(p):
    other = b1_user(p)
    assert visible(other) == {p.b1}


def test_b1_user_gets_404_for_a1_objects(p, client_for):
    other = b1_user(p)
    client = client_for(other)
    account = p.a1.accounts.first()
    assert client.get(f"/customers/{p.a1.pk}/").status_code == 404
    assert client.get(f"/customers/{p.a1_sub.pk}/").status_code == 404
    assert client.get(f"/customers/{p.b1.pk}/").status_code == 200
    assert client.get(f"/api/v1/customers/{p.a1.pk}/").status_code == 404
    assert client.get(f"/api/v1/accounts/{account.pk}/").status_code == 404


def test_scope_of_a_plant_outside_the_family_never_shows(p):
    # A subsidiary in another group never shows, even with a scope row on it (see test_review_fixes for moves).
    stray = make_customer(name="汕头纺织二厂", org_unit=p.city_b, parent=p.b1)
    PortalScope.objects.create(user=p.customer_user, customer=stray)
    assert stray not in visible(p.customer_user)
