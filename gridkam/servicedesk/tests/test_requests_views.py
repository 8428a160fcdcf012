"""Service request pages: access for every persona, the list's filters, sorting, export and query count, the
create form with field errors, the detail page with its actions, and attachment downloads."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from gridkam.core.testing import persona
from gridkam.servicedesk import services
from gridkam.servicedesk.choices import EventKind, RequestStatus, RequestType
from gridkam.servicedesk.models import RequestAttachment, RequestEvent, ServiceRequest

from .conftest import NOW, exe_as_png, pdf, png

pytestmark = pytest.mark.django_db
READERS = ["manager", "colleague", "engineer", "clerk", "supervisor", "admin", "customer_user"]
ACTORS = ["manager", "colleague", "engineer", "supervisor", "admin"]
LIST = reverse("servicedesk:request_list")
NEW = reverse("servicedesk:request_create")


def detail(request) -> str:
    return reverse("servicedesk:request_detail", args=[request.pk])


def act(request, action: str) -> str:
    return reverse("servicedesk:request_action", args=[request.pk, action])


def test_anonymous_goes_to_login(client, make_request):
    request = make_request()
    for url in (LIST, NEW, detail(request), act(request, "note")):
        response = client.get(url) if "note" not in url else client.post(url)
        assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("name", READERS)
def test_readers_see_list_and_detail(p, client_for, make_request, name):
    request = make_request()
    client = client_for(persona(p, name))
    response = client.get(LIST)
    assert response.status_code == 200
    assert request in response.context["rows"]
    assert client.get(detail(request)).status_code == 200


def test_outsider_gets_404_and_an_empty_list(p, client_for, make_request):
    request = make_request()
    client = client_for(p.outsider)
    assert client.get(detail(request)).status_code == 404
    assert client.post(act(request, "note"), {"note-body": "x"}).status_code == 404
    assert request not in client.get(LIST).context["rows"]


def test_customer_user_reads_without_internal_events(p, client_for, make_request):
    request = make_request()
    services.request_note(request=request, user=p.engineer, body="内部备注-不可见")
    services.request_reply(request=request, user=p.engineer, body="对客户的回复")
    response = client_for(p.customer_user).get(detail(request))
    content = response.content.decode()
    assert "内部备注-不可见" not in content and "对客户的回复" in content
    assert all(not event.internal for event in response.context["events"])
    assert not response.context["can_act"]


@pytest.mark.parametrize("name", ["customer_user", "clerk"])
def test_readers_who_may_not_act_get_403(p, client_for, make_request, name):
    request = make_request()
    client = client_for(persona(p, name))
    for action, data in (
        ("note", {"note-body": "x"}),
        ("reply", {"reply-body": "x"}),
        ("status", {"status-status": "in_progress"}),
        ("handover", {"handover-to_user": p.colleague.pk, "handover-reason": "x"}),
        ("onsite", {}),
    ):
        assert client.post(act(request, action), data).status_code == 403
    assert not RequestEvent.objects.filter(kind__in=[EventKind.NOTE, EventKind.REPLY]).exists()


def test_customer_user_may_not_log(p, client_for):
    client = client_for(p.customer_user)
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, {}).status_code == 403


def test_clerk_logs_a_billing_inquiry(p, client_for, policies):
    client = client_for(p.clerk)
    response = client.get(NEW, {"customer": p.a1.pk})
    assert response.status_code == 200
    form = response.context["form"]
    assert form["customer"].value() == p.a1.pk
    assert set(form.fields["account"].queryset) == set(p.a1.accounts.all())
    response = client.post(
        NEW,
        {
            "customer": p.a1.pk,
            "request_type": RequestType.BILLING_INQUIRY,
            "channel": "95598",
            "priority": "normal",
            "account": p.a1.accounts.get().pk,
            "title": "三月电费异常",
            "description": "电费比上月高一倍",
            "attachments": [pdf()],
        },
    )
    request = ServiceRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == detail(request)
    assert request.assignee == p.manager and request.created_by == p.clerk
    assert request.attachments.count() == 1


def test_create_form_field_errors(p, client_for, policies):
    client = client_for(p.manager)
    response = client.post(
        NEW,
        {
            "customer": p.a1.pk,
            "request_type": RequestType.REPAIR,
            "channel": "manager_line",
            "priority": "high",
            "account": p.a2.accounts.get().pk,
            "title": "",
            "attachments": [exe_as_png()],
        },
    )
    assert response.status_code == 200
    assert {"account", "title"} <= set(response.context["form"].errors)
    response = client.post(
        NEW,
        {
            "customer": p.a1.pk,
            "request_type": RequestType.REPAIR,
            "channel": "manager_line",
            "priority": "high",
            "title": "跳闸",
            "attachments": [exe_as_png()],
        },
    )
    assert "attachments" in response.context["form"].errors
    assert not ServiceRequest.objects.exists()


def test_outsider_cannot_log_for_a_customer_out_of_view(p, client_for, policies):
    response = client_for(p.outsider).post(
        NEW,
        {"customer": p.a1.pk, "request_type": "repair", "channel": "manager_line", "priority": "high", "title": "x"},
    )
    assert response.status_code == 200 and "customer" in response.context["form"].errors


@pytest.mark.parametrize("name", ACTORS)
def test_actors_work_on_the_page(p, client_for, make_request, name):
    request = make_request()
    client = client_for(persona(p, name))
    page = client.get(detail(request))
    assert page.context["can_act"]
    assert (RequestStatus.IN_PROGRESS, RequestStatus.IN_PROGRESS.label) in page.context["transitions"]
    assert client.post(act(request, "reply"), {"reply-body": "收到", "reply-attachments": [png()]}).status_code == 302
    assert client.post(act(request, "note"), {"note-body": "内部"}).status_code == 302
    assert client.post(act(request, "status"), {"status-status": "in_progress"}).status_code == 302
    assert client.post(act(request, "onsite"), {}).status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.IN_PROGRESS and request.onsite_at is not None


def test_action_errors_rerender_with_400(p, client_for, make_request):
    request = make_request()
    client = client_for(p.manager)
    response = client.post(act(request, "handover"), {"handover-to_user": p.colleague.pk, "handover-reason": ""})
    assert response.status_code == 400 and "reason" in response.context["forms"]["handover"].errors
    response = client.post(act(request, "handover"), {"handover-to_user": p.outsider.pk, "handover-reason": "出差"})
    assert response.status_code == 400 and "to_user" in response.context["forms"]["handover"].errors
    response = client.post(act(request, "status"), {"status-status": "closed"})
    assert response.status_code == 400 and "status" in response.context["forms"]["status"].errors
    response = client.post(act(request, "note"), {"note-body": "x", "note-attachments": [exe_as_png()]})
    assert response.status_code == 400 and "attachments" in response.context["forms"]["note"].errors
    assert client.post(act(request, "nonsense"), {}).status_code == 404
    response = client.post(act(request, "handover"), {"handover-to_user": p.colleague.pk, "handover-reason": "出差"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.assignee == p.colleague


def test_reopen_from_the_page(p, client_for, make_request):
    request = make_request()
    now = dt.datetime.now(dt.UTC)
    for status in (RequestStatus.IN_PROGRESS, RequestStatus.RESOLVED):
        services.request_status(request=request, status=status, user=p.engineer, now=now)
    client = client_for(p.manager)
    assert client.get(detail(request)).context["can_reopen"]
    assert client.post(act(request, "reopen"), {"reopen-reason": "未修好"}).status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.IN_PROGRESS


def test_list_filters_and_sorting(p, client_for, make_request):
    repair = make_request()
    billing = make_request(request_type=RequestType.BILLING_INQUIRY, priority="urgent")
    done = make_request(request_type=RequestType.CONSULTATION)
    for status in (RequestStatus.IN_PROGRESS, RequestStatus.RESOLVED):
        services.request_status(request=done, status=status, user=p.manager, now=NOW)
    client = client_for(p.manager)
    assert set(client.get(LIST).context["rows"]) == {repair, billing}  # open by default
    assert set(client.get(LIST, {"status": "all"}).context["rows"]) == {repair, billing, done}
    assert set(client.get(LIST, {"status": "resolved"}).context["rows"]) == {done}
    assert set(client.get(LIST, {"request_type": "repair"}).context["rows"]) == {repair}
    assert set(client.get(LIST, {"assignee": "mine"}).context["rows"]) == {billing}
    assert set(client.get(LIST, {"q": repair.number}).context["rows"]) == {repair}
    assert set(client.get(LIST, {"q": "钢铁", "status": "all"}).context["rows"]) == {repair, billing, done}
    assert client.get(LIST, {"sort": "priority"}).context["rows"][0] == billing
    assert client.get(LIST, {"sort": "due"}).status_code == 200
    assert client.get(LIST, {"status": "bogus", "assignee": "x" * 30}).status_code == 200


def test_list_shows_the_sla_state(p, client_for, make_request):
    request = make_request(now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    row = client_for(p.manager).get(LIST).context["rows"][0]
    assert row == request and row.sla.state == "breached" and row.sla.target == "response"


def test_export(p, client_for, make_request):
    request = make_request()
    response = client_for(p.manager).get(LIST, {"export": "xlsx"})
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content), read_only=True).active.values)
    assert any(request.number in row for row in rows)


def _list_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_list_query_count_constant(p, client_for, make_request):
    client = client_for(p.manager)
    for _ in range(2):
        make_request()
    few = _list_queries(client, LIST)
    for _ in range(18):
        make_request(customer=p.a2)
    assert _list_queries(client, LIST) == few


def test_attachment_download(p, client_for, make_request):
    request = make_request()
    services.request_reply(request=request, user=p.engineer, body="照片", attachments=[png()])
    services.request_note(request=request, user=p.engineer, body="报告", attachments=[pdf()])
    public = RequestAttachment.objects.get(internal=False)
    internal = RequestAttachment.objects.get(internal=True)
    url = reverse("servicedesk:attachment", args=[public.pk])
    internal_url = reverse("servicedesk:attachment", args=[internal.pk])
    response = client_for(p.manager).get(internal_url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert client_for(p.customer_user).get(url).status_code == 200
    assert client_for(p.customer_user).get(internal_url).status_code == 404
    assert client_for(p.outsider).get(url).status_code == 404
    assert public.file.url not in client_for(p.manager).get(detail(request)).content.decode()
