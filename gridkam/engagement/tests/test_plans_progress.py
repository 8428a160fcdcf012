"""Plan against actual over real plans: done (on time and late), overdue and upcoming per customer, owner,
activity and team, scoped to what the reader sees."""

from __future__ import annotations

import datetime as dt

import pytest

from gridkam.engagement.choices import Activity
from gridkam.engagement.plan_progress import plan_progress
from gridkam.engagement.plans import occurrences_visible, plan_generate, plan_item_remove
from gridkam.engagement.visits import visit_record

from . import test_plans_support as support
from .test_plans_support import NEW_YEAR, TODAY

pytestmark = pytest.mark.django_db
special_plan = support.special_plan  # a fixture
templates = support.templates  # a fixture
D = dt.date
YEAR = (D(2026, 1, 1), D(2026, 12, 31))


@pytest.fixture
def delivered(p, special_plan):
    """A1 special in 2026, seen on 15 May: January and February visits on time, March's late (in April), the
    first safety inspection on time; the training item removed."""
    visit_record(customer=p.a1, visited_on=D(2026, 1, 10), user=p.manager, today=TODAY)
    visit_record(customer=p.a1, visited_on=D(2026, 2, 10), user=p.manager, today=TODAY)
    march = special_plan.items.get(activity=Activity.VISIT).occurrences.get(seq=3)
    visit_record(customer=p.a1, visited_on=D(2026, 4, 5), occurrence=march, user=p.manager, today=TODAY)
    visit_record(
        customer=p.a1, activity=Activity.SAFETY_INSPECTION, visited_on=D(2026, 3, 1), user=p.engineer, today=TODAY
    )
    training = special_plan.items.get(activity=Activity.TRAINING)
    training.plan = special_plan
    plan_item_remove(item=training, reason="客户暂无培训需求", user=p.manager, today=TODAY)
    return special_plan


def by(user, group, start=YEAR[0], end=YEAR[1]):
    return {r.key: r for r in plan_progress(occurrences_visible(user), by=group, start=start, end=end, today=TODAY)}


def test_per_customer_done_late_overdue_upcoming(p, delivered):
    row = by(p.supervisor, "customer")[p.a1.pk]
    # 12 visits + 4 inspections + 2 PQ + diagnosis + tariff review (training cancelled) = 20 due.
    assert (row.due, row.done, row.done_late) == (20, 4, 1)
    # Overdue on 15 May: April's visit; upcoming: May–December visits (8), 3 inspections, 2 PQ, 2 annual.
    assert (row.overdue, row.upcoming) == (1, 15)
    assert row.done_share == pytest.approx(4 / 20)


def test_per_owner_and_per_activity(p, delivered):
    owners = by(p.supervisor, "owner")
    assert (owners[p.manager.pk].done, owners[p.manager.pk].overdue) == (3, 1)
    assert owners[p.manager.pk].name == "李经理"
    assert (owners[p.engineer.pk].done, owners[p.engineer.pk].due) == (1, 4 + 2)
    activities = by(p.supervisor, "activity")
    assert activities[Activity.VISIT].due == 12 and activities[Activity.VISIT].done_late == 1
    assert Activity.TRAINING not in activities


def test_per_team_and_a_span(p, delivered):
    teams = by(p.supervisor, "team")
    assert teams[p.team_a.pk].due == 14  # the manager's items (the engineer has no team)
    assert teams[None].due == 6
    first_quarter = by(p.supervisor, "customer", D(2026, 1, 1), D(2026, 3, 31))[p.a1.pk]
    assert (first_quarter.due, first_quarter.done, first_quarter.overdue) == (4, 4, 0)


def test_scoped_to_what_the_reader_sees(p, delivered):
    plan_generate(customer=p.b1, year=2026, user=p.outsider, today=NEW_YEAR)
    assert set(by(p.outsider, "customer")) == {p.b1.pk}
    assert p.b1.pk not in by(p.supervisor, "customer")
    assert by(p.customer_user, "customer").keys() <= {p.a1.pk, p.a1_sub.pk}
