"""Load analytics: the curve grid, its band and heat map, an account's months, the portfolio figures and the
anomaly list, through the functions, the pages and the API, with every persona."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from gridkam.core.testing import persona
from gridkam.customers.choices import BasicChargeMethod
from gridkam.customers.models import ElectricityAccount
from gridkam.metering.analytics import curve_range, load_curve, load_months, months_chart, period_share
from gridkam.metering.loading import chunks_import
from gridkam.metering.summaries import month_intervals_due
from gridkam.metering.watch import Kind, accounts_with_load, load_anomalies

from .factories import chunk_of, day_readings, make_points, make_tariff

pytestmark = pytest.mark.django_db
API = "/api/v1"
AS_OF = dt.date(2025, 3, 31)
STAFF_ACCESS = [
    ("manager", 200),
    ("colleague", 200),
    ("engineer", 200),
    ("clerk", 200),
    ("supervisor", 200),
    ("outsider", 404),
    ("customer_user", 200),
    ("admin", 200),
]


def load(readings) -> None:
    outcome = chunks_import([chunk_of(readings)], file_name="test.csv", file_format="long")
    assert outcome.committed, outcome.rejected


def days(point: str, first: dt.date, count: int, kwh, **kwargs) -> list[tuple]:
    readings = []
    for d in range(count):
        day = first + dt.timedelta(days=d)
        readings += day_readings(point, day, lambda i, day=day: kwh(day, i), **kwargs)
    return readings


# -- the curve -------------------------------------------------------------------------------------------------


def test_curve_puts_each_reading_on_its_quarter_hour_and_the_2400_reading_last():
    (point,) = make_points(1)
    day = dt.date(2025, 3, 1)
    readings = day_readings(point.code, day, lambda i: 1000 * (i + 1))
    load(readings[:-5] + readings[-4:])  # interval 91 (22:45–23:00) missing
    curve = load_curve(point.account, day, day + dt.timedelta(days=1))
    doc = curve.as_dict()
    kw = doc["series"][0]["kw"]
    assert len(kw) == 2 * 96
    assert doc["first_interval_end"] == "2025-03-01T00:15:00+08:00"
    assert kw[0] == 4.0  # 1 kWh in 15 minutes = 4 kW
    assert kw[95] == 384.0  # the 24:00 reading, dated 00:00 on the 2nd, closes the 1st
    assert kw[91] is None
    assert kw[96:] == [None] * 96
    assert doc["total_kw"][:3] == [4.0, 8.0, 12.0]
    band = doc["daily"]
    assert band["days"] == ["2025-03-01", "2025-03-02"]
    assert band["max_kw"] == [384.0, None]
    assert band["min_kw"] == [4.0, None]
    expected_mean = sum(4.0 * (i + 1) for i in range(96) if i != 91) / 95
    assert band["mean_kw"][0] == pytest.approx(expected_mean, abs=1e-3)
    heat = doc["heatmap"]
    assert heat["months"] == ["2025-03"]
    assert heat["quarter_hours"][0] == "00:00" and heat["quarter_hours"][95] == "23:45"
    assert heat["mean_kw"][0][1] == 8.0


def test_account_total_sums_billing_points_and_leaves_check_points_out():
    a, b = make_points(2)
    (check,) = make_points(1, account=a.account, purpose="check")
    day = dt.date(2025, 3, 1)
    load(
        day_readings(a.code, day, lambda i: 1000)
        + day_readings(b.code, day, lambda i: 2000 if i else None)[1:]
        + day_readings(check.code, day, lambda i: 9000)
    )
    curve = load_curve(a.account, day, day)
    total = curve.as_dict()["total_kw"]
    assert total[0] == 4.0  # b has no reading there: a alone
    assert total[1] == 12.0  # 4 + 8; the check point's 36 kW is not added
    assert {s["metering_point"] for s in curve.as_dict()["series"]} == {a.code, b.code, check.code}


def test_curve_reads_in_one_query_whatever_the_points_and_days():
    points = make_points(3)
    account = points[0].account
    first = dt.date(2025, 1, 1)
    load([r for p in points for r in days(p.code, first, 20, lambda day, i: 500 + i)])
    with CaptureQueriesContext(connection) as queries:
        curve = load_curve(account, first, first + dt.timedelta(days=364), points=points)
    assert len(queries) == 1
    assert curve.kw.shape == (3, 365 * 96)


def test_default_range_is_the_year_ending_on_the_last_day_with_readings():
    (point,) = make_points(1)
    load(day_readings(point.code, dt.date(2025, 6, 30), lambda i: 100))
    assert curve_range(point.account, None, None) == (dt.date(2024, 7, 1), dt.date(2025, 6, 30))
    assert curve_range(point.account, dt.date(2025, 1, 1), None) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))


# -- months ----------------------------------------------------------------------------------------------------


def test_months_give_year_on_year_utilisation_and_power_factor_in_two_queries():
    tariff = make_tariff()
    (point,) = make_points(1, tariff=tariff, capacity_kva="1000")
    account = point.account
    account.contract_demand_kw = Decimal("500")
    account.basic_charge_method = BasicChargeMethod.CONTRACT_DEMAND
    account.save()
    load(
        day_readings(point.code, dt.date(2024, 3, 5), lambda i: 100_000, lag=lambda i: 50_000)
        + day_readings(point.code, dt.date(2025, 3, 5), lambda i: 150_000 if i == 40 else 100_000, lag=lambda i: 30_000)
    )
    with CaptureQueriesContext(connection) as queries:
        rows = load_months(account, dt.date(2025, 3, 1), 13)
    assert len(queries) == 2
    assert [r["month"] for r in rows][:2] == ["2024-03", "2024-04"] and rows[-1]["month"] == "2025-03"
    march = rows[-1]
    assert march["kwh_total"] == "9650.000"
    assert march["kwh_total_year_before"] == "9600.000"
    assert march["yoy_change"] == "0.0052"
    assert march["max_demand_kw"] == "600.000"
    assert march["contract_demand_utilisation"] == "1.2000"
    assert march["capacity_utilisation"] == "0.6000"
    assert march["power_factor"] == "0.96"  # 9650 / √(9650² + 2880²) = 0.958…
    assert rows[0]["power_factor"] == "0.89"  # 9600 / √(9600² + 4800²) = 0.894…
    assert rows[1]["intervals"] == 0 and rows[1]["yoy_change"] is None


# -- portfolio and anomalies -----------------------------------------------------------------------------------


def steady_then(point, *, recent_kwh: int, base_kwh: int = 100_000, as_of=AS_OF, lag=None):
    """Five weeks to ``as_of``: 28 days at ``base_kwh`` then the last 7 at ``recent_kwh`` (thousandths)."""
    first = as_of - dt.timedelta(days=34)
    recent_first = as_of - dt.timedelta(days=6)
    return days(
        point.code,
        first,
        35,
        lambda day, i: recent_kwh if day >= recent_first else base_kwh,
        lag=lag,
    )


def test_portfolio_figures():
    (point,) = make_points(1, capacity_kva="1000")
    first = AS_OF - dt.timedelta(days=59)
    recent_first = AS_OF - dt.timedelta(days=29)
    load(
        days(
            point.code,
            first,
            60,
            lambda day, i: (200_000 if i == 50 else 100_000) if day >= recent_first else 80_000,
        )
    )
    (row,) = accounts_with_load(ElectricityAccount.objects.filter(pk=point.account_id), AS_OF)
    assert row.kwh_30d == Decimal(30 * (95 * 100 + 200))
    assert row.kwh_prev_30d == Decimal(30 * 96 * 80)
    assert row.change_30d == pytest.approx(30 * 9700 / (30 * 7680) - 1)
    assert row.max_demand_30d == Decimal("800")
    assert row.load_factor_30d == pytest.approx((30 * 9700) / (30 * 96 * 0.25 * 800))
    assert row.utilisation == pytest.approx(0.8)  # no contract demand: of capacity


def test_anomalies_of_each_kind_and_none_for_a_steady_account():
    tariff = make_tariff()
    dropped, missing, steady, low_pf, over = (make_points(1, tariff=tariff)[0] for _ in range(5))
    over.account.contract_demand_kw = Decimal("300")
    over.account.save()
    readings = steady_then(dropped, recent_kwh=50_000)
    readings += [r for r in steady_then(missing, recent_kwh=100_000) if r[1].hour != 3]
    readings += steady_then(steady, recent_kwh=95_000)
    readings += steady_then(over, recent_kwh=100_000)
    # The last complete month to 31 March is March: its power factor 100 / √(100² + 80²) = 0.78.
    readings += days(low_pf.code, dt.date(2025, 2, 1), 28, lambda day, i: 100_000)
    readings += days(low_pf.code, dt.date(2025, 3, 1), 31, lambda day, i: 100_000, lag=lambda i: 80_000)
    load(readings)
    found = load_anomalies(ElectricityAccount.objects.all(), AS_OF)
    kinds = {(x.kind, x.account.pk) for x in found}
    assert (Kind.DROP, dropped.account_id) in kinds
    assert (Kind.MISSING, missing.account_id) in kinds
    assert (Kind.LOW_PF, low_pf.account_id) in kinds
    assert (Kind.OVER_DEMAND, over.account_id) in kinds
    assert not any(x.account.pk == steady.account_id for x in found)
    drop = next(x for x in found if x.kind == Kind.DROP)
    assert drop.day == AS_OF - dt.timedelta(days=6) and drop.zoom == "week"
    assert drop.severity == pytest.approx(0.5)
    gap = next(x for x in found if x.kind == Kind.MISSING)
    # The readings stamped 03:00, 03:15, 03:30 and 03:45 of 7 days.
    assert gap.severity == pytest.approx(28 / 672) and "28" in gap.detail and "672" in gap.detail
    pf = next(x for x in found if x.kind == Kind.LOW_PF)
    assert pf.day == dt.date(2025, 3, 1) and "0.78" in pf.detail
    demand = next(x for x in found if x.kind == Kind.OVER_DEMAND)
    assert demand.severity == pytest.approx(400 / 300 - 1.05, abs=1e-6)


def test_accounts_without_readings_are_not_watched():
    make_points(1)
    assert load_anomalies(ElectricityAccount.objects.all(), AS_OF) == []


# -- pages and API ---------------------------------------------------------------------------------------------


@pytest.fixture
def a1_load(p):
    """A1's account with five weeks of readings to AS_OF, the last week down by half."""
    account = p.a1.accounts.get()
    load(steady_then(account.metering_points.get(), recent_kwh=50_000))
    return account


