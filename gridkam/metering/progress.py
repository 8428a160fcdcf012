"""Progress of a readings import, kept in Django's cache under one key per batch.

The loader writes the readings and the batch's counts in one transaction, so nothing it does is visible to
another database connection before it commits: a web page or the API asking how far an import has come reads
the cache instead. Between processes (a worker and the web server) that needs a shared cache: ``CACHE_URL``.

The entry is ``{"done", "total", "phase", "at"}``: bytes of the file read so far and in all, the phase
(``ImportPhase``), and when it was last written (a Unix time), which is the import's sign of life.
"""

from __future__ import annotations

import time

from django.core.cache import cache

from .choices import ImportPhase

# Long enough to outlive any import; the entry is deleted when the run ends.
PROGRESS_TIMEOUT = 24 * 3600


def progress_key(batch_id: int) -> str:
    return f"metering:import-progress:{batch_id}"


def progress_set(batch_id: int, *, done: int, total: int, phase: str = ImportPhase.READING) -> None:
    cache.set(
        progress_key(batch_id),
        {"done": int(done), "total": int(total), "phase": str(phase), "at": time.time()},
        PROGRESS_TIMEOUT,
    )


def progress_get(batch_id: int) -> dict | None:
    entry = cache.get(progress_key(batch_id))
    return entry if isinstance(entry, dict) else None


def progress_clear(batch_id: int) -> None:
    cache.delete(progress_key(batch_id))


def progress_reporter(batch_id: int):
    """The loader's ``progress(done, total)`` callback for one batch. The loader calls it after each chunk of
    the file; once the whole file is read, what remains is checking, writing and the rollups."""

    def report(done: int, total: int) -> None:
        phase = ImportPhase.WRITING if done >= total else ImportPhase.READING
        progress_set(batch_id, done=done, total=total, phase=phase)

    return report
