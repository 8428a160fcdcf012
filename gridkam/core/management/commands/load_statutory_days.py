"""``load_statutory_days [--year Y ...] [--json]``: fill the working-day calendar with the public holidays and
make-up working days the installed chinese-calendar package knows (every year it has, or the years named).
Idempotent; rows entered by hand are never overwritten. ``--json`` prints ``{"years", "created", "updated",
"removed", "unchanged", "kept_entered"}``.

Exit status (DESIGN.md contract): 0 done, 1 rejected input (a year the package does not know: nothing
written), 2 usage error (a year that is not a number).
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gridkam.core.services import statutory_days_load


class Command(BaseCommand):
    help = "Load public holidays and make-up working days from the chinese-calendar package (idempotent)."

    def add_arguments(self, parser):
        # Checked in handle(), not by argparse, so that a bad year exits with status 2 from call_command too.
        parser.add_argument(
            "--year", dest="years", action="append", default=[], help="load only this year (repeat); default: all"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        bad = [year for year in options["years"] if not year.isdigit()]
        if bad:
            raise CommandError(_("Not a year: %(years)s") % {"years": ", ".join(bad)}, returncode=2)
        years = [int(year) for year in options["years"]] or None
        try:
            counts = statutory_days_load(years=years)
        except ValidationError as exc:
            if options["json"]:
                self.stdout.write(json.dumps({"ok": False, "errors": exc.message_dict}, ensure_ascii=False))
            else:
                for messages in exc.message_dict.values():
                    for message in messages:
                        self.stderr.write(message)
            raise CommandError(_("Nothing was loaded."), returncode=1) from None
        if options["json"]:
            self.stdout.write(json.dumps(counts, ensure_ascii=False))
            return
        years_loaded = counts["years"]
        self.stdout.write(
            _(
                "Statutory days for %(first)s–%(last)s: %(created)d created, %(updated)d updated, %(removed)d removed, "
                "%(unchanged)d unchanged, %(kept)d entered by hand kept."
            )
            % {
                "first": years_loaded[0] if years_loaded else "-",
                "last": years_loaded[-1] if years_loaded else "-",
                "created": counts["created"],
                "updated": counts["updated"],
                "removed": counts["removed"],
                "unchanged": counts["unchanged"],
                "kept": counts["kept_entered"],
            }
        )
