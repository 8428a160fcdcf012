"""What commands share: reading the file named on the command line and the ``--user`` to act as (a problem is a
CommandError with exit status 2, usage, per the command contract in DESIGN.md); a ``--date`` option; the scoring
commands of every account."""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Callable
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm


def file_bytes(name: str) -> tuple[Path, bytes]:
    path = Path(name)
    try:
        return path, path.read_bytes()
    except OSError as exc:
        raise CommandError(
            _("Cannot read %(file)s: %(error)s") % {"file": path, "error": exc.strerror or exc}, returncode=2
        ) from None


def user_named(username: str | None):
    """The user of ``--user``, or None when the option was not given."""
    if not username:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(_("No user %(username)s.") % {"username": username}, returncode=2)
    return user


def parse_day(text: str | None, option: str) -> datetime.date | None:
    """A ``--date``-style option as a date (None when not given); anything else is rejected input (exit 1)."""
    if text is None:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(
            _("%(option)s: “%(value)s” is not a date (YYYY-MM-DD).") % {"option": option, "value": text}, returncode=1
        ) from None


class ScoreAccountsCommand(BaseCommand):
    """``<name> [--date YYYY-MM-DD] [--account NO …] [--json]``: score every account (or the given ones) as of a day,
    with a progress bar on a terminal; the fee-recovery risk and the account-health commands are this with their own
    scoring function. Subclasses set ``score_all(day, account_ids, progress) -> summary`` (the summary has
    ``scored_on``, ``accounts``, ``levels`` and ``seconds``), ``levels`` (the level choices), ``raised`` (the summary
    key counting the warnings or alerts raised) and ``report`` (the line printed, with those names)."""

    levels: type
    raised: str
    report: str
    score_all: Callable[..., dict]  # a method of the subclass: score_all(*, day, account_ids, progress)

    def add_arguments(self, parser):
        parser.add_argument("--date", metavar="YYYY-MM-DD", help="the day scored (default: today)")
        parser.add_argument("--account", metavar="NO", nargs="+", help="only these account numbers")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        from gridkam.customers.models import ElectricityAccount

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
            summary = self.score_all(day=day, account_ids=account_ids, progress=progress)
        finally:
            if bar is not None:
                bar.close()
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
            return
        labels = dict(self.levels.choices)
        self.stdout.write(
            _(self.report)
            % {
                "accounts": summary["accounts"],
                "day": summary["scored_on"],
                "seconds": summary["seconds"],
                self.raised: summary[self.raised],
            }
        )
        for level, count in summary["levels"].items():
            self.stdout.write(f"  {labels[level]}: {count}")
