"""``seed_demo`` with its grid and safety parts (each loader has its own tests in its app): they run on a small
province too, report in the summary, and ``--no-grid`` leaves them out."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from gridkam.expansion.models import Project
from gridkam.inspections.models import HiddenDanger
from gridkam.outages.models import Feeder, Outage
from gridkam.powerquality.models import PowerQualityEvent

pytestmark = pytest.mark.django_db

QUICK = ("--usage-months", "0", "--readings-accounts", "0", "--billing-months", "0", "--no-plans")


def seed(*args: str) -> dict:
    out = io.StringIO()
    call_command("seed_demo", *QUICK, *args, "--json", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


@pytest.mark.parametrize("accounts", ["8", "30"])
def test_the_grid_parts_load_on_a_small_province(accounts):
    summary = seed("--accounts", accounts, "--service-requests", "0")
    assert summary["expansion"]["projects"] == Project.objects.count() > 0
    assert summary["outages"]["feeders"] == Feeder.objects.count() > 0
    assert Outage.objects.exists() and HiddenDanger.objects.exists()
    assert summary["power_quality"]["events"] > 0 and PowerQualityEvent.objects.exists()


def test_no_grid_leaves_them_out():
    summary = seed("--accounts", "5", "--service-requests", "0", "--no-grid")
    assert summary["expansion"] == summary["outages"] == summary["inspections"] == summary["power_quality"] == {}
    assert not Project.objects.exists() and not Feeder.objects.exists() and not PowerQualityEvent.objects.exists()
