"""``risk_backtest [--date YYYY-MM-DD] [--days N] [--json] [--no-store]``: how well the scorecard separates
the accounts that went 90 days overdue.

Scores every account at each month start of the bill history with only what was known then (bills issued and
payments made before that day), and labels it by whether a bill of it reached ``--days`` (90) days overdue
in the following six months; accounts already that far overdue are left out of that month. Prints the AUC
(Mann–Whitney) and the share of accounts that defaulted per level; keeps the result with the scorecard for
the risk distribution page unless ``--no-store``. ``--json`` prints
``{"months", "accounts", "positives", "auc", "levels": [{"level", "accounts", "defaulted", "rate"}], …}``.
Exit status: 0 done, 1 a bad date or day count, 2 usage error.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from gridkam.billing.choices import RiskLevel
from gridkam.billing.risk import DEFAULT_DAYS, backtest, backtest_store
from gridkam.core.commands import parse_day


class Command(BaseCommand):
    help = "Back-test the risk scorecard on the bill history: AUC and default rate per level."

    def add_arguments(self, parser):
        parser.add_argument("--date", metavar="YYYY-MM-DD", help="the end of the history (default: today)")
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="days overdue that count as default")
        parser.add_argument("--no-store", action="store_true", help="do not keep the result for the risk page")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        day = parse_day(options["date"], "--date")
        if options["days"] < 1:
            raise CommandError(_("--days: give a number of days above zero."), returncode=1)
        bar: tqdm | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if options["json"]:
                return
            if bar is None:
                bar = tqdm(total=total, unit=_("months"), file=sys.stderr, disable=None, leave=False)
            bar.update(done - bar.n)

        try:
            result = backtest(today=day, days=options["days"], progress=progress)
        finally:
            if bar is not None:
                bar.close()
        if not options["no_store"]:
            backtest_store(result)
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        auc = "—" if result["auc"] is None else f"{result['auc']:.3f}"
        self.stdout.write(
            _("%(months)s months, %(accounts)s account months, %(positives)s went %(days)s days overdue; AUC %(auc)s.")
            % {
                "months": result["months"],
                "accounts": result["accounts"],
                "positives": result["positives"],
                "days": result["days"],
                "auc": auc,
            }
        )
        labels = dict(RiskLevel.choices)
        for row in result["levels"]:
            rate = "—" if row["rate"] is None else f"{row['rate'] * 100:.1f} %"
            self.stdout.write(f"  {labels[row['level']]}: {row['defaulted']} / {row['accounts']} ({rate})")
