"""The demo's service plans: this year's plans for every key account, most past occurrences delivered by visits
(some with follow-ups that became tasks and requests), some left overdue."""

from __future__ import annotations

import datetime as dt

import pytest

from gridkam.core.testing import make_account, make_customer
from gridkam.customers.choices import AssignmentRole
from gridkam.customers.services import assignment_set
from gridkam.demo.plans import demo_plans_load
from gridkam.engagement.choices import OccurrenceStatus
from gridkam.engagement.models import PlanOccurrence, ServicePlan, Task, Visit, VisitFollowUp

from .test_plans_support import set_tier

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 9, 20)


def test_demo_plans(p):
    for i in range(30):
        customer = make_customer(name=f"惠州演示{i:02d}有限公司", org_unit=p.city_a)
        assignment_set(customer=customer, role=AssignmentRole.MANAGER, user=p.manager)
        assignment_set(customer=customer, role=AssignmentRole.FIELD_ENGINEER, user=p.engineer)
        make_account(customer=customer)
        set_tier(customer, ["special", "first", "second", "third"][i % 4])
    summary = demo_plans_load(seed=3, today=TODAY)
    assert summary["plans"] == ServicePlan.objects.filter(year=2026).count() == 35
    past = PlanOccurrence.objects.filter(due_date__lt=TODAY).exclude(owner=None)
    done = past.filter(status=OccurrenceStatus.DONE).count()
    assert 0.7 < done / past.count() < 0.95
    assert summary["overdue"] == PlanOccurrence.objects.filter(status="planned", due_date__lt=TODAY).count() > 0
    assert summary["visits"] == Visit.objects.count() == PlanOccurrence.objects.filter(status="done").count()
    assert not PlanOccurrence.objects.filter(status="done", visit__isnull=True).exists()
    assert not PlanOccurrence.objects.filter(status="done", done_on__gte=TODAY).exists()
    assert summary["follow_ups"] == VisitFollowUp.objects.count() > 0
    assert Task.objects.filter(source="visit").exists()
    # Some were done after their due date.
    from django.db.models import F

    assert PlanOccurrence.objects.filter(status="done", done_on__gt=F("due_date")).exists()
