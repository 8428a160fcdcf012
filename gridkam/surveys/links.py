"""Signed answer links for contacts without a portal account.

A link carries the survey's id signed with the site's secret key (``TimestampSigner``, its own salt), so nothing
secret is stored and a changed character makes it invalid. The survey's own ``expires_at`` decides expiry (the
signature's age is also bounded, by the longest a template may stay open); answering once is enforced by the
survey row (``answered_at``).
"""

from __future__ import annotations

import datetime as dt

from django.core import signing
from django.urls import reverse

SALT = "gridkam.surveys.answer-link"
# The longest a survey stays open (SurveyTemplate.valid_days ≤ 365) and a day's margin.
MAX_AGE = dt.timedelta(days=366)


class LinkInvalid(Exception):
    """The link was changed, is not a link at all, or is older than any survey stays open."""


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def link_token(survey_id: int) -> str:
    return _signer().sign(str(survey_id))


def link_survey_id(token: str) -> int:
    """The survey id a token was made for; ``LinkInvalid`` when it was tampered with or is too old."""
    try:
        value = _signer().unsign(token, max_age=MAX_AGE)
    except (signing.BadSignature, ValueError) as exc:
        raise LinkInvalid from exc
    if not value.isdigit() or len(value) > 18:
        raise LinkInvalid
    return int(value)


def link_path(survey_id: int) -> str:
    return reverse("surveys:answer_link", args=[link_token(survey_id)])
