"""``health_score [--date YYYY-MM-DD] [--account NO …] [--json]``: score the health of every account.

Stores one score per account for the day (a second run the same day replaces it) from the data before the day,
and raises an alert, a task and a notification for each account entering unhealthy. ``--json`` prints the summary
``{"scored_on", "accounts", "levels": {level: n}, "alerts", "seconds"}``; without it a short report, with a
progress bar on a terminal. Exit status: 0 done, 1 a bad date or an unknown account, 2 usage error.
"""

from __future__ import annotations

import datetime
import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from gridkam.customers.models import ElectricityAccount
from gridkam.engagement.choices import HealthLevel
from gridkam.engagement.health import health_score_all


def parse_day(text: str | None, option: str) -> datetime.date | None:
    if text is None:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(
            _("%(option)s: “%(value)s” is not a date (YYYY-MM-DD).") % {"option": option, "value": text}, returncode=1
        ) from None


class Command(BaseCommand):
    help = "Score the health of every account (or the given ones) as of a day (default: today)."

    def add_arguments(self, parser):
        parser.add_argument("--date", metavar="YYYY-MM-DD", help="the day scored (default: today)")
        parser.add_argument("--account", metavar="NO", nargs="+", help="only these account numbers")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        day = parse_day(options["date"], "--date")
        account_ids = None
        if options["account"]:
            numbers = set(options["account"])
            found = dict(ElectricityAccount.objects.filter(account_no__in=numbers).values_list("account_no", "pk"))
            missing = sorted(numbers - set(found))
            if missing:
                raise CommandError(
                    _("--account: no account with number %(numbers)s.") % {"numbers": ", ".join(missing)},
                    returncode=1,
                )
            account_ids = list(found.values())
        bar: tqdm | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if options["json"]:
                return
            if bar is None:
                # disable=None: no bar when stderr is not a terminal (cron, CI, pipes).
                bar = tqdm(total=total, unit=_("accounts"), file=sys.stderr, disable=None, leave=False)
            bar.update(done - bar.n)

        try:
            summary = health_score_all(day=day, account_ids=account_ids, progress=progress)
        finally:
            if bar is not None:
                bar.close()
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
            return
        labels = dict(HealthLevel.choices)
        self.stdout.write(
            _("%(accounts)s accounts scored as of %(day)s in %(seconds)s s; %(alerts)s new alerts.")
            % {
                "accounts": summary["accounts"],
                "day": summary["scored_on"],
                "seconds": summary["seconds"],
                "alerts": summary["alerts"],
            }
        )
        for level, count in summary["levels"].items():
            self.stdout.write(f"  {labels[level]}: {count}")
