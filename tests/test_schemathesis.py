"""Property-based run over the whole OpenAPI schema: schemathesis generates valid and invalid
requests for every operation (reads and writes); the API must never answer with a server error, and
what it answers with success must match the schema.

The schema is loaded from the application itself and requests go through Django's WSGI handler in
process, signed in as an administrator with a token, against the test personas' data. Examples per
operation are few on purpose, so the whole run stays within a couple of minutes on a small machine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.specs.openapi.checks import response_schema_conformance

from config.wsgi import application
from gridkam.billing.billrun import bill_run, bills_issue
from gridkam.billing.dunning import step_take
from gridkam.billing.ledger import payment_record
from gridkam.billing.models import Bill, BillRun, DunningCase, Payment
from gridkam.core.testing import personas
from gridkam.customers.models import Contact, ElectricityAccount, MeteringPoint, TierRule
from gridkam.tariffs.models import MonthlyUsage
from gridkam.tariffs.services import monthly_usage_save, sample_tariffs_load
from gridkam.users.models import Team

# Paths whose {id} should often hit a real row, so that the code behind a found object is exercised
# and not only the 404 branch.
ID_SOURCES = {
    "/api/v1/customers/": lambda p: [p.a1.pk, p.a1_sub.pk, p.a2.pk, p.a3.pk, p.b1.pk],
    "/api/v1/accounts/": lambda p: list(ElectricityAccount.objects.values_list("pk", flat=True)),
    "/api/v1/metering-points/": lambda p: list(MeteringPoint.objects.values_list("pk", flat=True)),
    "/api/v1/contacts/": lambda p: list(Contact.objects.values_list("pk", flat=True)),
    "/api/v1/tier-rules/": lambda p: list(TierRule.objects.values_list("pk", flat=True)),
    "/api/v1/org-units/": lambda p: [p.province.pk, p.city_a.pk, p.city_b.pk],
    "/api/v1/teams/": lambda p: list(Team.objects.values_list("pk", flat=True)),
    "/api/v1/users/": lambda p: [p.manager.pk, p.supervisor.pk, p.outsider.pk],
    "/api/v1/monthly-usage/": lambda p: list(MonthlyUsage.objects.values_list("pk", flat=True)),
    "/api/v1/bills/": lambda p: list(Bill.objects.values_list("pk", flat=True)),
    "/api/v1/bill-runs/": lambda p: list(BillRun.objects.values_list("pk", flat=True)),
    "/api/v1/payments/": lambda p: list(Payment.objects.values_list("pk", flat=True)),
    "/api/v1/dunning-cases/": lambda p: list(DunningCase.objects.values_list("pk", flat=True)),
}

INDUSTRY_CODES = ["C", "C31", "C311", "D44", "c3110"]
TARIFF_CODES = ["GD-TOU-2P-10KV", "GD-1P-10KV", "SH-TOU-2P-10KV", "gd-tou-2p-10kv"]
VERSION_DATES = ["2026-02-01", "2025-01-01", "2024-05-01", "2026-02-30"]


@dataclass
class ApiData:
    token: str  # an administrator's, so that every operation is reachable
    ids: dict[str, list[int]]  # path prefix -> ids of existing rows


@pytest.fixture
def api_data(db) -> ApiData:
    p = personas()
    # The sample catalogue, and a year of quantities for one account so that its advice is computed.
    assert sample_tariffs_load().ok
    account = p.a1.accounts.get()
    account.tariff_code = "GD-TOU-2P-10KV"
    account.save()
    for month in range(1, 13):
        monthly_usage_save(
            account=account,
            month=dt.date(2025, month, 1),
            values={
                "peak_kwh": Decimal("200000"),
                "valley_kwh": Decimal("90000"),
                "max_demand_kw": Decimal("900"),
                "lagging_kvarh": Decimal("180000"),
                "flat_kwh": Decimal("150000"),
            },
        )
    # Billing: a month issued and part paid, overdue with a reminder, and the next month's drafts.
    bill_run(period="2025-05", user=p.admin)
    bills_issue(period="2025-05", user=p.admin, issue_date=dt.date(2025, 6, 1))
    payment_record(
        account=account,
        kind="payment",
        method="counter",
        amount="1000.00",
        received_on=dt.date(2025, 6, 20),
        user=p.admin,
    )
    step_take(account=account, kind="reminder", user=p.admin, done_on=dt.date(2025, 7, 1))
    bill_run(period="2025-06", user=p.admin)
    return ApiData(
        token=Token.objects.get_or_create(user=p.admin)[0].key,
        ids={prefix: source(p) or [1] for prefix, source in ID_SOURCES.items()},
    )


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    # Django closes the connection at the end of each request it serves; in a test that would end
    # the transaction holding the fixtures, so the WSGI calls here leave the connection open (as
    # Django's own test client does).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


# Loaded once, at collection, from the running application (schema generation needs no database).
# schemathesis.pytest.from_fixture would defer this to test time, but it relies on a pytest internal
# (Node._nodeid) that pytest 9 removed.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)


def point_at_real_rows(case, known_ids: dict[str, list[int]]) -> None:
    """Half of the generated integer ids (the even ones) are replaced by ids of existing rows, and
    half of the industry codes by real codes; the choice depends on the generated value only, so
    failures still replay and shrink."""
    parameters = case.path_parameters or {}
    code = parameters.get("code")
    if isinstance(code, str) and len(code) % 2 == 0:
        codes = TARIFF_CODES if case.path.startswith("/api/v1/tariffs/") else INDUSTRY_CODES
        parameters["code"] = codes[len(code) // 2 % len(codes)]
    day = parameters.get("effective_from")
    if isinstance(day, str) and len(day) % 2 == 0:
        parameters["effective_from"] = VERSION_DATES[len(day) // 2 % len(VERSION_DATES)]
    value = parameters.get("id")
    if not isinstance(value, int) or isinstance(value, bool) or value % 2:
        return
    for prefix, ids in known_ids.items():
        if case.path.startswith(prefix):
            parameters["id"] = ids[(value // 2) % len(ids)]
            return


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_api_fail(case, api_data):
    point_at_real_rows(case, api_data.ids)
    response = case.call(headers={"Authorization": f"Token {api_data.token}"})
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}\n{response.text[:2000]}"
    )
    # Successful answers must also match the schema, so that clients generated from it can be trusted.
    case.validate_response(response, checks=[response_schema_conformance])
