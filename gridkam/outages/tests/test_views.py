"""Outage pages for every persona: staff pages (anonymous → login, portal users → 403, outsiders → 404 for an object of
another unit), planner-only pages (others 403), the portal list and acknowledgement (staff → 403, another customer's
notice → 404). The form, announcing, the import page and query counts that do not grow with rows."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import load_workbook

from gridkam.core.testing import make_user, persona
from gridkam.users.choices import Role

from ..choices import OutageKind, OutageStatus
from ..models import Outage, OutageNotice
from ..services import outage_announce, outage_record_actual
from .support import DAY, account_of, outage


@pytest.fixture
def announced(p, grid):
    out = outage([grid.f1], user=p.supervisor)
    outage_announce(outage=out, user=p.supervisor)
    return out


def pages(out, grid) -> dict[str, str]:
    return {
        "list": "/outages/",
        "detail": f"/outages/{out.pk}/",
        "feeders": "/outages/feeders/",
        "feeder": f"/outages/feeders/{grid.f1.pk}/",
        "preview": f"/outages/affected/?feeders={grid.f1.pk}",
    }


@pytest.mark.parametrize("page", ["list", "detail", "feeders", "feeder", "preview"])
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("customer_user", 403),
        ("outsider", 404),
        ("manager", 200),
        ("clerk", 200),
        ("supervisor", 200),
        ("admin", 200),
    ],
)
def test_staff_pages_access(p, grid, announced, client, client_for, page, who, status):
    user = persona(p, who)
    response = (client_for(user) if user else client).get(pages(announced, grid)[page])
    expected = 200 if page in ("list", "feeders", "preview") and status == 404 else status
    assert response.status_code == expected


def test_outsiders_lists_do_not_show_other_units(p, grid, announced, client_for):
    client = client_for(p.outsider)
    assert announced.number not in client.get("/outages/").content.decode()
    assert f'data-feeder="{grid.f1.pk}"' not in client.get("/outages/feeders/").content.decode()
    assert 'data-testid="affected-row"' not in client.get(f"/outages/affected/?feeders={grid.f1.pk}").content.decode()


@pytest.mark.parametrize("url", ["/outages/new/", "/outages/feeders/import/", "edit", "announce", "actual", "cancel"])
@pytest.mark.parametrize(("who", "status"), [("manager", 403), ("clerk", 403), ("customer_user", 403)])
def test_planner_pages_refuse_other_roles(p, grid, announced, client_for, url, who, status):
    if not url.startswith("/"):
        url = f"/outages/{announced.pk}/{url}/"
    client = client_for(getattr(p, who))
    assert (client.get(url) if url.endswith(("new/", "import/", "edit/")) else client.post(url)).status_code == status


@pytest.mark.parametrize("action", ["edit", "announce", "actual", "cancel"])
def test_planners_of_another_unit_get_404(p, grid, announced, client_for, action):
    other = make_user("sup-b", role=Role.SUPERVISOR, org_unit=p.city_b)
    url = f"/outages/{announced.pk}/{action}/"
    response = client_for(other).get(url) if action == "edit" else client_for(other).post(url)
    assert response.status_code == 404


def test_detail_shows_affected_notices_and_who_has_not_acknowledged(p, grid, announced, client_for):
    response = client_for(p.supervisor).get(f"/outages/{announced.pk}/")
    assert [a.customer for a in response.context["affected"]] == [p.a2, p.a1]
    assert [n.customer for n in response.context["unacknowledged"]] == [p.a2, p.a1]  # important users first
    body = response.content.decode()
    assert 'data-backup="1"' in body and 'data-testid="notice-row"' in body


def test_a_supervisor_creates_an_outage_with_the_form(p, grid, client_for):
    client = client_for(p.supervisor)
    start = timezone.localtime(timezone.now() + 10 * DAY)
    data = {
        "kind": OutageKind.PLANNED,
        "feeders": [grid.f1.pk],
        "planned_start": start.strftime("%Y-%m-%dT%H:%M"),
        "planned_end": (start + DAY).strftime("%Y-%m-%dT%H:%M"),
        "reason": "10kV线路改造",
        "scope": "惠城区江北",
    }
    bad = client.post("/outages/new/", {**data, "feeders": [], "planned_end": data["planned_start"]})
    assert bad.status_code == 200 and {"feeders", "planned_end"} <= set(bad.context["form"].errors)
    response = client.post("/outages/new/", data)
    out = Outage.objects.get(reason="10kV线路改造")
    assert response.status_code == 302 and response["Location"] == f"/outages/{out.pk}/"
    assert out.status == OutageStatus.DRAFT and list(out.feeders.all()) == [grid.f1]


def test_announcing_late_without_a_reason_shows_the_field_error(p, grid, client_for):
    out = outage([grid.f1], user=p.supervisor, start=timezone.now() + 2 * DAY)
    client = client_for(p.supervisor)
    response = client.post(f"/outages/{out.pk}/announce/", {"late_reason": ""})
    assert response.status_code == 200 and "late_reason" in response.context["announce_form"].errors
    assert not OutageNotice.objects.exists()
    response = client.post(f"/outages/{out.pk}/announce/", {"late_reason": "抢修需要"})
    assert response.status_code == 302 and OutageNotice.objects.count() == 2
    assert client.get("/outages/").context["breaches"] == 1


def test_phone_acknowledgement_and_follow_up_from_the_page(p, grid, client_for):
    out = outage([grid.f1], user=p.supervisor, kind=OutageKind.FAULT, start=timezone.now() - DAY)
    outage_announce(outage=out, user=p.supervisor)
    notice = OutageNotice.objects.get(customer=p.a2)
    client = client_for(p.manager)
    assert client.post(f"/outages/notices/{notice.pk}/acknowledge/", {"person": ""}).status_code == 200
    assert client.post(f"/outages/notices/{notice.pk}/acknowledge/", {"person": "值班电工王"}).status_code == 302
    notice.refresh_from_db()
    assert notice.ack_person == "值班电工王"
    early = client.post(f"/outages/notices/{notice.pk}/follow-up/", {"kind": "request", "description": "损失"})
    assert early.status_code == 200 and early.context["bound_follow_up_form"].errors
    start = timezone.now() - 20 * 3600 * timezone.timedelta(seconds=1)
    outage_record_actual(outage=out, actual_start=start, actual_end=timezone.now(), user=p.supervisor)
    assert (
        client.post(f"/outages/notices/{notice.pk}/follow-up/", {"kind": "request", "description": "损失"}).status_code
        == 302
    )
    notice.refresh_from_db()
    assert notice.follow_up_request is not None
    assert client_for(p.outsider).post(f"/outages/notices/{notice.pk}/acknowledge/", {"person": "x"}).status_code == 404
    assert client_for(p.clerk).post(f"/outages/notices/{notice.pk}/acknowledge/", {"person": "x"}).status_code == 403


def test_actual_times_and_cancel_from_the_page(p, grid, announced, client_for):
    client = client_for(p.supervisor)
    assert client.post(f"/outages/{announced.pk}/cancel/", {"reason": ""}).status_code == 200
    assert client.post(f"/outages/{announced.pk}/cancel/", {"reason": "天气"}).status_code == 302
    announced.refresh_from_db()
    assert announced.status == OutageStatus.CANCELLED
    assert client.get(f"/outages/{announced.pk}/edit/").status_code == 403


def test_the_list_filters_sorts_and_exports(p, grid, announced, client_for):
    client = client_for(p.supervisor)
    fault = outage([grid.f2], user=p.supervisor, kind=OutageKind.FAULT)
    assert list(client.get("/outages/?kind=fault").context["object_list"]) == [fault]
    assert list(client.get(f"/outages/?feeder={grid.f1.pk}").context["object_list"]) == [announced]
    assert list(client.get("/outages/?status=announced&sort=number").context["object_list"]) == [announced]
    chart = client.get("/outages/").context["chart"]
    assert sum(sum(s["data"]) for s in chart["series"]) == 2
    response = client.get("/outages/?export=xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.max_row == 3


def test_list_queries_do_not_grow_with_rows(p, grid, client_for, django_assert_max_num_queries):
    client = client_for(p.supervisor)
    for _i in range(2):
        outage_announce(outage=outage([grid.f1, grid.f2], user=p.supervisor), user=p.supervisor)
    with django_assert_max_num_queries(40) as few:
        assert client.get("/outages/").status_code == 200
    for _i in range(18):
        outage_announce(outage=outage([grid.f1, grid.f3], user=p.supervisor), user=p.supervisor)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/outages/")
    with django_assert_max_num_queries(30) as feeders:
        client.get("/outages/feeders/")
    assert len(feeders.captured_queries) < 30


def test_detail_queries_do_not_grow_with_notices(p, grid, client_for, django_assert_max_num_queries):
    from gridkam.core.testing import make_account

    from .support import supply

    client = client_for(p.manager)
    out = outage([grid.f1], user=p.supervisor)
    outage_announce(outage=out, user=p.supervisor)
    with django_assert_max_num_queries(60) as few:
        client.get(f"/outages/{out.pk}/")
    for customer in (p.a3, p.a1_sub, p.a2, p.a1):
        supply(make_account(customer=customer, points=0), grid.f1)
    out.planned_start += DAY
    out.planned_end += DAY
    out.save()
    outage_announce(outage=out, user=p.supervisor)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(f"/outages/{out.pk}/")
    assert len(response.context["notices"]) == 4 and len(response.context["affected"]) == 6


def test_import_page(p, grid, client_for):
    client = client_for(p.supervisor)
    no = account_of(p.a3).account_no
    upload = SimpleUploadedFile("links.csv", f"account_no,feeder_code,role\n{no},F1,backup\n{no},X,main\n".encode())
    response = client.post("/outages/feeders/import/", {"file": upload})
    assert response.status_code == 200 and [r["line"] for r in response.context["result"]["rejected"]] == [3]
    upload = SimpleUploadedFile("links.csv", f"account_no,feeder_code,role\n{no},F1,backup\n".encode())
    assert client.post("/outages/feeders/import/", {"file": upload}).context["result"]["created"] == 1


# --- Portal ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 302), ("manager", 403), ("supervisor", 403), ("customer_user", 200)]
)
def test_portal_list_access(p, grid, announced, client, client_for, who, status):
    user = persona(p, who)
    assert (client_for(user) if user else client).get("/outages/portal/").status_code == status


def test_a_portal_user_sees_only_own_notices_and_acknowledges(p, grid, announced, client_for):
    client = client_for(p.customer_user)
    response = client.get("/outages/portal/")
    assert [n.customer for n in response.context["waiting"]] == [p.a1]
    theirs = OutageNotice.objects.get(customer=p.a2)
    assert client.post(f"/outages/portal/{theirs.pk}/acknowledge/").status_code == 404
    mine = OutageNotice.objects.get(customer=p.a1)
    assert client.post(f"/outages/portal/{mine.pk}/acknowledge/").status_code == 302
    mine.refresh_from_db()
    assert mine.ack_channel == "portal" and mine.acknowledged_by == p.customer_user
    assert client.get("/outages/portal/").context["waiting"] == []
    assert client_for(p.manager).post(f"/outages/portal/{mine.pk}/acknowledge/").status_code == 403


def test_portal_list_queries_do_not_grow(p, grid, client_for, django_assert_max_num_queries):
    client = client_for(p.customer_user)
    outage_announce(outage=outage([grid.f1], user=p.supervisor), user=p.supervisor)
    with django_assert_max_num_queries(30) as few:
        client.get("/outages/portal/")
    for _i in range(12):
        outage_announce(outage=outage([grid.f1, grid.f3], user=p.supervisor), user=p.supervisor)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/outages/portal/")
    assert len(response.context["waiting"]) == 25
