"""``import_readings FILE [--format long|wide96] [--dry-run] [--skip-invalid] [--background] [--json] [--user NAME]``:
import a file of 15-minute readings (CSV or XLSX) as one batch; the format is read from the header when not given.

``--background`` queues a copy of the file for a Celery worker and prints the batch id (``--json``:
``{"batch": id, "status": "queued"}``). Without a broker (CELERY_BROKER_URL unset) the queued import runs here and
now, eagerly, and the command reports it as it reports any import.

Exit status, as import_master: 0 done, 1 rejected input (nothing written), 2 usage error, raised as
``CommandError(returncode=…)`` so ``call_command`` callers see it too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from celery import current_app
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from tqdm import tqdm

from gridkam.metering.choices import BatchStatus, FailureReason, FileFormat
from gridkam.metering.loading import FILE_LINE, ImportOutcome, file_format_guess, readings_import
from gridkam.metering.models import ImportBatch
from gridkam.metering.progress import progress_clear, progress_reporter
from gridkam.metering.services import import_batch_fail, import_batch_start, readings_import_enqueue

# Below this size the import is over before a progress bar would be read.
PROGRESS_MIN_BYTES = 1 << 20


class Command(BaseCommand):
    help = "Import 15-minute readings from a CSV or XLSX file; nothing is written if any row is rejected."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8 with or without BOM, or GB18030) or XLSX file")
        # Checked in handle(), not by argparse choices, so a wrong format exits with status 2 from call_command too.
        parser.add_argument("--format", dest="file_format", help="long or wide96 (default: read from the header)")
        parser.add_argument("--dry-run", action="store_true", help="validate and count without writing")
        parser.add_argument("--skip-invalid", action="store_true", help="write the valid rows, list the rejected ones")
        parser.add_argument(
            "--background",
            action="store_true",
            help="queue the import for a Celery worker and print its batch id (without a broker: run it now)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        parser.add_argument("--user", help="username recorded as the importer")

    def handle(self, *args, **options):
        file_format = options["file_format"]
        if file_format is not None and file_format not in FileFormat.values:
            raise CommandError(
                _("Unknown format %(format)s; use one of %(formats)s.")
                % {"format": file_format, "formats": ", ".join(FileFormat.values)},
                returncode=2,
            )
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("Cannot read %(file)s.") % {"file": path}, returncode=2)
        author = None
        if options["user"]:
            author = get_user_model().objects.filter(username=options["user"]).first()
            if author is None:
                raise CommandError(_("No user %(username)s.") % {"username": options["user"]}, returncode=2)
        if options["background"] and options["dry_run"]:
            raise CommandError(_("A dry run is not run in the background."), returncode=2)
        # A header that names neither format goes to the parser as "long", which rejects it naming the columns.
        file_format = file_format or file_format_guess(path) or FileFormat.LONG

        if options["background"]:
            batch = readings_import_enqueue(
                source=path,
                file_name=path.name,
                file_format=file_format,
                user=author,
                skip_invalid=options["skip_invalid"],
                move=False,
            )
            if not current_app.conf.task_always_eager:
                self._queued(batch, as_json=options["json"])
                return
            # Eager: the import ran when the batch was committed; report it like any other.
            batch.refresh_from_db()
            if batch.status == BatchStatus.FAILED:
                raise CommandError(
                    _("Import #%(batch)d failed: %(reason)s")
                    % {"batch": batch.pk, "reason": batch.get_failure_display()},
                    returncode=1,
                )
            self._finish(path.name, _outcome_of(batch), options)
            return

        # The batch row first, so that the import's progress is reported under its id (a dry run writes none).
        batch = None
        if not options["dry_run"]:
            batch = import_batch_start(
                file_name=path.name,
                file_format=file_format,
                skip_invalid=options["skip_invalid"],
                user=author,
                queued=False,
            )
        report = progress_reporter(batch.pk) if batch is not None else None

        bar: tqdm | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if report is not None:
                report(done, total)
            if total < PROGRESS_MIN_BYTES:
                return
            if bar is None:
                # disable=None: no bar when stderr is not a terminal (cron, CI, pipes).
                bar = tqdm(total=total, unit="B", unit_scale=True, file=sys.stderr, disable=None, leave=False)
            bar.update(done - bar.n)

        try:
            outcome = readings_import(
                data=path,
                file_name=path.name,
                file_format=file_format,
                user=author,
                dry_run=options["dry_run"],
                skip_invalid=options["skip_invalid"],
                progress=progress,
                batch=batch,
            )
        except BaseException:
            if batch is not None:
                import_batch_fail(batch_id=batch.pk, reason=FailureReason.ERROR)
            raise
        finally:
            if bar is not None:
                bar.close()
            if batch is not None:
                progress_clear(batch.pk)
        self._finish(path.name, outcome, options)

    def _queued(self, batch: ImportBatch, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps({"batch": batch.pk, "status": BatchStatus.QUEUED.value}))
        else:
            self.stdout.write(_("Import #%(batch)d is queued.") % {"batch": batch.pk})

    def _finish(self, name: str, outcome: ImportOutcome, options: dict) -> None:
        # Rejected as a whole: any rejected line without --skip-invalid, or a file-level error (line 0) regardless.
        file_rejected = bool(outcome.rejected) and (
            not options["skip_invalid"] or any(r["line"] == FILE_LINE for r in outcome.rejected)
        )
        if options["json"]:
            self.stdout.write(json.dumps(outcome.as_dict(), ensure_ascii=False))
        else:
            self._report(name, outcome, dry_run=options["dry_run"], file_rejected=file_rejected)
        if file_rejected:
            count = len(outcome.rejected)
            message = ngettext(
                "%(count)d line rejected; nothing was written.", "%(count)d lines rejected; nothing was written.", count
            )
            raise CommandError(message % {"count": count}, returncode=1)

    def _report(self, name: str, outcome: ImportOutcome, *, dry_run: bool, file_rejected: bool) -> None:
        summary = _(
            "%(file)s: %(rows)d readings, %(inserted)d inserted, %(updated)d updated, %(unchanged)d unchanged."
        ) % {
            "file": name,
            "rows": outcome.rows,
            "inserted": outcome.inserted,
            "updated": outcome.updated,
            "unchanged": outcome.unchanged,
        }
        if file_rejected:
            self.stdout.write(self.style.ERROR(_("%(file)s: rejected, nothing was written.") % {"file": name}))
        for rejected in outcome.rejected:
            for message in rejected["errors"]:
                where = _("line %(line)d") % {"line": rejected["line"]} if rejected["line"] else _("file")
                self.stdout.write(f"{where}: {message}")
        if outcome.gaps:
            self.stdout.write(
                ngettext("%(count)d gap in the data:", "%(count)d gaps in the data:", len(outcome.gaps))
                % {"count": len(outcome.gaps)}
            )
            for gap in outcome.gaps:
                self.stdout.write(
                    _("%(point)s: %(intervals)d intervals missing, %(start)s to %(end)s")
                    % {
                        "point": gap["metering_point"],
                        "intervals": gap["intervals"],
                        "start": gap["from"],
                        "end": gap["to"],
                    }
                )
        if outcome.committed:
            self.stdout.write(self.style.SUCCESS(summary + " " + _("Import #%(batch)d.") % {"batch": outcome.batch}))
        elif dry_run and not file_rejected:
            self.stdout.write(summary)
            self.stdout.write(self.style.WARNING(_("Dry run: nothing was written.")))


def _outcome_of(batch: ImportBatch) -> ImportOutcome:
    """The outcome of a finished import, read back from its batch (a background import run eagerly)."""
    return ImportOutcome(
        rows=batch.rows,
        inserted=batch.inserted,
        updated=batch.updated,
        unchanged=batch.unchanged,
        rejected=batch.rejected,
        committed=batch.status == BatchStatus.COMMITTED,
        batch=batch.pk,
        gaps=batch.gaps,
    )
