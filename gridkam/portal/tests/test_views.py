"""The portal pages: access (anonymous, staff, own and other customer's user), content, writes, query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from gridkam.billing.models import Bill
from gridkam.engagement.models import Notification
from gridkam.servicedesk.choices import EventKind, RequestStatus
from gridkam.servicedesk.models import Appointment, AppointmentStatus, RequestEvent, ServiceRequest

from .world import png

pytestmark = pytest.mark.django_db


def pages(world) -> list[str]:
    mine = world.mine
    return [
        reverse("portal:home"),
        reverse("portal:accounts"),
        reverse("portal:account_bills", args=[mine.account.pk]),
        reverse("portal:account_load", args=[mine.account.pk]),
        reverse("portal:account_advice", args=[mine.account.pk]),
        reverse("portal:bills"),
        reverse("portal:bill_detail", args=[mine.bill.pk]),
        reverse("portal:requests"),
        reverse("portal:request_create"),
        reverse("portal:request_detail", args=[mine.request.pk]),
        reverse("portal:appointments"),
        reverse("portal:notices"),
        reverse("portal:team"),
    ]


def test_anonymous_users_are_sent_to_the_login_page(client, world):
    for url in pages(world):
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"], url


@pytest.mark.parametrize("name", ["manager", "outsider", "supervisor", "clerk", "admin"])
def test_staff_get_403(client_for, world, p, name):
    client = client_for(getattr(p, name))
    for url in pages(world):
        assert client.get(url).status_code == 403, url


def test_own_customer_user_sees_every_page(client_for, world):
    client = client_for(world.mine.user)
    for url in pages(world):
        assert client.get(url).status_code == 200, url


def test_another_customers_user_gets_404_for_my_objects(client_for, world):
    client = client_for(world.theirs.user)
    mine = world.mine
    for url in [
        reverse("portal:account_bills", args=[mine.account.pk]),
        reverse("portal:account_load", args=[mine.account.pk]),
        reverse("portal:account_advice", args=[mine.account.pk]),
        reverse("portal:bill_detail", args=[mine.bill.pk]),
        reverse("portal:request_detail", args=[mine.request.pk]),
    ]:
        assert client.get(url).status_code == 404, url
    for url in [
        reverse("portal:request_reply", args=[mine.request.pk]),
        reverse("portal:request_rate", args=[mine.request.pk]),
        reverse("portal:appointment_cancel", args=[mine.appointment.pk]),
        reverse("portal:notice_open", args=[mine.notification.pk]),
    ]:
        assert client.post(url, {}).status_code == 404, url


def test_lists_show_only_own_objects_and_never_drafts(client_for, world):
    client = client_for(world.mine.user)
    bills = client.get(reverse("portal:bills")).context["object_list"]
    assert {b.pk for b in bills} == {world.mine.bill.pk}
    requests = client.get(reverse("portal:requests")).context["object_list"]
    assert {r.pk for r in requests} == {world.mine.request.pk, world.mine.closed_request.pk}
    home = client.get(reverse("portal:home")).context["home"]
    assert home.latest_bill.pk == world.mine.bill.pk
    assert home.open_requests == 1
    assert home.unread_notifications == Notification.objects.filter(recipient=world.mine.user, read_at=None).count()
    assert home.unread_messages == 1 and home.surveys_waiting == 1
    assert home.next_appointment.pk == world.mine.appointment.pk
    assert world.theirs.account.pk not in {a.pk for a in home.accounts}
    ledger = client.get(reverse("portal:account_bills", args=[world.mine.account.pk])).context["ledger"]
    assert world.mine.draft.pk not in {b.pk for b in ledger.bills}
    assert client.get(reverse("portal:bill_detail", args=[world.mine.draft.pk])).status_code == 404


def test_bill_detail_shows_its_lines(client_for, world):
    response = client_for(world.mine.user).get(reverse("portal:bill_detail", args=[world.mine.bill.pk]))
    assert len(response.context["lines"]) == 1
    assert 'data-testid="bill-lines"' in response.content.decode()


def test_bills_and_payments_export_to_excel(client_for, world):
    client = client_for(world.mine.user)
    for url in [
        reverse("portal:bills") + "?export=xlsx",
        reverse("portal:account_bills", args=[world.mine.account.pk]) + "?export=bills",
        reverse("portal:account_bills", args=[world.mine.account.pk]) + "?export=payments",
        reverse("portal:requests") + "?export=xlsx",
    ]:
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml"), url


def test_bill_list_filters_and_sorts(client_for, world, p):
    Bill.objects.create(account=world.mine.account, period=dt.date(2025, 6, 1), status="issued", number="X1", total=5)
    client = client_for(world.mine.user)
    rows = client.get(reverse("portal:bills"), {"period": "2025-06"}).context["object_list"]
    assert [b.number for b in rows] == ["X1"]
    rows = client.get(reverse("portal:bills"), {"sort": "period"}).context["object_list"]
    assert [b.number for b in rows] == ["X1", world.mine.bill.number]


def test_timeline_hides_internal_events_and_attachments(client_for, world):
    response = client_for(world.mine.user).get(reverse("portal:request_detail", args=[world.mine.request.pk]))
    events = response.context["events"]
    assert all(not e.internal for e in events)
    body = response.content.decode()
    assert reverse("servicedesk:attachment", args=[world.mine.attachment.pk]) in body
    assert reverse("servicedesk:attachment", args=[world.mine.internal_attachment.pk]) not in body


def test_customer_creates_a_request_with_a_photo(client_for, world, p):
    client = client_for(world.mine.user)
    response = client.post(
        reverse("portal:request_create"),
        {
            "customer": p.a1.pk,
            "request_type": "repair",
            "account": world.mine.account.pk,
            "title": "变压器异响",
            "description": "请尽快派人",
            "attachments": [png()],
        },
    )
    sr = ServiceRequest.objects.get(title="变压器异响")
    assert response.status_code == 302 and response["Location"] == reverse("portal:request_detail", args=[sr.pk])
    assert sr.channel == "portal" and sr.created_by == world.mine.user and sr.assignee is not None
    assert sr.attachments.filter(internal=False).count() == 1


def test_customer_cannot_log_for_another_customer_or_its_account(client_for, world, p):
    client = client_for(world.mine.user)
    response = client.post(
        reverse("portal:request_create"), {"customer": p.b1.pk, "request_type": "repair", "title": "x"}
    )
    assert response.status_code == 400 and "customer" in response.context["form"].errors
    response = client.post(
        reverse("portal:request_create"),
        {"customer": p.a1.pk, "request_type": "repair", "title": "x", "account": world.theirs.account.pk},
    )
    assert response.status_code == 400 and "account" in response.context["form"].errors
    assert not ServiceRequest.objects.filter(title="x").exists()


def test_customer_replies_without_meeting_the_response_target(client_for, world):
    sr = world.mine.request
    response = client_for(world.mine.user).post(
        reverse("portal:request_reply", args=[sr.pk]), {"reply-body": "补充照片", "reply-attachments": [png()]}
    )
    assert response.status_code == 302
    event = RequestEvent.objects.get(request=sr, kind=EventKind.CUSTOMER_REPLY)
    assert event.body == "补充照片" and not event.internal and event.attachments.count() == 1
    sr.refresh_from_db()
    assert sr.responded_at is None


def test_empty_reply_is_a_field_error(client_for, world):
    response = client_for(world.mine.user).post(reverse("portal:request_reply", args=[world.mine.request.pk]), {})
    assert response.status_code == 400 and "body" in response.context["reply_form"].errors


def test_rating_a_closed_request_once(client_for, world):
    sr = world.mine.request
    client = client_for(world.mine.user)
    url = reverse("portal:request_rate", args=[sr.pk])
    assert client.post(url, {"rating-score": "5"}).status_code == 400  # not closed yet
    ServiceRequest.objects.filter(pk=sr.pk).update(status=RequestStatus.CLOSED, closed_at=timezone.now())
    assert client.post(url, {"rating-score": "9"}).status_code == 400
    assert client.post(url, {"rating-score": "4", "rating-comment": "很及时"}).status_code == 302
    sr.refresh_from_db()
    assert sr.satisfaction == 4
    assert RequestEvent.objects.get(request=sr, kind=EventKind.RATED).body == "很及时"
    assert client.post(url, {"rating-score": "1"}).status_code == 400
    sr.refresh_from_db()
    assert sr.satisfaction == 4


def next_weekday_at(hour: int) -> dt.datetime:
    from gridkam.core.workdays import is_working_day

    day = timezone.localdate() + dt.timedelta(days=1)
    while not is_working_day(day) or day.weekday() > 4:
        day += dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def test_customer_books_a_free_slot_and_cancels_it(client_for, world, p):
    client = client_for(world.mine.user)
    start = next_weekday_at(10)
    page = client.get(reverse("portal:appointments"), {"hall": world.hall.pk, "day": start.date().isoformat()})
    assert page.status_code == 200 and 'data-testid="slot"' in page.content.decode()
    response = client.post(
        reverse("portal:appointment_book"),
        {"customer": p.a1.pk, "topic": "电费咨询", "length": "30", "slot": f"{world.desk.pk}|{start.isoformat()}"},
    )
    assert response.status_code == 302
    booked = Appointment.objects.get(topic="电费咨询")
    assert booked.customer == p.a1 and booked.booked_by == world.mine.user
    # the same slot again is taken
    again = client.post(
        reverse("portal:appointment_book"),
        {"customer": p.a1.pk, "topic": "again", "length": "30", "slot": f"{world.desk.pk}|{start.isoformat()}"},
    )
    assert again.status_code == 400
    # another customer's slot booking is refused on the field
    other = client.post(
        reverse("portal:appointment_book"),
        {"customer": p.b1.pk, "topic": "x", "length": "30", "slot": f"{world.desk.pk}|{start.isoformat()}"},
    )
    assert other.status_code == 400 and not Appointment.objects.filter(topic="x").exists()
    assert client.post(reverse("portal:appointment_cancel", args=[booked.pk])).status_code == 302
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.CANCELLED


def test_opening_a_notice_marks_it_read(client_for, world):
    notice = world.mine.notification
    response = client_for(world.mine.user).post(reverse("portal:notice_open", args=[notice.pk]))
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.read_at is not None


@pytest.mark.parametrize(
    ("link", "lands"),
    [
        ("/surveys/portal/1/", "/surveys/portal/1/"),
        ("/messages/portal/?customer=1", "/messages/portal/?customer=1"),
        ("/portal/bills/", "/portal/bills/"),
        ("/service/requests/1/", "/portal/notices/"),  # a staff page: the notices list instead
        ("https://evil.example/", "/portal/notices/"),
    ],
)
def test_a_notice_leads_to_its_portal_page_only(client_for, world, link, lands):
    notice = world.mine.notification
    type(notice).objects.filter(pk=notice.pk).update(link=link)
    response = client_for(world.mine.user).post(reverse("portal:notice_open", args=[notice.pk]))
    assert response.status_code == 302 and response["Location"] == lands


def test_team_page_names_the_account_team(client_for, world, p):
    team = client_for(world.mine.user).get(reverse("portal:team")).context["team"]
    assert p.manager in {a.user for a in team} and p.outsider not in {a.user for a in team}


def test_dashboard_sends_customer_users_to_the_portal(client_for, world):
    response = client_for(world.mine.user).get(reverse("dashboard:home"))
    assert response["Location"] == reverse("portal:home")


def test_staff_pages_link_customer_users_back_to_the_portal(client_for, world):
    response = client_for(world.mine.user).get(reverse("customers:customer_list"))
    assert 'data-testid="nav-portal"' in response.content.decode()


def _more_accounts(p, n):
    from gridkam.core.testing import make_account

    for _ in range(n):
        account = make_account(customer=p.a1_sub)
        Bill.objects.create(account=account, period=dt.date(2026, 2, 1), status="issued", number=None, total=10)


def test_home_query_count_does_not_grow_with_accounts(client_for, world, p, django_assert_max_num_queries):
    client = client_for(world.mine.user)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("portal:home"))
    _more_accounts(p, 6)
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("portal:home"))
    assert len(response.context["home"].accounts) >= 7
    assert len(many) == len(few)


@pytest.mark.parametrize("name", ["bills", "requests", "notices", "accounts"])
def test_list_query_counts_are_constant(client_for, world, p, name):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(world.mine.user)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse(f"portal:{name}"))
    _more_accounts(p, 5)
    for _ in range(5):
        from gridkam.servicedesk.services import request_create

        request_create(
            customer=p.a1, request_type="repair", channel="portal", priority="normal", title="t", user=p.manager
        )
    with CaptureQueriesContext(connection) as many:
        client.get(reverse(f"portal:{name}"))
    assert len(many) == len(few)


def test_htmx_filtering_returns_only_the_table(client_for, world):
    client = client_for(world.mine.user)
    for name, marker in (("bills", "bill-rows"), ("requests", "request-rows")):
        response = client.get(reverse(f"portal:{name}"), HTTP_HX_REQUEST="true")
        body = response.content.decode()
        assert response.status_code == 200 and marker in body and "<html" not in body


def test_wrong_filters_do_not_fail(client_for, world):
    client = client_for(world.mine.user)
    assert client.get(reverse("portal:bills"), {"period": "nonsense", "sort": "evil"}).status_code == 200
    assert client.get(reverse("portal:requests"), {"status": "x", "page": "999"}).status_code == 200
    assert client.get(reverse("portal:appointments"), {"hall": "abc", "day": "2026-13-40"}).status_code == 200
