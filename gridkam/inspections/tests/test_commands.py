"""``dangers_escalate``: the cron twin of the daily escalation task."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command

from .support import danger

pytestmark = pytest.mark.django_db


def test_dangers_escalate_tells_the_manager_once_and_reports_it(p, capsys):
    found = danger(p.a1, p.engineer)
    day = (found.deadline + dt.timedelta(days=1)).isoformat()
    call_command("dangers_escalate", "--date", day, "--json")
    assert json.loads(capsys.readouterr().out) == {"manager": 1, "supervisors": 0}
    call_command("dangers_escalate", "--date", day)
    assert capsys.readouterr().out.strip() == "manager: 0, supervisors: 0"


def test_dangers_escalate_rejects_a_date_that_is_not_iso():
    with pytest.raises(CommandError) as error:
        call_command("dangers_escalate", "--date", "15/07/2026")
    assert error.value.returncode == 1
