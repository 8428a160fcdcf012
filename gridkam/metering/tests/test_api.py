"""The summary endpoints: ``/api/v1/metering-points/{code}/summary/`` and ``/api/v1/accounts/{id}/summary/``,
with every persona, the month's validation and lookups that must answer 404 rather than fail."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.core.testing import make_tariff, persona
from gridkam.metering.models import AccountMonthlyRollup
from gridkam.metering.summaries import account_month_summary, point_month_summary
from gridkam.tariffs.models import TariffVersion
from gridkam.tariffs.services import sample_tariffs_load

from .test_summaries import KEYS, MARCH, MONTH_FIGURES, copy_version, point_rollup, set_tariff

pytestmark = pytest.mark.django_db
API = "/api/v1"
# A1 is the manager's (and through the team the colleague's) customer, with the field engineer assigned;
# the clerk and the supervisor see their city; the outsider manages B1 in another city.
ACCESS = [
    ("manager", 200),
    ("colleague", 200),
    ("engineer", 200),
    ("clerk", 200),
    ("supervisor", 200),
    ("outsider", 404),
    ("customer_user", 200),
    ("admin", 200),
]


@pytest.fixture
def a1(p):
    """A1's account and point with a March on record."""
    account = p.a1.accounts.get()
    point = account.metering_points.get()
    point_rollup(point)
    AccountMonthlyRollup.objects.create(account=account, month=MARCH, **MONTH_FIGURES)
    return account, point


def point_url(code: str) -> str:
    return f"{API}/metering-points/{code}/summary/"


def account_url(pk) -> str:
    return f"{API}/accounts/{pk}/summary/"


@pytest.mark.parametrize("who, status", ACCESS)
def test_point_summary_for_whoever_sees_the_customer(p, api, a1, who, status):
    _account, point = a1
    response = api(persona(p, who)).get(point_url(point.code), {"month": "2025-03"})
    assert response.status_code == status
    if status == 200:
        assert response.json() == point_month_summary(point, MARCH)
        assert list(response.json()) == KEYS
    else:
        assert response.json()["detail"]


@pytest.mark.parametrize("who, status", ACCESS)
def test_account_summary_for_whoever_sees_the_customer(p, api, a1, who, status):
    account, _point = a1
    response = api(persona(p, who)).get(account_url(account.pk), {"month": "2025-03"})
    assert response.status_code == status
    if status == 200:
        body = response.json()
        assert body == account_month_summary(account, MARCH)
        assert body["account"] == account.account_no and body["load_factor"] == "0.75"


def test_anonymous_gets_nothing(p, api, a1):
    account, point = a1
    client = api(None)
    assert client.get(point_url(point.code), {"month": "2025-03"}).status_code in (401, 403)
    assert client.get(account_url(account.pk), {"month": "2025-03"}).status_code in (401, 403)


def test_a_customer_user_sees_its_own_points_and_no_one_elses(p, api, a1):
    b1_account = p.b1.accounts.get()
    b1_point = b1_account.metering_points.get()
    point_rollup(b1_point)
    client = api(p.customer_user)
    _account, point = a1
    assert client.get(point_url(point.code), {"month": "2025-03"}).status_code == 200
    assert client.get(point_url(b1_point.code), {"month": "2025-03"}).status_code == 404
    assert client.get(account_url(b1_account.pk), {"month": "2025-03"}).status_code == 404
    # The outsider, for whom B1 is home, gets it.
    assert api(p.outsider).get(point_url(b1_point.code), {"month": "2025-03"}).status_code == 200


def test_a_month_without_readings_answers_zeros(p, api, a1):
    _account, point = a1
    body = api(p.manager).get(point_url(point.code), {"month": "2025-04"}).json()
    assert body["intervals"] == 0 and body["missing_intervals"] == 30 * 96
    assert body["kwh_total"] == "0.000" and body["max_demand_kw"] is None and body["power_factor"] is None


