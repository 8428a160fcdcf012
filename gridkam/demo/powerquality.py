"""Demo power-quality events: a year of monitoring events for a few key accounts (10 kV and above) — mostly voltage
sags, of which a few fall outside the tolerance curve, a short interruption or two, and monthly harmonics readings
above the GB/T 14549 limit at one of them — and one sag reported by the customer in the portal, with a service
request opened for it through the service desk.

``seed_demo`` calls :func:`demo_powerquality_load` after the customers, accounts, users and service requests.
Running it again adds nothing: the year is anchored to today's local midnight (not to the second), monitoring events
carry their natural key, and an account that already has demo monitoring events (monitoring source, no import batch)
gets no more, so a run on a later day adds nothing either. Deterministic for a seed and a day.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from gridkam.customers.models import ElectricityAccount
from gridkam.powerquality.choices import Phase, PqKind, PqSource
from gridkam.powerquality.imports import natural_key
from gridkam.powerquality.models import PowerQualityEvent
from gridkam.powerquality.services import event_classify, event_report, sag_curve
from gridkam.users.models import User

ACCOUNTS = 5
SAG_PHASES = (Phase.A, Phase.B, Phase.C, Phase.AB, Phase.BC, Phase.CA, Phase.ABC)
HARMONIC_VOLTAGES = ("10", "20", "35")


def _accounts() -> list[ElectricityAccount]:
    return list(
        ElectricityAccount.objects.filter(voltage_kv__in=["10", "20", "35", "110", "220"])
        .select_related("customer")
        .prefetch_related("metering_points")
        .order_by("pk")[:ACCOUNTS]
    )


def _sag(rng: random.Random) -> tuple[int, Decimal]:
    """Most sags are short and shallow (a fault cleared on a neighbouring feeder); a few are deep or long."""
    if rng.random() < 0.8:
        duration = rng.choice([40, 60, 80, 100, 120, 160, 200, 300])
        residual = Decimal(rng.randint(60, 88))
    else:
        duration = rng.choice([250, 400, 600, 900, 1500, 3000])
        residual = Decimal(rng.randint(15, 65))
    return duration, residual


def _events(account: ElectricityAccount, *, rng: random.Random, now: dt.datetime, harmonics: bool):
    point = next(iter(account.metering_points.all()), None)
    start = now - dt.timedelta(days=365)
    events = []
    for _ in range(rng.randint(12, 24)):
        at = start + dt.timedelta(seconds=rng.randint(0, 364 * 86400))
        duration, residual = _sag(rng)
        events.append(
            dict(
                kind=PqKind.SAG,
                started_at=at,
                duration_ms=duration,
                residual_pct=residual,
                phases=rng.choice(SAG_PHASES),
            )
        )
    for _ in range(rng.randint(0, 2)):
        at = start + dt.timedelta(seconds=rng.randint(0, 364 * 86400))
        events.append(
            dict(
                kind=PqKind.INTERRUPTION,
                started_at=at,
                duration_ms=rng.choice([300, 800, 1500]),
                residual_pct=Decimal("2"),
                phases=Phase.ABC,
            )
        )
    if harmonics:
        for month in range(12):
            if rng.random() < 0.5:
                at = start + dt.timedelta(days=30 * month + rng.randint(0, 27), hours=rng.randint(8, 18))
                value = Decimal(rng.randint(38, 62)) / 10
                events.append(
                    dict(kind=PqKind.HARMONICS, started_at=at, duration_ms=None, value=value, phases=Phase.ABC)
                )
    rows = []
    for values in events:
        event = PowerQualityEvent(
            account=account,
            metering_point=point,
            source=PqSource.MONITORING,
            created_at=now,
            description="",
            **values,
        )
        event.started_at = event.started_at.replace(microsecond=0)
        event.natural_key = natural_key(
            account_id=account.pk,
            kind=event.kind,
            started_at=event.started_at,
            phases=event.phases,
        )
        rows.append(event)
    return rows


def demo_powerquality_load(*, seed: int = 1, now: dt.datetime | None = None) -> dict[str, int]:
    """Load the demo events (see the module docstring). Returns ``{"events", "reported", "requests"}``."""
    now = (now or timezone.now()).replace(microsecond=0)
    # The year of events ends at today's local midnight: a second run the same day makes the same rows.
    anchor = timezone.localtime(now).replace(hour=0, minute=0, second=0)
    rng = random.Random(f"powerquality-{seed}")
    accounts = _accounts()
    curve = sag_curve()
    rows: list[PowerQualityEvent] = []
    for index, account in enumerate(accounts):
        harmonics = index == 0 or (account.voltage_kv in HARMONIC_VOLTAGES and rng.random() < 0.3)
        rows += _events(account, rng=rng, now=anchor, harmonics=harmonics)
    seeded = set(
        PowerQualityEvent.objects.filter(
            account__in=accounts, source=PqSource.MONITORING, import_batch__isnull=True
        ).values_list("account_id", flat=True)
    )
    rows = [row for row in rows if row.account_id not in seeded]
    keys = {row.natural_key for row in rows}
    existing = set(PowerQualityEvent.objects.filter(natural_key__in=keys).values_list("natural_key", flat=True))
    new = [row for row in rows if row.natural_key not in existing]
    for row in new:
        event_classify(row, curve=curve)
    reported = requests = 0
    with transaction.atomic():
        PowerQualityEvent.objects.bulk_create(new, batch_size=1000)
        customers = {account.customer_id: account for account in accounts}
        user = (
            User.objects.filter(customer_id__in=customers, is_active=True).order_by("pk").first() if customers else None
        )
        if user is not None:
            account = customers[user.customer_id]
            already = PowerQualityEvent.objects.filter(account=account, source=PqSource.CUSTOMER).exists()
            if not already:
                event = event_report(
                    account=account,
                    kind=PqKind.SAG,
                    started_at=now - dt.timedelta(days=6, hours=3),
                    duration_ms=180,
                    phases=Phase.ABC,
                    description="车间变频器批量跳闸，生产线停机约40分钟。",
                    production_stopped=True,
                    loss_yuan=Decimal("86000.00"),
                    open_request=True,
                    user=user,
                    now=now,
                )
                reported = 1
                requests = 1 if event.service_request_id else 0
    return {"events": len(new), "reported": reported, "requests": requests}
