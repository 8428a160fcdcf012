"""VIP desk appointments through the API and the pages: access for every persona, field errors, actions,
query counts of the list and the slots."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gridkam.servicedesk import appointments as svc
from gridkam.servicedesk.models import Appointment, AppointmentStatus, Desk

from .test_appointments import hall  # noqa: F401  (fixture)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _long_horizon(settings):
    # The Monday below is two years ahead: beyond the default booking horizon (180 days), so it is lifted here.
    settings.GRIDKAM = {**settings.GRIDKAM, "APPOINTMENT_BOOKING_DAYS": 1000}


def future_monday() -> dt.date:
    """A Monday about two years ahead of the real clock (pages and API book at timezone.now()); no statutory
    rows are loaded for that year, so the weekday rule makes it a working day."""
    day = timezone.localdate() + dt.timedelta(days=730)
    return day + dt.timedelta(days=(7 - day.weekday()) % 7)


def errors(response) -> dict:
    body = response.json()
    return body.get("errors", body)


def start(day, hour=10, minute=0) -> str:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).isoformat()


def payload(p, hall, day, **extra):  # noqa: F811
    data = {
        "desk": Desk.objects.get(hall=hall, name="专席1").pk,
        "customer": p.a1.pk,
        "starts_at": start(day),
        "length": 30,
        "topic": "增容业务咨询",
        "contact_name": "张三",
    }
    data.update(extra)
    return data


def test_booking_through_the_api_and_double_booking(p, hall, api):  # noqa: F811
    day = future_monday()
    response = api(p.manager).post("/api/v1/appointments/", payload(p, hall, day), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "booked" and body["hall"] == hall.pk and body["booked_by"] == p.manager.pk
    again = api(p.colleague).post("/api/v1/appointments/", payload(p, hall, day, customer=p.a2.pk), format="json")
    assert again.status_code == 400 and "starts_at" in errors(again)
    past = api(p.manager).post(
        "/api/v1/appointments/", payload(p, hall, day, starts_at="2020-03-16T10:00:00+08:00"), format="json"
    )
    assert past.status_code == 400 and "starts_at" in errors(past)
    short = api(p.manager).post("/api/v1/appointments/", payload(p, hall, day, length=5, topic=""), format="json")
    assert short.status_code == 400 and {"length", "topic"} <= set(errors(short))


def test_api_access_for_every_persona(p, hall, api):  # noqa: F811
    day = future_monday()
    appointment = svc.appointment_book(
        desk=Desk.objects.get(hall=hall, name="专席1"),
        customer=p.a1,
        starts_at=dt.datetime.fromisoformat(start(day)),
        topic="x",
        user=p.manager,
    )
    url = f"/api/v1/appointments/{appointment.pk}/"
    for user in (p.manager, p.colleague, p.engineer, p.clerk, p.supervisor, p.admin, p.customer_user):
        assert api(user).get(url).status_code == 200
    assert api(p.outsider).get(url).status_code == 404
    assert api(None).get(url).status_code in (401, 403)
    assert (
        api(p.outsider)
        .post("/api/v1/appointments/", payload(p, hall, day, starts_at=start(day, 11)), format="json")
        .status_code
        == 400
    )  # customer out of view
    assert api(p.customer_user).post("/api/v1/appointments/", payload(p, hall, day), format="json").status_code == 403
    assert api(p.customer_user).post(url + "cancel/", {}, format="json").status_code == 403
    assert api(p.customer_user).get("/api/v1/service-halls/").status_code == 403
    assert api(p.outsider).post(url + "cancel/", {}, format="json").status_code == 404
    early = api(p.manager).post(url + "complete/", {"notes": "x"}, format="json")
    assert early.status_code == 400 and "status" in errors(early)
    cancelled = api(p.manager).post(url + "cancel/", {"notes": "客户改期"}, format="json")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert api(p.manager).post(url + "no-show/", {}, format="json").status_code == 400


def test_halls_and_slots_api_with_constant_queries(p, hall, api):  # noqa: F811
    halls = api(p.engineer).get("/api/v1/service-halls/")
    assert halls.status_code == 200
    row = halls.json()["results"][0] if "results" in errors(halls) else halls.json()[0]
    assert len(row["desks"]) == 3 and len(row["opening_hours"]) == 11
    day = future_monday()
    url = f"/api/v1/service-halls/{hall.pk}/slots/?day={day.isoformat()}"
    api(p.manager).get(url)  # warm: the calendar year is read once per process
    with CaptureQueriesContext(connection) as first:
        response = api(p.manager).get(url)
    assert response.status_code == 200
    assert [len(r["slots"]) for r in response.json()] == [13, 13]
    for i in range(5):
        Desk.objects.create(hall=hall, name=f"加席{i}")
    with CaptureQueriesContext(connection) as more:
        assert len(api(p.manager).get(url).json()) == 7
    assert len(more) == len(first) <= 8
    bad = api(p.manager).get(f"/api/v1/service-halls/{hall.pk}/slots/?day=soon")
    assert bad.status_code == 400 and "day" in errors(bad)


def test_appointment_list_api_queries_do_not_grow(p, hall, api):  # noqa: F811
    day = future_monday()
    desk = Desk.objects.get(hall=hall, name="专席1")

    def make(hour):
        svc.appointment_book(
            desk=desk, customer=p.a1, starts_at=dt.datetime.fromisoformat(start(day, hour)), topic="x", user=p.manager
        )

    make(9)
    with CaptureQueriesContext(connection) as one:
        assert len(api(p.manager).get("/api/v1/appointments/").json()["results"]) == 1
    for hour in (10, 11, 14, 15):
        make(hour)
    with CaptureQueriesContext(connection) as five:
        body = api(p.manager).get(f"/api/v1/appointments/?day={day.isoformat()}&hall={hall.pk}&status=booked").json()
    assert len(body["results"]) == 5
    assert len(five) == len(one)
    assert api(p.outsider).get("/api/v1/appointments/").json()["results"] == []


# ------------------------------------------------------------------------------------------------ pages


def test_pages_list_book_and_act(p, hall, client_for, django_assert_max_num_queries):  # noqa: F811
    day = future_monday()
    client = client_for(p.manager)
    assert client.get(f"/service/appointments/new/?customer={p.a1.pk}").status_code == 200
    slots = client.get(f"/service/appointments/slots/?hall={hall.pk}&day={day.isoformat()}&length=30")
    assert slots.status_code == 200 and slots.content.count(b'data-testid="slot"') == 26
    desk = Desk.objects.get(hall=hall, name="专席1")
    form = {"customer": p.a1.pk, "length": 30, "topic": "电价咨询", "slot": f"{desk.pk}|{start(day)}"}
    response = client.post("/service/appointments/new/", form)
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.booked_by == p.manager and appointment.desk == desk
    again = client.post("/service/appointments/new/", form)
    assert again.status_code == 400 and again.context["form"].errors["starts_at"]
    for i in range(3):
        svc.appointment_book(
            desk=desk, customer=p.a2, starts_at=dt.datetime.fromisoformat(start(day, 14 + i)), topic="x", user=p.manager
        )
    with django_assert_max_num_queries(20):
        listing = client.get(f"/service/appointments/?day={day.isoformat()}&hall={hall.pk}&sort=starts")
    assert listing.status_code == 200 and listing.content.count(b'data-testid="appointment-row"') == 4
    export = client.get("/service/appointments/?export=xlsx")
    assert export.status_code == 200 and "spreadsheet" in export["Content-Type"]
    detail = client.get(f"/service/appointments/{appointment.pk}/")
    assert detail.status_code == 200 and detail.context["can_act"]
    early = client.post(f"/service/appointments/{appointment.pk}/complete/", {"notes": "x"})
    assert early.status_code == 400
    assert client.post(f"/service/appointments/{appointment.pk}/cancel/", {"notes": "改期"}).status_code == 302
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.CANCELLED
    assert client.post(f"/service/appointments/{appointment.pk}/bogus/", {}).status_code == 404
    assert client.get("/service/halls/").status_code == 200


@pytest.mark.parametrize(
    "persona,list_code,detail_code,book_code,halls_code",
    [
        ("manager", 200, 200, 200, 200),
        ("engineer", 200, 200, 200, 200),
        ("clerk", 200, 200, 200, 200),
        ("supervisor", 200, 200, 200, 200),
        ("admin", 200, 200, 200, 200),
        ("outsider", 200, 404, 200, 200),
        ("customer_user", 200, 200, 403, 403),
    ],
)
def test_page_access_for_every_persona(p, hall, client_for, persona, list_code, detail_code, book_code, halls_code):  # noqa: F811
    day = future_monday()
    appointment = svc.appointment_book(
        desk=Desk.objects.get(hall=hall, name="专席1"),
        customer=p.a1,
        starts_at=dt.datetime.fromisoformat(start(day)),
        topic="x",
        user=p.manager,
    )
    client = client_for(getattr(p, persona))
    assert client.get("/service/appointments/").status_code == list_code
    assert client.get(f"/service/appointments/{appointment.pk}/").status_code == detail_code
    assert client.get("/service/appointments/new/").status_code == book_code
    assert client.get("/service/halls/").status_code == halls_code
    if persona == "customer_user":
        assert client.post(f"/service/appointments/{appointment.pk}/cancel/", {}).status_code == 403
    if persona == "outsider":
        assert client.post(f"/service/appointments/{appointment.pk}/cancel/", {}).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_of_one_desk_only_one_wins(p, hall, monkeypatch):  # noqa: F811
    """Two threads book the same desk and time at once: the desk lock serialises them (PostgreSQL only;
    SQLite serialises every write anyway)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    import threading
    import time

    from django.core.exceptions import ValidationError
    from django.db import connections

    checked = svc._check_slot

    def slow_check(**kwargs):  # widen the window between the lock and the overlap check
        checked(**kwargs)
        time.sleep(0.5)

    monkeypatch.setattr(svc, "_check_slot", slow_check)
    day = future_monday()
    desk = Desk.objects.get(hall=hall, name="专席1")
    barrier = threading.Barrier(2)
    outcomes = []

    def worker(customer):
        try:
            barrier.wait()
            svc.appointment_book(
                desk=desk,
                customer=customer,
                starts_at=dt.datetime.fromisoformat(start(day)),
                topic="x",
                user=p.manager,
            )
            outcomes.append("booked")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(c,)) for c in (p.a1, p.a2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked", "refused"]
    assert Appointment.objects.filter(desk=desk).count() == 1
