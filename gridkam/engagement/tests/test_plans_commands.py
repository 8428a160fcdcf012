"""The load_plan_templates and plan_generate commands: JSON output, idempotence, exit statuses."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from gridkam.engagement.models import PlanTemplate, PlanTemplateItem, ServicePlan

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_load_plan_templates_json_idempotent_and_reset(db):
    assert json.loads(run("load_plan_templates", "--json")) == {"created": 4, "reset": 0, "unchanged": 0}
    assert json.loads(run("load_plan_templates", "--json")) == {"created": 0, "reset": 0, "unchanged": 4}
    PlanTemplateItem.objects.filter(template__tier="third").delete()
    assert json.loads(run("load_plan_templates", "--reset", "--json")) == {"created": 0, "reset": 1, "unchanged": 3}
    assert PlanTemplate.objects.get(tier="third").items.count() == 3
    assert run("load_plan_templates").strip()


def test_plan_generate_json_and_skip(p):
    run("load_plan_templates")
    year = timezone.localdate().year
    first = json.loads(run("plan_generate", "--year", str(year), "--customer", str(p.a1.pk), str(p.b1.pk), "--json"))
    assert (first["created"], first["skipped"], first["year"]) == (2, 0, year)
    assert first["occurrences"] > 0 and first["items"] > 0
    again = json.loads(run("plan_generate", "--year", str(year), "--json"))
    assert (again["created"], again["skipped"]) == (3, 2)
    assert ServicePlan.objects.count() == 5
    assert run("plan_generate", "--year", str(year)).strip()


def test_plan_generate_rejects_bad_input_with_status_1(p):
    year = timezone.localdate().year
    with pytest.raises(CommandError) as error:
        run("plan_generate", "--year", str(year), "--customer", "999999", "--json")
    assert error.value.returncode == 1
    with pytest.raises(CommandError) as error:
        run("plan_generate", "--year", str(year + 7))
    assert error.value.returncode == 1
    assert not ServicePlan.objects.exists()


def test_plan_generate_usage_error_is_status_2(db):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "manage.py", "plan_generate", "--year", "notayear"], capture_output=True, text=True
    )
    assert result.returncode == 2
