"""Builders for master-data import tests: rows as dicts, files as bytes."""

from __future__ import annotations

import csv
import io

from gridkam.core.testing import make_credit_code
from gridkam.customers.importing import COLUMNS, ImportResult, master_data_import
from gridkam.tariffs.models import Tariff


def account_row(n: int = 1, **overrides: str) -> dict[str, str]:
    """One accounts row: customer, account and metering point number ``n`` (unit HZ, industry C31)."""
    row = {
        "credit_code": make_credit_code(900000 + n),
        "customer_name": f"惠州第{n}实业有限公司",
        "industry_code": "C31",
        "org_unit": "HZ",
        "account_no": f"07{n:08d}",
        "account_name": f"第{n}实业一厂",
        "voltage_kv": "10",
        "capacity_kva": "1250",
        "tariff_code": "",
        "basic_charge_method": "capacity",
        "contract_demand_kw": "",
        "pf_standard": "0.90",
        "supply_mode": "single",
        "metering_point": f"MPI{n:07d}",
        "meter_no": f"MI{n:09d}",
        "multiplier": "200",
    }
    row.update(overrides)
    return row


def make_tariff(code: str) -> Tariff:
    """A catalogue entry for accounts to name; its prices do not matter to an import."""
    return Tariff.objects.create(
        code=code,
        name=f"{code} 两部制",
        region="广东",
        customer_category="industrial_commercial",
        voltage_band="1-10kV",
        structure="two_part",
    )


def usage_row(account_no: str, month: str = "2025-01", **overrides: str) -> dict[str, str]:
    """One monthly_usage row: a 10 kV plant's month, about 700 MWh."""
    row = {
        "account_no": account_no,
        "month": month,
        "sharp_kwh": "0",
        "peak_kwh": "184650",
        "flat_kwh": "254940",
        "valley_kwh": "249420",
        "deep_valley_kwh": "0",
        "lagging_kvarh": "366540",
        "leading_kvarh": "8280",
        "max_demand_kw": "1410.9",
    }
    row.update(overrides)
    return row


def contact_row(credit_code: str, name: str = "陈建国", **overrides: str) -> dict[str, str]:
    row = {
        "credit_code": credit_code,
        "name": name,
        "role": "energy_manager",
        "phone": "13902220001",
        "email": "",
        "is_primary": "0",
    }
    row.update(overrides)
    return row


def to_csv(kind: str, rows: list[dict[str, str]], *, encoding: str = "utf-8", columns=None) -> bytes:
    columns = list(columns or COLUMNS[kind])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return buffer.getvalue().encode(encoding)


def run_import(kind: str, rows: list[dict[str, str]], **kwargs) -> ImportResult:
    return master_data_import(kind=kind, data=to_csv(kind, rows), **kwargs)


def errors_at(result: ImportResult, line: int) -> dict[str, list[str]]:
    for rejected in result.rejected:
        if rejected["line"] == line:
            return rejected["errors"]
    raise AssertionError(f"line {line} not rejected: {result.rejected}")


def rejected_lines(result: ImportResult) -> list[int]:
    return [r["line"] for r in result.rejected]
