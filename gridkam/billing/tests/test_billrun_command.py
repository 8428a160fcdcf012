# ruff: noqa: F811 (the shared fixtures are imported from test_billrun and named as arguments)
"""``bill_run`` the command (its --json document, exit statuses, progress) and the background run on Celery
(eager, as without a broker; and chunk by chunk as workers would run it): progress on the run row, a run started
twice, a failing chunk, runs whose worker died."""

from __future__ import annotations

import datetime as dt
import io
import json
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from gridkam.billing import billrun
from gridkam.billing.billrun import (
    bill_run_background_chunk,
    bill_run_background_start,
    bill_run_enqueue,
    bill_runs_interrupted_mark,
)
from gridkam.billing.choices import RunStatus
from gridkam.billing.models import Bill, BillRun
from gridkam.customers.models import ElectricityAccount
from gridkam.tariffs.models import MonthlyUsage

from .test_billrun import MONTH, account_of, billing, samples, usage_for  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def run_command(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("bill_run", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_json_follows_the_contract(billing):
    no_usage = account_of(billing.a2)
    MonthlyUsage.objects.filter(account=no_usage).delete()
    out, _err = run_command("--period", "2026-03", "--json")
    result = json.loads(out)
    assert set(result) >= {"period", "created", "replaced", "skipped", "bills"}
    assert result["period"] == "2026-03"
    billed = ElectricityAccount.objects.count() - 1
    assert result["created"] == billed and result["replaced"] == 0
    assert result["skipped"] == [
        {"account_no": no_usage.account_no, "reason": "no_usage", "message": result["skipped"][0]["message"]}
    ]
    assert len(result["bills"]) == billed
    for row in result["bills"]:
        assert set(row) == {"account_no", "status", "total"} and row["status"] == "draft"
        bill = Bill.objects.get(account__account_no=row["account_no"], period=MONTH)
        assert row["total"] == f"{bill.total:.2f}"

    again = json.loads(run_command("--period", "2026-03", "--json")[0])
    assert again["created"] == 0 and again["replaced"] == billed


def test_only_the_accounts_named(billing):
    a1, a2 = account_of(billing.a1), account_of(billing.a2)
    out, _ = run_command("--period", "2026-03", "--account", a1.account_no, "--account", a2.account_no, "--json")
    assert sorted(row["account_no"] for row in json.loads(out)["bills"]) == sorted([a1.account_no, a2.account_no])


def test_human_output_summarises_and_lists_the_accounts_not_billed(billing):
    no_usage = account_of(billing.a2)
    MonthlyUsage.objects.filter(account=no_usage).delete()
    out, _ = run_command("--period", "2026-03")
    assert no_usage.account_no in out and "#" in out


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["--period", "2026-13"], 1),
        (["--period", "March"], 1),
        (["--period", "2026-03", "--account", "NOPE"], 1),
        ([], 2),
        (["--period", "2026-03", "--user", "nobody"], 2),
    ],
)
def test_exit_statuses(billing, args, status):
    with pytest.raises(CommandError) as caught:
        run_command(*args, "--json")
    assert caught.value.returncode == status
    assert not Bill.objects.exists() and not BillRun.objects.exists()


def test_rejected_input_names_the_field_in_json(billing):
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("bill_run", "--period", "2026-03", "--account", "NOPE", "--json", stdout=out)
    document = json.loads(out.getvalue())
    assert document["ok"] is False and "NOPE" in document["errors"]["account_nos"][0]


def test_an_unknown_option_is_a_usage_error_on_the_command_line(billing):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "manage.py", "bill_run", "--period", "2026-03", "--no-such-option"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2


def test_background_without_a_broker_runs_now_and_reports_the_run(billing, transactional_db):
    # In a real transaction: the run is queued, committed, and run eagerly at that commit.
    out, _ = run_command("--period", "2026-03", "--background", "--json")
    result = json.loads(out)
    assert result["created"] == ElectricityAccount.objects.count()
    assert BillRun.objects.get().status == RunStatus.DONE


def test_background_with_a_broker_prints_the_queued_run(billing, django_capture_on_commit_callbacks):
    from celery import current_app

    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        with django_capture_on_commit_callbacks() as sent:
            out, _ = run_command("--period", "2026-03", "--background", "--json")
    finally:
        current_app.conf.task_always_eager = eager
    run = BillRun.objects.get()
    assert json.loads(out) == {"run": run.pk, "status": "queued"} and len(sent) == 1
    assert not Bill.objects.exists()


