"""The create and edit forms: field-level messages for bad input, nothing written, never a 500;
and what a valid save does (services called, history kept, shown on the 360 page)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.html import escape

from gridkam.core.testing import make_credit_code, make_tariff
from gridkam.customers.models import Contact, Customer, ElectricityAccount, MeteringPoint

pytestmark = pytest.mark.django_db


def customer_data(**changes) -> dict:
    data = {
        "credit_code": make_credit_code(777001),
        "name": "惠州新材料有限公司",
        "industry": "C31",
        "org_unit": "",
        "parent": "",
        "address": "惠州市大亚湾石化大道1号",
        "credit_rating": "AA",
        "annual_energy_mwh": "12000",
        "importance_class": "none",
        "security_load_kw": "0",
        "emergency_power_kw": "0",
    }
    data.update(changes)
    return data


def form_of(response):
    assert response.status_code == 200, response.status_code
    return response.context["form"]


def assert_shown_on_field(response, field: str) -> None:
    """The field's message is rendered under it, and its input is marked invalid for Bootstrap."""
    content = response.content.decode()
    start = content.index(f'data-field="{field}"')
    end = content.find('data-field="', start + 1)
    block = content[start : end if end > 0 else None]
    assert "is-invalid" in block
    for error in response.context["form"].errors[field]:
        assert escape(error) in block


# Customer ---------------------------------------------------------------------------------------


def test_supervisor_creates_a_customer_in_his_unit(p, client_for):
    client = client_for(p.supervisor)
    response = client.post(reverse("customers:customer_create"), customer_data(org_unit=p.city_a.pk))
    customer = Customer.objects.get(credit_code=make_credit_code(777001))
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:customer_detail", args=[customer.pk])
    assert customer.org_unit == p.city_a
    assert customer.name_initials == "HZXCLYXGS"  # the service filled the search initials
    assert customer.history.count() == 1


def test_wrong_credit_code_checksum_is_shown_on_the_field(p, client_for):
    code = make_credit_code(777001)
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    response = client_for(p.supervisor).post(
        reverse("customers:customer_create"), customer_data(credit_code=wrong, org_unit=p.city_a.pk)
    )
    form = form_of(response)
    assert form.has_error("credit_code", code="credit_code_checksum")
    assert list(form.errors) == ["credit_code"]
    assert code[17] in form.errors["credit_code"][0]  # the message names the expected character
    assert_shown_on_field(response, "credit_code")
    assert not Customer.objects.filter(name="惠州新材料有限公司").exists()


def test_credit_code_is_accepted_in_lower_case_with_spaces(p, client_for):
    code = make_credit_code(777001)
    typed = f" {code[:9].lower()} {code[9:]} "
    client_for(p.supervisor).post(
        reverse("customers:customer_create"), customer_data(credit_code=typed, org_unit=p.city_a.pk)
    )
    assert Customer.objects.filter(credit_code=code).exists()


def test_duplicate_credit_code_is_a_field_error(p, client_for):
    response = client_for(p.supervisor).post(
        reverse("customers:customer_create"), customer_data(credit_code=p.a1.credit_code, org_unit=p.city_a.pk)
    )
    assert form_of(response).has_error("credit_code", code="unique")


def test_supervisor_cannot_place_a_customer_outside_his_unit(p, client_for):
    response = client_for(p.supervisor).post(reverse("customers:customer_create"), customer_data(org_unit=p.city_b.pk))
    assert form_of(response).has_error("org_unit", code="invalid_choice")
    assert not Customer.objects.filter(name="惠州新材料有限公司").exists()


def test_unknown_industry_and_negative_figures_are_field_errors(p, client_for):
    response = client_for(p.admin).post(
        reverse("customers:customer_create"),
        customer_data(org_unit=p.city_a.pk, industry="Z99", annual_energy_mwh="-5", security_load_kw="abc"),
    )
    form = form_of(response)
    assert set(form.errors) == {"industry", "annual_energy_mwh", "security_load_kw"}


def test_group_parent_is_picked_by_credit_code_among_visible_customers(p, client_for):
    client = client_for(p.supervisor)
    client.post(
        reverse("customers:customer_create"), customer_data(org_unit=p.city_a.pk, parent=p.a1.credit_code.lower())
    )
    assert Customer.objects.get(name="惠州新材料有限公司").parent == p.a1
    # B1 is in city B, out of the supervisor's sight: as if it did not exist.
    response = client.post(
        reverse("customers:customer_create"),
        customer_data(credit_code=make_credit_code(777002), org_unit=p.city_a.pk, parent=p.b1.credit_code),
    )
    assert form_of(response).has_error("parent", code="invalid_choice")


def test_a_customer_cannot_join_its_own_subsidiary(p, client_for):
    response = client_for(p.supervisor).post(
        reverse("customers:customer_edit", args=[p.a1.pk]),
        customer_data(name=p.a1.name, org_unit=p.city_a.pk, parent=p.a1_sub.credit_code),
    )
    assert form_of(response).has_error("parent")
    p.a1.refresh_from_db()
    assert p.a1.parent is None


