"""The bill run: the steel account's bill equals bill_quote on the same quantities, line by line; re-running
replaces drafts and leaves issued bills alone; every reason an account is not billed; the missing-interval
threshold; chunks; a query count that does not grow with the number of accounts.

The fixtures here (``billing``, ``usage_for``) are shared by the other bill-run test files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.billing.billrun import SkipReason, bill_run, bill_run_result, period_parse
from gridkam.billing.choices import BillKind, BillSource, BillStatus, RunStatus
from gridkam.billing.models import Bill, BillLine, BillRun
from gridkam.core.testing import make_account, make_customer
from gridkam.customers.choices import AccountStatus
from gridkam.customers.models import ElectricityAccount
from gridkam.metering.models import AccountMonthlyRollup
from gridkam.tariffs.choices import UsageSource
from gridkam.tariffs.models import MonthlyUsage
from gridkam.tariffs.quoting import quote
from gridkam.tariffs.services import monthly_usage_save

pytestmark = pytest.mark.django_db

MONTH = dt.date(2026, 3, 1)
TARIFF = "GD-TOU-2P-10KV"  # its 2026-02-01 version is in effect in March 2026
QUANTITIES = {
    "sharp_kwh": Decimal("0"),
    "peak_kwh": Decimal("180000"),
    "flat_kwh": Decimal("220000"),
    "valley_kwh": Decimal("150000"),
    "deep_valley_kwh": Decimal("0"),
    "lagging_kvarh": Decimal("260000"),
    "leading_kvarh": Decimal("0"),
    "max_demand_kw": Decimal("1200"),
}


@pytest.fixture
def samples(db):
    from gridkam.tariffs.services import sample_tariffs_load

    report = sample_tariffs_load()
    assert report.ok, report.errors


@pytest.fixture
def usage_for():
    def make(account, month=MONTH, source=UsageSource.ENTERED, **changes):
        return monthly_usage_save(account=account, month=month, values={**QUANTITIES, **changes}, source=source)

    return make


@pytest.fixture
def billing(p, samples, usage_for):
    """The personas' accounts on the Guangdong 10 kV two-part tariff, billed by capacity, with March's quantities."""
    ElectricityAccount.objects.update(tariff_id=TARIFF, basic_charge_method="capacity")
    for account in ElectricityAccount.objects.order_by("pk"):
        usage_for(account)
    return p


def account_of(customer) -> ElectricityAccount:
    return customer.accounts.order_by("pk").first()


def bills_of(month=MONTH) -> dict[str, Bill]:
    return {b.account.account_no: b for b in Bill.objects.filter(period=month).select_related("account")}


def reasons(run: BillRun) -> dict[str, str]:
    return {entry["account_no"]: entry["reason"] for entry in run.skipped}


# -- the steel account against bill_quote ----------------------------------------------------------------------


def steel_month(point_code: str) -> pl.DataFrame:
    """March 2018 of the shipped steel plant, moved to March 2026 (same clock times), as a parsed chunk."""
    from gridkam.metering.parsing import FRAME_SCHEMA, LOCAL_TIME_ZONE
    from gridkam.metering.steel import steel_rows

    def utc(day: dt.date) -> pl.Expr:
        local = pl.lit(dt.datetime.combine(day, dt.time(0, 0)))
        return local.dt.replace_time_zone(LOCAL_TIME_ZONE).dt.convert_time_zone("UTC")

    year = steel_rows()
    march = year.filter(
        (pl.col("interval_end") > utc(dt.date(2018, 3, 1))) & (pl.col("interval_end") <= utc(dt.date(2018, 4, 1)))
    )
    shift = dt.date(2026, 3, 1) - dt.date(2018, 3, 1)
    return march.select(
        pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("line"),
        pl.lit(point_code).alias("point"),
        pl.col("interval_end") + shift,
        "kwh_milli",
        "lag_milli",
        "lead_milli",
        pl.lit(False).alias("estimated"),
    ).cast(FRAME_SCHEMA)


def test_the_steel_accounts_bill_equals_bill_quote_on_the_same_quantities(p, samples):
    from gridkam.metering.loading import chunks_import
    from gridkam.metering.parsing import Chunk

    account = make_account(
        customer=p.a1,
        capacity_kva="1000",
        tariff_id=TARIFF,
        basic_charge_method="contract_demand",
        contract_demand_kw=Decimal("450"),
        account_no="0899990001",
    )
    point = account.metering_points.get()
    outcome = chunks_import([Chunk(frame=steel_month(point.code))], file_name="steel-march.csv", file_format="long")
    assert outcome.committed, outcome.rejected[:3]
    usage = MonthlyUsage.objects.get(account=account, month=MONTH)
    assert usage.source == UsageSource.METERING
    rollup = AccountMonthlyRollup.objects.get(account=account, month=MONTH)
    assert rollup.intervals == rollup.expected_intervals == 31 * 96

    run = bill_run(period=MONTH, account_nos=[account.account_no])
    assert run.status == RunStatus.DONE and run.created == 1 and not run.skipped
    bill = Bill.objects.get(account=account, period=MONTH)

    quoted, errors = quote(
        {
            "tariff": TARIFF,
            "period": "2026-03",
            "energy_kwh": {period: str(kwh) for period, kwh in usage.energy_kwh().items()},
            "reactive_kvarh": {"lagging": str(usage.lagging_kvarh), "leading": str(usage.leading_kvarh)},
            "capacity_kva": "1000",
            "basic_charge_method": "contract_demand",
            "contract_demand_kw": "450",
            "max_demand_kw": str(usage.max_demand_kw),
            "pf_standard": account.pf_standard,
        }
    )
    assert not errors, errors
    assert bill.tariff_label == quoted["tariff_version"]
    assert f"{bill.total:f}" == quoted["total"]
    for name in ("energy_charge", "basic_charge", "pf_adjustment", "government_funds"):
        assert f"{getattr(bill, name):f}" == quoted[name], name
    lines = list(bill.lines.order_by("position"))
    assert len(lines) == len(quoted["lines"])
    for line, expected in zip(lines, quoted["lines"], strict=True):
        assert line.item == expected["item"]
        assert line.rule_code == expected["rule_code"]
        assert line.quantity == Decimal(expected["quantity"])
        assert line.unit_price == Decimal(expected["unit_price"])
        assert line.amount == Decimal(expected["amount"])
    # The plant went over 105 % of its 450 kW contract demand in March: the excess is on the bill.
    assert "basic.demand_excess" in {line.item for line in lines}
    assert bill.total == sum((line.amount for line in lines), Decimal("0"))


# -- re-running, issued bills ----------------------------------------------------------------------------------


def test_a_run_bills_every_account_not_closed_as_drafts(billing):
    closed = account_of(billing.a3)
    ElectricityAccount.objects.filter(pk=closed.pk).update(status=AccountStatus.CLOSED)
    suspended = account_of(billing.a2)
    ElectricityAccount.objects.filter(pk=suspended.pk).update(status=AccountStatus.SUSPENDED)
    run = bill_run(period=MONTH)
    bills = bills_of()
    assert closed.account_no not in bills and suspended.account_no in bills
    assert run.created == ElectricityAccount.objects.exclude(status=AccountStatus.CLOSED).count() == len(bills)
    assert run.accounts == len(bills) and run.replaced == 0 and run.skipped == []
    assert run.status == RunStatus.DONE and run.finished_at is not None
    assert run.chunks == run.chunks_done == 1
    for bill in bills.values():
        assert (bill.status, bill.kind, bill.source, bill.run_id) == (
            BillStatus.DRAFT,
            BillKind.REGULAR,
            BillSource.COMPUTED,
            run.pk,
        )
        assert bill.tariff_version.label == bill.tariff_label == "GD-TOU-2P-10KV@2026-02-01"
        assert bill.quantities["period"] == "2026-03"
        assert bill.total == sum((line.amount for line in bill.lines.all()), Decimal("0")) > 0


def test_rerunning_replaces_drafts_and_leaves_issued_bills_alone(billing, usage_for):
    bill_run(period=MONTH)
    first = bills_of()
    issued = first[account_of(billing.a1).account_no]
    Bill.objects.filter(pk=issued.pk).update(status=BillStatus.ISSUED, number="B202603-X-1")
    issued.refresh_from_db()
    # More energy in the month for A2: its draft is recomputed.
    usage_for(account_of(billing.a2), peak_kwh=Decimal("200000"))

    run = bill_run(period=MONTH)
    again = bills_of()
    assert run.created == 0 and run.replaced == len(first) - 1
    assert reasons(run) == {issued.account.account_no: SkipReason.ISSUED}
    kept = again[issued.account.account_no]
    assert (kept.pk, kept.status, kept.total, kept.run_id) == (
        issued.pk,
        BillStatus.ISSUED,
        issued.total,
        issued.run_id,
    )
    for number, bill in again.items():
        if number != issued.account.account_no:
            assert bill.pk != first[number].pk and bill.run_id == run.pk  # deleted and created again
    a2 = account_of(billing.a2).account_no
    assert again[a2].total > first[a2].total
    assert not BillLine.objects.filter(
        bill_id__in=[b.pk for n, b in first.items() if n != issued.account.account_no]
    ).exists()
    # The replaced drafts' history records their deletion.
    deleted = Bill.history.filter(id=first[a2].pk, history_type="-")
    assert deleted.count() == 1


def test_credited_bills_are_left_alone_too(billing):
    bill_run(period=MONTH)
    a1 = account_of(billing.a1)
    Bill.objects.filter(account=a1).update(status=BillStatus.CREDITED, number="B202603-Y-1")
    run = bill_run(period=MONTH, account_nos=[a1.account_no])
    assert reasons(run) == {a1.account_no: SkipReason.ISSUED}
    assert Bill.objects.get(account=a1).status == BillStatus.CREDITED


def test_imported_bills_do_not_stop_the_computed_one(billing):
    a1 = account_of(billing.a1)
    Bill.objects.create(
        account=a1, period=MONTH, source=BillSource.IMPORTED, status=BillStatus.ISSUED, total=Decimal("10")
    )
    run = bill_run(period=MONTH, account_nos=[a1.account_no])
    assert run.created == 1 and Bill.objects.filter(account=a1, source=BillSource.COMPUTED).count() == 1


# -- reasons not to bill ---------------------------------------------------------------------------------------


def test_each_reason_an_account_is_not_billed_is_listed(billing, usage_for):
    from gridkam.core.testing import make_tariff

    no_tariff = account_of(billing.a1)
    ElectricityAccount.objects.filter(pk=no_tariff.pk).update(tariff=None)
    no_version = account_of(billing.a1_sub)
    make_tariff("GD-NO-VERSION")
    ElectricityAccount.objects.filter(pk=no_version.pk).update(tariff_id="GD-NO-VERSION")
    no_usage = account_of(billing.a2)
    MonthlyUsage.objects.filter(account=no_usage).delete()
    engine_refuses = account_of(billing.a3)
    ElectricityAccount.objects.filter(pk=engine_refuses.pk).update(basic_charge_method="actual_demand")
    usage_for(engine_refuses, max_demand_kw=None)
    closed = account_of(billing.b1)
    ElectricityAccount.objects.filter(pk=closed.pk).update(status=AccountStatus.CLOSED)

    run = bill_run(
        period=MONTH, account_nos=[a.account_no for a in (no_tariff, no_version, no_usage, engine_refuses, closed)]
    )
    assert reasons(run) == {
        no_tariff.account_no: SkipReason.NO_TARIFF,
        no_version.account_no: SkipReason.NO_VERSION,
        no_usage.account_no: SkipReason.NO_USAGE,
        engine_refuses.account_no: SkipReason.ENGINE,
        closed.account_no: SkipReason.CLOSED,
    }
    assert run.created == 0 and not Bill.objects.exists()
    engine_entry = next(e for e in run.skipped if e["reason"] == SkipReason.ENGINE)
    assert engine_entry["params"]["field"] == "feeders.0.max_demand_kw" and engine_entry["params"]["message"]
    assert next(e for e in run.skipped if e["reason"] == SkipReason.NO_VERSION)["params"]["tariff"] == "GD-NO-VERSION"
    result = bill_run_result(run)
    assert result["bills"] == [] and len(result["skipped"]) == 5
    assert all(entry["message"] for entry in result["skipped"])


def test_a_version_published_after_the_first_day_of_the_month_does_not_count(billing):
    # GD-1P-10KV's only version starts on 2026-02-01: January has none, February has it.
    account = account_of(billing.a1)
    ElectricityAccount.objects.filter(pk=account.pk).update(tariff_id="GD-1P-10KV")
    january = dt.date(2026, 1, 1)
    monthly_usage_save(account=account, month=january, values=QUANTITIES)
    run = bill_run(period=january, account_nos=[account.account_no])
    assert reasons(run) == {account.account_no: SkipReason.NO_VERSION}


def test_a_draft_whose_account_can_no_longer_be_billed_is_removed(billing):
    bill_run(period=MONTH)
    account = account_of(billing.a2)
    MonthlyUsage.objects.filter(account=account).delete()
    run = bill_run(period=MONTH)
    entry = next(e for e in run.skipped if e["account_no"] == account.account_no)
    assert entry["reason"] == SkipReason.NO_USAGE and entry["params"]["draft_removed"]
    assert not Bill.objects.filter(account=account).exists()


def _metering_month(account, *, intervals: int, expected: int = 31 * 96):
    MonthlyUsage.objects.filter(account=account, month=MONTH).update(source=UsageSource.METERING)
    AccountMonthlyRollup.objects.update_or_create(
        account=account, month=MONTH, defaults={"intervals": intervals, "expected_intervals": expected}
    )


@pytest.mark.parametrize(
    ("missing", "billed"),
    [(0, True), (59, True), (60, False), (2976, False)],  # 2 % of 2,976 quarter-hours is 59.52
)
def test_a_metering_month_missing_more_than_the_threshold_is_not_billed(billing, settings, missing, billed):
    settings.GRIDKAM = {**settings.GRIDKAM, "BILL_MAX_MISSING_RATIO": 0.02}
    account = account_of(billing.a1)
    _metering_month(account, intervals=31 * 96 - missing)
    run = bill_run(period=MONTH, account_nos=[account.account_no])
    assert bool(run.created) is billed
    if not billed:
        [entry] = run.skipped
        assert entry["reason"] == SkipReason.MISSING_INTERVALS
        assert entry["params"]["missing"] == missing and entry["params"]["expected"] == 31 * 96
        assert entry["params"]["share"].endswith("%")


def test_entered_quantities_are_billed_whatever_the_interval_data(billing):
    account = account_of(billing.a1)
    AccountMonthlyRollup.objects.create(account=account, month=MONTH, intervals=0, expected_intervals=2976)
    run = bill_run(period=MONTH, account_nos=[account.account_no])
    assert run.created == 1


def test_unknown_account_numbers_are_refused_before_anything_is_written(billing):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        bill_run(period=MONTH, account_nos=[account_of(billing.a1).account_no, "NOPE-1"])
    assert "account_nos" in caught.value.message_dict and "NOPE-1" in caught.value.message_dict["account_nos"][0]
    assert not BillRun.objects.exists() and not Bill.objects.exists()


def test_a_user_bills_only_the_accounts_they_see(billing):
    from django.core.exceptions import ValidationError

    run = bill_run(period=MONTH, user=billing.clerk)  # city A's clerk
    assert account_of(billing.b1).account_no not in bills_of()
    assert run.created == ElectricityAccount.objects.visible_to(billing.clerk).count()
    with pytest.raises(ValidationError):
        bill_run(period=MONTH, user=billing.clerk, account_nos=[account_of(billing.b1).account_no])


def test_period_parse():
    from django.core.exceptions import ValidationError

    assert period_parse("2026-03") == MONTH
    assert period_parse(dt.date(2026, 3, 17)) == MONTH
    for bad in ("2026-13", "2026-3", "March", "", None):
        with pytest.raises(ValidationError):
            period_parse(bad)


# -- chunks and queries ----------------------------------------------------------------------------------------


def test_chunks_each_commit_and_count(billing, settings):
    settings.GRIDKAM = {**settings.GRIDKAM, "BILL_RUN_CHUNK": 2}
    seen = []
    run = bill_run(period=MONTH, progress=lambda done, total: seen.append((done, total)))
    n = ElectricityAccount.objects.count()
    assert run.chunks == run.chunks_done == (n + 1) // 2
    assert run.created == n
    assert seen[0] == (0, n) and seen[-1] == (n, n) and len(seen) == run.chunks + 1


def _accounts(p, n: int, usage_for):
    customer = make_customer(name=f"批量客户{n}", org_unit=p.city_a)
    accounts = [
        make_account(customer=customer, tariff_id=TARIFF, basic_charge_method="capacity", points=0) for _ in range(n)
    ]
    for account in accounts:
        usage_for(account)
    return [a.account_no for a in accounts]


def test_the_query_count_of_a_run_does_not_grow_with_the_accounts(p, samples, usage_for):
    few = _accounts(p, 5, usage_for)
    many = _accounts(p, 20, usage_for)
    counts = []
    for numbers in (few, many, few, many):  # the second pair replaces drafts
        with CaptureQueriesContext(connection) as queries:
            bill_run(period=MONTH, account_nos=numbers)
        # Bulk inserts are split by the database's parameter limit (SQLite: 999 per statement), so they are
        # counted apart: every other query is the same for 5 accounts as for 20.
        inserts = [q for q in queries if q["sql"].startswith("INSERT")]
        counts.append((len(queries) - len(inserts), len(inserts) <= 6))
    assert counts[0] == counts[1] and counts[2] == counts[3]
    assert all(bounded for _count, bounded in counts)
    assert Bill.objects.count() == 25
