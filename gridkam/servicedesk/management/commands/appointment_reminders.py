"""``appointment_reminders [--now ISO] [--json]``: remind the account managers and booking users of VIP desk
appointments starting within the next 24 hours (once per appointment).

``--json`` prints ``{"appointments", "tasks", "now"}``. Exit status: 0 done, 1 a bad --now, 2 usage error.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from gridkam.servicedesk.appointments import appointment_reminders_send
from gridkam.servicedesk.management.commands.sla_sweep import parse_moment


class Command(BaseCommand):
    help = "Create reminder tasks for the VIP desk appointments of the next 24 hours."

    def add_arguments(self, parser):
        parser.add_argument("--now", metavar="ISO", help="the moment to remind at (default: now)")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        summary = appointment_reminders_send(parse_moment(options["now"]))
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
            return
        self.stdout.write(
            _("%(appointments)s appointments reminded, %(tasks)s tasks.")
            % {"appointments": summary["appointments"], "tasks": summary["tasks"]}
        )
