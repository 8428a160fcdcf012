"""My work: what the queue holds from each source, its scoping and order, its constant query count, and the month
calendar (placement on local days across month ends)."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from gridkam.billing.choices import RiskLevel, WarningStatus
from gridkam.billing.models import RiskWarning
from gridkam.customers.choices import AssignmentRole
from gridkam.customers.services import assignment_set
from gridkam.engagement.choices import Activity, Frequency, OccurrenceStatus
from gridkam.engagement.models import PlanItem, PlanOccurrence, ServicePlan, Task, TaskStatus
from gridkam.engagement.work import MESSAGE, PLAN_ITEM, REQUEST, TASK, WARNING, my_work, work_calendar, work_queue
from gridkam.servicedesk.models import ServiceRequest

TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)  # 10:00 in Asia/Shanghai
_numbers = itertools.count(1)


def make_request(customer, assignee, *, due=None, team=None, **fields) -> ServiceRequest:
    due = due or NOW + dt.timedelta(days=2)
    defaults = {
        "number": f"SRW{next(_numbers):08d}",
        "customer": customer,
        "request_type": "consultation",
        "channel": "manager_line",
        "title": "咨询电价",
        "status": "assigned",
        "assignee": assignee,
        "team": team,
        "created_at": NOW - dt.timedelta(hours=1),
        "resolution_due_at": due,
        "resolution_warn_at": due - dt.timedelta(hours=4),
    }
    defaults.update(fields)
    return ServiceRequest.objects.create(**defaults)


def make_occurrence(customer, owner, *, due: dt.date, starts: dt.date | None = None, **fields) -> PlanOccurrence:
    plan, _ = ServicePlan.objects.get_or_create(customer=customer, year=due.year, defaults={"tier": "third"})
    item = PlanItem.objects.create(plan=plan, activity=Activity.VISIT, frequency=Frequency.MONTHLY, owner=owner)
    return PlanOccurrence.objects.create(
        item=item,
        owner=owner,
        customer=customer,
        activity=Activity.VISIT,
        seq=fields.pop("seq", 1),
        starts_on=starts or due - dt.timedelta(days=20),
        due_date=due,
        **fields,
    )


def make_warning(customer, *, due: dt.date = TODAY, **fields) -> RiskWarning:
    return RiskWarning.objects.create(
        account=customer.accounts.first(), level=fields.pop("level", RiskLevel.HIGH), due_date=due, **fields
    )


def make_task(customer, assignee, *, due: dt.date = TODAY, **fields) -> Task:
    return Task.objects.create(
        title=fields.pop("title", "回访"), customer=customer, assignee=assignee, due_date=due, **fields
    )


def _kinds(queue):
    return {(i.kind, i.id) for i in queue.items}


def test_queue_holds_each_source(p):
    sr = make_request(p.a1, p.manager)
    occ = make_occurrence(p.a2, p.manager, due=TODAY + dt.timedelta(days=5))
    warning = make_warning(p.a1)
    task = make_task(p.a2, p.manager)
    # Not mine, or not open: left out.
    make_request(p.a3, p.colleague)
    make_request(p.a1, p.manager, status="resolved")
    make_occurrence(p.a1, p.manager, due=TODAY, status=OccurrenceStatus.DONE)
    make_occurrence(p.a3, p.colleague, due=TODAY)
    make_warning(p.a3)  # the colleague manages A3
    make_warning(p.a1, status=WarningStatus.CLOSED)
    make_task(p.a1, p.manager, status=TaskStatus.DONE)
    queue = my_work(p.manager, TODAY, now=NOW)
    assert _kinds(queue) == {(REQUEST, sr.pk), (PLAN_ITEM, occ.pk), (WARNING, warning.pk), (TASK, task.pk)}
    assert queue.counts == {REQUEST: 1, PLAN_ITEM: 1, WARNING: 1, TASK: 1, MESSAGE: 0}
    request_item = next(i for i in queue.items if i.kind == REQUEST)
    assert request_item.due == sr.resolution_due_at and request_item.sla.state == "running"
    assert request_item.url == f"/service/requests/{sr.pk}/"
    assert request_item.customer_id == p.a1.pk and request_item.customer_name == p.a1.name


def test_request_due_is_the_nearest_unmet_target(p):
    response_due = NOW + dt.timedelta(hours=1)
    sr = make_request(p.a1, p.manager, response_due_at=response_due, response_warn_at=NOW + dt.timedelta(minutes=30))
    assert my_work(p.manager, TODAY, now=NOW).items[0].due == response_due
    sr.responded_at = NOW
    sr.save()
    assert my_work(p.manager, TODAY, now=NOW).items[0].due == sr.resolution_due_at


def test_plan_items_window_open_or_due_within_horizon(p):
    opened = make_occurrence(p.a1, p.manager, due=TODAY + dt.timedelta(days=60), starts=TODAY - dt.timedelta(days=1))
    soon = make_occurrence(p.a1, p.manager, due=TODAY + dt.timedelta(days=30), starts=TODAY + dt.timedelta(days=10))
    overdue = make_occurrence(p.a1, p.manager, due=TODAY - dt.timedelta(days=40))
    make_occurrence(p.a1, p.manager, due=TODAY + dt.timedelta(days=31), starts=TODAY + dt.timedelta(days=1))
    make_occurrence(p.a1, p.manager, due=TODAY - dt.timedelta(days=1), status=OccurrenceStatus.CANCELLED)
    queue = my_work(p.manager, TODAY, now=NOW)
    assert [i.id for i in queue.items] == [overdue.pk, soon.pk, opened.pk]
    assert [i.overdue for i in queue.items] == [True, False, False]
    assert my_work(p.manager, TODAY, horizon_days=0, now=NOW).counts[PLAN_ITEM] == 2  # overdue + window open


def test_warnings_follow_the_current_account_manager(p):
    warning = make_warning(p.a3)
    assert warning.pk not in {i.id for i in my_work(p.manager, TODAY, now=NOW).items}
    # A3 is handed to the manager: its warning comes with it, and leaves the colleague's queue.
    assignment_set(customer=p.a3, role=AssignmentRole.MANAGER, user=p.manager, start_date=TODAY)
    assert (WARNING, warning.pk) in _kinds(my_work(p.manager, TODAY, now=NOW))
    assert (WARNING, warning.pk) not in _kinds(my_work(p.colleague, TODAY, now=NOW))
    # The field engineer serves A1 but does not manage it: no warnings.
    make_warning(p.a1)
    assert my_work(p.engineer, TODAY, now=NOW).counts[WARNING] == 0


def test_task_of_an_open_warning_is_shown_as_the_warning(p):
    task = make_task(p.a1, p.manager, source="risk_warning")
    warning = make_warning(p.a1, task=task)
    assert _kinds(my_work(p.manager, TODAY, now=NOW)) == {(WARNING, warning.pk)}
    warning.status = WarningStatus.CLOSED
    warning.save()
    assert _kinds(my_work(p.manager, TODAY, now=NOW)) == {(TASK, task.pk)}


def test_items_of_customers_out_of_view_are_not_shown(p):
    # Work still assigned to the outsider on customers of city A (which he does not see) is left out.
    make_request(p.a1, p.outsider)
    make_occurrence(p.a1, p.outsider, due=TODAY)
    make_task(p.a1, p.outsider)
    mine = make_task(p.b1, p.outsider)
    assert _kinds(my_work(p.outsider, TODAY, now=NOW)) == {(TASK, mine.pk)}
    # Someone else looking at the outsider's work sees it only on customers they see themselves.
    seen_by_manager = work_queue(holder=p.outsider, viewer=p.manager, today=TODAY, now=NOW)
    assert seen_by_manager.total == 3 and (TASK, mine.pk) not in _kinds(seen_by_manager)


def test_overdue_first_then_soonest(p):
    late_task = make_task(p.a1, p.manager, due=TODAY - dt.timedelta(days=3))
    breached = make_request(p.a1, p.manager, due=NOW - dt.timedelta(hours=1))
    soon_request = make_request(p.a2, p.manager, due=NOW + dt.timedelta(hours=3))
    today_task = make_task(p.a2, p.manager, due=TODAY)
    later_occ = make_occurrence(p.a1, p.manager, due=TODAY + dt.timedelta(days=3))
    queue = my_work(p.manager, TODAY, now=NOW)
    assert [(i.kind, i.id) for i in queue.items] == [
        (TASK, late_task.pk),
        (REQUEST, breached.pk),
        (REQUEST, soon_request.pk),
        (TASK, today_task.pk),  # a due date counts as the end of that day
        (PLAN_ITEM, later_occ.pk),
    ]
    assert [i.overdue for i in queue.items] == [True, True, False, False, False]
    assert queue.overdue == {REQUEST: 1, PLAN_ITEM: 0, WARNING: 0, TASK: 1, MESSAGE: 0}
    assert queue.items[1].sla.state == "breached"


def _load(p, n):
    from gridkam.messaging.services import message_send

    for k in range(n):
        make_request(p.a1 if k % 2 else p.a2, p.manager, due=NOW + dt.timedelta(hours=k - n // 2))
        make_occurrence(p.a1_sub, p.manager, due=TODAY + dt.timedelta(days=k % 40 - 10))
        make_task(p.a2, p.manager, due=TODAY + dt.timedelta(days=k % 7 - 3))
        make_warning(p.a1, due=TODAY + dt.timedelta(days=k % 5 - 2))
        message_send(customer=p.a1, user=p.customer_user, body=f"消息{k}", now=NOW - dt.timedelta(minutes=k))


@pytest.mark.parametrize("persona", ["manager", "supervisor", "admin"])
def test_query_count_does_not_grow_with_the_queue(p, persona, django_assert_num_queries):
    user = getattr(p, persona)
    if persona != "manager":  # the same work, held by the viewer themselves
        for customer in (p.a1, p.a2, p.a1_sub):
            assignment_set(customer=customer, role=AssignmentRole.BACKUP_MANAGER, user=user, start_date=TODAY)
    _load(p, 1)
    ServiceRequest.objects.update(assignee=user)
    PlanOccurrence.objects.update(owner=user)
    Task.objects.update(assignee=user)
    user = type(user).objects.get(pk=user.pk)  # a fresh user: its org unit not cached yet
    with django_assert_num_queries(5 if persona != "supervisor" else 6):
        few = my_work(user, TODAY, now=NOW)
    _load(p, 30)
    ServiceRequest.objects.update(assignee=user)
    PlanOccurrence.objects.update(owner=user)
    Task.objects.update(assignee=user)
    user = type(user).objects.get(pk=user.pk)
    with django_assert_num_queries(5 if persona != "supervisor" else 6):
        many = my_work(user, TODAY, now=NOW)
    assert many.counts[REQUEST] == 31 and many.counts[TASK] == 31 and many.counts[PLAN_ITEM] > 20
    assert few.counts[MESSAGE] == many.counts[MESSAGE] == 1
    assert few.total < 6 < many.total


def test_portal_user_has_no_queue(p):
    with pytest.raises(PermissionError):
        my_work(p.customer_user, TODAY, now=NOW)


# --- calendar -------------------------------------------------------------------------------------------------------


def test_calendar_places_a_utc_due_time_on_its_shanghai_day(p, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    # 17:00 UTC on 30 November is 01:00 on 1 December in Shanghai.
    due = dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)
    sr = make_request(p.a1, p.manager, due=due)
    with timezone.override(ZoneInfo("Asia/Shanghai")):
        november = work_calendar(holder=p.manager, viewer=p.manager, month=dt.date(2026, 11, 1), today=TODAY, now=NOW)
        december = work_calendar(holder=p.manager, viewer=p.manager, month=dt.date(2026, 12, 1), today=TODAY, now=NOW)
    days = {d.day: d for week in november.weeks for d in week}
    # November's grid runs Monday 26 October to Sunday 6 December; the request is on the (grey) 1 December.
    assert days[dt.date(2026, 12, 1)].items[0].id == sr.pk and not days[dt.date(2026, 12, 1)].in_month
    assert days[dt.date(2026, 11, 30)].items == []
    assert days[TODAY].is_today
    december_days = {d.day: d for week in december.weeks for d in week}
    assert [i.id for i in december_days[dt.date(2026, 12, 1)].items] == [sr.pk]
    assert (november.previous, november.next) == (dt.date(2026, 10, 1), dt.date(2026, 12, 1))
    # The same instant in UTC would be 30 November.
    with timezone.override(ZoneInfo("UTC")):
        utc = work_calendar(holder=p.manager, viewer=p.manager, month=dt.date(2026, 11, 1), today=TODAY, now=NOW)
    assert [i.id for w in utc.weeks for d in w if d.day == dt.date(2026, 11, 30) for i in d.items] == [sr.pk]


def test_calendar_across_the_year_end_and_overdue_before(p):
    late = make_task(p.a1, p.manager, due=dt.date(2026, 10, 1))
    january = make_occurrence(p.a1, p.manager, due=dt.date(2027, 1, 4), starts=dt.date(2026, 12, 28))
    december = work_calendar(holder=p.manager, viewer=p.manager, month=dt.date(2026, 12, 1), today=TODAY, now=NOW)
    placed = {i.id: d.day for w in december.weeks for d in w for i in d.items}
    # The December grid ends on Sunday 3 January: the occurrence due on the 4th is not on it.
    assert january.pk not in placed and december.weeks[-1][-1].day == dt.date(2027, 1, 3)
    assert december.overdue_before == 1 and late.pk not in placed
    assert (december.previous, december.next) == (dt.date(2026, 11, 1), dt.date(2027, 1, 1))
    jan = work_calendar(holder=p.manager, viewer=p.manager, month=dt.date(2027, 1, 1), today=TODAY, now=NOW)
    assert {i.id: d.day for w in jan.weeks for d in w for i in d.items}[january.pk] == dt.date(2027, 1, 4)
    october = work_calendar(holder=p.manager, viewer=p.manager, month=dt.date(2026, 10, 1), today=TODAY, now=NOW)
    late_day = next(d for w in october.weeks for d in w if d.day == dt.date(2026, 10, 1))
    assert [(i.id, i.overdue) for i in late_day.items] == [(late.pk, True)]
