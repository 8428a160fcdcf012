"""``load_summary (--metering-point CODE | --account ACCOUNT_NO) --month YYYY-MM [--json]``: a month of load.

``--json`` prints the document of ``GET /api/v1/metering-points/{code}/summary/`` (or the account's);
without it a short table. Exit status: 0 shown, 1 unknown point or account or a bad month (the
message names the option), 2 usage error (neither or both of --metering-point and --account, no --month).
"""

from __future__ import annotations

import json
import unicodedata

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from gridkam.customers.models import ElectricityAccount, MeteringPoint
from gridkam.metering import selectors
from gridkam.metering.summaries import account_month_summary, month_parse, point_month_summary
from gridkam.tariffs.choices import Period

NONE = "—"


def _display_width(text: str) -> int:
    # Chinese labels take two terminal columns per character; pad by what the eye sees.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class Command(BaseCommand):
    help = "Show a month of a metering point's or an account's load: energy by period, demand, power and load factor."

    def add_arguments(self, parser):
        parser.add_argument("--metering-point", metavar="CODE", help="metering point code")
        parser.add_argument("--account", metavar="ACCOUNT_NO", help="account number (its billing points summed)")
        parser.add_argument("--month", metavar="YYYY-MM", help="the month (required)")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        # Checked here rather than by argparse, so that call_command sees the same status 2 as a shell.
        code, account_no = options["metering_point"], options["account"]
        if (code is None) == (account_no is None):
            raise CommandError(_("Give one of --metering-point CODE or --account ACCOUNT_NO."), returncode=2)
        if options["month"] is None:
            raise CommandError(_("Give the month: --month YYYY-MM."), returncode=2)
        try:
            month = month_parse(options["month"])
        except ValueError as exc:
            raise CommandError(f"--month: {exc}", returncode=1) from None
        if code is not None:
            try:
                point = selectors.metering_point_get(user=None, code=code)
            except MeteringPoint.DoesNotExist:
                raise CommandError(
                    _("--metering-point: no metering point with code “%(code)s”.") % {"code": code}, returncode=1
                ) from None
            summary = point_month_summary(point, month)
        else:
            try:
                account = selectors.account_get_by_number(user=None, account_no=account_no)
            except ElectricityAccount.DoesNotExist:
                raise CommandError(
                    _("--account: no account with number “%(number)s”.") % {"number": account_no}, returncode=1
                ) from None
            summary = account_month_summary(account, month)
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2))
        else:
            self.stdout.write(self._table(summary))

    def _table(self, summary: dict) -> str:
        if "metering_point" in summary:
            title = _("Metering point %(code)s, %(month)s") % {
                "code": summary["metering_point"],
                "month": summary["month"],
            }
        else:
            title = _("Account %(number)s, %(month)s") % {"number": summary["account"], "month": summary["month"]}
        expected = summary["intervals"] + summary["missing_intervals"]
        at = parse_datetime(summary["max_demand_at"]) if summary["max_demand_at"] else None
        demand = summary["max_demand_kw"] or NONE
        if at is not None:
            demand = _("%(kw)s at %(time)s") % {"kw": demand, "time": f"{at:%Y-%m-%d %H:%M}"}
        rows = [
            (
                _("Intervals"),
                _("%(present)s of %(expected)s") % {"present": summary["intervals"], "expected": expected},
            ),
            (_("Missing intervals"), str(summary["missing_intervals"])),
            (_("Energy (kWh)"), summary["kwh_total"]),
            *((f"  {Period(period).label}", kwh) for period, kwh in summary["kwh_by_period"].items()),
            (_("Lagging kvarh"), summary["kvarh_lag"]),
            (_("Leading kvarh"), summary["kvarh_lead"]),
            (_("Maximum demand (kW)"), demand),
            (_("Power factor"), summary["power_factor"] or NONE),
            (_("Load factor"), summary["load_factor"] or NONE),
        ]
        width = max(_display_width(str(label)) for label, _value in rows)
        lines = [f"{label}{' ' * (width - _display_width(str(label)))}  {value}" for label, value in rows]
        return "\n".join([title, *lines])
