"""Recording, reporting and opening a service request for an event: who may, what is validated, and one request
per event however often it is asked for."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from gridkam.powerquality.choices import PqKind, PqSource, Severity
from gridkam.powerquality.models import PowerQualityEvent
from gridkam.powerquality.services import event_open_request, event_report, event_save
from gridkam.servicedesk.choices import Channel, Priority, RequestType
from gridkam.servicedesk.models import ServiceRequest

from .support import account_of, event

pytestmark = pytest.mark.django_db


def _sag(customer, **fields) -> PowerQualityEvent:
    values = {
        "account": account_of(customer),
        "kind": PqKind.SAG,
        "started_at": timezone.now() - dt.timedelta(hours=2),
        "duration_ms": 300,
        "residual_pct": Decimal("60"),
    }
    values.update(fields)
    return PowerQualityEvent(**values)


def test_staff_record_a_classified_event(p):
    saved = event_save(event=_sag(p.a1), user=p.manager)
    assert saved.source == PqSource.STAFF and saved.reported_by == p.manager
    assert (saved.severity, saved.outside_tolerance, saved.applied_limit) == (Severity.MODERATE, True, Decimal("70"))
    saved.residual_pct = Decimal("75")
    assert event_save(event=saved, user=p.engineer).severity == Severity.WITHIN


@pytest.mark.parametrize("who", ["outsider", "clerk", "customer_user"])
def test_only_writers_who_see_the_customer_record(p, who):
    with pytest.raises(PermissionError):
        event_save(event=_sag(p.a1), user=getattr(p, who))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"residual_pct": Decimal("5")}, "residual_pct"),  # below 10 %: an interruption, not a sag
        ({"residual_pct": None}, "residual_pct"),
        ({"duration_ms": None}, "duration_ms"),
        ({"value": Decimal("3")}, "value"),
        ({"kind": PqKind.HARMONICS, "residual_pct": None, "value": None}, "value"),
        ({"kind": PqKind.SWELL, "residual_pct": Decimal("105")}, "residual_pct"),
        ({"started_at": timezone.now() + dt.timedelta(days=1)}, "started_at"),
    ],
)
def test_field_errors(p, fields, field):
    with pytest.raises(ValidationError) as exc:
        event_save(event=_sag(p.a1, **fields), user=p.manager)
    assert field in exc.value.message_dict


def test_metering_point_of_another_account_is_refused(p):
    other = account_of(p.a2).metering_points.first()
    with pytest.raises(ValidationError) as exc:
        event_save(event=_sag(p.a1, metering_point=other), user=p.manager)
    assert "metering_point" in exc.value.message_dict


def test_a_customer_reports_an_event_and_a_request_is_opened(p):
    reported = event_report(
        account=account_of(p.a1_sub),  # a subsidiary in the portal user's scope
        kind=PqKind.SAG,
        started_at=timezone.now() - dt.timedelta(hours=1),
        description="产线停机",
        production_stopped=True,
        loss_yuan=Decimal("12000.50"),
        open_request=True,
        user=p.customer_user,
    )
    assert reported.source == PqSource.CUSTOMER and reported.severity == Severity.UNKNOWN
    request = reported.service_request
    assert (request.request_type, request.channel, request.customer) == (
        RequestType.POWER_QUALITY,
        Channel.PORTAL,
        p.a1_sub,
    )
    assert request.priority == Priority.HIGH  # production stopped
    assert "12000.50" in request.description


def test_a_customer_cannot_report_for_another_customer(p):
    with pytest.raises(PermissionError):
        event_report(
            account=account_of(p.b1), kind=PqKind.SAG, started_at=timezone.now(), description="x", user=p.customer_user
        )


def test_opening_a_request_twice_links_one(p):
    sag = event(p.a1)
    first, created = event_open_request(event=sag, user=p.manager)
    again, created_again = event_open_request(event=sag, user=p.colleague)
    assert created and not created_again and first == again
    assert ServiceRequest.objects.filter(request_type=RequestType.POWER_QUALITY).count() == 1
    sag.refresh_from_db()
    assert sag.service_request == first and first.account == sag.account
    assert first.priority == Priority.HIGH  # residual 45 %: severe


def test_opening_a_request_needs_a_writer_who_sees_the_customer(p):
    sag = event(p.a1)
    for user in (p.outsider, p.clerk):
        with pytest.raises(PermissionError):
            event_open_request(event=sag, user=user)
    assert not ServiceRequest.objects.exists()
