"""``dangers_escalate [--date YYYY-MM-DD] [--json]``: the daily escalation of overdue hidden dangers, for a
deployment without Celery beat (cron at 07:30): the account manager first, the org unit's supervisors after
``GRIDKAM_INSPECTION_ESCALATE_DAYS`` (major dangers at once). Safe to run twice: each level is told once.

``--json`` prints ``{"manager", "supervisors"}``. Exit status: 0 done, 1 a date that is not YYYY-MM-DD.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from gridkam.core.commands import parse_day
from gridkam.inspections.services import dangers_escalate


class Command(BaseCommand):
    help = "Escalate hidden dangers overdue for rectification."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="escalate as of this day (YYYY-MM-DD; default today)")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        summary = dangers_escalate(today=parse_day(options["date"], "--date"))
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(", ".join(f"{key}: {value}" for key, value in summary.items()))
