"""Notification pages and API for every persona: only one's own notifications (another's id is a 404), unread
first, filters, marking read, following a link, the preferences grid with its address warnings, the unread count
of the bell, constant query counts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from gridkam.core.testing import persona
from gridkam.engagement import notifications as svc
from gridkam.engagement.choices import NotificationEvent as E
from gridkam.engagement.models import Notification, NotificationPreference

PERSONAS = ["admin", "supervisor", "manager", "engineer", "clerk", "outsider", "customer_user"]
CONTEXT = {"number": "SR-1", "title": "停电", "customer": "客户", "target": "响应", "due": "2026-03-16 10:00"}


def raise_for(user, n=1, *, event=E.SLA_WARNING, link="/service/requests/1/") -> list[int]:
    return svc.notify_many([(user, event, {**CONTEXT, "number": f"SR-{k}"}, link) for k in range(n)])


def rows(response) -> list[int]:
    return [n.pk for n in response.context["object_list"]]


# --- pages ---------------------------------------------------------------------------------------------------


def test_anonymous_goes_to_the_login(client):
    for name in ("notifications:list", "notifications:preferences"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and reverse("login") in response.url


@pytest.mark.parametrize("name", PERSONAS)
def test_everyone_sees_only_their_own(p, client_for, name):
    user = persona(p, name)
    mine = raise_for(user, 2)
    raise_for(p.colleague if user != p.colleague else p.manager, 3)
    response = client_for(user).get(reverse("notifications:list"))
    assert response.status_code == 200
    assert sorted(rows(response)) == sorted(mine)
    badge = client_for(user).get(reverse("notifications:badge"))
    assert badge.status_code == 200 and badge.context["unread"] == 2


def test_unread_first_and_filters(p, client_for):
    old_unread = raise_for(p.manager)[0]
    read = raise_for(p.manager)[0]
    svc.notification_mark_read(notification=Notification.objects.get(pk=read))
    risk = raise_for(p.manager, event=E.RISK_WARNING)[0]
    client = client_for(p.manager)
    assert rows(client.get(reverse("notifications:list"))) == [risk, old_unread, read]
    assert rows(client.get(reverse("notifications:list"), {"unread": "true"})) == [risk, old_unread]
    assert rows(client.get(reverse("notifications:list"), {"event": E.RISK_WARNING})) == [risk]
    response = client.get(reverse("notifications:list"), {"event": "nonsense"})
    assert response.status_code == 200  # an invalid filter is ignored, not a 500
    export = client.get(reverse("notifications:list"), {"export": "xlsx"})
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_htmx_gets_the_table_only(p, client_for):
    raise_for(p.manager)
    response = client_for(p.manager).get(reverse("notifications:list"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b'data-testid="notification-table"' in response.content
    assert b"<html" not in response.content


def test_list_queries_do_not_grow_with_rows(p, client_for, django_assert_num_queries):
    client = client_for(p.manager)
    raise_for(p.manager, 2)
    client.get(reverse("notifications:list"))  # warm up the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("notifications:list"))
    raise_for(p.manager, 18)
    with django_assert_num_queries(len(few)):
        response = client.get(reverse("notifications:list"))
    assert len(rows(response)) == 20


def test_mark_one_and_all_read(p, client_for):
    first, second = raise_for(p.manager, 2)
    other = raise_for(p.colleague)[0]
    client = client_for(p.manager)
    response = client.post(reverse("notifications:read", args=[first]), {"next": "/notifications/?unread=true"})
    assert response.status_code == 302 and response.url == "/notifications/?unread=true"
    assert Notification.objects.get(pk=first).read_at is not None
    assert Notification.objects.get(pk=second).read_at is None
    assert client.post(reverse("notifications:read", args=[other])).status_code == 404
    assert client.get(reverse("notifications:read", args=[first])).status_code == 405
    response = client.post(reverse("notifications:read_all"), {"next": "https://evil.example.com/"})
    assert response.status_code == 302 and response.url == reverse("notifications:list")
    assert not Notification.objects.filter(recipient=p.manager, read_at__isnull=True).exists()
    assert Notification.objects.get(pk=other).read_at is None


def test_following_a_link_marks_it_read(p, client_for):
    mine = raise_for(p.manager)[0]
    outside = raise_for(p.manager, link="https://evil.example.com/")[0]
    other = raise_for(p.colleague)[0]
    client = client_for(p.manager)
    response = client.get(reverse("notifications:open", args=[mine]))
    assert response.status_code == 302 and response.url == "/service/requests/1/"
    assert Notification.objects.get(pk=mine).read_at is not None
    response = client.get(reverse("notifications:open", args=[outside]))
    assert response.url == reverse("notifications:list")  # not followed off the site
    assert client.get(reverse("notifications:open", args=[other])).status_code == 404
    assert Notification.objects.get(pk=other).read_at is None


@pytest.mark.parametrize("name", PERSONAS)
def test_preferences_grid_saves_per_user(p, client_for, name):
    user = persona(p, name)
    client = client_for(user)
    response = client.get(reverse("notifications:preferences"))
    assert response.status_code == 200
    assert [pref.event for pref in response.context["preferences"]] == E.values
    data = {f"{event}__in_app": "on" for event in E.values}
    data[f"{E.SLA_WARNING}__email"] = "on"
    response = client.post(reverse("notifications:preferences"), data)
    assert response.status_code == 302
    saved = {row.event: (row.in_app, row.email, row.sms) for row in NotificationPreference.objects.filter(user=user)}
    assert saved[E.SLA_WARNING] == (True, True, False)
    assert saved[E.SLA_ESCALATION] == (True, False, False)  # unticked default e-mail is now off
    assert not NotificationPreference.objects.exclude(user=user).exists()


def test_a_channel_without_an_address_is_warned(p, client_for):
    p.manager.email, p.manager.phone = "", "13800000001"
    p.manager.save()
    client = client_for(p.manager)
    response = client.get(reverse("notifications:preferences"))  # e-mail for escalations by default
    assert b'data-testid="missing-email"' in response.content and b'data-testid="missing-sms"' not in response.content
    assert b"13800000001" in response.content
    response = client.post(reverse("notifications:preferences"), {f"{E.TASK_ASSIGNED}__sms": "on"}, follow=True)
    assert b'data-testid="missing-email"' not in response.content
    messages = [m.level_tag for m in response.context["messages"]]
    assert messages == ["success"]
    p.manager.phone = ""
    p.manager.save()
    response = client.post(reverse("notifications:preferences"), {f"{E.TASK_ASSIGNED}__sms": "on"}, follow=True)
    assert [m.level_tag for m in response.context["messages"]] == ["warning"]
    assert b'data-testid="missing-sms"' in response.content


# --- the bell -----------------------------------------------------------------------------------------------------


def test_the_bell_is_fetched_after_the_page_loads_and_counts_with_one_query(p, client_for, django_assert_num_queries):
    raise_for(p.manager, 3)
    client = client_for(p.manager)
    page = client.get(reverse("customers:customer_list")).content.decode()
    assert reverse("notifications:badge") in page and 'data-testid="nav-notifications-count"' not in page
    client.get(reverse("notifications:badge"))  # the session and the user are read once per request
    with django_assert_num_queries(3):  # session, user, the count
        badge = client.get(reverse("notifications:badge"))
    assert 'data-testid="nav-notifications-count"' in badge.content.decode() and badge.context["unread"] == 3
    svc.notifications_mark_all_read(user=p.manager)
    assert 'data-testid="nav-notifications-count"' not in client.get(reverse("notifications:badge")).content.decode()


def test_the_bell_asks_anonymous_visitors_to_log_in(client):
    response = client.get(reverse("notifications:badge"))
    assert response.status_code == 302
