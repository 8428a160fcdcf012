"""Importing bills: formats, what a bill becomes, idempotency, every row error, all-or-nothing."""

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.billing.choices import BillKind, BillSource, BillStatus
from gridkam.billing.imports import IMPORTED_RULE, billing_import
from gridkam.billing.models import Bill, BillingImport, BillingTerms, BillLine, Payment
from gridkam.core.testing import make_account
from gridkam.tariffs.choices import UsageSource
from gridkam.tariffs.models import MonthlyUsage
from gridkam.tariffs.services import monthly_usage_save

from .test_import_fixtures import (
    BILL_HEADER,
    BILL_KEYS,
    DATA,
    TARIFF,
    chem_row,
    errors_at,
    sample_accounts,
    steel_row,
    to_csv,
    to_xlsx,
)

pytestmark = pytest.mark.django_db
JULY = dt.date(2025, 7, 1)


@pytest.fixture
def acc(p):
    return sample_accounts(p)


def imported(data: bytes, user, **kwargs):
    return billing_import(kind="bills", data=data, file_name=kwargs.pop("file_name", "bills.csv"), user=user, **kwargs)


# --- formats ------------------------------------------------------------------------------------------


def test_the_sample_csv_creates_issued_imported_bills_with_their_lines(p, acc):
    data = (DATA / "bills.csv").read_bytes()
    result = imported(data, p.clerk)
    assert result.ok, result.rejected
    assert (result.rows, result.created, result.unchanged, result.committed) == (2, 2, 0, True)
    assert result.ignored_columns == ["户名"]  # the account name: known to GridKAM already

    bill = Bill.objects.get(number="HZ202507000101")
    assert (bill.account, bill.period, bill.kind, bill.status, bill.source) == (
        acc.steel,
        JULY,
        BillKind.REGULAR,
        BillStatus.ISSUED,
        BillSource.IMPORTED,
    )
    assert (bill.issue_date, bill.due_date) == (dt.date(2025, 8, 5), dt.date(2025, 8, 20))
    assert bill.energy_kwh == Decimal("600000.00")
    assert bill.energy_charge == Decimal("456824.00")
    assert (bill.basic_charge, bill.pf_adjustment, bill.government_funds) == (
        Decimal("45200.00"),
        Decimal("-1506.07"),
        Decimal("18000.00"),
    )
    assert bill.total == Decimal("518517.93")
    assert bill.created_by == p.clerk
    lines = list(bill.lines.values_list("item", "quantity", "amount", "rule_code"))
    assert [item for item, *_ in lines] == [
        "energy.sharp",
        "energy.peak",
        "energy.flat",
        "energy.valley",
        "basic.capacity",  # the account's basic-charge method
        "pf_adjustment",
        "funds",
    ]
    assert lines[0][1:] == (Decimal("40000"), Decimal("57800.00"), IMPORTED_RULE)
    assert sum(amount for _item, _q, amount, _r in lines) == bill.total
    assert bill.quantities["energy_kwh"]["peak"] == "180000.00"
    assert bill.quantities["reactive_kvarh"] == {"lagging": "264000.00", "leading": "0.00"}
    assert bill.quantities["max_demand_kw"] == "1500.000"

    record = BillingImport.objects.get()
    assert (record.kind, record.file_name, record.created_by, record.rows, record.created, record.unchanged) == (
        "bills",
        "bills.csv",
        p.clerk,
        2,
        2,
        0,
    )
    assert record.file_sha256 == hashlib.sha256(data).hexdigest()


def test_the_sample_xlsx_holds_the_same_bills(p, acc):
    result = imported((DATA / "bills.xlsx").read_bytes(), p.clerk, file_name="bills.xlsx")
    assert result.ok, result.rejected
    assert result.created == 2
    # English headers, typed cells (dates, numbers) and a month written as text or as 202507.
    assert imported((DATA / "bills.csv").read_bytes(), p.clerk).unchanged == 2


