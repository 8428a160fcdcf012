"""``import_master FILE --kind org_units|accounts|contacts|monthly_usage [--dry-run] [--json]``: all-or-nothing
import of master data and accounts' monthly billing quantities from CSV or XLSX (docs/import.md).

Exit status (DESIGN.md contract): 0 done, 1 rejected input (nothing written), 2 usage error. Both
non-zero statuses are raised as ``CommandError(returncode=…)``, so ``call_command`` callers and
tests see the status on the exception, and the command line gets it as the process status.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from tqdm import tqdm

from gridkam.core.commands import file_bytes, user_named
from gridkam.customers.importing import COLUMNS, ImportResult, master_data_import

# Below this many rows the import is over before a progress bar would be read.
PROGRESS_MIN_ROWS = 1000


class Command(BaseCommand):
    help = (
        "Import org units, accounts, contacts or monthly usage from a CSV or XLSX file; "
        "nothing is written if any row is rejected."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8 with or without BOM, or GB18030) or XLSX file")
        # Checked in handle(), not by argparse choices, so that a wrong kind exits with status 2
        # from call_command too.
        parser.add_argument("--kind", required=True, help=", ".join(COLUMNS))
        parser.add_argument("--dry-run", action="store_true", help="validate and report without writing")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        parser.add_argument("--user", help="username recorded as the author of the changes in the history")

    def handle(self, *args, **options):
        kind = options["kind"]
        if kind not in COLUMNS:
            raise CommandError(
                _("Unknown kind %(kind)s; use one of %(kinds)s.") % {"kind": kind, "kinds": ", ".join(COLUMNS)},
                returncode=2,
            )
        path, data = file_bytes(options["file"])
        author = user_named(options["user"])

        bar: tqdm | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if total < PROGRESS_MIN_ROWS:
                return
            if bar is None:
                # disable=None: no bar when stderr is not a terminal (cron, CI, pipes).
                bar = tqdm(total=total, unit=_("rows"), file=sys.stderr, disable=None, leave=False)
            bar.update(done - bar.n)

        try:
            result = master_data_import(
                kind=kind,
                data=data,
                filename=path.name,
                dry_run=options["dry_run"],
                user=author,
                progress=progress,
            )
        finally:
            if bar is not None:
                bar.close()

        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
        else:
            self._report(path.name, result, dry_run=options["dry_run"])
        if result.rejected:
            count = len(result.rejected)
            message = ngettext(
                "%(count)d line rejected; nothing was written.", "%(count)d lines rejected; nothing was written.", count
            )
            raise CommandError(message % {"count": count}, returncode=1)

    def _report(self, name: str, result: ImportResult, *, dry_run: bool) -> None:
        summary = _("%(file)s: %(rows)d rows, %(created)d created, %(updated)d updated, %(unchanged)d unchanged.") % {
            "file": name,
            "rows": result.rows,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
        }
        if result.rejected:
            self.stdout.write(self.style.ERROR(_("%(file)s: rejected, nothing was written.") % {"file": name}))
            for rejected in result.rejected:
                for key, messages in rejected["errors"].items():
                    for message in messages:
                        self.stdout.write(
                            _("line %(line)d, %(column)s: %(message)s")
                            % {"line": rejected["line"], "column": key, "message": message}
                        )
        elif dry_run:
            self.stdout.write(summary)
            self.stdout.write(self.style.WARNING(_("Dry run: nothing was written.")))
        else:
            self.stdout.write(self.style.SUCCESS(summary))
