"""``load_survey_templates`` and ``survey_send_annual``: idempotent, ``--json``, exit status 1 on rejected input;
the catch-up task for links that never went out."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from gridkam.surveys.models import Survey, SurveyTemplate
from gridkam.surveys.tasks import send_pending_links

from .support import primary_contact


def run(*args) -> dict:
    from io import StringIO

    out = StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_load_templates_twice(db):
    SurveyTemplate.objects.all().delete()
    assert run("load_survey_templates") == {"created": 2, "reset": 0}
    assert run("load_survey_templates") == {"created": 0, "reset": 0}
    assert run("load_survey_templates", "--reset") == {"created": 0, "reset": 2}


def test_send_annual_once_per_customer_and_year(p, mailoutbox):
    primary_contact(p.a2, email="a2@example.com")
    year = timezone.localdate().year
    first = run("survey_send_annual", "--year", str(year))
    assert first == {"year": year, "customers": 2, "surveys": 2, "already": 0, "no_recipient": 3}
    assert run("survey_send_annual", "--year", str(year))["surveys"] == 0
    assert Survey.objects.count() == 2
    # The contact's link: the after-commit task does not run inside the test's transaction; the catch-up job does.
    assert send_pending_links() == {"sent": 1, "failed": 0}
    assert mailoutbox[0].to == ["a2@example.com"]


def test_send_annual_by_tier_and_customer(p):
    year = timezone.localdate().year
    assert run("survey_send_annual", "--year", str(year), "--tier", "special")["surveys"] == 0
    assert run("survey_send_annual", "--year", str(year), "--customer", str(p.a1.pk))["surveys"] == 1


@pytest.mark.parametrize("args", [["--year", "1990"], ["--year", "2026", "--customer", "999999"]])
def test_rejected_input_exits_1_and_writes_nothing(p, args):
    with pytest.raises(CommandError) as error:
        call_command("survey_send_annual", *args)
    assert error.value.returncode == 1
    assert not Survey.objects.exists()
