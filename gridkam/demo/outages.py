"""Demo outages: a 110 kV substation per org unit that serves key accounts, with feeders; every account in use hangs on
a feeder (dual-supply accounts on two, multiple-supply on three, the second and third as backup), imported through
the supply import; a planned outage announced nine days ahead of the busiest feeder, acknowledged by about half of
its customers; and a fault outage of three days ago, finished, with a follow-up request for the hurt customer.

``seed_demo`` calls :func:`demo_outages_load` after the portal users. Deterministic for a seed and a moment; running it
again adds nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from django.utils import timezone

from gridkam.customers.choices import AccountStatus, AssignmentRole, SupplyMode
from gridkam.customers.models import AccountAssignment, ElectricityAccount
from gridkam.outages.choices import FollowUpKind, OutageKind
from gridkam.outages.models import Feeder, Outage, OutageNotice, Substation
from gridkam.outages.services import (
    feeder_save,
    notice_acknowledge,
    notice_follow_up,
    outage_announce,
    outage_record_actual,
    outage_save,
    substation_save,
    supplies_import,
)
from gridkam.users.choices import Role
from gridkam.users.models import User

ACCOUNTS_PER_FEEDER = 6
EMPTY = {"substations": 0, "feeders": 0, "supplies": 0, "outages": 0, "notices": 0, "acknowledged": 0, "follow_ups": 0}
LINE_NAMES = ["江北", "河南岸", "水口", "陈江", "马安", "沥林", "潼湖", "仲恺", "惠环", "三栋", "小金口", "汝湖"]


def _feeders(rng: random.Random, accounts: list[ElectricityAccount]) -> tuple[int, int, list[list[Feeder]]]:
    by_unit: dict = defaultdict(list)
    for account in accounts:
        by_unit[account.customer.org_unit].append(account)
    substations = feeders = 0
    per_unit = []
    for unit, members in sorted(by_unit.items(), key=lambda item: item[0].path):
        sub = substation_save(substation=Substation(name=f"{unit.name}110kV变电站", voltage_kv="110", org_unit=unit))
        substations += 1
        count = max(3, -(-len(members) // ACCOUNTS_PER_FEEDER))
        names = rng.sample(LINE_NAMES, k=min(count, len(LINE_NAMES)))
        made = []
        for i in range(count):
            name = f"{names[i % len(names)]}{'甲乙丙丁'[i // len(names) % 4] if i >= len(names) else ''}线"
            made.append(feeder_save(feeder=Feeder(code=f"{unit.code}-F{i + 1:02d}", name=name, substation=sub)))
        feeders += count
        per_unit.append((members, made))
    return substations, feeders, per_unit


def _manager_of(customer_ids: set[int]) -> dict[int, User]:
    rows = AccountAssignment.objects.filter(
        customer_id__in=customer_ids, end_date__isnull=True, role=AssignmentRole.MANAGER
    ).select_related("user")
    return {row.customer_id: row.user for row in rows}


def demo_outages_load(*, seed: int, now: dt.datetime | None = None) -> dict:
    if Substation.objects.exists() or Outage.objects.exists():
        return dict(EMPTY)
    now = now or timezone.now()
    rng = random.Random(seed * 7 + 2)
    admin = User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).order_by("pk").first()
    accounts = list(
        ElectricityAccount.objects.exclude(status=AccountStatus.CLOSED)
        .select_related("customer__org_unit")
        .order_by("account_no")
    )
    if admin is None or not accounts:
        return dict(EMPTY)
    substations, feeder_count, per_unit = _feeders(rng, accounts)
    lines = ["account_no,feeder_code,role"]
    for members, made in per_unit:
        for i, account in enumerate(members):
            sources = {SupplyMode.DUAL: 2, SupplyMode.MULTIPLE: 3}.get(account.supply_mode, 1)
            for k in range(min(sources, len(made))):
                lines.append(f"{account.account_no},{made[(i + k) % len(made)].code},{'main' if k == 0 else 'backup'}")
    result = supplies_import(data=("\n".join(lines) + "\n").encode(), user=admin)
    if result["rejected"]:
        raise ValueError(f"demo supplies rejected: {result['rejected'][:3]}")

    # The busiest feeder of the biggest unit: a planned outage nine days ahead, about half acknowledged.
    members, made = max(per_unit, key=lambda item: len(item[0]))
    planner = (
        User.objects.filter(role=Role.SUPERVISOR, is_active=True, org_unit__isnull=False)
        .filter(org_unit__path__in=[made[0].substation.org_unit.path[:n] for n in range(1, 200)])
        .order_by("-org_unit__path")
        .first()
        or admin
    )
    local = timezone.localtime(now)
    start = timezone.make_aware(dt.datetime.combine(local.date() + dt.timedelta(days=9), dt.time(8, 0)))
    planned = outage_save(
        outage=Outage(
            kind=OutageKind.PLANNED,
            planned_start=start,
            planned_end=start + dt.timedelta(hours=9),
            reason="10kV线路绝缘化改造及开关更换",
            scope=f"{made[0].name}全线及所带用户配电室进线",
        ),
        feeders=[made[0]],
        user=planner,
        now=now,
    )
    outage_announce(outage=planned, user=planner, now=now)
    notices = list(OutageNotice.objects.filter(outage=planned).select_related("customer").order_by("pk"))
    managers = _manager_of({n.customer_id for n in notices})
    acknowledged = 0
    for notice in notices:
        manager = managers.get(notice.customer_id)
        if manager is not None and rng.random() < 0.5:
            notice_acknowledge(notice=notice, user=manager, person=rng.choice(["值班电工", "电气负责人", "能源经理"]))
            acknowledged += 1

    # A fault three days ago on another feeder, finished after 2 h 15 min; the first customer hurt gets a request.
    fault_start = now - dt.timedelta(days=3, hours=2)
    fault = outage_save(
        outage=Outage(
            kind=OutageKind.FAULT,
            planned_start=fault_start,
            planned_end=fault_start + dt.timedelta(hours=3),
            reason="电缆中间接头击穿",
            scope=f"{made[1].name}",
        ),
        feeders=[made[1]],
        user=planner,
        now=fault_start,
    )
    outage_announce(outage=fault, user=planner, now=fault_start + dt.timedelta(minutes=10))
    outage_record_actual(
        outage=fault, actual_start=fault_start, actual_end=fault_start + dt.timedelta(hours=2, minutes=15), user=planner
    )
    follow_ups = 0
    fault_notices = list(OutageNotice.objects.filter(outage=fault).select_related("customer").order_by("pk"))
    fault_managers = _manager_of({n.customer_id for n in fault_notices})
    for notice in fault_notices:
        manager = fault_managers.get(notice.customer_id)
        if manager is not None:
            notice_follow_up(
                notice=notice,
                kind=FollowUpKind.REQUEST,
                description="停电造成生产线停机，部分在制品报废，客户要求说明原因并评估损失。",
                user=manager,
                now=now,
            )
            follow_ups = 1
            break
    return {
        "substations": substations,
        "feeders": feeder_count,
        "supplies": result["created"],
        "outages": 2,
        "notices": len(notices) + len(fault_notices),
        "acknowledged": acknowledged,
        "follow_ups": follow_ups,
    }
