"""``health_score [--date YYYY-MM-DD] [--account NO …] [--json]``: score the health of every account.

Stores one score per account for the day (a second run the same day replaces it) from the data before the day,
and raises an alert, a task and a notification for each account entering unhealthy. ``--json`` prints the summary
``{"scored_on", "accounts", "levels": {level: n}, "alerts", "seconds"}``; without it a short report, with a
progress bar on a terminal. Exit status: 0 done, 1 a bad date or an unknown account, 2 usage error.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

from gridkam.core.commands import ScoreAccountsCommand
from gridkam.engagement.choices import HealthLevel
from gridkam.engagement.health import health_score_all


class Command(ScoreAccountsCommand):
    help = "Score the health of every account (or the given ones) as of a day (default: today)."
    levels = HealthLevel
    raised = "alerts"
    report = gettext_noop("%(accounts)s accounts scored as of %(day)s in %(seconds)s s; %(alerts)s new alerts.")

    def score_all(self, *, day, account_ids, progress) -> dict:
        return health_score_all(day=day, account_ids=account_ids, progress=progress)
