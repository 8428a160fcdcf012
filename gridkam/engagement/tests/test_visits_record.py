"""Recording a visit: it delivers the matching plan occurrence (or the one named), follow-ups become tasks or
service requests, everything in one transaction; bad input is a field error and writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from gridkam.engagement.choices import Activity, FollowUpKind, OccurrenceStatus
from gridkam.engagement.models import Notification, PlanOccurrence, Task, Visit, VisitFollowUp
from gridkam.engagement.visits import visit_record
from gridkam.servicedesk.choices import Channel, RequestType
from gridkam.servicedesk.models import ServiceRequest

from . import test_plans_support as support
from .test_plans_support import TODAY

pytestmark = pytest.mark.django_db
special_plan = support.special_plan  # a fixture
templates = support.templates  # a fixture
D = dt.date


def occurrence(plan, activity, seq) -> PlanOccurrence:
    return PlanOccurrence.objects.get(item__plan=plan, activity=activity, seq=seq)


def test_a_visit_delivers_the_occurrence_whose_window_holds_its_day(p, special_plan):
    visit = visit_record(
        customer=p.a1,
        visited_on=D(2026, 5, 8),
        participants=[p.manager, p.engineer],
        customer_participants="能源经理张某",
        purpose="例行走访",
        findings="生产正常",
        user=p.manager,
        today=TODAY,
    )
    may = occurrence(special_plan, Activity.VISIT, 5)
    assert (may.status, may.done_on, may.visit) == (OccurrenceStatus.DONE, D(2026, 5, 8), visit)
    assert set(visit.participants.all()) == {p.manager, p.engineer}
    assert PlanOccurrence.objects.filter(status=OccurrenceStatus.DONE).count() == 1


def test_without_an_open_window_the_oldest_overdue_is_delivered(p, special_plan):
    # May's visit delivered, then another visit in May: January's (overdue) is the one it makes up for.
    visit_record(customer=p.a1, visited_on=D(2026, 5, 8), user=p.manager, today=TODAY)
    visit_record(customer=p.a1, visited_on=D(2026, 5, 9), user=p.manager, today=TODAY)
    january = occurrence(special_plan, Activity.VISIT, 1)
    assert january.status == OccurrenceStatus.DONE and january.done_on == D(2026, 5, 9)


def test_a_named_occurrence_is_delivered_and_must_fit(p, special_plan):
    march = occurrence(special_plan, Activity.VISIT, 3)
    visit = visit_record(customer=p.a1, visited_on=D(2026, 5, 2), occurrence=march, user=p.manager, today=TODAY)
    march.refresh_from_db()
    assert march.visit == visit and march.done_on == D(2026, 5, 2)
    for bad, kwargs in (
        (march, {}),  # done already
        (occurrence(special_plan, Activity.TRAINING, 1), {}),  # another activity
        (occurrence(special_plan, Activity.VISIT, 9), {}),  # September's window has not opened on 3 May
    ):
        with pytest.raises(ValidationError) as error:
            visit_record(customer=p.a1, visited_on=D(2026, 5, 3), occurrence=bad, user=p.manager, today=TODAY, **kwargs)
        assert "occurrence" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        visit_record(
            customer=p.a2,
            visited_on=D(2026, 5, 3),
            occurrence=occurrence(special_plan, Activity.VISIT, 4),
            user=p.manager,
            today=TODAY,
        )
    assert "occurrence" in error.value.message_dict


def test_a_visit_without_a_plan_is_recorded_alone(p, db):
    visit = visit_record(customer=p.a2, activity=Activity.TRAINING, visited_on=TODAY, user=p.manager, today=TODAY)
    assert Visit.objects.get() == visit and not visit.occurrences.exists()


def test_follow_ups_become_a_task_and_a_service_request(p, special_plan):
    visit = visit_record(
        customer=p.a1,
        account=p.a1.accounts.first(),
        visited_on=D(2026, 5, 10),
        findings="电缆沟积水；5 次谐波偏高",
        follow_ups=[
            {
                "kind": FollowUpKind.TASK,
                "description": "跟踪电缆沟整改",
                "due_date": D(2026, 5, 30),
                "assignee": p.engineer,
            },
            {"kind": FollowUpKind.TASK, "description": "回访客户", "due_date": None, "assignee": None},
            {"kind": FollowUpKind.REQUEST, "description": "谐波复测", "request_type": RequestType.POWER_QUALITY},
        ],
        user=p.manager,
        today=TODAY,
    )
    tasks = list(Task.objects.order_by("pk"))
    assert [(t.title, t.assignee, t.due_date, t.source) for t in tasks] == [
        ("跟踪电缆沟整改", p.engineer, D(2026, 5, 30), "visit"),
        ("回访客户", p.manager, TODAY + dt.timedelta(days=7), "visit"),
    ]
    assert all(t.link == f"/plans/visits/{visit.pk}/" and t.customer == p.a1 for t in tasks)
    # The engineer is told of the task given to him; the manager gave the second to himself.
    told = Notification.objects.filter(event="task_assigned")
    assert list(told.values_list("recipient", "link")) == [(p.engineer.pk, f"/plans/visits/{visit.pk}/")]
    request = ServiceRequest.objects.get()
    assert (request.channel, request.request_type, request.title) == (
        Channel.VISIT,
        RequestType.POWER_QUALITY,
        "谐波复测",
    )
    assert request.assignee == p.engineer  # routed to the field engineer for power quality
    follow_ups = list(VisitFollowUp.objects.filter(visit=visit).order_by("pk"))
    assert [(f.kind, f.task_id, f.service_request_id) for f in follow_ups] == [
        ("task", tasks[0].pk, None),
        ("task", tasks[1].pk, None),
        ("request", None, request.pk),
    ]


def test_a_bad_follow_up_leaves_nothing(p, special_plan):
    with pytest.raises(ValidationError) as error:
        visit_record(
            customer=p.a1,
            visited_on=D(2026, 5, 10),
            follow_ups=[
                {"kind": FollowUpKind.TASK, "description": "好的一行"},
                {"kind": FollowUpKind.REQUEST, "description": "缺少请求类型"},
                {"kind": FollowUpKind.TASK, "description": "派给外单位", "assignee": p.outsider},
            ],
            user=p.manager,
            today=TODAY,
        )
    assert len(error.value.message_dict["follow_ups"]) == 2
    assert not Visit.objects.exists() and not Task.objects.exists() and not ServiceRequest.objects.exists()
    assert not PlanOccurrence.objects.filter(status=OccurrenceStatus.DONE).exists()


def test_a_failure_inside_the_transaction_rolls_everything_back(p, special_plan, monkeypatch):
    """A service request refused after the visit and the task were written: none of them stays."""
    from gridkam.engagement import visits

    def refuse(**kwargs):
        raise ValidationError({"title": "拒绝"})

    monkeypatch.setattr(visits, "request_create", refuse)
    with pytest.raises(ValidationError):
        visit_record(
            customer=p.a1,
            visited_on=D(2026, 5, 10),
            follow_ups=[
                {"kind": FollowUpKind.TASK, "description": "任务"},
                {"kind": FollowUpKind.REQUEST, "description": "请求", "request_type": RequestType.OTHER},
            ],
            user=p.manager,
            today=TODAY,
        )
    assert not Visit.objects.exists() and not Task.objects.exists()
    assert not PlanOccurrence.objects.filter(status=OccurrenceStatus.DONE).exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"visited_on": TODAY + dt.timedelta(days=1)}, "visited_on"),
        ({"activity": "picnic"}, "activity"),
        ({"participants": ["outsider"]}, "participants"),
        ({"account": "b1_account"}, "account"),
        ({"purpose": "长" * 201}, "purpose"),
    ],
)
def test_bad_input_is_a_field_error(p, special_plan, kwargs, field):
    kwargs = dict(kwargs)
    if kwargs.get("participants") == ["outsider"]:
        kwargs["participants"] = [p.outsider]
    if kwargs.get("account") == "b1_account":
        kwargs["account"] = p.b1.accounts.first()
    kwargs.setdefault("visited_on", TODAY)
    with pytest.raises(ValidationError) as error:
        visit_record(customer=p.a1, user=p.manager, today=TODAY, **kwargs)
    assert field in error.value.message_dict
    assert not Visit.objects.exists()


@pytest.mark.parametrize("name", ["colleague", "clerk", "outsider", "customer_user"])
def test_only_the_team_supervisors_and_admins_record_visits(p, special_plan, name):
    with pytest.raises(PermissionError):
        visit_record(customer=p.a1, visited_on=TODAY, user=getattr(p, name), today=TODAY)
    for name in ("manager", "engineer", "supervisor", "admin"):
        visit_record(customer=p.a1, visited_on=TODAY, user=getattr(p, name), today=TODAY)
    assert Visit.objects.count() == 4
