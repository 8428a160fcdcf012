"""The real steel year through the whole path: converted to long and to 96-point files, imported into two
points, the two give identical rollups (but for leading kvarh, which the 96-point format does not carry), and
the cost advisor runs on the measured months."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from gridkam.metering.models import AccountMonthlyRollup, PointDailyRollup, PointMonthlyRollup, Reading
from gridkam.metering.steel import steel_rows, write_long, write_wide96
from gridkam.tariffs.advising import account_advice
from gridkam.tariffs.advisor import DEFAULT_SETTINGS
from gridkam.tariffs.choices import UsageSource

from .factories import assert_rollups_consistent, make_points, make_tariff

pytestmark = pytest.mark.django_db
COMPARED = [
    "sharp_kwh",
    "peak_kwh",
    "flat_kwh",
    "valley_kwh",
    "deep_valley_kwh",
    "unpriced_kwh",
    "kwh_total",
    "kvarh_lag",
    "max_demand_kw",
    "max_demand_at",
    "intervals",
    "expected_intervals",
    "estimated_intervals",
]


def test_steel_year_long_and_wide96_give_identical_rollups(tmp_path):
    tariff = make_tariff()
    [long_point] = make_points(1, tariff=tariff, capacity_kva="2500")
    [wide_point] = make_points(1, tariff=tariff, capacity_kva="2500")
    rows = steel_rows()
    write_long(rows, long_point.code, tmp_path / "long.csv")
    write_wide96(rows, wide_point.code, tmp_path / "wide96.csv")
    for name in ("long.csv", "wide96.csv"):
        out = io.StringIO()
        call_command("import_readings", str(tmp_path / name), "--json", stdout=out)
        result = json.loads(out.getvalue())
        assert result["committed"] and result["inserted"] == 35040 and not result["rejected"]
    assert Reading.objects.count() == 2 * 35040

    def rollups(model, point, key):
        return {
            getattr(r, key): [getattr(r, f) for f in COMPARED]
            for r in model.objects.filter(metering_point=point).order_by(key)
        }

    assert rollups(PointMonthlyRollup, long_point, "month") == rollups(PointMonthlyRollup, wide_point, "month")
    assert rollups(PointDailyRollup, long_point, "day") == rollups(PointDailyRollup, wide_point, "day")
    months = AccountMonthlyRollup.objects.filter(account=long_point.account)
    assert months.count() == 12 and sum(m.intervals for m in months) == 35040
    # The 24:00 reading of 31 December 2018 closes that day and the year: nothing spills into 2019.
    assert max(m.month for m in months).isoformat() == "2018-12-01"
    assert_rollups_consistent()

    # The cost advisor runs on the measured months as they are: no quantity typed in.
    advice = account_advice(account=long_point.account, settings=DEFAULT_SETTINGS)
    assert [u.source for u in advice.usage] == [UsageSource.METERING] * 12
    december = months.get(month="2018-12-01")
    assert advice.usage[-1].peak_kwh == december.peak_kwh.quantize(Decimal("0.01"))
    assert advice.usage[-1].max_demand_kw == december.max_demand_kw
    assert advice.advice.baseline.months[-1] == "2018-12" and advice.advice.baseline.total_yuan > 0
