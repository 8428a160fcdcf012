"""Importing org units (a tree, parents possibly later in the file) and contacts."""

import pytest
from django.utils import translation

from gridkam.core.choices import OrgUnitKind
from gridkam.core.models import OrgUnit
from gridkam.core.services import org_unit_create
from gridkam.core.testing import make_contact, make_credit_code
from gridkam.customers.importing import import_scope_path
from gridkam.customers.models import Contact

from .import_helpers import contact_row, errors_at, rejected_lines, run_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def english():
    with translation.override("en"):
        yield


def unit(code: str, name: str, parent_code: str = "") -> dict[str, str]:
    return {"code": code, "name": name, "parent_code": parent_code}


# --- org units ----------------------------------------------------------------------------------


def test_parents_may_come_later_in_the_file_and_the_kind_follows_the_depth(db):
    rows = [unit("HZ-HY", "惠阳供电局", "HZ"), unit("HZ", "惠州供电局", "GD"), unit("GD", "广东电网")]
    result = run_import("org_units", rows)
    assert (result.rejected, result.created) == ([], 3)
    assert {u.code: (u.path, u.kind, u.parent.code if u.parent else None) for u in OrgUnit.objects.all()} == {
        "GD": ("/GD/", OrgUnitKind.PROVINCE, None),
        "HZ": ("/GD/HZ/", OrgUnitKind.CITY, "GD"),
        "HZ-HY": ("/GD/HZ/HZ-HY/", OrgUnitKind.COUNTY, "HZ"),
    }
    assert OrgUnit.history.filter(history_type="+").count() == 3


def test_a_cycle_is_rejected_on_every_line_in_it(db, english):
    rows = [unit("GD", "广东电网"), unit("A", "甲", "B"), unit("B", "乙", "A"), unit("C", "丙", "GD")]
    result = run_import("org_units", rows)
    assert rejected_lines(result) == [3, 4]
    assert errors_at(result, 3)["parent_code"] == ["The parent chain loops: A → B → A."]
    assert OrgUnit.objects.count() == 0


def test_placing_a_unit_under_its_own_sub_unit_is_a_cycle(p, english):
    result = run_import("org_units", [unit("HZ", "惠州供电局", "HZ-HY"), unit("HZ-HY", "惠阳供电局", "HZ")])
    assert rejected_lines(result) == [2, 3]
    result = run_import("org_units", [unit("GD", "广东电网", "HZ")])
    assert errors_at(result, 2)["parent_code"] == ["The parent chain loops: GD → HZ → GD."]


def test_an_unknown_parent_or_a_repeated_code_is_rejected(db, english):
    result = run_import("org_units", [unit("GD", "广东电网"), unit("HZ", "惠州供电局", "XX"), unit("GD", "广东")])
    assert errors_at(result, 3) == {"parent_code": ["Unknown parent unit code XX."]}
    assert errors_at(result, 4) == {"code": ["Unit GD is already on line 2."]}


def test_unit_fields_are_validated_by_the_model(db, english):
    result = run_import("org_units", [unit("GD", ""), unit("A/B", "斜杠", "GD")])
    assert list(errors_at(result, 2)) == ["name"]
    assert errors_at(result, 3)["code"] == ["A unit code cannot contain '/'."]


def test_moving_a_unit_moves_its_sub_units_and_keeps_its_kind(p):
    county = org_unit_create(code="HZ-HY", name="惠阳供电局", kind=OrgUnitKind.COUNTY, parent=p.city_a)
    centre = org_unit_create(code="HZ-KA", name="大客户中心", kind=OrgUnitKind.SERVICE_CENTRE, parent=p.city_a)
    rows = [unit("GX", "广西电网"), unit("HZ", "惠州供电局", "GX"), unit("HZ-KA", "惠州大客户服务中心", "HZ")]
    result = run_import("org_units", rows)
    assert (result.created, result.updated, result.unchanged) == (1, 2, 0)
    changes = {c.field: (c.old, c.new) for c in result.preview[1].changes}
    assert changes == {"parent_code": ("GD", "GX"), "path": ("/GD/HZ/", "/GX/HZ/")}
    county.refresh_from_db()
    centre.refresh_from_db()
    assert county.path == "/GX/HZ/HZ-HY/"
    assert (centre.path, centre.kind, centre.name) == (
        "/GX/HZ/HZ-KA/",
        OrgUnitKind.SERVICE_CENTRE,
        "惠州大客户服务中心",
    )
    assert p.a1.org_unit.path == "/GD/HZ/"  # the cached instance; the database moved:
    assert OrgUnit.objects.get(code="HZ").path == "/GX/HZ/"
    assert county.history.first().history_type == "~"


def test_reimporting_units_is_idempotent(p):
    rows = [unit("GD", "广东电网"), unit("HZ", "惠州供电局", "GD"), unit("ST", "汕头供电局", "GD")]
    result = run_import("org_units", rows)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)


