"""The key-account API (/api/v1/): who may read and write what, the error shape, the 360 picture,
the team actions, and constant query counts on every list."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.core.testing import make_account, make_contact, make_credit_code, make_customer, make_tariff, persona
from gridkam.customers.models import AccountAssignment, Contact, Customer, ElectricityAccount, MeteringPoint, TierRule
from gridkam.customers.services import assignment_set

pytestmark = pytest.mark.django_db

API = "/api/v1"
ANONYMOUS = None


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def assert_error_shape(response, *fields: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"detail", "errors"}
    for field in fields:
        assert field in body["errors"], body
        assert isinstance(body["errors"][field], list) and body["errors"][field]


def new_customer_payload(p, **overrides) -> dict:
    payload = {
        "credit_code": make_credit_code(900001),
        "name": "惠州新材料有限公司",
        "industry": "C31",
        "org_unit": p.city_a.pk,
        "annual_energy_mwh": "1200.50",
        "importance_class": "none",
    }
    payload.update(overrides)
    return payload


# Customers: reading


@pytest.mark.parametrize(
    "who, expected",
    [
        ("manager", {"a1", "a1_sub", "a2", "a3"}),
        ("colleague", {"a1", "a1_sub", "a2", "a3"}),
        ("engineer", {"a1"}),
        ("clerk", {"a1", "a1_sub", "a2", "a3"}),
        ("supervisor", {"a1", "a1_sub", "a2", "a3"}),
        ("outsider", {"b1"}),
        ("customer_user", {"a1", "a1_sub"}),
        ("admin", {"a1", "a1_sub", "a2", "a3", "b1"}),
    ],
)
def test_customer_list_shows_what_the_user_may_see(p, api, who, expected):
    response = api(persona(p, who)).get(f"{API}/customers/")
    assert ids(response) == {getattr(p, name).pk for name in expected}


@pytest.mark.parametrize(
    "who, a1, b1",
    [
        ("anonymous", 403, 403),
        ("manager", 200, 404),
        ("colleague", 200, 404),
        ("clerk", 200, 404),
        ("supervisor", 200, 404),
        ("outsider", 404, 200),
        ("customer_user", 200, 404),
        ("admin", 200, 200),
    ],
)
def test_customer_360_answers_404_outside_the_users_view(p, api, who, a1, b1):
    client = api(persona(p, who))
    assert client.get(f"{API}/customers/{p.a1.pk}/").status_code == a1
    assert client.get(f"{API}/customers/{p.b1.pk}/").status_code == b1


def test_customer_360_has_accounts_points_contacts_team_and_gaps(p, api):
    body = api(p.manager).get(f"{API}/customers/{p.a2.pk}/").json()
    assert body["name"] == "惠州石化有限公司"
    assert body["industry"] == "C31" and body["org_unit_name"] == "惠州供电局"
    assert len(body["accounts"]) == 1 and len(body["accounts"][0]["metering_points"]) == 1
    assert body["accounts"][0]["metering_points"][0]["multiplier"] == "4000.00"
    assert [c["name"] for c in body["contacts"]] == ["惠州联系人"]
    assert [(m["role"], m["username"]) for m in body["team"]] == [("manager", "manager")]
    # A first-class important user on a single supply without emergency power: two gaps.
    assert {g["code"] for g in body["supply_gaps"]} == {"supply_sources", "no_emergency_power"}
    assert body["capacity_total_kva"] == "2000.00"
    assert body["tier_overridden"] is False and body["can_edit"] is True


def test_customer_360_lists_subsidiaries_and_parent(p, api):
    parent = api(p.manager).get(f"{API}/customers/{p.a1.pk}/").json()
    child = api(p.manager).get(f"{API}/customers/{p.a1_sub.pk}/").json()
    assert parent["subsidiaries"] == [{"id": p.a1_sub.pk, "name": p.a1_sub.name}]
    assert child["parent"] == {"id": p.a1.pk, "name": p.a1.name}


def test_colleague_reads_the_team_customer_but_may_not_edit_it(p, api):
    body = api(p.colleague).get(f"{API}/customers/{p.a1.pk}/").json()
    assert body["can_edit"] is False


@pytest.mark.parametrize(
    "params, expected",
    [
        ("q=HZGT", {"a1", "a1_sub"}),
        ("q=惠州石化", {"a2"}),
        ("importance_class=first", {"a2"}),
        ("tier=first", {"a2"}),
        ("tier=third&tier=first", {"a1", "a1_sub", "a2", "a3"}),
        ("industry=c31", {"a1", "a1_sub", "a2", "a3"}),
        ("voltage_kv=10", {"a1", "a1_sub", "a2", "a3"}),
        ("voltage_kv=110", set()),
    ],
)
def test_customer_list_uses_the_ui_filters(p, api, params, expected):
    response = api(p.supervisor).get(f"{API}/customers/?{params}")
    assert ids(response) == {getattr(p, name).pk for name in expected}


def test_customer_list_filters_by_manager_and_org_unit(p, api):
    client = api(p.admin)
    assert ids(client.get(f"{API}/customers/?manager={p.colleague.pk}")) == {p.a3.pk}
    assert ids(client.get(f"{API}/customers/?org_unit={p.city_b.pk}")) == {p.b1.pk}


def test_customer_list_sorts_on_the_list_columns(p, api):
    client = api(p.admin)
    names = [row["name"] for row in client.get(f"{API}/customers/?ordering=-name").json()["results"]]
    assert names == sorted(names, reverse=True)
    make_account(customer=p.a3, capacity_kva="9000")
    rows = client.get(f"{API}/customers/?ordering=-capacity_total_kva").json()["results"]
    assert rows[0]["id"] == p.a3.pk and rows[0]["capacity_total_kva"] == "11000.00"


@pytest.mark.parametrize(
    "params, field",
    [
        ("tier=platinum", "tier"),
        ("org_unit=abc", "org_unit"),
        ("manager=999999", "manager"),
        ("voltage_kv=11", "voltage_kv"),
    ],
)
def test_bad_filter_values_answer_400_with_the_field(p, api, params, field):
    assert_error_shape(api(p.admin).get(f"{API}/customers/?{params}"), field)


def test_filter_on_a_unit_outside_the_users_view_is_rejected(p, api):
    assert_error_shape(api(p.manager).get(f"{API}/customers/?org_unit={p.city_b.pk}"), "org_unit")


@pytest.mark.parametrize(
    "url",
    [
        "/customers/abc/",
        "/customers/99999999999999999999999/",
        "/customers/-1/",
        "/accounts/1e5/",
        "/industries/%E4%B8%AD/",
        "/metering-points/0/",
    ],
)
def test_malformed_or_unknown_ids_answer_404(p, api, url):
    response = api(p.admin).get(f"{API}{url}")
    assert response.status_code == 404
    assert set(response.json()) == {"detail", "errors"}


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/?customer=1e30",
        "/accounts/?customer=99999999999999999999",
        "/metering-points/?account=-99999999999999999999",
        "/contacts/?customer=abc",
        "/customers/?page_size=abc",
    ],
)
def test_absurd_filter_numbers_never_crash(p, api, url):
    response = api(p.admin).get(f"{API}{url}")
    assert response.status_code in (200, 400), response.content


def test_out_of_range_page_answers_404_in_the_error_shape(p, api):
    response = api(p.admin).get(f"{API}/customers/?page=99")
    assert response.status_code == 404 and set(response.json()) == {"detail", "errors"}


# Customers: writing


@pytest.mark.parametrize(
    "who, status",
    [
        ("anonymous", 403),
        ("manager", 200),
        ("engineer", 200),
        ("colleague", 403),
        ("clerk", 403),
        ("supervisor", 200),
        ("outsider", 404),
        ("customer_user", 403),
        ("admin", 200),
    ],
)
def test_customer_update_needs_an_editable_customer(p, api, who, status):
    response = api(persona(p, who)).patch(f"{API}/customers/{p.a1.pk}/", {"address": "惠州市惠阳区"}, format="json")
    assert response.status_code == status, response.content
    p.a1.refresh_from_db()
    assert (p.a1.address == "惠州市惠阳区") == (status == 200)


def test_customer_update_returns_the_360_picture_and_recomputes_the_tier(p, api):
    response = api(p.manager).patch(f"{API}/customers/{p.a1.pk}/", {"annual_energy_mwh": "25000"}, format="json")
    assert response.status_code == 200
    assert response.json()["tier"] == "first" and "accounts" in response.json()


@pytest.mark.parametrize(
    "who, status",
    [
        ("anonymous", 403),
        ("manager", 403),
        ("engineer", 403),
        ("clerk", 403),
        ("outsider", 403),
        ("customer_user", 403),
        ("supervisor", 201),
        ("admin", 201),
    ],
)
def test_only_supervisors_and_administrators_create_customers(p, api, who, status):
    response = api(persona(p, who)).post(f"{API}/customers/", new_customer_payload(p), format="json")
    assert response.status_code == status, response.content
    if status == 201:
        body = response.json()
        assert body["name_initials"] == "HZXCLYXGS" and body["tier"] == "third"
        assert Customer.objects.filter(pk=body["id"]).exists()


def test_supervisor_cannot_create_a_customer_outside_his_subtree(p, api):
    response = api(p.supervisor).post(f"{API}/customers/", new_customer_payload(p, org_unit=p.city_b.pk), format="json")
    assert_error_shape(response, "org_unit")


def test_manager_cannot_move_his_customer_to_another_unit(p, api):
    response = api(p.manager).patch(f"{API}/customers/{p.a1.pk}/", {"org_unit": p.province.pk}, format="json")
    assert_error_shape(response, "org_unit")


def test_customer_create_reports_every_bad_field(p, api):
    payload = new_customer_payload(
        p,
        credit_code="91441300MA4UL0XX0X",
        name="",
        industry="Z99",
        annual_energy_mwh="-5",
        importance_class="vip",
        security_load_kw="1e20",
    )
    response = api(p.admin).post(f"{API}/customers/", payload, format="json")
    assert_error_shape(
        response, "credit_code", "name", "industry", "annual_energy_mwh", "importance_class", "security_load_kw"
    )


def test_duplicate_credit_code_is_a_field_error(p, api):
    response = api(p.admin).post(
        f"{API}/customers/", new_customer_payload(p, credit_code=p.a1.credit_code.lower()), format="json"
    )
    assert_error_shape(response, "credit_code")


@pytest.mark.parametrize("body", [[], "text", {"name": {"nested": 1}}, {"org_unit": [1, 2]}, {"parent": True}])
def test_wrong_json_types_are_400_not_500(p, api, body):
    response = api(p.admin).post(f"{API}/customers/", body, format="json")
    assert response.status_code == 400


def test_malformed_json_is_400_in_the_error_shape(p, api):
    response = api(p.admin).post(f"{API}/customers/", "{not json", content_type="application/json")
    assert response.status_code == 400 and set(response.json()) == {"detail", "errors"}


@pytest.mark.parametrize("who, status", [("admin", 204), ("supervisor", 403), ("manager", 403), ("outsider", 404)])
def test_only_administrators_delete_customers(p, api, who, status):
    response = api(persona(p, who)).delete(f"{API}/customers/{p.a3.pk}/")
    assert response.status_code == status
    assert Customer.objects.filter(pk=p.a3.pk).exists() == (status != 204)


@pytest.mark.parametrize(
    "who, status", [("manager", 200), ("colleague", 403), ("clerk", 403), ("outsider", 404), ("customer_user", 403)]
)
def test_tier_override_needs_an_editable_customer(p, api, who, status):
    response = api(persona(p, who)).post(
        f"{API}/customers/{p.a1.pk}/tier-override/", {"tier": "special", "reason": "市重点保障企业"}, format="json"
    )
    assert response.status_code == status, response.content
    if status == 200:
        assert response.json()["tier"] == "special" and response.json()["tier_overridden"] is True


def test_tier_override_without_a_reason_names_the_reason_field(p, api):
    response = api(p.manager).post(f"{API}/customers/{p.a1.pk}/tier-override/", {"tier": "special"}, format="json")
    assert_error_shape(response, "reason")


def test_tier_override_back_to_the_rule_clears_the_override(p, api):
    client = api(p.manager)
    client.post(f"{API}/customers/{p.a1.pk}/tier-override/", {"tier": "first", "reason": "保电"}, format="json")
    body = client.post(f"{API}/customers/{p.a1.pk}/tier-override/", {"tier": "third"}, format="json").json()
    assert (body["tier"], body["tier_overridden"], body["tier_override_reason"]) == ("third", False, "")


@pytest.mark.parametrize("who, status", [("manager", 200), ("customer_user", 403), ("outsider", 404)])
def test_history_is_for_staff_who_see_the_customer(p, api, who, status):
    api(p.manager).patch(f"{API}/customers/{p.a1.pk}/", {"address": "惠州大道1号"}, format="json")
    response = api(persona(p, who)).get(f"{API}/customers/{p.a1.pk}/history/")
    assert response.status_code == status
    if status == 200:
        change = response.json()[0]
        assert change["type"] == "~" and change["who"] == "李经理"
        assert change["changes"][0]["new"] == "惠州大道1号"


# Portfolio reassignment


def reassign(client, p, customers, user, role="manager", reason="人员调整"):
    return client.post(
        f"{API}/customers/reassign/",
        {"customers": [c.pk for c in customers], "role": role, "user": user.pk, "reason": reason},
        format="json",
    )


@pytest.mark.parametrize(
    "who, status",
    [("anonymous", 403), ("manager", 403), ("clerk", 403), ("customer_user", 403), ("supervisor", 200), ("admin", 200)],
)
def test_only_supervisors_and_administrators_reassign(p, api, who, status):
    response = reassign(api(persona(p, who)), p, [p.a1, p.a2], p.colleague)
    assert response.status_code == status, response.content


def test_reassignment_keeps_the_history(p, api):
    response = reassign(api(p.supervisor), p, [p.a1, p.a2], p.colleague)
    assert response.json() == {"moved": 2}
    old = AccountAssignment.objects.get(customer=p.a1, user=p.manager, role="manager")
    assert old.end_date is not None and old.reason == "人员调整"
    assert AccountAssignment.objects.get(customer=p.a1, role="manager", end_date__isnull=True).user == p.colleague
    history = api(p.supervisor).get(f"{API}/assignments/?all=1&customer={p.a1.pk}&role=manager").json()["results"]
    assert {(row["user"], row["end_date"] is None) for row in history} == {
        (p.manager.pk, False),
        (p.colleague.pk, True),
    }


def test_reassignment_rejects_customers_outside_the_supervisors_unit(p, api):
    response = reassign(api(p.supervisor), p, [p.a1, p.b1], p.colleague)
    assert_error_shape(response, "customers")
    assert str(p.b1.pk) in response.json()["errors"]["customers"][0]
    assert AccountAssignment.objects.get(customer=p.a1, role="manager", end_date__isnull=True).user == p.manager


def test_reassignment_needs_a_holder_of_a_suitable_role(p, api):
    assert_error_shape(reassign(api(p.supervisor), p, [p.a1], p.clerk), "user")
    assert_error_shape(reassign(api(p.supervisor), p, [p.a1], p.colleague, role="field_engineer"), "user")
    assert reassign(api(p.supervisor), p, [p.a2], p.engineer, role="field_engineer").status_code == 200


def test_reassignment_to_staff_the_supervisor_cannot_see_is_rejected(p, api):
    assert_error_shape(reassign(api(p.supervisor), p, [p.a1], p.outsider), "user")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"customers": [], "role": "manager", "reason": "x"}, "customers"),
        ({"customers": ["x"], "role": "manager", "reason": "x"}, "customers"),
        ({"customers": [2**70], "role": "manager", "reason": "x"}, "customers"),
        ({"customers": [1], "role": "boss", "reason": "x"}, "role"),
        ({"customers": [1], "role": "manager", "reason": ""}, "reason"),
    ],
)
def test_reassignment_input_errors(p, api, body, field):
    body = {"user": p.colleague.pk, **body}
    assert_error_shape(api(p.admin).post(f"{API}/customers/reassign/", body, format="json"), field)


# Accounts, metering points, contacts


def test_owned_rows_follow_their_customers_visibility(p, api):
    a1_account = p.a1.accounts.get()
    for who, sees in (("manager", True), ("customer_user", True), ("outsider", False), ("clerk", True)):
        client = api(persona(p, who))
        assert (a1_account.pk in ids(client.get(f"{API}/accounts/"))) == sees
        point = a1_account.metering_points.get()
        assert (point.pk in ids(client.get(f"{API}/metering-points/"))) == sees
        contact = p.a1.contacts.get()
        assert (contact.pk in ids(client.get(f"{API}/contacts/"))) == sees
        expected = 200 if sees else 404
        assert client.get(f"{API}/accounts/{a1_account.pk}/").status_code == expected
        assert client.get(f"{API}/metering-points/{point.pk}/").status_code == expected
        assert client.get(f"{API}/contacts/{contact.pk}/").status_code == expected


@pytest.mark.parametrize(
    "who, status",
    [
        ("anonymous", 403),
        ("manager", 200),
        ("colleague", 403),
        ("clerk", 403),
        ("supervisor", 200),
        ("outsider", 404),
        ("customer_user", 403),
        ("admin", 200),
    ],
)
def test_owned_rows_are_written_where_the_customer_is_editable(p, api, who, status):
    client = api(persona(p, who))
    make_tariff("LARGE-10")
    account = p.a1.accounts.get()
    point = account.metering_points.get()
    contact = p.a1.contacts.get()
    assert client.patch(f"{API}/accounts/{account.pk}/", {"tariff_code": "LARGE-10"}, format="json").status_code == (
        status
    )
    assert client.patch(f"{API}/metering-points/{point.pk}/", {"purpose": "check"}, format="json").status_code == (
        status
    )
    assert client.patch(f"{API}/contacts/{contact.pk}/", {"phone": "0752-1234567"}, format="json").status_code == (
        status
    )


def test_account_create_needs_a_customer_the_user_may_edit(p, api):
    payload = {"account_no": "0812345678", "name": "二号厂区", "voltage_kv": "10", "capacity_kva": "800"}
    assert_error_shape(
        api(p.manager).post(f"{API}/accounts/", {**payload, "customer": p.a3.pk}, format="json"), "customer"
    )
    assert_error_shape(
        api(p.manager).post(f"{API}/accounts/", {**payload, "customer": p.b1.pk}, format="json"), "customer"
    )
    assert api(p.clerk).post(f"{API}/accounts/", {**payload, "customer": p.a1.pk}, format="json").status_code == 403
    response = api(p.manager).post(f"{API}/accounts/", {**payload, "customer": p.a1.pk}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["customer_name"] == p.a1.name


def test_account_capacity_feeds_the_customer_tier(p, api):
    payload = {"account_no": "0812345679", "name": "扩建", "voltage_kv": "110", "capacity_kva": "60000"}
    response = api(p.manager).post(f"{API}/accounts/", {**payload, "customer": p.a2.pk}, format="json")
    assert response.status_code == 201
    p.a2.refresh_from_db()
    assert p.a2.tier == "special"


def test_account_validation_errors_come_from_the_model_rules(p, api):
    payload = {
        "customer": p.a1.pk,
        "account_no": p.a1.accounts.get().account_no,
        "name": "x",
        "voltage_kv": "10",
        "capacity_kva": "0",
        "basic_charge_method": "contract_demand",
    }
    response = api(p.manager).post(f"{API}/accounts/", payload, format="json")
    assert_error_shape(response, "account_no", "capacity_kva")
    payload.update(account_no="0800000001", capacity_kva="100")
    assert_error_shape(api(p.manager).post(f"{API}/accounts/", payload, format="json"), "contract_demand_kw")
    payload.update(basic_charge_method="capacity", capacity_kva="9999999")
    assert_error_shape(api(p.manager).post(f"{API}/accounts/", payload, format="json"), "capacity_kva")


def test_account_cannot_move_to_another_customer(p, api):
    account = p.a1.accounts.get()
    response = api(p.manager).patch(f"{API}/accounts/{account.pk}/", {"customer": p.a2.pk}, format="json")
    assert_error_shape(response, "customer")


def test_accounts_and_points_are_closed_not_deleted(p, api):
    account = p.a1.accounts.get()
    assert api(p.admin).delete(f"{API}/accounts/{account.pk}/").status_code == 405
    point = account.metering_points.get()
    assert api(p.admin).delete(f"{API}/metering-points/{point.pk}/").status_code == 405


def test_metering_point_multiplier_is_computed_or_checked(p, api):
    account = p.a1.accounts.get()
    base = {"account": account.pk, "ct_ratio": "50", "pt_ratio": "100"}
    response = api(p.manager).post(
        f"{API}/metering-points/", {**base, "code": "MPNEW1", "meter_no": "MNEW1"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["multiplier"] == "5000.00" and response.json()["customer"] == p.a1.pk
    response = api(p.manager).post(
        f"{API}/metering-points/", {**base, "code": "MPNEW2", "meter_no": "MNEW2", "multiplier": "4000"}, format="json"
    )
    assert_error_shape(response, "multiplier")
    response = api(p.manager).post(
        f"{API}/metering-points/", {"account": account.pk, "code": "MPNEW3", "meter_no": "MNEW3"}, format="json"
    )
    assert_error_shape(response, "multiplier")


def test_metering_point_needs_an_account_the_user_may_edit(p, api):
    payload = {"account": p.a3.accounts.get().pk, "code": "MPX", "meter_no": "MX", "multiplier": "1"}
    assert_error_shape(api(p.manager).post(f"{API}/metering-points/", payload, format="json"), "account")


def test_contact_create_update_delete(p, api):
    client = api(p.manager)
    payload = {"customer": p.a1.pk, "name": "陈工", "role": "electrical_lead", "phone": "13900000000"}
    response = client.post(f"{API}/contacts/", payload, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert client.patch(f"{API}/contacts/{pk}/", {"email": "chen@example.com"}, format="json").status_code == 200
    assert api(p.colleague).delete(f"{API}/contacts/{pk}/").status_code == 403
    assert api(p.outsider).delete(f"{API}/contacts/{pk}/").status_code == 404
    assert client.delete(f"{API}/contacts/{pk}/").status_code == 204
    assert not Contact.objects.filter(pk=pk).exists()


def test_contact_needs_a_phone_or_email_and_a_unique_name_per_role(p, api):
    client = api(p.manager)
    payload = {"customer": p.a1.pk, "name": "陈工", "role": "finance"}
    assert_error_shape(client.post(f"{API}/contacts/", payload, format="json"), "phone")
    existing = p.a1.contacts.get()
    duplicate = {"customer": p.a1.pk, "name": existing.name, "role": existing.role, "phone": "1"}
    assert_error_shape(client.post(f"{API}/contacts/", duplicate, format="json"), "non_field_errors")
    assert_error_shape(client.post(f"{API}/contacts/", {**payload, "email": "not-an-address"}, format="json"), "email")


def test_a_new_primary_contact_demotes_the_previous_one(p, api):
    client = api(p.manager)
    first = make_contact(customer=p.a1, name="甲", role="finance", is_primary=True)
    payload = {"customer": p.a1.pk, "name": "乙", "role": "finance", "phone": "1", "is_primary": True}
    assert client.post(f"{API}/contacts/", payload, format="json").status_code == 201
    first.refresh_from_db()
    assert first.is_primary is False


def test_contact_for_a_customer_the_user_may_not_edit_is_a_field_error(p, api):
    payload = {"customer": p.a3.pk, "name": "陈工", "role": "finance", "phone": "1"}
    assert_error_shape(api(p.manager).post(f"{API}/contacts/", payload, format="json"), "customer")


# Assignments


def test_assignment_list_is_current_by_default_and_all_with_history(p, api):
    client = api(p.admin)
    assignment_set(customer=p.a3, role="manager", user=p.manager, start_date=dt.date(2025, 6, 1))
    current = client.get(f"{API}/assignments/?customer={p.a3.pk}").json()["results"]
    everything = client.get(f"{API}/assignments/?customer={p.a3.pk}&all=1").json()["results"]
    assert [row["user"] for row in current] == [p.manager.pk]
    assert {row["user"] for row in everything} == {p.manager.pk, p.colleague.pk}


@pytest.mark.parametrize(
    "who, expected",
    [("manager", {"a1", "a1_sub", "a2", "a3"}), ("outsider", {"b1"}), ("engineer", {"a1"})],
)
def test_assignment_list_follows_customer_visibility(p, api, who, expected):
    rows = api(persona(p, who)).get(f"{API}/assignments/").json()["results"]
    assert {row["customer"] for row in rows} == {getattr(p, name).pk for name in expected}


def test_customer_users_do_not_list_assignments(p, api):
    assert api(p.customer_user).get(f"{API}/assignments/").status_code == 403


@pytest.mark.parametrize("who, status", [("supervisor", 201), ("admin", 201), ("manager", 403), ("clerk", 403)])
def test_assignment_create_is_for_supervisors_and_administrators(p, api, who, status):
    body = {"customer": p.a2.pk, "role": "backup_manager", "user": p.colleague.pk, "reason": "休假顶岗"}
    response = api(persona(p, who)).post(f"{API}/assignments/", body, format="json")
    assert response.status_code == status, response.content
    if status == 201:
        assert response.json()["user"] == p.colleague.pk and response.json()["end_date"] is None


def test_assignment_create_checks_customer_user_and_dates(p, api):
    client = api(p.supervisor)
    body = {"customer": p.b1.pk, "role": "manager", "user": p.colleague.pk}
    assert_error_shape(client.post(f"{API}/assignments/", body, format="json"), "customer")
    body = {"customer": p.a1.pk, "role": "manager", "user": p.colleague.pk, "start_date": "2020-01-01"}
    assert_error_shape(client.post(f"{API}/assignments/", body, format="json"), "start_date")
    body = {"customer": p.a1.pk, "role": "manager", "user": p.customer_user.pk}
    assert_error_shape(client.post(f"{API}/assignments/", body, format="json"), "user")


# Industries and tier rules


@pytest.mark.parametrize("who, status", [("anonymous", 403), ("customer_user", 403), ("clerk", 200), ("admin", 200)])
def test_industries_are_for_staff(p, api, who, status):
    assert api(persona(p, who)).get(f"{API}/industries/?q=C31").status_code == status


def test_industry_search_and_lookup(p, api):
    client = api(p.manager)
    rows = client.get(f"{API}/industries/?q=c31").json()["results"]
    assert rows and all(row["code"].startswith("C31") for row in rows)
    assert client.get(f"{API}/industries/C31/").json()["code"] == "C31"
    assert client.get(f"{API}/industries/c31/").json()["code"] == "C31"
    assert client.get(f"{API}/industries/Q999/").status_code == 404


@pytest.mark.parametrize("who, status", [("anonymous", 403), ("customer_user", 403), ("manager", 200)])
def test_tier_rules_are_read_by_staff(p, api, who, status):
    assert api(persona(p, who)).get(f"{API}/tier-rules/").status_code == status


@pytest.mark.parametrize("who, status", [("manager", 403), ("clerk", 403), ("supervisor", 200), ("admin", 200)])
def test_tier_rule_change_recomputes_every_customer(p, api, who, status):
    rule = TierRule.objects.get(tier="second")
    response = api(persona(p, who)).patch(
        f"{API}/tier-rules/{rule.pk}/", {"min_capacity_kva": "1500", "importance_classes": ["second"]}, format="json"
    )
    assert response.status_code == status, response.content
    p.a3.refresh_from_db()
    assert p.a3.tier == ("second" if status == 200 else "third")


def test_tier_rule_thresholds_cannot_be_negative(p, api):
    rule = TierRule.objects.get(tier="first")
    response = api(p.admin).patch(
        f"{API}/tier-rules/{rule.pk}/", {"min_capacity_kva": "-1", "importance_classes": ["vip"]}, format="json"
    )
    assert_error_shape(response, "min_capacity_kva", "importance_classes")


# Query counts: the same for 2 rows as for 20, and the 360 picture independent of its size.


def populate(p, n: int = 21) -> None:
    for i in range(n):
        customer = make_customer(name=f"测试企业{i:02d}有限公司", org_unit=p.city_a)
        assignment_set(customer=customer, role="manager", user=p.manager, start_date=dt.date(2025, 1, 1))
        make_account(customer=customer, points=1)
        make_contact(customer=customer, name=f"联系人{i}")


def query_count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries)


LIST_URLS = [
    "/customers/",
    "/customers/?q=测试&ordering=-capacity_total_kva",
    "/accounts/",
    "/metering-points/",
    "/contacts/",
    "/assignments/",
    "/assignments/?all=1",
]


@pytest.mark.parametrize("url", LIST_URLS)
@pytest.mark.parametrize("who", ["admin", "manager", "supervisor"])
def test_list_query_count_is_the_same_for_2_and_20_rows(p, api, url, who):
    populate(p)
    client = api(persona(p, who))
    separator = "&" if "?" in url else "?"
    small = query_count(client, f"{API}{url}{separator}page_size=2")
    large = query_count(client, f"{API}{url}{separator}page_size=20")
    assert small == large
    assert len(client.get(f"{API}{url}{separator}page_size=20").json()["results"]) == 20


def test_customer_360_query_count_does_not_grow_with_its_size(p, api):
    client = api(p.manager)
    small = query_count(client, f"{API}/customers/{p.a2.pk}/")
    for i in range(4):
        make_account(customer=p.a2, points=3, supply_mode="dual")
        make_contact(customer=p.a2, name=f"联系人{i}", role="finance" if i % 2 else "electrical_lead")
    assignment_set(customer=p.a2, role="field_engineer", user=p.engineer)
    make_customer(name="惠州石化一分厂", org_unit=p.city_a, parent=p.a2)
    large = query_count(client, f"{API}/customers/{p.a2.pk}/")
    body = client.get(f"{API}/customers/{p.a2.pk}/").json()
    assert len(body["accounts"]) == 5 and sum(len(a["metering_points"]) for a in body["accounts"]) == 13
    assert small == large


def test_counts_match_the_models(p, api):
    # Guards the fixtures the matrix relies on: one account, point and contact per persona customer.
    assert ElectricityAccount.objects.count() == MeteringPoint.objects.count() == Contact.objects.count() == 5


def test_list_parameters_on_a_detail_request_are_ignored(p, api):
    url = f"{API}/customers/{p.a1.pk}/?ordering=-capacity_total_kva&tier=bogus"
    assert api(p.manager).patch(url, {"address": "惠州"}, format="json").status_code == 200
    assert api(p.manager).get(url).status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/customers/",
        "/customers/{a1}/",
        "/accounts/",
        "/metering-points/",
        "/contacts/",
        "/assignments/",
        "/tier-rules/",
    ],
)
def test_browsable_api_pages_render(p, api, url):
    response = api(p.admin).get(f"{API}{url.format(a1=p.a1.pk)}", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_tier_rule_below_a_lower_tiers_threshold_is_refused(p, api):
    rule = TierRule.objects.get(tier="first")
    response = api(p.admin).patch(f"{API}/tier-rules/{rule.pk}/", {"min_capacity_kva": "100"}, format="json")
    assert_error_shape(response, "non_field_errors")
    rule.refresh_from_db()
    assert rule.min_capacity_kva != 100
