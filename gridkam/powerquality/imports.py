"""Import of power-quality events from a monitoring system's CSV export (docs/power-quality.md, "Import").

Columns are named by their Chinese header or English alias, in any order; others are ignored. A row names its
place by a monitor (a meter number or a metering point code) or an account number (or both, which must agree).
Files are UTF-8 (with or without BOM) or GBK/GB18030, as Excel in Chinese saves them.

The import is **all-or-nothing**: every row is checked first and each rejected one reported with its line (the
header is line 1), column and reason; only a file without a rejected row is written, in one transaction, in
bulk. An event the monitoring system exported before (same account, metering point, kind, start and phases —
its natural key) is skipped and counted, so importing the same export twice creates nothing the second time.
Accounts and meters the user may not see read as unknown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridkam.customers.importing import FILE, HEADER, ROW, ImportFileError, _chunks, _csv_table, _Errors
from gridkam.customers.models import ElectricityAccount, MeteringPoint

from .choices import Phase, PqKind, PqSource
from .models import ImportStatus, PowerQualityEvent, PqImport
from .services import can_record, event_classify, sag_curve, start_error

BATCH_SIZE = 1000


@dataclass(frozen=True)
class ImportColumn:
    key: str
    header: str
    label: Any
    aliases: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        return (self.key, self.header, *self.aliases)


COLUMNS: tuple[ImportColumn, ...] = (
    ImportColumn(
        "monitor", "监测点", gettext_lazy("Meter number or metering point code"), ("表号", "计量点编号", "meter_no")
    ),
    ImportColumn("account_no", "户号", gettext_lazy("Account number"), ("用户编号", "account")),
    ImportColumn(
        "start", "开始时间", gettext_lazy("Start, local time (YYYY-MM-DD HH:MM:SS[.fff])"), ("发生时间", "started_at")
    ),
    ImportColumn("duration_ms", "持续时间(ms)", gettext_lazy("Duration in milliseconds"), ("持续时间", "duration")),
    ImportColumn("kind", "事件类型", gettext_lazy("Kind (code or Chinese name)"), ("类型", "type")),
    ImportColumn(
        "residual_pct",
        "残余电压(%)",
        gettext_lazy("Residual voltage, % (sags, swells, interruptions)"),
        ("残余电压", "幅值(%)", "residual"),
    ),
    ImportColumn(
        "value",
        "测量值",
        gettext_lazy("Measured value (THDu %, Plt, unbalance %, frequency deviation Hz)"),
        ("实测值",),
    ),
    ImportColumn("limit", "限值", gettext_lazy("Limit (blank: the national standard's)"), ("limit_value",)),
    ImportColumn("phase", "相别", gettext_lazy("Phase(s): A, B, C, AB, BC, CA or ABC"), ("相位", "phases")),
    ImportColumn("description", "描述", gettext_lazy("Description"), ("备注", "note")),
)
REQUIRED = ("start", "kind")

KIND_ALIASES = {
    "电压暂降": PqKind.SAG,
    "暂降": PqKind.SAG,
    "电压暂升": PqKind.SWELL,
    "暂升": PqKind.SWELL,
    "短时中断": PqKind.INTERRUPTION,
    "中断": PqKind.INTERRUPTION,
    "谐波超标": PqKind.HARMONICS,
    "谐波": PqKind.HARMONICS,
    "闪变": PqKind.FLICKER,
    "三相不平衡": PqKind.UNBALANCE,
    "不平衡": PqKind.UNBALANCE,
    "频率偏差": PqKind.FREQUENCY,
    "频率": PqKind.FREQUENCY,
}
PHASE_ALIASES = {"三相": Phase.ABC, "": ""}


def max_bytes() -> int:
    return int(float(settings.GRIDKAM.get("PQ_IMPORT_MAX_MB", 5)) * 1024 * 1024)


def detect_encoding(data: bytes) -> str:
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "GBK"
    return "UTF-8"


def natural_key(*, account_id: int, kind: str, started_at: dt.datetime, phases: str) -> str:
    """account | kind | start (UTC, to the microsecond) | phases. The metering point is left out: one export names
    the meter, another only the account number, and both describe the same event."""
    stamp = started_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S.%f")
    return f"{account_id}|{kind}|{stamp}|{phases}"


def _header_map(header: list[str]) -> dict[str, int]:
    names = {name.lower(): column.key for column in COLUMNS for name in column.names()}
    found: dict[str, int] = {}
    for index, raw in enumerate(header):
        key = names.get(raw.strip().lower())
        if key is not None and key not in found:
            found[key] = index
    missing = [key for key in REQUIRED if key not in found]
    if missing or not ({"monitor", "account_no"} & found.keys()):
        wanted = [c.header for c in COLUMNS if c.key in missing]
        if not ({"monitor", "account_no"} & found.keys()):
            wanted.append("监测点 / 户号")
        raise ImportFileError(
            _("The header lacks the column(s): %(columns)s.") % {"columns": ", ".join(wanted)}, line=1, key=HEADER
        )
    return found


def _start(raw: str) -> dt.datetime:
    text = raw.strip().replace("/", "-")
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(_("“%(value)s” is not a date and time (YYYY-MM-DD HH:MM:SS).") % {"value": raw}) from None
    if value.tzinfo is None:
        value = timezone.make_aware(value)
    return value


def _decimal(raw: str) -> Decimal | None:
    text = raw.strip().rstrip("%").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(_("“%(value)s” is not a number.") % {"value": raw}) from None
    if not value.is_finite():
        raise ValueError(_("“%(value)s” is not a number.") % {"value": raw})
    return value


def _integer(raw: str) -> int | None:
    value = _decimal(raw)
    if value is None:
        return None
    if value < 0 or value != value.to_integral_value():
        raise ValueError(_("“%(value)s” is not a whole number of milliseconds.") % {"value": raw})
    return int(value)


def _kind(raw: str) -> str:
    text = raw.strip()
    if text.lower() in PqKind.values:
        return text.lower()
    if text in KIND_ALIASES:
        return KIND_ALIASES[text]
    raise ValueError(_("“%(value)s” is not a kind of event.") % {"value": raw})


def _phase(raw: str) -> str:
    text = raw.strip().upper().replace("相", "").replace(" ", "")
    if raw.strip() in PHASE_ALIASES:
        return PHASE_ALIASES[raw.strip()]
    if text in Phase.values:
        return text
    raise ValueError(_("“%(value)s” is not a phase (A, B, C, AB, BC, CA, ABC).") % {"value": raw})


def _rows(data: bytes) -> tuple[dict[str, int], list[tuple[int, list[str]]]]:
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise ImportFileError(_("The file is empty."))
    table = _csv_table(data)
    first = next(table, None)
    if first is None or not any(cell.strip() for cell in first[1]):
        raise ImportFileError(_("The first line must be the header."), line=1, key=HEADER)
    columns = _header_map(first[1])
    rows = [(line, cells) for line, cells in table if any(cell.strip() for cell in cells)]
    return columns, rows


def pq_import(*, data: bytes, file_name: str, user, now: dt.datetime | None = None) -> PqImport:
    """Check and import one export; the returned import says what was created, skipped or rejected."""
    now = now or timezone.now()
    if not can_record(user):
        raise PermissionError(_("You may not import power-quality events."))
    batch = PqImport(file_name=file_name[:200], uploaded_by=user, created_at=now, encoding=detect_encoding(data))
    errors = _Errors()
    if len(data) > max_bytes():
        errors.add(
            0, FILE, _("The file is larger than %(mb)s MB.") % {"mb": settings.GRIDKAM.get("PQ_IMPORT_MAX_MB", 5)}
        )
        return _rejected(batch, errors, rows=0)
    try:
        columns, rows = _rows(data)
    except ImportFileError as exc:
        errors.add(exc.line, exc.key, exc.message)
        return _rejected(batch, errors, rows=0)

    def cell(cells: list[str], key: str) -> str:
        index = columns.get(key)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    monitors = {cell(c, "monitor") for _line, c in rows} - {""}
    account_nos = {cell(c, "account_no") for _line, c in rows} - {""}
    points: dict[str, MeteringPoint] = {}
    for chunk in _chunks(sorted(monitors)):
        for point in (
            MeteringPoint.objects.visible_to(user)
            .filter(Q(meter_no__in=chunk) | Q(code__in=chunk))
            .select_related("account__customer")
        ):
            points.setdefault(point.meter_no, point)
            points.setdefault(point.code, point)
    accounts: dict[str, ElectricityAccount] = {}
    for chunk in _chunks(sorted(account_nos)):
        for account in (
            ElectricityAccount.objects.visible_to(user).filter(account_no__in=chunk).select_related("customer")
        ):
            accounts[account.account_no] = account

    curve = sag_curve()
    candidates: list[tuple[int, PowerQualityEvent]] = []
    for line, cells in rows:
        row_errors: dict[str, list[str]] = {}
        monitor, account_no = cell(cells, "monitor"), cell(cells, "account_no")
        point = points.get(monitor) if monitor else None
        account = accounts.get(account_no) if account_no else None
        if monitor and point is None:
            row_errors["monitor"] = [_("No meter or metering point “%(value)s”.") % {"value": monitor}]
        if account_no and account is None:
            row_errors["account_no"] = [_("No account “%(value)s”.") % {"value": account_no}]
        if not monitor and not account_no:
            row_errors[ROW] = [_("Give the monitor (meter or metering point) or the account number.")]
        if point is not None and account is not None and point.account_id != account.pk:
            row_errors["monitor"] = [_("The meter does not belong to account %(account)s.") % {"account": account_no}]
        values: dict[str, Any] = {}
        for key, parse in (
            ("start", _start),
            ("kind", _kind),
            ("duration_ms", _integer),
            ("residual_pct", _decimal),
            ("value", _decimal),
            ("limit", _decimal),
            ("phase", _phase),
        ):
            raw = cell(cells, key)
            if key in REQUIRED and not raw:
                row_errors.setdefault(key, []).append(_("This value is required."))
                continue
            try:
                values[key] = parse(raw) if raw or key == "phase" else None
            except ValueError as exc:
                row_errors.setdefault(key, []).append(str(exc))
        if row_errors:
            errors.merge(line, row_errors)
            continue
        event = PowerQualityEvent(
            account=account if account is not None else point.account,
            metering_point=point,
            kind=values["kind"],
            started_at=values["start"],
            duration_ms=values["duration_ms"],
            residual_pct=values["residual_pct"],
            value=values["value"],
            limit_value=values["limit"],
            phases=values["phase"],
            description=cell(cells, "description")[:2000],
            source=PqSource.MONITORING,
            reported_by=user,
            created_at=now,
        )
        try:
            event.full_clean(
                exclude=[
                    "account",
                    "metering_point",
                    "service_request",
                    "import_batch",
                    "reported_by",
                    "natural_key",
                    "severity",
                    "applied_limit",
                    "unit",
                    "created_at",
                ],
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as exc:
            names = {"started_at": "start", "limit_value": "limit", "phases": "phase"}
            errors.merge(line, {names.get(k, k): v for k, v in exc.message_dict.items()})
            continue
        if problem := start_error(event.started_at, now=now):
            errors.add(line, "start", problem)
            continue
        event.natural_key = natural_key(
            account_id=event.account.pk,
            kind=event.kind,
            started_at=event.started_at,
            phases=event.phases,
        )
        event_classify(event, curve=curve)
        candidates.append((line, event))

    batch.rows_total = len(rows)
    if errors:
        return _rejected(batch, errors, rows=len(rows))
    keys = [event.natural_key for _line, event in candidates]
    existing: set[str] = set()
    for chunk in _chunks(keys):
        existing.update(PowerQualityEvent.objects.filter(natural_key__in=chunk).values_list("natural_key", flat=True))
    new: list[PowerQualityEvent] = []
    seen: set[str] = set(existing)
    for _line, event in candidates:
        if event.natural_key in seen:
            continue
        seen.add(event.natural_key)
        new.append(event)
    with transaction.atomic():
        batch.status = ImportStatus.IMPORTED
        batch.created_count = len(new)
        batch.duplicate_count = len(candidates) - len(new)
        batch.save()
        for event in new:
            event.import_batch = batch
        PowerQualityEvent.objects.bulk_create(new, batch_size=BATCH_SIZE)
    return batch


def _rejected(batch: PqImport, errors: _Errors, *, rows: int) -> PqImport:
    batch.status = ImportStatus.REJECTED
    batch.rows_total = rows
    batch.rejected = errors.rejected()
    batch.save()
    return batch


def column_help() -> list[ImportColumn]:
    return list(COLUMNS)
