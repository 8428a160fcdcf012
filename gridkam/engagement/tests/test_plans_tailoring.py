"""Tailoring a plan: adding an item, changing a frequency or an owner, removing an item; each needs a reason and
is logged; done occurrences are never touched; only the account team, supervisors and administrators tailor."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from gridkam.engagement.choices import Activity, Frequency, OccurrenceStatus, PlanChangeKind
from gridkam.engagement.models import PlanChange, PlanItemOrigin, PlanOccurrence
from gridkam.engagement.plans import plan_item_add, plan_item_frequency, plan_item_owner, plan_item_remove
from gridkam.engagement.visits import visit_record

from . import test_plans_support as support
from .test_plans_support import TODAY

pytestmark = pytest.mark.django_db
special_plan = support.special_plan  # a fixture
templates = support.templates  # a fixture
D = dt.date


def item_of(plan, activity):
    item = plan.items.get(activity=activity)
    item.plan = plan
    return item


def test_add_an_item_plans_it_from_today(p, special_plan):
    item = plan_item_add(
        plan=special_plan,
        activity=Activity.OTHER,
        frequency=Frequency.QUARTERLY,
        owner=p.colleague,
        description="配合客户年度检修",
        reason="客户年度检修需要配合",
        user=p.manager,
        today=TODAY,
    )
    assert item.origin == PlanItemOrigin.ADDED
    occurrences = list(item.occurrences.order_by("due_date"))
    assert [o.due_date for o in occurrences] == [D(2026, 6, 30), D(2026, 9, 30), D(2026, 12, 31)]
    assert {(o.owner_id, o.customer_id, o.activity) for o in occurrences} == {(p.colleague.pk, p.a1.pk, "other")}
    change = PlanChange.objects.get(kind=PlanChangeKind.ADDED)
    assert change.reason == "客户年度检修需要配合" and change.item == item and change.user == p.manager


def test_an_active_activity_cannot_be_added_twice(p, special_plan):
    with pytest.raises(ValidationError) as error:
        plan_item_add(
            plan=special_plan,
            activity=Activity.VISIT,
            frequency=Frequency.MONTHLY,
            reason="x",
            user=p.manager,
            today=TODAY,
        )
    assert "activity" in error.value.message_dict


def test_change_frequency_replaces_future_planned_and_keeps_done(p, special_plan):
    item = item_of(special_plan, Activity.VISIT)  # monthly
    march = item.occurrences.get(seq=3)
    visit_record(customer=p.a1, visited_on=D(2026, 3, 10), user=p.manager, today=TODAY)  # delivers March
    march.refresh_from_db()
    assert march.status == OccurrenceStatus.DONE
    plan_item_frequency(
        item=item, frequency=Frequency.QUARTERLY, reason="客户要求减少打扰", user=p.manager, today=TODAY
    )
    rows = list(item.occurrences.order_by("due_date").values_list("due_date", "status"))
    # Jan, Feb, Apr: past and planned (overdue), kept; March done, kept; May onwards replaced by quarters still due.
    assert rows == [
        (D(2026, 1, 31), "planned"),
        (D(2026, 2, 28), "planned"),
        (D(2026, 3, 31), "done"),
        (D(2026, 4, 30), "planned"),
        (D(2026, 6, 30), "planned"),
        (D(2026, 9, 30), "planned"),
        (D(2026, 12, 31), "planned"),
    ]
    change = PlanChange.objects.get(kind=PlanChangeKind.FREQUENCY)
    assert change.before and change.after and change.before != change.after


def test_a_window_holding_a_done_occurrence_is_not_planned_again(p, special_plan):
    item = item_of(special_plan, Activity.VISIT)
    # The May visit is done early in May; going quarterly, the April–June quarter is then delivered already.
    visit_record(customer=p.a1, visited_on=D(2026, 5, 5), user=p.manager, today=TODAY)
    plan_item_frequency(item=item, frequency=Frequency.QUARTERLY, reason="季度走访即可", user=p.manager, today=TODAY)
    future = item.occurrences.filter(due_date__gte=TODAY).order_by("due_date")
    assert list(future.values_list("due_date", "status")) == [
        (D(2026, 5, 31), "done"),
        (D(2026, 9, 30), "planned"),
        (D(2026, 12, 31), "planned"),
    ]


def test_change_owner_moves_item_and_planned_occurrences_only(p, special_plan):
    item = item_of(special_plan, Activity.VISIT)
    visit_record(customer=p.a1, visited_on=D(2026, 1, 20), user=p.manager, today=TODAY)
    plan_item_owner(item=item, owner=p.colleague, reason="李经理休产假", user=p.supervisor)
    item.refresh_from_db()
    assert item.owner == p.colleague
    assert set(item.occurrences.filter(status="planned").values_list("owner", flat=True)) == {p.colleague.pk}
    assert item.occurrences.get(status="done").owner == p.manager
    change = PlanChange.objects.get(kind=PlanChangeKind.OWNER)
    assert "李经理" in change.before and change.after == "王经理"


def test_owner_must_serve_the_customer(p, special_plan):
    item = item_of(special_plan, Activity.VISIT)
    with pytest.raises(ValidationError) as error:
        plan_item_owner(item=item, owner=p.outsider, reason="x", user=p.supervisor)
    assert "owner" in error.value.message_dict


def test_remove_cancels_future_planned_and_keeps_the_rest(p, special_plan):
    item = item_of(special_plan, Activity.SAFETY_INSPECTION)
    visit_record(
        customer=p.a1, activity=Activity.SAFETY_INSPECTION, visited_on=D(2026, 2, 1), user=p.engineer, today=TODAY
    )
    plan_item_remove(item=item, reason="客户自有专业运维队伍", user=p.engineer, today=TODAY)
    item.refresh_from_db()
    assert not item.active
    assert dict(item.occurrences.values_list("seq", "status")) == {
        1: "done",
        2: "cancelled",
        3: "cancelled",
        4: "cancelled",
    }
    assert PlanChange.objects.filter(kind=PlanChangeKind.REMOVED, reason="客户自有专业运维队伍").exists()
    with pytest.raises(ValidationError):
        plan_item_frequency(item=item, frequency=Frequency.ANNUAL, reason="x", user=p.engineer, today=TODAY)


@pytest.mark.parametrize("reason", ["", "   "])
def test_every_tailoring_step_needs_a_reason(p, special_plan, reason):
    item = item_of(special_plan, Activity.VISIT)
    before = PlanOccurrence.objects.count()
    steps = [
        lambda: plan_item_add(
            plan=special_plan,
            activity=Activity.OTHER,
            frequency=Frequency.ANNUAL,
            reason=reason,
            user=p.manager,
            today=TODAY,
        ),
        lambda: plan_item_frequency(
            item=item, frequency=Frequency.QUARTERLY, reason=reason, user=p.manager, today=TODAY
        ),
        lambda: plan_item_owner(item=item, owner=p.colleague, reason=reason, user=p.manager),
        lambda: plan_item_remove(item=item, reason=reason, user=p.manager, today=TODAY),
    ]
    for step in steps:
        with pytest.raises(ValidationError) as error:
            step()
        assert "reason" in error.value.message_dict
    item.refresh_from_db()
    assert item.active and item.frequency == Frequency.MONTHLY and item.owner == p.manager
    assert PlanOccurrence.objects.count() == before
    assert not PlanChange.objects.exclude(kind=PlanChangeKind.GENERATED).exists()


@pytest.mark.parametrize("name", ["manager", "engineer", "supervisor", "admin"])
def test_account_team_supervisor_and_admin_tailor(p, special_plan, name):
    item = item_of(special_plan, Activity.TRAINING)
    plan_item_frequency(
        item=item, frequency=Frequency.SEMIANNUAL, reason="客户新进电工较多", user=getattr(p, name), today=TODAY
    )
    assert PlanChange.objects.filter(kind=PlanChangeKind.FREQUENCY).count() == 1


@pytest.mark.parametrize("name", ["colleague", "clerk", "outsider", "customer_user"])
def test_others_may_not_tailor(p, special_plan, name):
    item = item_of(special_plan, Activity.TRAINING)
    with pytest.raises(PermissionError):
        plan_item_frequency(item=item, frequency=Frequency.SEMIANNUAL, reason="x", user=getattr(p, name), today=TODAY)
    with pytest.raises(PermissionError):
        plan_item_add(
            plan=special_plan,
            activity=Activity.OTHER,
            frequency=Frequency.ANNUAL,
            reason="x",
            user=getattr(p, name),
            today=TODAY,
        )
    item.refresh_from_db()
    assert item.frequency == Frequency.ANNUAL


def test_a_plan_whose_year_is_over_is_not_tailored(p, special_plan):
    """The 2026 plan is the record of 2026 once 2027 has begun: no step changes it."""
    item = item_of(special_plan, Activity.VISIT)
    next_year = D(2027, 1, 10)
    for step in (
        lambda: plan_item_frequency(
            item=item, frequency=Frequency.QUARTERLY, reason="x", user=p.supervisor, today=next_year
        ),
        lambda: plan_item_owner(item=item, owner=p.colleague, reason="x", user=p.supervisor, today=next_year),
        lambda: plan_item_remove(item=item, reason="x", user=p.supervisor, today=next_year),
    ):
        with pytest.raises(ValidationError) as error:
            step()
        assert "plan" in error.value.message_dict
    item.refresh_from_db()
    assert (item.frequency, item.owner, item.active) == (Frequency.MONTHLY, p.manager, True)
    assert not PlanChange.objects.exclude(kind=PlanChangeKind.GENERATED).exists()
