"""A year's load curve of one account from the API, in a province-sized database (issue 4: under 300 ms).

The account has two billing metering points, each with the steel plant's full year (2 × 35,040 readings,
loaded through the real loader); the request returns both points' curves and the account total (105,120
values), the daily band and the month × quarter-hour heat map. Times are reported, not asserted; the query
count is asserted equal to that of a one-day curve. Results: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from .conftest import BIG, BenchDatabase, _login

ROUNDS = 15
YEAR = (dt.date(2018, 1, 1), dt.date(2018, 12, 31))


@pytest.mark.django_db
def test_year_curve_api(benchmark, bench_db: BenchDatabase):
    from gridkam.customers.models import ElectricityAccount
    from gridkam.metering.loading import chunks_import
    from gridkam.metering.parsing import Chunk
    from gridkam.metering.steel import steel_rows
    from gridkam.users.models import User

    manager = User.objects.get(username="hz_manager1")
    account = (
        ElectricityAccount.objects.visible_to(manager)
        .filter(metering_points__purpose="billing")
        .order_by("-capacity_kva")
        .first()
    )
    points = list(account.metering_points.filter(purpose="billing").order_by("code")[:2])
    if len(points) < 2:
        from gridkam.customers.models import MeteringPoint

        points.append(
            MeteringPoint.objects.create(
                account=account, code=f"BENCH{account.pk}", meter_no=f"BENCH-M{account.pk}", purpose="billing"
            )
        )
    year = steel_rows()
    for point in points:
        frame = year.select(
            pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("line"),
            pl.lit(point.code).alias("point"),
            "interval_end",
            "kwh_milli",
            "lag_milli",
            "lead_milli",
            pl.lit(False).alias("estimated"),
        )
        outcome = chunks_import([Chunk(frame=frame)], file_name="bench-steel.csv", file_format="long")
        assert outcome.committed and outcome.inserted == 35040
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    client = _login("hz_manager1")
    url = f"/api/v1/accounts/{account.pk}/load-curve/?from={YEAR[0]}&to={YEAR[1]}"
    one_day = f"/api/v1/accounts/{account.pk}/load-curve/?from={YEAR[0]}&to={YEAR[0]}"
    with CaptureQueriesContext(connection) as day_queries:
        assert client.get(one_day).status_code == 200
    with CaptureQueriesContext(connection) as year_queries:
        response = client.get(url)
    assert response.status_code == 200
    body = response.json()
    assert len(body["total_kw"]) == 365 * 96 and len(body["series"]) == account.metering_points.count()
    assert len(year_queries) == len(day_queries)
    benchmark.extra_info.update(
        url=url,
        readings=len(points) * 35040,
        response_bytes=len(response.content),
        queries=len(year_queries),
        accounts=BIG,
    )
    result = benchmark.pedantic(client.get, args=(url,), rounds=ROUNDS, iterations=1, warmup_rounds=2)
    assert result.status_code == 200
