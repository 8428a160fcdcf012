"""``risk_score [--date YYYY-MM-DD] [--account NO …] [--json]``: score the fee-recovery risk of every account.

Stores one score per account for the day (a second run the same day replaces it) and raises a warning and a
task for each account entering high or severe risk. ``--json`` prints the summary
``{"scored_on", "accounts", "levels": {level: n}, "warnings", "seconds"}``; without it a short report, with a
progress bar on a terminal. Exit status: 0 done, 1 a bad date or an unknown account, 2 usage error.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

from gridkam.billing.choices import RiskLevel
from gridkam.billing.risk import risk_score_all
from gridkam.core.commands import ScoreAccountsCommand


class Command(ScoreAccountsCommand):
    help = "Score the fee-recovery risk of every account (or the given ones) as of a day (default: today)."
    levels = RiskLevel
    raised = "warnings"
    report = gettext_noop("%(accounts)s accounts scored as of %(day)s in %(seconds)s s; %(warnings)s new warnings.")

    def score_all(self, *, day, account_ids, progress) -> dict:
        return risk_score_all(today=day, account_ids=account_ids, progress=progress)
