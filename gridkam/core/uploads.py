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

    def remember(self, session) -> None:
        session[self.session_key] = asdict(self)

    def discard(self, session) -> None:
        self.path.unlink(missing_ok=True)
        session.pop(self.session_key, None)


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
