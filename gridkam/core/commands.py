"""What import commands share: reading the file named on the command line and the ``--user`` to act as; a
problem is a CommandError with exit status 2 (usage), per the command contract in DESIGN.md."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils.translation import gettext as _


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
