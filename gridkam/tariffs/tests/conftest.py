import datetime
from decimal import Decimal

import pytest


@pytest.fixture
def samples(db):
    """The shipped sample catalogue, loaded as ``load_sample_tariffs`` does."""
    from gridkam.tariffs.services import sample_tariffs_load

    report = sample_tariffs_load()
    assert report.ok, report.errors


@pytest.fixture
def usage_year():
    """12 months of plausible quantities for an account, ending December 2025."""
    from gridkam.tariffs.services import monthly_usage_save

    def make(account, *, end=datetime.date(2025, 12, 1), max_demand_kw="1200", lagging_ratio="0.55"):
        rows = []
        for i in range(12):
            month = end.month - 11 + i
            year = end.year + (month - 1) // 12
            month = (month - 1) % 12 + 1
            summer = month in (7, 8, 9)
            peak = Decimal("180000")
            values = {
                "sharp_kwh": Decimal("40000") if summer else Decimal("0"),
                "peak_kwh": peak,
                "flat_kwh": Decimal("220000"),
                "valley_kwh": Decimal("160000"),
                "deep_valley_kwh": Decimal("0"),
                "max_demand_kw": Decimal(max_demand_kw),
            }
            total = sum(v for k, v in values.items() if k.endswith("_kwh"))
            values["lagging_kvarh"] = (total * Decimal(lagging_ratio)).quantize(Decimal("0.01"))
            values["leading_kvarh"] = Decimal("0")
            rows.append(monthly_usage_save(account=account, month=datetime.date(year, month, 1), values=values))
        return rows

    return make
