"""Reconciliation of imported against computed bills: match, a differing line, cannot compute, visibility, queries."""

import datetime as dt
from decimal import Decimal

import pytest

from gridkam.billing.computing import bill_compute, line_as_engine
from gridkam.billing.imports import billing_import
from gridkam.billing.models import Bill
from gridkam.billing.reconcile import CANNOT_COMPUTE, DIFFERS, MATCH, reconcile
from gridkam.core.testing import make_account
from gridkam.customers.models import ElectricityAccount
from gridkam.tariffs import engine
from gridkam.tariffs.models import MonthlyUsage, TariffVersion
from gridkam.tariffs.services import monthly_usage_save

from .test_import_fixtures import TARIFF, chem_row, sample_accounts, steel_row, to_csv

pytestmark = pytest.mark.django_db
JULY = dt.date(2025, 7, 1)


@pytest.fixture
def acc(p):
    return sample_accounts(p)


def load(rows, user, header=None):
    result = billing_import(kind="bills", data=to_csv(rows, header=header), file_name="bills.csv", user=user)
    assert result.ok, result.rejected
    return result


def by_account(report) -> dict:
    return {a.account_no: a for a in report.accounts}


def test_bills_priced_as_gridkam_prices_them_match_line_by_line(p, acc):
    load([steel_row(), chem_row()], p.clerk)
    report = reconcile(JULY, p.clerk)
    assert report.counts == {MATCH: 2, DIFFERS: 0, CANNOT_COMPUTE: 0}
    steel = by_account(report)["0930000101"]
    assert (steel.status, steel.imported_total, steel.computed_total, steel.difference) == (
        MATCH,
        Decimal("518517.93"),
        Decimal("518517.93"),
        Decimal("0.00"),
    )
    assert steel.tariff_label == f"{TARIFF}@2025-01-01"
    assert [line.item for line in steel.lines] == [
        "energy.sharp",
        "energy.peak",
        "energy.flat",
        "energy.valley",
        "basic",
        "pf_adjustment",
        "funds",
        "total",
    ]
    assert report.imported_total == report.computed_total == Decimal("723045.75")


def test_a_power_factor_adjustment_off_by_one_yuan_is_the_line_that_differs(p, acc):
    load([steel_row(pf_adjustment="-1505.07", total="518518.93"), chem_row()], p.clerk)
    report = reconcile(JULY, p.clerk)
    assert report.counts == {MATCH: 1, DIFFERS: 1, CANNOT_COMPUTE: 0}
    steel = by_account(report)["0930000101"]
    assert steel.status == DIFFERS
    assert steel.difference == Decimal("1.00")
    assert [line.item for line in steel.differing] == ["pf_adjustment", "total"]
    pf = steel.differing[0]
    assert (pf.imported, pf.computed, pf.difference) == (Decimal("-1505.07"), Decimal("-1506.07"), Decimal("1.00"))
    # The rule is GridKAM's own line explained, as the bill page explains it.
    usage = MonthlyUsage.objects.get(account=acc.steel, month=JULY)
    version = TariffVersion.objects.published().in_effect(code=TARIFF, on=JULY)
    _bill, lines = bill_compute(acc.steel, usage, version)
    [pf_line] = [line for line in lines if line.item == "pf_adjustment"]
    assert pf.rule == engine.describe(line_as_engine(pf_line))
    assert report.difference == Decimal("1.00")


def test_an_account_gridkam_cannot_price_says_why(p, acc):
    load([steel_row(), chem_row()], p.clerk)
    ElectricityAccount.objects.filter(pk=acc.chem.pk).update(tariff=None)
    report = reconcile(JULY, p.clerk)
    chem = by_account(report)["0930000102"]
    assert chem.status == CANNOT_COMPUTE
    assert chem.reason
    assert chem.computed_total is None and chem.difference is None
    assert chem.lines[-1].item == "total" and chem.lines[-1].computed is None
    assert report.counts == {MATCH: 1, DIFFERS: 0, CANNOT_COMPUTE: 1}
    assert report.computed_total == Decimal("518517.93")  # over the accounts GridKAM could price


