"""API of notifications and preferences: one's own only (another's id is a 404), filters, marking read, effective
preferences for every event, field errors in the house shape, every persona."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.core.testing import persona
from gridkam.engagement.choices import NotificationEvent as E
from gridkam.engagement.models import Notification, NotificationPreference

from .test_notifications_views import PERSONAS, raise_for

LIST = "/api/v1/notifications/"
PREFS = "/api/v1/notification-preferences/"


def test_anonymous_is_refused(api):
    assert api(None).get(LIST).status_code in (401, 403)
    assert api(None).get(PREFS).status_code in (401, 403)


@pytest.mark.parametrize("name", PERSONAS)
def test_everyone_lists_only_their_own(p, api, name):
    user = persona(p, name)
    mine = raise_for(user, 2)
    other = raise_for(p.colleague if user != p.colleague else p.manager)[0]
    client = api(user)
    response = client.get(LIST)
    assert response.status_code == 200
    assert sorted(row["id"] for row in response.json()["results"]) == sorted(mine)
    assert client.get(f"{LIST}{other}/").status_code == 404
    assert client.post(f"{LIST}{other}/read/").status_code == 404
    assert client.get(f"{LIST}abc/").status_code == 404
    assert Notification.objects.get(pk=other).read_at is None


def test_filter_unread_and_event_and_mark_read(p, api):
    first, second = raise_for(p.manager, 2)
    risk = raise_for(p.manager, event=E.RISK_WARNING)[0]
    client = api(p.manager)
    response = client.post(f"{LIST}{first}/read/")
    assert response.status_code == 200 and response.json()["unread"] is False
    ids = [row["id"] for row in client.get(LIST).json()["results"]]
    assert ids == [risk, second, first]  # unread first
    assert [row["id"] for row in client.get(LIST, {"unread": "true"}).json()["results"]] == [risk, second]
    assert [row["id"] for row in client.get(LIST, {"event": E.RISK_WARNING}).json()["results"]] == [risk]
    bad = client.get(LIST, {"event": "nonsense"})
    assert bad.status_code == 400 and "event" in bad.json()["errors"]
    assert client.post(f"{LIST}read-all/").json() == {"marked": 2}
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_list_queries_do_not_grow(p, api):
    client = api(p.manager)
    raise_for(p.manager, 2)
    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    raise_for(p.manager, 18)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(LIST).json()["results"]) == 20
    assert len(few) == len(many)


@pytest.mark.parametrize("name", PERSONAS)
def test_preferences_list_every_event_and_save_per_user(p, api, name):
    user = persona(p, name)
    client = api(user)
    rows = client.get(PREFS).json()
    assert [row["event"] for row in rows] == E.values and not any(row["custom"] for row in rows)
    escalation = next(row for row in rows if row["event"] == E.SLA_ESCALATION)
    assert (escalation["in_app"], escalation["email"], escalation["sms"]) == (True, True, False)
    response = client.patch(f"{PREFS}{E.SLA_ESCALATION}/", {"sms": True}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["in_app"], body["email"], body["sms"], body["custom"]) == (True, True, True, True)
    assert len(body["warnings"]) == (not user.email) + (not user.phone)
    assert NotificationPreference.objects.get(user=user, event=E.SLA_ESCALATION).sms
    assert client.get(f"{PREFS}{E.SLA_ESCALATION}/").json()["sms"] is True
    assert not NotificationPreference.objects.exclude(user=user).exists()


def test_preference_errors(p, api):
    client = api(p.manager)
    response = client.put(f"{PREFS}{E.TASK_ASSIGNED}/", {"in_app": True}, format="json")
    assert response.status_code == 400 and set(response.json()["errors"]) == {"email", "sms"}
    response = client.put(f"{PREFS}{E.TASK_ASSIGNED}/", {"in_app": "x", "email": False, "sms": False}, format="json")
    assert response.status_code == 400 and "in_app" in response.json()["errors"]
    assert client.patch(f"{PREFS}no_such_event/", {"sms": True}, format="json").status_code == 404
    response = client.put(f"{PREFS}{E.TASK_ASSIGNED}/", {"in_app": False, "email": True, "sms": False}, format="json")
    assert response.status_code == 200
    row = NotificationPreference.objects.get(user=p.manager, event=E.TASK_ASSIGNED)
    assert (row.in_app, row.email, row.sms) == (False, True, False)
