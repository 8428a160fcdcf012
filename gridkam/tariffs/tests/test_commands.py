"""bill_quote, load_tariffs and load_sample_tariffs: output, exit statuses, field-named errors."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from gridkam.tariffs.models import Tariff
from gridkam.tariffs.services import sample_tariff_files
from gridkam.tariffs.views import QUOTE_EXAMPLE

pytestmark = pytest.mark.django_db

# The calculator's example, in a month of the 2026 version.
QUOTE = {**QUOTE_EXAMPLE, "period": "2026-07"}


def run(*args, stdin: str | None = None, monkeypatch=None) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def quote_file(tmp_path, data) -> str:
    path = tmp_path / "quote.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_bill_quote_json_follows_the_contract(samples, tmp_path):
    out, _ = run("bill_quote", "--input", quote_file(tmp_path, QUOTE), "--json")
    result = json.loads(out)
    assert result["tariff_version"] == "GD-TOU-2P-10KV@2026-02-01"
    assert set(result) >= {
        "tariff_version",
        "prices",
        "energy_charge",
        "basic_charge",
        "power_factor",
        "pf_adjustment_percent",
        "pf_adjustment",
        "government_funds",
        "total",
        "lines",
    }
    assert set(result["prices"]) == {
        "energy",
        "capacity_yuan_per_kva_month",
        "demand_yuan_per_kw_month",
        "funds_yuan_per_kwh",
    }
    assert result["prices"]["demand_yuan_per_kw_month"] == "36.1000"
    # The worked example of DOMAIN.md: 1,050 kW at 36.1 plus 150 kW at double price.
    basic = {line["item"]: line for line in result["lines"] if line["item"].startswith("basic.")}
    assert basic["basic.contract_demand"]["amount"] == "37905.00"
    assert basic["basic.demand_excess"]["amount"] == "10830.00"
    assert result["basic_charge"] == "48735.00"
    # Decimals are strings, and the total is the sum of the lines.
    from decimal import Decimal

    assert all(isinstance(line["amount"], str) for line in result["lines"])
    assert sum(Decimal(line["amount"]) for line in result["lines"]) == Decimal(result["total"])
    assert {"item", "quantity", "unit_price", "amount", "rule"} <= set(result["lines"][0])


def test_bill_quote_prints_a_table_for_people(samples, tmp_path, settings):
    settings.LANGUAGE_CODE = "en"
    out, _ = run("bill_quote", "--input", quote_file(tmp_path, QUOTE))
    assert "GD-TOU-2P-10KV@2026-02-01" in out and "48735.00" in out


@pytest.mark.parametrize(
    "change, field",
    [
        ({"tariff": "NO-SUCH"}, "tariff"),
        ({"period": "2019-07"}, "period"),
        ({"period": "July"}, "period"),
        ({"energy_kwh": {"peak": "-1"}}, "energy_kwh.peak"),
        ({"energy_kwh": {"deep_valley": "10"}}, "energy_kwh.deep_valley"),
        ({"contract_demand_kw": None}, "contract_demand_kw"),
        ({"max_demand_kw": None}, "max_demand_kw"),
        ({"basic_charge_method": None}, "basic_charge_method"),
        ({"pf_standard": "0.70"}, "pf_standard"),
    ],
)
def test_bill_quote_rejects_bad_input_naming_the_field(samples, tmp_path, change, field):
    data = {**QUOTE, **change}
    with pytest.raises(CommandError) as exc:
        run("bill_quote", "--input", quote_file(tmp_path, data), "--json")
    assert exc.value.returncode == 1
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("bill_quote", "--input", quote_file(tmp_path, data), "--json", stdout=out)
    assert field in json.loads(out.getvalue())["errors"]


def test_bill_quote_without_a_readable_file_is_a_usage_error(tmp_path):
    with pytest.raises(CommandError) as exc:
        run("bill_quote", "--input", str(tmp_path / "missing.json"))
    assert exc.value.returncode == 2
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError) as exc:
        run("bill_quote", "--input", str(tmp_path / "bad.json"))
    assert exc.value.returncode == 1


def test_load_tariffs_is_all_or_nothing_with_exit_status(tmp_path):
    good = next(p for p in sample_tariff_files() if p.name == "GD-TOU-2P-10KV.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"code": "X"}', encoding="utf-8")
    with pytest.raises(CommandError) as exc:
        run("load_tariffs", str(good), str(bad))
    assert exc.value.returncode == 1
    assert not Tariff.objects.exists()
    with pytest.raises(CommandError) as exc:
        run("load_tariffs", str(tmp_path / "missing.json"))
    assert exc.value.returncode == 2
    out, _ = run("load_tariffs", str(good), "--dry-run", "--json")
    assert json.loads(out)["ok"] and not Tariff.objects.exists()
    out, _ = run("load_tariffs", str(good), "--json")
    assert json.loads(out)["tariffs_created"] == ["GD-TOU-2P-10KV"]


def test_load_sample_tariffs_twice_creates_once():
    first = json.loads(run("load_sample_tariffs", "--json")[0])
    second = json.loads(run("load_sample_tariffs", "--json")[0])
    assert first["created"] and not second["created"]
    assert sorted(second["unchanged"]) == sorted(first["created"])
