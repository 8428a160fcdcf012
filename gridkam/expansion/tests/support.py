"""Data makers of the expansion tests: the 2026 Spring Festival in the calendar, and projects made through the
services (accepted in the past so that their stages can move on)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from gridkam.core.models import StatutoryDay
from gridkam.customers.models import ElectricityAccount
from gridkam.expansion.choices import ProjectKind
from gridkam.expansion.services import project_create

D = dt.date
DAY = dt.timedelta(days=1)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


def spring_festival_2026() -> None:
    """The State Council's 2026 schedule around the Spring Festival: Feb 15–23 off (Feb 16–20 and 23 are weekdays),
    Saturdays Feb 14 and Feb 28 worked (调休)."""
    StatutoryDay.objects.bulk_create(
        [StatutoryDay(day=D(2026, 2, d), working=False, name="春节") for d in (16, 17, 18, 19, 20, 23)]
        + [StatutoryDay(day=D(2026, 2, d), working=True, name="春节") for d in (14, 28)]
    )


def account_of(customer) -> ElectricityAccount:
    return ElectricityAccount.objects.filter(customer=customer).order_by("pk").first()


def project(p, *, customer=None, kind=ProjectKind.NEW_CONNECTION, user=None, accepted_on=None, **fields):
    customer = customer or p.a1
    if kind != ProjectKind.NEW_CONNECTION and "account" not in fields:
        fields["account"] = account_of(customer)
    if kind in (ProjectKind.NEW_CONNECTION, ProjectKind.CAPACITY_INCREASE, ProjectKind.CAPACITY_REDUCTION):
        fields.setdefault("requested_capacity_kva", Decimal("3150"))
    return project_create(
        customer=customer,
        kind=kind,
        user=user or p.manager,
        accepted_on=accepted_on or timezone.localdate() - 60 * DAY,
        voltage_kv=fields.pop("voltage_kv", "10"),
        supply_mode=fields.pop("supply_mode", "single"),
        **fields,
    )
