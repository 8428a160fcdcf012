"""Health alerts: raised only on entering unhealthy, one open alert per account at a time, a task and a notification
for the account manager, closed when the task is marked done; the command, the Celery task and the beat entry."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from gridkam.customers.choices import AssignmentRole
from gridkam.customers.models import AccountAssignment
from gridkam.engagement import health
from gridkam.engagement.choices import HealthDriver, NotificationEvent
from gridkam.engagement.models import HealthAlert, HealthAlertStatus, HealthScore, Notification, Task, TaskStatus
from gridkam.engagement.services import task_complete

from .health_support import D, make_unhealthy, risk

DAY = dt.timedelta(days=1)


@pytest.fixture
def fee_only(settings):
    """Health follows the fee-recovery risk alone: severe 10 and high 35 are unhealthy, medium 70 watch, low 100."""
    settings.GRIDKAM = {
        **settings.GRIDKAM,
        "HEALTH_WEIGHTS": {d: 0 for d in HealthDriver.values} | {"fee_risk": 1},
        "HEALTH_ALERT_DAYS": 5,
    }


@pytest.fixture
def account(p):
    return p.a1.accounts.get()


def score(day: dt.date, account=None) -> dict:
    return health.health_score_all(day=day, account_ids=None if account is None else [account.pk])


def test_entering_unhealthy_raises_an_alert_a_task_and_a_notification(p, account, fee_only):
    risk(account, D - DAY, "severe")
    summary = score(D)
    assert summary["alerts"] == 1 and summary["levels"]["unhealthy"] == 1
    alert = HealthAlert.objects.get()
    latest = HealthScore.objects.get(account=account, is_latest=True)
    assert alert.account == account and alert.status == HealthAlertStatus.OPEN and alert.raised_on == D
    assert alert.score == latest and alert.previous_level == ""  # no previous score
    task = alert.task
    assert task.assignee == p.manager and task.source == "health_alert" and task.status == TaskStatus.OPEN
    assert task.customer == p.a1 and task.account == account and task.due_date == D + 5 * DAY
    assert task.link == reverse("health:account", args=[account.pk]) == f"/health/accounts/{account.pk}/"
    assert account.account_no in task.title
    note = Notification.objects.get(event=NotificationEvent.HEALTH_ALERT)
    assert note.recipient == p.manager and note.link == task.link
    assert account.account_no in note.title and account.account_no in note.body
    assert not Notification.objects.exclude(recipient=p.manager).exists()


def test_alert_days_come_from_settings(settings, account, fee_only):
    settings.GRIDKAM = {**settings.GRIDKAM, "HEALTH_ALERT_DAYS": 2}
    risk(account, D - DAY, "high")
    score(D)
    assert Task.objects.get(source="health_alert").due_date == D + 2 * DAY


def test_alerts_only_on_entering_unhealthy_one_open_at_a_time(p, account, fee_only):
    risk(account, D - 3 * DAY, "medium")
    score(D - 2 * DAY)  # watch
    assert HealthAlert.objects.count() == 0
    risk(account, D - 2 * DAY, "high")
    score(D - DAY)  # watch → unhealthy
    alert = HealthAlert.objects.get()
    assert alert.previous_level == "watch" and alert.raised_on == D - DAY
    score(D)  # still unhealthy: nothing new
    score(D)  # the same day again: nothing new
    assert HealthAlert.objects.count() == 1 and Task.objects.filter(source="health_alert").count() == 1
    risk(account, D, "low")
    score(D + DAY)  # recovered: the alert stays open until its task is done
    alert.refresh_from_db()
    assert alert.status == HealthAlertStatus.OPEN
    risk(account, D + DAY, "severe")
    score(D + 2 * DAY)  # unhealthy again with the alert still open: no second alert
    assert HealthAlert.objects.count() == 1
    assert Notification.objects.filter(event=NotificationEvent.HEALTH_ALERT).count() == 1
    task_complete(task=alert.task, user=p.manager, note="已走访客户")
    alert.refresh_from_db()
    assert alert.status == HealthAlertStatus.CLOSED and alert.closed_at is not None
    score(D + 3 * DAY)  # still unhealthy, not entering: no new alert
    assert HealthAlert.objects.count() == 1
    risk(account, D + 3 * DAY, "low")
    score(D + 4 * DAY)
    risk(account, D + 4 * DAY, "severe")
    score(D + 5 * DAY)  # a new episode: a new alert
    assert HealthAlert.objects.count() == 2
    assert HealthAlert.objects.filter(status=HealthAlertStatus.OPEN).get().raised_on == D + 5 * DAY


def test_an_alert_closed_on_its_day_is_not_raised_again_that_day(p, account, fee_only):
    risk(account, D - DAY, "severe")
    score(D)
    task_complete(task=HealthAlert.objects.get().task, user=p.manager, note="已处理")
    score(D)
    assert HealthAlert.objects.count() == 1 and HealthAlert.objects.get().status == HealthAlertStatus.CLOSED


def test_rescoring_the_day_keeps_the_alert_linked_to_the_new_score(account, fee_only):
    risk(account, D - DAY, "severe")
    score(D)
    first = HealthAlert.objects.get().score_id
    score(D)
    alert = HealthAlert.objects.get()
    assert alert.score_id is not None and alert.score_id != first
    assert alert.score == HealthScore.objects.get(account=account, scored_on=D)


def test_a_past_day_scored_raises_no_alert(account, fee_only):
    score(D)  # healthy today
    risk(account, D - 10 * DAY, "severe")
    score(D - 5 * DAY)  # unhealthy back then, but that is not the account's latest score
    assert HealthAlert.objects.count() == 0


def test_done_other_tasks_close_no_alert(p, account, fee_only):
    risk(account, D - DAY, "severe")
    score(D)
    other = Task.objects.create(title="其他任务", customer=p.a1, assignee=p.manager, due_date=D, source="risk_warning")
    task_complete(task=other, user=p.manager)
    assert HealthAlert.objects.get().status == HealthAlertStatus.OPEN


def test_an_account_without_a_manager_gets_an_unassigned_task(p, account, fee_only):
    AccountAssignment.objects.filter(customer=p.a1, role=AssignmentRole.MANAGER).update(end_date=D - 30 * DAY)
    risk(account, D - DAY, "severe")
    score(D)
    assert HealthAlert.objects.get().task.assignee is None
    assert not Notification.objects.filter(event=NotificationEvent.HEALTH_ALERT).exists()


def test_the_alert_follows_the_current_manager(p, account, fee_only):
    AccountAssignment.objects.filter(customer=p.a1, role=AssignmentRole.MANAGER).update(end_date=D - 30 * DAY)
    AccountAssignment.objects.create(customer=p.a1, role=AssignmentRole.MANAGER, user=p.colleague, start_date=D)
    risk(account, D - DAY, "severe")
    score(D)
    assert HealthAlert.objects.get().task.assignee == p.colleague
    assert Notification.objects.get(event=NotificationEvent.HEALTH_ALERT).recipient == p.colleague


def test_default_weights_alert_on_the_unhealthy_data(p, account):
    make_unhealthy(account)
    summary = score(D)
    assert summary["alerts"] == 1 and summary["levels"]["unhealthy"] == 1
    row = HealthScore.objects.get(account=account)
    assert row.level == "unhealthy" and float(row.score) == 11.5
    assert {f["driver"]: f["points"] for f in row.factors} == {
        "satisfaction": 0.0,
        "complaints": 10.0,
        "sla_breaches": 20.0,
        "fee_risk": 10.0,
        "consumption_trend": 15.0,
        "plan_delivery": 15.0,
        "nps": None,
    }


# --- Command, Celery task, beat ----------------------------------------------------------------------------


def run(*args) -> dict:
    out = io.StringIO()
    call_command("health_score", *args, stdout=out)
    return json.loads(out.getvalue())


def test_health_score_command_json(p, account, fee_only):
    risk(account, D - DAY, "severe")
    summary = run("--date", "2026-07-01", "--json")
    assert summary["scored_on"] == "2026-07-01" and summary["accounts"] == 5 and summary["alerts"] == 1
    assert summary["levels"] == {"healthy": 4, "watch": 0, "at_risk": 0, "unhealthy": 1}
    assert set(summary) == {"scored_on", "accounts", "levels", "alerts", "seconds"}
    only = run("--date", "2026-07-02", "--account", account.account_no, "--json")
    assert only["accounts"] == 1 and only["alerts"] == 0
    assert HealthScore.objects.filter(scored_on=dt.date(2026, 7, 2)).count() == 1


def test_health_score_command_text(p):
    out = io.StringIO()
    call_command("health_score", "--date", "2026-07-01", stdout=out)
    assert "5" in out.getvalue() and HealthScore.objects.count() == 5


@pytest.mark.parametrize("args", [("--date", "2026-13-01"), ("--date", "yesterday"), ("--account", "NOPE")])
def test_health_score_command_rejects_input(p, args):
    with pytest.raises(CommandError) as caught:
        call_command("health_score", *args)
    assert caught.value.returncode == 1
    assert HealthScore.objects.count() == 0


def test_health_score_command_usage_error_exits_2():
    done = subprocess.run(
        [sys.executable, "manage.py", "health_score", "--no-such-option"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2


def test_celery_task_scores(p, account, fee_only):
    from gridkam.engagement.tasks_health import health_score_all_task

    risk(account, D - DAY, "severe")
    result = health_score_all_task.delay("2026-07-01").get()
    assert result["accounts"] == 5 and result["alerts"] == 1
    only = health_score_all_task.delay("2026-07-02", [account.pk]).get()
    assert only["accounts"] == 1


def test_beat_runs_nightly_after_the_risk_scoring():
    beat = django_settings.CELERY_BEAT_SCHEDULE
    health_entry = next(e for e in beat.values() if e["task"] == "engagement.health_score_all")
    risk_entry = next(e for e in beat.values() if e["task"] == "billing.risk_score_all")
    assert health_entry["schedule"].hour == {3} and health_entry["schedule"].minute == {0}
    assert (min(risk_entry["schedule"].hour), min(risk_entry["schedule"].minute)) < (3, 0)
