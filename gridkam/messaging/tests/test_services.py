"""Sending, reading and read receipts, unread counts, notifications, and a message turned into a request."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from gridkam.core.testing import make_user
from gridkam.engagement.choices import NotificationEvent
from gridkam.engagement.models import Notification
from gridkam.messaging import selectors, services
from gridkam.messaging.choices import MessageKind, Side
from gridkam.messaging.models import Conversation, Message, ReadMarker
from gridkam.servicedesk.choices import Channel
from gridkam.servicedesk.models import RequestAttachment
from gridkam.users.choices import Role

from .conftest import exe_as_png, pdf, png

T0 = timezone.make_aware(dt.datetime(2026, 3, 16, 10, 0))


def later(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_first_message_starts_the_conversation_with_the_files(p):
    m = services.message_send(customer=p.a1, user=p.customer_user, body="  变压器有异响  ", attachments=[png()], now=T0)
    conversation = Conversation.objects.get(customer=p.a1)
    assert m.conversation == conversation and m.side == Side.CUSTOMER and m.body == "变压器有异响"
    assert conversation.last_message_id == m.pk and conversation.last_message_at == T0
    attachment = m.attachments.get()
    assert attachment.content_type == "image/png" and attachment.name == "photo.png"
    assert attachment.file.name.startswith("messages/")
    services.message_send(customer=p.a1, user=p.manager, body="收到", now=later(1))
    assert Conversation.objects.filter(customer=p.a1).count() == 1
    assert Message.objects.filter(conversation=conversation).count() == 2


def test_a_message_needs_text_or_a_file_and_a_bounded_length(p, settings):
    settings.GRIDKAM = {**settings.GRIDKAM, "MESSAGE_MAX_CHARS": 10}
    with pytest.raises(ValidationError) as error:
        services.message_send(customer=p.a1, user=p.customer_user, body="   ")
    assert "body" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.message_send(customer=p.a1, user=p.customer_user, body="长" * 11)
    assert "body" in error.value.message_dict
    only_file = services.message_send(customer=p.a1, user=p.customer_user, body="", attachments=[pdf()])
    assert only_file.body == "" and only_file.attachments.count() == 1


def test_wrong_type_or_too_big_attachments_are_refused_on_the_field(p, settings):
    with pytest.raises(ValidationError) as error:
        services.message_send(customer=p.a1, user=p.customer_user, body="看图", attachments=[exe_as_png()])
    assert list(error.value.message_dict) == ["attachments"]
    settings.GRIDKAM = {**settings.GRIDKAM, "REQUEST_ATTACHMENT_MAX_MB": 0.00001}
    with pytest.raises(ValidationError) as error:
        services.message_send(customer=p.a1, user=p.customer_user, body="看图", attachments=[png()])
    assert list(error.value.message_dict) == ["attachments"]
    settings.GRIDKAM = {**settings.GRIDKAM, "REQUEST_ATTACHMENT_MAX_MB": 10, "MESSAGE_MAX_ATTACHMENTS": 1}
    with pytest.raises(ValidationError) as error:
        services.message_send(customer=p.a1, user=p.customer_user, body="看图", attachments=[png(), png("b.png")])
    assert list(error.value.message_dict) == ["attachments"]
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "who, customer, allowed",
    [
        ("customer_user", "a1", True),
        ("customer_user", "b1", False),  # not theirs
        ("manager", "a1", True),  # account manager
        ("engineer", "a1", True),  # on the account team
        ("supervisor", "a3", True),  # supervises the unit
        ("admin", "b1", True),
        ("colleague", "a1", False),  # same team, sees it, but not on its account team
        ("clerk", "a1", False),  # sees it, reads only
        ("outsider", "a1", False),
    ],
)
def test_who_may_write(p, who, customer, allowed):
    user, target = getattr(p, who), getattr(p, customer)
    if allowed:
        assert services.message_send(customer=target, user=user, body="你好").pk
    else:
        with pytest.raises(PermissionError):
            services.message_send(customer=target, user=user, body="你好")


def test_unread_counts_and_read_receipts(p):
    services.message_send(customer=p.a1, user=p.customer_user, body="一", now=T0)
    services.message_send(customer=p.a1, user=p.customer_user, body="二", now=later(1))
    services.message_send(customer=p.a2, user=p.manager, body="石化的消息", now=later(2))
    # The manager has two unread from A1 (their own message to A2 is not unread for them).
    rows = {c.customer_id: c.unread for c in selectors.conversation_list(user=p.manager)}
    assert rows == {p.a1.pk: 2, p.a2.pk: 0}
    assert selectors.unread_total(p.manager) == 2
    # The customer's own messages are not unread for them; nothing from the team yet.
    assert selectors.unread_total(p.customer_user) == 0
    # A colleague who merely reads the thread has their own marker but gives no receipt.
    conversation = Conversation.objects.get(customer=p.a1)
    assert services.conversation_mark_read(conversation=conversation, user=p.clerk, now=later(3)) == 0
    assert not Message.objects.filter(read_at__isnull=False).exists()
    assert selectors.unread_total(p.clerk) == 0 and selectors.unread_total(p.manager) == 2
    # The manager reads: receipts for both customer messages, at that moment.
    assert services.conversation_mark_read(conversation=conversation, user=p.manager, now=later(5)) == 2
    assert set(Message.objects.filter(conversation=conversation).values_list("read_at", flat=True)) == {later(5)}
    assert selectors.unread_total(p.manager) == 0
    # Reading again moves the marker only; the first read time stays.
    services.conversation_mark_read(conversation=conversation, user=p.manager, now=later(9))
    assert ReadMarker.objects.get(conversation=conversation, user=p.manager).read_at == later(9)
    assert set(Message.objects.filter(conversation=conversation).values_list("read_at", flat=True)) == {later(5)}
    # A reply is unread for the customer until they read it; the sender's marker moves with their message.
    reply = services.message_send(customer=p.a1, user=p.manager, body="马上安排", now=later(10))
    assert selectors.unread_total(p.customer_user) == 1
    services.conversation_mark_read(conversation=conversation, user=p.customer_user, now=later(12))
    reply.refresh_from_db()
    assert reply.read_at == later(12) and selectors.unread_total(p.customer_user) == 0


def test_unread_total_is_one_query_after_the_customers(p, django_assert_num_queries):
    for customer in (p.a1, p.a1_sub, p.a2):
        services.message_send(customer=customer, user=p.admin, body="通知", now=T0)
    # A portal user's customers are found first: one query per level of its group (A1, its subsidiary), then one.
    with django_assert_num_queries(3):
        assert selectors.unread_total(p.customer_user) >= 1


def test_a_customer_message_notifies_the_managers_and_a_reply_the_portal_users(p):
    services.message_send(customer=p.a1, user=p.customer_user, body="请回电", now=T0)
    told = Notification.objects.filter(event=NotificationEvent.MESSAGE_RECEIVED)
    assert set(told.values_list("recipient_id", flat=True)) == {p.manager.pk}
    notification = told.get()
    assert "/messages/customers/" in notification.link
    assert p.a1.name in notification.title and "请回电" in notification.body
    told.delete()
    other_portal_user = make_user("steel2", role=Role.CUSTOMER_USER, customer=p.a1)
    stranger = make_user("textile", role=Role.CUSTOMER_USER, customer=p.b1)
    services.message_send(customer=p.a1, user=p.engineer, body="明天到现场", now=later(1))
    assert set(told.values_list("recipient_id", flat=True)) == {p.customer_user.pk, other_portal_user.pk}
    assert stranger.pk not in set(told.values_list("recipient_id", flat=True))
    assert all("/messages/portal/" in n.link for n in told)


def test_a_customer_message_becomes_a_service_request(p):
    message = services.message_send(
        customer=p.a1, user=p.customer_user, body="配电房跳闸\n请尽快处理", attachments=[png(), pdf()], now=T0
    )
    note = services.message_to_request(message=message, user=p.manager, request_type="repair", priority="high")
    message.refresh_from_db()
    request = message.service_request
    assert request is not None and note.service_request == request and note.kind == MessageKind.NOTE
    assert request.customer == p.a1 and request.channel == Channel.PORTAL and request.title == "配电房跳闸"
    assert request.description == "配电房跳闸\n请尽快处理" and request.priority == "high"
    copied = RequestAttachment.objects.filter(request=request)
    assert sorted(copied.values_list("name", flat=True)) == ["photo.png", "report.pdf"]
    assert all(a.file.name.startswith("requests/") for a in copied)
    assert Conversation.objects.get(customer=p.a1).last_message_id == note.pk
    with pytest.raises(ValidationError) as error:
        services.message_to_request(message=message, user=p.manager, request_type="repair", priority="high")
    assert "message" in error.value.message_dict


def test_only_customer_messages_by_the_account_team_become_requests(p):
    team_message = services.message_send(customer=p.a1, user=p.manager, body="我们会来检查")
    with pytest.raises(ValidationError):
        services.message_to_request(message=team_message, user=p.manager, request_type="other", priority="normal")
    customer_message = services.message_send(customer=p.a1, user=p.customer_user, body="问题")
    with pytest.raises(PermissionError):
        services.message_to_request(message=customer_message, user=p.clerk, request_type="other", priority="normal")
