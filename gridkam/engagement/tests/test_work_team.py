"""The team view: who may open it (lead of the team, supervisor over it, administrator; not a member, an outsider
lead or a portal user), the per-member counts, and rebalancing each kind of item with a reason — in the page and
the API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gridkam.core.testing import make_user, persona
from gridkam.engagement.choices import PlanChangeKind
from gridkam.engagement.models import PlanChange
from gridkam.engagement.work import team_load, work_reassign
from gridkam.servicedesk.choices import EventKind
from gridkam.servicedesk.models import RequestEvent
from gridkam.users.choices import Role
from gridkam.users.models import Team

from .test_work_selectors import make_occurrence, make_request, make_task, make_warning


@pytest.fixture
def team_b(p):
    """A second team in city B led by the outsider, with one more member."""
    team = Team.objects.create(name="汕头一班", org_unit=p.city_b, lead=p.outsider)
    p.outsider.team = team
    p.outsider.save()
    make_user("b_member", role=Role.ACCOUNT_MANAGER, org_unit=p.city_b, team=team)
    return team


def _colleague_work(p):
    now, today = timezone.now(), timezone.localdate()
    return {
        "breached": make_request(p.a3, p.colleague, team=p.team_a, due=now - dt.timedelta(hours=1)),
        "warned": make_request(
            p.a3, p.colleague, team=p.team_a, due=now + dt.timedelta(hours=1), resolution_warn_at=now
        ),
        "running": make_request(p.a3, p.colleague, team=p.team_a, due=now + dt.timedelta(days=3)),
        "overdue_occ": make_occurrence(p.a3, p.colleague, due=today - dt.timedelta(days=2)),
        "occ": make_occurrence(p.a3, p.colleague, due=today + dt.timedelta(days=10)),
        "task": make_task(p.a3, p.colleague, due=today + dt.timedelta(days=1), detail="第一行"),
        "warning": make_warning(p.a3),
    }


def _row(loads, user):
    return next(load for load in loads if load.member.pk == user.pk)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("manager", 200),  # leads team A
        ("supervisor", 200),
        ("admin", 200),
        ("outsider", 200),  # leads team B: sees team B only
        ("colleague", 403),  # a member, not a lead
        ("engineer", 403),
        ("clerk", 403),
        ("customer_user", 403),
        ("anonymous", 302),
    ],
)
def test_team_page_access(p, team_b, client, client_for, who, status):
    user = persona(p, who)
    response = client_for(user).get("/work/team/") if user else client.get("/work/team/")
    assert response.status_code == status
    if status == 200:
        members = {load.member.username for loads in response.context["teams"].values() for load in loads}
        if who == "outsider":
            assert members == {"outsider", "b_member"}
        elif who in ("manager", "supervisor"):
            assert members == {"manager", "colleague"}
        else:
            assert members == {"manager", "colleague", "outsider", "b_member"}


def test_team_counts_per_member(p):
    _colleague_work(p)
    make_task(p.a1, p.manager)
    loads = team_load(viewer=p.manager)
    colleague = _row(loads, p.colleague)
    assert (colleague.requests, colleague.sla_at_risk) == (3, 2)
    assert (colleague.plan_due, colleague.plan_overdue) == (2, 1)
    assert (colleague.tasks, colleague.warnings) == (1, 1)
    manager = _row(loads, p.manager)
    assert (manager.requests, manager.tasks, manager.warnings) == (0, 1, 0)


def test_team_counts_query_count_is_constant(p, client_for):
    c = client_for(p.manager)
    _colleague_work(p)
    c.get("/work/team/")
    with CaptureQueriesContext(connection) as few:
        c.get(f"/work/team/?member={p.colleague.pk}")
    for _ in range(10):
        _colleague_work(p)
    with CaptureQueriesContext(connection) as many:
        response = c.get(f"/work/team/?member={p.colleague.pk}")
    assert _row(response.context["teams"][p.team_a], p.colleague).requests == 33
    assert len(response.context["panel"]["queue"].items) == 77
    assert len(many) == len(few)


def test_expand_member_only_for_their_leads(p, team_b, client_for):
    work = _colleague_work(p)
    response = client_for(p.manager).get(f"/work/team/?member={p.colleague.pk}")
    assert response.context["panel"]["member"] == p.colleague
    assert f'data-kind="task" data-id="{work["task"].pk}"' in response.content.decode()
    assert client_for(p.outsider).get(f"/work/team/?member={p.colleague.pk}").status_code == 404
    assert client_for(p.manager).get("/work/team/?member=x").status_code == 404


def test_reassign_each_kind_from_the_page(p, client_for):
    work = _colleague_work(p)
    c = client_for(p.manager)
    items = [f"request:{work['running'].pk}", f"task:{work['task'].pk}", f"plan_item:{work['occ'].pk}"]
    response = c.post(
        "/work/team/reassign/",
        {"member": p.colleague.pk, "items": items, "to_user": p.manager.pk, "reason": "王经理休假"},
    )
    assert response.status_code == 302 and response["Location"] == f"/work/team/?member={p.colleague.pk}"
    for key in ("running", "task", "occ"):
        work[key].refresh_from_db()
    assert work["running"].assignee == p.manager
    handover = RequestEvent.objects.get(request=work["running"], kind=EventKind.HANDOVER)
    assert handover.body == "王经理休假" and handover.data["from"] == p.colleague.pk
    assert work["task"].assignee == p.manager
    assert work["task"].detail.startswith("第一行\n") and work["task"].detail.endswith("王经理休假")
    assert work["occ"].owner == p.manager and work["occ"].item.owner == p.colleague  # only this occurrence
    change = PlanChange.objects.get(kind=PlanChangeKind.OWNER)
    assert (change.item_id, change.plan_id) == (work["occ"].item_id, work["occ"].item.plan_id)
    assert (change.before, change.after, change.reason, change.user) == ("王经理", "李经理", "王经理休假", p.manager)


def test_reassign_needs_a_reason_and_a_team_member(p, client_for):
    work = _colleague_work(p)
    c = client_for(p.manager)
    data = {"member": p.colleague.pk, "items": [f"task:{work['task'].pk}"], "to_user": p.manager.pk, "reason": " "}
    response = c.post("/work/team/reassign/", data)
    assert response.status_code == 400 and b'data-testid="error-reason"' in response.content
    # The field engineer is in no team: not a choice.
    response = c.post("/work/team/reassign/", {**data, "reason": "忙", "to_user": p.engineer.pk})
    assert response.status_code == 400 and b'data-testid="error-to_user"' in response.content
    work["task"].refresh_from_db()
    assert work["task"].assignee == p.colleague
    # An item that is not the member's is not a choice either.
    response = c.post("/work/team/reassign/", {**data, "reason": "忙", "items": ["task:999999"]})
    assert response.status_code == 400 and b'data-testid="error-items"' in response.content


def test_reassign_all_or_nothing(p, client_for):
    work = _colleague_work(p)
    # A request not routed to team A: the servicedesk lets only its account team, the team it is routed to and
    # supervisors act on it, so the lead cannot hand it over; the task selected with it does not move either.
    unrouted = make_request(p.a3, p.colleague, team=None)
    response = client_for(p.manager).post(
        "/work/team/reassign/",
        {
            "member": p.colleague.pk,
            "items": [f"task:{work['task'].pk}", f"request:{unrouted.pk}"],
            "to_user": p.manager.pk,
            "reason": "调整",
        },
    )
    assert response.status_code == 400 and b'data-testid="reassign-errors"' in response.content
    work["task"].refresh_from_db()
    unrouted.refresh_from_db()
    assert work["task"].assignee == p.colleague and unrouted.assignee == p.colleague
    # The supervisor over the unit may.
    response = client_for(p.supervisor).post(
        "/work/team/reassign/",
        {"member": p.colleague.pk, "items": [f"request:{unrouted.pk}"], "to_user": p.manager.pk, "reason": "调整"},
    )
    assert response.status_code == 302
    unrouted.refresh_from_db()
    assert unrouted.assignee == p.manager


def test_outsider_lead_cannot_reassign_team_a_work(p, team_b, client_for):
    work = _colleague_work(p)
    response = client_for(p.outsider).post(
        "/work/team/reassign/",
        {"member": p.colleague.pk, "items": [f"task:{work['task'].pk}"], "to_user": p.outsider.pk, "reason": "x"},
    )
    assert response.status_code == 404
    assert client_for(p.colleague).post("/work/team/reassign/", {"member": p.manager.pk}).status_code == 403
    assert client_for(p.customer_user).post("/work/team/reassign/", {}).status_code == 403


def test_service_checks_team_and_visibility(p, team_b):
    work = _colleague_work(p)
    task = work["task"]
    with pytest.raises(ValidationError) as error:
        work_reassign(user=p.manager, kind="task", item_id=task.pk, to_user=p.engineer, reason="忙")
    assert set(error.value.message_dict) == {"to_user"}
    with pytest.raises(ValidationError) as error:
        work_reassign(user=p.manager, kind="task", item_id=task.pk, to_user=p.manager, reason="")
    assert set(error.value.message_dict) == {"reason"}
    with pytest.raises(ValidationError) as error:  # the outsider does not see A3
        work_reassign(user=p.outsider, kind="task", item_id=task.pk, to_user=p.outsider, reason="忙")
    assert set(error.value.message_dict) == {"id"}
    with pytest.raises(ValidationError) as error:  # warnings follow the account manager
        work_reassign(user=p.manager, kind="warning", item_id=work["warning"].pk, to_user=p.manager, reason="忙")
    assert set(error.value.message_dict) == {"kind"}
    # A team member who does not see the customer (B's member sees none of city A): refused.
    b_member = team_b.members.get(username="b_member")
    outsider_task = make_task(p.b1, p.outsider)
    b_member.team = None
    b_member.save()
    with pytest.raises(ValidationError) as error:
        work_reassign(user=p.outsider, kind="task", item_id=outsider_task.pk, to_user=b_member, reason="忙")
    assert set(error.value.message_dict) == {"to_user"}
    # The supervisor over team A may move it.
    work_reassign(user=p.supervisor, kind="task", item_id=task.pk, to_user=p.manager, reason="忙")
    task.refresh_from_db()
    assert task.assignee == p.manager


# --- API ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("manager", 200),
        ("supervisor", 200),
        ("admin", 200),
        ("outsider", 200),
        ("colleague", 403),
        ("engineer", 403),
        ("customer_user", 403),
        ("anonymous", (401, 403)),
    ],
)
def test_api_team_access(p, team_b, api, who, status):
    response = api(persona(p, who)).get("/api/v1/my-work/team/")
    assert response.status_code in (status if isinstance(status, tuple) else (status,))
    if who == "outsider":
        assert {row["name"] for row in response.json()["results"]} == {str(p.outsider), "b_member"}


def test_api_team_counts(p, api):
    _colleague_work(p)
    rows = api(p.manager).get("/api/v1/my-work/team/").json()["results"]
    colleague = next(row for row in rows if row["user"] == p.colleague.pk)
    assert colleague["requests"] == 3 and colleague["sla_at_risk"] == 2 and colleague["plan_overdue"] == 1
    assert colleague["team"] == p.team_a.pk and colleague["warnings"] == 1


def test_api_reassign(p, team_b, api):
    work = _colleague_work(p)
    url = "/api/v1/my-work/team/reassign/"
    ok = {"kind": "request", "id": work["running"].pk, "to_user": p.manager.pk, "reason": "均衡工作量"}
    response = api(p.manager).post(url, ok, format="json")
    assert response.status_code == 200 and response.json()["to_user"] == p.manager.pk
    work["running"].refresh_from_db()
    assert work["running"].assignee == p.manager
    # Field errors: no reason; a target outside the team; an unknown kind.
    task = {"kind": "task", "id": work["task"].pk, "to_user": p.manager.pk}
    response = api(p.manager).post(url, {**task, "reason": ""}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["errors"]
    response = api(p.manager).post(url, {**task, "reason": "忙", "to_user": p.engineer.pk}, format="json")
    assert response.status_code == 400 and "to_user" in response.json()["errors"]
    response = api(p.manager).post(url, {**task, "reason": "忙", "kind": "warning"}, format="json")
    assert response.status_code == 400 and "kind" in response.json()["errors"]
    response = api(p.manager).post(url, {**task, "reason": "忙", "id": "abc"}, format="json")
    assert response.status_code == 400 and "id" in response.json()["errors"]
    # The outsider (a lead of another team) gets a field error: no such item in his view.
    response = api(p.outsider).post(url, {**task, "reason": "忙", "to_user": p.outsider.pk}, format="json")
    assert response.status_code == 400 and "id" in response.json()["errors"]
    assert api(p.colleague).post(url, {**task, "reason": "忙"}, format="json").status_code == 403
    assert api(p.customer_user).post(url, {**task, "reason": "忙"}, format="json").status_code == 403
    work["task"].refresh_from_db()
    assert work["task"].assignee == p.colleague


def test_the_new_holder_is_told_of_moved_tasks_and_plan_items(p, client_for):
    from gridkam.engagement.choices import NotificationEvent
    from gridkam.engagement.models import Notification

    work = _colleague_work(p)
    before = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    items = [f"task:{work['task'].pk}", f"plan_item:{work['occ'].pk}"]
    response = client_for(p.supervisor).post(
        "/work/team/reassign/",
        {"member": p.colleague.pk, "items": items, "to_user": p.manager.pk, "reason": "王经理休假"},
    )
    assert response.status_code == 302
    told = Notification.objects.filter(recipient=p.manager, pk__gt=before)
    assert sorted(told.values_list("event", flat=True)) == sorted(
        [NotificationEvent.TASK_ASSIGNED, NotificationEvent.PLAN_ITEM_DUE]
    )
    assert told.get(event=NotificationEvent.PLAN_ITEM_DUE).link.endswith(f"?occurrence={work['occ'].pk}")
    assert not Notification.objects.filter(recipient=p.supervisor).exists()
