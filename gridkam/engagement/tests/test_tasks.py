"""Tasks: the open tasks of a user, marking one done, and the "My tasks" page."""

from __future__ import annotations

import datetime as dt

import pytest

from gridkam.engagement.models import Task, TaskStatus
from gridkam.engagement.services import TaskStateError, task_complete, tasks_open_for


def _task(p, assignee, **fields):
    return Task.objects.create(
        title=fields.pop("title", "回访"),
        customer=fields.pop("customer", p.a1),
        assignee=assignee,
        due_date=fields.pop("due_date", dt.date(2026, 7, 6)),
        **fields,
    )


def test_open_tasks_of_the_user(p):
    later = _task(p, p.manager, due_date=dt.date(2026, 8, 1))
    sooner = _task(p, p.manager, due_date=dt.date(2026, 7, 1))
    _task(p, p.manager, status=TaskStatus.DONE)
    _task(p, p.colleague, customer=p.a3)
    assert list(tasks_open_for(p.manager)) == [sooner, later]
    # A task on a customer the user no longer sees is not listed.
    _task(p, p.outsider, customer=p.a1)
    assert list(tasks_open_for(p.outsider)) == []


def test_complete_once(p):
    task = _task(p, p.manager)
    task_complete(task=task, user=p.manager, note="  已回访  ")
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.done_note == "已回访" and task.done_at
    with pytest.raises(TaskStateError):
        task_complete(task=task, user=p.manager, note="again")


def test_page_queries_constant(p, client_for, django_assert_num_queries):
    c = client_for(p.manager)
    _task(p, p.manager)
    c.get("/tasks/")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        c.get("/tasks/")
    for _k in range(10):
        _task(p, p.manager, account=p.a1.accounts.get())
    with CaptureQueriesContext(connection) as many:
        response = c.get("/tasks/")
    assert len(response.context["tasks"]) == 11
    assert len(many) == len(one)
