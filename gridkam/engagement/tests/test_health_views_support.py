"""Shared rows of the health page and API tests: scores and alerts written directly (in bulk), with drivers in the
engine's JSON shape, so the pages are tested without the scoring engine."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from gridkam.engagement.choices import HealthDriver, HealthLevel
from gridkam.engagement.models import HealthAlert, HealthScore, Task

WEIGHTS = {
    HealthDriver.SATISFACTION: 0.15,
    HealthDriver.COMPLAINTS: 0.15,
    HealthDriver.SLA_BREACHES: 0.15,
    HealthDriver.FEE_RISK: 0.25,
    HealthDriver.CONSUMPTION_TREND: 0.15,
    HealthDriver.PLAN_DELIVERY: 0.15,
    HealthDriver.NPS: 0.15,
}
DATA = {
    HealthDriver.SATISFACTION: {"requests": 12, "rated": 5, "mean": 4.2},
    HealthDriver.COMPLAINTS: {"count": 2},
    HealthDriver.SLA_BREACHES: {"breached": 3, "decided": 20},
    HealthDriver.FEE_RISK: {"level": "high"},
    HealthDriver.CONSUMPTION_TREND: {"recent_kwh": 830000, "earlier_kwh": 1000000, "ratio": 0.83},
    HealthDriver.PLAN_DELIVERY: {"done": 7, "due": 9},
    HealthDriver.NPS: {"nps": 8, "answered_on": "2026-03-02", "year": 2025},
}


def today() -> dt.date:
    return timezone.localdate()


def factors(points: dict[str, float | None] | None = None) -> list[dict]:
    """Drivers in HealthDriver order: ``points`` per driver code (default 100; None = no data, weight 0)."""
    points = points or {}
    rows = []
    for code in HealthDriver.values:
        p = points.get(code, 100)
        rows.append(
            {
                "driver": code,
                "value": None if p is None else 1,
                "points": p,
                "weight": 0 if p is None else WEIGHTS[code],
                "data": {} if p is None else DATA[code],
            }
        )
    return rows


def level_of(score: float) -> str:
    if score >= 80:
        return HealthLevel.HEALTHY
    if score >= 60:
        return HealthLevel.WATCH
    if score >= 40:
        return HealthLevel.AT_RISK
    return HealthLevel.UNHEALTHY


def add_scores(account, scores: list[float], *, last: dt.date | None = None, points=None) -> list[HealthScore]:
    """One score a day ending ``last`` (default today), the last one latest; earlier latest flags are cleared."""
    last = last or today()
    HealthScore.objects.filter(account=account, is_latest=True).update(is_latest=False)
    n = len(scores)
    return HealthScore.objects.bulk_create(
        HealthScore(
            account=account,
            scored_on=last - dt.timedelta(days=n - 1 - i),
            score=Decimal(str(value)),
            level=level_of(value),
            factors=factors(points),
            is_latest=i == n - 1,
        )
        for i, value in enumerate(scores)
    )


def add_alert(score: HealthScore, *, assignee=None, status="open") -> HealthAlert:
    task = Task.objects.create(
        title="客户健康度转为不健康",
        customer=score.account.customer,
        account=score.account,
        assignee=assignee,
        due_date=score.scored_on + dt.timedelta(days=7),
        source="health_alert",
    )
    return HealthAlert.objects.create(
        account=score.account,
        score=score,
        previous_level=HealthLevel.AT_RISK,
        raised_on=score.scored_on,
        status=status,
        task=task,
        closed_at=timezone.now() if status == "closed" else None,
    )


def account_of(customer):
    return customer.accounts.order_by("pk").first()
