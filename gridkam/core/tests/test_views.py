"""Core pages: health, login, the organisation page and the language switch, for every persona."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gridkam.core.choices import OrgUnitKind
from gridkam.core.services import org_unit_create

pytestmark = pytest.mark.django_db


def test_health_answers_without_login(db, client):
    response = client.get(reverse("health"))
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_login_page_and_login(p, client):
    from gridkam.core.testing import PASSWORD

    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "supervisor", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("customers:customer_list")).status_code == 200


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("supervisor", {"广东电网", "惠州供电局"}),
        ("clerk", {"广东电网", "惠州供电局"}),
        ("manager", {"广东电网", "惠州供电局"}),
        ("outsider", {"广东电网", "汕头供电局"}),
        ("admin", {"广东电网", "惠州供电局", "汕头供电局"}),
    ],
)
def test_org_units_are_the_own_unit_below_and_the_chain_above(persona, expected, p, client_for):
    response = client_for(getattr(p, persona)).get(reverse("core:org_unit_list"))
    assert {u.name for u in response.context["object_list"]} == expected


def test_org_unit_customer_counts_follow_visibility(p, client_for):
    response = client_for(p.outsider).get(reverse("core:org_unit_list"))
    counts = {u.name: u.customer_count for u in response.context["object_list"]}
    # The outsider sees only B1; the province's count must not reveal city A's customers.
    assert counts == {"广东电网": 0, "汕头供电局": 1}


def test_org_units_are_closed_to_customer_users_and_anonymous(p, client, client_for):
    assert client.get(reverse("core:org_unit_list")).status_code == 302
    assert client_for(p.customer_user).get(reverse("core:org_unit_list")).status_code == 403


def test_org_unit_page_queries_do_not_grow_with_units(p, client_for):
    client = client_for(p.admin)
    url = reverse("core:org_unit_list")
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for i in range(18):
        org_unit_create(code=f"HZ-{i}", name=f"县公司{i}", kind=OrgUnitKind.COUNTY, parent=p.city_a)
    with CaptureQueriesContext(connection) as large:
        response = client.get(url)
    assert len(response.context["object_list"]) == 21
    assert len(large) == len(small)


def test_language_switch_changes_the_page_language(p, client_for):
    client = client_for(p.manager)
    url = reverse("customers:customer_list")
    assert '<html lang="zh-hans">' in client.get(url).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": url})
    content = client.get(url).content.decode()
    assert '<html lang="en">' in content
    assert "Key-account customers" in content
    client.post(reverse("set_language"), {"language": "zh-hans", "next": url})
    assert '<html lang="zh-hans">' in client.get(url).content.decode()


ADMIN_MODELS = [
    "core/orgunit",
    "users/user",
    "users/team",
    "customers/industry",
    "customers/customer",
    "customers/electricityaccount",
    "customers/meteringpoint",
    "customers/contact",
    "customers/accountassignment",
    "customers/tierrule",
]


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_admin_lists_and_history_pages_open(model, p, client_for):
    client = client_for(p.admin)
    response = client.get(f"/admin/{model}/")
    assert response.status_code == 200
    obj = response.context["cl"].result_list[0]
    assert client.get(f"/admin/{model}/{obj.pk}/change/").status_code == 200
    if model not in ("users/user", "users/team", "customers/industry"):
        assert client.get(f"/admin/{model}/{obj.pk}/history/").status_code == 200


def test_admin_customer_save_goes_through_the_service(p, client_for):
    client = client_for(p.admin)
    code = p.a3.credit_code
    page = client.get(f"/admin/customers/customer/{p.a3.pk}/change/")
    data = {k: ("" if v is None else v) for k, v in page.context["adminform"].form.initial.items()}
    data.update(name="惠州光电科技有限公司", credit_code=f" {code} ")
    response = client.post(f"/admin/customers/customer/{p.a3.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    p.a3.refresh_from_db()
    assert (p.a3.name_initials, p.a3.credit_code) == ("HZGDKJYXGS", code)


def test_admin_keeps_account_teams_read_only(p, client_for):
    client = client_for(p.admin)
    assert client.get("/admin/customers/accountassignment/add/").status_code == 403


def test_org_unit_list_exports_what_the_user_sees(p, client_for):
    import io

    from openpyxl import load_workbook

    response = client_for(p.outsider).get(reverse("core:org_unit_list") + "?export=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    codes = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert codes == ["GD", "ST"]
