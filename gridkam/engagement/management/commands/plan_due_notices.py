"""``plan_due_notices [--date YYYY-MM-DD] [--days N] [--json]``: tell the owners of the service-plan items due in N
days (default ``GRIDKAM["PLAN_DUE_NOTICE_DAYS"]``, 7) counted from the date (default today). Nobody is told twice.

``--json`` prints ``{"due", "notified"}``. Exit status: 0 done, 1 a negative number of days, 2 usage error (a date
that is not YYYY-MM-DD).
"""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gridkam.engagement.plan_notices import plan_due_notices


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("--date must be a date as YYYY-MM-DD."), returncode=2) from None


class Command(BaseCommand):
    help = "Tell the owners of the service-plan items falling due soon."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="count from this day (YYYY-MM-DD; default today)")
        parser.add_argument("--days", type=int, help="items due this many days after the date (default: settings)")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        today = _day(options["date"]) if options["date"] else None
        if options["days"] is not None and options["days"] < 0:
            raise CommandError(_("--days cannot be negative."), returncode=1)
        summary = plan_due_notices(today=today, days=options["days"])
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        self.stdout.write(
            _("%(due)s plan items due; %(notified)s owners told.") % {k: summary[k] for k in ("due", "notified")}
        )
