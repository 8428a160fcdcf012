"""The inspections API: the same rules as the pages (403 to portal users on staff endpoints, 404 for objects the
user does not see, field errors as 400), the portal's read-only dangers, and query counts that do not grow."""

from __future__ import annotations

import pytest
from django.utils import timezone

from gridkam.core.testing import persona
from gridkam.inspections.choices import ChecklistItem, DangerStatus
from gridkam.inspections.models import HiddenDanger, Inspection, InspectionInterval

from .support import danger, inspect, other_customer_user

LISTS = [
    "/api/v1/inspection-intervals/",
    "/api/v1/inspection-due/",
    "/api/v1/inspections/",
    "/api/v1/hidden-dangers/",
    "/api/v1/hidden-dangers/chart/",
    "/api/v1/emergency-power-gaps/",
]


@pytest.fixture
def world(p):
    return {"danger": danger(p.a1, p.engineer, notified=True), "theirs": danger(p.b1, p.outsider)}


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(("who", "status"), [("anonymous", 403), ("manager", 200), ("outsider", 200)])
def test_lists_access(p, world, api, url, who, status):
    assert api(persona(p, who)).get(url).status_code in ({401, 403} if status == 403 else {status})


@pytest.mark.parametrize("url", [u for u in LISTS if u[8:] != "hidden-dangers/"])
def test_staff_lists_are_closed_to_portal_users(p, world, api, url):
    expected = 200 if url == "/api/v1/hidden-dangers/" else 403
    assert api(p.customer_user).get(url).status_code == expected


def test_portal_users_read_their_customers_dangers_only(p, world, api):
    client = api(p.customer_user)
    assert [d["id"] for d in client.get("/api/v1/hidden-dangers/").json()["results"]] == [world["danger"].pk]
    assert client.get(f"/api/v1/hidden-dangers/{world['theirs'].pk}/").status_code == 404
    assert client.get(f"/api/v1/hidden-dangers/{world['danger'].pk}/").json()["number"] == world["danger"].number
    response = client.post(f"/api/v1/hidden-dangers/{world['danger'].pk}/advance/", {"status": "rectifying"})
    assert response.status_code == 403
    other = api(other_customer_user(p))
    assert other.get(f"/api/v1/hidden-dangers/{world['danger'].pk}/").status_code == 404


def test_portal_users_do_not_see_the_internal_escalation(p, world, api):
    internal = {"escalation_level", "escalated_on", "manager_name"}
    mine = api(p.customer_user).get(f"/api/v1/hidden-dangers/{world['danger'].pk}/").json()
    assert mine["number"] == world["danger"].number and not internal & mine.keys()
    assert not internal & api(p.customer_user).get("/api/v1/hidden-dangers/").json()["results"][0].keys()
    assert internal <= api(p.manager).get(f"/api/v1/hidden-dangers/{world['danger'].pk}/").json().keys()


def test_staff_see_only_visible_dangers_and_filters(p, world, api):
    client = api(p.manager)
    assert [d["id"] for d in client.get("/api/v1/hidden-dangers/").json()["results"]] == [world["danger"].pk]
    assert client.get(f"/api/v1/hidden-dangers/{world['theirs'].pk}/").status_code == 404
    assert client.get("/api/v1/hidden-dangers/?severity=major").json()["count"] == 0
    assert client.get("/api/v1/hidden-dangers/?overdue=true&open=true").json()["count"] == 1
    chart = client.get("/api/v1/hidden-dangers/chart/").json()
    assert chart["total"] == 1 and len(chart["bands"]) == 4


