"""Query counts that do not grow with the data (STYLE.md), and the Excel export of the list."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from gridkam.core.choices import OrgUnitKind
from gridkam.core.services import org_unit_create
from gridkam.core.testing import make_account, make_contact, make_customer, make_user
from gridkam.customers.choices import AssignmentRole, ContactRole
from gridkam.customers.models import Customer
from gridkam.customers.services import assignment_set, contact_save, customer_save
from gridkam.users.choices import Role

pytestmark = pytest.mark.django_db


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def add_customers(n: int, *, unit, manager, engineer, start: int) -> None:
    """Customers as the list shows them: accounts, metering points, contacts and a whole team."""
    for i in range(start, start + n):
        customer = make_customer(name=f"惠州测试{i:03d}实业有限公司", org_unit=unit, credit_rating="A")
        assignment_set(customer=customer, role=AssignmentRole.MANAGER, user=manager)
        assignment_set(customer=customer, role=AssignmentRole.FIELD_ENGINEER, user=engineer)
        make_account(customer=customer, points=2)
        make_contact(customer=customer, name=f"联系人{i}")


@pytest.fixture
def county(p):
    """A unit of its own, so the list holds exactly the customers a test makes."""
    unit = org_unit_create(code="HZ-BL", name="博罗县供电局", kind=OrgUnitKind.COUNTY, parent=p.city_a)
    return {
        "unit": unit,
        "supervisor": make_user("county_supervisor", role=Role.SUPERVISOR, org_unit=unit),
        "manager": make_user("county_manager", role=Role.ACCOUNT_MANAGER, org_unit=unit),
        "engineer": make_user("county_engineer", role=Role.FIELD_ENGINEER, org_unit=unit),
    }


@pytest.mark.parametrize("persona", ["supervisor", "manager"])
@pytest.mark.parametrize("query", ["", "?q=HZCS&sort=-capacity", "?voltage_kv=10&sort=manager"])
def test_customer_list_queries_do_not_grow_with_rows(persona, query, county, client_for):
    client = client_for(county[persona])
    url = reverse("customers:customer_list") + query
    add_customers(2, unit=county["unit"], manager=county["manager"], engineer=county["engineer"], start=0)
    small = count_queries(client, url)
    add_customers(18, unit=county["unit"], manager=county["manager"], engineer=county["engineer"], start=2)
    response = client.get(url)
    assert len(response.context["object_list"]) == 20
    assert count_queries(client, url) == small


def test_customer_list_htmx_partial_queries_do_not_grow_with_rows(county, client_for):
    client = client_for(county["supervisor"])
    url = reverse("customers:customer_list") + "?q=HZCS"
    add_customers(2, unit=county["unit"], manager=county["manager"], engineer=county["engineer"], start=0)
    with CaptureQueriesContext(connection) as small:
        client.get(url, headers={"HX-Request": "true"})
    add_customers(18, unit=county["unit"], manager=county["manager"], engineer=county["engineer"], start=2)
    with CaptureQueriesContext(connection) as large:
        response = client.get(url, headers={"HX-Request": "true"})
    assert b"<html" not in response.content  # the table partial only
    assert len(large) == len(small)


def grow(customer, *, accounts: int, points: int, contacts: int, start: int) -> None:
    for _ in range(accounts):
        make_account(customer=customer, points=points)
    for i in range(start, start + contacts):
        contact = make_contact(customer=customer, name=f"联系人{i}", role=ContactRole.FINANCE)
        # An edit, so the change history has field changes to pair up, not only creations.
        contact.phone = f"1390000{i:04d}"
        contact_save(contact=contact)


@pytest.mark.parametrize("persona", ["supervisor", "manager", "customer_user"])
def test_customer_360_queries_do_not_grow_with_accounts_points_and_contacts(persona, county, p, client_for):
    customer = make_customer(name="惠州测试重工有限公司", org_unit=county["unit"])
    if persona == "customer_user":
        user = make_user("portal", role=Role.CUSTOMER_USER, customer=customer)
    else:
        user = county[persona]
    assignment_set(customer=customer, role=AssignmentRole.MANAGER, user=county["manager"])
    grow(customer, accounts=1, points=1, contacts=1, start=0)
    client = client_for(user)
    url = reverse("customers:customer_detail", args=[customer.pk])
    small = count_queries(client, url)

    grow(customer, accounts=9, points=3, contacts=9, start=1)
    customer.address = "惠州市博罗县园洲镇"
    customer_save(customer=customer)
    assignment_set(customer=customer, role=AssignmentRole.MANAGER, user=make_user("m2", role=Role.ACCOUNT_MANAGER))
    assignment_set(customer=customer, role=AssignmentRole.MANAGER, user=county["manager"])
    response = client.get(url)
    assert len(response.context["accounts"]) == 10
    assert len(response.context["contacts"]) == 10
    assert count_queries(client, url) == small


def export_rows(client, query: str) -> list[tuple]:
    response = client.get(reverse("customers:customer_list") + query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    return list(sheet.iter_rows(values_only=True))


@pytest.mark.parametrize(
    ("persona", "query"),
    [
        ("supervisor", "q=HZGT"),
        ("supervisor", "tier=first"),
        ("supervisor", "sort=-name"),
        ("manager", ""),
        ("customer_user", ""),
        ("admin", "org_unit={city_b}"),
    ],
)
def test_excel_export_rows_match_the_filtered_list(persona, query, p, client_for):
    client = client_for(getattr(p, persona))
    query = query.format(city_b=p.city_b.pk)
    listed = [c.name for c in client.get(reverse("customers:customer_list") + f"?{query}").context["object_list"]]
    header, *rows = export_rows(client, f"?{query}&export=xlsx")
    assert len(header) == 11
    assert [row[0] for row in rows] == listed
    assert listed  # each case exports something
    by_name = {row[0]: row for row in rows}
    first = Customer.objects.get(name=listed[0])
    assert by_name[first.name][1] == first.credit_code
