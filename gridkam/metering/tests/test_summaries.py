"""Monthly load summaries (``gridkam.metering.summaries``) and ``manage.py load_summary``.

The rollups are written here directly, as the loader would leave them, so that these tests pin the
summary's arithmetic and contract (keys, strings, nulls, exit statuses) independently of the import.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.utils import translation

from gridkam.core.testing import make_tariff
from gridkam.metering.models import AccountMonthlyRollup, PointMonthlyRollup
from gridkam.metering.summaries import account_month_summary, month_intervals, month_parse, point_month_summary
from gridkam.tariffs.models import TariffVersion

KEYS = [
    "metering_point",
    "month",
    "intervals",
    "missing_intervals",
    "kwh_total",
    "kwh_by_period",
    "kvarh_lag",
    "kvarh_lead",
    "max_demand_kw",
    "max_demand_at",
    "power_factor",
    "load_factor",
]
MARCH = dt.date(2025, 3, 1)
# 10:15 local on 12 March.
PEAK_AT = dt.datetime(2025, 3, 12, 2, 15, tzinfo=dt.UTC)

# A March of 2900 quarter-hours (76 missing) whose load factor is exactly 0.745:
# 54012.5 kWh / (2900 × 0.25 h) = 74.5 kW average against a 100 kW maximum.
MONTH_FIGURES = {
    "sharp_kwh": Decimal("2012.5"),
    "peak_kwh": Decimal("20000"),
    "flat_kwh": Decimal("20000"),
    "valley_kwh": Decimal("12000"),
    "kwh_total": Decimal("54012.5"),
    "kvarh_lag": Decimal("26000"),
    "kvarh_lead": Decimal("9000"),
    "max_demand_kw": Decimal("100"),
    "max_demand_at": PEAK_AT,
    "intervals": 2900,
    "expected_intervals": 2976,
}


def a1_point(p):
    return p.a1.accounts.get().metering_points.get()


def point_rollup(point, month=MARCH, **changes):
    return PointMonthlyRollup.objects.create(metering_point=point, month=month, **{**MONTH_FIGURES, **changes})


def set_tariff(account, code: str | None) -> None:
    account.tariff_code = code
    account.save()


VERSION_FIELDS = [
    "sharp_yuan_per_kwh",
    "peak_yuan_per_kwh",
    "flat_yuan_per_kwh",
    "valley_yuan_per_kwh",
    "deep_valley_yuan_per_kwh",
    "capacity_yuan_per_kva_month",
    "demand_yuan_per_kw_month",
    "calendar",
]


def copy_version(source: TariffVersion, tariff, *, effective_from: dt.date, pf_counts_leading: bool) -> TariffVersion:
    """A published version with the prices and calendar of ``source`` and its own power-factor rule."""
    return TariffVersion.objects.create(
        tariff=tariff,
        effective_from=effective_from,
        status="published",
        pf_counts_leading=pf_counts_leading,
        **{name: getattr(source, name) for name in VERSION_FIELDS},
    )


@pytest.fixture
def samples(db):
    from gridkam.tariffs.services import sample_tariffs_load

    report = sample_tariffs_load()
    assert report.ok, report.errors


@pytest.fixture
def leading_from_2026(samples):
    """A tariff counting lagging kvarh only in its 2025 version and leading kvarh too from February 2026."""
    gd = TariffVersion.objects.get(tariff__code="GD-TOU-2P-10KV", effective_from=dt.date(2025, 1, 1))
    tariff = make_tariff("GD-TEST-LEADING")
    copy_version(gd, tariff, effective_from=dt.date(2025, 1, 1), pf_counts_leading=False)
    copy_version(gd, tariff, effective_from=dt.date(2026, 2, 1), pf_counts_leading=True)
    return tariff


# --- the month -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, month", [("2025-03", MARCH), ("2024-02", dt.date(2024, 2, 1)), (" 2025-12 ", dt.date(2025, 12, 1))]
)
def test_a_month_is_written_year_dash_month(text, month):
    assert month_parse(text) == month


@pytest.mark.parametrize("text", ["", "2025-3", "2025-13", "2025-00", "0000-01", "2025-03-01", "03/2025", "٢٠٢٥-٠٣"])
def test_anything_else_is_not_a_month(text):
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_parse(text)


def test_a_month_has_96_intervals_a_day():
    assert month_intervals(MARCH) == 31 * 96
    assert month_intervals(dt.date(2024, 2, 1)) == 29 * 96
    assert month_intervals(dt.date(2025, 2, 1)) == 28 * 96


# --- the figures -----------------------------------------------------------------------------------


def test_point_summary_shows_the_months_rollup(p, samples):
    point = a1_point(p)
    set_tariff(point.account, "GD-TOU-2P-10KV")
    point_rollup(point)
    summary = point_month_summary(point, MARCH)
    assert list(summary) == KEYS
    assert summary == {
        "metering_point": point.code,
        "month": "2025-03",
        "intervals": 2900,
        "missing_intervals": 76,
        "kwh_total": "54012.500",
        "kwh_by_period": {"sharp": "2012.500", "peak": "20000.000", "flat": "20000.000", "valley": "12000.000"},
        "kvarh_lag": "26000.000",
        "kvarh_lead": "9000.000",
        "max_demand_kw": "100.000",
        "max_demand_at": "2025-03-12T10:15:00+08:00",
        # 54012.5 / √(54012.5² + 26000²) = 0.9010…: lagging only under this tariff.
        "power_factor": "0.90",
        # Exactly 0.745, rounded half-up (not to the even 0.74).
        "load_factor": "0.75",
    }


def test_other_months_and_points_do_not_leak_in(p, samples):
    point = a1_point(p)
    point_rollup(point, month=dt.date(2025, 2, 1), kwh_total=Decimal("1"))
    point_rollup(p.b1.accounts.get().metering_points.get(), kwh_total=Decimal("2"))
    point_rollup(point)
    assert point_month_summary(point, MARCH)["kwh_total"] == "54012.500"


def test_power_factor_counts_leading_kvarh_where_the_tariff_of_that_month_does(p, leading_from_2026):
    point = a1_point(p)
    set_tariff(point.account, "GD-TEST-LEADING")
    point_rollup(point)
    point_rollup(point, month=dt.date(2026, 3, 1), max_demand_at=PEAK_AT.replace(year=2026))
    # 2025: lagging only. 2026: 54012.5 / √(54012.5² + (26000 + 9000)²) = 0.8392….
    assert point_month_summary(point, MARCH)["power_factor"] == "0.90"
    assert point_month_summary(point, dt.date(2026, 3, 1))["power_factor"] == "0.84"


def test_power_factor_is_the_bill_engines(p, leading_from_2026):
    """The summary and a quoted bill of the same month agree on cos φ."""
    from gridkam.tariffs.engine import BillInput, compute_bill

    point = a1_point(p)
    set_tariff(point.account, "GD-TEST-LEADING")
    rollup = point_rollup(point, month=dt.date(2026, 3, 1), max_demand_at=PEAK_AT.replace(year=2026))
    version = TariffVersion.objects.get(tariff__code="GD-TEST-LEADING", effective_from=dt.date(2026, 2, 1))
    bill = compute_bill(
        BillInput(
            year=2026,
            month=3,
            energy_kwh={
                "sharp": rollup.sharp_kwh,
                "peak": rollup.peak_kwh,
                "flat": rollup.flat_kwh,
                "valley": rollup.valley_kwh,
            },
            lagging_kvarh=rollup.kvarh_lag,
            leading_kvarh=rollup.kvarh_lead,
            capacity_kva=Decimal("2000"),
            basic_charge_method="capacity",
            pf_standard="0.90",
        ),
        version.prices(),
        version.rules(),
    )
    assert point_month_summary(point, dt.date(2026, 3, 1))["power_factor"] == str(bill.power_factor) == "0.84"


def test_without_a_tariff_the_power_factor_counts_lagging_kvarh(p):
    point = a1_point(p)
    point_rollup(point)
    assert point_month_summary(point, MARCH)["power_factor"] == "0.90"


def test_deep_valley_is_shown_where_the_tariff_prices_it(p, samples):
    point = a1_point(p)
    point_rollup(point)
    set_tariff(point.account, "SH-TOU-2P-10KV")  # deep valley on holiday nights since May 2024
    assert point_month_summary(point, MARCH)["kwh_by_period"]["deep_valley"] == "0.000"
    set_tariff(point.account, "GD-TOU-2P-10KV")
    assert "deep_valley" not in point_month_summary(point, MARCH)["kwh_by_period"]


def test_energy_booked_to_deep_valley_is_never_hidden(p):
    point = a1_point(p)
    point_rollup(point, valley_kwh=Decimal("11000"), deep_valley_kwh=Decimal("1000"))
    assert point_month_summary(point, MARCH)["kwh_by_period"]["deep_valley"] == "1000.000"


def test_a_month_without_readings_is_all_missing(p, samples):
    point = a1_point(p)
    set_tariff(point.account, "SH-TOU-2P-10KV")
    summary = point_month_summary(point, dt.date(2024, 2, 1))
    assert summary == {
        "metering_point": point.code,
        "month": "2024-02",
        "intervals": 0,
        "missing_intervals": 29 * 96,
        "kwh_total": "0.000",
        "kwh_by_period": {"sharp": "0.000", "peak": "0.000", "flat": "0.000", "valley": "0.000"},
        "kvarh_lag": "0.000",
        "kvarh_lead": "0.000",
        "max_demand_kw": None,
        "max_demand_at": None,
        "power_factor": None,
        "load_factor": None,
    }


def test_readings_of_zero_give_no_power_or_load_factor(p):
    """A plant standing still: the intervals are there, but cos φ and a ratio to a 0 kW maximum are not."""
    point = a1_point(p)
    zeros = {
        name: Decimal("0")
        for name in MONTH_FIGURES
        if name.startswith(("sharp", "peak", "flat", "valley", "kwh", "kvarh"))
    }
    point_rollup(point, **zeros, max_demand_kw=Decimal("0"), intervals=2976)
    summary = point_month_summary(point, MARCH)
    assert summary["missing_intervals"] == 0
    assert summary["max_demand_kw"] == "0.000" and summary["max_demand_at"] == "2025-03-12T10:15:00+08:00"
    assert summary["power_factor"] is None and summary["load_factor"] is None


def test_load_factor_uses_the_intervals_present(p):
    """Missing data does not dilute the average: 2 intervals of 25 kWh with a 100 kW maximum is 1.00."""
    point = a1_point(p)
    point_rollup(point, kwh_total=Decimal("50"), intervals=2, max_demand_kw=Decimal("100"))
    summary = point_month_summary(point, MARCH)
    assert summary["load_factor"] == "1.00" and summary["missing_intervals"] == 2974


def test_account_summary_is_the_accounts_rollup(p, samples):
    account = p.a1.accounts.get()
    set_tariff(account, "GD-TOU-2P-10KV")
    point_rollup(account.metering_points.get(), max_demand_kw=Decimal("999"))
    AccountMonthlyRollup.objects.create(account=account, month=MARCH, **MONTH_FIGURES)
    summary = account_month_summary(account, MARCH)
    assert list(summary) == ["account", *KEYS[1:]]
    assert summary["account"] == account.account_no
    assert summary["max_demand_kw"] == "100.000" and summary["load_factor"] == "0.75"
    assert summary["power_factor"] == "0.90" and summary["missing_intervals"] == 76


# --- the command -----------------------------------------------------------------------------------


def run(*args: str) -> tuple[str, int, str]:
    """stdout, exit status and error message of one ``load_summary`` run."""
    out = io.StringIO()
    try:
        with translation.override("en"):
            call_command("load_summary", *args, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return out.getvalue(), exc.returncode, str(exc)
    return out.getvalue(), 0, ""


def test_command_prints_the_summary_as_json(p, samples):
    point = a1_point(p)
    set_tariff(point.account, "GD-TOU-2P-10KV")
    point_rollup(point)
    out, status, _ = run("--metering-point", point.code, "--month", "2025-03", "--json")
    assert status == 0
    assert json.loads(out) == point_month_summary(point, MARCH)
    assert list(json.loads(out)) == KEYS


def test_command_prints_an_accounts_summary(p):
    account = p.a1.accounts.get()
    AccountMonthlyRollup.objects.create(account=account, month=MARCH, **MONTH_FIGURES)
    out, status, _ = run("--account", account.account_no, "--month", "2025-03", "--json")
    assert status == 0 and json.loads(out) == account_month_summary(account, MARCH)


def test_command_shows_a_short_table(p):
    point = a1_point(p)
    point_rollup(point)
    out, status, _ = run("--metering-point", point.code, "--month", "2025-03")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == f"Metering point {point.code}, 2025-03"
    assert any(line.startswith("Intervals") and line.endswith("2900 of 2976") for line in lines)
    assert any(
        line.startswith("Maximum demand (kW)") and line.endswith("100.000 at 2025-03-12 10:15") for line in lines
    )
    assert any(line.startswith("Load factor") and line.endswith("0.75") for line in lines)


def test_command_table_of_an_empty_month_shows_dashes(p):
    account = p.a1.accounts.get()
    out, status, _ = run("--account", account.account_no, "--month", "2025-03")
    assert status == 0
    assert any(line.startswith("Power factor") and line.endswith("—") for line in out.splitlines())


@pytest.mark.parametrize(
    "args, status, option",
    [
        (["--metering-point", "NOPE", "--month", "2025-03"], 1, "--metering-point"),
        (["--account", "NOPE", "--month", "2025-03"], 1, "--account"),
        (["--metering-point", "{point}", "--month", "2025-13"], 1, "--month"),
        (["--account", "{account}", "--month", "March"], 1, "--month"),
        (["--month", "2025-03"], 2, "--metering-point"),
        (["--metering-point", "{point}", "--account", "{account}", "--month", "2025-03"], 2, "--account"),
        (["--metering-point", "{point}"], 2, "--month"),
    ],
)
def test_command_exit_status_names_the_option(p, args, status, option):
    account = p.a1.accounts.get()
    values = {"point": account.metering_points.get().code, "account": account.account_no}
    out, code, message = run(*(arg.format(**values) for arg in args))
    assert (code, out) == (status, "")
    assert option in message


def test_manage_py_exits_with_the_contract_statuses():
    """The statuses a shell sees, through the code path of ``manage.py``. None of these cases reaches the
    database (the month is checked before any lookup), which ``manage.py`` closes when it is done."""
    cases = [
        (["load_summary", "--month", "2025-03"], 2),
        (["load_summary", "--metering-point", "MP1", "--account", "0800000001", "--month", "2025-03"], 2),
        (["load_summary", "--metering-point", "MP1"], 2),
        (["load_summary", "--metering-point", "MP1", "--month", "2025-13"], 1),
        (["load_summary", "--account", "0800000001", "--month", "2025-3", "--json"], 1),
    ]
    for argv, status in cases:
        with pytest.raises(SystemExit) as exit_info:
            execute_from_command_line(["manage.py", *argv])
        assert exit_info.value.code == status, argv
