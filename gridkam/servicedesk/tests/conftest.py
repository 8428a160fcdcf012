"""Shared fixtures of the service desk tests: personas with SLA policies, requests made through the service,
and small valid and invalid files to attach."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gridkam.core.choices import ClockKind
from gridkam.servicedesk.choices import Channel, Priority, RequestType
from gridkam.servicedesk.models import SlaPolicy

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday morning (working day), so working clocks run at once.
NOW = dt.datetime(2026, 3, 16, 10, 0, tzinfo=SHANGHAI)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


def png(name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def pdf(name: str = "report.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def exe_as_png(name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, EXE, content_type="image/png")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def policies(db):
    """24×7 policies for every type and priority of the personas' tier (third), with an on-site target for repairs."""
    rows = []
    for request_type in RequestType.values:
        for priority in Priority.values:
            rows.append(
                SlaPolicy(
                    tier="third",
                    request_type=request_type,
                    priority=priority,
                    clock=ClockKind.AROUND_THE_CLOCK,
                    response_minutes=60,
                    onsite_minutes=240 if request_type == RequestType.REPAIR else None,
                    resolution_minutes=24 * 60,
                )
            )
    SlaPolicy.objects.filter(tier="third").delete()
    return SlaPolicy.objects.bulk_create(rows)


@pytest.fixture
def make_request(p, policies):
    """A request logged through the service (default: a repair of customer A1 by its manager at NOW)."""
    from gridkam.servicedesk.services import request_create

    def make(**fields):
        fields.setdefault("customer", p.a1)
        fields.setdefault("request_type", RequestType.REPAIR)
        fields.setdefault("channel", Channel.MANAGER_LINE)
        fields.setdefault("priority", Priority.NORMAL)
        fields.setdefault("title", "10kV进线跳闸")
        fields.setdefault("user", p.manager)
        fields.setdefault("now", NOW)
        return request_create(**fields)

    return make
