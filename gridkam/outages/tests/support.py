"""Builders for outage tests (and the portal isolation world): substations, feeders, supplies, outages, notices."""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from gridkam.customers.models import Customer, ElectricityAccount

from ..choices import OutageKind, SupplyRole
from ..models import AccountSupply, Feeder, Outage, OutageNotice, Substation
from ..services import feeder_save, outage_announce, outage_save, substation_save, supply_save

DAY = dt.timedelta(days=1)
_n = itertools.count(1)


def substation(unit, *, name: str | None = None) -> Substation:
    return substation_save(substation=Substation(name=name or f"站{next(_n)}", voltage_kv="110", org_unit=unit))


def feeder(sub: Substation, *, code: str | None = None) -> Feeder:
    n = next(_n)
    return feeder_save(feeder=Feeder(code=code or f"F{n:04d}", name=f"{n}线", substation=sub))


def account_of(customer: Customer) -> ElectricityAccount:
    return ElectricityAccount.objects.filter(customer=customer).order_by("pk").first()


def supply(account: ElectricityAccount, fdr: Feeder, role: str = SupplyRole.MAIN) -> AccountSupply:
    return supply_save(supply=AccountSupply(account=account, feeder=fdr, role=role))


def outage(
    feeders, *, user, kind: str = OutageKind.PLANNED, start: dt.datetime | None = None, hours: int = 8
) -> Outage:
    start = start or timezone.now() + 10 * DAY
    return outage_save(
        outage=Outage(kind=kind, planned_start=start, planned_end=start + dt.timedelta(hours=hours), reason="线路检修"),
        feeders=list(feeders),
        user=user,
    )


def announced_notice(customer: Customer, *, unit, planner) -> OutageNotice:
    """A planned outage of a new feeder the customer's first account hangs on, announced by ``planner``: the
    customer's notice."""
    fdr = feeder(substation(unit))
    supply(account_of(customer), fdr)
    out = outage([fdr], user=planner)
    outage_announce(outage=out, user=planner)
    return OutageNotice.objects.get(outage=out, customer=customer)
