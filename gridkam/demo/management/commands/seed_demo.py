"""``python manage.py seed_demo [--accounts N] [--seed S] [--usage-months N] [--readings-accounts N]
[--billing-months N] [--no-plans] [--service-requests N] [--no-grid] [--if-empty] [--json]``"""

from __future__ import annotations

import contextlib
import json
import sys
from functools import partial

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test.utils import override_settings
from tqdm import tqdm

from gridkam.customers.models import Customer
from gridkam.demo.billing import DEFAULT_BILL_MONTHS, demo_billing_load
from gridkam.demo.expansion import demo_expansion_load
from gridkam.demo.inspections import demo_inspections_load
from gridkam.demo.messaging import demo_messages_load
from gridkam.demo.outages import demo_outages_load
from gridkam.demo.plans import demo_plans_load
from gridkam.demo.portal_users import portal_users_seed
from gridkam.demo.powerquality import demo_powerquality_load
from gridkam.demo.readings import DEFAULT_READINGS_ACCOUNTS, demo_readings_load
from gridkam.demo.service import PER_CUSTOMER, demo_service_load
from gridkam.demo.services import DEMO_PASSWORD, demo_seed
from gridkam.demo.surveys import demo_surveys_load
from gridkam.demo.usage import DEFAULT_MONTHS
from gridkam.engagement.choices import DeliveryStatus
from gridkam.engagement.models import Notification, NotificationDelivery

MEMORY_MAIL = "django.core.mail.backends.locmem.EmailBackend"


