"""Owners hear of their plan items a week before they fall due, once, in bulk."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.engagement.choices import NotificationEvent, OccurrenceStatus
from gridkam.engagement.models import Notification, PlanOccurrence
from gridkam.engagement.plan_notices import occurrence_link, plan_due_notices
from gridkam.engagement.plans import plan_generate

from . import test_plans_support as support

special_plan = support.special_plan  # a fixture
templates = support.templates  # a fixture

# Special tier from 1 January 2026: a monthly visit by the manager falls due on 31 May.
NOTICE_DAY = dt.date(2026, 5, 24)


def due_on(day: dt.date):
    return PlanOccurrence.objects.filter(due_date=day, status=OccurrenceStatus.PLANNED, owner__isnull=False)


def test_the_owners_of_items_due_in_seven_days_are_told_once(p, special_plan):
    due = list(due_on(dt.date(2026, 5, 31)))
    assert due, "the special-tier template plans something due at the end of May"
    summary = plan_due_notices(today=NOTICE_DAY)
    assert summary == {"due": len(due), "notified": len(due)}
    sent = Notification.objects.filter(event=NotificationEvent.PLAN_ITEM_DUE)
    assert sorted((n.recipient_id, n.link) for n in sent) == sorted((o.owner_id, occurrence_link(o.pk)) for o in due)
    assert all(p.a1.name in n.title + n.body and "2026-05-31" in n.title for n in sent)
    # Again on the same day (a restarted beat, a manual run): nobody twice.
    assert plan_due_notices(today=NOTICE_DAY) == {"due": len(due), "notified": 0}
    assert sent.count() == len(due)


def test_done_cancelled_and_ownerless_items_are_not_noticed(p, special_plan):
    due = list(due_on(dt.date(2026, 5, 31)))
    first, *rest = due
    PlanOccurrence.objects.filter(pk=first.pk).update(status=OccurrenceStatus.DONE, done_on=NOTICE_DAY)
    PlanOccurrence.objects.filter(pk__in=[o.pk for o in rest]).update(owner=None)
    assert plan_due_notices(today=NOTICE_DAY) == {"due": 0, "notified": 0}


def test_the_query_count_does_not_grow_with_the_items(p, special_plan):
    with CaptureQueriesContext(connection) as one:
        assert plan_due_notices(today=NOTICE_DAY)["notified"] == 1
    for customer in (p.a2, p.a3, p.a1_sub):
        support.set_tier(customer, "special")
        plan_generate(customer=customer, year=2026, user=p.supervisor, today=support.NEW_YEAR)
    with CaptureQueriesContext(connection) as many:
        assert plan_due_notices(today=NOTICE_DAY)["notified"] == 3
    assert len(many) == len(one)


def test_the_command(p, special_plan, capsys):
    call_command("plan_due_notices", "--date", "2026-05-24", "--json")
    summary = json.loads(capsys.readouterr().out)
    assert summary["due"] == summary["notified"] > 0
    call_command("plan_due_notices", "--date", "2026-05-24")
    assert capsys.readouterr().out.strip()
    with pytest.raises(CommandError) as bad_date:
        call_command("plan_due_notices", "--date", "24/05/2026")
    assert bad_date.value.returncode == 2
    with pytest.raises(CommandError) as negative:
        call_command("plan_due_notices", "--days", "-1")
    assert negative.value.returncode == 1


def test_a_day_the_job_did_not_run_is_caught_up(p, special_plan):
    """Items falling due within the week are told the next time the job runs, not only on the seventh day."""
    due = list(due_on(dt.date(2026, 5, 31)))
    assert plan_due_notices(today=dt.date(2026, 5, 26))["notified"] == len(due)  # five days ahead, not seven
    assert plan_due_notices(today=dt.date(2026, 5, 27))["notified"] == 0
