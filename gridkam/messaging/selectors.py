"""Reads of the conversations. Every read starts from the customers the user sees
(``Customer.objects.visible_to``); unread counts are computed in the query from the user's read marker.

A message is unread for a user when it comes from the other side and no marker of the user in its conversation
is at or after the time it was sent.
"""

from __future__ import annotations

from django.db.models import Count, Exists, IntegerField, Min, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from gridkam.customers.models import AccountAssignment, Customer

from .choices import MessageKind
from .models import Conversation, Message, MessageAttachment, ReadMarker
from .permissions import other_side, side_of

THREAD_PAGE = 50


def _read_by(user, message_path: str = "") -> Exists:
    """The user's marker of the message's conversation covers the message."""
    prefix = f"{message_path}__" if message_path else ""
    return Exists(
        ReadMarker.objects.filter(
            conversation_id=OuterRef(f"{prefix}conversation_id"),
            user_id=user.pk,
            read_at__gte=OuterRef(f"{prefix}sent_at"),
        )
    )


def unread_messages(user) -> QuerySet[Message]:
    """The other side's messages the user has not read, in every conversation they see."""
    return Message.objects.visible_to(user).filter(side=other_side(side_of(user))).exclude(_read_by(user))


def unread_total(user) -> int:
    """All the user's unread messages, in one query."""
    if not user.is_authenticated:
        return 0
    return unread_messages(user).count()


def _unread_count(user) -> Coalesce:
    per_conversation = (
        Message.objects.filter(conversation_id=OuterRef("pk"), side=other_side(side_of(user)))
        .exclude(_read_by(user))
        .order_by()
        .values("conversation_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(per_conversation, output_field=IntegerField()), Value(0))


def conversation_list(*, user) -> QuerySet[Conversation]:
    """The conversations of the customers the user sees, with ``unread`` (for the user), their customer and their
    last message (and its sender) joined; unread first, then the latest."""
    return (
        Conversation.objects.visible_to(user)
        .filter(last_message_at__isnull=False)
        .select_related("customer", "last_message__sender")
        .annotate(unread=_unread_count(user))
        .order_by("-unread", "-last_message_at", "pk")
    )


def customer_for_user(*, user, pk) -> Customer:
    """A customer the user sees (Customer.DoesNotExist otherwise, bad ids included)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Customer.DoesNotExist from None
    if not 0 < pk < 2**63:
        raise Customer.DoesNotExist
    return Customer.objects.visible_to(user).select_related("org_unit").get(pk=pk)


def conversation_of(customer: Customer) -> Conversation | None:
    return Conversation.objects.filter(customer=customer).first()


def thread_messages(conversation: Conversation | None, *, before: int | None = None, limit: int = THREAD_PAGE):
    """The latest ``limit`` messages of the thread (those before message ``before``), oldest first, with their
    sender, request and attachments; and whether there are earlier ones."""
    if conversation is None:
        return [], False
    rows = Message.objects.filter(conversation=conversation)
    if before is not None:
        rows = rows.filter(pk__lt=before)
    rows = list(
        rows.select_related("sender", "service_request")
        .prefetch_related("attachments")
        .order_by("-sent_at", "-pk")[: limit + 1]
    )
    more = len(rows) > limit
    return list(reversed(rows[:limit])), more


def message_for_user(*, user, pk) -> Message:
    """A message of a conversation the user sees (Message.DoesNotExist otherwise)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Message.DoesNotExist from None
    if not 0 < pk < 2**63:
        raise Message.DoesNotExist
    return (
        Message.objects.visible_to(user)
        .select_related("conversation__customer__org_unit", "service_request")
        .get(pk=pk)
    )


def attachment_for_user(*, user, pk) -> MessageAttachment:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise MessageAttachment.DoesNotExist from None
    if not 0 < pk < 2**63:
        raise MessageAttachment.DoesNotExist
    return MessageAttachment.objects.visible_to(user).get(pk=pk)


def unread_threads(*, holder, viewer) -> list[dict]:
    """For "My work": the conversations of the customers ``holder`` serves (current account team) that have
    customer messages unread by the holder, as the viewer sees them; one query. Each row: conversation, customer
    (id, name, initials), unread count, the oldest unread message's time and the last message's text."""
    served = AccountAssignment.objects.filter(user=holder, end_date__isnull=True).values("customer_id")
    seen = Exists(Customer.objects.visible_to(viewer).filter(pk=OuterRef("conversation__customer_id")))
    return list(
        Message.objects.filter(seen, conversation__customer_id__in=served, side=other_side(side_of(holder)))
        .exclude(_read_by(holder))
        .filter(kind=MessageKind.MESSAGE)
        .order_by()
        .values(
            "conversation_id",
            "conversation__customer_id",
            "conversation__customer__name",
            "conversation__customer__name_initials",
            "conversation__last_message__body",
        )
        .annotate(n=Count("pk"), first=Min("sent_at"))
    )
