"""Demo safety inspections and hidden dangers: each demo customer inspected over the last year at the interval of
its plan (the customer's field engineer, else its account manager, as inspector), most items passed; dangers
raised from some failed items, in every state: closed after a passed re-inspection, notified and being rectified,
one overdue and escalated to the account manager, one major danger found recently (docs/inspections.md).

``seed_demo`` calls :func:`demo_inspections_load` after the customers and their teams. Everything goes through the
services, as when recorded for real; the escalation at the end notifies the demo's staff in the app. Deterministic
for a seed and a day; running it again adds nothing.
"""

from __future__ import annotations

import datetime as dt
import random

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone

from gridkam.customers.choices import AssignmentRole
from gridkam.customers.models import AccountAssignment, Customer
from gridkam.inspections.choices import ChecklistItem, CheckResult, DangerStatus, InspectionKind, Severity
from gridkam.inspections.models import HiddenDanger, Inspection, InspectionInterval
from gridkam.inspections.services import (
    DangerInput,
    danger_advance,
    danger_deliver_notice,
    danger_reinspect,
    dangers_escalate,
    inspection_record,
)

# Customers inspected at most (the demo's first by name; enough for full lists without a slow seed).
MAX_CUSTOMERS = 150
FINDINGS = {
    ChecklistItem.PROTECTION: ("进线柜保护定值与调度整定单不一致", "核对整定单后重新整定并做保护传动试验"),
    ChecklistItem.EARTHING: ("配电房接地电阻实测 8.6Ω，超过 4Ω 要求", "增设接地极并复测接地电阻"),
    ChecklistItem.EMERGENCY_POWER: ("自备柴油发电机启动失败，蓄电池亏电", "更换蓄电池并每月带载试机"),
    ChecklistItem.GENERATOR_INTERLOCK: ("发电机与市电切换柜无机械闭锁，存在反送电风险", "加装机械及电气双重闭锁"),
    ChecklistItem.ELECTRICIANS: ("值班电工 2 人进网作业许可证过期", "组织复审取证，过期人员不得单独值班"),
    ChecklistItem.EQUIPMENT_TESTS: ("10kV 电缆及主变预防性试验超期一年未做", "委托有资质单位完成预防性试验并报送报告"),
    ChecklistItem.REACTIVE_COMPENSATION: (
        "电容补偿柜两组电容器鼓肚，功率因数 0.82",
        "更换故障电容器，功率因数达到 0.90",
    ),
    ChecklistItem.SAFETY_TOOLS: ("绝缘手套、绝缘靴未按期试验", "送检安全工器具并建立台账"),
}
CONCLUSIONS = ["设备运行正常，管理规范。", "总体良好，个别问题已现场告知。", "发现隐患，已开具整改通知书。"]


def _inspectors(customers: list[Customer]) -> dict[int, object]:
    rows = AccountAssignment.objects.filter(
        customer__in=customers,
        role__in=[AssignmentRole.FIELD_ENGINEER, AssignmentRole.MANAGER],
        end_date__isnull=True,
    ).select_related("user")
    found: dict[int, object] = {}
    for row in sorted(rows, key=lambda r: r.role != AssignmentRole.FIELD_ENGINEER):
        found.setdefault(row.customer_id, row.user)
    return found


def _results(failed: str | None, rng: random.Random) -> dict[str, tuple[str, str]]:
    results = {}
    for code in ChecklistItem.values:
        if code == failed:
            results[code] = (CheckResult.FAIL, FINDINGS[code][0])
        elif code == ChecklistItem.GENERATOR_INTERLOCK and rng.random() < 0.3:
            results[code] = (CheckResult.NOT_APPLICABLE, "无自备发电机")
        else:
            results[code] = (CheckResult.PASS, "")
    return results


