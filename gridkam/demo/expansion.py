"""Demo business expansion projects: applications in every stage, built through the services from the customers,
accounts and account managers ``seed_demo`` made, dated back from today in working days:

- new connections on track, one in each stage (受理申请 … 装表接电);
- a dual-supply new connection at mid-construction inspection with the clock stopped (the customer builds);
- a new connection at completion inspection within a few working days of its 22-day limit (a warning);
- a dual-supply capacity increase past its 32-day limit, whose design review ran late (with the reason);
- a capacity increase energised (the account's capacity changed, with history), after a clock stop for the
  customer's design;
- a suspension at site survey and a cancelled name change.

Nobody is notified (the demo's people are invented). Deterministic for a seed and a day; running it again adds
nothing once projects exist.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from gridkam.core import workdays
from gridkam.customers.choices import AccountStatus, AssignmentRole
from gridkam.customers.models import AccountAssignment, ElectricityAccount
from gridkam.expansion import rules
from gridkam.expansion.choices import ProjectKind, ProjectStatus
from gridkam.expansion.models import Project
from gridkam.expansion.services import (
    clock_stop_end,
    clock_stop_start,
    project_cancel,
    project_complete,
    project_create,
    stage_advance,
)

K = ProjectKind
CAPACITIES = (Decimal("630"), Decimal("1250"), Decimal("2000"), Decimal("3150"), Decimal("5000"))


def _managed_accounts() -> list[tuple[ElectricityAccount, object]]:
    """(account, its customer's account manager) for accounts in use, one per customer, in customer order."""
    managers = {
        a.customer_id: a.user
        for a in AccountAssignment.objects.filter(
            role=AssignmentRole.MANAGER, end_date__isnull=True, user__is_active=True
        ).select_related("user")
    }
    seen, result = set(), []
    for account in (
        ElectricityAccount.objects.filter(customer_id__in=list(managers), status=AccountStatus.ACTIVE)
        .select_related("customer")
        .order_by("customer_id", "account_no")
    ):
        if account.customer_id not in seen:
            seen.add(account.customer_id)
            result.append((account, managers[account.customer_id]))
    return result


def _walk(project: Project, user, gaps: list[int], *, accepted: dt.date, reasons: dict[int, str] | None = None):
    """Advance ``len(gaps)`` stages, stage i ending ``gaps[i]`` working days after it started."""
    day = accepted
    for i, gap in enumerate(gaps):
        day = workdays.add_working_days(day, gap)
        project = stage_advance(project=project, user=user, on=day, breach_reason=(reasons or {}).get(i, ""))
    return project, day


@transaction.atomic
def demo_expansion_load(*, seed: int = 1) -> dict:
    """Build the demo projects (see the module docstring). Returns counts for the seed summary."""
    if Project.objects.exists():
        return {"projects": 0, "completed": 0, "clock_stops": 0}
    pool = _managed_accounts()
    if not pool:
        return {"projects": 0, "completed": 0, "clock_stops": 0}
    rng = random.Random(seed * 7919 + 3)
    rng.shuffle(pool)
    today = timezone.localdate()
    workdays.preload(range(today.year - 1, today.year + 1))

    def ago(n: int) -> dt.date:
        return workdays.add_working_days(today, -n)

    picks = iter(pool * (14 // len(pool) + 1))
    made, stops = [], 0

    def new(kind: str, accepted: dt.date, **fields) -> tuple[Project, object]:
        account, manager = next(picks)
        if kind != K.NEW_CONNECTION:
            fields.setdefault("account", account)
        if kind == K.NEW_CONNECTION:
            fields.setdefault("requested_capacity_kva", rng.choice(CAPACITIES))
        elif kind == K.CAPACITY_INCREASE:
            # A step up from what the account has: the next standard size above it, or half as much again.
            above = [c for c in CAPACITIES if c > account.capacity_kva]
            fields.setdefault(
                "requested_capacity_kva", above[0] if above else (account.capacity_kva * 3 / 2).quantize(Decimal("1"))
            )
        elif kind == K.CAPACITY_REDUCTION:
            fields.setdefault("requested_capacity_kva", (account.capacity_kva / 2).quantize(Decimal("1")))
        project = project_create(
            customer=account.customer,
            kind=kind,
            user=manager,
            accepted_on=accepted,
            voltage_kv=fields.pop("voltage_kv", account.voltage_kv if kind != K.NEW_CONNECTION else "10"),
            supply_mode=fields.pop("supply_mode", "single"),
            **fields,
        )
        made.append(project)
        return project, manager

    # On track, one in each stage of a new connection: two working days a stage.
    for position in range(len(rules.FULL)):
        project, manager = new(K.NEW_CONNECTION, ago(2 * position + 1), title="新建厂房用电")
        _walk(project, manager, [2] * position, accepted=project.accepted_on)

    # The customer builds: clock stopped at mid-construction inspection.
    project, manager = new(K.NEW_CONNECTION, ago(25), supply_mode="dual", title="新建数据中心双电源")
    project, day = _walk(project, manager, [2, 3, 10, 5], accepted=project.accepted_on)
    clock_stop_start(project=project, user=manager, on=workdays.add_working_days(day, 2), reason="客户自建配电房施工中")
    stops += 1

    # Near its limit: 22 working days, 20 used (19 on a weekend: ``ago`` counts back from the last working day).
    project, manager = new(K.NEW_CONNECTION, ago(20), title="新建生产线")
    _walk(project, manager, [2, 3, 6, 4, 2], accepted=project.accepted_on)

    # Past its limit (dual supply, 32 working days), with a late design review.
    project, manager = new(K.CAPACITY_INCREASE, ago(40), supply_mode="dual", title="扩建二期增容")
    _walk(project, manager, [2, 3, 8, 14, 5, 4], accepted=project.accepted_on, reasons={3: "客户设计图纸多次修改"})

    # Energised: the account's capacity changes (history), after a clock stop for the customer's design.
    project, manager = new(K.CAPACITY_INCREASE, ago(40), title="新增生产设备增容")
    accepted = project.accepted_on
    project, day = _walk(project, manager, [2, 3, 5], accepted=accepted)
    clock_stop_start(project=project, user=manager, on=day, reason="客户委托设计单位出图")
    clock_stop_end(project=project, user=manager, on=workdays.add_working_days(day, 6))
    stops += 1
    project, day = _walk(project, manager, [10, 3, 3], accepted=day)
    day = workdays.add_working_days(day, 2)
    project_complete(project=project, user=manager, on=day, notes="已装表送电")

    # A suspension at site survey; a name change the customer withdrew.
    project, manager = new(K.SUSPENSION, ago(2), title="设备检修暂停用电")
    _walk(project, manager, [1], accepted=project.accepted_on)
    project, manager = new(K.NAME_CHANGE, ago(6), new_name="（更名）新户名")
    project_cancel(project=project, user=manager, reason="客户撤回更名申请", on=ago(3))

    return {
        "projects": len(made),
        "completed": Project.objects.filter(status=ProjectStatus.COMPLETED).count(),
        "clock_stops": stops,
    }
