"""``load_survey_templates [--reset] [--json]``: create the built-in survey templates (after a request closes; the
annual key-account survey).

Idempotent: templates that exist are left alone, unless ``--reset`` puts them back to the built-in definition
(and switches them on). ``--json`` prints ``{"created", "reset"}``. Exit status: 0 done, 2 usage error.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from gridkam.surveys.services import templates_load


class Command(BaseCommand):
    help = "Create the built-in survey templates (after a request closes; the annual key-account survey)."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="put existing templates back to the built-in ones")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        counts = templates_load(reset=options["reset"])
        if options["json"]:
            self.stdout.write(json.dumps(counts))
            return
        self.stdout.write(_("Survey templates: %(created)s created, %(reset)s reset.") % counts)
