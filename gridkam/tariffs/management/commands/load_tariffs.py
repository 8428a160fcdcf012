"""``load_tariffs FILE… [--dry-run] [--json]``: load tariffs and their versions from JSON files
(docs/tariffs.md describes the format), all or nothing. A re-load of the same files changes
nothing; a published version that differs is refused. Exit status: 0 done, 1 rejected, 2 usage."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gridkam.tariffs.services import LoadReport, read_tariff_files, tariffs_load


def report_load(command: BaseCommand, report: LoadReport, *, as_json: bool, dry_run: bool = False) -> None:
    """Print the outcome (one JSON document with --json) and exit 1 when anything was refused."""
    if as_json:
        command.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        for where, messages in report.errors.items():
            for message in messages:
                command.stderr.write(f"{where}: {message}")
        if report.ok:
            command.stdout.write(
                (_("Checked, nothing written: ") if dry_run else "")
                + _(
                    "Tariffs created: %(tariffs)d. Versions created: %(created)d, updated: %(updated)d, "
                    "unchanged: %(unchanged)d."
                )
                % {
                    "tariffs": len(report.tariffs_created),
                    "created": len(report.created),
                    "updated": len(report.updated),
                    "unchanged": len(report.unchanged),
                }
            )
    if not report.ok:
        raise CommandError(_("Nothing was loaded."), returncode=1)


class Command(BaseCommand):
    help = "Load tariffs and their dated versions from JSON files; nothing is written if anything is refused."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="tariff JSON files")
        parser.add_argument("--dry-run", action="store_true", help="validate and report without writing")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        paths = [Path(name) for name in options["files"]]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise CommandError(_("No such file: %(files)s") % {"files": ", ".join(missing)}, returncode=2)
        documents, errors = read_tariff_files(paths)
        if errors:
            report = LoadReport()
            for name, messages in errors.items():
                report.add_errors(name, messages)
        else:
            report = tariffs_load(documents=documents, dry_run=options["dry_run"])
        report_load(self, report, as_json=options["json"], dry_run=options["dry_run"])
