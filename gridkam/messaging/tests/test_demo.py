"""The demo conversations (gridkam.demo.messaging), written through the services."""

from __future__ import annotations

from gridkam.core.testing import make_user
from gridkam.demo.messaging import demo_messages_load
from gridkam.engagement.work import MESSAGE, my_work
from gridkam.messaging.models import Conversation, Message, MessageAttachment
from gridkam.servicedesk.models import ServiceRequest
from gridkam.users.choices import Role


def test_demo_conversations_are_realistic_and_loaded_once(p):
    for name, customer in (("u-sub", p.a1_sub), ("u-a2", p.a2), ("u-a3", p.a3), ("u-b1", p.b1)):
        make_user(name, role=Role.CUSTOMER_USER, customer=customer)
    created = demo_messages_load(seed=7)
    assert created["conversations"] == 5 == Conversation.objects.count()
    assert created["messages"] == Message.objects.filter(kind="message").count() > 10
    assert created["photos"] == MessageAttachment.objects.count() > 0
    assert created["requests"] == 1 and ServiceRequest.objects.filter(channel="portal").count() == 1
    assert Message.objects.filter(service_request__isnull=False, kind="message").count() == 1
    # Some threads wait for the manager; the rest were read (receipts given).
    assert any(item.kind == MESSAGE for item in my_work(p.manager).items)
    assert Message.objects.filter(read_at__isnull=False).exists()
    assert all("\u4e00" <= m.body[0] <= "\u9fff" for m in Message.objects.filter(kind="message"))
    assert demo_messages_load(seed=7)["conversations"] == 0
