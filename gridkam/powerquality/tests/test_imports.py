"""The monitoring import: a good file (UTF-8 and GBK), every rejected row with its line, nothing written when a row
is rejected or the write fails half-way, and a second import of the same export adding nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.customers.models import MeteringPoint
from gridkam.powerquality.choices import PqKind, PqSource, Severity
from gridkam.powerquality.imports import pq_import
from gridkam.powerquality.models import ImportStatus, PowerQualityEvent, PqImport

from .support import account_of, csv_bytes

pytestmark = pytest.mark.django_db
SAMPLES = Path(settings.BASE_DIR) / "docs" / "samples"


def _lines(p) -> list[str]:
    a1 = account_of(p.a1)
    meter = a1.metering_points.first()
    a2 = account_of(p.a2)
    return [
        f"{meter.meter_no},{a1.account_no},2026-03-02 09:15:21.340,80,电压暂降,72.5,,,A,进线故障",
        f"{meter.code},,2026-03-02 10:00:00,600,sag,75,,,ABC,",
        f",{a2.account_no},2026-04-05 03:40:00,1200,短时中断,1.5,,,三相,",
        f",{a2.account_no},2026-04-10 10:00:00,,谐波超标,,5.2,,ABC,整流负荷",
    ]


def test_a_good_file_is_imported_in_bulk(p):
    batch = pq_import(data=csv_bytes(*_lines(p)), file_name="pq.csv", user=p.manager)
    assert (batch.status, batch.created_count, batch.duplicate_count, batch.encoding) == (
        ImportStatus.IMPORTED,
        4,
        0,
        "UTF-8",
    )
    events = {e.kind + str(e.duration_ms): e for e in PowerQualityEvent.objects.all()}
    first = events["sag80"]
    assert first.metering_point is not None and first.source == PqSource.MONITORING and first.import_batch == batch
    assert first.started_at.microsecond == 340000 and first.phases == "A"
    assert events["sag600"].outside_tolerance is True  # 75 % for 0.6 s: below ITIC's 80 %
    assert events["interruption1200"].severity == Severity.SEVERE and events["interruption1200"].phases == "ABC"
    harmonics = events["harmonicsNone"]
    assert (harmonics.applied_limit, harmonics.unit, harmonics.outside_tolerance) == (Decimal("4.000"), "%", True)


def test_the_queries_do_not_grow_with_the_rows(p):
    a1 = account_of(p.a1)
    meter = a1.metering_points.first()
    many = [f"{meter.meter_no},{a1.account_no},2026-05-01 10:{m:02d}:00,80,sag,70,,,A," for m in range(42)]
    with CaptureQueriesContext(connection) as small:
        pq_import(data=csv_bytes(*many[40:]), file_name="a.csv", user=p.manager)
    with CaptureQueriesContext(connection) as large:
        pq_import(data=csv_bytes(*many[:40]), file_name="b.csv", user=p.manager)
    assert len(large) == len(small)


def test_reimporting_the_same_export_adds_nothing(p):
    data = csv_bytes(*_lines(p))
    pq_import(data=data, file_name="pq.csv", user=p.manager)
    again = pq_import(data=data, file_name="pq.csv", user=p.manager)
    assert (again.status, again.created_count, again.duplicate_count) == (ImportStatus.IMPORTED, 0, 4)
    assert PowerQualityEvent.objects.count() == 4


def test_the_same_event_named_by_meter_then_by_account_number_is_not_duplicated(p):
    a1 = account_of(p.a1)
    meter = a1.metering_points.first()
    line = "{meter},{account},2026-03-02 09:15:21,80,sag,72.5,,,A,"
    first = pq_import(data=csv_bytes(line.format(meter=meter.meter_no, account="")), file_name="a.csv", user=p.manager)
    again = pq_import(data=csv_bytes(line.format(meter="", account=a1.account_no)), file_name="b.csv", user=p.manager)
    assert (first.created_count, again.created_count, again.duplicate_count) == (1, 0, 1)
    assert PowerQualityEvent.objects.get().metering_point == meter


@pytest.mark.parametrize("start", ["0001-01-01 00:00:00", "1999-12-31 23:59:59"])
def test_a_start_before_2000_is_a_rejected_row(p, start):
    a1 = account_of(p.a1)
    batch = pq_import(data=csv_bytes(f",{a1.account_no},{start},80,sag,72.5,,,A,"), file_name="a.csv", user=p.manager)
    assert batch.status == ImportStatus.REJECTED
    assert [(row["line"], list(row["errors"])) for row in batch.rejected] == [(2, ["start"])]
    assert not PowerQualityEvent.objects.exists()


def test_gbk_files_are_read(p):
    batch = pq_import(data=csv_bytes(*_lines(p), encoding="gbk"), file_name="gbk.csv", user=p.manager)
    assert (batch.status, batch.encoding, batch.created_count) == (ImportStatus.IMPORTED, "GBK", 4)
    assert PowerQualityEvent.objects.filter(description="进线故障").exists()


def test_every_rejected_row_is_reported_and_nothing_is_written(p):
    a1 = account_of(p.a1)
    meter = a1.metering_points.first()
    b1_meter = account_of(p.b1).metering_points.first()
    lines = [
        f"{meter.meter_no},,2026-03-02 09:15:21,80,电压暂降,72.5,,,A,",  # line 2: good
        "9999999999,,2026-03-02 10:00:00,80,电压暂降,70,,,A,",  # 3: unknown meter
        f"{meter.meter_no},,2026-13-02 10:00:00,80,电压暂降,70,,,A,",  # 4: no such date
        f"{meter.meter_no},,2026-03-02 10:00:00,80,电压毛刺,70,,,A,",  # 5: unknown kind
        f"{meter.meter_no},,2026-03-02 10:00:00,80,电压暂降,5,,,A,",  # 6: too low for a sag
        f"{meter.meter_no},,2026-03-02 10:00:00,abc,电压暂降,70,,,D,",  # 7: duration and phase
        f"{b1_meter.meter_no},,2026-03-02 10:00:00,80,电压暂降,70,,,A,",  # 8: another unit's meter reads as unknown
        f"{meter.meter_no},{account_of(p.a2).account_no},2026-03-02 10:00:00,80,sag,70,,,A,",  # 9: disagree
        f"{meter.meter_no},,2099-03-02 10:00:00,80,sag,70,,,A,",  # 10: future
    ]
    batch = pq_import(data=csv_bytes(*lines), file_name="bad.csv", user=p.manager)
    assert batch.status == ImportStatus.REJECTED and batch.rows_total == 9
    rejected = {row["line"]: row["errors"] for row in batch.rejected}
    assert sorted(rejected) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "monitor" in rejected[3] and "start" in rejected[4] and "kind" in rejected[5]
    assert "residual_pct" in rejected[6] and {"duration_ms", "phase"} <= rejected[7].keys()
    assert "monitor" in rejected[8] and "monitor" in rejected[9] and "start" in rejected[10]
    assert not PowerQualityEvent.objects.exists()


def test_the_sample_files(p, settings):
    """docs/samples: the error sample is rejected line by line (here no account of it exists, so its meter too)."""
    batch = pq_import(data=(SAMPLES / "pq_events_errors.csv").read_bytes(), file_name="e.csv", user=p.manager)
    assert batch.status == ImportStatus.REJECTED
    assert [row["line"] for row in batch.rejected] == [2, 3, 4, 5, 6, 7]
    good = pq_import(data=(SAMPLES / "pq_events.csv").read_bytes(), file_name="g.csv", user=p.manager)
    assert good.status == ImportStatus.REJECTED and good.rows_total == 8  # its accounts are docs/samples/accounts.csv's


def test_a_header_without_the_needed_columns_is_refused(p):
    batch = pq_import(data="户号,开始时间\n1,2026-01-01 00:00\n".encode(), file_name="h.csv", user=p.manager)
    assert batch.status == ImportStatus.REJECTED and batch.rejected[0]["errors"]["header"]


def test_a_failure_half_way_leaves_the_database_as_it_was(p, monkeypatch):
    def explode(self, objs, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(type(PowerQualityEvent.objects), "bulk_create", explode)
    with pytest.raises(RuntimeError):
        pq_import(data=csv_bytes(*_lines(p)), file_name="pq.csv", user=p.manager)
    assert not PqImport.objects.exists() and not PowerQualityEvent.objects.exists()


@pytest.mark.parametrize("who", ["clerk", "customer_user"])
def test_only_writers_import(p, who):
    with pytest.raises(PermissionError):
        pq_import(data=csv_bytes(*_lines(p)), file_name="pq.csv", user=getattr(p, who))


def test_an_event_kind_from_either_name(p):
    meter = MeteringPoint.objects.filter(account=account_of(p.a1)).first()
    lines = [
        f"{meter.meter_no},,2026-03-0{i + 1} 10:00:00,,{name},,1.2,,ABC," for i, name in enumerate(["闪变", "flicker"])
    ]
    pq_import(data=csv_bytes(*lines), file_name="k.csv", user=p.manager)
    assert set(PowerQualityEvent.objects.values_list("kind", flat=True)) == {PqKind.FLICKER}