def test_power_factor_follows_the_accounts_tariff(p, api, a1):
    """Counting leading kvarh is the tariff version's rule; the API shows what the bill would."""
    assert sample_tariffs_load().ok
    account, point = a1
    gd = TariffVersion.objects.get(tariff__code="GD-TOU-2P-10KV", effective_from=dt.date(2025, 1, 1))
    copy_version(gd, make_tariff("GD-TEST-LEADING"), effective_from=dt.date(2025, 1, 1), pf_counts_leading=True)
    set_tariff(account, "GD-TOU-2P-10KV")
    assert api(p.manager).get(point_url(point.code), {"month": "2025-03"}).json()["power_factor"] == "0.90"
    set_tariff(account, "GD-TEST-LEADING")
    assert api(p.manager).get(point_url(point.code), {"month": "2025-03"}).json()["power_factor"] == "0.84"
    assert api(p.manager).get(account_url(account.pk), {"month": "2025-03"}).json()["power_factor"] == "0.84"


@pytest.mark.parametrize("month", [None, "", "2025-13", "2025-3", "25-03", "2025-03-01", "0000-01", "٢٠٢٥-٠٣", "x\x00"])
def test_a_missing_or_bad_month_answers_400_naming_it(p, api, a1, month):
    account, point = a1
    params = {} if month is None else {"month": month}
    for url in (point_url(point.code), account_url(account.pk)):
        response = api(p.manager).get(url, params)
        assert response.status_code == 400, url
        body = response.json()
        assert body["detail"] and list(body["errors"]) == ["month"] and body["errors"]["month"]


def test_a_point_or_account_outside_the_view_is_404_whatever_the_month(p, api, a1):
    """The month is checked after the lookup, so a bad month does not tell that a point exists."""
    b1_point = p.b1.accounts.get().metering_points.get()
    assert api(p.manager).get(point_url(b1_point.code), {"month": "bad"}).status_code == 404


@pytest.mark.parametrize("code", ["NOPE", "X" * 33, "%E4%B8%AD"])
def test_unknown_point_codes_answer_404(p, api, a1, code):
    assert api(p.admin).get(point_url(code), {"month": "2025-03"}).status_code == 404


@pytest.mark.parametrize("code", ["%00", "MP%00"])
def test_point_codes_with_a_nul_character_answer_400(p, api, a1, code):
    """No code holds a NUL character; the request is refused before the lookup (gridkam/core/middleware.py)."""
    assert api(p.admin).get(point_url(code), {"month": "2025-03"}).status_code == 400


@pytest.mark.parametrize("pk", ["abc", "-1", "0", "1.5", "99999999999999999999", "9223372036854775807"])
def test_account_ids_that_name_no_account_answer_404(p, api, a1, pk):
    assert api(p.admin).get(account_url(pk), {"month": "2025-03"}).status_code == 404


def test_a_summary_is_a_few_queries(p, api, a1):
    """Rollups, not readings: the cost does not grow with the data behind the month."""
    account, point = a1
    client = api(p.manager)
    with CaptureQueriesContext(connection) as point_queries:
        assert client.get(point_url(point.code), {"month": "2025-03"}).status_code == 200
    with CaptureQueriesContext(connection) as account_queries:
        assert client.get(account_url(account.pk), {"month": "2025-03"}).status_code == 200
    # The lookup through the visibility rule and the rollup; no tariff, so no version query.
    assert len(point_queries) == len(account_queries) == 2


def test_the_schema_documents_both_operations(p, api):
    schema = api(p.admin).get(f"{API}/schema/", {"format": "json"}).json()
    point = schema["paths"]["/api/v1/metering-points/{code}/summary/"]["get"]
    account = schema["paths"]["/api/v1/accounts/{id}/summary/"]["get"]
    assert {(x["name"], x["in"], x["schema"]["type"]) for x in point["parameters"]} == {
        ("code", "path", "string"),
        ("month", "query", "string"),
    }
    assert ("id", "path", "integer") in {(x["name"], x["in"], x["schema"]["type"]) for x in account["parameters"]}
    assert point["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("MeteringPointSummary")


def test_decimals_are_strings_in_the_document(p, api, a1):
    _account, point = a1
    body = api(p.manager).get(point_url(point.code), {"month": "2025-03"}).json()
    assert all(isinstance(body[key], str) for key in ("kwh_total", "kvarh_lag", "max_demand_kw", "power_factor"))
    assert body["kwh_by_period"]["sharp"] == str(Decimal("2012.500"))
