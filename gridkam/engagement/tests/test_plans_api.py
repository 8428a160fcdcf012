"""The plans API: templates, plans with tailoring actions and generation, occurrences, visits and plan against
actual, for every persona (outsider and portal user included); error shape; query counts of the lists."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gridkam.core.testing import make_account, make_customer
from gridkam.customers.choices import AssignmentRole
from gridkam.customers.services import assignment_set
from gridkam.engagement.choices import Activity, Frequency, OccurrenceStatus
from gridkam.engagement.models import PlanItem, PlanOccurrence, PlanTemplateItem, ServicePlan, Task, Visit
from gridkam.engagement.plans import plans_generate
from gridkam.engagement.visits import visit_record

from . import test_plans_support as support
from .test_plans_support import set_tier

pytestmark = pytest.mark.django_db
live_plan = support.live_plan  # a fixture
templates = support.templates  # a fixture
API = "/api/v1/"
STAFF = ["manager", "colleague", "engineer", "clerk", "supervisor", "admin"]


def today():
    return timezone.localdate()


def test_portal_users_and_anonymous_are_refused(p, api, live_plan):
    for user, code in ((p.customer_user, 403), (None, 403)):
        client = api(user)
        for path in (
            "plan-templates/",
            "service-plans/",
            f"service-plans/{live_plan.pk}/",
            "plan-occurrences/",
            "visits/",
            "plan-progress/",
        ):
            assert client.get(API + path).status_code in (code, 401), path
        assert client.post(API + "visits/", {}, format="json").status_code in (code, 401)


@pytest.mark.parametrize("name", STAFF)
def test_staff_who_see_a1_read_its_plan(p, api, live_plan, name):
    client = api(getattr(p, name))
    rows = client.get(API + "service-plans/").json()["results"]
    assert [r["id"] for r in rows] == [live_plan.pk]
    detail = client.get(API + f"service-plans/{live_plan.pk}/").json()
    assert len(detail["items"]) == 6 and detail["changes"][0]["kind"] == "generated"
    assert sum(len(i["occurrences"]) for i in detail["items"]) == detail["due"]
    assert client.get(API + "plan-occurrences/", {"customer": p.a1.pk}).json()["count"] == detail["due"]
    assert len(client.get(API + "plan-templates/").json()) == 4


def test_outsider_sees_nothing_of_others(p, api, live_plan):
    visit = visit_record(customer=p.a1, visited_on=dt.date(live_plan.year, 1, 10), user=p.manager)
    client = api(p.outsider)
    assert client.get(API + "service-plans/").json()["count"] == 0
    assert client.get(API + f"service-plans/{live_plan.pk}/").status_code == 404
    assert (
        client.post(API + f"service-plans/{live_plan.pk}/remove-item/", {"item": 1, "reason": "x"}).status_code == 404
    )
    assert client.get(API + "plan-occurrences/").json()["count"] == 0
    assert client.get(API + "visits/").json()["count"] == 0
    assert client.get(API + f"visits/{visit.pk}/").status_code == 404
    assert client.get(API + "plan-progress/").json()["rows"] == []
    response = client.post(API + "visits/", {"customer": p.a1.pk, "visited_on": today().isoformat()}, format="json")
    assert response.status_code == 400 and "customer" in response.json()["errors"]
    response = client.post(API + "service-plans/generate/", {"year": today().year, "customer": p.a1.pk}, format="json")
    assert response.status_code == 400 and "customer" in response.json()["errors"]


def test_tailoring_actions(p, api, live_plan):
    client = api(p.manager)
    visit_item = live_plan.items.get(activity=Activity.VISIT)
    base = API + f"service-plans/{live_plan.pk}/"
    response = client.post(
        base + "add-item/",
        {"activity": "other", "frequency": "annual", "reason": "配合检修", "owner": p.colleague.pk},
        format="json",
    )
    assert response.status_code == 200
    assert any(i["activity"] == "other" and i["owner"] == p.colleague.pk for i in response.json()["items"])
    response = client.post(
        base + "change-frequency/",
        {"item": visit_item.pk, "frequency": "quarterly", "reason": "客户要求"},
        format="json",
    )
    assert response.status_code == 200
    visit_item.refresh_from_db()
    assert visit_item.frequency == Frequency.QUARTERLY
    response = client.post(
        base + "change-owner/", {"item": visit_item.pk, "owner": p.colleague.pk, "reason": "调岗"}, format="json"
    )
    assert response.status_code == 200
    response = client.post(base + "remove-item/", {"item": visit_item.pk, "reason": "不需要"}, format="json")
    assert response.status_code == 200
    assert {c["kind"] for c in response.json()["changes"]} == {"generated", "added", "frequency", "owner", "removed"}


def test_tailoring_errors_have_the_error_shape(p, api, live_plan):
    client = api(p.manager)
    base = API + f"service-plans/{live_plan.pk}/"
    item = live_plan.items.get(activity=Activity.VISIT)
    response = client.post(base + "change-frequency/", {"item": item.pk, "frequency": "weekly"}, format="json")
    body = response.json()
    assert response.status_code == 400 and {"frequency", "reason"} <= set(body["errors"]) and body["detail"]
    response = client.post(
        base + "change-frequency/", {"item": item.pk, "frequency": "monthly", "reason": "x"}, format="json"
    )
    assert response.status_code == 400 and "frequency" in response.json()["errors"]
    other_item = PlanItem.objects.create(
        plan=ServicePlan.objects.create(customer=p.a2, year=2026, tier="third"), activity="visit", frequency="annual"
    )
    response = client.post(base + "remove-item/", {"item": other_item.pk, "reason": "x"}, format="json")
    assert response.status_code == 400 and "item" in response.json()["errors"]
    response = client.post(
        base + "change-owner/", {"item": item.pk, "owner": p.outsider.pk, "reason": "x"}, format="json"
    )
    assert response.status_code == 400 and "owner" in response.json()["errors"]


@pytest.mark.parametrize("name", ["colleague", "clerk"])
def test_readers_may_not_tailor(p, api, live_plan, name):
    item = live_plan.items.get(activity=Activity.VISIT)
    response = api(getattr(p, name)).post(
        API + f"service-plans/{live_plan.pk}/remove-item/", {"item": item.pk, "reason": "x"}, format="json"
    )
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.active


def test_generate(p, api, templates):
    year = today().year
    assert api(p.manager).post(API + "service-plans/generate/", {"year": year}, format="json").status_code == 403
    response = api(p.manager).post(API + "service-plans/generate/", {"year": year, "customer": p.a2.pk}, format="json")
    assert response.status_code == 200 and response.json()["plan"] == ServicePlan.objects.get(customer=p.a2).pk
    response = api(p.supervisor).post(API + "service-plans/generate/", {"year": year}, format="json")
    assert response.json()["created"] == 3 and response.json()["skipped"] == 1
    response = api(p.supervisor).post(API + "service-plans/generate/", {"year": year + 4}, format="json")
    assert response.status_code == 400 and "year" in response.json()["errors"]


def test_template_items_patch_for_the_province_only(p, api, templates):
    """The templates serve every city: a city's supervisor may not change them, an administrator may."""
    item = PlanTemplateItem.objects.get(template__tier="third", activity=Activity.VISIT)
    url = API + f"plan-template-items/{item.pk}/"
    assert api(p.manager).patch(url, {"frequency": "quarterly"}, format="json").status_code == 403
    assert api(p.supervisor).patch(url, {"frequency": "quarterly"}, format="json").status_code == 403
    response = api(p.admin).patch(url, {"frequency": "quarterly", "owner_role": "field_engineer"}, format="json")
    assert response.status_code == 200 and response.json()["frequency"] == "quarterly"
    response = api(p.admin).patch(url, {"frequency": "weekly"}, format="json")
    assert response.status_code == 400 and "frequency" in response.json()["errors"]
    assert api(p.admin).put(url, {"frequency": "annual"}, format="json").status_code == 405


