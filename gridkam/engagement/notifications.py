"""Notifications (issue 6 item 6): in the app, by e-mail and by SMS, per-user preferences, sent after commit.

- ``notify`` / ``notify_many``: raise notifications. Title and text come from the event's templates
  (``notifications/<event>_subject.txt`` and ``notifications/<event>.txt``) rendered in ``settings.LANGUAGE_CODE``
  (Chinese); one ``Notification`` per recipient (bulk), and per the recipient's preference for the event (their
  ``NotificationPreference`` row, else ``GRIDKAM["NOTIFICATION_DEFAULTS"]``) one ``NotificationDelivery`` per
  e-mail / SMS channel: pending, or skipped with the reason when the user has no address. The actor is never told
  of their own action. A fixed number of queries whatever the number of notifications (two reads, then inserts in
  batches), so the SLA sweep raises thousands at once.
- Delivery happens after the transaction commits (``transaction.on_commit``) in the Celery task
  ``engagement.deliver_notifications`` (eager without a broker): e-mail over one connection of Django's mail
  backend, SMS through the pluggable backend (``gridkam.engagement.sms``); each delivery is marked sent or failed
  with the error, one failure never stops the others. A rolled-back transaction sends nothing.
- ``deliveries_retry``: the periodic job / ``notifications_retry`` command for deliveries still pending or failed.
- Reads and marks for the pages and the API: ``notifications_for``, ``notification_mark_read``,
  ``notifications_mark_all_read``, ``preferences_for``, ``preferences_save``.

Rendering many notifications: a message template made of text, ``{% translate %}``, ``{% blocktranslate %}``
(without plural or filters) and ``{{ name }}`` inside ``{% autoescape off %}`` is rendered once per call with
markers in place of the values and then filled per notification; any other template (``{% if %}``, filters) is
rendered per notification. Both give the same text.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.template import Context
from django.template.base import TextNode, VariableNode, render_value_in_context
from django.template.defaulttags import AutoEscapeControlNode, CommentNode, LoadNode
from django.template.loader import get_template
from django.templatetags.i18n import BlockTranslateNode, TranslateNode
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from .choices import DeliveryStatus, NotificationChannel, NotificationEvent
from .models import Notification, NotificationDelivery, NotificationPreference
from .sms import SmsMessage, sms_backend

logger = logging.getLogger(__name__)

BATCH = 2000
# Deliveries per delivery task (a broker message carries the ids).
TASK_CHUNK = 500
CHANNELS = (NotificationChannel.IN_APP, NotificationChannel.EMAIL, NotificationChannel.SMS)
SENT_CHANNELS = (NotificationChannel.EMAIL, NotificationChannel.SMS)
EVENTS = frozenset(NotificationEvent.values)  # checked per item: ``.values`` builds a list on every call

# Without GRIDKAM["NOTIFICATION_DEFAULTS"]: every event in the app; SLA escalations and risk warnings also by
# e-mail (a lead or a manager away from the screen must hear of them). SMS is opt-in: it costs money per message.
DEFAULT_CHANNELS: dict[str, tuple[str, ...]] = {
    "default": (NotificationChannel.IN_APP,),
    NotificationEvent.SLA_ESCALATION: (NotificationChannel.IN_APP, NotificationChannel.EMAIL),
    NotificationEvent.RISK_WARNING: (NotificationChannel.IN_APP, NotificationChannel.EMAIL),
    NotificationEvent.HEALTH_ALERT: (NotificationChannel.IN_APP, NotificationChannel.EMAIL),
}


# ----------------------------------------------------------------------------------------------------- settings


def default_channels(event: str) -> frozenset[str]:
    """The channels of an event for users without their own preference (settings, else ``DEFAULT_CHANNELS``)."""
    conf = settings.GRIDKAM.get("NOTIFICATION_DEFAULTS") or DEFAULT_CHANNELS
    channels = frozenset(str(c) for c in conf.get(event, conf.get("default", (NotificationChannel.IN_APP,))))
    unknown = channels - set(NotificationChannel.values)
    if unknown:
        raise ImproperlyConfigured(
            f"GRIDKAM['NOTIFICATION_DEFAULTS'] names unknown channels {sorted(unknown)}; "
            f"use {NotificationChannel.values}."
        )
    return channels


def retry_minutes() -> int:
    return int(settings.GRIDKAM.get("NOTIFICATION_RETRY_MINUTES", 10))


def retry_max_age_hours() -> int:
    return int(settings.GRIDKAM.get("NOTIFICATION_RETRY_MAX_AGE_HOURS", 24))


def absolute_link(link: str) -> str:
    """The link as it goes into an e-mail: prefixed with GRIDKAM["SITE_URL"] when it is a path and one is set."""
    base = (settings.GRIDKAM.get("SITE_URL") or "").rstrip("/")
    return base + link if link.startswith("/") and base else link


# ---------------------------------------------------------------------------------------------------- rendering

MARK = "\x1f"
SIMPLE_NODES = (TextNode, LoadNode, CommentNode)


def template_names(event: str) -> tuple[str, str]:
    return f"notifications/{event}_subject.txt", f"notifications/{event}.txt"


def _fillable(nodelist, autoescape: bool = True) -> bool:
    """Whether the template only puts values in place (see the module docstring), with autoescaping off."""
    for node in nodelist:
        if isinstance(node, SIMPLE_NODES):
            continue
        if isinstance(node, AutoEscapeControlNode):
            if not _fillable(node.nodelist, node.setting):
                return False
        elif isinstance(node, VariableNode):
            if autoescape or node.filter_expression.filters:
                return False
        elif isinstance(node, TranslateNode):
            var = node.filter_expression.var  # a string for a constant message
            constant = isinstance(var, str) or getattr(var, "literal", None) is not None
            if node.asvar or node.filter_expression.filters or not constant:
                return False
        elif isinstance(node, BlockTranslateNode):
            if autoescape or node.countervar or node.asvar or node.plural:
                return False
            if any(value.filters for value in node.extra_context.values()):
                return False
        else:
            return False
    return True


def _tidy_title(text: str) -> str:
    return " ".join(text.split())[:200]


def _tidy_body(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):  # at most one empty line in a row
            tidy.append(line)
    return "\n".join(tidy)


class _Part:
    """One template (subject or text) of an event, rendered fast when it is fillable."""

    def __init__(self, name: str):
        self.template = get_template(name)
        self.fillable = _fillable(self.template.template.nodelist)
        # Per set of context names: a format string of the rendered template with "{}" for the values, and the
        # names in the order they fill it.
        self.patterns: dict[frozenset, tuple[str, list[str]]] = {}
        self.value_context = Context(autoescape=False)
        # Lazy labels (an SLA target, a role) recur in every row of a batch: rendered once (one language per part).
        self.rendered: dict[int, tuple[Any, str]] = {}

    def _pattern(self, keys: frozenset) -> tuple[str, list[str]]:
        parts = self.template.render({key: f"{MARK}{key}{MARK}" for key in keys}).split(MARK)
        literals = [part.replace("{", "{{").replace("}", "}}") for part in parts[0::2]]
        return "{}".join(literals), parts[1::2]

    def _text(self, value) -> str:
        if isinstance(value, Promise):
            known = self.rendered.get(id(value))
            if known is None or known[0] is not value:
                known = self.rendered[id(value)] = (value, render_value_in_context(value, self.value_context))
            return known[1]
        return render_value_in_context(value, self.value_context)

    def render(self, context: dict[str, Any]) -> str:
        if not self.fillable:
            return self.template.render(context)
        keys = frozenset(context)
        pattern = self.patterns.get(keys)
        if pattern is None:
            pattern = self.patterns[keys] = self._pattern(keys)
        text, names = pattern
        # A plain string renders as itself with autoescaping off; other values as the template would.
        return text.format(*[v if type(v) is str else self._text(v) for v in map(context.__getitem__, names)])


class MessageRenderer:
    """Renders the title and text of notifications of any event in one language; build one per batch."""

    def __init__(self, language: str | None = None):
        self.language = language
        self.parts: dict[str, tuple[_Part, _Part]] = {}

    def render(self, event: str, context: dict[str, Any]) -> tuple[str, str]:
        """(title, text); call it inside ``with renderer.language_active():``."""
        parts = self.parts.get(event)
        if parts is None:
            subject, body = template_names(event)
            parts = self.parts[event] = (_Part(subject), _Part(body))
        return _tidy_title(parts[0].render(context)), _tidy_body(parts[1].render(context))

    def language_active(self):
        return translation.override(self.language or translation.get_language() or settings.LANGUAGE_CODE)


def render_message(event: str, context: dict[str, Any], *, language: str | None = None) -> tuple[str, str]:
    """(title, text) of a notification of ``event``: in ``language``, else in the active language."""
    renderer = MessageRenderer(language)
    with renderer.language_active():
        return renderer.render(event, context)


# ------------------------------------------------------------------------------------------------------ raising


@dataclass(frozen=True)
class Channels:
    in_app: bool
    email: bool
    sms: bool

    def any(self) -> bool:
        return self.in_app or self.email or self.sms


def _in_chunks(values: Sequence, size: int = BATCH) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _pk(value) -> int | None:
    return getattr(value, "pk", value)


def notify_many(items: Iterable[tuple[Any, str, dict[str, Any], str]], *, actor=None) -> list[int]:
    """Raise notifications: ``items`` are (recipient (a user or an id), event, template context, link).

    Recipients who are the ``actor``, inactive or without any channel for the event get nothing. Returns the ids
    of the notifications created. Deliveries by e-mail and SMS are sent once the current transaction commits.
    """
    actor_id = _pk(actor)
    rows: list[tuple[int, str, dict[str, Any], str]] = []
    for recipient, event, context, link in items:
        recipient_id = _pk(recipient)
        if recipient_id is None or recipient_id == actor_id:
            continue
        if event not in EVENTS:
            raise ValueError(f"Unknown notification event {event!r}.")
        rows.append((recipient_id, event, context, link or ""))
    if not rows:
        return []
    user_ids = sorted({row[0] for row in rows})
    events = sorted({row[1] for row in rows})
    addresses: dict[int, tuple[str, str]] = {}
    chosen: dict[tuple[int, str], Channels] = {}
    for ids in _in_chunks(user_ids):
        for pk, email, phone in (
            get_user_model().objects.filter(pk__in=ids, is_active=True).values_list("pk", "email", "phone")
        ):
            addresses[pk] = ((email or "").strip(), (phone or "").strip())
        for user_id, event, in_app, email, sms in NotificationPreference.objects.filter(
            user_id__in=ids, event__in=events
        ).values_list("user_id", "event", "in_app", "email", "sms"):
            chosen[(user_id, event)] = Channels(in_app, email, sms)
    defaults = {}
    for event in events:
        channels = default_channels(event)
        defaults[event] = Channels(*(str(c) in channels for c in CHANNELS))

    now = timezone.now()
    renderer = MessageRenderer(settings.LANGUAGE_CODE)
    notifications: list[tuple] = []
    wanted: list[tuple[int, Channels]] = []
    with renderer.language_active():
        for recipient_id, event, context, link in rows:
            if recipient_id not in addresses:
                continue
            channels = chosen.get((recipient_id, event)) or defaults[event]
            if not channels.any():
                continue
            title, body = renderer.render(event, context)
            # Not wanted in the app: kept as the record of what was sent, but never unread.
            notifications.append((recipient_id, event, title, body, link[:300], now, None if channels.in_app else now))
            wanted.append((recipient_id, channels))
    if not notifications:
        return []
    ids = _insert(Notification, NOTIFICATION_COLUMNS, notifications)

    deliveries: list[tuple] = []
    no_email, no_phone = _("No e-mail address."), _("No mobile phone number.")
    for notification_id, (recipient_id, channels) in zip(ids, wanted, strict=True):
        email, phone = addresses[recipient_id]
        if channels.email:
            deliveries.append(_delivery(notification_id, NotificationChannel.EMAIL, email, no_email))
        if channels.sms:
            deliveries.append(_delivery(notification_id, NotificationChannel.SMS, phone, no_phone))
    if deliveries:
        delivery_ids = _insert(NotificationDelivery, DELIVERY_COLUMNS, deliveries)
        pending = [pk for pk, row in zip(delivery_ids, deliveries, strict=True) if row[3] == DeliveryStatus.PENDING]
        if pending:
            transaction.on_commit(lambda: deliveries_enqueue(pending), robust=True)
    return ids


NOTIFICATION_COLUMNS = ("recipient_id", "event", "title", "body", "link", "created_at", "read_at")
DELIVERY_COLUMNS = ("notification_id", "channel", "address", "status", "error", "attempted_at")


def _delivery(notification_id: int, channel: str, address: str, missing: str) -> tuple:
    if address:
        return (notification_id, str(channel), address[:254], str(DeliveryStatus.PENDING), "", None)
    return (notification_id, str(channel), "", str(DeliveryStatus.SKIPPED), str(missing), None)


def _insert(model, columns: tuple[str, ...], rows: list[tuple]) -> list[int]:
    """Insert rows (values in the order of ``columns``, attribute names) and return their ids, in order.

    PostgreSQL: the ids are drawn from the table's sequence in one query and the rows go in by COPY (the SLA sweep
    raises thousands at a time; Django's bulk_create spends most of its time preparing values field by field).
    Other databases: bulk_create.
    """
    if connection.vendor != "postgresql":
        objects = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        model.objects.bulk_create(objects, batch_size=BATCH)
        return [obj.pk for obj in objects]
    table = model._meta.db_table
    pk_column = model._meta.pk.column
    names = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) for c in (pk_column, *columns))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [connection.ops.quote_name(table), pk_column, len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({names}) FROM STDIN") as copy:
            for pk, row in zip(ids, rows, strict=True):
                copy.write_row((pk, *row))
    return ids


def notify(*, recipients: Iterable, event: str, context: dict[str, Any], link: str = "", actor=None) -> list[int]:
    """Raise one event for several people (see ``notify_many``)."""
    return notify_many(((recipient, event, context, link) for recipient in recipients), actor=actor)


def task_assigned_notify(*, tasks: Iterable, actor=None) -> list[int]:
    """ "A task is assigned to me" for tasks given to someone else than the ``actor`` who made or assigned them
    (tasks raised by the system for their own event, e.g. SLA warnings, are told by that event instead)."""
    from gridkam.customers.models import Customer

    tasks = [task for task in tasks if task.assignee_id]
    if not tasks:
        return []
    names = dict(Customer.objects.filter(pk__in={t.customer_id for t in tasks}).values_list("pk", "name"))
    by = str(actor) if actor is not None else ""
    items = [
        (
            task.assignee_id,
            NotificationEvent.TASK_ASSIGNED,
            {
                "title": task.title,
                "customer": names.get(task.customer_id, ""),
                "due": task.due_date.isoformat() if task.due_date else "",
                "detail": task.detail,
                "by": by,
            },
            task.link or "/tasks/",
        )
        for task in tasks
    ]
    return notify_many(items, actor=actor)


# ----------------------------------------------------------------------------------------------------- delivery


def deliveries_enqueue(ids: Sequence[int]) -> None:
    """Hand pending deliveries to the delivery task, in chunks (runs after commit)."""
    from .tasks_notify import deliver_notifications_task

    for chunk in _in_chunks(list(ids), TASK_CHUNK):
        deliver_notifications_task.delay(list(chunk))


def sms_text(notification: Notification) -> str:
    """An SMS says the title (the event and the object, e.g. the request number) only."""
    return notification.title


def email_body(notification: Notification) -> str:
    body = notification.body
    if notification.link:
        body = f"{body}\n\n{absolute_link(notification.link)}"
    return body


def _send_emails(rows: list[NotificationDelivery]) -> None:
    try:
        connection = get_connection(fail_silently=False)
        connection.open()
    except Exception as exc:  # the mail server is down: every e-mail of the batch failed, retried later
        for row in rows:
            _mark(row, ok=False, error=f"{type(exc).__name__}: {exc}")
        return
    try:
        for row in rows:
            message = EmailMessage(
                subject=row.notification.title,
                body=email_body(row.notification),
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[row.address],
                connection=connection,
            )
            try:
                sent = message.send()
            except Exception as exc:  # one bad address or a refused message must not lose the others
                _mark(row, ok=False, error=f"{type(exc).__name__}: {exc}")
            else:
                _mark(row, ok=bool(sent), error="" if sent else _("The mail backend sent nothing."))
    finally:
        try:
            connection.close()
        except Exception:  # closing a broken connection
            logger.warning("Closing the mail connection failed", exc_info=True)


def _send_sms(rows: list[NotificationDelivery]) -> None:
    messages = [SmsMessage(phone=row.address, text=sms_text(row.notification)) for row in rows]
    try:
        results = list(sms_backend().send_messages(messages))
    except Exception as exc:  # the gateway is down: the whole batch failed, retried later
        for row in rows:
            _mark(row, ok=False, error=f"{type(exc).__name__}: {exc}")
        return
    if len(results) != len(rows):
        error = _("The SMS backend answered %(got)s results for %(sent)s messages.") % {
            "got": len(results),
            "sent": len(rows),
        }
        for row in rows:
            _mark(row, ok=False, error=error)
        return
    for row, (ok, error) in zip(rows, results, strict=True):
        _mark(row, ok=bool(ok), error="" if ok else str(error or _("The SMS gateway refused the message.")))


def _mark(row: NotificationDelivery, *, ok: bool, error: str) -> None:
    row.status = DeliveryStatus.SENT if ok else DeliveryStatus.FAILED
    row.error = error[:500]


def deliveries_send(delivery_ids: Sequence[int], *, now: dt.datetime | None = None) -> dict[str, int]:
    """Send the deliveries (pending or failed ones; others are left alone, so running twice sends once).

    The rows are locked while they are sent (PostgreSQL: rows another worker holds are skipped), then marked
    sent or failed with the error and the time of the attempt.
    """
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            NotificationDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=list(delivery_ids), status__in=(DeliveryStatus.PENDING, DeliveryStatus.FAILED))
            .select_related("notification")
            .order_by("pk")
        )
        with translation.override(settings.LANGUAGE_CODE):
            emails = [row for row in rows if row.channel == NotificationChannel.EMAIL]
            texts = [row for row in rows if row.channel == NotificationChannel.SMS]
            if emails:
                _send_emails(emails)
            if texts:
                _send_sms(texts)
        for row in rows:
            row.attempted_at = now
        NotificationDelivery.objects.bulk_update(rows, ["status", "error", "attempted_at"], batch_size=BATCH)
    sent = sum(row.status == DeliveryStatus.SENT for row in rows)
    return {"sent": sent, "failed": len(rows) - sent}


def deliveries_due_for_retry(*, minutes: int | None = None, max_age_hours: int | None = None, now=None) -> QuerySet:
    """Deliveries still pending ``minutes`` after their notification (the after-commit task never ran) or failed
    at least ``minutes`` ago, of notifications younger than ``max_age_hours`` (older ones are given up)."""
    now = now or timezone.now()
    minutes = retry_minutes() if minutes is None else minutes
    max_age_hours = retry_max_age_hours() if max_age_hours is None else max_age_hours
    before = now - dt.timedelta(minutes=minutes)
    return NotificationDelivery.objects.filter(
        Q(status=DeliveryStatus.PENDING, notification__created_at__lte=before)
        | Q(status=DeliveryStatus.FAILED, attempted_at__lte=before),
        notification__created_at__gte=now - dt.timedelta(hours=max_age_hours),
    )


def deliveries_retry(*, minutes: int | None = None, max_age_hours: int | None = None, now=None, progress=None) -> dict:
    """Send again what is due for a retry (``deliveries_due_for_retry``), in chunks."""
    ids = list(
        deliveries_due_for_retry(minutes=minutes, max_age_hours=max_age_hours, now=now)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    summary = {"due": len(ids), "sent": 0, "failed": 0}
    for start in range(0, len(ids), TASK_CHUNK):
        result = deliveries_send(ids[start : start + TASK_CHUNK], now=now)
        summary["sent"] += result["sent"]
        summary["failed"] += result["failed"]
        if progress:
            progress(min(start + TASK_CHUNK, len(ids)), len(ids))
    return summary


# ------------------------------------------------------------------------------------------- reads and marking

UNREAD = ExpressionWrapper(Q(read_at__isnull=True), output_field=BooleanField())


def notifications_for(user) -> QuerySet[Notification]:
    """The user's own notifications, unread first, newest first."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).annotate(unread=UNREAD).order_by("-unread", "-created_at", "-pk")


def unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notification_get(*, user, pk) -> Notification:
    """One of the user's notifications; someone else's raises ``Notification.DoesNotExist``."""
    return Notification.objects.get(pk=pk, recipient=user)


@transaction.atomic
def notification_mark_read(*, notification: Notification, now=None) -> Notification:
    if notification.read_at is None:
        notification.read_at = now or timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


@transaction.atomic
def notifications_mark_all_read(*, user, now=None) -> int:
    """Mark all the user's unread notifications read; returns how many."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=now or timezone.now())


# -------------------------------------------------------------------------------------------------- preferences


@dataclass(frozen=True)
class Preference:
    """The channels a user gets one event by; ``custom`` when the user chose them (else the defaults)."""

    event: str
    in_app: bool
    email: bool
    sms: bool
    custom: bool

    @property
    def label(self) -> str:
        return str(NotificationEvent(self.event).label)


def preferences_for(user) -> list[Preference]:
    """The effective preference of every event for the user (one query)."""
    rows = {
        row.event: row
        for row in NotificationPreference.objects.filter(user=user)
        if row.event in NotificationEvent.values
    }
    result = []
    for event in NotificationEvent.values:
        row = rows.get(event)
        if row is not None:
            result.append(Preference(event, row.in_app, row.email, row.sms, True))
        else:
            channels = default_channels(event)
            result.append(
                Preference(
                    event,
                    NotificationChannel.IN_APP in channels,
                    NotificationChannel.EMAIL in channels,
                    NotificationChannel.SMS in channels,
                    False,
                )
            )
    return result


@transaction.atomic
def preferences_save(*, user, choices: dict[str, dict[str, bool]]) -> list[Preference]:
    """Save the user's channels per event (``{event: {"in_app": …, "email": …, "sms": …}}``; a channel left out
    keeps its current effective value). Unknown events or channels are field errors."""
    errors = {}
    for event, channels in choices.items():
        if event not in NotificationEvent.values:
            errors[str(event)[:40] or "event"] = _("Unknown event.")
        elif set(channels) - set(NotificationChannel.values):
            errors[event] = _("Unknown channel: use in_app, email or sms.")
    if errors:
        raise ValidationError(errors)
    current = {pref.event: pref for pref in preferences_for(user)}
    rows = []
    for event, channels in choices.items():
        pref = current[event]
        rows.append(
            NotificationPreference(
                user=user,
                event=event,
                in_app=bool(channels.get("in_app", pref.in_app)),
                email=bool(channels.get("email", pref.email)),
                sms=bool(channels.get("sms", pref.sms)),
            )
        )
    if rows:
        NotificationPreference.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["user", "event"],
            update_fields=["in_app", "email", "sms"],
        )
    return preferences_for(user)


def missing_addresses(user, preferences: Iterable[Preference]) -> list[str]:
    """The channels chosen for some event for which the user has no address (for a warning)."""
    missing = []
    prefs = list(preferences)
    if any(p.email for p in prefs) and not (user.email or "").strip():
        missing.append(NotificationChannel.EMAIL)
    if any(p.sms for p in prefs) and not (getattr(user, "phone", "") or "").strip():
        missing.append(NotificationChannel.SMS)
    return missing
