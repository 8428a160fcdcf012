"""What people do with their tasks."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from gridkam.servicedesk.permissions import is_staff_user, sees_customer

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


def reassign_errors(*, reason: str, target, customer, holder_id) -> tuple[str, dict]:
    """The checks every move of work to another person shares: a reason, and a staff member who sees the customer
    and does not hold the work already. Returns the stripped reason and the field errors."""
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = _("Say why the work is moved.")
    if target is None or not is_staff_user(target) or not sees_customer(target, customer):
        errors["to_user"] = _("Choose a staff member who serves this customer.")
    elif target.pk == holder_id:
        errors["to_user"] = _("The item is already with this person.")
    return reason, errors


@transaction.atomic
def task_reassign(*, task: Task, assignee, user, reason: str) -> Task:
    """Give an open task to another staff member who sees its customer; the reason (and who moved it) is added
    as a last line of the task's detail, so that the new assignee reads why it is theirs."""
    reason, errors = reassign_errors(reason=reason, target=assignee, customer=task.customer, holder_id=task.assignee_id)
    if task.status != TaskStatus.OPEN:
        errors["id"] = _("This task is not open any more.")
    if errors:
        raise ValidationError(errors)
    line = _("Reassigned from %(from)s to %(to)s by %(by)s on %(day)s: %(reason)s") % {
        "from": str(task.assignee) if task.assignee_id else "—",
        "to": str(assignee),
        "by": str(user),
        "day": timezone.localdate().isoformat(),
        "reason": reason,
    }
    task.assignee = assignee
    task.detail = f"{task.detail.rstrip()}\n{line}" if task.detail.strip() else line
    task.save(update_fields=["assignee", "detail"])
    from .notifications import task_assigned_notify

    task_assigned_notify(tasks=[task], actor=user)
    return task
