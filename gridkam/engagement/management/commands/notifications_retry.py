"""``notifications_retry [--minutes N] [--max-age-hours H] [--json]``: send again the e-mail and SMS deliveries still
pending N minutes after their notification or failed at least N minutes ago (notifications younger than H hours).

``--json`` prints ``{"due", "sent", "failed", "seconds"}``. Exit status: 0 done (also when some failed again:
they stay failed and are retried next time), 1 a negative number, 2 usage error.
"""

from __future__ import annotations

import json
import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from gridkam.engagement.notifications import deliveries_retry, retry_max_age_hours, retry_minutes


class Command(BaseCommand):
    help = "Send again the notification e-mails and SMS that are still pending or failed."

    def add_arguments(self, parser):
        parser.add_argument("--minutes", type=int, help="retry what waited at least this long (default: settings)")
        parser.add_argument("--max-age-hours", type=int, help="give up on notifications older than this")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        minutes = retry_minutes() if options["minutes"] is None else options["minutes"]
        max_age = retry_max_age_hours() if options["max_age_hours"] is None else options["max_age_hours"]
        if minutes < 0 or max_age < 0:
            raise CommandError(_("--minutes and --max-age-hours cannot be negative."), returncode=1)
        bar: tqdm | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if options["json"]:
                return
            if bar is None:
                # disable=None: no bar when stderr is not a terminal (cron, CI, pipes).
                bar = tqdm(total=total, unit=_("deliveries"), file=sys.stderr, disable=None, leave=False)
            bar.update(done - bar.n)

        started = time.monotonic()
        try:
            summary = deliveries_retry(minutes=minutes, max_age_hours=max_age, progress=progress)
        finally:
            if bar is not None:
                bar.close()
        summary["seconds"] = round(time.monotonic() - started, 3)
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
            return
        self.stdout.write(
            _("%(due)s deliveries due: %(sent)s sent, %(failed)s failed (%(seconds)s s).")
            % {k: summary[k] for k in ("due", "sent", "failed", "seconds")}
        )
