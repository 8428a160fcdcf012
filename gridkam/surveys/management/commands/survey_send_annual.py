"""``survey_send_annual --year Y [--tier T …] [--customer ID …] [--json]``: send the annual key-account survey.

Every customer (or those of the given tiers, or the given customers) that has not had the survey of the year gets it:
its portal users are notified, its primary contacts without a portal account get a link by e-mail. Running it again
sends nothing twice (one survey round per customer and year). ``--json`` prints ``{"year", "customers",
"surveys", "already", "no_recipient"}``. Exit status: 0 done, 1 rejected input (a year other than this or last
year, an unknown customer; nothing written), 2 usage error.
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gridkam.customers.choices import Tier
from gridkam.customers.models import Customer
from gridkam.surveys.services import survey_send_annual


class Command(BaseCommand):
    help = "Send the annual key-account survey of a year, once per customer."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="the year surveyed (this or last year)")
        parser.add_argument("--tier", choices=Tier.values, nargs="+", help="only customers of these tiers")
        parser.add_argument("--customer", type=int, nargs="+", metavar="ID", help="only these customers (ids)")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        customers = Customer.objects.all()
        if options["customer"]:
            ids = set(options["customer"])
            found = set(Customer.objects.filter(pk__in=ids).values_list("pk", flat=True))
            missing = sorted(ids - found)
            if missing:
                raise CommandError(
                    _("--customer: no customer with id %(ids)s.") % {"ids": ", ".join(map(str, missing))}, returncode=1
                )
            customers = customers.filter(pk__in=found)
        if options["tier"]:
            customers = customers.filter(tier__in=options["tier"])
        try:
            summary = survey_send_annual(customers=customers, year=options["year"])
        except ValidationError as error:
            raise CommandError(" ".join(error.messages), returncode=1) from None
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        self.stdout.write(
            _(
                "Annual survey %(year)s: %(surveys)s surveys sent to %(customers)s customers; %(already)s had it "
                "already, %(no_recipient)s have nobody to ask."
            )
            % summary
        )
