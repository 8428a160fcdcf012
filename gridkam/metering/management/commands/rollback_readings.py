"""``rollback_readings BATCH [--json] [--user NAME]``: undo a committed readings import as a whole.

Readings the batch added are removed, readings it changed get their previous values back, and the
rollups follow. Refused (exit 1) while a later import changed the same readings. Exit 2: no such batch.
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gridkam.metering.models import ImportBatch
from gridkam.metering.services import batch_rollback


class Command(BaseCommand):
    help = "Roll back a committed readings import (its batch number is in import_readings' output)."

    def add_arguments(self, parser):
        parser.add_argument("batch", help="batch number")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        parser.add_argument("--user", help="username recorded as who rolled it back")

    def handle(self, *args, **options):
        batch = None
        if str(options["batch"]).isdigit():
            batch = ImportBatch.objects.filter(pk=int(options["batch"])).first()
        if batch is None:
            raise CommandError(_("No import batch %(batch)s.") % {"batch": options["batch"]}, returncode=2)
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(_("No user %(username)s.") % {"username": options["user"]}, returncode=2)
        try:
            batch = batch_rollback(batch=batch, user=user)
        except ValidationError as exc:
            if options["json"]:
                self.stdout.write(
                    json.dumps({"ok": False, "batch": batch.pk, "errors": exc.messages}, ensure_ascii=False)
                )
            raise CommandError(" ".join(exc.messages), returncode=1) from None
        if options["json"]:
            self.stdout.write(json.dumps({"ok": True, "batch": batch.pk, "status": batch.status}, ensure_ascii=False))
        else:
            self.stdout.write(
                _("Import #%(batch)s (%(file)s) is rolled back.") % {"batch": batch.pk, "file": batch.file_name}
            )
