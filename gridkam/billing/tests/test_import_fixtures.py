"""Builders shared by the import and reconciliation tests (no tests here): the sample accounts the shipped
example files name, rows as dicts, files as CSV or XLSX bytes."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook

from gridkam.core.testing import Personas, make_account, make_user
from gridkam.customers.models import ElectricityAccount
from gridkam.users.choices import Role

DATA = Path(__file__).resolve().parents[1] / "data"
TARIFF = "GD-TOU-2P-10KV"

BILL_HEADER = [
    "户号", "电费年月", "账单编号", "发行日期", "应缴日期",
    "尖峰电量", "峰电量", "平电量", "谷电量", "深谷电量", "无功电量", "最大需量",
    "尖峰电费", "峰电费", "平电费", "谷电费", "深谷电费", "基本电费", "力调电费", "基金及附加", "应收电费",
]  # fmt: skip
BILL_KEYS = [
    "account_no", "period", "bill_no", "issue_date", "due_date",
    "sharp_kwh", "peak_kwh", "flat_kwh", "valley_kwh", "deep_valley_kwh", "lagging_kvarh", "max_demand_kw",
    "sharp_charge", "peak_charge", "flat_charge", "valley_charge", "deep_valley_charge",
    "basic_charge", "pf_adjustment", "government_funds", "total",
]  # fmt: skip
PAYMENT_HEADER = ["户号", "缴费日期", "金额", "缴费方式", "流水号", "类型", "备注"]
PAYMENT_KEYS = ["account_no", "received_on", "amount", "method", "reference", "kind", "note"]


@dataclass
class Accounts:
    steel: ElectricityAccount  # 0930000101, city A, customer A1, 2000 kVA by capacity
    chem: ElectricityAccount  # 0930000102, city A, customer A2, 1250 kVA by capacity
    textile: ElectricityAccount  # 0930000201, city B, customer B1
    clerk_b: object  # a billing clerk of city B


def sample_accounts(p: Personas) -> Accounts:
    """The accounts of the shipped samples (gridkam/billing/data), priced by the sample Guangdong tariff."""
    from gridkam.tariffs.services import sample_tariffs_load

    assert sample_tariffs_load().ok
    return Accounts(
        steel=make_account(customer=p.a1, account_no="0930000101", capacity_kva="2000", tariff_id=TARIFF),
        chem=make_account(customer=p.a2, account_no="0930000102", capacity_kva="1250", tariff_id=TARIFF),
        textile=make_account(customer=p.b1, account_no="0930000201", capacity_kva="1000", tariff_id=TARIFF),
        clerk_b=make_user("clerk_b", role=Role.BILLING_CLERK, org_unit=p.city_b),
    )


def steel_row(**overrides: str) -> dict[str, str]:
    """The steel account's July 2025 bill as the engine prices it (the first row of bills.csv)."""
    row = {
        "account_no": "0930000101",
        "period": "2025-07",
        "bill_no": "HZ202507000101",
        "issue_date": "2025-08-05",
        "due_date": "2025-08-20",
        "sharp_kwh": "40000",
        "peak_kwh": "180000",
        "flat_kwh": "220000",
        "valley_kwh": "160000",
        "deep_valley_kwh": "0",
        "lagging_kvarh": "264000",
        "max_demand_kw": "1500",
        "sharp_charge": "57800.00",
        "peak_charge": "208080.00",
        "flat_charge": "149600.00",
        "valley_charge": "41344.00",
        "deep_valley_charge": "0",
        "basic_charge": "45200.00",
        "pf_adjustment": "-1506.07",
        "government_funds": "18000.00",
        "total": "518517.93",
    }
    row.update(overrides)
    return row


def chem_row(**overrides: str) -> dict[str, str]:
    """The chemical account's July 2025 bill (the second row of bills.csv)."""
    row = {
        "account_no": "0930000102",
        "period": "202507",
        "bill_no": "HZ202507000102",
        "issue_date": "2025-08-05",
        "due_date": "2025-08-20",
        "sharp_kwh": "12000",
        "peak_kwh": "61000",
        "flat_kwh": "83500.50",
        "valley_kwh": "70250",
        "deep_valley_kwh": "0",
        "lagging_kvarh": "150000",
        "max_demand_kw": "980",
        "sharp_charge": "17340.00",
        "peak_charge": "70516.00",
        "flat_charge": "56780.34",
        "valley_charge": "18152.60",
        "deep_valley_charge": "0",
        "basic_charge": "28250.00",
        "pf_adjustment": "6686.36",
        "government_funds": "6802.52",
        "total": "204527.82",
    }
    row.update(overrides)
    return row


def payment_row(**overrides: str) -> dict[str, str]:
    row = {
        "account_no": "0930000101",
        "received_on": "2025-08-12",
        "amount": "300000.00",
        "method": "银行转账",
        "reference": "YH20250812000123",
        "kind": "缴费",
        "note": "",
    }
    row.update(overrides)
    return row


def to_csv(rows: list[dict[str, str]], *, kind: str = "bills", encoding: str = "utf-8", header=None) -> bytes:
    keys = BILL_KEYS if kind == "bills" else PAYMENT_KEYS
    header = header or (BILL_HEADER if kind == "bills" else PAYMENT_HEADER)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(key, "") for key in keys])
    return buffer.getvalue().encode(encoding)


def to_xlsx(header: list[str], rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def errors_at(result, line: int) -> dict[str, list[str]]:
    for rejected in result.rejected:
        if rejected["line"] == line:
            return rejected["errors"]
    raise AssertionError(f"line {line} not rejected: {result.rejected}")
