"""API: conversations with unread counts, messages (list, send with files, read), a message turned into a request."""

from __future__ import annotations

import pytest

from gridkam.core.testing import make_customer
from gridkam.messaging import services
from gridkam.messaging.models import Message

from .conftest import exe_as_png, png

BASE = "/api/v1/conversations/"


@pytest.fixture
def talk(p):
    first = services.message_send(customer=p.a1, user=p.customer_user, body="请查看电费", attachments=[png()])
    other = services.message_send(customer=p.b1, user=p.outsider, body="汕头")
    return first, other


@pytest.mark.parametrize(
    "who, list_status, own, other",
    [
        ("anonymous", (401, 403), None, None),
        ("manager", (200,), 200, 404),
        ("outsider", (200,), 404, 200),
        ("customer_user", (200,), 200, 404),
    ],
)
def test_access(p, api, talk, who, list_status, own, other):
    client = api(None if who == "anonymous" else getattr(p, who))
    assert client.get(BASE).status_code in list_status
    if own is None:
        assert client.get(f"{BASE}{p.a1.pk}/messages/").status_code in (401, 403)
        return
    assert client.get(f"{BASE}{p.a1.pk}/").status_code == own
    assert client.get(f"{BASE}{p.a1.pk}/messages/").status_code == own
    assert client.get(f"{BASE}{p.b1.pk}/").status_code == other
    assert client.get(f"/api/v1/messages/{talk[1].pk}/").status_code == other


def test_another_customers_ids_answer_404_to_a_portal_user(p, api, talk):
    client = api(p.customer_user)
    assert client.post(f"{BASE}{p.b1.pk}/messages/", {"body": "x"}, format="json").status_code == 404
    assert client.post(f"{BASE}{p.b1.pk}/read/").status_code == 404
    assert client.post(f"/api/v1/messages/{talk[1].pk}/request/", {"request_type": "other"}).status_code == 404
    assert client.get(f"{BASE}99999999999999999999999/").status_code == 404
    assert client.get(f"{BASE}{2**63}/messages/").status_code == 404
    assert [row["customer"] for row in client.get(BASE).json()["results"]] == [p.a1.pk]


def test_list_has_unread_counts_and_filters(p, api, talk):
    services.message_send(customer=p.a2, user=p.manager, body="石化")
    client = api(p.manager)
    rows = client.get(BASE).json()["results"]
    assert [(r["customer"], r["unread"]) for r in rows] == [(p.a1.pk, 1), (p.a2.pk, 0)]
    assert rows[0]["last_message"]["body"] == "请查看电费"
    assert [r["customer"] for r in client.get(BASE, {"unread": "true"}).json()["results"]] == [p.a1.pk]
    assert [r["customer"] for r in client.get(BASE, {"q": "石化"}).json()["results"]] == [p.a2.pk]
    assert client.get(BASE, {"ordering": "customer__name"}).status_code == 200


def test_send_read_and_receipts(p, api, talk):
    manager = api(p.manager)
    response = manager.post(
        f"{BASE}{p.a1.pk}/messages/", {"body": "已安排", "attachments": [png("a.png")]}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    sent = response.json()
    assert sent["side"] == "team" and sent["attachments"][0]["name"] == "a.png" and sent["read_at"] is None
    assert manager.post(f"{BASE}{p.a1.pk}/read/").json() == {"marked": 1}
    portal = api(p.customer_user)
    assert portal.get(f"{BASE}{p.a1.pk}/").json()["unread"] == 1
    assert portal.get(f"{BASE}unread/").json() == {"unread": 1}
    assert portal.post(f"{BASE}{p.a1.pk}/read/").json() == {"marked": 1}
    rows = portal.get(f"{BASE}{p.a1.pk}/messages/").json()["results"]
    assert [r["body"] for r in rows] == ["已安排", "请查看电费"]
    assert all(r["read_at"] for r in rows)


def test_first_message_to_a_customer_without_conversation(p, api):
    client = api(p.manager)
    assert client.get(f"{BASE}{p.a2.pk}/messages/").json()["results"] == []
    assert client.get(f"{BASE}{p.a2.pk}/").status_code == 404
    assert client.post(f"{BASE}{p.a2.pk}/messages/", {"body": "您好"}, format="json").status_code == 201
    assert client.get(f"{BASE}{p.a2.pk}/").status_code == 200


def test_bad_input_answers_field_errors(p, api):
    client = api(p.customer_user)
    url = f"{BASE}{p.a1.pk}/messages/"
    assert "body" in client.post(url, {"body": ""}, format="json").json()["errors"]
    wrong = client.post(url, {"body": "x", "attachments": [exe_as_png()]}, format="multipart")
    assert wrong.status_code == 400 and "attachments" in wrong.json()["errors"]
    assert "body" in client.post(url, {"body": "长" * 3000}, format="json").json()["errors"]
    assert not Message.objects.exists()


def test_read_only_staff_get_403_on_writes(p, api, talk):
    client = api(p.clerk)
    assert client.get(f"{BASE}{p.a1.pk}/messages/").status_code == 200
    assert client.post(f"{BASE}{p.a1.pk}/messages/", {"body": "x"}, format="json").status_code == 403
    assert client.post(f"/api/v1/messages/{talk[0].pk}/request/", {"request_type": "other"}).status_code == 403


def test_make_request(p, api, talk):
    client = api(p.manager)
    url = f"/api/v1/messages/{talk[0].pk}/request/"
    assert "request_type" in client.post(url, {"request_type": "nope"}, format="json").json()["errors"]
    response = client.post(url, {"request_type": "billing_inquiry", "title": "电费疑问"}, format="json")
    assert response.status_code == 201
    assert response.json()["service_request_number"].startswith("SR")
    again = client.post(url, {"request_type": "billing_inquiry"}, format="json")
    assert again.status_code == 400 and "message" in again.json()["errors"]
    assert api(p.customer_user).post(url, {"request_type": "other"}, format="json").status_code == 403


def test_list_query_counts_are_constant(p, api, django_assert_max_num_queries):
    services.message_send(customer=p.a1, user=p.customer_user, body="一", attachments=[png()])
    client = api(p.admin)
    with django_assert_max_num_queries(8) as few:
        client.get(BASE)
    with django_assert_max_num_queries(10) as few_messages:
        client.get(f"{BASE}{p.a1.pk}/messages/")
    for k in range(20):
        services.message_send(customer=make_customer(name=f"客户{k}", org_unit=p.city_a), user=p.admin, body=f"{k}")
        services.message_send(customer=p.a1, user=p.customer_user, body=f"消息{k}", attachments=[png()])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(BASE).json()["count"] == 21
    with django_assert_max_num_queries(len(few_messages.captured_queries)):
        assert client.get(f"{BASE}{p.a1.pk}/messages/").json()["count"] == 21
