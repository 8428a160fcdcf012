"""Power-quality pages for every persona. Staff pages: anonymous → login, portal users → 403, an event, import or
account out of view → 404; writing pages also 403 for roles that only read (the billing clerk). Portal pages: staff
→ 403; a portal user sees only its own accounts' events. Query counts do not grow with rows."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from gridkam.core.testing import persona
from gridkam.powerquality.choices import PqKind, PqSource
from gridkam.powerquality.imports import pq_import
from gridkam.powerquality.models import PowerQualityEvent
from gridkam.servicedesk.models import ServiceRequest

from .support import account_of, csv_bytes, event

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(p):
    mine = event(p.a1, description="甲的暂降")
    theirs = event(p.b1, description="汕头的暂降")
    batch = pq_import(data=csv_bytes(), file_name="empty.csv", user=p.manager)
    return {"mine": mine, "theirs": theirs, "import": batch, "account": account_of(p.a1)}


def _pages(w) -> dict[str, str]:
    return {
        "list": "/power-quality/",
        "chart": "/power-quality/chart/",
        "detail": f"/power-quality/{w['mine'].pk}/",
        "import_detail": f"/power-quality/imports/{w['import'].pk}/",
        "summary": f"/power-quality/accounts/{w['account'].pk}/summary/",
        "create": "/power-quality/new/",
        "edit": f"/power-quality/{w['mine'].pk}/edit/",
        "import": "/power-quality/import/",
    }


EXPECTED = {
    #             list chart detail import_detail summary create edit import
    "anonymous": (302, 302, 302, 302, 302, 302, 302, 302),
    "customer_user": (403, 403, 403, 403, 403, 403, 403, 403),
    "manager": (200, 200, 200, 200, 200, 200, 200, 200),
    "colleague": (200, 200, 200, 404, 200, 200, 200, 200),  # same team: sees A1; the import is the manager's own
    "clerk": (200, 200, 200, 404, 200, 403, 403, 403),  # reads only
    "outsider": (200, 200, 404, 404, 404, 200, 404, 200),
    "admin": (200, 200, 200, 200, 200, 200, 200, 200),
}


@pytest.mark.parametrize("who", EXPECTED)
def test_staff_pages_for_every_persona(p, world, client, client_for, who):
    user = persona(p, who)
    c = client_for(user) if user else client
    got = tuple(c.get(url).status_code for url in _pages(world).values())
    assert got == EXPECTED[who]


def test_lists_show_only_visible_events(p, world, client_for):
    body = client_for(p.outsider).get("/power-quality/").content.decode()
    assert "汕头纺织有限公司" in body and "惠州钢铁集团有限公司" not in body
    body = client_for(p.manager).get("/power-quality/?outside=true&kind=sag").content.decode()
    assert f'data-event="{world["mine"].pk}"' in body and f'data-event="{world["theirs"].pk}"' not in body


def test_the_list_filters_by_request_and_exports(p, world, client_for):
    c = client_for(p.manager)
    assert f'data-event="{world["mine"].pk}"' not in c.get("/power-quality/?has_request=true").content.decode()
    response = c.get("/power-quality/?export=xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][3] == world["account"].account_no


def test_list_queries_do_not_grow_with_rows(p, client_for):
    c = client_for(p.manager)
    for i in range(2):
        event(p.a1, days_ago=i + 1)
    with CaptureQueriesContext(connection) as two:
        assert c.get("/power-quality/").status_code == 200
    for i in range(18):
        event(p.a2, days_ago=i + 3)
    with CaptureQueriesContext(connection) as twenty:
        assert c.get("/power-quality/").content.decode().count("data-event=") == 20
    assert len(twenty) == len(two)


def test_chart_has_the_sags_and_the_months(p, world, client_for):
    event(p.a1, kind=PqKind.HARMONICS, duration_ms=None, residual_pct=None, value="5")
    response = client_for(p.manager).get("/power-quality/chart/")
    chart = response.context["chart"]
    assert chart["outside"] == [[120, 45.0, world["mine"].pk]] and chart["inside"] == []
    assert {k["code"] for k in chart["kinds"]} == {"sag", "harmonics"} and chart["curve"][0] == [1, 0.0]
    assert b"pq-chart-data" in response.content


def test_record_and_edit_an_event(p, client_for):
    c = client_for(p.manager)
    account = account_of(p.a1)
    data = {
        "account": account.pk,
        "kind": "sag",
        "started_at": "2026-01-05T10:00:00",
        "duration_ms": "",
        "residual_pct": "60",
    }
    response = c.post("/power-quality/new/", data)
    assert response.status_code == 400 and "duration_ms" in response.context["form"].errors
    data["duration_ms"] = "300"
    response = c.post("/power-quality/new/", data)
    created = PowerQualityEvent.objects.get()
    assert response.status_code == 302 and created.source == PqSource.STAFF and created.outside_tolerance
    data["residual_pct"] = "75"
    assert c.post(f"/power-quality/{created.pk}/edit/", data).status_code == 302
    created.refresh_from_db()
    assert not created.outside_tolerance


def test_the_form_offers_only_visible_accounts(p, client_for):
    c = client_for(p.outsider)
    response = c.post(
        "/power-quality/new/",
        {
            "account": account_of(p.a1).pk,
            "kind": "sag",
            "started_at": "2026-01-05T10:00:00",
            "duration_ms": "300",
            "residual_pct": "60",
        },
    )
    assert response.status_code == 400 and "account" in response.context["form"].errors


@pytest.mark.parametrize(
    ("who", "status"), [("manager", 302), ("clerk", 403), ("outsider", 404), ("customer_user", 403)]
)
def test_open_request_access(p, world, client_for, who, status):
    response = client_for(getattr(p, who)).post(f"/power-quality/{world['mine'].pk}/open-request/", {"priority": ""})
    assert response.status_code == status
    assert ServiceRequest.objects.count() == (1 if status == 302 else 0)


def test_open_request_twice_from_the_page(p, world, client_for):
    c = client_for(p.manager)
    url = f"/power-quality/{world['mine'].pk}/open-request/"
    c.post(url, {"priority": "urgent"})
    c.post(url, {"priority": ""})
    request = ServiceRequest.objects.get()
    assert request.priority == "urgent"
    assert request.number in c.get(f"/power-quality/{world['mine'].pk}/").content.decode()


def test_import_page_shows_created_or_rejected_rows(p, client_for):
    c = client_for(p.manager)
    meter = account_of(p.a1).metering_points.first()
    good = csv_bytes(f"{meter.meter_no},,2026-03-02 09:15:21,80,电压暂降,72.5,,,A,")
    response = c.post("/power-quality/import/", {"file": SimpleUploadedFile("pq.csv", good)})
    assert response.status_code == 302
    assert "pq-import-ok" in c.get(response.url).content.decode()
    bad = csv_bytes(f"{meter.meter_no},,2026-03-02 09:15:21,80,电压暂降,5,,,A,")
    response = c.post("/power-quality/import/", {"file": SimpleUploadedFile("bad.csv", bad)})
    body = c.get(response.url).content.decode()
    assert 'data-line="2"' in body and "pq-import-rejected" in body
    assert c.post("/power-quality/import/", {}).status_code == 400


def test_account_summary_partial(p, world, client_for):
    event(p.a1, kind=PqKind.HARMONICS, duration_ms=None, residual_pct=None, value="3")
    response = client_for(p.manager).get(
        f"/power-quality/accounts/{world['account'].pk}/summary/", HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "<html" not in body and 'data-kind="sag"' in body and 'data-kind="harmonics"' in body
    assert response.context["summary"]["total"] == 2 and response.context["summary"]["outside"] == 1


# --- portal ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/power-quality/portal/", "/power-quality/portal/report/"])
@pytest.mark.parametrize(("who", "status"), [("anonymous", 302), ("manager", 403), ("customer_user", 200)])
def test_portal_pages_access(p, client, client_for, url, who, status):
    user = persona(p, who)
    assert (client_for(user) if user else client).get(url).status_code == status


def test_portal_list_shows_only_own_events(p, world, client_for):
    body = client_for(p.customer_user).get("/power-quality/portal/").content.decode()
    assert f'data-event="{world["mine"].pk}"' in body and f'data-event="{world["theirs"].pk}"' not in body


def test_portal_list_queries_do_not_grow(p, client_for):
    c = client_for(p.customer_user)
    for i in range(2):
        event(p.a1, days_ago=i + 1)
    with CaptureQueriesContext(connection) as two:
        c.get("/power-quality/portal/")
    for i in range(18):
        event(p.a1_sub, days_ago=i + 3)
    with CaptureQueriesContext(connection) as twenty:
        assert c.get("/power-quality/portal/").content.decode().count("data-event=") == 20
    assert len(twenty) == len(two)


def test_a_customer_reports_from_the_portal(p, client_for):
    c = client_for(p.customer_user)
    account = account_of(p.a1)
    data = {"account": account.pk, "kind": "sag", "started_at": "2026-01-05T10:00", "description": ""}
    assert c.post("/power-quality/portal/report/", data).status_code == 400
    data.update(description="变频器跳闸", production_stopped="on", loss_yuan="5000", open_request="on")
    assert c.post("/power-quality/portal/report/", data).status_code == 302
    reported = PowerQualityEvent.objects.get()
    assert reported.source == PqSource.CUSTOMER and reported.service_request.channel == "portal"
    # Another customer's account is not offered.
    data["account"] = account_of(p.b1).pk
    response = c.post("/power-quality/portal/report/", data)
    assert response.status_code == 400 and "account" in response.context["form"].errors


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00", "1999-12-31T23:00:00"])
def test_a_start_before_2000_is_a_field_error_in_both_forms(p, client_for, start):
    account = account_of(p.a1)
    staff = {"account": account.pk, "kind": "sag", "started_at": start, "duration_ms": "100", "residual_pct": "50"}
    response = client_for(p.manager).post("/power-quality/new/", staff)
    assert response.status_code == 400 and "started_at" in response.context["form"].errors
    portal = {"account": account.pk, "kind": "sag", "started_at": start, "description": "x"}
    response = client_for(p.customer_user).post("/power-quality/portal/report/", portal)
    assert response.status_code == 400 and "started_at" in response.context["form"].errors
    assert not PowerQualityEvent.objects.exists()


@pytest.mark.parametrize("url", ["/power-quality/", "/power-quality/chart/"])
@pytest.mark.parametrize("query", ["account=99999999999999999999", "customer=99999999999999999999", "account=²"])
def test_an_id_that_is_not_one_does_not_break_the_list_or_chart(p, client_for, url, query):
    event(p.a1)
    assert client_for(p.manager).get(f"{url}?{query}").status_code == 200


@pytest.mark.parametrize("raw", ["²", "٣", "99999999999999999999"])
def test_the_form_ignores_an_account_that_is_not_an_id(p, client_for, raw):
    response = client_for(p.manager).get("/power-quality/new/", {"account": raw})
    assert response.status_code == 200 and not response.context["form"].initial.get("account")
