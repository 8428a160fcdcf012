"""Writes of the conversations: sending a message (with attachments), marking a thread read, and turning a
customer's message into a service request.

Attachments are checked by the service desk's ``attachment_check`` (real content type from the first bytes:
JPEG, PNG, GIF, WebP or PDF; at most GRIDKAM["REQUEST_ATTACHMENT_MAX_MB"] MB each), so both parts accept the
same files. The text is at most GRIDKAM["MESSAGE_MAX_CHARS"] characters (2,000) and may be empty only when
files are attached; at most GRIDKAM["MESSAGE_MAX_ATTACHMENTS"] files (5) per message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridkam.customers.choices import AssignmentRole
from gridkam.customers.models import AccountAssignment, Customer
from gridkam.engagement.choices import NotificationEvent
from gridkam.engagement.notifications import notify_many
from gridkam.servicedesk.choices import Channel
from gridkam.servicedesk.models import ServiceRequest
from gridkam.servicedesk.services import attachment_check, request_create
from gridkam.users.choices import Role
from gridkam.users.models import User

from .choices import MessageKind, Side
from .models import Conversation, Message, MessageAttachment, ReadMarker
from .permissions import can_write, on_team, other_side, sees, side_of

# Who hears of a customer's message: the managers of its account team.
NOTIFIED_ROLES = (AssignmentRole.MANAGER, AssignmentRole.BACKUP_MANAGER)


def max_chars() -> int:
    return int(settings.GRIDKAM.get("MESSAGE_MAX_CHARS", 2000))


def max_attachments() -> int:
    return int(settings.GRIDKAM.get("MESSAGE_MAX_ATTACHMENTS", 5))


def conversation_get_or_create(customer: Customer, *, now: dt.datetime | None = None) -> Conversation:
    conversation, _created = Conversation.objects.get_or_create(
        customer=customer, defaults={"created_at": now or timezone.now()}
    )
    return conversation


def _checked_attachments(attachments: Iterable) -> list[tuple[object, str]]:
    uploads = [upload for upload in attachments or () if upload]
    if len(uploads) > max_attachments():
        raise ValidationError(
            {"attachments": _("Attach at most %(max)s files to one message.") % {"max": max_attachments()}}
        )
    return [(upload, attachment_check(upload)) for upload in uploads]


def message_errors(*, body: str, attachments: Iterable) -> tuple[str, list[tuple[object, str]]]:
    """The cleaned text and the checked attachments, or ValidationError by field (``body``, ``attachments``)."""
    body = (body or "").strip()
    errors: dict[str, list[str]] = {}
    if len(body) > max_chars():
        errors.setdefault("body", []).append(
            _("Write at most %(max)s characters (this text has %(n)s).") % {"max": max_chars(), "n": len(body)}
        )
    checked: list[tuple[object, str]] = []
    try:
        checked = _checked_attachments(attachments)
    except ValidationError as error:
        errors.setdefault("attachments", []).extend(error.message_dict["attachments"])
    if not body and not checked and "attachments" not in errors:
        errors.setdefault("body", []).append(_("Write a message or attach a file."))
    if errors:
        raise ValidationError(errors)
    return body, checked


def _recipients(customer: Customer, side: str) -> list[int]:
    """Who hears of a new message of ``side``: the account team's managers for a customer's message; for the
    team's, the portal users who see the customer (its own users and group users with it in their scope)."""
    if side == Side.CUSTOMER:
        return list(
            AccountAssignment.objects.filter(
                customer_id=customer.pk, end_date__isnull=True, role__in=NOTIFIED_ROLES, user__is_active=True
            ).values_list("user_id", flat=True)
        )
    # Portal users belong to the customer or to a group above it; a group's portal users are few, and each one's
    # scope is decided by ``Customer.objects.visible_to`` (the one rule), so it is asked of each.
    chain, parent_id = [customer.pk], customer.parent_id
    while parent_id and parent_id not in chain:
        chain.append(parent_id)
        parent_id = Customer.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
    candidates = User.objects.filter(role=Role.CUSTOMER_USER, is_active=True, customer_id__in=chain)
    return [user.pk for user in candidates if sees(user, customer)]


def _notify(message: Message, customer: Customer, *, user, files: int) -> None:
    from django.urls import reverse

    side = message.side
    if side == Side.CUSTOMER:
        link = reverse("messaging:thread", args=[customer.pk])
    else:
        link = f"{reverse('messaging:portal_conversation')}?customer={customer.pk}"
    context = {
        "customer": customer.name,
        "sender": str(user),
        "excerpt": message.body[:80],
        "files": files,
    }
    recipients = _recipients(customer, side)
    notify_many(((pk, NotificationEvent.MESSAGE_RECEIVED, context, link) for pk in recipients), actor=user)


