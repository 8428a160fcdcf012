"""Notices that no longer wait for acknowledgement: a customer dropped from the outage when it is announced again is
told so and its notice withdrawn; a notice of a cancelled or finished outage (or a withdrawn one) cannot be
acknowledged, in the portal, on the outage page or through the API."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from gridkam.engagement.models import Notification

from ..choices import OutageKind, OutageStatus
from ..models import OutageNotice
from ..selectors import outage_get, portal_notices
from ..services import (
    NoticeClosedError,
    notice_acknowledge,
    outage_announce,
    outage_cancel,
    outage_record_actual,
    outage_save,
)
from .support import DAY, outage

pytestmark = pytest.mark.django_db


@pytest.fixture
def dropped(p, grid):
    """An outage of F1 and F2 announced, then announced again with F2 only: A1 (on F1 only) is dropped."""
    out = outage([grid.f1, grid.f2], user=p.supervisor)
    outage_announce(outage=out, user=p.supervisor)
    out.refresh_from_db()
    outage_save(outage=out, feeders=[grid.f2], user=p.supervisor)
    before = Notification.objects.filter(recipient=p.customer_user).count()
    summary = outage_announce(outage=out, user=p.supervisor)
    return out, summary, before


def test_a_dropped_customer_is_told_and_its_notice_withdrawn(p, grid, dropped):
    out, summary, before = dropped
    assert summary == {"notices": 2, "created": 0, "updated": 0, "unchanged": 2, "late": 0, "withdrawn": 1}
    notice = OutageNotice.objects.get(outage=out, customer=p.a1)
    assert notice.withdrawn and notice.acknowledged_at is None
    told = Notification.objects.filter(recipient=p.customer_user).order_by("pk")
    assert told.count() == before + 1
    assert "取消" in told.last().title or "Cancelled" in told.last().title
    again = outage_announce(outage=out, user=p.supervisor)  # told once only
    assert again["withdrawn"] == 0 and Notification.objects.filter(recipient=p.customer_user).count() == before + 1


def test_withdrawn_notices_do_not_wait_and_are_not_counted(p, grid, dropped, client_for):
    out, _summary, _before = dropped
    assert portal_notices(user=p.customer_user)["waiting"] == []
    listed = outage_get(user=p.supervisor, pk=out.pk)
    assert (listed.notice_count, listed.unacknowledged) == (2, 2)
    page = client_for(p.supervisor).get(f"/outages/{out.pk}/")
    assert {n.customer_id for n in page.context["unacknowledged"]} == {p.a2.pk, p.a3.pk}
    assert 'data-testid="notice-withdrawn"' in page.content.decode()
    with pytest.raises(NoticeClosedError):
        notice_acknowledge(notice=OutageNotice.objects.get(outage=out, customer=p.a1), user=p.customer_user)


def test_a_dropped_customer_affected_again_gets_a_new_version(p, grid, dropped):
    out, _summary, _before = dropped
    out.refresh_from_db()
    outage_save(outage=out, feeders=[grid.f1, grid.f2], user=p.supervisor)
    summary = outage_announce(outage=out, user=p.supervisor)
    assert (summary["notices"], summary["updated"], summary["withdrawn"]) == (3, 1, 0)
    notice = OutageNotice.objects.get(outage=out, customer=p.a1)
    assert not notice.withdrawn and notice.version == 2
    assert [n.customer_id for n in portal_notices(user=p.customer_user)["waiting"]] == [p.a1.pk]


def test_cancelling_does_not_tell_withdrawn_customers_again(p, grid, dropped):
    out, _summary, before = dropped
    outage_cancel(outage=out, reason="天气原因", user=p.supervisor)
    assert Notification.objects.filter(recipient=p.customer_user).count() == before + 1


def _closed(p, grid, how: str) -> OutageNotice:
    if how == "cancelled":
        out = outage([grid.f1], user=p.supervisor)
        outage_announce(outage=out, user=p.supervisor)
        outage_cancel(outage=out, reason="取消", user=p.supervisor)
    else:
        start = timezone.now() + DAY
        out = outage([grid.f1], user=p.supervisor, kind=OutageKind.FAULT, start=start)
        outage_announce(outage=out, user=p.supervisor)
        outage_record_actual(
            outage=out, actual_start=timezone.now() - DAY, actual_end=timezone.now() - DAY / 2, user=p.supervisor
        )
        assert out.status == OutageStatus.FINISHED
    return OutageNotice.objects.get(outage=out, customer=p.a1)


@pytest.mark.parametrize("how", ["cancelled", "finished"])
def test_a_closed_outages_notice_cannot_be_acknowledged_in_the_portal(p, grid, client_for, how):
    notice = _closed(p, grid, how)
    response = client_for(p.customer_user).post(f"/outages/portal/{notice.pk}/acknowledge/", follow=True)
    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    notice.refresh_from_db()
    assert notice.acknowledged_at is None


@pytest.mark.parametrize("how", ["cancelled", "finished"])
def test_a_closed_outages_notice_cannot_be_acknowledged_through_the_api(p, grid, api, how):
    notice = _closed(p, grid, how)
    response = api(p.customer_user).post(f"/api/v1/outage-notices/{notice.pk}/acknowledge/", {}, format="json")
    assert response.status_code == 409 and response.json()["detail"]
    phone = api(p.manager).post(f"/api/v1/outage-notices/{notice.pk}/acknowledge/", {"person": "张三"}, format="json")
    assert phone.status_code == 409
    notice.refresh_from_db()
    assert notice.acknowledged_at is None


def test_a_cancelled_outages_notice_cannot_be_acknowledged_by_phone_on_the_page(p, grid, client_for):
    notice = _closed(p, grid, "cancelled")
    response = client_for(p.manager).post(f"/outages/notices/{notice.pk}/acknowledge/", {"person": "张三"})
    assert response.status_code == 200 and 'data-testid="ack-error"' in response.content.decode()
    with pytest.raises(ValidationError):
        notice_acknowledge(notice=notice, user=p.manager, person="张三")
    notice.refresh_from_db()
    assert notice.acknowledged_at is None
