"""Conversations between a customer's portal users and its account team (issue 7 item 3).

One conversation per customer, created with its first message. Who reads and who writes is in
``permissions``; unread counts come from each user's read marker (``ReadMarker``), read receipts from the
first time the other side read a message (``Message.read_at``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridkam.customers.models import Customer, RelatedToCustomerQuerySet

from .choices import MessageKind, Side


class ConversationQuerySet(RelatedToCustomerQuerySet):
    customer_path = "customer"


class MessageQuerySet(RelatedToCustomerQuerySet):
    customer_path = "conversation__customer"


class AttachmentQuerySet(RelatedToCustomerQuerySet):
    customer_path = "message__conversation__customer"


class Conversation(models.Model):
    """The one thread of a customer with its account team. ``last_message`` and ``last_message_at`` are kept by
    ``services.message_send`` so that the inbox sorts and shows the latest message without reading the thread."""

    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="conversation"
    )
    created_at = models.DateTimeField(_("started"), default=timezone.now)
    last_message = models.ForeignKey(
        "Message",
        verbose_name=_("last message"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    last_message_at = models.DateTimeField(_("last message at"), null=True, blank=True)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-last_message_at", "pk"]
        indexes = [models.Index(fields=["-last_message_at"], name="conversation_last_message")]

    def __str__(self) -> str:
        return str(self.customer)


class Message(models.Model):
    """One message of a conversation, written by someone on one side. ``read_at``: when someone of the other
    side first read it (the sender's read receipt). A message may become a service request (``service_request``);
    the thread then gets a note (kind ``note``) that names the request."""

    conversation = models.ForeignKey(
        Conversation, verbose_name=_("conversation"), on_delete=models.CASCADE, related_name="messages"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=MessageKind.choices, default=MessageKind.MESSAGE)
    side = models.CharField(_("side"), max_length=10, choices=Side.choices)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sender"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(_("text"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    read_at = models.DateTimeField(_("read by the other side at"), null=True, blank=True)
    service_request = models.ForeignKey(
        "servicedesk.ServiceRequest",
        verbose_name=_("service request"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )

    objects = MessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["sent_at", "pk"]
        indexes = [models.Index(fields=["conversation", "side", "sent_at"], name="message_conversation_side")]

    def __str__(self) -> str:
        return f"{self.conversation}: {self.body[:40]}"


class MessageAttachment(models.Model):
    """A photo or PDF sent with a message; downloaded only through ``messaging:attachment``, which checks that
    the user sees the conversation (never a public media URL)."""

    message = models.ForeignKey(
        Message, verbose_name=_("message"), on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to="messages/%Y/%m/")
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["message", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class ReadMarker(models.Model):
    """Up to when one user has read one conversation: the other side's messages sent after ``read_at`` are
    unread for them."""

    conversation = models.ForeignKey(
        Conversation, verbose_name=_("conversation"), on_delete=models.CASCADE, related_name="read_markers"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    read_at = models.DateTimeField(_("read at"))

    class Meta:
        verbose_name = _("read marker")
        verbose_name_plural = _("read markers")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="read_marker_one_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.conversation_id}: {self.read_at:%Y-%m-%d %H:%M}"
