"""Loading the catalogue (all or nothing, idempotent, published versions frozen), publishing, and
monthly quantities."""

from __future__ import annotations

import copy
import datetime
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from gridkam.core.testing import make_account, make_customer
from gridkam.tariffs.choices import UsageSource, VersionStatus
from gridkam.tariffs.models import MonthlyUsage, Tariff, TariffVersion
from gridkam.tariffs.services import (
    monthly_usage_save,
    sample_tariff_files,
    sample_tariffs_load,
    tariff_version_publish,
    tariffs_load,
)

pytestmark = pytest.mark.django_db


def gd_document() -> dict:
    path = next(p for p in sample_tariff_files() if p.name == "GD-TOU-2P-10KV.json")
    return json.loads(path.read_text(encoding="utf-8"))


def test_samples_load_every_file_and_a_reload_changes_nothing():
    first = sample_tariffs_load()
    assert first.ok, first.errors
    codes = set(Tariff.objects.values_list("code", flat=True))
    assert {"GD-TOU-2P-10KV", "JS-TOU-2P-10KV", "SH-TOU-2P-10KV", "GD-1P-10KV"} <= codes
    versions = TariffVersion.objects.count()
    assert versions == len(first.created) and len(first.tariffs_created) == len(codes)
    assert TariffVersion.objects.filter(status=VersionStatus.PUBLISHED, published_at__isnull=False).count() == versions

    again = sample_tariffs_load()
    assert again.ok and again.created == [] and again.updated == []
    assert len(again.unchanged) == versions
    assert TariffVersion.objects.count() == versions


def test_a_published_version_that_differs_is_refused_and_nothing_is_written(samples, settings):
    settings.LANGUAGE_CODE = "en"
    doc = gd_document()
    doc["versions"][0]["energy_prices"]["flat"] = "0.700000"
    doc["name"] = "renamed"
    new_tariff = copy.deepcopy(doc)
    new_tariff["code"] = "GD-NEW-2P"
    report = tariffs_load(documents=[("new.json", new_tariff), ("gd.json", doc)])
    assert not report.ok
    [(where, messages)] = report.errors.items()
    assert where.startswith("gd.json: versions[")
    assert "flat_yuan_per_kwh" in messages[0] and "later date" in messages[0]
    # All or nothing: the other file's new tariff and the rename are rolled back.
    assert not Tariff.objects.filter(code="GD-NEW-2P").exists()
    assert Tariff.objects.get(code="GD-TOU-2P-10KV").name != "renamed"


def test_a_new_version_with_a_later_date_is_added(samples):
    doc = gd_document()
    later = copy.deepcopy(doc["versions"][0])
    later["effective_from"] = "2027-01-01"
    later["energy_prices"]["flat"] = "0.700000"
    doc["versions"].append(later)
    report = tariffs_load(documents=[("gd.json", doc)])
    assert report.ok, report.errors
    assert report.created == ["GD-TOU-2P-10KV@2027-01-01"]
    assert TariffVersion.objects.in_effect(code="GD-TOU-2P-10KV", on=datetime.date(2027, 3, 1)).flat_yuan_per_kwh == (
        Decimal("0.7")
    )


def test_a_draft_version_is_updated_and_published_later(samples):
    doc = gd_document()
    draft = copy.deepcopy(doc["versions"][0])
    draft.update(effective_from="2027-01-01", status="draft")
    doc["versions"] = [draft]
    assert tariffs_load(documents=[("gd.json", doc)]).ok
    version = TariffVersion.objects.get(effective_from="2027-01-01")
    assert version.status == VersionStatus.DRAFT
    # A draft is not used for quotes.
    assert TariffVersion.objects.in_effect(code="GD-TOU-2P-10KV", on=datetime.date(2027, 2, 1)) != version

    draft["energy_prices"]["flat"] = "0.710000"
    report = tariffs_load(documents=[("gd.json", doc)])
    assert report.updated == ["GD-TOU-2P-10KV@2027-01-01"]
    version = tariff_version_publish(version=version)
    assert version.is_published and version.published_at is not None
    assert TariffVersion.objects.in_effect(code="GD-TOU-2P-10KV", on=datetime.date(2027, 2, 1)) == version
    with pytest.raises(ValidationError):
        tariff_version_publish(version=version)


