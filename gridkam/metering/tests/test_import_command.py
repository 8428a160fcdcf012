"""``manage.py import_readings``: the JSON contract, exit statuses, format guessing and the human report, through
the real parser on small CSV files."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from gridkam.metering.choices import BatchStatus
from gridkam.metering.models import ImportBatch, PointDailyRollup, Reading

from .factories import assert_rollups_consistent, make_points, make_tariff

pytestmark = pytest.mark.django_db
EXPECTED_KEYS = ["rows", "inserted", "updated", "unchanged", "rejected", "committed", "batch", "gaps"]


def call(*args: str) -> tuple[str, int, str]:
    """stdout, exit status and error message of one run."""
    out = io.StringIO()
    try:
        with translation.override("en"):
            call_command("import_readings", *args, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return out.getvalue(), exc.returncode, str(exc)
    return out.getvalue(), 0, ""


def long_csv(code: str, *, day: str = "2018-01-02", kwh: str = "1.5", extra: str = "") -> bytes:
    lines = ["metering_point,interval_end,kwh,kvarh_lag"]
    for i in range(1, 97):
        minutes = i * 15
        stamp = f"{day} {minutes // 60:02d}:{minutes % 60:02d}" if i < 96 else f"{day} 24:00"
        lines.append(f"{code},{stamp},{kwh},0.5")
    return ("\n".join(lines) + "\n" + extra).encode()


def wide_csv(code: str, *, day: str = "2018-01-02", kwh: str = "1.5") -> bytes:
    header = (
        "metering_point,date," + ",".join(f"p{i}" for i in range(1, 97)) + "," + ",".join(f"q{i}" for i in range(1, 97))
    )
    row = f"{code},{day}," + ",".join([kwh] * 96) + "," + ",".join(["0.5"] * 96)
    return f"{header}\n{row}\n".encode()


@pytest.fixture
def point():
    return make_points(1, tariff=make_tariff())[0]


@pytest.fixture
def write(tmp_path):
    def write(name: str, data: bytes):
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    return write


def test_json_output_is_the_contract_and_the_format_is_guessed(point, write):
    out, status, _message = call(write("day.csv", long_csv(point.code)), "--json")
    document = json.loads(out)
    assert status == 0
    assert list(document) == EXPECTED_KEYS
    assert document | {"batch": None} == {
        "rows": 96,
        "inserted": 96,
        "updated": 0,
        "unchanged": 0,
        "rejected": [],
        "committed": True,
        "batch": None,
        "gaps": [],
    }
    assert ImportBatch.objects.get(pk=document["batch"]).file_format == "long"


def test_long_and_wide96_files_give_identical_rollups(point, write):
    call(write("long.csv", long_csv(point.code)), "--json")
    from_long = list(PointDailyRollup.objects.values("day", "kwh_total", "kvarh_lag", "flat_kwh", "max_demand_at"))
    out, status, _message = call(write("wide.csv", wide_csv(point.code)), "--json")
    document = json.loads(out)
    assert (status, document["unchanged"], document["inserted"]) == (0, 96, 0)
    assert ImportBatch.objects.get(pk=document["batch"]).file_format == "wide96"
    assert list(PointDailyRollup.objects.values("day", "kwh_total", "kvarh_lag", "flat_kwh", "max_demand_at")) == (
        from_long
    )
    assert_rollups_consistent()


def test_a_rejected_row_exits_1_and_writes_nothing(point, write):
    path = write("bad.csv", long_csv(point.code, extra="NOPE,2018-01-03 00:15,1,0\n"))
    out, status, message = call(path, "--json")
    document = json.loads(out)
    assert status == 1
    assert "nothing was written" in message
    assert [r["line"] for r in document["rejected"]] == [98]
    assert document["committed"] is False
    assert not Reading.objects.exists()
    assert ImportBatch.objects.get().status == BatchStatus.REJECTED
    # The same file with --skip-invalid lands its valid rows.
    out, status, _message = call(path, "--json", "--skip-invalid")
    assert (status, json.loads(out)["inserted"]) == (0, 96)


def test_dry_run_reports_without_writing(point, write):
    out, status, _message = call(write("day.csv", long_csv(point.code)), "--dry-run")
    assert status == 0
    assert "96 inserted" in out
    assert "Dry run" in out
    assert not Reading.objects.exists()
    assert not ImportBatch.objects.exists()


def test_an_unusable_file_is_rejected_as_a_whole(write):
    out, status, _message = call(write("junk.csv", b"what,is,this\n1,2,3\n"), "--json")
    document = json.loads(out)
    assert status == 1
    assert document["rejected"][0]["line"] == 0
    assert ImportBatch.objects.get().status == BatchStatus.REJECTED


@pytest.mark.parametrize(
    "args",
    [("--format", "csv"), ("--user", "nobody")],
)
def test_usage_errors_exit_2(point, write, args):
    _out, status, _message = call(write("day.csv", long_csv(point.code)), *args)
    assert status == 2


def test_a_missing_file_exits_2(tmp_path):
    assert call(str(tmp_path / "none.csv"))[1] == 2


def test_human_report_lists_rejections_and_gaps(point, write):
    data = long_csv(point.code).replace(f"{point.code},2018-01-02 03:00,1.5,0.5\n".encode(), b"")
    out, status, _message = call(write("gap.csv", data))
    assert status == 0
    assert "95 inserted" in out
    assert "1 gap" in out