def test_occurrence_filters_for_my_work(p, api, live_plan):
    client = api(p.engineer)
    mine = client.get(API + "plan-occurrences/", {"owner": "mine"}).json()
    assert mine["count"] == PlanOccurrence.objects.filter(owner=p.engineer).count() > 0
    year = live_plan.year
    ranged = client.get(
        API + "plan-occurrences/", {"due_from": f"{year}-01-01", "due_to": f"{year}-03-31", "status": "planned"}
    ).json()
    assert all(f"{year}-01-01" <= r["due_date"] <= f"{year}-03-31" for r in ranged["results"])
    assert client.get(API + "plan-occurrences/", {"status": "bogus"}).status_code == 400
    assert client.get(API + "plan-occurrences/", {"customer": 2**70}).status_code == 400


def test_record_a_visit_with_follow_ups(p, api, live_plan):
    occurrence = PlanOccurrence.objects.filter(customer=p.a1, activity=Activity.POWER_QUALITY).order_by("seq").first()
    payload = {
        "customer": p.a1.pk,
        "activity": "power_quality",
        "visited_on": today().isoformat(),
        "occurrence": occurrence.pk,
        "participants": [p.engineer.pk],
        "findings": "5 次谐波偏高",
        "follow_ups": [
            {"kind": "task", "description": "出具检测报告", "assignee": p.engineer.pk},
            {"kind": "request", "description": "滤波装置改造咨询", "request_type": "power_quality", "priority": "high"},
        ],
    }
    response = api(p.engineer).post(API + "visits/", payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["occurrences"] == [occurrence.pk] and len(body["follow_ups"]) == 2
    occurrence.refresh_from_db()
    assert occurrence.status == OccurrenceStatus.DONE
    assert Task.objects.get().assignee == p.engineer
    payload["visited_on"] = (today() + dt.timedelta(days=1)).isoformat()
    payload["follow_ups"] = [{"kind": "request", "description": "缺类型"}]
    payload.pop("occurrence")
    response = api(p.engineer).post(API + "visits/", payload, format="json")
    assert response.status_code == 400 and {"visited_on", "follow_ups"} <= set(response.json()["errors"])
    assert Visit.objects.count() == 1
    assert (
        api(p.clerk)
        .post(API + "visits/", {**payload, "visited_on": today().isoformat(), "follow_ups": []}, format="json")
        .status_code
        == 403
    )


def test_plan_progress_endpoint(p, api, live_plan):
    visit_record(customer=p.a1, visited_on=dt.date(live_plan.year, 1, 10), user=p.manager)
    body = api(p.supervisor).get(API + "plan-progress/", {"by": "owner", "year": live_plan.year}).json()
    rows = {r["key"]: r for r in body["rows"]}
    assert rows[str(p.manager.pk)]["done"] == 1 and body["start"] == f"{live_plan.year}-01-01"
    response = api(p.supervisor).get(API + "plan-progress/", {"by": "planet"})
    assert response.status_code == 400 and "by" in response.json()["errors"]
    response = api(p.supervisor).get(API + "plan-progress/", {"start": "2026-05-01", "end": "2026-01-01"})
    assert response.status_code == 400 and "end" in response.json()["errors"]


def add_plans(p, n, start):
    made = []
    for i in range(start, start + n):
        customer = make_customer(name=f"惠州接口测试{i:03d}有限公司", org_unit=p.city_a)
        assignment_set(customer=customer, role=AssignmentRole.MANAGER, user=p.manager)
        make_account(customer=customer)
        made.append(set_tier(customer, "second"))
    plans_generate(year=today().year, user=p.supervisor, today=dt.date(today().year, 1, 1))
    for customer in made:
        visit_record(
            customer=customer,
            visited_on=dt.date(today().year, 1, 5),
            participants=[p.manager],
            user=p.manager,
            follow_ups=[{"kind": "task", "description": "回访"}],
        )


@pytest.mark.parametrize("path", ["service-plans/", "plan-occurrences/?page_size=20", "visits/", "plan-templates/"])
def test_list_queries_do_not_grow(p, api, templates, path):
    client = api(p.supervisor)
    add_plans(p, 2, 0)
    with CaptureQueriesContext(connection) as small:
        assert client.get(API + path).status_code == 200
    add_plans(p, 18, 2)
    with CaptureQueriesContext(connection) as large:
        response = client.get(API + path)
    body = response.json()
    assert len(body if isinstance(body, list) else body["results"]) >= 4
    assert len(large) == len(small)


def test_plan_retrieve_queries_do_not_grow(p, api, live_plan):
    from gridkam.engagement.plans import plan_item_add

    client = api(p.manager)
    with CaptureQueriesContext(connection) as small:
        client.get(API + f"service-plans/{live_plan.pk}/")
    for _ in range(3):
        plan_item_add(plan=live_plan, activity="other", frequency="monthly", reason="加项", user=p.manager)
    with CaptureQueriesContext(connection) as large:
        client.get(API + f"service-plans/{live_plan.pk}/")
    assert len(large) == len(small)
