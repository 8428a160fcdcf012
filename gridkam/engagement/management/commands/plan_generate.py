"""``plan_generate --year Y [--customer ID …] [--json]``: generate the year's service plans.

Every active key account (or the given customers) gets its plan from its tier's template; customers already
planned for the year, and those whose tier has no template, are skipped. Generating during the year only plans
what is still due (docs/plans.md). ``--json`` prints ``{"year", "created", "skipped", "no_template", "items",
"occurrences"}``; without it a short report, with a progress bar on a terminal. Exit status: 0 done, 1 rejected
input (a year out of range, an unknown customer; nothing written), 2 usage error.
"""

from __future__ import annotations

import json
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from gridkam.customers.models import Customer
from gridkam.engagement.plans import plans_generate


class Command(BaseCommand):
    help = "Generate the year's service plans of the key accounts from the tier templates."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="the plan year (last, this or next year)")
        parser.add_argument("--customer", type=int, nargs="+", metavar="ID", help="only these customers (ids)")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        customers = None
        if options["customer"]:
            ids = set(options["customer"])
            found = list(Customer.objects.filter(pk__in=ids))
            missing = sorted(ids - {c.pk for c in found})
            if missing:
                raise CommandError(
                    _("--customer: no customer with id %(ids)s.") % {"ids": ", ".join(map(str, missing))}, returncode=1
                )
            customers = found
        bar: tqdm | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if options["json"]:
                return
            if bar is None:
                # disable=None: no bar when stderr is not a terminal (cron, CI, pipes).
                bar = tqdm(total=total, unit=_("customers"), file=sys.stderr, disable=None, leave=False)
            bar.update(done - bar.n)

        try:
            counts = plans_generate(year=options["year"], customers=customers, progress=progress)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages), returncode=1) from None
        finally:
            if bar is not None:
                bar.close()
        if options["json"]:
            self.stdout.write(json.dumps(counts))
            return
        self.stdout.write(
            _(
                "Plans %(year)s: %(created)s generated (%(items)s items, %(occurrences)s occurrences), "
                "%(skipped)s skipped (%(no_template)s without a template)."
            )
            % counts
        )
