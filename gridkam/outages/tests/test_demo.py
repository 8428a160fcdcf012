"""The demo's outages: every account in use on a feeder (dual supply on two), a planned outage announced ahead with
some acknowledgements, a finished fault with a follow-up request; running again adds nothing."""

from __future__ import annotations

from django.utils import timezone

from gridkam.customers.services import account_save
from gridkam.demo.outages import demo_outages_load

from ..choices import OutageKind, OutageStatus
from ..models import AccountSupply, Outage, OutageNotice
from .support import account_of


def test_demo_outages(p):
    dual = account_of(p.a2)
    dual.supply_mode = "dual"
    account_save(account=dual)
    counts = demo_outages_load(seed=3, now=timezone.now())
    assert counts["substations"] == 2 and counts["outages"] == 2
    accounts = {a.customer_id: a for a in (account_of(c) for c in (p.a1, p.a1_sub, p.a2, p.a3, p.b1))}
    per_account = {a.pk: AccountSupply.objects.filter(account=a).count() for a in accounts.values()}
    assert per_account[dual.pk] == 2 and all(n >= 1 for n in per_account.values())
    assert AccountSupply.objects.filter(account=dual, role="backup").count() == 1
    planned = Outage.objects.get(kind=OutageKind.PLANNED)
    assert planned.status == OutageStatus.ANNOUNCED and not planned.lead_breach
    assert planned.planned_start - planned.announced_at > timezone.timedelta(days=7)
    assert OutageNotice.objects.filter(outage=planned).exists()
    assert counts["acknowledged"] == OutageNotice.objects.filter(acknowledged_at__isnull=False).count()
    fault = Outage.objects.get(kind=OutageKind.FAULT)
    assert fault.status == OutageStatus.FINISHED and fault.duration_minutes == 135
    assert (
        OutageNotice.objects.filter(outage=fault, follow_up_request__isnull=False).count() == counts["follow_ups"] == 1
    )
    assert demo_outages_load(seed=3) == {
        "substations": 0,
        "feeders": 0,
        "supplies": 0,
        "outages": 0,
        "notices": 0,
        "acknowledged": 0,
        "follow_ups": 0,
    }
