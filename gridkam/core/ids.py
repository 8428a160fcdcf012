"""Ids and counts typed by people (query strings, form fields): parsed once, the same way everywhere."""

from __future__ import annotations

# At most 18 digits: below 2**63, so the value never overflows a database key (SQLite raises OverflowError past it).
MAX_ID_DIGITS = 18


def id_from(raw) -> int | None:
    """The positive whole number ``raw`` spells in ASCII digits (at most 18 of them), else None.

    ``str.isdigit`` alone is not enough: it accepts "²" and other digits ``int()`` refuses."""
    text = str(raw).strip() if raw is not None else ""
    if not text or len(text) > MAX_ID_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
