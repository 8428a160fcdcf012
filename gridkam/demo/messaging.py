"""Demo conversations between key accounts' portal users and their account teams (issue 7 item 3), written
through ``gridkam.messaging.services`` so the demo follows the same rules as the pages: read receipts, unread
threads in the managers' "My work", one message turned into a service request, photos attached.

``seed_demo`` calls :func:`demo_messages_load` after the service requests (a message becomes one). Customers that
already have a conversation are left alone, so running it again adds nothing.
"""

from __future__ import annotations

import datetime as dt
import random
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from gridkam.customers.choices import AssignmentRole
from gridkam.customers.models import AccountAssignment
from gridkam.messaging.models import Conversation, Message
from gridkam.messaging.services import conversation_mark_read, message_send, message_to_request
from gridkam.servicedesk.choices import Priority, RequestType
from gridkam.users.choices import Role
from gridkam.users.models import User

DEFAULT_CONVERSATIONS = 12

# (side, text, photo): "c" the customer's energy manager, "t" the account manager. Each script is one thread.
SCRIPTS: list[list[tuple[str, str, bool]]] = [
    [
        ("c", "李经理您好，我们10kV配电房2号变压器今天早上有异响，温度也比平时高，麻烦安排人看一下。", True),
        ("t", "收到，我已通知抢修班，预计一小时内到现场，请先安排专人在配电房值守。", False),
        ("c", "好的，值班电工已在现场，照片见附件。", True),
    ],
    [
        ("c", "上个月电费比平时多了三万多，能帮忙看看是什么原因吗？", False),
        ("t", "我查了一下，主要是上月最大需量超过了合同需量的105%，超出部分按两倍收取基本电费。", False),
        (
            "t",
            "建议把合同需量从3200千瓦调到3600千瓦，按近一年的负荷测算每年可以节省约4.2万元，需要的话我把测算表发给您。",
            False,
        ),
        ("c", "麻烦发一下测算表，我们内部要走审批。", False),
    ],
    [
        ("t", "下周三上午我们安排季度安全检查，主要看高压柜和电容器，请提前准备好运行记录。", False),
        ("c", "没问题，下周三上午九点我们在厂门口等您。", False),
    ],
    [
        ("c", "我们计划明年新上一条生产线，预计增加容量800千伏安，想了解一下增容的流程和时间。", False),
        (
            "t",
            "增容需要先提交用电申请和负荷清单，我们收到后十个工作日内答复供电方案。我把需要的材料清单发给您。",
            False,
        ),
        ("c", "谢谢，收到后我们尽快准备。", False),
    ],
    [
        ("c", "功率因数考核单显示上月只有0.86，被罚了调整电费，电容器好像有一组没投入。", True),
        ("t", "从照片看第三组电容器的熔断器已经熔断，建议尽快更换，更换后功率因数应能回到0.92以上。", False),
    ],
    [
        ("c", "下个月15号厂里要检修停产三天，基本电费可以申请暂停吗？", False),
    ],
]
# Threads whose last customer message stays unread by the team (so "My work" has something to show).
UNREAD_SCRIPTS = {0, 3, 5}
# This thread's first customer message becomes a service request.
REQUEST_SCRIPT = 4


def demo_photo(seed: int) -> bytes:
    """A small solid-colour PNG (64 × 48) standing in for a customer's photo."""
    rng = random.Random(seed)
    width, height = 64, 48
    colour = bytes(rng.randrange(60, 200) for _ in range(3))
    raw = b"".join(b"\x00" + colour * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _pairs(limit: int) -> list[tuple[User, User, int]]:
    """(portal user, account manager, customer id) for customers that have both, without a conversation yet."""
    managers = {
        row.customer_id: row.user
        for row in AccountAssignment.objects.filter(
            role=AssignmentRole.MANAGER, end_date__isnull=True, user__is_active=True
        ).select_related("user")
    }
    talked = set(Conversation.objects.values_list("customer_id", flat=True))
    pairs = []
    for user in User.objects.filter(role=Role.CUSTOMER_USER, is_active=True).order_by("pk"):
        if user.customer_id in managers and user.customer_id not in talked:
            pairs.append((user, managers[user.customer_id], user.customer_id))
            talked.add(user.customer_id)
        if len(pairs) >= limit:
            break
    return pairs


@transaction.atomic
def demo_messages_load(
    *, seed: int = 0, conversations: int = DEFAULT_CONVERSATIONS, now: dt.datetime | None = None
) -> dict[str, int]:
    """Write up to ``conversations`` threads (Chinese text, some photos) spread over the last two weeks; returns
    what was created: conversations, messages, photos, unread threads, requests."""
    now = now or timezone.now()
    rng = random.Random(seed)
    created = {"conversations": 0, "messages": 0, "photos": 0, "unread_threads": 0, "requests": 0}
    for index, (portal_user, manager, _customer_id) in enumerate(_pairs(conversations)):
        customer = portal_user.customer
        script_no = index % len(SCRIPTS)
        at = now - dt.timedelta(days=rng.randint(1, 14), hours=rng.randint(0, 8))
        first_customer_message: Message | None = None
        for step, (side, text, photo) in enumerate(SCRIPTS[script_no]):
            at += dt.timedelta(minutes=rng.randint(12, 180))
            at = min(at, now - dt.timedelta(minutes=5))
            sender = portal_user if side == "c" else manager
            files = []
            if photo:
                files = [SimpleUploadedFile(f"现场照片{step + 1}.png", demo_photo(seed + index * 10 + step))]
                created["photos"] += 1
            message = message_send(customer=customer, user=sender, body=text, attachments=files, now=at)
            created["messages"] += 1
            if side == "c" and first_customer_message is None:
                first_customer_message = message
            last = step == len(SCRIPTS[script_no]) - 1
            # The other side reads a message a while later, except the thread's last one in the unread threads.
            if not (last and script_no in UNREAD_SCRIPTS):
                reader = manager if side == "c" else portal_user
                read_at = min(at + dt.timedelta(minutes=rng.randint(3, 40)), now)
                conversation_mark_read(conversation=message.conversation, user=reader, now=read_at)
        if script_no in UNREAD_SCRIPTS:
            created["unread_threads"] += 1
        if script_no == REQUEST_SCRIPT and first_customer_message is not None:
            message_to_request(
                message=first_customer_message,
                user=manager,
                request_type=RequestType.POWER_QUALITY,
                priority=Priority.HIGH,
                title="电容器熔断器熔断，功率因数偏低",
                now=min(first_customer_message.sent_at + dt.timedelta(minutes=30), now),
            )
            created["requests"] += 1
        created["conversations"] += 1
    return created