def test_edit_keeps_the_credit_code_and_records_history_shown_on_the_360_page(p, client_for):
    client = client_for(p.manager)
    old_code = p.a1.credit_code
    response = client.post(
        reverse("customers:customer_edit", args=[p.a1.pk]),
        customer_data(
            credit_code=make_credit_code(999999), name=p.a1.name, org_unit=p.city_a.pk, address="惠州市仲恺高新区新地址"
        ),
    )
    assert response.status_code == 302
    p.a1.refresh_from_db()
    assert p.a1.credit_code == old_code  # not a field of the edit form: ignored
    assert p.a1.address == "惠州市仲恺高新区新地址"
    latest = p.a1.history.first()
    assert latest.history_type == "~"
    assert latest.history_user == p.manager
    page = client.get(reverse("customers:customer_detail", args=[p.a1.pk]))
    entries = [h for h in page.context["history"] if h["changes"]]
    assert any(c["new"] == "惠州市仲恺高新区新地址" for h in entries for c in h["changes"])
    assert "惠州市仲恺高新区新地址" in page.content.decode()


def test_edit_with_unchanged_unit_outside_scope_stays_valid(p, client_for):
    """A manager's customer may sit in a unit above his; saving it unchanged must not fail."""
    p.a1.org_unit = p.province
    p.a1.save()
    response = client_for(p.manager).post(
        reverse("customers:customer_edit", args=[p.a1.pk]),
        customer_data(name=p.a1.name, org_unit=p.province.pk),
    )
    assert response.status_code == 302


# Accounts ---------------------------------------------------------------------------------------


def account_data(**changes) -> dict:
    data = {
        "account_no": "0877000001",
        "name": "二号厂区用电",
        "voltage_kv": "10",
        "capacity_kva": "3150",
        "basic_charge_method": "capacity",
        "contract_demand_kw": "",
        "pf_standard": "0.90",
        "supply_mode": "dual",
        "tariff": "",
        "status": "active",
    }
    data.update(changes)
    return data


def test_an_account_takes_an_open_tariff_of_the_catalogue(p, client_for):
    make_tariff("GD-OPEN-2P")
    make_tariff("GD-CLOSED-2P", active=False)
    url = reverse("customers:account_create", args=[p.a1.pk])
    choices = [value for value, _label in client_for(p.manager).get(url).context["form"].fields["tariff"].choices]
    assert "GD-OPEN-2P" in [str(v) for v in choices] and "GD-CLOSED-2P" not in [str(v) for v in choices]
    response = client_for(p.manager).post(url, account_data(tariff="GD-CLOSED-2P"))
    assert response.status_code == 200 and response.context["form"].errors["tariff"]
    assert client_for(p.manager).post(url, account_data(tariff="GD-OPEN-2P")).status_code == 302
    assert ElectricityAccount.objects.get(account_no="0877000001").tariff_code == "GD-OPEN-2P"


def test_account_created_under_its_customer_updates_the_tier_capacity(p, client_for):
    response = client_for(p.manager).post(
        reverse("customers:account_create", args=[p.a1.pk]), account_data(capacity_kva="60000")
    )
    assert response.status_code == 302
    account = ElectricityAccount.objects.get(account_no="0877000001")
    assert account.customer == p.a1
    p.a1.refresh_from_db()
    assert p.a1.tier == "special"  # 62,000 kVA in all passes the special tier's capacity threshold


def test_contract_demand_above_capacity_is_a_field_error(p, client_for):
    response = client_for(p.manager).post(
        reverse("customers:account_create", args=[p.a1.pk]),
        account_data(basic_charge_method="contract_demand", contract_demand_kw="4000"),
    )
    assert list(form_of(response).errors) == ["contract_demand_kw"]
    assert_shown_on_field(response, "contract_demand_kw")
    assert not ElectricityAccount.objects.filter(account_no="0877000001").exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"capacity_kva": "0"}, "capacity_kva"),
        ({"capacity_kva": "-10"}, "capacity_kva"),
        ({"capacity_kva": "9000000"}, "capacity_kva"),
        ({"basic_charge_method": "contract_demand"}, "contract_demand_kw"),
        ({"voltage_kv": "11"}, "voltage_kv"),
    ],
)
def test_absurd_account_terms_are_field_errors(changes, field, p, client_for):
    response = client_for(p.manager).post(reverse("customers:account_create", args=[p.a1.pk]), account_data(**changes))
    assert field in form_of(response).errors


def test_duplicate_account_number_is_a_field_error(p, client_for):
    taken = p.a2.accounts.first().account_no
    response = client_for(p.manager).post(
        reverse("customers:account_create", args=[p.a1.pk]), account_data(account_no=taken)
    )
    assert form_of(response).has_error("account_no", code="unique")


def test_account_edit_keeps_the_account_number(p, client_for):
    account = p.a1.accounts.first()
    response = client_for(p.manager).post(
        reverse("customers:account_edit", args=[account.pk]), account_data(account_no="0899999999", status="suspended")
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.account_no != "0899999999", account.status) == (True, "suspended")


