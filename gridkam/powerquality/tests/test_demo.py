"""The demo's power-quality events: a year of monitoring events (mostly sags, harmonics at one account), one event
reported by the customer with a service request; running it again adds nothing."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from gridkam.demo.powerquality import demo_powerquality_load
from gridkam.powerquality.choices import PqKind, PqSource
from gridkam.powerquality.models import PowerQualityEvent


def test_demo_powerquality(p):
    now = timezone.now()
    counts = demo_powerquality_load(seed=2, now=now)
    assert counts["events"] == PowerQualityEvent.objects.filter(source=PqSource.MONITORING).count() > 0
    assert counts["reported"] == counts["requests"] == 1
    kinds = list(PowerQualityEvent.objects.values_list("kind", flat=True))
    assert kinds.count(PqKind.SAG) > len(kinds) / 2 and PqKind.HARMONICS in kinds
    assert PowerQualityEvent.objects.filter(outside_tolerance=True).exists()
    assert all(
        now - dt.timedelta(days=366) <= at <= now
        for at in PowerQualityEvent.objects.values_list("started_at", flat=True)
    )
    reported = PowerQualityEvent.objects.get(source=PqSource.CUSTOMER)
    assert reported.service_request.request_type == "power_quality" and reported.account.customer == p.a1
    assert demo_powerquality_load(seed=2, now=now) == {"events": 0, "reported": 0, "requests": 0}


def test_a_second_run_a_minute_or_a_day_later_adds_nothing(p):
    now = timezone.now()
    first = demo_powerquality_load(seed=2, now=now)["events"]
    count = PowerQualityEvent.objects.count()
    assert first > 0
    assert demo_powerquality_load(seed=2, now=now + dt.timedelta(minutes=1))["events"] == 0
    assert demo_powerquality_load(seed=2, now=now + dt.timedelta(days=1))["events"] == 0
    assert PowerQualityEvent.objects.count() == count
