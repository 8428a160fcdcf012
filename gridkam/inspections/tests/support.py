"""Data makers of the inspection tests: an inspection recorded through the service (every item passed unless told),
a danger raised at one, a portal user of another customer, and a PNG photo."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from gridkam.core.testing import make_user
from gridkam.inspections.choices import ChecklistItem, CheckResult, DangerStatus, InspectionKind, Severity
from gridkam.inspections.models import HiddenDanger, Inspection
from gridkam.inspections.services import DangerInput, danger_deliver_notice, inspection_record
from gridkam.users.choices import Role

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
TODAY = dt.date(2026, 6, 15)


def png(name: str = "site.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def results(**failed: str) -> dict[str, tuple[str, str]]:
    """Every item passed, except ``item=remark`` ones failed."""
    return {
        code: ((CheckResult.FAIL, failed[code]) if code in failed else (CheckResult.PASS, ""))
        for code in ChecklistItem.values
    }


def inspect(
    customer, user, *, date=TODAY, kind=InspectionKind.PERIODIC, dangers=(), photos=(), today=None, **failed
) -> Inspection:
    return inspection_record(
        customer=customer,
        date=date,
        kind=kind,
        inspector=user,
        user=user,
        results=results(**failed),
        dangers=dangers,
        photos=photos,
        today=today or max(date, TODAY),
    )


def danger(
    customer, user, *, severity=Severity.GENERAL, date=TODAY, notified=False, photos=(), **fields
) -> HiddenDanger:
    """A danger raised at a periodic inspection of ``customer`` from a failed earthing check."""
    inspection = inspect(
        customer,
        user,
        date=date,
        photos=photos,
        dangers=[DangerInput(item="earthing", severity=severity, description="接地电阻超标", **fields)],
        earthing="接地电阻 12Ω",
    )
    found = inspection.dangers.get()
    if notified:
        found = danger_deliver_notice(danger=found, delivered_on=date, signed_by="张工", user=user, today=date)
        assert found.status == DangerStatus.NOTIFIED
    return found


def other_customer_user(p):
    return make_user("b1-portal", role=Role.CUSTOMER_USER, customer=p.b1, display_name="纺织能源主管")