# -- background runs -------------------------------------------------------------------------------------------


def test_an_eager_background_run_bills_chunk_by_chunk(billing, settings, django_capture_on_commit_callbacks):
    settings.GRIDKAM = {**settings.GRIDKAM, "BILL_RUN_CHUNK": 2}
    with django_capture_on_commit_callbacks(execute=True):
        run = bill_run_enqueue(period="2026-03", user=billing.supervisor)
        assert run.status == RunStatus.QUEUED
    run.refresh_from_db()
    n = ElectricityAccount.objects.visible_to(billing.supervisor).count()
    assert run.status == RunStatus.DONE and run.created == n and run.chunks == run.chunks_done == (n + 1) // 2
    assert run.finished_at is not None and run.created_by == billing.supervisor
    assert Bill.objects.filter(run=run).count() == n


def test_workers_report_progress_on_the_run_row(billing, settings):
    settings.GRIDKAM = {**settings.GRIDKAM, "BILL_RUN_CHUNK": 2}
    run = BillRun.objects.create(period=MONTH, status=RunStatus.QUEUED)
    with mock.patch("gridkam.billing.tasks.bill_run_chunk_task.delay") as send:
        chunks = bill_run_background_start(run_id=run.pk, user_id=None)
    assert send.call_count == len(chunks) > 1
    run.refresh_from_db()
    assert (run.status, run.chunks_done, run.chunks) == (RunStatus.RUNNING, 0, len(chunks))
    assert billrun.run_progress(run)["percent"] == 0
    # Started again (a message delivered twice): nothing more is sent.
    assert bill_run_background_start(run_id=run.pk, user_id=None) == []
    for done, chunk in enumerate(chunks, start=1):
        bill_run_background_chunk(run_id=run.pk, account_ids=chunk, user_id=None)
        run.refresh_from_db()
        assert run.chunks_done == done
    assert run.status == RunStatus.DONE and billrun.run_progress(run) == {
        "chunks": len(chunks),
        "chunks_done": len(chunks),
        "percent": 100,
        "active": False,
    }


def test_a_failing_chunk_fails_the_run_and_keeps_what_was_written(billing, settings):
    settings.GRIDKAM = {**settings.GRIDKAM, "BILL_RUN_CHUNK": 2}
    run = BillRun.objects.create(period=MONTH, status=RunStatus.QUEUED)
    with mock.patch("gridkam.billing.tasks.bill_run_chunk_task.delay"):
        first, second, *rest = bill_run_background_start(run_id=run.pk, user_id=None)
    bill_run_background_chunk(run_id=run.pk, account_ids=first, user_id=None)
    with mock.patch.object(billrun, "bills_save", side_effect=RuntimeError("disk full")), pytest.raises(RuntimeError):
        bill_run_background_chunk(run_id=run.pk, account_ids=second, user_id=None)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "disk full" in run.failure
    assert Bill.objects.filter(run=run).count() == len(first)
    # Later chunks of a failed run are not billed.
    assert bill_run_background_chunk(run_id=run.pk, account_ids=rest[0], user_id=None) is None


def test_runs_without_progress_are_marked_interrupted(billing):
    old = timezone.now() - dt.timedelta(hours=2)
    stale = BillRun.objects.create(period=MONTH, status=RunStatus.RUNNING)
    BillRun.objects.filter(pk=stale.pk).update(updated_at=old)
    queued = BillRun.objects.create(period=MONTH, status=RunStatus.QUEUED)
    BillRun.objects.filter(pk=queued.pk).update(created_at=old)
    alive = BillRun.objects.create(period=MONTH, status=RunStatus.RUNNING, updated_at=timezone.now())
    done = BillRun.objects.create(period=MONTH, status=RunStatus.DONE, updated_at=old)
    assert sorted(bill_runs_interrupted_mark()) == sorted([stale.pk, queued.pk])
    statuses = dict(BillRun.objects.values_list("pk", "status"))
    assert statuses == {
        stale.pk: RunStatus.FAILED,
        queued.pk: RunStatus.FAILED,
        alive.pk: RunStatus.RUNNING,
        done.pk: RunStatus.DONE,
    }
    assert BillRun.objects.get(pk=stale.pk).failure


def test_a_run_that_cannot_be_queued_is_failed_not_left_waiting(billing, django_capture_on_commit_callbacks):
    with (
        mock.patch("gridkam.billing.tasks.bill_run_start_task.delay", side_effect=ConnectionError("no broker")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        run = bill_run_enqueue(period="2026-03")
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "no broker" in run.failure