class Command(BaseCommand):
    help = (
        "Load a demo utility: a province with three city companies, their staff and N key-account customers "
        "with accounts, metering points, contacts and account teams, each account on the sample tariff of its "
        "voltage with months of billing quantities, bills and payments, this year's service plans with their "
        "visits and six months of service requests. Deterministic for a seed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--accounts", type=int, default=200, help="Key-account customers to create (default 200).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed: the same seed gives the same data.")
        parser.add_argument(
            "--usage-months",
            type=int,
            default=DEFAULT_MONTHS,
            help=f"Months of quantities per account, ending with the last complete month (default {DEFAULT_MONTHS}; "
            "0 = none).",
        )
        parser.add_argument(
            "--readings-accounts",
            type=int,
            default=DEFAULT_READINGS_ACCOUNTS,
            help=f"Accounts given a year of 15-minute readings ending yesterday, from the steel plant's curve "
            f"(default {DEFAULT_READINGS_ACCOUNTS}; 0 = none).",
        )
        parser.add_argument(
            "--billing-months",
            type=int,
            default=DEFAULT_BILL_MONTHS,
            help=f"Months of bills and payments, billed from the quantities by the bill run (default "
            f"{DEFAULT_BILL_MONTHS}; 0 = none).",
        )
        parser.add_argument(
            "--no-plans", action="store_true", help="Leave out the service plans and their visits of this year."
        )
        parser.add_argument(
            "--no-grid",
            action="store_true",
            help="Leave out business expansion projects, feeders and outages, inspections and power-quality events.",
        )
        parser.add_argument(
            "--service-requests",
            type=int,
            default=None,
            help=f"Service requests of the last six months, worked through and swept for SLA warnings (default "
            f"{PER_CUSTOMER} per customer; 0 = none).",
        )
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if the database already has customers.")
        parser.add_argument("--json", action="store_true", help="Print a JSON summary on stdout.")

    def handle(self, *args, **options) -> None:
        accounts: int = options["accounts"]
        as_json: bool = options["json"]
        verbosity: int = options["verbosity"]
        if accounts < 1:
            raise CommandError("--accounts must be at least 1.", returncode=2)
        if options["usage_months"] < 0:
            raise CommandError("--usage-months cannot be negative.", returncode=2)
        if options["readings_accounts"] < 0:
            raise CommandError("--readings-accounts cannot be negative.", returncode=2)
        if options["billing_months"] < 0:
            raise CommandError("--billing-months cannot be negative.", returncode=2)
        if options["service_requests"] is not None and options["service_requests"] < 0:
            raise CommandError("--service-requests cannot be negative.", returncode=2)
        if options["if_empty"] and Customer.objects.exists():
            summary = {"skipped": True, "reason": "customers exist", "customers": Customer.objects.count()}
            if as_json:
                self._print_json(summary)
            elif verbosity:
                self.stdout.write(f"Demo data not loaded: the database already has {summary['customers']} customers.")
            return
        # The bar goes to stderr so that --json output stays one clean document; tqdm hides it when
        # stderr is not a terminal.
        progress = partial(tqdm, file=sys.stderr, disable=None if verbosity else True, leave=False)
        # The loaders write through the real services, which notify people. The demo's people are invented, so
        # their e-mails stay in memory instead of going to the configured backend (an SMTP server, or the console
        # in development), and anything else printed on stdout meanwhile goes to stderr, so that stdout carries
        # only the summary. With a broker, the sends are queued for workers instead: the demo's deliveries not
        # sent yet are then marked skipped, so that neither the workers nor the retry job send them.
        first = (Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        with override_settings(EMAIL_BACKEND=MEMORY_MAIL), contextlib.redirect_stdout(sys.stderr):
            summary = self._load(options, progress, as_json=as_json, verbosity=verbosity)
        NotificationDelivery.objects.filter(
            notification_id__gte=first, status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]
        ).update(status=DeliveryStatus.SKIPPED, error="demo data")
        if as_json:
            self._print_json(summary)
        elif verbosity:
            self._print_human(summary)

    def _load(self, options: dict, progress, *, as_json: bool, verbosity: int) -> dict:
        try:
            summary = demo_seed(
                accounts=options["accounts"],
                seed=options["seed"],
                usage_months=options["usage_months"],
                progress=progress,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages), returncode=1) from error
        if verbosity and not as_json and options["readings_accounts"]:
            self.stderr.write("Loading a year of 15-minute readings for the largest accounts…")
        summary["readings"] = demo_readings_load(accounts=options["readings_accounts"])
        if verbosity and not as_json and options["billing_months"]:
            self.stderr.write("Billing the months, recording payments and scoring risk…")
        summary["billing"] = demo_billing_load(months=options["billing_months"], seed=options["seed"])
        if options["no_plans"]:
            summary["plans"] = {"plans": 0, "occurrences": 0, "visits": 0, "follow_ups": 0, "overdue": 0}
        else:
            if verbosity and not as_json:
                self.stderr.write("Generating this year's service plans and recording the visits so far…")
            summary["plans"] = demo_plans_load(seed=options["seed"])
        if verbosity and not as_json and options["service_requests"] != 0:
            self.stderr.write("Logging six months of service requests and running the SLA sweep…")
        summary["service"] = demo_service_load(seed=options["seed"], count=options["service_requests"])
        if verbosity and not as_json:
            self.stderr.write("Granting portal scopes, writing conversations and surveys…")
        summary["portal"] = portal_users_seed(password=DEMO_PASSWORD)
        summary["messages"] = demo_messages_load(seed=options["seed"])
        summary["surveys"] = demo_surveys_load(seed=options["seed"])
        if options["no_grid"]:
            summary.update(expansion={}, outages={}, inspections={}, power_quality={})
            return summary
        if verbosity and not as_json:
            self.stderr.write("Business expansion projects, feeders and outages, inspections, power-quality events…")
        summary["expansion"] = demo_expansion_load(seed=options["seed"])
        summary["outages"] = demo_outages_load(seed=options["seed"])
        summary["inspections"] = demo_inspections_load(seed=options["seed"])
        summary["power_quality"] = demo_powerquality_load(seed=options["seed"])
        return summary

    def _print_json(self, summary: dict) -> None:
        self.stdout.write(json.dumps(summary, ensure_ascii=False))

    def _print_human(self, summary: dict) -> None:
        created = summary["created"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded in {summary['seconds']} s (seed {summary['seed']}): "
                f"{created['customers']} customers ({created['group_subsidiaries']} group subsidiaries), "
                f"{created['electricity_accounts']} electricity accounts, {created['metering_points']} metering "
                f"points, {created['contacts']} contacts, {created['assignments']} assignments."
            )
        )
        self.stdout.write(
            f"Staff created: {created['staff']}; portal users: {created['portal_users']}. "
            f"Tiers: {summary['tiers']}. Customers with supply gaps: {summary['customers_with_supply_gaps']}."
        )
        self.stdout.write(
            f"Tariffs: {summary['tariffs']}. Monthly usage: {created['monthly_usage']} rows "
            f"({summary['usage_months']} months per account)."
        )
        readings = summary["readings"]
        self.stdout.write(
            f"Interval data: a year of readings for {readings['accounts']} accounts ({readings['readings']})."
        )
        billing = summary["billing"]
        if billing["months"]:
            self.stdout.write(
                f"Billing: {billing['bills']} bills over {billing['months']} months, {billing['payments']} payments; "
                f"heading into default: {billing['heading_into_default']}; risk levels today: {billing['risk_levels']}."
            )
        plans = summary["plans"]
        if plans["plans"]:
            self.stdout.write(
                f"Service plans: {plans['plans']} plans of this year, {plans['occurrences']} planned activities, "
                f"{plans['visits']} visits recorded ({plans['follow_ups']} with follow-ups), {plans['overdue']} "
                "overdue."
            )
        service = summary["service"]
        if service["requests"]:
            self.stdout.write(
                f"Service requests: {service['requests']} over six months, {service['open']} open today, "
                f"{service['breached']} with an SLA target breached."
            )
        portal, messages, surveys = summary["portal"], summary["messages"], summary["surveys"]
        self.stdout.write(
            f"Portal: {portal['scopes']} subsidiaries granted to group users, {portal['invitations']} invitation "
            f"pending; {messages.get('conversations', 0)} conversations; {surveys['post_request']} post-request and "
            f"{surveys['annual']} annual surveys sent, {surveys['answered']} answered."
        )
        if summary["expansion"]:
            self.stdout.write(
                f"Grid and safety: {_counts(summary['expansion'])} (expansion); "
                f"{_counts(summary['outages'])} (outages); {_counts(summary['inspections'])} (inspections); "
                f"{_counts(summary['power_quality'])} (power quality)."
            )
        self.stdout.write("Logins: python manage.py demo_logins")


def _counts(part: dict) -> str:
    """A loader's summary as "key n, key n" (its keys are its own: projects, feeders, dangers, events…)."""
    return ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in part.items() if isinstance(value, int))
