"""Uploaded files that wait on the server for the user to confirm their preview (the master-data and the
readings imports): the file stays under a random token, only the token goes into the session, and a
``nonce`` in the confirm form ties the confirmation to the preview it answers."""

from __future__ import annotations

import abc
import datetime as dt
import re
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

from django import forms
from django.contrib import messages
from django.utils.translation import gettext as _

TOKEN = re.compile(r"^[0-9a-f]{32}$")
# Uploads nobody confirmed are removed after this long, when the next upload comes.
PENDING_MAX_AGE = dt.timedelta(days=1)


@dataclass
class PendingUpload(abc.ABC):
    token: str
    suffix: str
    name: str
    nonce: str

    session_key: ClassVar[str]
    allowed_suffixes: ClassVar[tuple[str, ...]]

    @classmethod
    @abc.abstractmethod
    def folder(cls) -> Path:
        """The folder its files wait in."""

    @property
    def path(self) -> Path:
        return self.folder() / f"{self.token}{self.suffix}"

    def is_valid(self) -> bool:
        """A subclass's own checks of its fields, after the token and suffix are checked."""
        return True

    @classmethod
    def from_session(cls, session) -> PendingUpload | None:
        stored = session.get(cls.session_key)
        if not isinstance(stored, dict):
            return None
        try:
            pending = cls(**stored)
        except TypeError:
            return None
        # The session is server-side, but a path is built from it: check it all the same.
        if not TOKEN.match(pending.token) or pending.suffix not in cls.allowed_suffixes or not pending.is_valid():
            return None
        return pending

    @classmethod
    def store(cls, *, upload, session, **fields) -> PendingUpload:
        """Keep ``upload`` (a Django UploadedFile) until confirmed, replacing the session's previous one."""
        previous = cls.from_session(session)
        if previous is not None:
            previous.discard(session)
        sweep_stale(cls.folder())
        pending = cls(
            token=secrets.token_hex(16),
            suffix=Path(upload.name).suffix.lower(),
            name=Path(upload.name).name[:200],
            nonce=secrets.token_hex(16),
            **fields,
        )
        cls.folder().mkdir(parents=True, exist_ok=True)
        with pending.path.open("xb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        pending.remember(session)
        return pending

    @classmethod
    def read(cls, request) -> tuple[PendingUpload | None, bytes | None]:
        """The session's pending file and its bytes, or (None, None) with a message for the user when there is
        none or it has gone (swept, or removed by another tab)."""
        pending = cls.from_session(request.session)
        if pending is None:
            messages.info(request, _("Upload a file to import."))
            return None, None
        try:
            data = pending.path.read_bytes()
        except OSError:
            pending.discard(request.session)
            messages.error(request, _("The uploaded file is no longer there; upload it again."))
            return None, None
        return pending, data

    def remember(self, session) -> None:
        session[self.session_key] = asdict(self)

    def discard(self, session) -> None:
        self.path.unlink(missing_ok=True)
        session.pop(self.session_key, None)


def upload_check(upload, *, allowed_suffixes: tuple[str, ...], max_mb: int = 20):
    """A form's file field check: at most ``max_mb`` MB and one of the suffixes (forms.ValidationError)."""
    if upload.size > max_mb * 1024 * 1024:
        raise forms.ValidationError(
            _("The file is %(size)s MB; the limit is %(limit)s MB. Split it into several files.")
            % {"size": f"{upload.size / 1024 / 1024:.1f}", "limit": max_mb}
        )
    if Path(upload.name).suffix.lower() not in allowed_suffixes:
        raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
    return upload


def sweep_stale(folder: Path) -> None:
    if not folder.is_dir():
        return
    cutoff = time.time() - PENDING_MAX_AGE.total_seconds()
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            # Another request removed it first.
            continue
