"""``load_sla_defaults [--overwrite] [--json]``: create the default SLA policy of every tier × type × priority.

Idempotent; policies that exist (maybe edited) are left alone unless ``--overwrite`` resets them to the
defaults. ``--json`` prints ``{"created", "updated", "unchanged"}``. Exit status: 0 done, 2 usage error.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from gridkam.servicedesk.sla import sla_policies_load


class Command(BaseCommand):
    help = "Create the default SLA policies (every tier × request type × priority)."

    def add_arguments(self, parser):
        parser.add_argument("--overwrite", action="store_true", help="reset existing policies to the defaults")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        counts = sla_policies_load(overwrite=options["overwrite"])
        if options["json"]:
            self.stdout.write(json.dumps(counts))
            return
        self.stdout.write(
            _("SLA policies: %(created)s created, %(updated)s reset, %(unchanged)s left as they were.") % counts
        )
