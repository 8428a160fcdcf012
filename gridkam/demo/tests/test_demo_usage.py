"""The demo's tariffs and monthly quantities (usage.py, written by seed_demo) and the cost advisor on them."""

import calendar
import dataclasses
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from gridkam.customers.choices import AccountStatus
from gridkam.customers.models import ElectricityAccount
from gridkam.demo.generator import generate
from gridkam.demo.services import demo_seed
from gridkam.demo.usage import (
    account_usage,
    demo_tariff_code,
    last_complete_month,
    months_ending,
)
from gridkam.tariffs.advising import account_advice
from gridkam.tariffs.advisor import AdvisorSettings
from gridkam.tariffs.choices import UsageSource
from gridkam.tariffs.models import MonthlyUsage, TariffVersion

USAGE_FIELDS = (
    "sharp_kwh",
    "peak_kwh",
    "flat_kwh",
    "valley_kwh",
    "deep_valley_kwh",
    "lagging_kvarh",
    "leading_kvarh",
    "max_demand_kw",
)
SUMMER = (7, 8, 9)


def seed(*args: str) -> dict:
    out = io.StringIO()
    # Interval data has a test of its own (test_demo_readings.py); a year of it per call would be slow here.
    readings = () if "--readings-accounts" in args else ("--readings-accounts", "0")
    # Likewise the bill history (test_demo_billing.py).
    billing = () if "--billing-months" in args else ("--billing-months", "0")
    call_command("seed_demo", *args, *readings, *billing, "--no-grid", "--json", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def expected_months() -> list[dt.date]:
    return months_ending(last_complete_month(timezone.localdate()), 24)


def hours_by_month(code: str, months: list[dt.date]) -> list[tuple[dt.date, dict[str, int]]]:
    """Each month's hours per period under the version in effect on its first day, else the earliest one."""
    earliest = TariffVersion.objects.published().filter(tariff__code=code).order_by("effective_from").first()
    result = []
    for month in months:
        version = TariffVersion.objects.in_effect(code=code, on=month) or earliest
        result.append((month, version.tou_calendar().hours_by_period(month.year, month.month)))
    return result


# --- usage.py, without a database -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("voltage_kv", "code"),
    [
        ("10", "GD-TOU-2P-10KV"),
        ("20", "GD-TOU-2P-10KV"),
        ("35", "GD-TOU-2P-35KV"),
        ("110", "GD-TOU-2P-35KV"),
        ("220", "GD-TOU-2P-220KV"),
        ("500", "GD-TOU-2P-220KV"),
    ],
)
def test_demo_tariff_follows_the_supply_voltage(voltage_kv, code):
    assert demo_tariff_code(voltage_kv) == code


def test_the_months_end_with_the_last_complete_month_and_cross_the_year():
    assert last_complete_month(dt.date(2026, 1, 15)) == dt.date(2025, 12, 1)
    assert last_complete_month(dt.date(2026, 3, 1)) == dt.date(2026, 2, 1)
    months = months_ending(dt.date(2025, 12, 1), 24)
    assert months[0] == dt.date(2024, 1, 1)
    assert months[-1] == dt.date(2025, 12, 1)
    assert len(set(months)) == 24
    assert months_ending(dt.date(2025, 12, 1), 0) == []


def flat_hours(months: list[dt.date]) -> list[tuple[dt.date, dict[str, int]]]:
    return [(month, {"peak": 200, "flat": 300, "valley": 240}) for month in months]


def test_usage_is_the_same_for_the_same_seed_and_account_and_differs_for_another_seed():
    account = generate(accounts=5, seed=21).customers[0].accounts[0]
    hours = flat_hours(months_ending(dt.date(2025, 12, 1), 24))
    once = account_usage(account, industry_code="C39", seed=21, hours=hours)
    again = account_usage(account, industry_code="C39", seed=21, hours=hours)
    other = account_usage(account, industry_code="C39", seed=22, hours=hours)
    assert once == again
    assert len(once) == 24
    assert once != other


def test_a_year_of_usage_is_about_the_annual_energy():
    account = generate(accounts=5, seed=23).customers[0].accounts[0]
    months = account_usage(
        account, industry_code="C31", seed=23, hours=flat_hours(months_ending(dt.date(2025, 12, 1), 12))
    )
    total_mwh = sum((m.total_kwh for m in months), Decimal("0")) / 1000
    # Noise of a few per cent a month and a slight trend; no systematic gain or loss.
    assert abs(total_mwh / account.annual_energy_mwh - 1) < Decimal("0.1")


def test_a_closed_account_has_no_usage():
    account = dataclasses.replace(generate(accounts=5, seed=24).customers[0].accounts[0], status=AccountStatus.CLOSED)
    assert account_usage(account, industry_code="C39", seed=24, hours=flat_hours([dt.date(2025, 1, 1)])) == []


# --- seed_demo into the database -----------------------------------------------------------------


