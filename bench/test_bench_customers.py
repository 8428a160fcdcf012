"""Customer list search, the customer 360 page, the API list and import_master at province scale.

Targets (issue 2): list search and 360 page under 100 ms median server time with the same query
count as at 20 accounts; import_master of 20,000 account rows under 30 s. Times are reported, not
asserted (STYLE.md); query counts are asserted. Results: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command, get_commands
from django.db import transaction

from .conftest import BIG, SCENARIO_BY_NAME, SCENARIOS, SEED, SMALL, BenchDatabase, api_available, count_queries

IMPORT_ROWS = 20000
ROUNDS = 15


@pytest.mark.empty_database
@pytest.mark.django_db
def test_import_master_accounts(benchmark, tmp_path):
    """20,000 account rows (one per metering point) into a database with only org units and industries."""
    if "import_master" not in get_commands():
        pytest.skip("import_master is not there yet (gridkam/customers/management/commands/import_master.py)")
    from gridkam.customers.models import Customer
    from gridkam.demo.exporting import account_rows_from_demo, write_accounts_csv
    from gridkam.demo.generator import generate
    from gridkam.demo.services import demo_org_units
    from gridkam.tariffs.services import sample_tariffs_load

    assert not Customer.objects.exists(), "the import benchmark must run before the demo seed"
    demo_org_units()
    # The file names the sample tariffs, as the demo accounts do.
    assert sample_tariffs_load().ok
    path = tmp_path / "accounts.csv"
    # 16,000 customers give about 26,000 metering points; the file is cut at 20,000 rows.
    written = write_accounts_csv(
        path, account_rows_from_demo(generate(accounts=16000, seed=SEED + 1)), limit=IMPORT_ROWS
    )
    assert written == IMPORT_ROWS

    def run() -> dict:
        out = io.StringIO()
        # Each round imports into the same empty database: its writes are rolled back afterwards.
        with transaction.atomic():
            try:
                call_command(
                    "import_master", str(path), "--kind", "accounts", "--json", stdout=out, stderr=io.StringIO()
                )
            except CommandError as error:
                pytest.fail(f"import_master rejected the demo file ({error}): {out.getvalue()[:2000]}")
            transaction.set_rollback(True)
        return json.loads(out.getvalue())

    result = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=0)
    benchmark.extra_info.update(rows=result["rows"], created=result["created"])
    assert result["rows"] == IMPORT_ROWS
    assert result["committed"] and not result["rejected"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", [s.name for s in SCENARIOS])
def test_request(benchmark, bench_db: BenchDatabase, name: str):
    scenario = SCENARIO_BY_NAME[name]
    if scenario.api and not api_available():
        pytest.skip("/api/v1/customers/ is not routed yet (gridkam/customers/api/)")
    prepared = bench_db.prepared[name]
    queries = count_queries(prepared.client, prepared.url)
    benchmark.extra_info.update(
        url=prepared.url,
        user=scenario.username,
        queries=queries,
        queries_at_small=prepared.small_queries,
        accounts=BIG,
        small_accounts=SMALL,
        seed_seconds=bench_db.seed_seconds,
    )
    response = benchmark.pedantic(
        prepared.client.get, args=(prepared.url,), rounds=ROUNDS, iterations=1, warmup_rounds=2
    )
    assert response.status_code == 200
    assert queries == prepared.small_queries, (
        f"{queries} queries at {BIG} accounts, {prepared.small_queries} at {SMALL}"
    )