def test_every_problem_of_a_file_is_reported_with_where_it_is(db):
    doc = gd_document()
    version = doc["versions"][0]
    version["energy_prices"]["flat"] = 0.65  # a float
    version["energy_prices"]["midnight"] = "0.1"
    version["capacity_yuan_per_kva_month"] = None
    version["calendar"]["profiles"][0]["ranges"][0]["to"] = 30
    version["colour"] = "red"
    doc["customer_category"] = "household"
    report = tariffs_load(documents=[("gd.json", doc)])
    assert not report.ok
    text = json.dumps(report.errors, ensure_ascii=False)
    assert "customer_category" in text
    assert Tariff.objects.count() == 0 and TariffVersion.objects.count() == 0

    doc = gd_document()
    version = doc["versions"][0]
    version["energy_prices"]["flat"] = 0.65
    version["energy_prices"]["midnight"] = "0.1"
    version["colour"] = "red"
    report = tariffs_load(documents=[("gd.json", doc)])
    keys = " ".join(report.errors)
    assert "gd.json: versions[0]" in keys
    assert "flat_yuan_per_kwh" in keys and "energy_prices" in keys
    assert any("colour" in m for messages in report.errors.values() for m in messages)


def test_a_calendar_error_and_a_missing_price_name_their_fields(db):
    doc = gd_document()
    version = doc["versions"][0]
    version["calendar"]["profiles"][0]["ranges"][0]["to"] = 30
    report = tariffs_load(documents=[("gd.json", doc)])
    assert any(key.endswith(".calendar") for key in report.errors)

    doc = gd_document()
    del doc["versions"][0]["energy_prices"]["valley"]
    del doc["versions"][0]["demand_yuan_per_kw_month"]
    report = tariffs_load(documents=[("gd.json", doc)])
    assert any(key.endswith(".valley_yuan_per_kwh") for key in report.errors)
    assert any(key.endswith(".demand_yuan_per_kw_month") for key in report.errors)


def test_dry_run_writes_nothing(db):
    report = tariffs_load(documents=[("gd.json", gd_document())], dry_run=True)
    assert report.ok and report.created
    assert Tariff.objects.count() == 0


def test_monthly_usage_is_one_row_per_account_and_month(p):
    account = p.a1.accounts.get()
    month = datetime.date(2025, 7, 1)
    first = monthly_usage_save(account=account, month=month, values={"peak_kwh": Decimal("100")}, user=p.clerk)
    second = monthly_usage_save(
        account=account,
        month=month,
        values={"peak_kwh": Decimal("200"), "max_demand_kw": Decimal("50")},
        source=UsageSource.IMPORTED,
    )
    assert first.pk == second.pk and MonthlyUsage.objects.count() == 1
    second.refresh_from_db()
    assert second.peak_kwh == Decimal("200") and second.source == UsageSource.IMPORTED
    assert second.total_kwh == Decimal("200")
    with pytest.raises(ValidationError) as exc:
        monthly_usage_save(account=account, month=datetime.date(2025, 7, 2), values={"peak_kwh": Decimal("-1")})
    assert {"month", "peak_kwh"} <= set(exc.value.message_dict)


def test_an_account_names_a_catalogue_tariff(p, samples):
    account = make_account(customer=make_customer(name="测试", org_unit=p.city_a))
    account.tariff_code = "GD-TOU-2P-10KV"
    account.save()
    account.refresh_from_db()
    assert account.tariff.name and account.tariff_code == "GD-TOU-2P-10KV"
    account.tariff_code = ""
    assert account.tariff_id is None and account.tariff is None
