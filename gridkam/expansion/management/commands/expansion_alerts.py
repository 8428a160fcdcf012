"""``expansion_alerts [--date YYYY-MM-DD] [--json]``: the daily check of business expansion projects, for a
deployment without Celery beat (cron at 07:10): recompute the running projects' working days, warn their owners
before a time limit and tell them of breaches, once per project and level. Safe to run twice.

``--json`` prints the summary as one JSON document. Exit status: 0 done, 1 a date that is not YYYY-MM-DD.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from gridkam.core.commands import parse_day
from gridkam.expansion.services import expansion_alerts_check


class Command(BaseCommand):
    help = "Warn owners of business expansion projects nearing or past their time limits."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="check as of this day (YYYY-MM-DD; default today)")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        summary = expansion_alerts_check(today=parse_day(options["date"], "--date"))
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(", ".join(f"{key}: {value}" for key, value in summary.items()))
