"""The tariffs API: catalogue, quote, monthly quantities and advice, with every persona."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.core.testing import make_account, make_customer, persona
from gridkam.tariffs.models import MonthlyUsage

from .test_commands import QUOTE

pytestmark = pytest.mark.django_db
API = "/api/v1"
EVERYONE = ["manager", "colleague", "engineer", "clerk", "supervisor", "outsider", "customer_user", "admin"]


@pytest.mark.parametrize("who", EVERYONE)
def test_every_signed_in_user_reads_the_catalogue_and_quotes(p, api, samples, who):
    client = api(persona(p, who))
    listing = client.get(f"{API}/tariffs/")
    assert listing.status_code == 200
    codes = [t["code"] for t in listing.json()["results"]]
    assert "GD-TOU-2P-10KV" in codes
    one = client.get(f"{API}/tariffs/GD-TOU-2P-10KV/")
    assert one.status_code == 200 and one.json()["versions"][0]["effective_from"] == "2026-02-01"
    version = client.get(f"{API}/tariffs/GD-TOU-2P-10KV/versions/2026-02-01/").json()
    assert len(version["month_hour_grid"]) == 12 and version["month_hour_grid"][7][11] == "sharp"
    assert client.post(f"{API}/billing/quote/", QUOTE, format="json").status_code == 200


def test_anonymous_gets_nothing(p, api, samples):
    client = api(None)
    for url in (f"{API}/tariffs/", f"{API}/monthly-usage/", f"{API}/accounts/{p.a1.accounts.get().pk}/advice/"):
        assert client.get(url).status_code in (401, 403)
    assert client.post(f"{API}/billing/quote/", QUOTE, format="json").status_code in (401, 403)


def test_unknown_tariff_and_version_answer_404(p, api, samples):
    client = api(p.manager)
    assert client.get(f"{API}/tariffs/NOPE/").status_code == 404
    assert client.get(f"{API}/tariffs/GD-TOU-2P-10KV/versions/2001-01-01/").status_code == 404
    assert client.get(f"{API}/tariffs/GD-TOU-2P-10KV/versions/not-a-date/").status_code == 404


def test_quote_errors_are_field_errors(p, api, samples):
    response = api(p.manager).post(
        f"{API}/billing/quote/",
        {**QUOTE, "energy_kwh": {"peak": "-5", "midnight": "1"}, "max_demand_kw": None},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"energy_kwh.peak", "energy_kwh.midnight"} <= set(errors)
    assert all(isinstance(messages, list) for messages in errors.values())
    response = api(p.manager).post(f"{API}/billing/quote/", {**QUOTE, "max_demand_kw": None}, format="json")
    assert response.status_code == 400 and "max_demand_kw" in response.json()["errors"]


def test_quote_with_two_feeders_sums_their_demand(p, api, samples):
    data = {
        **QUOTE,
        "basic_charge_method": "actual_demand",
        "feeders": [{"max_demand_kw": "700"}, {"max_demand_kw": "500"}],
    }
    data.pop("max_demand_kw")
    result = api(p.manager).post(f"{API}/billing/quote/", data, format="json").json()
    assert result["basic_charge"] == "43320.00"  # (700 + 500) kW × 36.1


def test_quote_prorates_a_suspension_by_days(p, api, samples):
    data = {
        **QUOTE,
        "period": "2026-04",
        "basic_charge_method": "capacity",
        "suspensions": [{"kva": "600", "start": "2026-04-11", "end": "2026-04-30"}],
    }
    result = api(p.manager).post(f"{API}/billing/quote/", data, format="json").json()
    # 2,000 kVA × 22.6 less 600 kVA × 22.6 × 20/30 days.
    assert result["basic_charge"] == "36160.00"


@pytest.mark.parametrize(
    "who, visible",
    [
        ("manager", True),
        ("colleague", True),
        ("engineer", True),
        ("clerk", True),
        ("supervisor", True),
        ("outsider", False),
        ("customer_user", True),
        ("admin", True),
    ],
)
def test_monthly_usage_is_seen_like_its_account(p, api, usage_year, who, visible):
    account = p.a1.accounts.get()
    rows = usage_year(account)
    response = api(persona(p, who)).get(f"{API}/monthly-usage/", {"account": account.pk})
    assert response.status_code == 200
    assert response.json()["count"] == (12 if visible else 0)
    detail = api(persona(p, who)).get(f"{API}/monthly-usage/{rows[0].pk}/")
    assert detail.status_code == (200 if visible else 404)


@pytest.mark.parametrize(
    "who, status",
    [
        ("manager", 201),
        ("colleague", 400),  # sees A1 read-only through the team
        ("engineer", 201),
        ("clerk", 201),
        ("supervisor", 201),
        ("outsider", 400),
        ("customer_user", 400),
        ("admin", 201),
    ],
)
def test_monthly_usage_is_written_by_who_may_change_the_account(p, api, who, status):
    account = p.a1.accounts.get()
    data = {"account": account.pk, "month": "2025-07", "peak_kwh": "1000", "max_demand_kw": "80"}
    response = api(persona(p, who)).post(f"{API}/monthly-usage/", data, format="json")
    assert response.status_code == status, response.json()
    if status == 201:
        assert response.json()["month"] == "2025-07"
        again = api(persona(p, who)).post(f"{API}/monthly-usage/", {**data, "peak_kwh": "2000"}, format="json")
        assert again.status_code == 200 and again.json()["peak_kwh"] == "2000.00"
        assert MonthlyUsage.objects.count() == 1
    else:
        assert "account" in response.json()["errors"]


def test_monthly_usage_rejects_bad_values_per_field(p, api):
    account = p.a1.accounts.get()
    response = api(p.manager).post(
        f"{API}/monthly-usage/",
        {"account": account.pk, "month": "2025-13", "peak_kwh": "-1"},
        format="json",
    )
    assert response.status_code == 400
    assert {"month", "peak_kwh"} <= set(response.json()["errors"])


def test_monthly_usage_delete_needs_write_access(p, api, usage_year):
    rows = usage_year(p.a1.accounts.get())
    assert api(p.customer_user).delete(f"{API}/monthly-usage/{rows[0].pk}/").status_code == 403
    assert api(p.outsider).delete(f"{API}/monthly-usage/{rows[0].pk}/").status_code == 404
    assert api(p.manager).delete(f"{API}/monthly-usage/{rows[0].pk}/").status_code == 204


@pytest.mark.parametrize(
    "who, status",
    [
        ("manager", 200),
        ("colleague", 200),
        ("clerk", 200),
        ("supervisor", 200),
        ("outsider", 404),
        ("customer_user", 200),
        ("admin", 200),
    ],
)
def test_advice_for_an_account_the_user_sees(p, api, samples, usage_year, who, status):
    account = p.a1.accounts.get()
    account.tariff_code = "GD-TOU-2P-10KV"
    account.save()
    usage_year(account)
    response = api(persona(p, who)).get(f"{API}/accounts/{account.pk}/advice/")
    assert response.status_code == status
    if status == 200:
        body = response.json()
        assert body["tariff_version"].startswith("GD-TOU-2P-10KV@")
        assert len(body["baseline"]["bills"]) == 12
        savings = [float(r["saving_yuan_per_year"]) for r in body["recommendations"]]
        assert savings == sorted(savings, reverse=True)


def test_a_customer_user_never_gets_another_customers_advice(p, api, samples, usage_year):
    account = p.b1.accounts.get()
    account.tariff_code = "GD-TOU-2P-10KV"
    account.save()
    usage_year(account)
    assert api(p.customer_user).get(f"{API}/accounts/{account.pk}/advice/").status_code == 404
    assert api(p.customer_user).get(f"{API}/accounts/abc/advice/").status_code == 404


def test_advice_explains_what_is_missing(p, api, samples, usage_year):
    account = p.a1.accounts.get()
    response = api(p.manager).get(f"{API}/accounts/{account.pk}/advice/")
    assert response.status_code == 400 and "account" in response.json()["errors"]
    account.tariff_code = "GD-TOU-2P-10KV"
    account.save()
    response = api(p.manager).get(f"{API}/accounts/{account.pk}/advice/")
    assert "12" in response.json()["errors"]["account"][0]
    usage_year(account)
    response = api(p.manager).get(f"{API}/accounts/{account.pk}/advice/", {"target_power_factor": "2"})
    assert response.status_code == 400 and "target_power_factor" in response.json()["errors"]


def count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_lists_do_not_grow_queries_with_rows(p, api, samples, usage_year):
    client = api(p.supervisor)
    accounts = [make_account(customer=make_customer(name=f"测试{i}", org_unit=p.city_a)) for i in range(2)]
    for account in accounts:
        usage_year(account)
    few_usage = count(client, f"{API}/monthly-usage/?page_size=500")
    few_tariffs = count(client, f"{API}/tariffs/")
    for i in range(2, 12):
        usage_year(make_account(customer=make_customer(name=f"测试{i}", org_unit=p.city_a)))
    assert count(client, f"{API}/monthly-usage/?page_size=500") == few_usage
    assert count(client, f"{API}/tariffs/") == few_tariffs
