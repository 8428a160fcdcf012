"""Master data in the ``import_master --kind accounts`` file format, from the database or straight
from the demo generator: sample files for trying the import, and the input of its benchmark."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import islice
from pathlib import Path

from gridkam.customers.importing import COLUMNS, KIND_ACCOUNTS
from gridkam.customers.models import MeteringPoint

from .generator import DemoData
from .usage import demo_tariff_code

# One row per metering point; the customer and account columns repeat on each of its rows.
ACCOUNT_COLUMNS = COLUMNS[KIND_ACCOUNTS]


def _number(value: Decimal | int | None) -> str:
    """2500 rather than 2500.00: the way people type figures into Excel."""
    if value is None:
        return ""
    return f"{Decimal(value).normalize():f}"


def account_rows_from_db() -> Iterator[list[str]]:
    points = MeteringPoint.objects.order_by("account__customer__credit_code", "account__account_no", "code")
    values = points.values_list(
        "account__customer__credit_code",
        "account__customer__name",
        "account__customer__industry_id",
        "account__customer__org_unit__code",
        "account__account_no",
        "account__name",
        "account__voltage_kv",
        "account__capacity_kva",
        "account__tariff_id",
        "account__basic_charge_method",
        "account__contract_demand_kw",
        "account__pf_standard",
        "account__supply_mode",
        "code",
        "meter_no",
        "multiplier",
    )
    numeric = {7, 10, 15}  # capacity_kva, contract_demand_kw, multiplier
    for row in values.iterator(chunk_size=2000):
        yield [_number(value) if i in numeric else value for i, value in enumerate(row)]


def account_rows_from_demo(data: DemoData) -> Iterator[list[str]]:
    for customer in sorted(data.customers, key=lambda c: c.credit_code):
        for account in sorted(customer.accounts, key=lambda a: a.account_no):
            for point in account.points:
                yield [
                    customer.credit_code,
                    customer.name,
                    customer.industry_code,
                    customer.org_unit_code,
                    account.account_no,
                    account.name,
                    account.voltage_kv,
                    _number(account.capacity_kva),
                    demo_tariff_code(account.voltage_kv),
                    str(account.basic_charge_method),
                    _number(account.contract_demand_kw),
                    str(account.pf_standard),
                    str(account.supply_mode),
                    point.code,
                    point.meter_no,
                    _number(point.multiplier),
                ]


def write_accounts_csv(path: str | Path, rows: Iterable[list[str]], *, limit: int | None = None) -> int:
    """Write an accounts import file (UTF-8, header first); return the number of data rows.

    ``limit`` cuts the file after that many rows; the cut may fall inside an account, which is still
    a valid file (that account simply has fewer metering points).
    """
    written = 0
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ACCOUNT_COLUMNS)
        for row in islice(rows, limit):
            writer.writerow(row)
            written += 1
    return written