def _mark(conversation: Conversation, user, now: dt.datetime) -> None:
    """The user has read the conversation up to ``now``: one upsert of their marker."""
    ReadMarker.objects.bulk_create(
        [ReadMarker(conversation=conversation, user=user, read_at=now)],
        update_conflicts=True,
        unique_fields=["conversation", "user"],
        update_fields=["read_at"],
    )


@transaction.atomic
def message_send(
    *, customer: Customer, user, body: str = "", attachments: Iterable = (), now: dt.datetime | None = None
) -> Message:
    """Post a message in the customer's conversation (created with its first message) on the user's side, and
    tell the other side. PermissionError when the user may not write there (see ``permissions``)."""
    now = now or timezone.now()
    if not can_write(user, customer):
        raise PermissionError(_("You may not write in this conversation."))
    body, checked = message_errors(body=body, attachments=attachments)
    conversation = conversation_get_or_create(customer, now=now)
    message = Message.objects.create(conversation=conversation, side=side_of(user), sender=user, body=body, sent_at=now)
    saved = []
    for upload, content_type in checked:
        name = (getattr(upload, "name", "") or "file").replace("\\", "/").rsplit("/", 1)[-1][:200]
        saved.append(
            MessageAttachment(message=message, file=upload, name=name, content_type=content_type, size=upload.size)
        )
    for attachment in saved:
        attachment.save()
    Conversation.objects.filter(pk=conversation.pk).update(last_message=message, last_message_at=now)
    conversation.last_message, conversation.last_message_at = message, now
    # Writing answers what came before: the sender has read the thread up to their own message.
    _mark(conversation, user, now)
    _notify(message, customer, user=user, files=len(saved))
    return message


def conversation_mark_read(*, conversation: Conversation, user, now: dt.datetime | None = None) -> int:
    """The user read the thread now: their marker moves to now, and the other side's messages nobody of the
    user's side had read yet get their read receipt (only when the user takes part: a portal user, or a
    team-side writer; a billing clerk browsing does not answer for the team). Returns the messages newly read."""
    now = now or timezone.now()
    with transaction.atomic():
        _mark(conversation, user, now)
        if user.is_customer_user or on_team(user, conversation.customer):
            return (
                Message.objects.filter(conversation=conversation, side=other_side(side_of(user)), read_at__isnull=True)
                .filter(sent_at__lte=now)
                .update(read_at=now)
            )
    return 0


@transaction.atomic
def message_to_request(
    *,
    message: Message,
    user,
    request_type: str,
    priority: str,
    title: str = "",
    now: dt.datetime | None = None,
) -> Message:
    """Open a service request from a customer's message (channel: the customer portal): the text becomes its
    description, the message's files are copied to it, the message links to it and the thread gets a note.
    Returns the note. ValidationError when the message is not a customer's or already became a request."""
    now = now or timezone.now()
    conversation = message.conversation
    customer = conversation.customer
    if not on_team(user, customer):
        raise PermissionError(_("Only the account team may open a request from a message."))
    with transaction.atomic():
        # The message row is locked: two clicks at once make one request, not two; all or nothing.
        message.service_request_id = (
            Message.objects.select_for_update().filter(pk=message.pk).values_list("service_request_id", flat=True).get()
        )
        errors = {}
        if message.kind != MessageKind.MESSAGE or message.side != Side.CUSTOMER:
            errors["message"] = _("Only a customer's message can become a service request.")
        elif message.service_request_id:
            errors["message"] = _("This message is already service request %(number)s.") % {
                "number": ServiceRequest.objects.filter(pk=message.service_request_id)
                .values_list("number", flat=True)
                .get()
            }
        if errors:
            raise ValidationError(errors)
        title = (title or "").strip() or (message.body.strip().splitlines() or [""])[0][:60]
        if not title:
            title = _("Message from %(customer)s") % {"customer": customer.name}
        handles = []
        try:
            files = []
            for attachment in message.attachments.all():
                handle = attachment.file.open("rb")
                handles.append(handle)
                files.append(File(handle, name=attachment.name))
            request = request_create(
                customer=customer,
                request_type=request_type,
                channel=Channel.PORTAL,
                priority=priority,
                title=title[:200],
                description=message.body,
                user=user,
                now=now,
                attachments=files,
            )
        finally:
            for handle in handles:
                handle.close()
        Message.objects.filter(pk=message.pk).update(service_request=request)
        message.service_request = request
        note = Message.objects.create(
            conversation=conversation,
            kind=MessageKind.NOTE,
            side=Side.TEAM,
            sender=user,
            sent_at=now,
            service_request=request,
        )
        Conversation.objects.filter(pk=conversation.pk).update(last_message=note, last_message_at=now)
    return note
