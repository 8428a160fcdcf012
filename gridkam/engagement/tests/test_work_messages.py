"""My work: unread conversations of the customers a person serves, as ``message`` items."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from gridkam.engagement.work import MESSAGE, my_work, work_queue
from gridkam.messaging.models import Conversation
from gridkam.messaging.services import conversation_mark_read, message_send

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def unread(p):
    message_send(customer=p.a1, user=p.customer_user, body="第一条", now=NOW - dt.timedelta(hours=30))
    message_send(customer=p.a1, user=p.customer_user, body="第二条：请回电", now=NOW - dt.timedelta(hours=2))
    return Conversation.objects.get(customer=p.a1)


def _messages(queue):
    return [item for item in queue.items if item.kind == MESSAGE]


def test_an_unread_thread_is_one_item_due_since_its_oldest_unread_message(p, unread):
    [item] = _messages(my_work(p.manager, now=NOW))
    assert item.id == unread.pk and item.customer_id == p.a1.pk
    assert item.due == NOW - dt.timedelta(hours=30) and item.overdue  # waited more than 24 hours
    assert item.detail == "第二条：请回电"
    assert item.url == reverse("messaging:thread", args=[p.a1.pk])


def test_a_fresh_message_is_not_overdue(p):
    message_send(customer=p.a1, user=p.customer_user, body="刚发", now=NOW - dt.timedelta(hours=1))
    [item] = _messages(my_work(p.manager, now=NOW))
    assert not item.overdue


@pytest.mark.parametrize("who, expected", [("manager", 1), ("engineer", 1), ("colleague", 0), ("outsider", 0)])
def test_only_the_account_team_gets_the_thread(p, unread, who, expected):
    assert len(_messages(my_work(getattr(p, who), now=NOW))) == expected


def test_reading_the_thread_or_answering_takes_it_off_the_queue(p, unread):
    conversation_mark_read(conversation=unread, user=p.manager, now=NOW)
    assert _messages(my_work(p.manager, now=NOW)) == []
    # The engineer's queue is their own: still unread for them until they answer.
    assert len(_messages(my_work(p.engineer, now=NOW))) == 1
    message_send(customer=p.a1, user=p.engineer, body="收到", now=NOW)
    assert _messages(my_work(p.engineer, now=NOW)) == []


def test_a_lead_sees_a_members_unread_threads_within_their_own_view(p, unread):
    assert len(_messages(work_queue(holder=p.manager, viewer=p.supervisor, now=NOW))) == 1
    assert _messages(work_queue(holder=p.manager, viewer=p.outsider, now=NOW)) == []


def test_the_page_links_the_thread(p, client_for, unread):
    response = client_for(p.manager).get("/work/?kind=message")
    html = response.content.decode()
    assert 'data-kind="message"' in html and reverse("messaging:thread", args=[p.a1.pk]) in html
    assert response.context["queue"].counts[MESSAGE] == 1