def _record(customer, inspector, *, date, failed, severity, rng, today) -> Inspection:
    dangers = []
    if failed:
        description, requirement = FINDINGS[failed]
        dangers = [DangerInput(item=failed, severity=severity, description=description, requirement=requirement)]
    return inspection_record(
        customer=customer,
        date=date,
        kind=InspectionKind.PERIODIC,
        inspector=inspector,
        user=inspector,
        results=_results(failed, rng),
        conclusion=CONCLUSIONS[2 if failed else rng.randrange(2)],
        dangers=dangers,
        today=today,
    )


def _notify(danger, inspector, *, today):
    day = min(danger.inspection.date + dt.timedelta(days=2), today)
    return danger_deliver_notice(danger=danger, delivered_on=day, signed_by="电气负责人", user=inspector, today=today)


@transaction.atomic
def demo_inspections_load(*, seed: int = 1, today: dt.date | None = None) -> dict[str, int]:
    """Load the demo inspections (see the module docstring). Returns ``{"inspections", "dangers", "open",
    "closed"}``; zeros when the demo has inspections already."""
    empty = {"inspections": 0, "dangers": 0, "open": 0, "closed": 0}
    if Inspection.objects.exists():
        return empty
    today = today or timezone.localdate()
    rng = random.Random(f"inspections-{seed}")
    customers = list(Customer.objects.select_related("org_unit").order_by("name", "pk")[:MAX_CUSTOMERS])
    inspectors = _inspectors(customers)
    customers = [c for c in customers if c.pk in inspectors]
    months = {(r.tier, r.importance_class): r.interval_months for r in InspectionInterval.objects.all()}
    items = list(ChecklistItem.values)
    for index, customer in enumerate(customers):
        inspector = inspectors[customer.pk]
        interval = months.get((customer.tier, customer.importance_class), 12)
        # Visits at the plan's interval back over the last year; a few customers have fallen behind.
        behind = rng.random() < 0.15
        first = today - relativedelta(months=interval) - dt.timedelta(days=rng.randint(0, 20) + (60 if behind else 0))
        dates = []
        day = first
        # A customer behind schedule was last seen more than its interval ago: it is due (overdue) now.
        while day <= today and len(dates) < (1 if behind else 4):
            dates.append(day)
            day = day + relativedelta(months=interval)
        for n, date in enumerate(dates):
            latest = n == len(dates) - 1
            # The named cases first (one of each), then dangers at random.
            case = {0: "overdue", 1: "major", 2: "closed"}.get(index) if latest else None
            failed = rng.choice(items) if case or rng.random() < 0.2 else None
            severity = Severity.MAJOR if case == "major" else rng.choice([Severity.GENERAL] * 3 + [Severity.SERIOUS])
            if case == "overdue":
                date = today - dt.timedelta(days=45)
                severity = Severity.GENERAL
            elif case == "major":
                date = today - dt.timedelta(days=3)
            inspection = _record(customer, inspector, date=date, failed=failed, severity=severity, rng=rng, today=today)
            for danger in inspection.dangers.all():
                if case == "major":
                    continue  # found three days ago: the notice is not delivered yet
                danger = _notify(danger, inspector, today=today)
                if case == "overdue":
                    danger_advance(danger=danger, to=DangerStatus.RECTIFYING, user=inspector, note="客户已委托施工单位")
                    continue
                recheck = danger.deadline - dt.timedelta(days=rng.randint(1, 5))
                if case == "closed" or recheck < today:
                    danger_reinspect(
                        danger=danger,
                        user=inspector,
                        date=min(today, max(recheck, danger.notice_delivered_on)),
                        passed=True,
                        remark="已按要求整改，复查合格。",
                        today=today,
                    )
                elif rng.random() < 0.5:
                    danger_advance(danger=danger, to=DangerStatus.RECTIFYING, user=inspector)
    dangers_escalate(today=today)
    closed = HiddenDanger.objects.filter(status=DangerStatus.CLOSED).count()
    total = HiddenDanger.objects.count()
    return {"inspections": Inspection.objects.count(), "dangers": total, "open": total - closed, "closed": closed}