def test_an_xlsx_with_date_cells_and_numbers_imports(p, acc):
    row = steel_row()
    cells = []
    for key in BILL_KEYS:
        value = row[key]
        if key in ("issue_date", "due_date"):
            cells.append(dt.datetime.fromisoformat(value))
        elif key == "period":
            cells.append(202507)  # a number, as Excel keeps YYYYMM
        elif key in ("account_no", "bill_no"):
            cells.append(value)
        else:
            cells.append(float(value) if "." in value else int(value))
    result = imported(to_xlsx(BILL_HEADER, [cells]), p.clerk, file_name="bills.xlsx")
    assert result.ok, result.rejected
    bill = Bill.objects.get()
    assert (bill.period, bill.issue_date, bill.total) == (JULY, dt.date(2025, 8, 5), Decimal("518517.93"))


def test_a_gbk_csv_imports(p, acc):
    result = imported(to_csv([steel_row()], encoding="gbk"), p.clerk)
    assert result.ok, result.rejected
    assert Bill.objects.get().number == "HZ202507000101"


def test_english_headers_units_in_brackets_and_columns_in_any_order(p, acc):
    row = steel_row()
    header = [f"{key}" for key in BILL_KEYS]
    header[header.index("sharp_kwh")] = "尖峰电量(kWh)"
    header[header.index("total")] = "应收电费（元）"
    order = list(reversed(range(len(header))))
    data = to_csv([], header=[header[i] for i in order])
    data += ",".join(row[BILL_KEYS[i]] for i in order).encode() + b"\r\n"
    result = imported(data, p.clerk)
    assert result.ok, result.rejected
    assert Bill.objects.get().lines.get(item="energy.sharp").quantity == Decimal("40000")


def test_optional_columns_may_be_missing_and_the_due_date_follows_the_terms(p, acc):
    BillingTerms.objects.create(account=acc.steel, payment_days=10)
    header = ["户号", "电费年月", "账单编号", "发行日期", "平电费", "基本电费", "应收电费"]
    data = "\r\n".join([",".join(header), "0930000101,2025-07,B1,2025-08-05,1000.00,200.00,1200.00"]).encode()
    result = imported(data, p.clerk)
    assert result.ok, result.rejected
    bill = Bill.objects.get()
    assert bill.due_date == dt.date(2025, 8, 15)
    assert [line.item for line in bill.lines.all()] == ["energy.flat", "basic.capacity"]
    assert "energy_kwh" not in bill.quantities
    assert not MonthlyUsage.objects.exists()  # no quantities, no usage


def test_a_missing_required_column_rejects_the_file_at_its_header(p, acc):
    header = [h for h in BILL_HEADER if h != "账单编号"]
    result = imported(to_csv([steel_row()], header=header), p.clerk)
    assert [r["line"] for r in result.rejected] == [1]
    assert list(errors_at(result, 1)) == ["header"]
    assert "账单编号" in errors_at(result, 1)["header"][0]
    assert not Bill.objects.exists()


@pytest.mark.parametrize(
    ("data", "key"),
    [(b"", "file"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "file"), ("户号,电费年月\r\n".encode(), "header")],
)
def test_unusable_files_are_rejected_whole(p, acc, data, key):
    result = imported(data, p.clerk)
    assert len(result.rejected) == 1
    assert key in result.rejected[0]["errors"]


# --- monthly usage ------------------------------------------------------------------------------------


def test_the_bills_quantities_become_monthly_usage_where_the_month_has_none(p, acc):
    entered = monthly_usage_save(account=acc.chem, month=JULY, values={"flat_kwh": Decimal("1")}, user=p.clerk)
    result = imported(to_csv([steel_row(), chem_row()]), p.clerk)
    assert result.usage_created == 1
    usage = MonthlyUsage.objects.get(account=acc.steel, month=JULY)
    assert (usage.source, usage.peak_kwh, usage.lagging_kvarh, usage.max_demand_kw, usage.updated_by) == (
        UsageSource.IMPORTED,
        Decimal("180000.00"),
        Decimal("264000.00"),
        Decimal("1500.000"),
        p.clerk,
    )
    entered.refresh_from_db()
    assert (entered.source, entered.flat_kwh) == (UsageSource.ENTERED, Decimal("1.00"))  # never overwritten


# --- idempotency --------------------------------------------------------------------------------------


def test_importing_the_same_file_again_creates_nothing(p, acc):
    data = to_csv([steel_row(), chem_row()])
    imported(data, p.clerk)
    again = imported(data, p.clerk)
    assert again.ok, again.rejected
    assert (again.created, again.unchanged, again.usage_created) == (0, 2, 0)
    assert Bill.objects.count() == 2
    assert BillLine.objects.count() == 14
    assert list(BillingImport.objects.order_by("pk").values_list("created", "unchanged")) == [(2, 0), (0, 2)]


