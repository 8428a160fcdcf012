"""SMS backends for notifications: a pluggable class named by ``settings.GRIDKAM["SMS_BACKEND"]`` (a dotted path).

A backend is any class whose instances have ``send_messages(messages) -> list[(ok, error)]``: one result per
message, in order; ``error`` is a short text when ``ok`` is false (the gateway's code and message). The class is
made with no arguments, so a real gateway reads its own settings (URL, account, signature) from Django settings or
the environment. Exceptions raised by ``send_messages`` fail the whole batch (each delivery records the error) and
are retried by ``notifications_retry``; docs/notifications.md shows a gateway backend.

``LoggingSmsBackend`` (the default) sends nothing: it logs each message on the ``gridkam.sms`` logger at INFO, which
is what a trial installation or a closed test network wants.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_BACKEND = "gridkam.engagement.sms.LoggingSmsBackend"
logger = logging.getLogger("gridkam.sms")


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str


class LoggingSmsBackend:
    """Writes each message to the log instead of sending it."""

    def send_messages(self, messages: list[SmsMessage]) -> list[tuple[bool, str]]:
        for message in messages:
            logger.info("SMS to %s: %s", message.phone, message.text)
        return [(True, "") for _message in messages]


def sms_backend():
    """An instance of the configured backend (GRIDKAM["SMS_BACKEND"], default: the logging backend)."""
    path = settings.GRIDKAM.get("SMS_BACKEND") or DEFAULT_BACKEND
    return import_string(path)()