@pytest.mark.parametrize("who, status", STAFF_ACCESS)
def test_account_load_page_and_api_for_whoever_sees_the_customer(p, client_for, api, a1_load, who, status):
    user = persona(p, who)
    page = client_for(user).get(f"/metering/accounts/{a1_load.pk}/load/", {"to": AS_OF.isoformat()})
    assert page.status_code == status
    curve = api(user).get(f"{API}/accounts/{a1_load.pk}/load-curve/", {"to": AS_OF.isoformat()})
    assert curve.status_code == status
    months = api(user).get(f"{API}/accounts/{a1_load.pk}/load-months/", {"to": "2025-03"})
    assert months.status_code == status
    if status == 200:
        assert len(curve.json()["total_kw"]) == 365 * 96
        assert months.json()["months"][-1]["month"] == "2025-03"
        assert b"load-curve" in page.content


def test_anonymous_gets_the_login_page_and_401(client, api, a1_load):
    response = client.get(f"/metering/accounts/{a1_load.pk}/load/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    for url in ("/metering/portfolio/", "/metering/anomalies/"):
        assert client.get(url).status_code == 302
    for url in (f"{API}/accounts/{a1_load.pk}/load-curve/", f"{API}/load-portfolio/", f"{API}/load-anomalies/"):
        assert api(None).get(url).status_code in (401, 403)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "2025-03-31", "to": "2025-03-01"}, "from"),
        ({"from": "2024-01-01", "to": "2025-03-01"}, "to"),
        ({"to": "31/03/2025"}, "to"),
        ({"from": "yesterday"}, "from"),
        ({"to": "0996-11-05"}, "to"),  # in Asia/Shanghai's local mean time, and a year before it too
        ({"from": "9999-12-31"}, "from"),
    ],
)
def test_curve_api_names_the_bad_parameter(p, api, a1_load, params, field):
    response = api(p.manager).get(f"{API}/accounts/{a1_load.pk}/load-curve/", params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.parametrize(
    "params, field",
    [({"to": "2025-13"}, "to"), ({"to": "0001-01"}, "to"), ({"months": "0"}, "months"), ({"months": "x"}, "months")],
)
def test_months_api_names_the_bad_parameter(p, api, a1_load, params, field):
    response = api(p.manager).get(f"{API}/accounts/{a1_load.pk}/load-months/", params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_account_page_shows_a_bad_range_instead_of_failing(p, client_for, a1_load):
    response = client_for(p.manager).get(
        f"/metering/accounts/{a1_load.pk}/load/", {"from": "2025-04-01", "to": "2025-03-01"}
    )
    assert response.status_code == 200
    assert response.context["error"]


@pytest.mark.parametrize("url", ["/metering/portfolio/", "/metering/anomalies/"])
def test_portfolio_and_anomalies_are_staff_pages(p, client_for, a1_load, url):
    assert client_for(p.customer_user).get(url).status_code == 403


@pytest.mark.parametrize("url", [f"{API}/load-portfolio/", f"{API}/load-anomalies/"])
def test_portfolio_and_anomaly_api_refuse_customer_users(p, api, a1_load, url):
    assert api(p.customer_user).get(url).status_code == 403


def test_anomalies_list_only_the_users_accounts(p, client_for, api, a1_load):
    params = {"as_of": AS_OF.isoformat()}
    mine = client_for(p.manager).get("/metering/anomalies/", params)
    assert [x.account.pk for x in mine.context["object_list"]] == [a1_load.pk]
    theirs = client_for(p.outsider).get("/metering/anomalies/", params)
    assert list(theirs.context["object_list"]) == []
    data = api(p.manager).get(f"{API}/load-anomalies/", {**params, "kind": "drop"}).json()
    assert data["count"] == 1 and data["results"][0]["account"] == a1_load.account_no
    assert api(p.outsider).get(f"{API}/load-anomalies/", params).json()["count"] == 0
    assert api(p.manager).get(f"{API}/load-anomalies/", {"kind": "nope"}).status_code == 400
    assert api(p.manager).get(f"{API}/load-anomalies/", {"as_of": "soon"}).status_code == 400


def test_anomaly_page_filters_sorts_and_exports(p, client_for, a1_load):
    client = client_for(p.manager)
    params = {"as_of": AS_OF.isoformat()}
    assert len(client.get("/metering/anomalies/", {**params, "kind": "missing"}).context["object_list"]) == 0
    response = client.get("/metering/anomalies/", {**params, "kind": "drop", "sort": "-severity"})
    assert [x.kind for x in response.context["object_list"]] == ["drop"]
    assert f"?at={(AS_OF - dt.timedelta(days=6)).isoformat()}&zoom=week".encode() in response.content
    export = client.get("/metering/anomalies/", {**params, "export": "xlsx"})
    rows = list(load_workbook(io.BytesIO(export.content), read_only=True).active.iter_rows(values_only=True))
    assert any(a1_load.account_no in row for row in rows)


def test_portfolio_page_sorts_filters_exports_and_keeps_its_query_count(p, client_for, a1_load):
    client = client_for(p.supervisor)
    params = {"as_of": AS_OF.isoformat(), "sort": "-change"}
    with CaptureQueriesContext(connection) as few:
        response = client.get("/metering/portfolio/", params)
    assert response.status_code == 200
    rows = list(response.context["object_list"])
    assert rows[0].pk == a1_load.pk or any(r.pk == a1_load.pk for r in rows)
    for customer in (p.a2, p.a3):
        account = customer.accounts.get()
        load(steady_then(account.metering_points.get(), recent_kwh=90_000))
    with CaptureQueriesContext(connection) as more:
        response = client.get("/metering/portfolio/", params)
    assert len(more) == len(few)
    ranked = [r.pk for r in response.context["object_list"] if r.change_30d is not None]
    changes = [r.change_30d for r in response.context["object_list"] if r.change_30d is not None]
    assert changes == sorted(changes, reverse=True) and a1_load.pk in ranked
    filtered = client.get("/metering/portfolio/", {**params, "q": a1_load.account_no})
    assert [r.pk for r in filtered.context["object_list"]] == [a1_load.pk]
    export = client.get("/metering/portfolio/", {**params, "export": "xlsx"})
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    api_rows = client.get(f"{API}/load-portfolio/", {"as_of": AS_OF.isoformat(), "ordering": "change_30d"}).json()
    assert api_rows["results"][0]["account_no"] == a1_load.account_no


def test_account_page_exports_months_and_days(p, client_for, a1_load):
    response = client_for(p.manager).get(
        f"/metering/accounts/{a1_load.pk}/load/", {"from": "2025-03-01", "to": AS_OF.isoformat(), "export": "xlsx"}
    )
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert len(book.worksheets) == 2
    days_rows = list(book.worksheets[1].iter_rows(values_only=True))
    assert len(days_rows) == 1 + 31


def test_customer_360_shows_the_load_card(p, client_for, a1_load, settings):
    response = client_for(p.manager).get(f"/customers/{p.a1.pk}/")
    assert response.status_code == 200
    assert b'data-testid="customer-load"' in response.content
    assert [a.pk for a in response.context["load"]] == [a1_load.pk]


def test_without_a_tariff_the_energy_still_shows_as_outside_any_period():
    (point,) = make_points(1)  # no tariff: no period for any reading
    load(day_readings(point.code, dt.date(2025, 3, 5), lambda i: 100_000))
    rows = load_months(point.account, dt.date(2025, 3, 1), 12)
    chart = months_chart(point.account, rows)
    assert [s["code"] for s in chart["periods"]] == ["unpriced"]
    assert chart["periods"][0]["kwh"][-1] == 9600.0
    assert [s["code"] for s in period_share(rows)] == ["unpriced"]


def test_quarter_hours_still_to_come_are_not_missing(settings):
    now = dt.datetime(2025, 3, 10, 12, 7, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert month_intervals_due(dt.date(2025, 3, 1), now) == 9 * 96 + 48
    assert month_intervals_due(dt.date(2025, 2, 1), now) == 28 * 96
    assert month_intervals_due(dt.date(2025, 4, 1), now) == 0
