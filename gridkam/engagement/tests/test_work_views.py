"""My work pages and their API twin: access for every persona, filters, sorting, pagination, export, the task
"done" action, the calendar (own and a member's) and constant query counts."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from gridkam.core.testing import persona
from gridkam.engagement.models import TaskStatus
from gridkam.users.choices import Role
from gridkam.users.models import Team

from .test_work_selectors import make_occurrence, make_request, make_task, make_warning

STAFF = ["manager", "colleague", "engineer", "clerk", "supervisor", "outsider", "admin"]


def _today():
    return timezone.localdate()


def _fill(p, n: int):
    now, today = timezone.now(), _today()
    for k in range(n):
        make_request(p.a1, p.manager, due=now + dt.timedelta(hours=k - n // 2))
        make_occurrence(p.a2, p.manager, due=today + dt.timedelta(days=k % 20 - 5))
        make_task(p.a1_sub, p.manager, due=today + dt.timedelta(days=k % 9 - 4))
        make_warning(p.a2, due=today + dt.timedelta(days=k % 3))


@pytest.mark.parametrize("who", [*STAFF, "customer_user", "anonymous"])
@pytest.mark.parametrize("url", ["/work/", "/work/calendar/"])
def test_page_access(p, client, client_for, who, url):
    user = persona(p, who)
    response = client_for(user).get(url) if user else client.get(url)
    if who == "anonymous":
        assert response.status_code == 302
    elif who == "customer_user":
        assert response.status_code == 403
    else:
        assert response.status_code == 200


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "1899-12", "3000-01", "2026-13", "x", "2026-1-1"])
def test_a_calendar_month_out_of_range_shows_the_current_month(p, client_for, month):
    response = client_for(p.manager).get("/work/calendar/", {"month": month})
    assert response.status_code == 200
    assert response.context["cal"].month == timezone.localdate().replace(day=1)


def test_page_lists_the_queue_with_counts_and_overdue_rows(p, client_for):
    _fill(p, 2)
    make_task(p.b1, p.outsider)  # someone else's
    response = client_for(p.manager).get("/work/")
    html = response.content.decode()
    queue = response.context["queue"]
    assert queue.counts == {"request": 2, "plan_item": 2, "warning": 2, "task": 2, "message": 0}
    assert html.count('data-testid="work-row"') == 8
    assert 'data-testid="work-count-task" data-count="2"' in html
    assert 'data-overdue="1"' in html and 'data-testid="sla-badge"' in html
    # Rows sorted overdue first.
    flags = [item.overdue for item in response.context["items"]]
    assert flags == sorted(flags, reverse=True)


def test_filters_sort_and_pagination(p, client_for):
    _fill(p, 15)
    c = client_for(p.manager)
    kinds = {i.kind for i in c.get("/work/?kind=task").context["items"]}
    assert kinds == {"task"}
    overdue = c.get("/work/?overdue=1&page_size=100").context["items"]
    assert overdue and all(i.overdue for i in overdue)
    make_task(p.a3, p.manager, title="另一个客户")
    found = c.get("/work/", {"q": p.a3.name[:4]}).context["items"]
    assert [i.customer_id for i in found] == [p.a3.pk]
    by_kind = c.get("/work/?sort=kind&page_size=100").context["items"]
    order = ["request", "plan_item", "warning", "task"]
    assert [order.index(i.kind) for i in by_kind] == sorted(order.index(i.kind) for i in by_kind)
    page2 = c.get("/work/?page=2")
    assert page2.context["page_obj"].number == 2 and len(page2.context["items"]) == 25
    assert page2.context["paginator"].count == 61
    assert len(c.get("/work/?page=3").context["items"]) == 11
    htmx = c.get("/work/?kind=request", HTTP_HX_REQUEST="true")
    assert b"<html" not in htmx.content and b'data-testid="work-table"' in htmx.content


def test_export_to_excel(p, client_for):
    _fill(p, 3)
    response = client_for(p.manager).get("/work/?export=xlsx&kind=warning")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 3


def test_task_done_from_my_work_comes_back(p, client_for):
    task = make_task(p.a1, p.manager)
    response = client_for(p.manager).post(f"/tasks/{task.pk}/done/", {"note": "已处理", "next": "/work/?kind=task"})
    assert response.status_code == 302 and response["Location"] == "/work/?kind=task"
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    other = make_task(p.a1, p.manager)
    response = client_for(p.manager).post(f"/tasks/{other.pk}/done/", {"next": "https://evil.example/"})
    assert response["Location"] == "/tasks/"


def test_page_query_count_is_constant(p, client_for):
    c = client_for(p.manager)
    _fill(p, 1)
    c.get("/work/")
    with CaptureQueriesContext(connection) as few:
        c.get("/work/")
    _fill(p, 40)
    with CaptureQueriesContext(connection) as many:
        response = c.get("/work/?page_size=100")
    assert response.context["paginator"].count == 164
    assert len(many) == len(few)
    with CaptureQueriesContext(connection) as calendar_few:
        c.get("/work/calendar/")
    _fill(p, 10)
    with CaptureQueriesContext(connection) as calendar_many:
        c.get("/work/calendar/")
    assert len(calendar_many) == len(calendar_few)


def test_calendar_page_marks_today_and_moves_by_month(p, client_for):
    today = _today()
    task = make_task(p.a1, p.manager, due=today)
    c = client_for(p.manager)
    html = c.get("/work/calendar/").content.decode()
    assert f'data-day="{today:%Y-%m-%d}" data-today="1"' in html
    assert f'data-testid="calendar-item" data-kind="task" data-id="{task.pk}"' in html
    response = c.get("/work/calendar/?month=2030-02")
    assert response.context["cal"].month == dt.date(2030, 2, 1)
    assert 'data-today="1"' not in response.content.decode()
    assert c.get("/work/calendar/?month=junk").context["cal"].month == today.replace(day=1)
    assert c.get("/work/calendar/?month=2030-13").context["cal"].month == today.replace(day=1)


def test_member_calendar_for_leads_only(p, client_for):
    task = make_task(p.a3, p.colleague)
    url = f"/work/calendar/?user={p.colleague.pk}"
    # The manager leads team A, the colleague's team; the supervisor's unit holds it; the admin sees all.
    for lead in (p.manager, p.supervisor, p.admin):
        response = client_for(lead).get(url)
        assert response.status_code == 200 and response.context["holder"] == p.colleague
        assert task.pk in {i.id for i in response.context["cal"].items}
    # A member of no team the user leads: 404, whoever they are.
    team_b = Team.objects.create(name="汕头一班", org_unit=p.city_b, lead=p.outsider)
    p.outsider.team = team_b
    p.outsider.save()
    assert client_for(p.outsider).get(url).status_code == 404
    assert client_for(p.colleague).get(f"/work/calendar/?user={p.manager.pk}").status_code == 404
    assert client_for(p.engineer).get(url).status_code == 404
    assert client_for(p.manager).get("/work/calendar/?user=abc").status_code == 404
    assert client_for(p.manager).get("/work/calendar/?user=99999999999999999999999").status_code == 404


# --- API ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [*STAFF, "customer_user", "anonymous"])
def test_api_access(p, api, who):
    response = api(persona(p, who)).get("/api/v1/my-work/")
    expected = {"anonymous": (401, 403), "customer_user": (403,)}.get(who, (200,))
    assert response.status_code in expected


def test_api_lists_the_queue_with_filters(p, api):
    _fill(p, 3)
    make_task(p.b1, p.outsider)
    client = api(p.manager)
    body = client.get("/api/v1/my-work/").json()
    assert body["count"] == 12
    first = body["results"][0]
    assert set(first) >= {"key", "kind", "id", "title", "customer", "customer_name", "due", "overdue", "sla", "url"}
    assert first["overdue"] is True
    requests = client.get("/api/v1/my-work/?kind=request").json()["results"]
    assert {r["kind"] for r in requests} == {"request"} and requests[0]["sla"]["state"]
    both = client.get("/api/v1/my-work/?kind=request&kind=task").json()
    assert both["count"] == 6
    assert all(r["overdue"] for r in client.get("/api/v1/my-work/?overdue=true").json()["results"])
    assert client.get("/api/v1/my-work/?page_size=5").json()["next"]
    # The outsider sees his own only.
    outsider = api(p.outsider).get("/api/v1/my-work/").json()
    assert outsider["count"] == 1 and outsider["results"][0]["customer"] == p.b1.pk


def test_api_query_count_is_constant(p, api):
    client = api(p.manager)
    _fill(p, 1)
    client.get("/api/v1/my-work/")
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/my-work/")
    _fill(p, 20)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/api/v1/my-work/").json()["count"] == 84
    assert len(many) == len(few)


def test_team_link_only_for_leads(p, client_for):
    assert p.engineer.role == Role.FIELD_ENGINEER
    assert client_for(p.engineer).get("/work/").context["may_lead"] is False
    assert client_for(p.manager).get("/work/").context["may_lead"] is True
