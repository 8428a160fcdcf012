"""Pages of the tariffs app: catalogue, version heat map, calculator, monthly quantities and advice."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from gridkam.core.testing import make_tariff, persona
from gridkam.tariffs.models import MonthlyUsage
from gridkam.tariffs.views import QUOTE_EXAMPLE

from .test_commands import QUOTE

pytestmark = pytest.mark.django_db
EVERYONE = ["manager", "colleague", "engineer", "clerk", "supervisor", "outsider", "customer_user", "admin"]


def form_data(values: dict) -> dict:
    data = {}
    for key, value in values.items():
        if isinstance(value, dict):
            data.update({f"{key}.{sub}": v for sub, v in value.items()})
        elif value is not None:
            data[key] = value
    return data


@pytest.mark.parametrize("who", EVERYONE)
def test_catalogue_pages_open_to_every_signed_in_user(p, client_for, samples, who):
    client = client_for(persona(p, who))
    page = client.get("/tariffs/")
    assert page.status_code == 200 and "GD-TOU-2P-10KV" in page.content.decode()
    assert client.get("/tariffs/GD-TOU-2P-10KV/").status_code == 200
    version = client.get("/tariffs/GD-TOU-2P-10KV/2026-02-01/")
    assert version.status_code == 200
    heatmap = json.loads(version.context["heatmap"] and json.dumps(version.context["heatmap"]))
    assert len(heatmap["cells"]) == 12 * 24
    assert client.get("/tariffs/quote/").status_code == 200


def test_anonymous_is_sent_to_log_in(client, samples):
    for url in ("/tariffs/", "/tariffs/GD-TOU-2P-10KV/", "/tariffs/GD-TOU-2P-10KV/2026-02-01/", "/tariffs/quote/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_unknown_tariff_or_version_is_404(p, client_for, samples):
    client = client_for(p.manager)
    assert client.get("/tariffs/NOPE/").status_code == 404
    assert client.get("/tariffs/GD-TOU-2P-10KV/2001-01-01/").status_code == 404
    assert client.get("/tariffs/GD-TOU-2P-10KV/garbage/").status_code == 404


def test_the_heat_map_draws_the_guangdong_calendar(p, client_for, samples):
    context = client_for(p.manager).get("/tariffs/GD-TOU-2P-10KV/2026-02-01/").context
    heatmap = context["heatmap"]
    labels = [period["label"] for period in heatmap["periods"]]
    cell = {(hour, month): labels[index] for hour, month, index in heatmap["cells"]}
    assert cell[(11, 7)] == "尖峰"  # August 11:00
    assert cell[(11, 2)] == "高峰"  # March 11:00
    assert cell[(3, 0)] == "低谷"
    # The previous version is shown beside the prices.
    assert context["previous"].effective_from.isoformat() == "2025-01-01"


def test_catalogue_filters_sort_and_export(p, client_for, samples):
    client = client_for(p.supervisor)
    page = client.get("/tariffs/", {"structure": "single_part"})
    assert [t.code for t in page.context["object_list"]] == ["GD-1P-10KV"]
    page = client.get("/tariffs/", {"sort": "-code"})
    codes = [t.code for t in page.context["object_list"]]
    assert codes == sorted(codes, reverse=True)
    partial = client.get("/tariffs/", {"q": "SH"}, headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode() and "SH-TOU-2P-10KV" in partial.content.decode()
    export = client.get("/tariffs/", {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet.cell(1, 1).value == "编码" and sheet.max_row == 1 + len(codes)


def test_catalogue_list_queries_do_not_grow(p, client_for, samples):
    client = client_for(p.supervisor)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/tariffs/").status_code == 200
        return len(queries)

    few = count()
    for i in range(15):
        make_tariff(f"EXTRA-{i:02d}")
    assert count() == few


def test_quote_page_prices_a_month_and_shows_field_errors(p, client_for, samples):
    client = client_for(p.customer_user)
    page = client.post("/tariffs/quote/", form_data(QUOTE))
    assert page.status_code == 200
    assert page.context["result"]["total"] == "533872.72" or page.context["result"]["basic_charge"] == "48735.00"
    missing = client.post("/tariffs/quote/", form_data({**QUOTE, "max_demand_kw": None}))
    assert set(missing.context["errors"]) == {"max_demand_kw"}
    bad = client.post("/tariffs/quote/", form_data({**QUOTE, "energy_kwh": {"peak": "x", "flat": "-1"}}))
    assert bad.status_code == 200 and bad.context["result"] is None
    assert {"energy_kwh.flat", "energy_kwh.peak"} <= set(bad.context["errors"])
    fields = {f["name"]: f for group in bad.context["groups"] for f in group["fields"]}
    assert fields["energy_kwh.peak"]["errors"] and fields["energy_kwh.peak"]["value"] == "x"
    partial = client.post("/tariffs/quote/", form_data(QUOTE), headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode() and "quote-result" in partial.content.decode()


def test_quote_page_starts_from_an_account_the_user_sees(p, client_for, samples, usage_year):
    account = p.a1.accounts.get()
    account.tariff_code = "GD-TOU-2P-10KV"
    account.save()
    usage_year(account)
    values = client_for(p.manager).get("/tariffs/quote/", {"account": account.pk}).context["values"]
    assert values["period"] == "2025-12" and values["energy_kwh.peak"] == "180000.00"
    hidden = client_for(p.outsider).get("/tariffs/quote/", {"account": account.pk}).context["values"]
    assert hidden["period"] == QUOTE_EXAMPLE["period"] and hidden["capacity_kva"] == QUOTE_EXAMPLE["capacity_kva"]


@pytest.mark.parametrize(
    "who, status, editable",
    [
        ("manager", 200, True),
        ("colleague", 200, False),
        ("engineer", 200, True),
        ("clerk", 200, True),
        ("supervisor", 200, True),
        ("outsider", 404, False),
        ("customer_user", 200, False),
        ("admin", 200, True),
    ],
)
def test_usage_page_access(p, client_for, who, status, editable):
    account = p.a1.accounts.get()
    response = client_for(persona(p, who)).get(f"/customers/accounts/{account.pk}/usage/")
    assert response.status_code == status
    if status == 200:
        assert response.context["editable"] is editable
        assert (response.context["formset"] is not None) is editable
    post = client_for(persona(p, who)).post(f"/customers/accounts/{account.pk}/usage/", {})
    # An editor's empty post re-renders the grid with its error; others may not post at all.
    assert post.status_code == (404 if status == 404 else 200 if editable else 403)


def grid_post(formset, changes: dict[int, dict]) -> dict:
    data = {
        "usage-TOTAL_FORMS": str(formset.total_form_count()),
        "usage-INITIAL_FORMS": str(formset.initial_form_count()),
    }
    for i, form in enumerate(formset):
        data[f"usage-{i}-month"] = form.initial["month"].isoformat()
        for name, value in changes.get(i, {}).items():
            data[f"usage-{i}-{name}"] = value
    return data


def test_usage_grid_saves_filled_rows_only(p, client_for):
    account = p.a1.accounts.get()
    client = client_for(p.clerk)
    formset = client.get(f"/customers/accounts/{account.pk}/usage/", {"end": "2025-12"}).context["formset"]
    assert [f.initial["month"].isoformat() for f in formset][-1] == "2025-12-01"
    data = grid_post(formset, {11: {"peak_kwh": "1000", "max_demand_kw": "80"}, 10: {"flat_kwh": "5"}})
    response = client.post(f"/customers/accounts/{account.pk}/usage/?end=2025-12", data)
    assert response.status_code == 302
    assert MonthlyUsage.objects.filter(account=account).count() == 2
    bad = grid_post(formset, {11: {"peak_kwh": "-1"}})
    response = client.post(f"/customers/accounts/{account.pk}/usage/?end=2025-12", bad)
    assert response.status_code == 200
    assert response.context["formset"][11].errors["peak_kwh"]
    assert MonthlyUsage.objects.get(account=account, month="2025-12-01").peak_kwh == 1000


@pytest.mark.parametrize("who, status", [("manager", 200), ("customer_user", 200), ("outsider", 404), ("clerk", 200)])
def test_advice_page_access_and_export(p, client_for, samples, usage_year, who, status):
    account = p.a1.accounts.get()
    account.tariff_code = "GD-TOU-2P-10KV"
    account.save()
    usage_year(account, max_demand_kw="700")
    client = client_for(persona(p, who))
    response = client.get(f"/customers/accounts/{account.pk}/advice/")
    assert response.status_code == status
    if status != 200:
        return
    result = response.context["result"]
    assert result is not None and len(result.advice.baseline.bills) == 12
    export = client.get(f"/customers/accounts/{account.pk}/advice/", {"export": "xlsx"})
    workbook = load_workbook(io.BytesIO(export.content))
    assert len(workbook.sheetnames) == 2 + len(result.advice.recommendations)


def test_advice_page_says_what_is_missing(p, client_for, samples):
    account = p.a1.accounts.get()
    response = client_for(p.manager).get(f"/customers/accounts/{account.pk}/advice/")
    assert response.context["error"] and response.context["result"] is None
    account.tariff_code = "GD-TOU-2P-10KV"
    account.save()
    response = client_for(p.manager).get(f"/customers/accounts/{account.pk}/advice/", {"shift_percent": "500"})
    assert response.context["form"].errors["shift_percent"]


def test_the_360_page_links_usage_and_advice(p, client_for):
    account = p.a1.accounts.get()
    page = client_for(p.customer_user).get(f"/customers/{p.a1.pk}/").content.decode()
    assert f"/customers/accounts/{account.pk}/usage/" in page
    assert f"/customers/accounts/{account.pk}/advice/" in page


def test_usage_and_advice_pages_do_not_grow_queries_with_months(p, client_for, samples, usage_year):
    account = p.a1.accounts.get()
    account.tariff_code = "GD-TOU-2P-10KV"
    account.save()
    client = client_for(p.manager)

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    usage_year(account, end=datetime.date(2024, 12, 1))
    usage_page = count(f"/customers/accounts/{account.pk}/usage/")
    advice_page = count(f"/customers/accounts/{account.pk}/advice/")
    usage_year(account)
    assert count(f"/customers/accounts/{account.pk}/usage/") == usage_page
    assert count(f"/customers/accounts/{account.pk}/advice/") == advice_page


def test_admin_keeps_published_versions_read_only(p, client_for, samples):
    from gridkam.tariffs.models import TariffVersion

    client = client_for(p.admin)
    version = TariffVersion.objects.filter(tariff__code="GD-TOU-2P-10KV").first()
    assert client.get("/admin/tariffs/tariffversion/").status_code == 200
    page = client.get(f"/admin/tariffs/tariffversion/{version.pk}/change/")
    assert page.status_code == 200 and not page.context["has_change_permission"]
    assert client.post(f"/admin/tariffs/tariffversion/{version.pk}/delete/", {"post": "yes"}).status_code == 403
    assert TariffVersion.objects.filter(pk=version.pk).exists()
    assert client_for(p.supervisor).get("/admin/tariffs/tariffversion/").status_code == 302


def test_admin_publishes_a_checked_draft(p, client_for, samples):
    from gridkam.tariffs.models import TariffVersion

    published = TariffVersion.objects.get(tariff__code="GD-1P-10KV")
    draft = TariffVersion.objects.create(
        tariff=published.tariff,
        effective_from=datetime.date(2027, 1, 1),
        flat_yuan_per_kwh=published.flat_yuan_per_kwh,
        calendar=published.calendar,
    )
    broken = TariffVersion.objects.create(
        tariff=published.tariff, effective_from=datetime.date(2028, 1, 1), calendar={"profiles": []}
    )
    client = client_for(p.admin)
    response = client.post(
        "/admin/tariffs/tariffversion/",
        {"action": "publish", "_selected_action": [draft.pk, broken.pk]},
        follow=True,
    )
    assert response.status_code == 200
    draft.refresh_from_db()
    broken.refresh_from_db()
    assert draft.is_published and not broken.is_published