def test_a_supervisor_imports_units_only_below_their_own(p, english):
    scope = import_scope_path(p.supervisor)
    result = run_import(
        "org_units",
        [unit("HZ-HY", "惠阳供电局", "HZ"), unit("HZ", "惠州局", "GD"), unit("ST-CY", "潮阳供电局", "ST")],
        scope_path=scope,
    )
    assert rejected_lines(result) == [3, 4]
    assert errors_at(result, 3)["code"] == ["You may only import units below your own unit."]
    assert run_import("org_units", [unit("HZ-HY", "惠阳供电局", "HZ")], scope_path=scope).created == 1


# --- contacts -----------------------------------------------------------------------------------


def test_contacts_accept_the_chinese_role_names(p):
    code = p.a2.credit_code
    rows = [
        contact_row(code, "陈建国", role="法人"),
        contact_row(code, "刘志强", role="电气负责人", is_primary="是"),
        contact_row(code, "何伟", role="值班电工", is_primary="否"),
        contact_row(code, "黄丽", role="财务", phone="", email="huangli@example.com"),
        contact_row(code, "张国华", role="能源经理"),
        contact_row(code, "周敏", role="Finance"),
    ]
    result = run_import("contacts", rows, user=p.supervisor)
    assert (result.rejected, result.created) == ([], 6)
    roles = dict(p.a2.contacts.filter(name__in=[r["name"] for r in rows]).values_list("name", "role"))
    assert roles == {
        "陈建国": "legal_representative",
        "刘志强": "electrical_lead",
        "何伟": "duty_electrician",
        "黄丽": "finance",
        "张国华": "energy_manager",
        "周敏": "finance",
    }
    assert p.a2.contacts.get(name="刘志强").is_primary
    assert Contact.history.filter(customer_id=p.a2.pk, history_user=p.supervisor).count() == 6


@pytest.mark.parametrize(
    "raw, expected",
    [("1", True), ("0", False), ("true", True), ("FALSE", False), ("是", True), ("否", False), ("yes", True)]
    + [("no", False), ("", False)],
)
def test_is_primary_spellings(p, raw, expected):
    result = run_import("contacts", [contact_row(p.a2.credit_code, "陈建国", is_primary=raw)])
    assert result.rejected == []
    assert p.a2.contacts.get(name="陈建国").is_primary is expected


def test_contact_rows_are_validated(p, english):
    unknown = make_credit_code(999999)
    code = p.a2.credit_code
    rows = [
        contact_row(unknown, "甲"),
        contact_row(code, "乙", email="not-an-email"),
        contact_row(code, "丙", is_primary="maybe"),
        contact_row(code, "丁", role="老板"),
        contact_row(code, "戊", phone="", email=""),
        contact_row(code, "", phone="123"),
    ]
    result = run_import("contacts", rows)
    assert rejected_lines(result) == [2, 3, 4, 5, 6, 7]
    assert errors_at(result, 2) == {"credit_code": [f"No customer with credit code {unknown}."]}
    assert list(errors_at(result, 3)) == ["email"]
    assert list(errors_at(result, 4)) == ["is_primary"]
    assert errors_at(result, 5)["role"][0].startswith("Unknown role “老板”")
    assert errors_at(result, 6) == {"phone": ["Give a phone number or an e-mail address."]}
    assert list(errors_at(result, 7)) == ["name"]
    assert not Contact.objects.filter(customer=p.a2, name__in="乙丙丁戊").exists()


def test_one_primary_per_role_and_one_row_per_contact_in_the_file(p, english):
    code = p.a2.credit_code
    rows = [
        contact_row(code, "甲", is_primary="1"),
        contact_row(code, "乙", is_primary="1"),
        contact_row(code, "甲", phone="13000000000"),
    ]
    result = run_import("contacts", rows)
    assert errors_at(result, 3) == {"is_primary": ["Another primary contact for this role is on line 2."]}
    assert errors_at(result, 4) == {"name": ["This contact is already on line 2."]}


def test_a_new_primary_contact_demotes_the_previous_one(p):
    old = make_contact(customer=p.a2, name="旧财务", role="finance", is_primary=True)
    result = run_import("contacts", [contact_row(p.a2.credit_code, "新财务", role="finance", is_primary="1")])
    assert (result.rejected, result.created) == ([], 1)
    assert [c.field for c in result.preview[0].changes] == ["is_primary (旧财务)"]
    old.refresh_from_db()
    assert not old.is_primary
    assert p.a2.contacts.get(name="新财务").is_primary
    assert old.history.filter(history_type="~").count() == 1


def test_contacts_are_updated_by_customer_name_and_role(p):
    existing = p.a1.contacts.get()
    row = contact_row(
        p.a1.credit_code, existing.name, role=existing.role, phone=existing.phone, email="new@example.com"
    )
    result = run_import("contacts", [row])
    assert (result.created, result.updated) == (0, 1)
    assert [(c.field, c.old, c.new) for c in result.preview[0].changes] == [("email", "", "new@example.com")]
    existing.refresh_from_db()
    assert existing.email == "new@example.com"
    assert run_import("contacts", [row]).unchanged == 1


def test_a_supervisor_cannot_import_contacts_of_another_unit(p, english):
    result = run_import("contacts", [contact_row(p.b1.credit_code)], scope_path=import_scope_path(p.supervisor))
    message = f"No customer with credit code {p.b1.credit_code} in your org unit and below."
    assert errors_at(result, 2) == {"credit_code": [message]}
