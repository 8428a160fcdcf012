"""The outage API: the same visibility as the pages (portal users only their own notices, staff endpoints 403 to
them, other units' objects 404), the planner-only writes, announce / finish / acknowledge / follow-up, the import,
and list query counts that do not grow with rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from gridkam.core.testing import persona

from ..models import AccountSupply, Outage, OutageNotice
from ..services import outage_announce
from .support import DAY, account_of, outage


@pytest.fixture
def announced(p, grid):
    out = outage([grid.f1], user=p.supervisor)
    outage_announce(outage=out, user=p.supervisor)
    return out


def _when(delta: dt.timedelta) -> str:
    return (timezone.now() + delta).isoformat()


@pytest.mark.parametrize(
    ("who", "outages", "feeders"),
    [("supervisor", 200, 200), ("manager", 200, 200), ("outsider", 404, 404), ("customer_user", 403, 403)],
)
def test_staff_endpoints_visibility(p, grid, announced, api, who, outages, feeders):
    client = api(persona(p, who))
    assert client.get(f"/api/v1/outages/{announced.pk}/").status_code == outages
    assert client.get(f"/api/v1/outages/{announced.pk}/affected/").status_code == outages
    assert client.get(f"/api/v1/feeders/{grid.f1.pk}/").status_code == feeders
    supply = AccountSupply.objects.get(account=account_of(p.a1))
    assert client.get(f"/api/v1/account-supplies/{supply.pk}/").status_code == (
        403 if who == "customer_user" else 404 if who == "outsider" else 200
    )
    assert api(None).get("/api/v1/outages/").status_code in (401, 403)


def test_affected_endpoint_orders_important_users_first(p, grid, announced, api):
    data = api(p.supervisor).get(f"/api/v1/outages/{announced.pk}/affected/").json()
    assert [row["customer"] for row in data] == [p.a2.pk, p.a1.pk]
    assert data[0]["backup_available"] and data[0]["feeders_up"] == ["F2"]


def test_notices_portal_users_see_only_their_own(p, grid, announced, api):
    mine = api(p.customer_user).get("/api/v1/outage-notices/").json()["results"]
    assert [n["customer"] for n in mine] == [p.a1.pk]
    theirs = OutageNotice.objects.get(customer=p.a2)
    assert api(p.customer_user).get(f"/api/v1/outage-notices/{theirs.pk}/").status_code == 404
    assert api(p.customer_user).post(f"/api/v1/outage-notices/{theirs.pk}/acknowledge/").status_code == 404
    assert api(p.outsider).get("/api/v1/outage-notices/").json()["results"] == []


def test_create_announce_finish_through_the_api(p, grid, api):
    client = api(p.supervisor)
    bad = client.post(
        "/api/v1/outages/",
        {
            "kind": "planned",
            "feeders": [],
            "planned_start": _when(3 * DAY),
            "planned_end": _when(2 * DAY),
            "reason": "检修",
        },
        format="json",
    )
    assert bad.status_code == 400 and {"feeders", "planned_end"} <= set(bad.json()["errors"])
    created = client.post(
        "/api/v1/outages/",
        {
            "kind": "planned",
            "feeders": [grid.f1.pk],
            "planned_start": _when(3 * DAY),
            "planned_end": _when(4 * DAY),
            "reason": "检修",
        },
        format="json",
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    late = client.post(f"/api/v1/outages/{pk}/announce/", {}, format="json")
    assert late.status_code == 400 and "late_reason" in late.json()["errors"]
    done = client.post(f"/api/v1/outages/{pk}/announce/", {"late_reason": "紧急"}, format="json")
    assert done.json() == {"notices": 2, "created": 2, "updated": 0, "unchanged": 0, "late": 2, "withdrawn": 0}
    changed = client.patch(
        f"/api/v1/outages/{pk}/", {"planned_start": _when(8 * DAY), "planned_end": _when(9 * DAY)}, format="json"
    )
    assert changed.status_code == 200
    again = client.post(f"/api/v1/outages/{pk}/announce/", {}, format="json").json()
    assert (again["updated"], again["late"]) == (2, 0)
    assert api(p.manager).post(f"/api/v1/outages/{pk}/announce/", {}, format="json").status_code == 403
    fault = outage([grid.f2], user=p.supervisor, kind="fault", start=timezone.now() - DAY)
    finish = client.post(
        f"/api/v1/outages/{fault.pk}/finish/",
        {"actual_start": _when(-DAY), "actual_end": _when(-DAY + dt.timedelta(minutes=90))},
        format="json",
    )
    assert finish.status_code == 200 and finish.json()["duration_minutes"] == 90
    assert client.post(f"/api/v1/outages/{pk}/cancel/", {"reason": ""}, format="json").status_code == 400


def test_acknowledge_and_follow_up_through_the_api(p, grid, api):
    out = outage([grid.f1], user=p.supervisor, kind="fault", start=timezone.now() - DAY)
    outage_announce(outage=out, user=p.supervisor)
    mine = OutageNotice.objects.get(customer=p.a1)
    response = api(p.customer_user).post(f"/api/v1/outage-notices/{mine.pk}/acknowledge/", {}, format="json")
    assert response.status_code == 200 and response.json()["ack_channel"] == "portal"
    a2 = OutageNotice.objects.get(customer=p.a2)
    no_person = api(p.manager).post(f"/api/v1/outage-notices/{a2.pk}/acknowledge/", {}, format="json")
    assert no_person.status_code == 400 and "person" in no_person.json()["errors"]
    assert (
        api(p.customer_user).post(f"/api/v1/outage-notices/{mine.pk}/follow-up/", {}, format="json").status_code == 403
    )
    Outage.objects.filter(pk=out.pk).update(actual_start=timezone.now() - DAY, status="in_progress")
    followed = api(p.manager).post(
        f"/api/v1/outage-notices/{a2.pk}/follow-up/", {"kind": "request", "description": "生产损失"}, format="json"
    )
    assert followed.status_code == 200 and followed.json()["follow_up_request"] and followed.json()["hurt"]


def test_supplies_create_delete_and_import(p, grid, api):
    client = api(p.supervisor)
    account = account_of(p.a3)
    created = client.post("/api/v1/account-supplies/", {"account": account.pk, "feeder": grid.f3.pk, "role": "backup"})
    assert created.status_code == 201
    repeat = client.post("/api/v1/account-supplies/", {"account": account.pk, "feeder": grid.f3.pk, "role": "main"})
    assert repeat.status_code == 400
    other = client.post("/api/v1/account-supplies/", {"account": account_of(p.b1).pk, "feeder": grid.f3.pk})
    assert other.status_code == 400 and "account" in other.json()["errors"]
    assert api(p.manager).delete(f"/api/v1/account-supplies/{created.json()['id']}/").status_code == 403
    assert client.delete(f"/api/v1/account-supplies/{created.json()['id']}/").status_code == 204
    upload = SimpleUploadedFile("s.csv", f"account_no,feeder_code,role\n{account.account_no},F9,main\n".encode())
    rejected = client.post("/api/v1/account-supplies/import/", {"file": upload}, format="multipart")
    assert rejected.status_code == 400 and rejected.json()["rejected"][0]["line"] == 2


def test_list_queries_do_not_grow(p, grid, api, django_assert_max_num_queries):
    client = api(p.supervisor)
    for _i in range(2):
        outage_announce(outage=outage([grid.f1], user=p.supervisor), user=p.supervisor)
    counts = {}
    for url in ("/api/v1/outages/", "/api/v1/outage-notices/", "/api/v1/feeders/", "/api/v1/account-supplies/"):
        with django_assert_max_num_queries(30) as few:
            assert client.get(url).status_code == 200
        counts[url] = len(few.captured_queries)
    for _i in range(18):
        outage_announce(outage=outage([grid.f1, grid.f2], user=p.supervisor), user=p.supervisor)
    for url, n in counts.items():
        with django_assert_max_num_queries(n):
            client.get(url)
