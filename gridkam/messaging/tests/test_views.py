"""Pages: the inbox, a thread (staff), the portal conversation, a message turned into a request, downloads.

Access: anonymous → login; portal users → 403 on staff pages and staff → 403 on portal pages; customers out of
view → 404 (another customer's ids included)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from gridkam.core.testing import make_customer, make_user
from gridkam.messaging import services
from gridkam.messaging.models import Message
from gridkam.users.choices import Role
from gridkam.users.models import PortalScope

from .conftest import exe_as_png, png


def _thread(customer) -> str:
    return reverse("messaging:thread", args=[customer.pk])


@pytest.fixture
def talk(p):
    """A1's portal user wrote with a photo; B1 (another unit) has its own conversation."""
    first = services.message_send(customer=p.a1, user=p.customer_user, body="配电房有焦味", attachments=[png()])
    other = services.message_send(customer=p.b1, user=p.outsider, body="汕头的通知")
    return first, other


# --- access -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, expected",
    [("anonymous", 302), ("manager", 200), ("clerk", 200), ("outsider", 200), ("customer_user", 403)],
)
def test_inbox_access(p, client, client_for, who, expected):
    c = client if who == "anonymous" else client_for(getattr(p, who))
    assert c.get(reverse("messaging:inbox")).status_code == expected


@pytest.mark.parametrize(
    "who, customer, expected",
    [
        ("anonymous", "a1", 302),
        ("manager", "a1", 200),
        ("clerk", "a1", 200),  # sees it: reads only
        ("outsider", "a1", 404),
        ("customer_user", "a1", 403),  # staff page
        ("manager", "b1", 404),
    ],
)
def test_thread_access(p, client, client_for, talk, who, customer, expected):
    c = client if who == "anonymous" else client_for(getattr(p, who))
    assert c.get(_thread(getattr(p, customer))).status_code == expected


def test_thread_of_an_unknown_or_huge_id_is_404(p, client_for):
    c = client_for(p.admin)
    assert c.get(reverse("messaging:thread", args=[10**12])).status_code == 404
    assert c.get("/messages/customers/99999999999999999999999/").status_code == 404


@pytest.mark.parametrize(
    "who, query, expected",
    [
        ("anonymous", "", 302),
        ("customer_user", "", 200),
        ("customer_user", "?customer={b1}", 404),  # another customer's id
        ("customer_user", "?customer=abc", 404),
        ("manager", "", 403),  # staff use the inbox
    ],
)
def test_portal_access(p, client, client_for, talk, who, query, expected):
    c = client if who == "anonymous" else client_for(getattr(p, who))
    url = reverse("messaging:portal_conversation") + query.format(b1=p.b1.pk)
    assert c.get(url).status_code == expected


def test_portal_thread_of_another_customer_is_404(p, client_for, talk):
    c = client_for(p.customer_user)
    assert c.get(reverse("messaging:portal_thread", args=[p.b1.pk])).status_code == 404
    assert c.post(reverse("messaging:portal_thread", args=[p.b1.pk]), {"body": "x"}).status_code == 404


def test_group_user_picks_a_subsidiary_in_scope_only(p, client_for):
    group_user = make_user("group", role=Role.CUSTOMER_USER, customer=p.a1)
    other_sub = make_customer(name="惠州钢铁物流有限公司", org_unit=p.city_a, parent=p.a1)
    c = client_for(group_user)
    # Without scope: the subsidiary is out of view.
    assert c.get(reverse("messaging:portal_thread", args=[p.a1_sub.pk])).status_code == 404
    PortalScope.objects.create(user=group_user, customer=p.a1_sub)
    response = c.get(reverse("messaging:portal_conversation") + f"?customer={p.a1_sub.pk}")
    assert response.status_code == 200 and response.context["customer"] == p.a1_sub
    assert [pk for pk, _name in response.context["customer_choices"]] == sorted(
        [p.a1.pk, p.a1_sub.pk], key=lambda pk: {p.a1.pk: p.a1.name, p.a1_sub.pk: p.a1_sub.name}[pk]
    )
    assert c.get(reverse("messaging:portal_thread", args=[other_sub.pk])).status_code == 404
    sent = c.post(reverse("messaging:portal_thread", args=[p.a1_sub.pk]), {"body": "轧钢厂的问题"})
    assert sent.status_code == 302
    assert Message.objects.get(body="轧钢厂的问题").conversation.customer == p.a1_sub


