"""Benchmark fixtures: a province of 20,000 key accounts, seeded once per session.

The database is whatever ``DATABASE_URL`` names (pytest-django creates ``test_<name>`` from it), so
``DATABASE_URL=postgres://… make bench`` measures PostgreSQL and plain ``make bench`` SQLite.

Each measured request is first run against a 20-account seed to record its query count, then the
same seed is grown to 20,000 accounts and the request is timed; the test asserts the two counts are
equal (a count, unlike a time, is stable enough to assert). Tests marked ``empty_database`` (the
import) run before the seed, since they need a database without customers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.db.models import Count
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, resolve, reverse

# BENCH_ACCOUNTS makes a quicker run while working on the benchmarks themselves.
BIG = int(os.environ.get("BENCH_ACCOUNTS", "20000"))
SMALL = 20
SEED = 2026
API_LIST = "/api/v1/customers/"

# The same test-time settings as the root conftest applies per test, for requests made while the
# session fixture builds the database (before any test's own settings apply).
BENCH_SETTINGS = {
    "LANGUAGE_CODE": "zh-hans",
    "STORAGES": {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    },
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "empty_database: runs before the demo seed, on a database without customers")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("empty_database") is None)


@dataclass(frozen=True)
class Scenario:
    """One measured request: who asks for what. ``url`` is worked out from the data in the database,
    so that the same request makes sense at 20 accounts and at 20,000."""

    name: str
    username: str
    url: Callable[[object], str]
    api: bool = False


def _top_customer(user) -> int:
    """The visible customer with the most metering points: the heaviest 360 page the user can open."""
    from gridkam.customers.models import Customer

    best = (
        Customer.objects.visible_to(user)
        .annotate(points=Count("accounts__metering_points", distinct=True), contacts_n=Count("contacts", distinct=True))
        .order_by("-points", "-contacts_n", "name")
        .first()
    )
    return best.pk


def _initials(user) -> str:
    """The first four pinyin initials of the user's first customer: what someone types to find it."""
    from gridkam.customers.models import Customer

    return Customer.objects.visible_to(user).order_by("name").values_list("name_initials", flat=True)[0][:4]


def _list(**params: str | list[str]) -> str:
    return reverse("customers:customer_list") + "?" + urlencode(params, doseq=True)


def _detail(user) -> str:
    return reverse("customers:customer_detail", args=[_top_customer(user)])


def _api(**params: str) -> str:
    return f"{API_LIST}?{urlencode(params)}"


SCENARIOS = [
    Scenario("list_search_initials", "gd_supervisor", lambda u: _list(q=_initials(u))),
    Scenario("list_search_name", "gd_supervisor", lambda u: _list(q="石化")),
    Scenario("list_filter_tier", "gd_supervisor", lambda u: _list(tier=["special", "first"])),
    Scenario("list_search_manager", "hz_manager1", lambda u: _list(q="惠州")),
    Scenario("detail_360_supervisor", "gd_supervisor", _detail),
    Scenario("detail_360_manager", "hz_manager1", _detail),
    Scenario("api_list_search_supervisor", "gd_supervisor", lambda u: _api(q="石化"), api=True),
    Scenario("api_list_search_manager", "hz_manager1", lambda u: _api(q=_initials(u)), api=True),
]
SCENARIO_BY_NAME = {s.name: s for s in SCENARIOS}


def api_available() -> bool:
    try:
        resolve(API_LIST)
    except Resolver404:
        return False
    return True


@dataclass
class Prepared:
    url: str
    client: Client
    small_queries: int


@dataclass
class BenchDatabase:
    seed_seconds: float
    prepared: dict[str, Prepared] = field(default_factory=dict)


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return len(queries)


def _login(username: str) -> Client:
    from gridkam.users.models import User

    client = Client()
    client.force_login(User.objects.get(username=username), backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture(scope="session")
def bench_db(django_db_setup, django_db_blocker) -> BenchDatabase:
    from gridkam.customers.models import Customer
    from gridkam.demo.services import demo_seed
    from gridkam.users.models import User

    scenarios = [s for s in SCENARIOS if not s.api or api_available()]
    with django_db_blocker.unblock(), override_settings(**BENCH_SETTINGS):
        # Monthly quantities are not what these pages read; 24 months × 25,000 accounts would add
        # minutes to the seed (docs/BENCHMARKS.md).
        demo_seed(accounts=SMALL, seed=SEED, usage_months=0)
        small: dict[str, int] = {}
        for scenario in scenarios:
            client = _login(scenario.username)
            small[scenario.name] = count_queries(client, scenario.url(User.objects.get(username=scenario.username)))
        # The same seed again, grown to 20,000: staff and org units are the same (they are matched by
        # username and code), the customers start with the same ones.
        Customer.objects.all().delete()
        started = time.monotonic()
        demo_seed(accounts=BIG, seed=SEED, usage_months=0)
        database = BenchDatabase(seed_seconds=round(time.monotonic() - started, 1))
        # Measure with the planner statistics a running database has (autovacuum gathers them
        # shortly after a bulk load); plans on a freshly loaded table without them differ.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        for scenario in scenarios:
            user = User.objects.get(username=scenario.username)
            database.prepared[scenario.name] = Prepared(
                url=scenario.url(user), client=_login(scenario.username), small_queries=small[scenario.name]
            )
    return database
