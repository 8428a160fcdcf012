"""``python manage.py demo_logins [--url URL] [--json]``: who to log in as, read from the database."""

from __future__ import annotations

import json
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandParser, no_translations

from gridkam.demo.selectors import demo_logins
from gridkam.demo.services import DEMO_PASSWORD
from gridkam.users.choices import Role


class Command(BaseCommand):
    help = "Print one demo login per role (the first user of each role by username) and the demo password."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the server listens.")
        parser.add_argument("--json", action="store_true", help="Print the logins as JSON on stdout.")

    # Role names in English whatever LANGUAGE_CODE says: this is output for developers.
    @no_translations
    def handle(self, *args, **options) -> None:
        logins = demo_logins()
        url = options["url"]
        if options["json"]:
            document = {
                "url": url,
                "password": DEMO_PASSWORD,
                "logins": [{**asdict(login), "role": str(login.role)} for login in logins],
            }
            self.stdout.write(json.dumps(document, ensure_ascii=False))
            return
        if not logins:
            self.stdout.write("No users yet: load the demo with `python manage.py seed_demo`.")
            return
        self.stdout.write(self.style.SUCCESS(f"GridKAM: {url}"))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
        width = max(len(login.username) for login in logins)
        for login in logins:
            label = str(Role(login.role).label)
            note = "" if login.demo_password else "  (password changed: not the demo password)"
            details = " · ".join(part for part in (login.name, login.where) if part)
            self.stdout.write(f"  {label:<16} {login.username:<{width}}  {details}{note}")
