"""An announced outage keeps its kind (the notices' lead times were checked for it): changing planned to fault is
refused with a field error by the service, the form and the API; a draft may change it. The late-announcement count
message is plural-aware."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from ..choices import OutageKind
from ..models import Outage
from ..services import outage_announce, outage_save
from .support import DAY, outage

pytestmark = pytest.mark.django_db


def test_an_announced_outages_kind_cannot_change(p, grid, client_for, api):
    out = outage([grid.f1], user=p.supervisor)
    out.kind = OutageKind.FAULT
    outage_save(outage=out, feeders=[grid.f1], user=p.supervisor)  # a draft may
    out.kind = OutageKind.PLANNED
    outage_save(outage=out, feeders=[grid.f1], user=p.supervisor)
    outage_announce(outage=out, user=p.supervisor)
    out.refresh_from_db()
    out.kind = OutageKind.FAULT
    with pytest.raises(ValidationError) as exc:
        outage_save(outage=out, feeders=[grid.f1], user=p.supervisor)
    assert list(exc.value.message_dict) == ["kind"]
    response = api(p.supervisor).patch(f"/api/v1/outages/{out.pk}/", {"kind": "fault"}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["kind"]
    form = client_for(p.supervisor).post(
        f"/outages/{out.pk}/edit/",
        {
            "kind": "fault",
            "feeders": [grid.f1.pk],
            "planned_start": timezone.localtime(out.planned_start).strftime("%Y-%m-%dT%H:%M"),
            "planned_end": timezone.localtime(out.planned_end).strftime("%Y-%m-%dT%H:%M"),
            "reason": out.reason,
        },
    )
    assert form.status_code == 200 and "kind" in form.context["form"].errors
    assert Outage.objects.get(pk=out.pk).kind == OutageKind.PLANNED
    same = api(p.supervisor).patch(f"/api/v1/outages/{out.pk}/", {"kind": "planned", "scope": "某路"}, format="json")
    assert same.status_code == 200


@pytest.mark.parametrize(("feeders", "text"), [(["f3"], "1 customer would"), (["f1"], "2 customers would")])
def test_the_late_count_message_is_singular_or_plural(p, grid, settings, feeders, text):
    settings.LANGUAGE_CODE = "en"
    out = outage([getattr(grid, f) for f in feeders], user=p.supervisor, start=timezone.now() + DAY)
    with pytest.raises(ValidationError) as exc:
        outage_announce(outage=out, user=p.supervisor)
    assert exc.value.message_dict["late_reason"][0].startswith(text)
