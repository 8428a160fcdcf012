"""The daily check: owners are warned before each time limit (each stage's and the whole project's) and told of
its breach, once per limit and level; a second run tells nobody again; projects with the clock stopped, finished
or far from their limit stay quiet; the queries do not grow with the projects."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gridkam.core import workdays
from gridkam.engagement.choices import NotificationEvent
from gridkam.engagement.models import Notification
from gridkam.expansion.choices import AlertLevel, ProjectKind
from gridkam.expansion.models import ProjectAlert
from gridkam.expansion.services import clock_stop_start, days_left, expansion_alerts_check, stage_advance
from gridkam.expansion.tasks import alerts_check_task

from .support import project

pytestmark = pytest.mark.django_db


def accepted(working_days_ago: int):
    return workdays.add_working_days(timezone.localdate(), -working_days_ago)


def told(user):
    return Notification.objects.filter(recipient=user, event=NotificationEvent.EXPANSION_DEADLINE)


def test_warning_then_breach_once_each(p):
    # A name change's only limit: 5 working days in energisation, reached by advancing twice on acceptance.
    pr = project(p, kind=ProjectKind.NAME_CHANGE, new_name="新名称", accepted_on=accepted(3), user=p.supervisor)
    assert expansion_alerts_check() == {"projects": 1, "warnings": 0, "breaches": 0}  # no stage limit before
    stage_advance(project=pr, user=p.supervisor, on=pr.accepted_on)
    result = expansion_alerts_check()
    assert result["warnings"] == 1 and result["breaches"] == 0
    assert told(p.manager).count() == 1 and pr.number in told(p.manager).get().body
    assert expansion_alerts_check()["warnings"] == 0  # safe to run twice
    assert told(p.manager).count() == 1
    later = workdays.add_working_days(timezone.localdate(), 5)
    assert expansion_alerts_check(today=later)["breaches"] == 1
    assert expansion_alerts_check(today=later)["breaches"] == 0
    assert told(p.manager).count() == 2
    assert set(ProjectAlert.objects.values_list("level", flat=True)) == {AlertLevel.WARNING, AlertLevel.BREACH}


def test_a_breach_found_first_is_not_followed_by_a_warning(p):
    pr = project(p, accepted_on=accepted(30))  # new connection, 22 working days
    assert alerts_check_task()["breaches"] == 1
    assert alerts_check_task() == {"projects": 1, "warnings": 0, "breaches": 0}
    assert list(ProjectAlert.objects.values_list("project", "level")) == [(pr.pk, AlertLevel.BREACH)]
    body = told(p.manager).get()
    assert pr.number in body.title and body.link == f"/expansion/{pr.pk}/"


def test_quiet_while_the_customer_holds_the_clock_or_far_from_the_limit(p):
    pr = project(p, accepted_on=accepted(30))
    clock_stop_start(project=pr, user=p.manager, on=pr.accepted_on, reason="客户施工")
    project(p, customer=p.a2, accepted_on=accepted(1))
    assert expansion_alerts_check() == {"projects": 2, "warnings": 0, "breaches": 0}
    assert not told(p.manager).exists()


def test_warning_days_are_a_setting(p, settings):
    pr = project(p, accepted_on=accepted(15))
    left = days_left(pr.due_date)
    assert left > 3
    assert expansion_alerts_check()["warnings"] == 0
    settings.GRIDKAM = {**settings.GRIDKAM, "EXPANSION_WARN_WORKING_DAYS": left}
    assert expansion_alerts_check()["warnings"] == 1


def test_each_limit_warns_once_the_stages_and_the_projects(p):
    D = dt.date
    pr = project(p, accepted_on=D(2026, 10, 5))  # new connection, single: the project's 22 days fall due 11-04
    pr = stage_advance(project=pr, user=p.manager, on=D(2026, 10, 6))
    pr = stage_advance(project=pr, user=p.manager, on=D(2026, 10, 7))  # supply plan reply: 15 days, due 10-28
    assert expansion_alerts_check(today=D(2026, 10, 26))["warnings"] == 1  # the plan reply's limit nears
    pr = stage_advance(project=pr, user=p.manager, on=D(2026, 10, 27))  # design review, in time
    assert expansion_alerts_check(today=D(2026, 11, 3))["warnings"] == 1  # now the project's own limit nears
    assert expansion_alerts_check(today=D(2026, 11, 3))["warnings"] == 0  # safe to run twice
    assert set(ProjectAlert.objects.values_list("stage", "level")) == {
        ("plan_reply", AlertLevel.WARNING),
        ("", AlertLevel.WARNING),
    }
    assert told(p.manager).count() == 2


def test_a_saturday_after_a_friday_due_date_is_no_breach(p):
    D = dt.date
    pr = project(p, kind=ProjectKind.NAME_CHANGE, new_name="新名称", accepted_on=D(2026, 11, 2))
    stage_advance(project=pr, user=p.manager, on=D(2026, 11, 6))  # energisation: 5 days, due Friday 11-13
    assert expansion_alerts_check(today=D(2026, 11, 14))["breaches"] == 0
    assert expansion_alerts_check(today=D(2026, 11, 16))["breaches"] == 1


def test_the_check_queries_do_not_grow_with_projects(p):
    def run() -> int:
        ProjectAlert.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            result = expansion_alerts_check()
        assert result["breaches"] == result["projects"]
        return len(queries)

    for _ in range(2):
        project(p, accepted_on=accepted(30))
    few = run()
    for _ in range(18):
        project(p, accepted_on=accepted(30))
    assert run() == few
