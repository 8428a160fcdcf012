"""seed_demo's interval data: a year of the steel plant's curve for the largest accounts, ending yesterday,
through the real loader, with a consumption drop and an over-contract peak for the anomaly list to find."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from gridkam.customers.choices import BasicChargeMethod
from gridkam.customers.models import ElectricityAccount
from gridkam.demo.readings import DROPPED_ACCOUNT, demo_readings_accounts
from gridkam.metering.models import AccountDailyRollup, ImportBatch, Reading
from gridkam.metering.watch import Kind, default_as_of, load_anomalies
from gridkam.tariffs.choices import UsageSource
from gridkam.tariffs.models import MonthlyUsage

pytestmark = pytest.mark.django_db


def test_seed_demo_loads_a_year_of_readings_for_the_largest_accounts():
    out = io.StringIO()
    call_command(
        "seed_demo",
        "--accounts",
        "40",
        "--usage-months",
        "0",
        "--readings-accounts",
        "3",
        "--no-plans",
        "--service-requests",
        "0",
        "--no-grid",
        "--json",
        stdout=out,
        stderr=io.StringIO(),
    )
    summary = json.loads(out.getvalue())
    chosen = demo_readings_accounts(3)
    assert summary["readings"]["accounts"] == 3
    assert ImportBatch.objects.filter(status="committed").count() == 3
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    for account in chosen:
        days = AccountDailyRollup.objects.filter(account=account)
        assert days.latest("day").day == yesterday
        assert days.get(day=yesterday).intervals == 96
        assert days.filter(intervals=96).count() >= 357  # the weeks before are the plant's own year
    assert summary["readings"]["readings"] == Reading.objects.count() > 3 * 35000
    # The months are the accounts' metered quantities, so the advisor and the bills have them.
    assert MonthlyUsage.objects.filter(account__in=chosen, source=UsageSource.METERING).count() >= 3 * 12

    found = load_anomalies(ElectricityAccount.objects.filter(pk__in=[a.pk for a in chosen]), default_as_of())
    drops = {x.account.pk for x in found if x.kind == Kind.DROP}
    assert chosen[DROPPED_ACCOUNT].pk in drops
    by_demand = [a for a in chosen if a.basic_charge_method == BasicChargeMethod.CONTRACT_DEMAND]
    if by_demand:
        assert by_demand[0].pk in {x.account.pk for x in found if x.kind == Kind.OVER_DEMAND}


def test_no_readings_when_asked_for_none():
    out = io.StringIO()
    call_command(
        "seed_demo", "--accounts", "5", "--usage-months", "0", "--readings-accounts", "0", "--json", stdout=out
    )
    assert json.loads(out.getvalue())["readings"] == {"accounts": 0, "readings": 0}
    assert not Reading.objects.exists()


def test_a_negative_count_is_a_usage_error():
    with pytest.raises(CommandError) as error:
        call_command("seed_demo", "--accounts", "5", "--readings-accounts", "-1")
    assert error.value.returncode == 2