@pytest.mark.parametrize(
    "who, expected", [("anonymous", 302), ("manager", 200), ("customer_user", 200), ("outsider", 404), ("admin", 200)]
)
def test_attachment_download_access(p, client, client_for, talk, who, expected):
    attachment = talk[0].attachments.get()
    c = client if who == "anonymous" else client_for(getattr(p, who))
    response = c.get(reverse("messaging:attachment", args=[attachment.pk]))
    assert response.status_code == expected
    if expected == 200:
        assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"


def test_attachment_of_another_customer_is_404_for_a_portal_user(p, client_for):
    other = services.message_send(customer=p.b1, user=p.outsider, body="图", attachments=[png()])
    c = client_for(p.customer_user)
    assert c.get(reverse("messaging:attachment", args=[other.attachments.get().pk])).status_code == 404


# --- inbox --------------------------------------------------------------------------------------------------------


def test_inbox_lists_unread_first_with_filters_and_export(p, client_for, talk):
    services.message_send(customer=p.a2, user=p.manager, body="石化：检修通知")
    c = client_for(p.manager)
    response = c.get(reverse("messaging:inbox"))
    rows = list(response.context["rows"])
    assert [r.customer_id for r in rows] == [p.a1.pk, p.a2.pk]  # B1 is out of view
    assert [r.unread for r in rows] == [1, 0]
    assert [r.customer_id for r in c.get(reverse("messaging:inbox") + "?unread=true").context["rows"]] == [p.a1.pk]
    assert [r.customer_id for r in c.get(reverse("messaging:inbox") + "?q=石化").context["rows"]] == [p.a2.pk]
    by_name = [r.customer_id for r in c.get(reverse("messaging:inbox") + "?sort=-customer").context["rows"]]
    assert sorted(by_name) == sorted([p.a1.pk, p.a2.pk]) and len(by_name) == 2
    export = c.get(reverse("messaging:inbox") + "?export=xlsx")
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")
    partial = c.get(reverse("messaging:inbox"), headers={"HX-Request": "true"})
    assert b"<html" not in partial.content and b'data-testid="inbox-table"' in partial.content


def test_inbox_query_count_is_constant(p, client_for, django_assert_max_num_queries):
    services.message_send(customer=p.a1, user=p.customer_user, body="一")
    c = client_for(p.admin)
    c.get(reverse("messaging:inbox"))
    with django_assert_max_num_queries(12) as few:
        c.get(reverse("messaging:inbox"))
    for k in range(20):
        customer = make_customer(name=f"测试客户{k}", org_unit=p.city_a)
        services.message_send(customer=customer, user=p.admin, body=f"消息{k}", attachments=[png()])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = c.get(reverse("messaging:inbox"))
    assert len(response.context["rows"]) == 21


# --- thread -------------------------------------------------------------------------------------------------------


def test_reading_the_thread_marks_it_read_and_the_sender_sees_the_receipt(p, client_for, talk, settings):
    settings.LANGUAGE_CODE = "en"
    first, _other = talk
    portal = client_for(p.customer_user)
    page = portal.get(reverse("messaging:portal_conversation"), headers={"Accept-Language": "en"})
    assert b'data-read="0"' in page.content
    manager = client_for(p.manager)
    manager.get(_thread(p.a1))
    first.refresh_from_db()
    assert first.read_at is not None
    portal = client_for(p.customer_user)
    page = portal.get(reverse("messaging:portal_conversation"))
    assert b'data-read="1"' in page.content


