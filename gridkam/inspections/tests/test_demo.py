"""The demo's inspections: every customer with a team inspected over the last year, open dangers (one overdue and
escalated, one major), closed ones; running again adds nothing."""

from __future__ import annotations

import datetime as dt

from gridkam.demo.inspections import demo_inspections_load
from gridkam.inspections.choices import DangerStatus, EscalationLevel, Severity
from gridkam.inspections.models import HiddenDanger, Inspection

TODAY = dt.date(2026, 6, 15)


def test_demo_inspections(p):
    counts = demo_inspections_load(seed=2, today=TODAY)
    assert set(Inspection.objects.values_list("customer", flat=True)) == {
        p.a1.pk,
        p.a1_sub.pk,
        p.a2.pk,
        p.a3.pk,
        p.b1.pk,
    }
    assert Inspection.objects.filter(date__lt=TODAY - dt.timedelta(days=180)).exists()
    assert not Inspection.objects.filter(date__gt=TODAY).exists()
    dangers = HiddenDanger.objects.with_overdue(TODAY)
    assert counts == {
        "inspections": Inspection.objects.count(),
        "dangers": dangers.count(),
        "open": dangers.exclude(status=DangerStatus.CLOSED).count(),
        "closed": dangers.filter(status=DangerStatus.CLOSED).count(),
    }
    assert counts["closed"] >= 1
    assert dangers.filter(overdue=True, escalation_level__gte=EscalationLevel.MANAGER).exists()
    assert dangers.filter(severity=Severity.MAJOR).exclude(status=DangerStatus.CLOSED).exists()
    assert demo_inspections_load(seed=2, today=TODAY) == {"inspections": 0, "dangers": 0, "open": 0, "closed": 0}
