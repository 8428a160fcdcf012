"""``import_billing --kind bills|payments FILE [--dry-run] [--json] [--user NAME]``: all-or-nothing import of
the billing system's bills or payments from CSV or XLSX (docs/billing-import.md).

Exit status (DESIGN.md contract): 0 done, 1 rejected input (nothing written), 2 usage error, raised as
``CommandError(returncode=…)`` so that ``call_command`` callers see it too. Without ``--user`` the import
sees every account (the operator's run); with it, only the accounts that user may see.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from gridkam.billing.imports import KINDS, BillingImportResult, billing_import
from gridkam.core.commands import file_bytes, user_named


class Command(BaseCommand):
    help = (
        "Import bills or payments exported by the billing system (CSV or XLSX); "
        "nothing is written if any row is rejected."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8 with or without BOM, or GBK/GB18030) or XLSX file")
        # Checked in handle(), not by argparse choices, so that a wrong kind exits with status 2 from call_command too.
        parser.add_argument("--kind", required=True, help=" or ".join(KINDS))
        parser.add_argument("--dry-run", action="store_true", help="check and count without writing")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        parser.add_argument(
            "--user", help="import as this user: only the accounts the user may see; recorded as author"
        )

    def handle(self, *args, **options):
        kind = options["kind"]
        if kind not in KINDS:
            raise CommandError(
                _("Unknown kind %(kind)s; use one of %(kinds)s.") % {"kind": kind, "kinds": ", ".join(KINDS)},
                returncode=2,
            )
        path, data = file_bytes(options["file"])
        user = user_named(options["user"])
        result = billing_import(kind=kind, data=data, file_name=path.name, user=user, dry_run=options["dry_run"])
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

    def _report(self, name: str, result: BillingImportResult, *, dry_run: bool) -> None:
        if result.rejected:
            self.stdout.write(self.style.ERROR(_("%(file)s: rejected, nothing was written.") % {"file": name}))
            for rejected in result.rejected:
                for key, messages in rejected["errors"].items():
                    column = result.columns.get(key, key)
                    for message in messages:
                        self.stdout.write(
                            _("line %(line)d, %(column)s: %(message)s")
                            % {"line": rejected["line"], "column": column, "message": message}
                        )
            return
        summary = _("%(file)s: %(rows)d rows, %(created)d created, %(unchanged)d already there.") % {
            "file": name,
            "rows": result.rows,
            "created": result.created,
            "unchanged": result.unchanged,
        }
        if result.ignored_columns:
            self.stdout.write(_("Columns ignored: %(columns)s.") % {"columns": ", ".join(result.ignored_columns)})
        if dry_run:
            self.stdout.write(summary)
            self.stdout.write(self.style.WARNING(_("Dry run: nothing was written.")))
            return
        self.stdout.write(self.style.SUCCESS(summary))
        if result.usage_created:
            self.stdout.write(
                _("Monthly usage taken from the bills for %(count)d account months.") % {"count": result.usage_created}
            )
