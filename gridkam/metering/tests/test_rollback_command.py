"""rollback_readings and the admin's rollback action."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command

from gridkam.core.testing import personas
from gridkam.metering.choices import BatchStatus
from gridkam.metering.loading import chunks_import
from gridkam.metering.models import ImportBatch, Reading

from .factories import assert_rollups_consistent, chunk_of, day_readings, make_points, make_tariff

pytestmark = pytest.mark.django_db
JAN1 = datetime.date(2018, 1, 1)


def load(readings):
    return chunks_import([chunk_of(readings)], file_name="r.csv", file_format="long")


def rollback(*args) -> dict:
    out = io.StringIO()
    call_command("rollback_readings", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_rollback_command_undoes_the_latest_import_first():
    [point] = make_points(1, tariff=make_tariff())
    first = load(day_readings(point.code, JAN1, lambda i: 1000))
    second = load(day_readings(point.code, JAN1, lambda i: 2000))
    with pytest.raises(CommandError) as exc:
        rollback(str(first.batch))
    assert exc.value.returncode == 1 and f"#{second.batch}" in str(exc.value)
    assert rollback(str(second.batch)) == {"ok": True, "batch": second.batch, "status": BatchStatus.ROLLED_BACK}
    assert {r.kwh for r in Reading.objects.all()} == {1}
    assert rollback(str(first.batch))["ok"]
    assert not Reading.objects.exists()
    assert_rollups_consistent()
    with pytest.raises(CommandError) as exc:
        rollback(str(first.batch))
    assert exc.value.returncode == 1


@pytest.mark.parametrize("batch", ["999999", "abc"])
def test_rollback_of_no_such_batch_is_a_usage_error(batch):
    with pytest.raises(CommandError) as exc:
        rollback(batch)
    assert exc.value.returncode == 2


def test_admin_lists_imports_and_rolls_back_newest_first(client):
    p = personas()
    [point] = make_points(1, tariff=make_tariff())
    first = load(day_readings(point.code, JAN1, lambda i: 1000))
    second = load(day_readings(point.code, JAN1, lambda i: 2000))
    client.force_login(p.admin)
    assert client.get("/admin/metering/importbatch/").status_code == 200
    assert client.get(f"/admin/metering/importbatch/{first.batch}/change/").status_code == 200
    response = client.post(
        "/admin/metering/importbatch/",
        {"action": "rollback", "_selected_action": [first.batch, second.batch]},
        follow=True,
    )
    assert response.status_code == 200
    assert set(ImportBatch.objects.values_list("status", flat=True)) == {BatchStatus.ROLLED_BACK}
    client.force_login(p.supervisor)
    assert client.get("/admin/metering/importbatch/").status_code == 302
