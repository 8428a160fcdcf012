"""Notifications: message templates (Chinese by default, English under an override, the fast fill equal to a
full render), preferences and defaults, skipped channels without an address, the actor left out, a constant
number of queries, and sending after commit only (e-mail through Django's mail, SMS through the backend)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from io import StringIO

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gridkam.core.testing import make_user
from gridkam.engagement import notifications as svc
from gridkam.engagement.choices import DeliveryStatus, NotificationChannel, NotificationEvent
from gridkam.engagement.models import Notification, NotificationDelivery, NotificationPreference
from gridkam.servicedesk.choices import SlaTarget
from gridkam.users.choices import Role

E = NotificationEvent
CJK = re.compile(r"[\u4e00-\u9fff]")
CONTEXT = {
    "number": "SR20260316-0001",
    "title": "10kV进线停电",
    "customer": "惠州钢铁集团有限公司",
    "target": SlaTarget.RESPONSE.label,
    "due": "2026-03-16 10:10",
    "role": "LEAD-X",
    "by": "王经理",
    "previous": "赵工",
    "reason": "REASON-X",
    "detail": "DETAIL-X",
    "account": "0800000001",
    "level": "HIGH-X",
    "score": "81.5",
    "when": "2026-03-17 10:00",
    "topic": "电费账单咨询",
    "hall": "惠城营业厅",
    "activity": "ACTIVITY-X",
}
ASCII_CONTEXT = {key: (value if isinstance(value, str) else value) for key, value in CONTEXT.items()}
ASCII_CONTEXT.update(number="SR-1", title="Outage", customer="ACME", by="Wang", previous="Zhao", topic="Bills")
ASCII_CONTEXT.update(hall="Hall 1", due="2026-03-16 10:10", when="2026-03-17 10:00")


class FlakyEmailBackend(BaseEmailBackend):
    """Refuses messages to addresses starting with "bad"; keeps the others in mail.outbox like locmem."""

    def send_messages(self, messages):
        for message in messages:
            if message.to[0].startswith("bad"):
                raise OSError("550 mailbox unavailable")
            mail.outbox.append(message)
        return len(messages)


class RefusingSmsBackend:
    """Refuses numbers ending in 0, sends the others."""

    sent: list = []

    def send_messages(self, messages):
        results = []
        for message in messages:
            ok = not message.phone.endswith("0")
            if ok:
                RefusingSmsBackend.sent.append(message)
            results.append((ok, "" if ok else "E101 number blocked"))
        return results


class BrokenSmsBackend:
    def send_messages(self, messages):
        raise ConnectionError("gateway unreachable")


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.GRIDKAM = {**settings.GRIDKAM, "SITE_URL": "https://kam.example.cn"}


def people(p, *, email=True, phone=True):
    for user, n in ((p.manager, 1), (p.colleague, 2), (p.supervisor, 3)):
        user.email = f"user{n}@example.cn" if email else ""
        user.phone = f"1380000000{n}" if phone else ""
        user.save()


# --- templates ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("event", E.values)
def test_every_event_renders_in_chinese_by_default(db, event):
    title, body = svc.render_message(event, CONTEXT, language="zh-hans")
    assert title and body and "{" not in title + body and "%" not in title + body
    assert CJK.search(title) and "\n" not in title
    # The same words in English are not what a Chinese user gets.
    en_title, en_body = svc.render_message(event, ASCII_CONTEXT, language="en")
    zh_title, zh_body = svc.render_message(event, ASCII_CONTEXT, language="zh-hans")
    assert CJK.search(zh_title + zh_body) and (zh_title, zh_body) != (en_title, en_body)


@pytest.mark.parametrize("event", E.values)
def test_every_event_renders_in_english_under_an_override(db, event):
    from django.utils import translation

    with translation.override("en"):
        title, body = svc.render_message(event, ASCII_CONTEXT)
    assert title.isascii() and body.isascii() and title and body
    assert "{" not in title + body


@pytest.mark.parametrize("event", E.values)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_filling_a_template_gives_what_a_full_render_gives(db, event, language):
    from django.utils import translation

    renderer = svc.MessageRenderer(language)
    with renderer.language_active():
        first = renderer.render(event, CONTEXT)
        second = renderer.render(event, {**CONTEXT, "customer": "另一客户", "reason": ""})  # the pattern is reused
        subject, body = renderer.parts[event]
    with translation.override(language):
        for context, got in ((CONTEXT, first), ({**CONTEXT, "customer": "另一客户", "reason": ""}, second)):
            full = (svc._tidy_title(subject.template.render(context)), svc._tidy_body(body.template.render(context)))
            assert got == full
    assert second != first


def test_bulk_events_fill_without_rendering_per_row(db):
    renderer = svc.MessageRenderer("zh-hans")
    with renderer.language_active():
        for event in (E.SLA_WARNING, E.SLA_ESCALATION, E.APPOINTMENT_REMINDER, E.RISK_WARNING):
            renderer.render(event, CONTEXT)
            assert all(part.fillable for part in renderer.parts[event]), event


# --- raising: preferences, defaults, addresses, the actor ------------------------------------------------------


def test_defaults_in_app_for_all_and_email_for_escalations(p):
    people(p)
    ids = svc.notify(recipients=[p.manager], event=E.SLA_WARNING, context=CONTEXT, link="/service/requests/1/")
    notification = Notification.objects.get(pk=ids[0])
    assert notification.recipient == p.manager and notification.read_at is None
    assert notification.link == "/service/requests/1/" and CONTEXT["number"] in notification.title
    assert not NotificationDelivery.objects.exists()
    svc.notify(recipients=[p.manager], event=E.SLA_ESCALATION, context=CONTEXT)
    delivery = NotificationDelivery.objects.get()
    assert (delivery.channel, delivery.address, delivery.status) == ("email", "user1@example.cn", "pending")


def test_settings_replace_the_defaults(p, settings):
    people(p)
    settings.GRIDKAM = {**settings.GRIDKAM, "NOTIFICATION_DEFAULTS": {"default": ["in_app", "sms"]}}
    svc.notify(recipients=[p.manager], event=E.TASK_ASSIGNED, context=CONTEXT)
    assert list(NotificationDelivery.objects.values_list("channel", "address")) == [("sms", "13800000001")]
    settings.GRIDKAM = {**settings.GRIDKAM, "NOTIFICATION_DEFAULTS": {"default": ["fax"]}}
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        svc.notify(recipients=[p.manager], event=E.TASK_ASSIGNED, context=CONTEXT)


def test_the_users_preference_wins_over_the_defaults(p):
    people(p)
    NotificationPreference.objects.create(user=p.manager, event=E.SLA_ESCALATION, in_app=True, email=False, sms=True)
    NotificationPreference.objects.create(user=p.colleague, event=E.SLA_ESCALATION, in_app=False, email=True)
    NotificationPreference.objects.create(user=p.supervisor, event=E.SLA_ESCALATION, in_app=False)
    svc.notify(recipients=[p.manager, p.colleague, p.supervisor], event=E.SLA_ESCALATION, context=CONTEXT)
    rows = NotificationDelivery.objects.values_list("notification__recipient__username", "channel")
    assert sorted(rows) == [("colleague", "email"), ("manager", "sms")]
    # Not wanted in the app: recorded, but never unread; nothing at all for no channel.
    assert Notification.objects.get(recipient=p.colleague).read_at is not None
    assert Notification.objects.get(recipient=p.manager).read_at is None
    assert not Notification.objects.filter(recipient=p.supervisor).exists()


def test_a_channel_without_an_address_is_a_skipped_delivery_with_the_reason(p):
    people(p, email=False, phone=False)
    NotificationPreference.objects.create(user=p.manager, event=E.RISK_WARNING, in_app=True, email=True, sms=True)
    svc.notify(recipients=[p.manager], event=E.RISK_WARNING, context=CONTEXT)
    rows = {d.channel: d for d in NotificationDelivery.objects.all()}
    assert set(rows) == {"email", "sms"}
    assert all(d.status == DeliveryStatus.SKIPPED and d.error and not d.address for d in rows.values())
    assert rows["email"].error != rows["sms"].error


def test_the_actor_inactive_users_and_nobody_get_nothing(p):
    p.colleague.is_active = False
    p.colleague.save()
    ids = svc.notify(
        recipients=[p.manager, p.colleague, None, p.engineer.pk],
        event=E.TASK_ASSIGNED,
        context=CONTEXT,
        actor=p.manager,
    )
    assert list(Notification.objects.filter(pk__in=ids).values_list("recipient__username", flat=True)) == ["engineer"]
    assert svc.notify(recipients=[], event=E.TASK_ASSIGNED, context=CONTEXT) == []
    with pytest.raises(ValueError):
        svc.notify(recipients=[p.engineer], event="no_such_event", context=CONTEXT)


def test_raising_costs_the_same_queries_for_one_or_many(p):
    people(p)
    others = [make_user(f"m{k}", role=Role.ACCOUNT_MANAGER, org_unit=p.city_a, email=f"m{k}@x.cn") for k in range(15)]
    NotificationPreference.objects.create(user=others[0], event=E.SLA_ESCALATION, sms=True)
    with CaptureQueriesContext(connection) as one:
        svc.notify_many([(p.manager, E.SLA_ESCALATION, CONTEXT, "")])
    items = [(u, event, CONTEXT, "") for u in [p.manager, *others] for event in (E.SLA_ESCALATION, E.SLA_WARNING)]
    with CaptureQueriesContext(connection) as many:
        ids = svc.notify_many(items)
    # E-mail by default for escalations; the first of the others chose SMS instead (its row leaves e-mail off).
    assert len(ids) == 32 and NotificationDelivery.objects.count() == 1 + 15 + 1
    assert len(many) == len(one)


def test_task_assigned_notify_tells_the_assignee_not_the_actor(p):
    from gridkam.engagement.models import Task

    task = Task.objects.create(title="回访客户", customer=p.a1, assignee=p.colleague, due_date=dt.date(2026, 3, 20))
    mine = Task.objects.create(title="自己的", customer=p.a1, assignee=p.manager, due_date=dt.date(2026, 3, 20))
    svc.task_assigned_notify(tasks=[task, mine], actor=p.manager)
    notification = Notification.objects.get()
    assert notification.recipient == p.colleague and notification.event == E.TASK_ASSIGNED
    assert "回访客户" in notification.title and p.a1.name in notification.body


# --- sending after commit ----------------------------------------------------------------------------------------


def test_nothing_is_sent_when_the_transaction_rolls_back(p, django_capture_on_commit_callbacks):
    people(p)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        svc.notify(recipients=[p.manager], event=E.SLA_ESCALATION, context=CONTEXT)
        raise RuntimeError("the caller failed")
    assert callbacks == [] and mail.outbox == []
    assert not Notification.objects.exists() and not NotificationDelivery.objects.exists()


def test_emails_go_after_commit_through_the_mail_backend(p, django_capture_on_commit_callbacks):
    people(p)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        svc.notify(recipients=[p.manager, p.colleague], event=E.SLA_ESCALATION, context=CONTEXT, link="/service/x/")
    assert len(callbacks) == 1 and mail.outbox == []  # not before the commit
    callbacks[0]()
    assert sorted(m.to[0] for m in mail.outbox) == ["user1@example.cn", "user2@example.cn"]
    message = mail.outbox[0]
    notification = Notification.objects.get(recipient__email=message.to[0])
    assert message.subject == notification.title and "https://kam.example.cn/service/x/" in message.body
    assert set(NotificationDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert all(d.attempted_at for d in NotificationDelivery.objects.all())


def test_sms_through_the_logging_backend(p, caplog, django_capture_on_commit_callbacks):
    people(p)
    NotificationPreference.objects.create(user=p.manager, event=E.SLA_WARNING, sms=True)
    with caplog.at_level(logging.INFO, logger="gridkam.sms"), django_capture_on_commit_callbacks(execute=True):
        svc.notify(recipients=[p.manager], event=E.SLA_WARNING, context=CONTEXT)
    delivery = NotificationDelivery.objects.get()
    assert delivery.status == DeliveryStatus.SENT and delivery.address == "13800000001"
    assert "13800000001" in caplog.text and CONTEXT["number"] in caplog.text


def test_one_failure_never_loses_the_others(p, settings, django_capture_on_commit_callbacks):
    people(p)
    p.colleague.email = "bad@example.cn"
    p.colleague.save()
    p.supervisor.phone = "13800000000"  # refused by the gateway
    p.supervisor.save()
    settings.EMAIL_BACKEND = f"{__name__}.FlakyEmailBackend"
    settings.GRIDKAM = {**settings.GRIDKAM, "SMS_BACKEND": f"{__name__}.RefusingSmsBackend"}
    RefusingSmsBackend.sent = []
    for user in (p.manager, p.colleague, p.supervisor):
        NotificationPreference.objects.create(user=user, event=E.SLA_ESCALATION, email=True, sms=True)
    with django_capture_on_commit_callbacks(execute=True):
        svc.notify(recipients=[p.manager, p.colleague, p.supervisor], event=E.SLA_ESCALATION, context=CONTEXT)
    status = {
        (d.notification.recipient.username, d.channel): (d.status, d.error)
        for d in NotificationDelivery.objects.select_related("notification__recipient")
    }
    assert status[("colleague", "email")][0] == DeliveryStatus.FAILED and "550" in status[("colleague", "email")][1]
    assert status[("supervisor", "sms")] == (DeliveryStatus.FAILED, "E101 number blocked")
    assert status[("manager", "email")] == status[("supervisor", "email")] == (DeliveryStatus.SENT, "")
    assert status[("manager", "sms")] == status[("colleague", "sms")] == (DeliveryStatus.SENT, "")
    assert len(mail.outbox) == 2 and len(RefusingSmsBackend.sent) == 2


def test_a_broken_gateway_fails_its_batch_and_the_emails_still_go(p, settings):
    people(p)
    settings.GRIDKAM = {**settings.GRIDKAM, "SMS_BACKEND": f"{__name__}.BrokenSmsBackend"}
    NotificationPreference.objects.create(user=p.manager, event=E.SLA_ESCALATION, email=True, sms=True)
    svc.notify(recipients=[p.manager], event=E.SLA_ESCALATION, context=CONTEXT)
    ids = list(NotificationDelivery.objects.values_list("pk", flat=True))
    assert svc.deliveries_send(ids) == {"sent": 1, "failed": 1}
    sms = NotificationDelivery.objects.get(channel=NotificationChannel.SMS)
    assert sms.status == DeliveryStatus.FAILED and "gateway unreachable" in sms.error
    assert len(mail.outbox) == 1
    # Sent ones are not sent twice.
    settings.GRIDKAM = {**settings.GRIDKAM, "SMS_BACKEND": "gridkam.engagement.sms.LoggingSmsBackend"}
    assert svc.deliveries_send(ids) == {"sent": 1, "failed": 0}
    assert len(mail.outbox) == 1


def test_the_delivery_task_is_registered_under_its_name(p):
    from config.celery import app
    from gridkam.engagement.tasks_notify import deliver_notifications_task

    assert "engagement.deliver_notifications" in app.tasks and "engagement.notifications_retry" in app.tasks
    people(p)
    svc.notify(recipients=[p.manager], event=E.RISK_WARNING, context=CONTEXT)
    ids = list(NotificationDelivery.objects.values_list("pk", flat=True))
    assert deliver_notifications_task.delay(ids).get() == {"sent": 1, "failed": 0}


# --- retry ---------------------------------------------------------------------------------------------------------


def test_retry_sends_what_is_pending_or_failed_long_enough_and_gives_up_on_old_ones(p):
    people(p)
    svc.notify(recipients=[p.manager, p.colleague, p.supervisor], event=E.SLA_ESCALATION, context=CONTEXT)
    now = timezone.now()
    manager, colleague, supervisor = (
        NotificationDelivery.objects.get(notification__recipient=u) for u in (p.manager, p.colleague, p.supervisor)
    )
    Notification.objects.filter(pk=manager.notification_id).update(created_at=now - dt.timedelta(minutes=30))
    Notification.objects.filter(pk=colleague.notification_id).update(created_at=now - dt.timedelta(hours=30))
    NotificationDelivery.objects.filter(pk=colleague.pk).update(status=DeliveryStatus.FAILED)
    # The supervisor's was raised just now: its after-commit task may still be on its way.
    due = svc.deliveries_due_for_retry(minutes=10, max_age_hours=24, now=now)
    assert list(due) == [manager]
    assert svc.deliveries_retry(minutes=10, max_age_hours=24, now=now) == {"due": 1, "sent": 1, "failed": 0}
    assert [m.to[0] for m in mail.outbox] == ["user1@example.cn"]
    supervisor.refresh_from_db()
    assert supervisor.status == DeliveryStatus.PENDING


def test_retry_command(p):
    people(p)
    svc.notify(recipients=[p.manager], event=E.SLA_ESCALATION, context=CONTEXT)
    out = StringIO()
    call_command("notifications_retry", "--minutes", "0", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert (result["due"], result["sent"], result["failed"]) == (1, 1, 0)
    with pytest.raises(CommandError) as error:
        call_command("notifications_retry", "--minutes", "-1")
    assert error.value.returncode == 1
