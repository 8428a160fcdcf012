"""Service request API: access for every persona, create with field errors and multipart attachments, the
actions, internal events hidden from the customer's portal users, and a constant query count on the list."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.core.testing import persona
from gridkam.servicedesk import services
from gridkam.servicedesk.choices import EventKind, RequestStatus
from gridkam.servicedesk.models import RequestAttachment, ServiceRequest

from .conftest import exe_as_png, pdf, png

pytestmark = pytest.mark.django_db
URL = "/api/v1/service-requests/"
READERS = ["manager", "colleague", "engineer", "clerk", "supervisor", "admin", "customer_user"]
ACTORS = ["manager", "colleague", "engineer", "supervisor", "admin"]


def one(request) -> str:
    return f"{URL}{request.pk}/"


def test_anonymous_refused(api, make_request):
    request = make_request()
    assert api(None).get(URL).status_code in (401, 403)
    assert api(None).get(one(request)).status_code in (401, 403)


@pytest.mark.parametrize("name", READERS)
def test_readers(p, api, make_request, name):
    request = make_request()
    client = api(persona(p, name))
    assert [row["id"] for row in client.get(URL).json()["results"]] == [request.pk]
    assert client.get(one(request)).json()["number"] == request.number


def test_outsider_sees_nothing(p, api, make_request):
    request = make_request()
    client = api(p.outsider)
    assert client.get(URL).json()["results"] == []
    assert client.get(one(request)).status_code == 404
    assert client.post(f"{one(request)}note/", {"body": "x"}).status_code == 404
    assert client.get(f"{URL}abc/").status_code == 404


def test_internal_events_hidden_from_the_customer_user(p, api, make_request):
    request = make_request()
    services.request_note(request=request, user=p.engineer, body="内部", attachments=[pdf()])
    services.request_reply(request=request, user=p.engineer, body="回复", attachments=[png()])
    staff_events = api(p.manager).get(one(request)).json()["events"]
    assert EventKind.NOTE in {event["kind"] for event in staff_events}
    customer_events = api(p.customer_user).get(one(request)).json()["events"]
    assert customer_events and all(not event["internal"] for event in customer_events)
    assert EventKind.NOTE not in {event["kind"] for event in customer_events}
    assert EventKind.HANDOVER not in {event["kind"] for event in customer_events}
    attachments = [a for event in customer_events for a in event["attachments"]]
    assert [a["content_type"] for a in attachments] == ["image/png"]


def test_customer_user_may_neither_log_nor_act(p, api, make_request):
    request = make_request()
    client = api(p.customer_user)
    body = {"customer": p.a1.pk, "request_type": "repair", "channel": "portal", "title": "停电"}
    assert client.post(URL, body, format="json").status_code == 403
    for action, data in (
        ("assign", {"assignee": p.colleague.pk}),
        ("handover", {"to_user": p.colleague.pk, "reason": "x"}),
        ("status", {"status": "in_progress"}),
        ("reply", {"body": "x"}),
        ("note", {"body": "x"}),
        ("onsite", {}),
    ):
        assert client.post(f"{one(request)}{action}/", data, format="json").status_code == 403


def test_clerk_logs_a_billing_inquiry_but_may_not_act_on_a_repair(p, api, make_request, policies):
    client = api(p.clerk)
    response = client.post(
        URL,
        {"customer": p.a1.pk, "request_type": "billing_inquiry", "channel": "95598", "title": "电费疑问"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["assignee"] == p.manager.pk and data["status"] == RequestStatus.ASSIGNED
    assert [event["kind"] for event in data["events"]] == [EventKind.CREATED, EventKind.ASSIGNED]
    repair = make_request()
    assert client.post(f"{one(repair)}note/", {"body": "x"}, format="json").status_code == 403


def test_create_field_errors(p, api, policies):
    client = api(p.manager)
    response = client.post(
        URL,
        {
            "customer": p.a1.pk,
            "request_type": "bogus",
            "channel": "portal",
            "title": "",
            "account": p.a2.accounts.get().pk,
        },
        format="json",
    )
    assert response.status_code == 400
    assert {"request_type", "title"} <= set(response.json()["errors"])
    response = client.post(
        URL,
        {
            "customer": p.a1.pk,
            "request_type": "repair",
            "channel": "portal",
            "title": "x",
            "account": p.a2.accounts.get().pk,
        },
        format="json",
    )
    assert response.status_code == 400 and "account" in response.json()["errors"]
    response = client.post(
        URL, {"customer": p.b1.pk, "request_type": "repair", "channel": "portal", "title": "x"}, format="json"
    )
    assert response.status_code == 400 and "customer" in response.json()["errors"]
    assert not ServiceRequest.objects.exists()


def test_create_multipart_with_attachments(p, api, policies):
    client = api(p.manager)
    data = {"customer": p.a1.pk, "request_type": "repair", "channel": "manager_line", "title": "跳闸"}
    response = client.post(URL, {**data, "attachments": [png(), pdf()]}, format="multipart")
    assert response.status_code == 201, response.json()
    assert RequestAttachment.objects.count() == 2
    response = client.post(URL, {**data, "attachments": [exe_as_png()]}, format="multipart")
    assert response.status_code == 400 and "attachments" in response.json()["errors"]
    assert ServiceRequest.objects.count() == 1


@pytest.mark.parametrize("name", ACTORS)
def test_actions(p, api, make_request, name):
    request = make_request()
    client = api(persona(p, name))
    response = client.post(f"{one(request)}status/", {"status": "in_progress"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "in_progress"
    response = client.post(f"{one(request)}reply/", {"body": "收到", "attachments": [png()]}, format="multipart")
    assert response.status_code == 200
    assert client.post(f"{one(request)}note/", {"body": "内部"}, format="json").status_code == 200
    assert client.post(f"{one(request)}onsite/", {}, format="json").status_code == 200
    response = client.post(f"{one(request)}handover/", {"to_user": p.colleague.pk, "reason": "出差"}, format="json")
    assert response.status_code == 200 and response.json()["assignee"] == p.colleague.pk
    response = client.post(f"{one(request)}assign/", {"assignee": p.manager.pk}, format="json")
    assert response.status_code == 200 and response.json()["assignee"] == p.manager.pk
    kinds = [event["kind"] for event in response.json()["events"]]
    for kind in (EventKind.STATUS, EventKind.REPLY, EventKind.NOTE, EventKind.ONSITE, EventKind.HANDOVER):
        assert kind in kinds


def test_action_field_errors(p, api, make_request):
    request = make_request()
    client = api(p.manager)
    response = client.post(f"{one(request)}handover/", {"to_user": p.colleague.pk, "reason": ""}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["errors"]
    response = client.post(f"{one(request)}handover/", {"to_user": p.outsider.pk, "reason": "x"}, format="json")
    assert response.status_code == 400 and "to_user" in response.json()["errors"]
    response = client.post(f"{one(request)}status/", {"status": "closed"}, format="json")
    assert response.status_code == 400 and "status" in response.json()["errors"]
    response = client.post(f"{one(request)}status/", {"status": "nope"}, format="json")
    assert response.status_code == 400 and "status" in response.json()["errors"]
    response = client.post(f"{one(request)}note/", {"body": "x", "attachments": [exe_as_png()]}, format="multipart")
    assert response.status_code == 400 and "attachments" in response.json()["errors"]
    response = client.post(f"{one(request)}assign/", {"assignee": 999999}, format="json")
    assert response.status_code == 400 and "assignee" in response.json()["errors"]


def test_list_filters(p, api, make_request):
    repair = make_request()
    billing = make_request(request_type="billing_inquiry")
    client = api(p.manager)
    assert [r["id"] for r in client.get(URL, {"assignee": "mine"}).json()["results"]] == [billing.pk]
    assert [r["id"] for r in client.get(URL, {"request_type": "repair"}).json()["results"]] == [repair.pk]
    assert client.get(URL, {"status": "bogus"}).status_code == 400
    urgent = make_request(priority="urgent", request_type="consultation")
    low = make_request(priority="low", request_type="consultation")
    ids = [r["id"] for r in client.get(URL, {"ordering": "priority_rank"}).json()["results"]]
    assert ids[0] == urgent.pk and ids[-1] == low.pk


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


def test_list_query_count_constant(p, api, make_request):
    client = api(p.manager)
    for _ in range(2):
        make_request()
    few = _queries(client)
    for _ in range(18):
        make_request(customer=p.a2)
    assert _queries(client) == few
