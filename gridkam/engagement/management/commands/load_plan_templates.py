"""``load_plan_templates [--reset] [--json]``: create the default service plan template of every customer tier.

Idempotent: templates that exist (maybe edited by a supervisor) are left alone, unless ``--reset`` puts every
template back to its defaults. ``--json`` prints ``{"created", "reset", "unchanged"}``. Exit status: 0 done,
2 usage error.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from gridkam.engagement.plans import plan_templates_load


class Command(BaseCommand):
    help = "Create the default service plan templates (one per customer tier)."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="put existing templates back to the defaults")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        counts = plan_templates_load(reset=options["reset"])
        if options["json"]:
            self.stdout.write(json.dumps(counts))
            return
        self.stdout.write(
            _("Plan templates: %(created)s created, %(reset)s reset, %(unchanged)s left as they were.") % counts
        )
