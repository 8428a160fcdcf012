"""The API twins: the project list and detail (staff only; other customers' projects 404), accepting, advancing,
clock stops, cancelling and completing with field errors, the time limits (read by staff, changed by supervisors),
and list query counts that do not grow with rows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from gridkam.core.testing import persona
from gridkam.expansion.choices import ProjectKind, ProjectStatus, Stage
from gridkam.expansion.models import Project, TimeLimit

from .support import DAY, account_of, project

pytestmark = pytest.mark.django_db
URL = "/api/v1/expansion-projects/"


@pytest.mark.parametrize(("who", "status"), [("anonymous", 401), ("customer_user", 403), ("manager", 200)])
def test_list_access(p, api, who, status):
    project(p)
    assert api(persona(p, who)).get(URL).status_code in ({401, 403} if status == 401 else {status})


def test_list_and_detail_show_only_visible_projects(p, api):
    mine = project(p)
    theirs = project(p, customer=p.b1, user=p.outsider)
    data = api(p.manager).get(URL).json()
    assert [row["number"] for row in data["results"]] == [mine.number]
    assert api(p.manager).get(f"{URL}{theirs.pk}/").status_code == 404
    detail = api(p.manager).get(f"{URL}{mine.pk}/").json()
    assert detail["stages"][0]["stage"] == Stage.APPLICATION and detail["days_left"] is not None
    assert api(p.customer_user).get(f"{URL}{mine.pk}/").status_code == 403


def test_filters_are_the_pages(p, api):
    late = project(p, accepted_on=timezone.localdate() - 60 * DAY)
    project(p, kind=ProjectKind.SUSPENSION, accepted_on=timezone.localdate())
    rows = api(p.manager).get(URL, {"overdue": "true"}).json()["results"]
    assert [r["id"] for r in rows] == [late.pk]
    rows = api(p.manager).get(URL, {"kind": "suspension", "ordering": "due_date"}).json()["results"]
    assert [r["kind"] for r in rows] == ["suspension"]


def test_create_advance_and_complete(p, api):
    client = api(p.manager)
    accepted = (timezone.localdate() - 20 * DAY).isoformat()
    bad = client.post(URL, {"customer": p.a1.pk, "kind": "new_connection", "voltage_kv": "10", "accepted_on": accepted})
    assert bad.status_code == 400 and "requested_capacity_kva" in bad.json()["errors"]
    outsider = client.post(
        URL,
        {"customer": p.b1.pk, "kind": "suspension", "voltage_kv": "10", "accepted_on": accepted},
        format="json",
    )
    assert outsider.status_code == 400 and "customer" in outsider.json()["errors"]
    created = client.post(
        URL,
        {
            "customer": p.a1.pk,
            "kind": "name_change",
            "account": account_of(p.a1).pk,
            "new_name": "惠州钢铁新厂用电",
            "voltage_kv": "10",
            "accepted_on": accepted,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    early = client.post(f"{URL}{pk}/complete/", {"on": accepted}, format="json")
    assert early.status_code == 400
    advanced = client.post(f"{URL}{pk}/advance/", {"on": accepted}, format="json")
    assert advanced.status_code == 200 and advanced.json()["current_stage"] == Stage.ENERGISATION
    assert client.post(f"{URL}{pk}/advance/", {"on": accepted}, format="json").status_code == 400
    late = client.post(f"{URL}{pk}/complete/", {"on": timezone.localdate().isoformat()}, format="json")
    assert late.status_code == 400 and "breach_reason" in late.json()["errors"]
    done = client.post(
        f"{URL}{pk}/complete/", {"on": timezone.localdate().isoformat(), "breach_reason": "待客户签约"}, format="json"
    )
    assert done.status_code == 200 and done.json()["status"] == ProjectStatus.COMPLETED
    account = account_of(p.a1)
    assert account.name == "惠州钢铁新厂用电"


def test_new_connection_complete_creates_the_account(p, api):
    pr = project(p, accepted_on=timezone.localdate() - 10 * DAY)
    client = api(p.manager)
    day = pr.accepted_on
    for _ in range(6):
        assert client.post(f"{URL}{pr.pk}/advance/", {"on": day.isoformat()}, format="json").status_code == 200
    response = client.post(
        f"{URL}{pr.pk}/complete/",
        {"on": day.isoformat(), "account_no": "0877000001", "meter_code": "MP-A", "meter_no": "M-A", "ct_ratio": "100"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["account_no"] == "0877000001"
    assert Project.objects.get(pk=pr.pk).account.capacity_kva == Decimal("3150")


def test_clock_stop_and_cancel(p, api):
    pr = project(p, accepted_on=timezone.localdate() - 10 * DAY)
    client = api(p.manager)
    on = (timezone.localdate() - 2 * DAY).isoformat()
    no_reason = client.post(f"{URL}{pr.pk}/clock-stop/", {"action": "start", "on": on}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    stopped = client.post(f"{URL}{pr.pk}/clock-stop/", {"action": "start", "on": on, "reason": "施工"}, format="json")
    assert stopped.status_code == 200 and stopped.json()["clock_stopped"] is True
    ended = client.post(f"{URL}{pr.pk}/clock-stop/", {"action": "end", "on": on}, format="json")
    assert ended.json()["clock_stopped"] is False and len(ended.json()["clock_stops"]) == 1
    cancelled = client.post(f"{URL}{pr.pk}/cancel/", {"reason": "撤回"}, format="json")
    assert cancelled.json()["status"] == ProjectStatus.CANCELLED


@pytest.mark.parametrize(("who", "status"), [("outsider", 404), ("clerk", 403), ("customer_user", 403)])
def test_writes_by_others_are_refused(p, api, who, status):
    pr = project(p)
    body = {"on": timezone.localdate().isoformat(), "action": "start", "reason": "x"}
    for action in ("advance", "clock-stop", "cancel", "complete"):
        assert api(persona(p, who)).post(f"{URL}{pr.pk}/{action}/", body, format="json").status_code == status
    pr.refresh_from_db()
    assert pr.current_stage == Stage.APPLICATION and pr.status == ProjectStatus.IN_PROGRESS
    assert not pr.clock_stops.exists()


def test_time_limits(p, api):
    limit = TimeLimit.objects.get(voltage_class="high", kind=ProjectKind.NEW_CONNECTION, supply_mode="dual", stage="")
    url = f"/api/v1/expansion-time-limits/{limit.pk}/"
    assert api(p.manager).get(url).json()["working_days"] == 32
    assert api(p.customer_user).get(url).status_code == 403
    assert api(p.manager).patch(url, {"working_days": 30}, format="json").status_code == 403
    assert api(p.supervisor).patch(url, {"working_days": 0}, format="json").status_code == 400
    assert api(p.manager).get(url).json()["voltage_class"] == "high"
    assert api(p.supervisor).patch(url, {"working_days": 30}, format="json").status_code == 200
    limit.refresh_from_db()
    assert limit.working_days == 30


def test_list_queries_do_not_grow_with_rows(p, api, django_assert_max_num_queries):
    client = api(p.manager)
    project(p)
    project(p, customer=p.a2)
    with django_assert_max_num_queries(30) as few:
        client.get(URL)
    for i in range(18):
        project(p, accepted_on=timezone.localdate() - i * DAY)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(URL).json()["results"]) == 20


def test_the_api_caps_time_limits_like_the_page(p, api):
    limit = TimeLimit.objects.get(voltage_class="high", kind=ProjectKind.NEW_CONNECTION, supply_mode="single", stage="")
    url = f"/api/v1/expansion-time-limits/{limit.pk}/"
    response = api(p.supervisor).patch(url, {"working_days": 5000}, format="json")
    assert response.status_code == 400 and "working_days" in response.json()["errors"]
    assert api(p.supervisor).patch(url, {"working_days": 999}, format="json").status_code == 200
    limit.refresh_from_db()
    assert limit.working_days == 999


def test_a_patch_without_working_days_changes_nothing(p, api):
    limit = TimeLimit.objects.get(voltage_class="high", kind=ProjectKind.NEW_CONNECTION, supply_mode="single", stage="")
    response = api(p.supervisor).patch(f"/api/v1/expansion-time-limits/{limit.pk}/", {}, format="json")
    assert response.status_code == 200 and response.json()["working_days"] == 22
    limit.refresh_from_db()
    assert limit.working_days == 22