def test_a_bill_imported_before_with_other_amounts_is_rejected_not_changed(p, acc):
    imported(to_csv([steel_row()]), p.clerk)
    changed = steel_row(pf_adjustment="-1505.07", total="518518.93")
    result = imported(to_csv([changed, chem_row()]), p.clerk)
    message = errors_at(result, 2)["bill_no"][0]
    assert "pf_adjustment: -1506.07 → -1505.07" in message
    assert "total: 518517.93 → 518518.93" in message
    assert [r["line"] for r in result.rejected] == [2]
    assert Bill.objects.get().total == Decimal("518517.93")  # and the chemical account's bill was not written
    assert BillingImport.objects.count() == 1


def test_a_credited_bill_is_replaced_by_a_rebill_with_a_new_number(p, acc):
    imported(to_csv([steel_row()]), p.clerk)
    Bill.objects.filter(number="HZ202507000101").update(status=BillStatus.CREDITED)
    result = imported(to_csv([steel_row(bill_no="HZ202507000101R", total="518517.93")]), p.clerk)
    assert result.ok, result.rejected
    rebill = Bill.objects.get(number="HZ202507000101R")
    assert (rebill.kind, rebill.corrects.number) == (BillKind.REBILL, "HZ202507000101")


# --- row errors ---------------------------------------------------------------------------------------


def test_every_kind_of_row_error_is_reported_with_its_line_and_column(p, acc):
    Bill.objects.create(account=acc.chem, period=dt.date(2025, 6, 1), number="TAKEN-1", total=Decimal("1"))
    rows = [
        steel_row(),  # line 2: fine
        steel_row(account_no="0999999999", bill_no="X3"),  # unknown account
        steel_row(account_no="0930000102", bill_no="X4", period="2025-01", peak_kwh="18万"),  # not a number
        steel_row(account_no="0930000102", bill_no="X5", period="2025-13"),  # not a month
        steel_row(account_no="0930000102", bill_no="X6", period="2025-02", issue_date="2025-02-30"),  # not a date
        chem_row(bill_no="X7", total="204527.83"),  # total is not the sum of the parts (by one fen)
        chem_row(bill_no="HZ202507000101", period="2025-03"),  # the same number as line 2
        chem_row(bill_no="X9", period="2025-08", basic_charge="28250.001", total="204527.821"),  # past the fen
        chem_row(bill_no="TAKEN-1", period="2025-09"),  # a number another bill has
        steel_row(bill_no="X11"),  # the steel account's July again
        steel_row(account_no="", bill_no="X12"),  # blank account
        chem_row(bill_no="X13", period="2025-10", due_date="2025-08-01"),  # due before issue
        chem_row(bill_no="X14", period="2025-11", sharp_kwh="-1"),  # negative energy
        chem_row(bill_no="X15", period="2025-12", total="-5.00"),  # a bill below zero
    ]
    result = imported(to_csv(rows), p.clerk)
    assert [r["line"] for r in result.rejected] == list(range(3, 16))
    assert list(errors_at(result, 3)) == ["account_no"]
    assert list(errors_at(result, 4)) == ["peak_kwh"]
    assert list(errors_at(result, 5)) == ["period"]
    assert list(errors_at(result, 6)) == ["issue_date"]
    assert list(errors_at(result, 7)) == ["total"]
    assert "204527.82" in errors_at(result, 7)["total"][0]
    assert list(errors_at(result, 8)) == ["bill_no"]
    assert "2" in errors_at(result, 8)["bill_no"][0]
    assert set(errors_at(result, 9)) == {"basic_charge", "total"}
    assert list(errors_at(result, 10)) == ["bill_no"]
    assert list(errors_at(result, 11)) == ["period"]
    assert list(errors_at(result, 12)) == ["account_no"]
    assert list(errors_at(result, 13)) == ["due_date"]
    assert list(errors_at(result, 14)) == ["sharp_kwh"]
    assert list(errors_at(result, 15)) == ["total"]
    assert not result.committed
    assert (result.created, result.unchanged) == (0, 0)
    assert Bill.objects.count() == 1  # only the one made above
    assert not MonthlyUsage.objects.exists()
    assert not BillingImport.objects.exists()


