import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gridkam.core.testing import make_account, make_customer
from gridkam.dashboard.selectors import portfolio_overview

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_customer_user_goes_to_the_portal(p, client_for):
    response = client_for(p.customer_user).get(reverse("dashboard:home"))
    assert response["Location"] == reverse("portal:home")


def test_overview_counts_only_what_the_user_sees(p):
    assert portfolio_overview(user=p.outsider).customers == 1
    assert portfolio_overview(user=p.supervisor).customers == 4
    assert portfolio_overview(user=p.admin).customers == 5
    tiers = {value: n for value, _, n in portfolio_overview(user=p.supervisor).by_tier}
    assert sum(tiers.values()) == 4


def test_important_user_on_single_supply_is_listed_with_its_gap(p, client_for):
    response = client_for(p.supervisor).get(reverse("dashboard:home"))
    assert response.status_code == 200
    assert [c.name for c in response.context["gap_rows"]] == [p.a2.name]
    # The outsider's city has no such customer, and he must not see city A's.
    response = client_for(p.outsider).get(reverse("dashboard:home"))
    assert response.context["gap_rows"] == []
    assert p.a2.name not in response.content.decode()


def test_customers_without_a_manager_are_counted(p):
    make_customer(name="无人负责有限公司", org_unit=p.city_a)
    assert portfolio_overview(user=p.supervisor).without_manager == 1


def test_query_count_does_not_grow_with_the_portfolio(p, client_for):
    client = client_for(p.supervisor)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("dashboard:home"))
    for i in range(15):
        customer = make_customer(name=f"惠州新增重要用户{i}", org_unit=p.city_a, importance_class="second")
        make_account(customer=customer)
    with CaptureQueriesContext(connection) as large:
        response = client.get(reverse("dashboard:home"))
    assert len(response.context["overview"].with_gaps) == 16
    assert len(large) == len(small)
