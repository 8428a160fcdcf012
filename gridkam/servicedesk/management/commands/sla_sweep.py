"""``sla_sweep [--now ISO] [--json]``: run the SLA job once (warnings at 80 %, breaches, escalations).

``--json`` prints the summary ``{"warned", "breached", "escalated_lead", "escalated_supervisor", "tasks",
"events", "now", "seconds"}``. Exit status: 0 done, 1 a bad --now, 2 usage error.
"""

from __future__ import annotations

import datetime as dt
import json
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from gridkam.servicedesk.sla import sla_sweep


def parse_moment(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            _("--now: “%(value)s” is not a date and time (ISO 8601).") % {"value": text}, returncode=1
        ) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class Command(BaseCommand):
    help = "Warn, record SLA breaches and escalate for all open service requests."

    def add_arguments(self, parser):
        parser.add_argument("--now", metavar="ISO", help="the moment to sweep at (default: now)")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        now = parse_moment(options["now"])
        started = time.monotonic()
        summary = sla_sweep(now=now)
        summary["seconds"] = round(time.monotonic() - started, 3)
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
            return
        self.stdout.write(
            _(
                "%(warned)s warned, %(breached)s breached, %(lead)s escalated to the team lead, "
                "%(supervisor)s to the supervisor; %(tasks)s tasks (%(seconds)s s)."
            )
            % {
                "warned": summary["warned"],
                "breached": summary["breached"],
                "lead": summary["escalated_lead"],
                "supervisor": summary["escalated_supervisor"],
                "tasks": summary["tasks"],
                "seconds": summary["seconds"],
            }
        )