@pytest.mark.django_db
def test_every_account_is_on_the_sample_tariff_of_its_voltage_with_24_months():
    summary = seed("--accounts", "40", "--seed", "31")
    accounts = list(ElectricityAccount.objects.all())
    months = expected_months()
    by_account: dict[int, list[dt.date]] = {}
    for account_id, month in MonthlyUsage.objects.values_list("account_id", "month"):
        by_account.setdefault(account_id, []).append(month)
    for account in accounts:
        assert account.tariff_id == demo_tariff_code(account.voltage_kv)
        assert TariffVersion.objects.published().filter(tariff__code=account.tariff_id).exists()
        if account.status != AccountStatus.CLOSED:
            assert sorted(by_account[account.pk]) == months, account.account_no
    in_use = [a for a in accounts if a.status != AccountStatus.CLOSED]
    assert summary["created"]["monthly_usage"] == MonthlyUsage.objects.count() == 24 * len(in_use)
    assert summary["usage_months"] == 24
    assert sum(summary["tariffs"].values()) == len(accounts)
    assert set(MonthlyUsage.objects.values_list("source", flat=True)) == {UsageSource.IMPORTED}


@pytest.mark.django_db
def test_quantities_are_plausible_for_the_account():
    seed("--accounts", "40", "--seed", "32")
    rows = MonthlyUsage.objects.select_related("account")
    below_standard = 0
    for row in rows:
        account = row.account
        # The Guangdong calendar has sharp-peak hours only in July to September.
        assert (row.sharp_kwh > 0) == (row.month.month in SUMMER), (account.account_no, row.month)
        assert row.peak_kwh > 0 and row.flat_kwh > 0 and row.valley_kwh > 0
        assert row.deep_valley_kwh == 0
        assert 0 < row.max_demand_kw <= Decimal("0.95") * account.capacity_kva
        # Maximum demand is at least the month's average load.
        hours = calendar.monthrange(row.month.year, row.month.month)[1] * 24
        assert row.max_demand_kw >= row.total_kwh / hours
        cos_phi = row.total_kwh / (row.total_kwh**2 + row.lagging_kvarh**2).sqrt()
        assert Decimal("0.75") < cos_phi < Decimal("0.99")
        assert row.leading_kvarh < row.lagging_kvarh
        if account.pf_standard != "none" and cos_phi < Decimal(account.pf_standard):
            below_standard += 1
    assert below_standard, "some accounts fall below their power-factor standard"


@pytest.mark.django_db
def test_database_holds_exactly_what_usage_makes_for_the_seed():
    seed("--accounts", "20", "--seed", "33")
    months = expected_months()
    stored = {
        (account_no, month): values
        for account_no, month, *values in MonthlyUsage.objects.values_list(
            "account__account_no", "month", *USAGE_FIELDS
        )
    }
    expected = {}
    for customer in generate(accounts=20, seed=33).customers:
        for account in customer.accounts:
            hours = hours_by_month(demo_tariff_code(account.voltage_kv), months)
            for m in account_usage(account, industry_code=customer.industry_code, seed=33, hours=hours):
                expected[(account.account_no, m.month)] = [getattr(m, name) for name in USAGE_FIELDS]
    assert stored == expected


@pytest.mark.django_db
def test_usage_months_can_be_changed_or_left_out():
    summary = seed("--accounts", "10", "--seed", "34", "--usage-months", "0")
    assert summary["created"]["monthly_usage"] == 0
    assert not MonthlyUsage.objects.exists()
    # The tariffs are set all the same.
    assert not ElectricityAccount.objects.filter(tariff__isnull=True).exists()

    summary = demo_seed(accounts=10, seed=35, usage_months=3)
    assert summary["created"]["monthly_usage"] == MonthlyUsage.objects.count()
    assert set(MonthlyUsage.objects.values_list("month", flat=True)) == set(expected_months()[-3:])


def test_negative_usage_months_is_a_usage_error():
    with pytest.raises(CommandError) as error:
        call_command("seed_demo", "--accounts", "5", "--usage-months", "-1")
    assert error.value.returncode == 2


@pytest.mark.django_db
def test_seeding_twice_loads_the_sample_tariffs_once():
    seed("--accounts", "5", "--seed", "36")
    versions = TariffVersion.objects.count()
    seed("--accounts", "5", "--seed", "36")
    assert TariffVersion.objects.count() == versions


# --- the cost advisor on demo accounts -------------------------------------------------------------


@pytest.mark.django_db
def test_the_cost_advisor_finds_something_to_say_about_demo_accounts():
    seed("--accounts", "60", "--seed", "37")
    accounts = ElectricityAccount.objects.exclude(status=AccountStatus.CLOSED).select_related("customer")
    paying: dict[str, int] = {}
    for account in accounts:
        result = account_advice(account=account, settings=AdvisorSettings())
        assert len(result.advice.baseline.bills) == 12
        assert result.version.effective_from <= timezone.localdate()
        for recommendation in result.advice.recommendations:
            if recommendation.saving_yuan_per_year > 0:
                paying[recommendation.kind] = paying.get(recommendation.kind, 0) + 1
    assert paying.get("capacitor"), "an account with a poor power factor is told to install capacitors"
    assert paying.get("contract_demand") or paying.get("basic_method"), "someone pays too much basic charge"
    # Not every account gets the same advice: capacitors only where the power factor is low.
    assert paying["capacitor"] < accounts.count()
