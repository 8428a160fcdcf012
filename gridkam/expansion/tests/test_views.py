"""Expansion pages for every persona: staff pages (anonymous → login, portal users → 403, projects of customers the
user does not see → 404, writes by people who may not change the customer → 403), the create → advance →
energise flow, clock stops, documents, cancel, the time limits, the portal pages, Excel, and query counts that do
not grow with rows."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import load_workbook

from gridkam.core.testing import make_user, persona
from gridkam.expansion.choices import ProjectKind, ProjectStatus, Stage
from gridkam.expansion.models import Project, TimeLimit
from gridkam.expansion.services import stage_advance
from gridkam.users.choices import Role

from .support import DAY, PNG, account_of, project

pytestmark = pytest.mark.django_db

STAFF_PAGES = ["/expansion/", "/expansion/board/", "/expansion/time-limits/"]


@pytest.mark.parametrize("url", [*STAFF_PAGES, "/expansion/new/"])
@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 302), ("customer_user", 403), ("manager", 200), ("outsider", 200), ("supervisor", 200)],
)
def test_staff_pages_access(p, client, client_for, url, who, status):
    user = persona(p, who)
    response = (client_for(user) if user else client).get(url)
    assert response.status_code == status


def test_clerks_read_but_do_not_create(p, client_for):
    client = client_for(p.clerk)
    assert client.get("/expansion/").status_code == 200
    assert client.get("/expansion/new/").status_code == 403


def test_lists_show_only_visible_projects(p, client_for):
    mine = project(p)
    theirs = project(p, customer=p.b1, user=p.outsider)
    for url in ("/expansion/", "/expansion/board/"):
        body = client_for(p.manager).get(url).content.decode()
        assert mine.number in body and theirs.number not in body
        body = client_for(p.outsider).get(url).content.decode()
        assert theirs.number in body and mine.number not in body


@pytest.mark.parametrize(
    ("who", "get", "post"),
    [
        ("anonymous", 302, 302),
        ("customer_user", 403, 403),
        ("outsider", 404, 404),
        ("clerk", 200, 403),
        ("manager", 200, 302),
    ],
)
def test_project_pages_access(p, client, client_for, who, get, post):
    pr = project(p)
    user = persona(p, who)
    client = client_for(user) if user else client
    assert client.get(f"/expansion/{pr.pk}/").status_code == get
    today = timezone.localdate().isoformat()
    posts = {
        "clock-stop": {"on": today, "reason": "客户设计"},
        "documents": {"stage": pr.stages.get().pk, "documents": SimpleUploadedFile("a.png", PNG)},
        "advance": {"on": today},
        "cancel": {"reason": "撤回"},
    }
    for action, data in posts.items():
        if post == 302 and action == "cancel":
            continue  # the manager's advance went through; cancelling is tested on its own
        assert client.post(f"/expansion/{pr.pk}/{action}/", data).status_code == post, action
        if action == "clock-stop" and post == 302:
            client.post(f"/expansion/{pr.pk}/clock-stop/", {"on": today})  # run again before advancing
    pr.refresh_from_db()
    if post == 302 and who != "anonymous":
        assert pr.current_stage == Stage.SITE_SURVEY and pr.stages.get(stage=Stage.APPLICATION).documents.exists()
    else:
        assert pr.status == ProjectStatus.IN_PROGRESS and pr.current_stage == Stage.APPLICATION
        assert not pr.clock_stops.exists()


def test_create_advance_and_energise_through_the_pages(p, client_for):
    client = client_for(p.manager)
    accepted = timezone.localdate() - 40 * DAY
    response = client.post(
        "/expansion/new/",
        {
            "customer": p.a2.pk,
            "kind": ProjectKind.CAPACITY_INCREASE,
            "requested_capacity_kva": "4000",
            "supply_mode": "single",
            "voltage_kv": "10",
            "accepted_on": accepted.isoformat(),
        },
    )
    assert response.status_code == 200  # a capacity increase needs its account
    assert "account" in response.context["form"].errors
    account = account_of(p.a2)
    response = client.post(
        "/expansion/new/",
        {
            "customer": p.a2.pk,
            "kind": ProjectKind.CAPACITY_INCREASE,
            "account": account.pk,
            "requested_capacity_kva": "4000",
            "supply_mode": "single",
            "voltage_kv": "10",
            "accepted_on": accepted.isoformat(),
        },
    )
    pr = Project.objects.get()
    assert response["Location"] == f"/expansion/{pr.pk}/"
    day = accepted
    for _ in range(6):
        day += DAY
        assert client.post(f"/expansion/{pr.pk}/advance/", {"on": day.isoformat()}).status_code == 302
    pr.refresh_from_db()
    assert pr.current_stage == Stage.ENERGISATION
    page = client.get(f"/expansion/{pr.pk}/")
    assert "contract_demand_kw" in page.context["advance_form"].fields
    assert "account_no" not in page.context["advance_form"].fields
    response = client.post(f"/expansion/{pr.pk}/advance/", {"on": (day + DAY).isoformat()})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.capacity_kva == Decimal("4000")
    pr.refresh_from_db()
    assert pr.status == ProjectStatus.COMPLETED
    body = client.get(f"/expansion/{pr.pk}/").content.decode()
    assert 'data-testid="account-capacity">4000.00<' in body


def test_a_late_stage_shows_the_reason_field_error(p, client_for):
    pr = project(p, accepted_on=timezone.localdate() - 80 * DAY)
    for offset in (1, 2, 3):
        pr = stage_advance(project=pr, user=p.manager, on=pr.accepted_on + offset * DAY)
    response = client_for(p.manager).post(f"/expansion/{pr.pk}/advance/", {"on": timezone.localdate().isoformat()})
    assert response.status_code == 200
    assert "breach_reason" in response.context["advance_form"].errors


def test_clock_stop_then_restart(p, client_for):
    pr = project(p, accepted_on=timezone.localdate() - 10 * DAY)
    client = client_for(p.manager)
    start = (timezone.localdate() - 5 * DAY).isoformat()
    assert client.post(f"/expansion/{pr.pk}/clock-stop/", {"on": start, "reason": ""}).status_code == 200
    assert client.post(f"/expansion/{pr.pk}/clock-stop/", {"on": start, "reason": "客户设计"}).status_code == 302
    pr.refresh_from_db()
    assert pr.clock_stopped
    body = client.get(f"/expansion/{pr.pk}/").content.decode()
    assert "客户设计" in body and 'data-days-left="stopped"' in body
    assert client.post(f"/expansion/{pr.pk}/clock-stop/", {"on": timezone.localdate().isoformat()}).status_code == 302
    pr.refresh_from_db()
    assert not pr.clock_stopped


def test_documents_upload_and_download(p, client_for):
    pr = project(p)
    stage = pr.stages.get()
    client = client_for(p.manager)
    bad = client.post(
        f"/expansion/{pr.pk}/documents/", {"stage": stage.pk, "documents": SimpleUploadedFile("x.txt", b"hello")}
    )
    assert bad.status_code == 200 and bad.context["document_form"].errors["documents"]
    client.post(f"/expansion/{pr.pk}/documents/", {"stage": stage.pk, "documents": SimpleUploadedFile("a.png", PNG)})
    document = stage.documents.get()
    assert client.get(f"/expansion/documents/{document.pk}/").status_code == 200
    assert client_for(p.outsider).get(f"/expansion/documents/{document.pk}/").status_code == 404
    assert client_for(p.customer_user).get(f"/expansion/documents/{document.pk}/").status_code == 403


def test_cancel(p, client_for):
    pr = project(p)
    client = client_for(p.manager)
    assert client.post(f"/expansion/{pr.pk}/cancel/", {"reason": ""}).status_code == 200
    assert client.post(f"/expansion/{pr.pk}/cancel/", {"reason": "客户撤回"}).status_code == 302
    pr.refresh_from_db()
    assert pr.status == ProjectStatus.CANCELLED
    assert "advance_form" not in client.get(f"/expansion/{pr.pk}/").context


def test_filters_and_excel(p, client_for):
    late = project(p, accepted_on=timezone.localdate() - 60 * DAY)
    fresh = project(p, kind=ProjectKind.SUSPENSION, accepted_on=timezone.localdate())
    client = client_for(p.manager)
    rows = client.get("/expansion/?overdue=true").context["object_list"]
    assert [r.pk for r in rows] == [late.pk]
    rows = client.get("/expansion/?kind=suspension&owner=mine").context["object_list"]
    assert [r.pk for r in rows] == [fresh.pk]
    rows = client.get("/expansion/?stage=application&sort=due_date").context["object_list"]
    assert {r.pk for r in rows} == {late.pk, fresh.pk}
    response = client.get("/expansion/?export=xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    numbers = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert numbers == {late.number, fresh.number}
    board = client.get("/expansion/board/").context["columns"]
    assert [pr.pk for pr in board[0].projects] == [late.pk, fresh.pk]  # most urgent first
    assert board[0].projects[0].days_left < 0


def test_time_limits_are_changed_by_supervisors_only(p, client_for):
    limit = TimeLimit.objects.get(voltage_class="high", kind=ProjectKind.NEW_CONNECTION, supply_mode="single", stage="")
    assert client_for(p.manager).post("/expansion/time-limits/", {f"limit-{limit.pk}": "20"}).status_code == 403
    client = client_for(p.supervisor)
    response = client.post("/expansion/time-limits/", {f"limit-{limit.pk}": "0"})
    assert response.status_code == 200 and limit.pk in response.context["errors"]
    response = client.post("/expansion/time-limits/", {f"limit-{limit.pk}": "20"}, follow=True)
    assert "已修改 1 项时限。" in response.content.decode()
    limit.refresh_from_db()
    assert limit.working_days == 20


@pytest.mark.parametrize("url", ["/expansion/", "/expansion/board/"])
def test_list_queries_do_not_grow_with_rows(p, client_for, django_assert_max_num_queries, url):
    client = client_for(p.manager)
    project(p)
    project(p, customer=p.a2, kind=ProjectKind.SUSPENSION)
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    for i in range(18):
        project(p, customer=[p.a1, p.a2][i % 2], accepted_on=timezone.localdate() - i * DAY)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200


# --- Portal -------------------------------------------------------------------------------------------------


def test_portal_shows_progress_without_internal_fields(p, client_for):
    pr = project(p, accepted_on=timezone.localdate() - 5 * DAY)
    stage_advance(project=pr, user=p.manager, on=timezone.localdate(), notes="内部备注：图纸待补")
    theirs = project(p, customer=p.b1, user=p.outsider)
    client = client_for(p.customer_user)
    body = client.get("/expansion/portal/").content.decode()
    assert pr.number in body and theirs.number not in body
    detail = client.get(f"/expansion/portal/{pr.pk}/")
    text = detail.content.decode()
    assert detail.status_code == 200 and 'data-state="current"' in text
    assert "内部备注" not in text and str(p.manager) not in text
    assert client.get(f"/expansion/portal/{theirs.pk}/").status_code == 404


@pytest.mark.parametrize(("who", "status"), [("anonymous", 302), ("manager", 403), ("outsider", 403)])
def test_portal_pages_are_for_customer_users(p, client, client_for, who, status):
    pr = project(p)
    user = persona(p, who)
    client = client_for(user) if user else client
    assert client.get("/expansion/portal/").status_code == status
    assert client.get(f"/expansion/portal/{pr.pk}/").status_code == status


def test_another_customers_user_gets_404(p, client_for):
    pr = project(p)
    other = make_user("b1-portal", role=Role.CUSTOMER_USER, customer=p.b1)
    assert client_for(other).get(f"/expansion/portal/{pr.pk}/").status_code == 404


def test_portal_list_queries_do_not_grow(p, client_for, django_assert_max_num_queries):
    client = client_for(p.customer_user)
    project(p)
    with django_assert_max_num_queries(40) as few:
        client.get("/expansion/portal/")
    for i in range(10):
        project(p, accepted_on=timezone.localdate() - i * DAY)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/expansion/portal/")


def test_the_time_limit_page_saves_nothing_when_one_value_is_invalid(p, client_for):
    a, b = TimeLimit.objects.order_by("pk")[:2]
    response = client_for(p.supervisor).post("/expansion/time-limits/", {f"limit-{a.pk}": "7", f"limit-{b.pk}": "0"})
    assert response.status_code == 200 and list(response.context["errors"]) == [b.pk]
    a.refresh_from_db()
    assert a.working_days != 7


def test_a_customer_id_beyond_the_id_range_filters_nothing_and_does_not_fail(p, client_for, api):
    project(p)
    huge = "99999999999999999999"
    assert client_for(p.manager).get(f"/expansion/?customer={huge}").status_code == 200
    assert api(p.manager).get(f"/api/v1/expansion-projects/?customer={huge}").status_code == 400
