"""The service metrics page and API: access for every persona, numbers and scoping through both, field errors for
bad filters (never a 500), the Excel workbook with a sheet per table, and a query count that does not grow."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from gridkam.core.testing import persona
from gridkam.servicedesk.choices import RequestStatus, RequestType
from gridkam.servicedesk.forms_metrics import default_span
from gridkam.users.models import Team

from .test_metrics_selectors import D, H, occurrence, req

pytestmark = pytest.mark.django_db
PAGE = reverse("servicedesk:metrics")
API = "/api/v1/service-metrics/"
STAFF = ["manager", "colleague", "engineer", "clerk", "supervisor", "outsider", "admin"]
SHEETS = 10


@pytest.fixture
def recent(p):
    """Requests this year (the default span is this year to date): two of city A (one met, one breached on
    response), one of city B; one plan item due today for the manager."""
    now = timezone.now()
    created = max(now - 2 * H, timezone.make_aware(dt.datetime.combine(default_span()[0], dt.time(0, 1))))
    req(p.a1, created=created, team=p.team_a, response_due_at=created + H, responded_at=created + H / 2)
    req(
        p.a2, created=created, team=p.team_a, request_type=RequestType.REPAIR, status=RequestStatus.IN_PROGRESS,
        response_due_at=created + H, responded_at=created + 2 * H, response_breached=True,
    )  # fmt: skip
    req(p.b1, created=created, response_due_at=created + H, responded_at=created + H / 4)
    occurrence(p.a1, p.manager, timezone.localdate())
    return p


@pytest.mark.parametrize("name", [*STAFF, "customer_user", "anonymous"])
def test_page_access(recent, client, client_for, name):
    user = persona(recent, name)
    web = client_for(user) if user else client
    response = web.get(PAGE)
    if name == "anonymous":
        assert response.status_code == 302
    elif name == "customer_user":
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        body = response.content.decode()
        for testid in ("metrics-kpis", "compliance-by-team", "compliance-trend", "backlog-by-type", "visits-by-team"):
            assert f'data-testid="{testid}"' in body
        assert 'id="data-service-metrics"' in body


@pytest.mark.parametrize("name", [*STAFF, "customer_user", "anonymous"])
def test_api_access_and_scoping(recent, api, name):
    user = persona(recent, name)
    response = api(user).get(API)
    if name in ("anonymous", "customer_user"):
        assert response.status_code in (401, 403)
        assert set(response.json()) == {"detail", "errors"}
        return
    assert response.status_code == 200
    data = response.json()
    expected = {"outsider": 1, "admin": 3, "clerk": 2, "supervisor": 2, "manager": 2, "colleague": 2, "engineer": 1}
    assert data["overall"]["requests"] == expected[name]


def test_page_numbers_for_the_manager(recent, client_for):
    response = client_for(recent.manager).get(PAGE)
    m = response.context["m"]
    assert m.overall.requests == 2  # none of city B's
    assert (m.overall.response.met, m.overall.response.breached) == (1, 1)
    assert (m.visits_due, m.visits_done) == (1, 0)
    body = response.content.decode()
    script = re.search(r'<script id="data-service-metrics" type="application/json">(.*?)</script>', body)
    chart = json.loads(script.group(1))
    assert chart["by_team"]["names"] == [recent.team_a.name]
    assert chart["by_team"]["response"] == [50.0]
    assert chart["visits"]["due"] == [1]
    assert 'data-testid="kpi-compliance"' in body


def test_api_numbers_and_shape(recent, api):
    data = api(recent.manager).get(API, {"type": "repair"}).json()
    assert data["filters"]["type"] == "repair"
    assert data["overall"]["requests"] == 1
    assert data["overall"]["response"] == {"applicable": 1, "met": 0, "breached": 1, "pending": 0, "compliance": 0.0}
    (team,) = data["compliance_by_team"]
    assert team["key"] == str(recent.team_a.pk)
    assert data["times"]["response"]["count"] == 1
    assert data["times"]["response"]["median_hours"] == pytest.approx(2, abs=1e-3)
    assert data["backlog"]["total"] == 1 and data["backlog"]["lt_1d"] + data["backlog"]["d1_3"] == 1
    assert [row["key"] for row in data["visits_by_owner"]] == [str(recent.manager.pk)]
    assert len(data["trend"]) == timezone.localdate().month


BAD = [
    ({"start": "2026-13-01"}, "start"),
    ({"end": "yesterday"}, "end"),
    ({"start": "2026-03-01", "end": "2026-02-01"}, "end"),
    ({"start": "2020-01-01", "end": "2026-01-01"}, "end"),  # too long
    ({"start": "1900-01-01"}, "start"),
    ({"tier": "gold"}, "tier"),
    ({"type": "x" * 500}, "type"),
    ({"priority": "top"}, "priority"),
    ({"team": "abc"}, "team"),
    ({"team": "999999999999999999999"}, "team"),
    ({"unit": "-1"}, "unit"),
]


@pytest.mark.parametrize(("params", "field"), BAD)
def test_bad_filters_are_field_errors(recent, client_for, api, params, field):
    response = client_for(recent.manager).get(PAGE, params)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert response.context["m"] is None
    assert 'data-testid="metrics-errors"' in response.content.decode()
    response = api(recent.manager).get(API, params)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "errors"} and field in body["errors"]


def test_a_team_or_unit_out_of_view_is_a_field_error(recent, client_for, api):
    # City B's manager cannot ask for city A's team or unit: an invalid choice, not an empty page.
    for params, field in (({"team": recent.team_a.pk}, "team"), ({"unit": recent.city_a.pk}, "unit")):
        assert field in api(recent.outsider).get(API, params).json()["errors"]
    response = api(recent.supervisor).get(API, {"team": recent.team_a.pk, "unit": recent.city_a.pk})
    assert response.status_code == 200 and response.json()["overall"]["requests"] == 2


def test_excel_workbook_has_a_sheet_per_table(recent, client_for):
    response = client_for(recent.manager).get(PAGE, {"export": "xlsx", "tier": ""})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert len(book.sheetnames) == SHEETS
    team_sheet = book.worksheets[0]
    rows = [row for row in team_sheet.iter_rows(values_only=True)]
    names = [row[0] for row in rows]
    assert recent.team_a.name in names
    team_row = rows[names.index(recent.team_a.name)]
    assert team_row[1] == 2  # requests
    assert team_row[2:6] == (1, 1, 0, 50.0)  # first response: met, breached, pending, compliance %
    visits = book.worksheets[8]
    assert any(row[0] == recent.team_a.name and row[1] == 1 for row in visits.iter_rows(values_only=True))


def test_export_with_bad_filters_shows_the_form(recent, client_for):
    response = client_for(recent.manager).get(PAGE, {"export": "xlsx", "start": "nope"})
    assert response.status_code == 200 and "start" in response.context["form"].errors


def _count(call) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_query_count_is_constant(p, client_for, api):
    now = timezone.now()
    created = max(now - 2 * H, timezone.make_aware(dt.datetime.combine(default_span()[0], dt.time(0, 1))))
    req(p.a1, created=created, team=p.team_a, response_due_at=created + H)
    web = client_for(p.supervisor)
    page_one, api_one = _count(lambda: web.get(PAGE)), _count(lambda: api(p.supervisor).get(API))
    teams = [Team.objects.create(name=f"班组{i}", org_unit=p.city_a) for i in range(5)]
    for i in range(40):
        at = max(created - i * D, created - (i % 3) * H)
        req(
            p.a1 if i % 2 else p.a3, created=at, team=teams[i % 5], status=RequestStatus.NEW,
            request_type=RequestType.values[i % 4], response_due_at=at + H, responded_at=at + (i % 4) * H,
        )  # fmt: skip
        occurrence(p.a3, p.colleague, timezone.localdate() - (i % 20) * D)
    assert _count(lambda: web.get(PAGE)) == page_one
    assert _count(lambda: api(p.supervisor).get(API)) == api_one