def test_one_bad_row_writes_nothing_at_all(p, acc):
    result = imported(to_csv([steel_row(), chem_row(total="1.00")]), p.clerk)
    assert [r["line"] for r in result.rejected] == [3]
    assert not Bill.objects.exists()
    assert not BillLine.objects.exists()
    assert not MonthlyUsage.objects.exists()
    assert not BillingImport.objects.exists()


def test_a_dry_run_checks_and_counts_without_writing(p, acc):
    result = imported(to_csv([steel_row(), chem_row()]), p.clerk, dry_run=True)
    assert (result.ok, result.created, result.committed, result.import_id) == (True, 2, False, None)
    assert not Bill.objects.exists()
    assert not BillingImport.objects.exists()


# --- visibility ---------------------------------------------------------------------------------------


def test_a_clerk_of_another_city_reads_city_a_accounts_as_unknown(p, acc):
    result = imported(to_csv([steel_row(), chem_row(account_no="0999999999", bill_no="X")]), acc.clerk_b)
    # The same words for an account of another unit as for one that does not exist: nothing is revealed.
    other_unit = errors_at(result, 2)["account_no"][0]
    missing = errors_at(result, 3)["account_no"][0]
    assert other_unit.replace("0930000101", "N") == missing.replace("0999999999", "N")
    assert not Bill.objects.exists()


def test_a_clerk_imports_the_accounts_of_the_own_city(p, acc):
    textile = steel_row(account_no="0930000201", bill_no="ST202507000201")
    assert imported(to_csv([textile]), acc.clerk_b).created == 1
    assert imported(to_csv([textile]), p.clerk).rejected  # and city A's clerk cannot see it


# --- payments already there ---------------------------------------------------------------------------


def test_money_received_before_the_bill_is_allocated_to_it(p, acc):
    from gridkam.billing.ledger import payment_record

    payment_record(
        account=acc.steel,
        kind="payment",
        method="bank_transfer",
        amount=Decimal("100000.00"),
        received_on=dt.date(2025, 8, 1),
        user=p.clerk,
    )
    imported(to_csv([steel_row()]), p.clerk)
    bill = Bill.objects.get()
    assert bill.amount_paid == Decimal("100000.00")
    assert Payment.objects.get().allocations.get().bill == bill


def test_the_queries_do_not_grow_with_the_rows(p, acc, django_assert_num_queries):
    def rows(prefix: str, n: int) -> list[dict[str, str]]:
        out = []
        for i in range(n):
            account = make_account(customer=p.a3, account_no=f"{prefix}{i:04d}", capacity_kva="2000", tariff_id=TARIFF)
            out.append(steel_row(account_no=account.account_no, bill_no=f"{prefix}-{i}"))
        return out

    # 12, not more: past about 1,000 parameters SQLite splits a bulk insert, a batch, not a row, more.
    two, twelve = to_csv(rows("097000", 2)), to_csv(rows("098000", 12))
    with CaptureQueriesContext(connection) as few:
        assert imported(two, p.clerk).created == 2
    with django_assert_num_queries(len(few.captured_queries)):
        assert imported(twelve, p.clerk).created == 12


def test_the_energy_charge_column_is_checked_against_the_periods_or_stands_alone(p, acc):
    header = ["户号", "电费年月", "账单编号", "发行日期", "峰电费", "平电费", "电度电费", "应收电费"]
    rows = ["0930000101,2025-07,E1,2025-08-05,100.00,50.00,150.01,150.01"]
    result = imported("\r\n".join([",".join(header), *rows]).encode(), p.clerk)
    assert list(errors_at(result, 2)) == ["energy_charge"]
    # A bill with the energy charge as a whole (a flat, non-TOU tariff) keeps it as the flat line.
    header = ["户号", "电费年月", "账单编号", "发行日期", "平电量", "电度电费", "应收电费"]
    rows = ["0930000101,2025-07,E1,2025-08-05,1000,650.00,650.00"]
    result = imported("\r\n".join([",".join(header), *rows]).encode(), p.clerk)
    assert result.ok, result.rejected
    assert list(Bill.objects.get().lines.values_list("item", "quantity", "amount")) == [
        ("energy.flat", Decimal("1000"), Decimal("650.00"))
    ]