def test_lifecycle_through_the_api(p, world, api):
    pk = world["danger"].pk
    client = api(p.engineer)
    assert api(p.clerk).post(f"/api/v1/hidden-dangers/{pk}/advance/", {"status": "rectifying"}).status_code == 403
    assert api(p.outsider).post(f"/api/v1/hidden-dangers/{pk}/advance/", {"status": "rectifying"}).status_code == 404
    response = client.post(f"/api/v1/hidden-dangers/{pk}/advance/", {"status": "rectifying"}, format="json")
    assert response.json()["status"] == DangerStatus.RECTIFYING
    today = timezone.localdate().isoformat()
    response = client.post(f"/api/v1/hidden-dangers/{pk}/reinspect/", {"date": today, "passed": False}, format="json")
    assert response.status_code == 400 and {"new_deadline", "remark"} <= set(response.json()["errors"])
    response = client.post(f"/api/v1/hidden-dangers/{pk}/reinspect/", {"date": today, "passed": True}, format="json")
    assert response.json()["status"] == DangerStatus.CLOSED
    response = client.post(
        f"/api/v1/hidden-dangers/{pk}/deliver-notice/", {"delivered_on": today, "signed_by": "x"}, format="json"
    )
    assert response.status_code == 400


def test_record_an_inspection_through_the_api(p, api):
    items = [{"item": code, "result": "pass"} for code in ChecklistItem.values]
    items[0] = {"item": items[0]["item"], "result": "fail", "remark": "定值未核对"}
    body = {
        "customer": p.a1.pk,
        "date": timezone.localdate().isoformat(),
        "kind": "special",
        "items": items,
        "dangers": [{"item": items[0]["item"], "severity": "major", "description": "保护定值与整定单不符"}],
    }
    response = api(p.engineer).post("/api/v1/inspections/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert len(data["items"]) == 8 and data["dangers"][0]["severity"] == "major"
    assert api(p.engineer).post("/api/v1/inspections/", {**body, "customer": p.b1.pk}, format="json").status_code == 400
    assert api(p.clerk).post("/api/v1/inspections/", body, format="json").status_code == 403
    response = api(p.engineer).post("/api/v1/inspections/", {**body, "items": items[:3]}, format="json")
    assert response.status_code == 400 and "items" in response.json()["errors"]
    assert Inspection.objects.count() == 1 and HiddenDanger.objects.count() == 1
    pk = Inspection.objects.get().pk
    assert api(p.outsider).get(f"/api/v1/inspections/{pk}/").status_code == 404
    assert api(p.customer_user).get(f"/api/v1/inspections/{pk}/").status_code == 403


def test_only_supervisors_change_the_plan(p, api):
    row = InspectionInterval.objects.get(tier="third", importance_class="none")
    url = f"/api/v1/inspection-intervals/{row.pk}/"
    assert api(p.manager).patch(url, {"interval_months": 9}, format="json").status_code == 403
    assert api(p.supervisor).patch(url, {"interval_months": 0}, format="json").status_code == 400
    assert api(p.supervisor).patch(url, {"interval_months": 9}, format="json").json()["interval_months"] == 9


def test_due_and_emergency_endpoints(p, api):
    inspect(p.a2, p.engineer)
    rows = {r["id"]: r for r in api(p.manager).get("/api/v1/inspection-due/?overdue=true").json()["results"]}
    assert p.a2.pk not in rows and rows[p.a1.pk]["next_due"] is None
    type(p.a2).objects.filter(pk=p.a2.pk).update(security_load_kw=100, emergency_power_kw=50)
    rows = api(p.manager).get("/api/v1/emergency-power-gaps/").json()["results"]
    assert [(r["id"], r["shortfall_kw"]) for r in rows] == [(p.a2.pk, "70.000")]


def test_the_emergency_shortfall_is_null_when_the_security_load_is_unknown(p, api):
    type(p.a2).objects.filter(pk=p.a2.pk).update(security_load_kw=0, emergency_power_kw=500)
    rows = {r["id"]: r for r in api(p.manager).get("/api/v1/emergency-power-gaps/").json()["results"]}
    assert rows[p.a2.pk]["shortfall_kw"] is None


@pytest.mark.parametrize("url", ["/api/v1/inspections/", "/api/v1/hidden-dangers/", "/api/v1/inspection-due/"])
def test_list_queries_do_not_grow(p, api, django_assert_max_num_queries, url):
    client = api(p.supervisor)
    danger(p.a1, p.engineer)
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    for customer in (p.a1, p.a2, p.a3) * 6:
        danger(customer, p.engineer)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200
