"""Building power-quality events for tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from gridkam.customers.models import ElectricityAccount
from gridkam.powerquality.choices import PqKind, PqSource
from gridkam.powerquality.models import PowerQualityEvent
from gridkam.powerquality.services import event_classify


def account_of(customer) -> ElectricityAccount:
    return ElectricityAccount.objects.filter(customer=customer).order_by("pk").first()


def event(customer, *, kind=PqKind.SAG, days_ago: int = 1, duration_ms=120, residual_pct="45", value=None, **fields):
    """An event of the customer's first account, classified like the services do (no permission check)."""
    account = fields.pop("account", None) or account_of(customer)
    obj = PowerQualityEvent(
        account=account,
        kind=kind,
        started_at=fields.pop("started_at", timezone.now() - dt.timedelta(days=days_ago)),
        duration_ms=duration_ms,
        residual_pct=Decimal(residual_pct) if residual_pct is not None else None,
        value=Decimal(value) if value is not None else None,
        source=fields.pop("source", PqSource.STAFF),
        created_at=timezone.now(),
        **fields,
    )
    event_classify(obj)
    obj.save()
    return obj


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    header = "监测点,户号,开始时间,持续时间(ms),事件类型,残余电压(%),测量值,限值,相别,描述"
    return ("\n".join([header, *lines]) + "\n").encode(encoding)
