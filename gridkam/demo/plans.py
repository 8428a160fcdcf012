"""This year's service plans for the demo, with a realistic record of delivery.

The tier templates are loaded and every key account gets this year's plan as if generated on 1 January (so the
months already past have their occurrences). Of the occurrences whose window has closed, most were delivered
(some late, after their due date), the rest are left overdue; of those whose window is open now, some are done.
A sample of the deliveries goes through ``visit_record`` itself, some of them with follow-up actions that become
tasks or service requests; the rest are written in bulk with the same effect (a visit by the item's owner, the
occurrence marked done and linked), so that a province-sized demo stays fast. Deterministic for a seed.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from gridkam.engagement.choices import FollowUpKind, OccurrenceStatus
from gridkam.engagement.models import PlanOccurrence, Visit
from gridkam.engagement.plans import plan_templates_load, plans_generate
from gridkam.engagement.visits import visit_record
from gridkam.servicedesk.choices import Priority, RequestType

DONE_SHARE_PAST = 0.82  # windows closed: share delivered (the rest stay overdue)
LATE_SHARE = 0.15  # of those delivered, share done after the due date
DONE_SHARE_OPEN = 0.35  # windows open today: share already delivered
THROUGH_SERVICE = 120  # deliveries recorded through visit_record (the rest in bulk)
FOLLOW_UP_EVERY = 4  # one in this many of those has a follow-up action

FINDINGS = {
    "visit": [
        "客户生产经营正常，用电负荷平稳。",
        "客户计划明年扩产，关注增容需求。",
        "客户反映电费结算单据需要分户打印。",
    ],
    "safety_inspection": [
        "配电室运行正常，消防器材在有效期内。",
        "发现电缆沟积水，已要求客户整改。",
        "继电保护定值核对无误。",
    ],
    "power_quality": ["电压合格率 99.9%，谐波含量在限值内。", "5 次谐波电流偏高，建议加装滤波装置。"],
    "energy_diagnosis": ["空压机系统存在节能空间，建议变频改造。", "功率因数偏低，建议补偿电容器扩容。"],
    "tariff_review": ["按需量计收基本电费更经济，已向客户说明。", "建议调整生产班次以利用低谷电价。"],
    "training": ["为客户电工讲解倒闸操作规程，8 人参加。", "开展停电应急演练培训。"],
    "other": ["其他服务。"],
}
PURPOSES = {
    "visit": "例行走访",
    "safety_inspection": "安全用电检查",
    "power_quality": "电能质量检测",
    "energy_diagnosis": "能效诊断",
    "tariff_review": "电价政策与用电方案咨询",
    "training": "客户电工培训",
    "other": "其他",
}
FOLLOW_UPS = [
    {"kind": FollowUpKind.TASK, "description": "跟踪客户整改电缆沟积水问题", "days": 14},
    {
        "kind": FollowUpKind.REQUEST,
        "description": "客户反映 5 次谐波偏高，申请电能质量复测",
        "request_type": RequestType.POWER_QUALITY,
    },
    {"kind": FollowUpKind.TASK, "description": "整理客户增容需求，提交业扩预受理", "days": 10},
    {
        "kind": FollowUpKind.REQUEST,
        "description": "客户咨询基本电费计收方式变更",
        "request_type": RequestType.BILLING_INQUIRY,
    },
]


def _visit_day(rng: random.Random, occurrence: PlanOccurrence, today: dt.date, late: bool) -> dt.date:
    last = today - dt.timedelta(days=1)
    if late and occurrence.due_date < last:
        start, end = occurrence.due_date + dt.timedelta(days=1), min(last, occurrence.due_date + dt.timedelta(days=30))
    else:
        start, end = occurrence.starts_on, min(occurrence.due_date, last)
    if end < start:
        return start if start <= last else last
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def demo_plans_load(*, seed: int = 1, today: dt.date | None = None) -> dict:
    """Templates, this year's plans and their delivery so far. Returns counts for the seed summary."""
    today = today or timezone.localdate()
    rng = random.Random(seed * 104729 + 11)
    templates = plan_templates_load()
    generated = plans_generate(year=today.year, today=dt.date(today.year, 1, 1))
    opened = list(
        PlanOccurrence.objects.filter(
            item__plan__year=today.year, status=OccurrenceStatus.PLANNED, starts_on__lt=today, owner__isnull=False
        )
        .select_related("customer", "owner")
        .order_by("pk")
    )
    deliveries = []
    for occurrence in opened:
        closed = occurrence.due_date < today
        if rng.random() < (DONE_SHARE_PAST if closed else DONE_SHARE_OPEN):
            late = closed and rng.random() < LATE_SHARE
            deliveries.append((occurrence, _visit_day(rng, occurrence, today, late)))
    rng.shuffle(deliveries)
    through_service, in_bulk = deliveries[:THROUGH_SERVICE], deliveries[THROUGH_SERVICE:]
    follow_ups = 0
    for n, (occurrence, day) in enumerate(through_service):
        rows = []
        if n % FOLLOW_UP_EVERY == 0:
            spec = FOLLOW_UPS[(n // FOLLOW_UP_EVERY) % len(FOLLOW_UPS)]
            rows = [
                {
                    "kind": spec["kind"],
                    "description": spec["description"],
                    "due_date": today + dt.timedelta(days=spec.get("days", 7)),
                    "request_type": spec.get("request_type"),
                    "priority": Priority.NORMAL,
                }
            ]
            follow_ups += 1
        visit_record(
            customer=occurrence.customer,
            activity=occurrence.activity,
            visited_on=day,
            participants=[occurrence.owner],
            customer_participants="能源经理、值班电工",
            purpose=PURPOSES[occurrence.activity],
            findings=rng.choice(FINDINGS[occurrence.activity]),
            occurrence=occurrence,
            follow_ups=rows,
            user=occurrence.owner,
            today=today,
        )
    _bulk_deliver(in_bulk, rng)
    overdue = PlanOccurrence.objects.filter(
        item__plan__year=today.year, status=OccurrenceStatus.PLANNED, due_date__lt=today
    ).count()
    return {
        "templates": templates,
        "plans": generated["created"],
        "occurrences": generated["occurrences"],
        "visits": len(deliveries),
        "follow_ups": follow_ups,
        "overdue": overdue,
    }


@transaction.atomic
def _bulk_deliver(deliveries: list[tuple[PlanOccurrence, dt.date]], rng: random.Random) -> None:
    """What ``visit_record`` does for a delivery without follow-ups, for many at once: a visit by the occurrence's
    owner, and the occurrence done on that day and linked to it."""
    if not deliveries:
        return
    visits = [
        Visit(
            customer_id=occurrence.customer_id,
            activity=occurrence.activity,
            visited_on=day,
            customer_participants="能源经理",
            purpose=PURPOSES[occurrence.activity],
            findings=rng.choice(FINDINGS[occurrence.activity]),
            created_by_id=occurrence.owner_id,
        )
        for occurrence, day in deliveries
    ]
    Visit.objects.bulk_create(visits, batch_size=2000)
    through = Visit.participants.through
    through.objects.bulk_create(
        [through(visit_id=v.pk, user_id=o.owner_id) for v, (o, _) in zip(visits, deliveries, strict=True)],
        batch_size=2000,
    )
    for visit, (occurrence, day) in zip(visits, deliveries, strict=True):
        occurrence.status = OccurrenceStatus.DONE
        occurrence.done_on = day
        occurrence.visit = visit
    PlanOccurrence.objects.bulk_update([o for o, _ in deliveries], ["status", "done_on", "visit"], batch_size=2000)