def test_thread_query_count_is_constant(p, client_for, django_assert_max_num_queries):
    services.message_send(customer=p.a1, user=p.customer_user, body="一", attachments=[png()])
    c = client_for(p.manager)
    c.get(_thread(p.a1))
    with django_assert_max_num_queries(20) as few:
        c.get(_thread(p.a1))
    for k in range(20):
        services.message_send(customer=p.a1, user=p.customer_user, body=f"消息{k}", attachments=[png()])
        services.message_send(customer=p.a1, user=p.engineer, body=f"回复{k}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = c.get(_thread(p.a1))
    assert len(response.context["thread"]) == 41


def test_long_threads_show_the_latest_page_with_a_link_to_earlier(p, client_for):
    for k in range(55):
        services.message_send(customer=p.a1, user=p.customer_user, body=f"消息{k}")
    c = client_for(p.manager)
    latest = c.get(_thread(p.a1)).context
    assert latest["more"] and len(latest["thread"]) == 50 and latest["thread"][-1].body == "消息54"
    earlier = c.get(_thread(p.a1) + f"?before={latest['earliest']}").context
    assert not earlier["more"] and [m.body for m in earlier["thread"]] == [f"消息{k}" for k in range(5)]


def test_staff_reply_plain_post_and_htmx(p, client_for, talk):
    c = client_for(p.manager)
    response = c.post(_thread(p.a1), {"body": "已收到，下午到现场", "attachments": [png("现场.png")]})
    assert response.status_code == 302 and response["Location"] == _thread(p.a1)
    reply = Message.objects.get(body="已收到，下午到现场")
    assert reply.side == "team" and reply.attachments.get().name == "现场.png"
    partial = c.post(_thread(p.a1), {"body": "补充说明"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and b'id="thread"' in partial.content and b"<html" not in partial.content
    assert "补充说明" in partial.content.decode()


def test_read_only_staff_may_not_post(p, client_for, talk):
    c = client_for(p.clerk)
    page = c.get(_thread(p.a1))
    assert page.context["can_write"] is False and b'data-testid="read-only"' in page.content
    assert c.post(_thread(p.a1), {"body": "我也说一句"}).status_code == 403
    assert client_for(p.outsider).post(_thread(p.a1), {"body": "x"}).status_code == 404


def test_bad_messages_answer_field_errors(p, client_for):
    c = client_for(p.customer_user)
    url = reverse("messaging:portal_thread", args=[p.a1.pk])
    empty = c.post(url, {"body": "  "})
    assert empty.status_code == 400 and "body" in empty.context["form"].errors
    wrong = c.post(url, {"body": "看图", "attachments": [exe_as_png()]})
    assert wrong.status_code == 400 and "attachments" in wrong.context["form"].errors
    htmx = c.post(url, {"body": ""}, headers={"HX-Request": "true"})
    assert htmx.status_code == 200 and b'data-testid="error-body"' in htmx.content
    assert not Message.objects.exists()


def test_make_a_service_request_from_a_message(p, client_for, talk):
    first, _other = talk
    c = client_for(p.manager)
    url = reverse("messaging:message_request", args=[first.pk])
    bad = c.post(url, {"sr-request_type": "nonsense", "sr-priority": "high"})
    assert bad.status_code == 400 and "request_type" in bad.context["request_form"].errors
    response = c.post(url, {"sr-request_type": "repair", "sr-priority": "high", "sr-title": ""})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.service_request.title == "配电房有焦味" and first.service_request.attachments.count() == 1
    again = c.post(url, {"sr-request_type": "repair", "sr-priority": "high"})
    assert again.status_code == 400
    page = c.get(_thread(p.a1))
    assert b'data-testid="thread-note"' in page.content and first.service_request.number in page.content.decode()


@pytest.mark.parametrize("who, expected", [("clerk", 403), ("outsider", 404), ("customer_user", 403)])
def test_make_request_access(p, client_for, talk, who, expected):
    url = reverse("messaging:message_request", args=[talk[0].pk])
    response = client_for(getattr(p, who)).post(url, {"sr-request_type": "repair", "sr-priority": "high"})
    assert response.status_code == expected


def test_portal_user_sends_text_and_photo(p, client_for):
    c = client_for(p.customer_user)
    url = reverse("messaging:portal_thread", args=[p.a1.pk])
    response = c.post(url, {"body": "照片见附件", "attachments": [png()]})
    assert response.status_code == 302
    message = Message.objects.get()
    assert message.side == "customer" and message.attachments.count() == 1
    page = c.get(reverse("messaging:portal_conversation"))
    assert page.status_code == 200 and "照片见附件" in page.content.decode()
    assert page.context["portal_nav"] == "messages"
