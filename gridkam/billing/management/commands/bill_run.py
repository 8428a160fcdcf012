"""``bill_run --period YYYY-MM [--account NO ...] [--json] [--background] [--user NAME]``: bill a month.

Every account that is not closed (or only those named) gets a draft bill from its quantities of the month, its
contract terms and the tariff version in effect on the first day; drafts of the month are replaced, issued bills
left alone; accounts that cannot be billed are listed with the reason. ``--json`` prints
``{"period", "created", "replaced", "skipped": [{"account_no", "reason", "message"}], "bills": [{"account_no",
"status", "total"}]}`` (and the run's id and status).

``--background`` queues the run for the Celery workers and prints its id (``--json``: ``{"run": id, "status":
"queued"}``); without a broker it runs here and now and is reported like any run.

Exit status: 0 done, 1 rejected input (a bad month, unknown account numbers: nothing written) or a failed run,
2 usage error.
"""

from __future__ import annotations

import json
import sys

from celery import current_app
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from gridkam.billing.billrun import bill_run, bill_run_enqueue, bill_run_result, period_parse
from gridkam.billing.choices import RunStatus
from gridkam.billing.models import BillRun


class Command(BaseCommand):
    help = "Bill a month: a draft bill for every account that is not closed, or for the accounts named."

    def add_arguments(self, parser):
        # Checked in handle(), not by argparse, so that a missing month exits with status 2 from call_command too.
        parser.add_argument("--period", help="the billing month, YYYY-MM (required)")
        parser.add_argument(
            "--account", dest="accounts", action="append", default=[], help="bill only this account number (repeat)"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        parser.add_argument(
            "--background",
            action="store_true",
            help="queue the run for the Celery workers and print its id (without a broker: run it now)",
        )
        parser.add_argument("--user", help="username recorded as the one who started the run")

    def handle(self, *args, **options):
        if not options["period"]:
            raise CommandError(_("Give the month with --period YYYY-MM."), returncode=2)
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(_("No user %(username)s.") % {"username": options["user"]}, returncode=2)
        try:
            period = period_parse(options["period"])
            if options["background"]:
                run = bill_run_enqueue(period=period, account_nos=options["accounts"], user=user)
            else:
                run = self._run(period, options["accounts"], user, quiet=options["json"])
        except ValidationError as exc:
            self._rejected(exc, as_json=options["json"])
            raise CommandError(_("The input was rejected; nothing was written."), returncode=1) from None
        if options["background"]:
            if not current_app.conf.task_always_eager:
                self._queued(run, as_json=options["json"])
                return
            run.refresh_from_db()
        result = bill_run_result(run)
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
        else:
            self._report(run, result)
        if run.status == RunStatus.FAILED:
            raise CommandError(
                _("Bill run #%(run)d failed: %(failure)s") % {"run": run.pk, "failure": run.failure}, returncode=1
            )

    def _run(self, period, accounts, user, *, quiet: bool) -> BillRun:
        bar: tqdm | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if quiet or total == 0:
                return
            if bar is None:
                # disable=None: no bar when stderr is not a terminal (cron, CI, pipes).
                bar = tqdm(total=total, unit=_("accounts"), file=sys.stderr, disable=None, leave=False)
            bar.update(done - bar.n)

        try:
            return bill_run(period=period, account_nos=accounts, user=user, progress=progress)
        finally:
            if bar is not None:
                bar.close()

    def _rejected(self, exc: ValidationError, *, as_json: bool) -> None:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        if as_json:
            self.stdout.write(json.dumps({"ok": False, "errors": errors}, ensure_ascii=False))
            return
        for field, messages in errors.items():
            for message in messages:
                self.stderr.write(f"{field}: {message}")

    def _queued(self, run: BillRun, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps({"run": run.pk, "status": RunStatus.QUEUED.value}))
        else:
            self.stdout.write(_("Bill run #%(run)d is queued.") % {"run": run.pk})

    def _report(self, run: BillRun, result: dict) -> None:
        for entry in result["skipped"]:
            self.stdout.write(f"{entry['account_no']}: {entry['message']}")
        summary = _(
            "Bill run #%(run)d for %(month)s: %(created)d bills created, %(replaced)d drafts replaced, "
            "%(skipped)d accounts not billed."
        ) % {
            "run": run.pk,
            "month": result["period"],
            "created": result["created"],
            "replaced": result["replaced"],
            "skipped": len(result["skipped"]),
        }
        style = self.style.SUCCESS if run.status == RunStatus.DONE else self.style.ERROR
        self.stdout.write(style(summary))