# Metering points --------------------------------------------------------------------------------


def point_data(**changes) -> dict:
    data = {
        "code": "MP-NEW-1",
        "meter_no": "M-NEW-1",
        "ct_ratio": "",
        "pt_ratio": "",
        "multiplier": "",
        "purpose": "billing",
    }
    data.update(changes)
    return data


def post_point(client, account, **changes):
    return client.post(reverse("customers:metering_point_create", args=[account.pk]), point_data(**changes))


def test_multiplier_is_computed_from_ct_and_pt(p, client_for):
    response = post_point(client_for(p.manager), p.a1.accounts.first(), ct_ratio="300", pt_ratio="100")
    assert response.status_code == 302
    assert MeteringPoint.objects.get(code="MP-NEW-1").multiplier == Decimal("30000")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"multiplier": "0"}, "min_value"),
        ({"multiplier": "-40"}, "min_value"),
        ({"ct_ratio": "300", "pt_ratio": "100", "multiplier": "3000"}, None),
        ({"ct_ratio": "300"}, None),
        ({}, None),
    ],
)
def test_bad_multiplier_is_a_field_error(changes, code, p, client_for):
    response = post_point(client_for(p.manager), p.a1.accounts.first(), **changes)
    form = form_of(response)
    assert list(form.errors) == ["multiplier"]
    if code:
        assert form.has_error("multiplier", code=code)
    assert_shown_on_field(response, "multiplier")
    assert not MeteringPoint.objects.filter(code="MP-NEW-1").exists()


def test_duplicate_meter_number_is_a_field_error(p, client_for):
    taken = MeteringPoint.objects.filter(account__customer=p.a2).first().meter_no
    response = post_point(client_for(p.manager), p.a1.accounts.first(), meter_no=taken, multiplier="80")
    form = form_of(response)
    assert form.has_error("meter_no", code="unique")
    assert_shown_on_field(response, "meter_no")


def test_meter_replacement_changes_the_meter_number_but_not_the_point_code(p, client_for):
    point = MeteringPoint.objects.filter(account__customer=p.a1).first()
    response = client_for(p.manager).post(
        reverse("customers:metering_point_edit", args=[point.pk]),
        point_data(code="OTHER", meter_no="M-REPLACED", ct_ratio="40", pt_ratio="100", multiplier="4000"),
    )
    assert response.status_code == 302
    point.refresh_from_db()
    assert (point.meter_no, point.code != "OTHER") == ("M-REPLACED", True)


# Contacts ---------------------------------------------------------------------------------------


def contact_data(**changes) -> dict:
    data = {"name": "陈工", "role": "electrical_lead", "phone": "13912345678", "email": "", "is_primary": ""}
    data.update(changes)
    return data


def test_contact_without_phone_or_email_is_refused(p, client_for):
    response = client_for(p.manager).post(
        reverse("customers:contact_create", args=[p.a1.pk]), contact_data(phone="", email="")
    )
    assert list(form_of(response).errors) == ["phone"]
    assert_shown_on_field(response, "phone")
    assert not Contact.objects.filter(name="陈工").exists()


def test_new_primary_contact_demotes_the_previous_one(p, client_for):
    client = client_for(p.manager)
    url = reverse("customers:contact_create", args=[p.a1.pk])
    client.post(url, contact_data(is_primary="on"))
    client.post(url, contact_data(name="刘工", is_primary="on"))
    primaries = Contact.objects.filter(customer=p.a1, role="electrical_lead", is_primary=True)
    assert [c.name for c in primaries] == ["刘工"]


def test_same_contact_twice_is_a_form_error_not_a_crash(p, client_for):
    client = client_for(p.manager)
    url = reverse("customers:contact_create", args=[p.a1.pk])
    client.post(url, contact_data())
    response = client.post(url, contact_data(phone="13800000000"))
    errors = form_of(response).non_field_errors()
    assert errors
    assert escape(errors[0]) in response.content.decode()
    assert Contact.objects.filter(customer=p.a1, name="陈工").count() == 1


def test_contact_edit_changes_the_phone_shown_on_the_360_page(p, client_for):
    client = client_for(p.manager)
    contact = p.a1.contacts.first()
    response = client.post(
        reverse("customers:contact_edit", args=[contact.pk]),
        contact_data(name=contact.name, role=contact.role, phone="0752-2288888"),
    )
    assert response["Location"] == reverse("customers:customer_detail", args=[p.a1.pk])
    page = client.get(response["Location"])
    assert "0752-2288888" in page.content.decode()


def test_contact_delete_asks_then_deletes(p, client_for):
    client = client_for(p.supervisor)
    contact = p.a1.contacts.first()
    url = reverse("customers:contact_delete", args=[contact.pk])
    assert contact.name in client.get(url).content.decode()
    assert Contact.objects.filter(pk=contact.pk).exists()
    response = client.post(url)
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert Contact.history.filter(id=contact.pk, history_type="-").exists()
