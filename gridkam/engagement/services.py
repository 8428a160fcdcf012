"""What people do with their tasks."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Task, TaskStatus


class TaskStateError(Exception):
    """The task is not open any more."""


# Sent (``task``, ``user``) when a task is marked done, in the same transaction: the part that raised the task
# closes what it raised it for (billing: the risk warning).
task_done = Signal()


def tasks_open_for(user) -> QuerySet[Task]:
    """The user's open tasks, soonest due first (only tasks whose customer the user still sees)."""
    return (
        Task.objects.visible_to(user)
        .open()
        .filter(assignee=user)
        .select_related("customer", "account")
        .order_by("due_date", "pk")
    )


@transaction.atomic
def task_complete(*, task: Task, user, note: str = "") -> Task:
    """Mark an open task done with a note of what was done (and, through ``task_done``, what raised it)."""
    if task.status != TaskStatus.OPEN:
        raise TaskStateError(_("This task is not open any more."))
    task.status = TaskStatus.DONE
    task.done_at = timezone.now()
    task.done_note = (note or "").strip()
    task.save(update_fields=["status", "done_at", "done_note"])
    task_done.send(sender=Task, task=task, user=user)
    return task
