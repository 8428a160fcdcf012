"""The database side of the readings import benchmark: the metering points the benchmark file names (with their
customers, accounts and a tariff whose calendar splits the energy into periods), the raw COPY the import is
compared with, and the clean-up afterwards.

Rows are written with ``bulk_create`` (no change history: these are not the demo's customers and nobody reads
their history) and removed with plain SQL, so seeding and removing 10,000 points takes seconds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from django.db import connection, transaction

# The Guangdong two-part time-of-use tariff the demo puts 10 kV accounts on; its calendar has a summer profile with
# sharp peaks (July–September), so every period but the deep valley gets energy in September.
BENCH_TARIFF = "GD-TOU-2P-10KV"
# The steel curve scaled up to 3× stays under 500 kWh an interval: well inside 2,000 kVA × 0.25 h × 2.
CAPACITY_KVA = Decimal("2000")
BENCH_ORG_UNIT = "HZ"
RAW_TABLE = "bench_raw_readings"
COPY_BLOCK = 1 << 20
READING_TABLES = (
    "metering_reading",
    "metering_readingundo",
    "metering_pointdailyrollup",
    "metering_pointmonthlyrollup",
    "metering_accountdailyrollup",
    "metering_accountmonthlyrollup",
)


def account_of(index: int, points: int) -> int:
    """Which account point ``index`` belongs to: the first fifth of the points in pairs (accounts with two billing
    points, whose account rollups sum two curves), the others one per account."""
    paired = points // 5 // 2 * 2
    return index // 2 if index < paired else paired // 2 + index - paired


def bench_points_seed(codes: Sequence[str]) -> int:
    """Customers, accounts (one customer each) and billing metering points for ``codes``; returns the accounts.
    The sample tariffs are loaded first (or found unchanged)."""
    from gridkam.core.testing import make_credit_code
    from gridkam.customers.models import Customer, ElectricityAccount, Industry, MeteringPoint
    from gridkam.demo.services import demo_org_units
    from gridkam.tariffs.services import sample_tariffs_load

    report = sample_tariffs_load()
    assert report.ok, report.errors
    org_unit = demo_org_units()[BENCH_ORG_UNIT]
    industry = Industry.objects.filter(parent__isnull=False).order_by("code").first()
    accounts = account_of(len(codes) - 1, len(codes)) + 1
    taken = set(Customer.objects.values_list("credit_code", flat=True))
    credit_codes = (
        code for code in (make_credit_code(7_000_000 + n, "449900") for n in range(10**7)) if code not in taken
    )
    with transaction.atomic():
        customers = Customer.objects.bulk_create(
            [
                Customer(
                    credit_code=next(credit_codes),
                    name=f"基准负荷客户{index:05d}",
                    name_initials="JZFHKH",
                    industry=industry,
                    org_unit=org_unit,
                )
                for index in range(accounts)
            ],
            batch_size=2000,
        )
        account_rows = ElectricityAccount.objects.bulk_create(
            [
                ElectricityAccount(
                    account_no=f"{codes[0][:2]}A{index:07d}",
                    name=f"{customer.name}用电",
                    customer=customer,
                    voltage_kv="10",
                    capacity_kva=CAPACITY_KVA,
                    tariff_id=BENCH_TARIFF,
                )
                for index, customer in enumerate(customers)
            ],
            batch_size=2000,
        )
        MeteringPoint.objects.bulk_create(
            [
                MeteringPoint(
                    code=code,
                    account=account_rows[account_of(index, len(codes))],
                    meter_no=f"{code}M",
                    multiplier=Decimal("1"),
                    purpose="billing",
                )
                for index, code in enumerate(codes)
            ],
            batch_size=2000,
        )
    return accounts


def bench_points_delete(prefix: str) -> None:
    """Remove the benchmark's points, accounts and customers (codes starting with ``prefix``) and what hangs on
    them, in plain SQL; the readings tables must be empty of their rows already (``readings_clear``)."""
    like = prefix + "%"
    points = "SELECT id FROM customers_meteringpoint WHERE code LIKE %s"
    accounts = "SELECT DISTINCT account_id FROM customers_meteringpoint WHERE code LIKE %s"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE gk_bench_accounts AS {accounts}", [like])
        cursor.execute(
            "CREATE TEMP TABLE gk_bench_customers AS SELECT DISTINCT customer_id FROM customers_electricityaccount "
            "WHERE id IN (SELECT account_id FROM gk_bench_accounts)",
            [],
        )
        usage = "account_id IN (SELECT account_id FROM gk_bench_accounts)"
        cursor.execute(f"DELETE FROM tariffs_historicalmonthlyusage WHERE {usage}", [])
        cursor.execute(f"DELETE FROM tariffs_monthlyusage WHERE {usage}", [])
        cursor.execute(f"DELETE FROM customers_meteringpoint WHERE id IN ({points})", [like])
        cursor.execute(
            "DELETE FROM customers_electricityaccount WHERE id IN (SELECT account_id FROM gk_bench_accounts)", []
        )
        cursor.execute("DELETE FROM customers_customer WHERE id IN (SELECT customer_id FROM gk_bench_customers)", [])
        cursor.execute("DROP TABLE gk_bench_accounts, gk_bench_customers", [])


def readings_clear() -> None:
    """Empty the readings, their undo rows, the rollups and the import batches (the benchmark database's own)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(READING_TABLES)}", [])
        cursor.execute("DELETE FROM metering_importbatch", [])


def checkpoint() -> None:
    """Write out dirty buffers before a timed step, so that it does not pay for the step before it (superuser
    only; skipped otherwise)."""
    from django.db import DatabaseError

    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT", [])
    except DatabaseError:
        pass


def raw_copy(path: str | Path) -> tuple[float, int]:
    """COPY the file as it is into a new unindexed table of text and numeric columns, streamed in blocks, and commit;
    returns the seconds (COPY and commit) and the rows. The table is dropped afterwards."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}", [])
        cursor.execute(
            f"CREATE TABLE {RAW_TABLE} (metering_point text, interval_end text, kwh numeric, kvarh_lag numeric, "
            "kvarh_lead numeric)",
            [],
        )
        checkpoint()
        started = time.perf_counter()
        with transaction.atomic(), open(path, "rb") as source:
            with cursor.copy(f"COPY {RAW_TABLE} FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                while block := source.read(COPY_BLOCK):
                    copy.write(block)
            rows = cursor.rowcount
        seconds = time.perf_counter() - started
        cursor.execute(f"DROP TABLE {RAW_TABLE}", [])
    return seconds, rows
