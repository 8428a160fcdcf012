"""``expansion_alerts``: the cron twin of the daily check."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from gridkam.core import workdays

from .support import project

pytestmark = pytest.mark.django_db


def test_expansion_alerts_reports_a_breach_once(p, capsys):
    project(p, accepted_on=workdays.add_working_days(timezone.localdate(), -30))  # new connection: 22 working days
    call_command("expansion_alerts", "--json")
    assert json.loads(capsys.readouterr().out) == {"projects": 1, "warnings": 0, "breaches": 1}
    call_command("expansion_alerts")
    assert capsys.readouterr().out.strip() == "projects: 1, warnings: 0, breaches: 0"


def test_expansion_alerts_rejects_a_date_that_is_not_iso():
    with pytest.raises(CommandError) as error:
        call_command("expansion_alerts", "--date", "2026/11/27")
    assert error.value.returncode == 1
