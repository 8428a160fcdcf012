"""Access matrix: every key-account page, as every persona.

Hidden objects answer 404, visible objects a persona may not change answer 403, staff tools answer
403 to customer users, and anonymous visitors are sent to the login page.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.urls import reverse

from gridkam.core.testing import Personas
from gridkam.customers.models import Contact, Customer

pytestmark = pytest.mark.django_db

PERSONAS = ("manager", "colleague", "engineer", "clerk", "supervisor", "outsider", "customer_user", "admin")


def _account(customer: Customer):
    return customer.accounts.first()


def _point(customer: Customer):
    return _account(customer).metering_points.first()


def _contact(customer: Customer) -> Contact:
    return customer.contacts.first()


# page -> (URL for the personas, expected status per persona in PERSONAS order).
# A1 belongs to the manager (field engineer: engineer) in city A; the colleague is on his team.
PAGES: dict[str, tuple[Callable[[Personas], str], str]] = {
    "customer_list": (lambda p: reverse("customers:customer_list"), "200 200 200 200 200 200 200 200"),
    "customer_list_export": (
        lambda p: reverse("customers:customer_list") + "?export=xlsx",
        "200 200 200 200 200 200 200 200",
    ),
    "customer_detail": (
        lambda p: reverse("customers:customer_detail", args=[p.a1.pk]),
        "200 200 200 200 200 404 200 200",
    ),
    "customer_detail_subsidiary": (
        lambda p: reverse("customers:customer_detail", args=[p.a1_sub.pk]),
        "200 200 404 200 200 404 200 200",
    ),
    "customer_detail_other_customer": (
        lambda p: reverse("customers:customer_detail", args=[p.a2.pk]),
        "200 200 404 200 200 404 404 200",
    ),
    "customer_detail_city_b": (
        lambda p: reverse("customers:customer_detail", args=[p.b1.pk]),
        "404 404 404 404 404 200 404 200",
    ),
    "metering_point_list": (lambda p: reverse("customers:metering_point_list"), "200 200 200 200 200 200 200 200"),
    "org_unit_list": (lambda p: reverse("core:org_unit_list"), "200 200 200 200 200 200 403 200"),
    "customer_create": (lambda p: reverse("customers:customer_create"), "403 403 403 403 200 403 403 200"),
    "customer_edit": (
        lambda p: reverse("customers:customer_edit", args=[p.a1.pk]),
        "200 403 200 403 200 404 403 200",
    ),
    "customer_edit_city_b": (
        lambda p: reverse("customers:customer_edit", args=[p.b1.pk]),
        "404 404 404 404 404 200 404 200",
    ),
    "account_create": (
        lambda p: reverse("customers:account_create", args=[p.a1.pk]),
        "200 403 200 403 200 404 403 200",
    ),
    "account_edit": (
        lambda p: reverse("customers:account_edit", args=[_account(p.a1).pk]),
        "200 403 200 403 200 404 403 200",
    ),
    "metering_point_create": (
        lambda p: reverse("customers:metering_point_create", args=[_account(p.a1).pk]),
        "200 403 200 403 200 404 403 200",
    ),
    "metering_point_edit": (
        lambda p: reverse("customers:metering_point_edit", args=[_point(p.a1).pk]),
        "200 403 200 403 200 404 403 200",
    ),
    "contact_create": (
        lambda p: reverse("customers:contact_create", args=[p.a1.pk]),
        "200 403 200 403 200 404 403 200",
    ),
    "contact_edit": (
        lambda p: reverse("customers:contact_edit", args=[_contact(p.a1).pk]),
        "200 403 200 403 200 404 403 200",
    ),
    "contact_delete": (
        lambda p: reverse("customers:contact_delete", args=[_contact(p.a1).pk]),
        "200 403 200 403 200 404 403 200",
    ),
    # Tier overrides and team changes are the supervisor's, even on the manager's own customers.
    "customer_tier": (
        lambda p: reverse("customers:customer_tier", args=[p.a1.pk]),
        "403 403 403 403 200 404 403 200",
    ),
    "customer_team": (
        lambda p: reverse("customers:customer_team", args=[p.a1.pk]),
        "403 403 403 403 200 404 403 200",
    ),
    "portfolio_reassign": (
        lambda p: reverse("customers:portfolio_reassign") + f"?customers={p.a1.pk}",
        "403 403 403 403 200 403 403 200",
    ),
    "tier_rules": (lambda p: reverse("customers:tier_rules"), "200 200 200 200 200 200 403 200"),
    "customer_lookup": (lambda p: reverse("customers:customer_lookup") + "?q=HZ", "200 200 200 200 200 200 403 200"),
}


def statuses(client, p: Personas, url: str) -> dict[str, int]:
    result = {}
    for name in PERSONAS:
        client.force_login(getattr(p, name), backend="django.contrib.auth.backends.ModelBackend")
        result[name] = client.get(url).status_code
        client.logout()
    return result


@pytest.mark.parametrize("page_name", PAGES)
def test_access_matrix(page_name, p, client):
    url_for, expected = PAGES[page_name]
    url = url_for(p)
    assert statuses(client, p, url) == dict(zip(PERSONAS, map(int, expected.split()), strict=True))


@pytest.mark.parametrize("page_name", PAGES)
def test_anonymous_is_sent_to_login(page_name, p, client):
    url = PAGES[page_name][0](p)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# Writes are refused the same way as the pages that offer them, and change nothing.
POSTS: dict[str, tuple[Callable[[Personas], str], dict, tuple[str, ...], int]] = {
    "customer_edit_by_colleague": (
        lambda p: reverse("customers:customer_edit", args=[p.a1.pk]),
        {"name": "changed"},
        ("colleague", "clerk", "customer_user"),
        403,
    ),
    "customer_edit_by_outsider": (
        lambda p: reverse("customers:customer_edit", args=[p.a1.pk]),
        {"name": "changed"},
        ("outsider",),
        404,
    ),
    "contact_delete": (
        lambda p: reverse("customers:contact_delete", args=[_contact(p.a1).pk]),
        {},
        ("colleague", "clerk", "customer_user"),
        403,
    ),
    "tier_override_by_manager": (
        lambda p: reverse("customers:customer_tier", args=[p.a1.pk]),
        {"tier": "special", "tier_override_reason": "strategic"},
        ("manager", "engineer", "customer_user"),
        403,
    ),
    "team_change_by_manager": (
        lambda p: reverse("customers:customer_team", args=[p.a1.pk]),
        {"role": "manager", "user": "", "start_date": "2025-06-01", "reason": "leaving"},
        ("manager", "colleague"),
        403,
    ),
    "reassign_by_manager": (
        lambda p: reverse("customers:portfolio_reassign"),
        {"role": "manager", "reason": "rebalance"},
        ("manager", "clerk", "customer_user", "outsider"),
        403,
    ),
    "tier_rules_by_manager": (
        lambda p: reverse("customers:tier_rules"),
        {"special-min_annual_energy_mwh": "1"},
        ("manager", "clerk"),
        403,
    ),
}


@pytest.mark.parametrize("case", POSTS)
def test_forbidden_writes_change_nothing(case, p, client):
    url_for, data, who, expected = POSTS[case]
    url = url_for(p)
    before = (
        list(Customer.objects.order_by("pk").values_list("name", "tier")),
        Contact.objects.count(),
        list(p.a1.assignments.values_list("pk", "end_date")),
    )
    for name in who:
        client.force_login(getattr(p, name), backend="django.contrib.auth.backends.ModelBackend")
        if case == "reassign_by_manager":
            data = {**data, "customers": [p.a1.pk], "user": p.colleague.pk}
        assert client.post(url, data).status_code == expected, name
    after = (
        list(Customer.objects.order_by("pk").values_list("name", "tier")),
        Contact.objects.count(),
        list(p.a1.assignments.values_list("pk", "end_date")),
    )
    assert after == before


def test_customer_user_sees_only_own_group_in_the_list(p, client_for):
    response = client_for(p.customer_user).get(reverse("customers:customer_list"))
    assert {c.name for c in response.context["object_list"]} == {p.a1.name, p.a1_sub.name}


def test_outsider_list_holds_only_his_city(p, client_for):
    response = client_for(p.outsider).get(reverse("customers:customer_list"))
    assert [c.name for c in response.context["object_list"]] == [p.b1.name]


@pytest.mark.parametrize(
    ("persona", "can_edit", "can_manage"),
    [
        ("manager", True, False),
        ("colleague", False, False),
        ("clerk", False, False),
        ("supervisor", True, True),
        ("customer_user", False, False),
        ("admin", True, True),
    ],
)
def test_360_shows_only_the_actions_the_user_may_take(persona, can_edit, can_manage, p, client_for):
    content = client_for(getattr(p, persona)).get(reverse("customers:customer_detail", args=[p.a1.pk])).content
    edit_markers = (b'data-testid="customer-edit"', b'data-testid="account-add"', b'data-testid="contact-edit"')
    manage_markers = (b'data-testid="tier-override-form"', b'data-testid="team-change"')
    assert all((m in content) == can_edit for m in edit_markers)
    assert all((m in content) == can_manage for m in manage_markers)


@pytest.mark.parametrize(
    ("persona", "can_create", "can_reassign"),
    [("manager", False, False), ("clerk", False, False), ("supervisor", True, True), ("admin", True, True)],
)
def test_list_offers_create_and_reassign_to_supervisors_and_admins(persona, can_create, can_reassign, p, client_for):
    content = client_for(getattr(p, persona)).get(reverse("customers:customer_list")).content
    assert (b'data-testid="customer-create"' in content) == can_create
    assert (b'data-testid="reassign-form"' in content) == can_reassign
    assert (b'name="customers"' in content) == can_reassign
