"""``load_sample_tariffs [--json]``: load the sample tariffs shipped in gridkam/tariffs/data/tariffs/
(Guangdong, Jiangsu and Shanghai calendars; prices partly illustrative, and labelled so). Safe to run
again: published versions that are already there are left as they are."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from gridkam.tariffs.services import sample_tariffs_load

from .load_tariffs import report_load


class Command(BaseCommand):
    help = "Load the sample tariff catalogue shipped with GridKAM (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        report_load(self, sample_tariffs_load(), as_json=options["json"])
