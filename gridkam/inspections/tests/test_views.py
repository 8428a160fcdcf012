"""Inspection pages for every persona. Staff pages: anonymous → login, portal users → 403, an object of a customer
the user does not see → 404; writes need a recorder (clerks 403). Portal pages: staff → 403, another customer's
danger → 404. Lists keep their query count from 2 rows to 20."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from gridkam.core.testing import persona
from gridkam.inspections.choices import ChecklistItem, DangerStatus
from gridkam.inspections.models import HiddenDanger, Inspection, InspectionInterval

from .support import danger, inspect, other_customer_user, png

LISTS = ["/inspections/", "/inspections/records/", "/inspections/dangers/", "/inspections/emergency-power/"]
STAFF_PAGES = [*LISTS, "/inspections/rules/", "/inspections/records/new/"]


@pytest.fixture
def world(p):
    """A danger of A1 (the manager's, found with a photo) and one of B1 (the outsider's)."""
    mine = inspect(p.a1, p.engineer, photos=[png()])
    return {
        "inspection": mine,
        "photo": mine.photos.get(),
        "danger": danger(p.a1, p.engineer, notified=True),
        "theirs": danger(p.b1, p.outsider),
    }


@pytest.mark.parametrize("url", STAFF_PAGES)
@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 302), ("customer_user", 403), ("manager", 200), ("outsider", 200), ("clerk", 200), ("admin", 200)],
)
def test_staff_pages_access(p, world, client, client_for, url, who, status):
    if url.endswith("/new/") and who == "clerk":
        status = 403
    user = persona(p, who)
    response = (client_for(user) if user else client).get(url)
    assert response.status_code == status


@pytest.mark.parametrize(
    ("name", "who", "status"),
    [
        ("inspection", "manager", 200),
        ("inspection", "outsider", 404),
        ("inspection", "customer_user", 403),
        ("photo", "manager", 200),
        ("photo", "outsider", 404),
        ("photo", "customer_user", 403),
        ("danger", "manager", 200),
        ("danger", "outsider", 404),
        ("danger", "customer_user", 403),
        ("notice", "manager", 200),
        ("notice", "outsider", 404),
        ("notice", "customer_user", 403),
        ("reinspect", "engineer", 200),
        ("reinspect", "clerk", 403),
        ("reinspect", "outsider", 404),
        ("reinspect", "customer_user", 403),
        ("portal_notice", "customer_user", 200),
        ("portal_notice", "other_customer", 404),
        ("portal_notice", "manager", 403),
    ],
)
def test_object_pages_access(p, world, client_for, name, who, status):
    urls = {
        "inspection": f"/inspections/records/{world['inspection'].pk}/",
        "photo": f"/inspections/photos/{world['photo'].pk}/",
        "danger": f"/inspections/dangers/{world['danger'].pk}/",
        "notice": f"/inspections/dangers/{world['danger'].pk}/notice/",
        "reinspect": f"/inspections/dangers/{world['danger'].pk}/reinspect/",
        "portal_notice": f"/inspections/portal/{world['danger'].pk}/notice/",
    }
    user = other_customer_user(p) if who == "other_customer" else persona(p, who)
    assert client_for(user).get(urls[name]).status_code == status


@pytest.mark.parametrize(
    ("who", "status"), [("outsider", 404), ("clerk", 403), ("customer_user", 403), ("engineer", 302)]
)
def test_danger_writes_access(p, world, client_for, who, status):
    pk = world["danger"].pk
    client = client_for(persona(p, who))
    response = client.post(f"/inspections/dangers/{pk}/status/", {"status": "rectifying"})
    assert response.status_code == status
    expected = DangerStatus.RECTIFYING if status == 302 else DangerStatus.NOTIFIED
    assert HiddenDanger.objects.get(pk=pk).status == expected
    response = client.post(f"/inspections/dangers/{pk}/deliver/", {"delivered_on": "2026-06-16", "signed_by": "李四"})
    assert response.status_code == status
    signed = HiddenDanger.objects.get(pk=pk).notice_signed_by
    assert signed == ("李四" if status == 302 else "张工")
    assert client.get(f"/inspections/dangers/{pk}/deliver/").status_code in {status, 405}


def test_portal_list_shows_only_my_customers_dangers(p, world, client_for):
    response = client_for(p.customer_user).get("/inspections/portal/")
    assert [d.pk for d in response.context["open"]] == [world["danger"].pk]
    assert world["theirs"].number not in response.content.decode()
    assert client_for(p.manager).get("/inspections/portal/").status_code == 403
    response = client_for(p.customer_user).get(f"/inspections/portal/{world['danger'].pk}/notice/")
    assert world["danger"].number in response.content.decode() and "张工" in response.content.decode()


def test_record_an_inspection_with_a_failed_item_raising_a_danger(p, client_for):
    data = {
        "customer": p.a1.pk,
        "date": timezone.localdate().isoformat(),
        "kind": "periodic",
        "inspector": p.engineer.pk,
        "conclusion": "总体良好",
        "photos": [png()],
    }
    for code in ChecklistItem.values:
        data[f"result_{code}"] = "pass"
    data.update(
        result_earthing="fail",
        remark_earthing="接地电阻 12Ω",
        danger_earthing="on",
        severity_earthing="serious",
        description_earthing="主变接地电阻超标",
    )
    response = client_for(p.engineer).post("/inspections/records/new/", data)
    inspection = Inspection.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/inspections/records/{inspection.pk}/"
    found = inspection.dangers.get()
    assert (found.severity, found.item, found.description) == ("serious", "earthing", "主变接地电阻超标")
    assert inspection.photos.count() == 1 and inspection.items.count() == len(ChecklistItem.values)


def test_record_form_errors_are_field_errors(p, client_for):
    data = {
        "customer": p.b1.pk,
        "date": "x",
        "kind": "reinspection",
        "danger_earthing": "on",
        "result_earthing": "pass",
    }
    response = client_for(p.engineer).post("/inspections/records/new/", data)
    errors = response.context["form"].errors
    assert response.status_code == 200
    assert {"customer", "date", "kind", "danger_earthing", "severity_earthing", "result_protection"} <= set(errors)
    assert not Inspection.objects.exists()


def test_notice_delivery_and_reinspection_pages(p, client_for):
    found = danger(p.a1, p.engineer)
    client = client_for(p.engineer)
    today = timezone.localdate().isoformat()
    response = client.post(f"/inspections/dangers/{found.pk}/deliver/", {"delivered_on": "", "signed_by": ""})
    assert response.status_code == 200 and response.context["notice_form"].errors
    client.post(f"/inspections/dangers/{found.pk}/deliver/", {"delivered_on": today, "signed_by": "张工"})
    response = client.post(
        f"/inspections/dangers/{found.pk}/reinspect/", {"date": today, "inspector": p.engineer.pk, "passed": "0"}
    )
    assert "new_deadline" in response.context["form"].errors
    response = client.post(
        f"/inspections/dangers/{found.pk}/reinspect/",
        {"date": today, "inspector": p.engineer.pk, "passed": "1", "remark": "已整改"},
    )
    assert response.status_code == 302
    found.refresh_from_db()
    assert found.status == DangerStatus.CLOSED
    page = client.get(f"/inspections/dangers/{found.pk}/").content.decode()
    assert "已整改" in page


def test_danger_list_filters_chart_and_export(p, world, client_for):
    client = client_for(p.manager)
    response = client.get("/inspections/dangers/")
    assert [d.pk for d in response.context["object_list"]] == [world["danger"].pk]
    assert response.context["chart"]["total"] == 1
    assert client.get("/inspections/dangers/?severity=major").context["object_list"].__len__() == 0
    assert client.get("/inspections/dangers/?overdue=true&status=bogus&manager=x").status_code == 200
    response = client.get(f"/inspections/dangers/?manager={p.manager.pk}&open=true")
    assert [d.pk for d in response.context["object_list"]] == [world["danger"].pk]
    response = client.get("/inspections/dangers/?export=xlsx")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) == 2 and world["danger"].number in rows[1]
    assert b"<html" not in client.get("/inspections/dangers/", HTTP_HX_REQUEST="true").content


def test_due_list_overdue_filter_and_export(p, client_for):
    inspect(p.a2, p.engineer)
    client = client_for(p.manager)
    overdue = {c.pk for c in client.get("/inspections/?overdue=true").context["object_list"]}
    assert p.a2.pk not in overdue and p.a1.pk in overdue
    response = client.get("/inspections/?export=xlsx")
    assert len(list(load_workbook(io.BytesIO(response.content)).active.iter_rows())) == 1 + 4


def test_rules_page_only_supervisors_save(p, client_for):
    data = {f"m_{r.importance_class}_{r.tier}": r.interval_months for r in InspectionInterval.objects.all()}
    data["m_none_third"] = 24
    assert client_for(p.manager).post("/inspections/rules/", data).status_code == 403
    assert client_for(p.supervisor).post("/inspections/rules/", data).status_code == 302
    assert InspectionInterval.objects.get(tier="third", importance_class="none").interval_months == 24
    data["m_none_third"] = 0
    response = client_for(p.supervisor).post("/inspections/rules/", data)
    assert response.status_code == 200 and "m_none_third" in response.context["form"].errors


@pytest.mark.parametrize("url", LISTS)
def test_list_queries_do_not_grow_with_rows(p, client_for, django_assert_max_num_queries, url):
    from gridkam.customers.models import Customer

    client = client_for(p.supervisor)
    Customer.objects.update(importance_class="first")
    for customer in (p.a1, p.a2):
        danger(customer, p.engineer)
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    for customer in (p.a1, p.a1_sub, p.a2, p.a3) * 5:
        danger(customer, p.engineer)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("raw", ["²", "٣", "99999999999999999999"])
def test_the_record_form_ignores_a_customer_that_is_not_an_id(p, client_for, raw):
    response = client_for(p.manager).get("/inspections/records/new/", {"customer": raw})
    assert response.status_code == 200 and response.context["form"].fields["customer"].initial is None


def test_the_record_form_starts_with_the_customer_given(p, client_for):
    response = client_for(p.manager).get("/inspections/records/new/", {"customer": str(p.a1.pk)})
    assert response.status_code == 200 and response.context["form"].fields["customer"].initial == p.a1.pk
