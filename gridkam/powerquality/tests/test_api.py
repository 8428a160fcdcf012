"""The API twins: the events list and detail by visibility, recording and editing (writers only), a customer's
report, opening a request (201, then 200 with the same one) and the import endpoint; 404 for what is out of view."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.core.testing import persona
from gridkam.powerquality.choices import PqKind
from gridkam.powerquality.models import PowerQualityEvent
from gridkam.servicedesk.models import ServiceRequest

from .support import account_of, csv_bytes, event

pytestmark = pytest.mark.django_db
EVENTS = "/api/v1/power-quality-events/"
IMPORTS = "/api/v1/power-quality-imports/"


@pytest.mark.parametrize(
    ("who", "list_ids", "detail"),
    [
        ("anonymous", None, (401, 403)),
        ("manager", {"a1"}, (200,)),
        ("clerk", {"a1"}, (200,)),
        ("outsider", {"b1"}, (404,)),
        ("customer_user", {"a1"}, (200,)),
    ],
)
def test_list_and_detail_by_visibility(p, api, who, list_ids, detail):
    events = {"a1": event(p.a1), "b1": event(p.b1)}
    client = api(persona(p, who))
    response = client.get(EVENTS)
    if list_ids is None:
        assert response.status_code in (401, 403)
    else:
        got = {row["id"] for row in response.json()["results"]}
        assert got == {events[k].pk for k in list_ids}
    assert client.get(f"{EVENTS}{events['a1'].pk}/").status_code in detail


def test_list_filters_like_the_page(p, api):
    sag = event(p.a1)
    event(p.a1, kind=PqKind.HARMONICS, duration_ms=None, residual_pct=None, value="1")
    rows = api(p.manager).get(EVENTS, {"kind": "sag", "outside": "true"}).json()["results"]
    assert [row["id"] for row in rows] == [sag.pk] and rows[0]["severity"] == "severe"
    assert api(p.manager).get(EVENTS, {"kind": "nonsense"}).status_code == 400


def test_list_queries_do_not_grow(p, api):
    client = api(p.manager)
    for i in range(2):
        event(p.a1, days_ago=i + 1)
    with CaptureQueriesContext(connection) as two:
        client.get(EVENTS)
    for i in range(18):
        event(p.a2, days_ago=i + 3)
    with CaptureQueriesContext(connection) as twenty:
        assert len(client.get(EVENTS).json()["results"]) == 20
    assert len(twenty) == len(two)


def _payload(account, **changes):
    data = {
        "account": account.pk,
        "kind": "sag",
        "started_at": "2026-01-05T10:00:00+08:00",
        "duration_ms": 300,
        "residual_pct": "60",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("who", "status"), [("manager", 201), ("clerk", 403), ("customer_user", 403), ("outsider", 400)]
)
def test_create_access(p, api, who, status):
    assert api(getattr(p, who)).post(EVENTS, _payload(account_of(p.a1)), format="json").status_code == status


def test_create_and_edit_give_field_errors(p, api):
    client = api(p.manager)
    response = client.post(EVENTS, _payload(account_of(p.a1), residual_pct="5"), format="json")
    assert response.status_code == 400 and "residual_pct" in response.json()["errors"]
    created = client.post(EVENTS, _payload(account_of(p.a1)), format="json").json()
    assert created["outside_tolerance"] is True and created["source"] == "staff"
    response = client.patch(f"{EVENTS}{created['id']}/", {"residual_pct": "75"}, format="json")
    assert response.status_code == 200 and response.json()["outside_tolerance"] is False
    assert api(p.outsider).patch(f"{EVENTS}{created['id']}/", {"residual_pct": "75"}, format="json").status_code == 404
    assert api(p.clerk).patch(f"{EVENTS}{created['id']}/", {"residual_pct": "75"}, format="json").status_code == 403


def test_open_request_is_idempotent(p, api):
    sag = event(p.a1)
    url = f"{EVENTS}{sag.pk}/open-request/"
    first = api(p.manager).post(url, {}, format="json")
    second = api(p.manager).post(url, {"priority": "low"}, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["service_request"] == second.json()["service_request"] == ServiceRequest.objects.get().pk
    assert api(p.outsider).post(url, {}, format="json").status_code == 404
    assert api(p.customer_user).post(url, {}, format="json").status_code == 403
    assert api(p.manager).post(url, {"priority": "nope"}, format="json").status_code == 400


def test_a_customer_reports_through_the_api(p, api):
    data = {
        "account": account_of(p.a1).pk,
        "kind": "interruption",
        "started_at": "2026-01-05T10:00:00+08:00",
        "description": "全厂失电",
        "open_request": True,
    }
    response = api(p.customer_user).post(f"{EVENTS}report/", data, format="json")
    assert response.status_code == 201 and response.json()["service_request_number"]
    assert api(p.manager).post(f"{EVENTS}report/", data, format="json").status_code == 403
    data["account"] = account_of(p.b1).pk
    assert api(p.customer_user).post(f"{EVENTS}report/", data, format="json").status_code == 400


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00", "0001-01-01T00:00:00+08:00", "1999-12-31T12:00:00+08:00"])
def test_a_start_before_2000_is_a_field_error(p, api, start):
    data = {"account": account_of(p.a1).pk, "kind": "sag", "started_at": start, "description": "x"}
    response = api(p.customer_user).post(f"{EVENTS}report/", data, format="json")
    assert response.status_code == 400 and "started_at" in response.json()["errors"]
    staff = {"account": account_of(p.a1).pk, "kind": "sag", "started_at": start, "duration_ms": 100, "residual_pct": 50}
    response = api(p.manager).post(EVENTS, staff, format="json")
    assert response.status_code == 400 and "started_at" in response.json()["errors"]
    assert not PowerQualityEvent.objects.exists()


@pytest.mark.parametrize("name", ["account", "customer"])
def test_an_id_too_large_for_the_database_is_a_filter_error(p, api, name):
    response = api(p.manager).get(EVENTS, {name: "99999999999999999999"})
    assert response.status_code == 400 and name in response.json()["errors"]


def test_import_endpoint(p, api):
    meter = account_of(p.a1).metering_points.first()
    data = csv_bytes(f"{meter.meter_no},,2026-03-02 09:15:21,80,电压暂降,72.5,,,A,")
    response = api(p.manager).post(IMPORTS, {"file": SimpleUploadedFile("pq.csv", data)}, format="multipart")
    assert response.status_code == 201 and response.json()["created_count"] == 1
    pk = response.json()["id"]
    assert api(p.manager).get(f"{IMPORTS}{pk}/").json()["status"] == "imported"
    assert api(p.outsider).get(f"{IMPORTS}{pk}/").status_code == 404
    assert api(p.customer_user).get(f"{IMPORTS}{pk}/").status_code == 404
    bad = csv_bytes(f"{meter.meter_no},,2026-03-02 09:15:21,80,电压暂降,5,,,A,")
    rejected = api(p.manager).post(IMPORTS, {"file": SimpleUploadedFile("b.csv", bad)}, format="multipart").json()
    assert rejected["status"] == "rejected" and rejected["rejected"][0]["line"] == 2
    for who in ("clerk", "customer_user"):
        upload = SimpleUploadedFile("pq.csv", data)
        assert api(getattr(p, who)).post(IMPORTS, {"file": upload}, format="multipart").status_code == 403
    assert api(p.manager).post(IMPORTS, {}, format="multipart").status_code == 400
    assert PowerQualityEvent.objects.count() == 1