def test_a_month_before_any_tariff_version_cannot_be_computed(p, acc):
    load([steel_row(period="2024-07", bill_no="OLD")], p.clerk)
    [row] = reconcile(dt.date(2024, 7, 1), p.clerk).accounts
    assert row.status == CANNOT_COMPUTE
    assert TARIFF in row.reason


def test_a_bill_without_quantities_is_priced_on_the_months_usage_or_not_at_all(p, acc):
    header = ["户号", "电费年月", "账单编号", "发行日期", "尖峰电费", "峰电费", "平电费", "谷电费"]
    header += ["基本电费", "力调电费", "基金及附加", "应收电费"]
    keys = ["sharp_charge", "peak_charge", "flat_charge", "valley_charge", "basic_charge", "pf_adjustment"]
    rows = [steel_row(), chem_row()]
    lines = [",".join(header)]
    for row in rows:
        values = [row["account_no"], row["period"], row["bill_no"], row["issue_date"], *(row[k] for k in keys)]
        lines.append(",".join([*values, row["government_funds"], row["total"]]))
    result = billing_import(kind="bills", data="\r\n".join(lines).encode(), file_name="amounts-only.csv", user=p.clerk)
    assert result.ok and result.usage_created == 0
    monthly_usage_save(
        account=acc.steel,
        month=JULY,
        values={
            "sharp_kwh": Decimal("40000"),
            "peak_kwh": Decimal("180000"),
            "flat_kwh": Decimal("220000"),
            "valley_kwh": Decimal("160000"),
            "lagging_kvarh": Decimal("264000"),
        },
    )
    rows = by_account(reconcile(JULY, p.clerk))
    assert rows["0930000101"].status == MATCH
    assert rows["0930000102"].status == CANNOT_COMPUTE


def test_a_credited_bill_is_reconciled_through_its_rebill(p, acc):
    from gridkam.billing.choices import BillStatus

    load([steel_row()], p.clerk)
    Bill.objects.filter(number="HZ202507000101").update(status=BillStatus.CREDITED)
    load([steel_row(bill_no="REBILL")], p.clerk)
    [row] = reconcile(JULY, p.clerk).accounts
    assert (row.bill_number, row.status) == ("REBILL", MATCH)


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("clerk", {"0930000101", "0930000102"}),
        ("supervisor", {"0930000101", "0930000102"}),
        ("manager", {"0930000101", "0930000102"}),  # his portfolio: A1 and A2
        ("colleague", {"0930000101", "0930000102"}),  # same team
        ("engineer", {"0930000101"}),  # assigned to A1 only
        ("outsider", {"0930000201"}),  # city B: his own customer's account, none of city A's
        ("customer_user", {"0930000101"}),  # the reconcile function follows visibility; pages refuse portal users
        ("admin", {"0930000101", "0930000102", "0930000201"}),
    ],
)
def test_each_person_reconciles_only_the_accounts_they_may_see(p, acc, persona, expected):
    load([steel_row(), chem_row()], p.clerk)
    load([steel_row(account_no="0930000201", bill_no="ST1")], acc.clerk_b)
    assert {a.account_no for a in reconcile(JULY, getattr(p, persona)).accounts} == expected


def test_the_queries_do_not_grow_with_the_accounts(p, acc, django_assert_num_queries):
    load([steel_row(), chem_row()], p.clerk)
    with django_assert_num_queries(4) as few:
        assert len(reconcile(JULY, p.admin).accounts) == 2
    more = []
    for n in range(6):
        account = make_account(customer=p.a3, account_no=f"09400000{n:02d}", capacity_kva="2000", tariff_id=TARIFF)
        more.append(steel_row(account_no=account.account_no, bill_no=f"N{n}"))
    load(more, p.admin)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(reconcile(JULY, p.admin).accounts) == 8
