"""The demo's projects: every stage has one, one waits with the clock stopped, one is near its limit, one past it,
one energised with the account's capacity changed (history), one cancelled; running again adds nothing."""

from __future__ import annotations

import pytest
from django.utils import timezone

from gridkam.demo.expansion import demo_expansion_load
from gridkam.expansion.choices import ProjectStatus, Stage
from gridkam.expansion.models import Project
from gridkam.expansion.services import days_left, warn_working_days

pytestmark = pytest.mark.django_db


def test_demo_expansion(p):
    counts = demo_expansion_load(seed=2)
    assert counts == {"projects": 13, "completed": 1, "clock_stops": 2}
    running = Project.objects.filter(status=ProjectStatus.IN_PROGRESS)
    assert set(running.values_list("current_stage", flat=True)) == set(Stage.values)
    assert running.filter(clock_stopped=True).count() == 1
    lefts = [days_left(pr.due_date) for pr in running.exclude(clock_stopped=True) if pr.due_date]
    assert any(left < 0 for left in lefts)
    assert any(0 <= left <= warn_working_days() for left in lefts)
    late_stage = Project.objects.get(stages__breach_reason__gt="")
    assert late_stage.due_date < timezone.localdate()
    done = Project.objects.get(status=ProjectStatus.COMPLETED)
    assert done.account.capacity_kva == done.requested_capacity_kva
    assert done.number in done.account.history.order_by("-history_id").first().history_change_reason
    assert Project.objects.filter(status=ProjectStatus.CANCELLED).count() == 1
    assert demo_expansion_load(seed=2) == {"projects": 0, "completed": 0, "clock_stops": 0}
