"""Import of key-account master data from CSV or Excel files, such as the marketing system's exports.

Four kinds, each with fixed columns (docs/import.md): org units, accounts (one row per metering
point, the customer and account repeating on each of their rows), contacts, and accounts' monthly
billing quantities (one row per account and month). An import is all-or-nothing: every row is
validated first, with the models' own validation so the messages are those of the forms, and only
a file without a single rejected row is written, in one transaction.

Existing rows are fetched up front by their natural keys in a few queries, and writes are bulk
statements in batches, so the number of queries does not grow with the rows; field history is kept
through simple-history's bulk helpers.

Counting, per data row of the file:

- *create* when the row's leaf object is new (the unit, the metering point, the contact, the month);
- otherwise *update* when the row changes anything it touches. A customer or account repeats on
  several rows; its changes are attributed to the first row that names it, so changing one
  customer's name counts one updated row, not one per metering point;
- otherwise *unchanged*.

A file with rejected rows reports zero created, updated and unchanged: nothing would be written.
"""

from __future__ import annotations

import abc
import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history, get_history_manager_for_model

from gridkam.core.choices import OrgUnitKind
from gridkam.core.models import OrgUnit
from gridkam.tariffs.choices import UsageSource
from gridkam.tariffs.models import MonthlyUsage, Tariff
from gridkam.tariffs.services import USAGE_FIELDS

from .choices import (
    CONTACT_ROLE_ALIASES,
    AccountStatus,
    BasicChargeMethod,
    ContactRole,
    PowerFactorStandard,
    SupplyMode,
    VoltageLevel,
)
from .models import Contact, Customer, ElectricityAccount, Industry, MeteringPoint
from .services import apply_tier, pinyin_initials, tier_thresholds

KIND_ORG_UNITS = "org_units"
KIND_ACCOUNTS = "accounts"
KIND_CONTACTS = "contacts"
KIND_MONTHLY_USAGE = "monthly_usage"

COLUMNS: dict[str, tuple[str, ...]] = {
    KIND_ORG_UNITS: ("code", "name", "parent_code"),
    KIND_ACCOUNTS: (
        "credit_code",
        "customer_name",
        "industry_code",
        "org_unit",
        "account_no",
        "account_name",
        "voltage_kv",
        "capacity_kva",
        "tariff_code",
        "basic_charge_method",
        "contract_demand_kw",
        "pf_standard",
        "supply_mode",
        "metering_point",
        "meter_no",
        "multiplier",
    ),
    KIND_CONTACTS: ("credit_code", "name", "role", "phone", "email", "is_primary"),
    KIND_MONTHLY_USAGE: ("account_no", "month", *USAGE_FIELDS),
}

KIND_CHOICES = [
    (KIND_ORG_UNITS, gettext_lazy("Org units")),
    (KIND_ACCOUNTS, gettext_lazy("Customers, accounts and metering points")),
    (KIND_CONTACTS, gettext_lazy("Contacts")),
    (KIND_MONTHLY_USAGE, gettext_lazy("Monthly usage (billing quantities)")),
]

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"

# Error keys that are not columns: the file as a whole (line 0), its header (line 1), a whole row.
FILE, HEADER, ROW = "file", "header", "row"

BATCH_SIZE = 1000
XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# Aliases as the marketing system's exports and hand-made sheets spell them.
SUPPLY_MODE_ALIASES = {"单电源": SupplyMode.SINGLE, "双电源": SupplyMode.DUAL, "多电源": SupplyMode.MULTIPLE}
BASIC_CHARGE_ALIASES = {
    "按容量": BasicChargeMethod.CAPACITY,
    "按需量": BasicChargeMethod.CONTRACT_DEMAND,
    "按合同需量": BasicChargeMethod.CONTRACT_DEMAND,
    "按合同最大需量": BasicChargeMethod.CONTRACT_DEMAND,
    "按实际需量": BasicChargeMethod.ACTUAL_DEMAND,
    "按实际最大需量": BasicChargeMethod.ACTUAL_DEMAND,
}
PF_NONE_ALIASES = {"none", "无", "不考核"}
TRUE_WORDS = {"1", "true", "yes", "y", "是"}
FALSE_WORDS = {"", "0", "false", "no", "n", "否"}


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass
class RowPreview:
    """What committing would do to one row: its action and, for an update, the changed fields."""

    line: int
    action: str
    label: str
    changes: list[FieldChange] = field(default_factory=list)


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    committed: bool = False
    preview: list[RowPreview] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected

    def as_dict(self) -> dict[str, Any]:
        """The document ``import_master --json`` prints (a stable contract: scripts read it)."""
        return {
            "kind": self.kind,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "committed": self.committed,
        }


class ImportFileError(Exception):
    """The file as a whole cannot be imported: unreadable, empty, or with the wrong header."""

    def __init__(self, message: str, *, line: int = 0, key: str = FILE):
        super().__init__(message)
        self.message = message
        self.line = line
        self.key = key

    def as_rejected(self) -> dict[str, Any]:
        return {"line": self.line, "errors": {self.key: [self.message]}}


# --------------------------------------------------------------------------------------------
# Reading files


@dataclass
class SourceRow:
    line: int  # 1-based line of the file (CSV) or row of the sheet (XLSX); the header is line 1
    values: dict[str, str]
    too_wide: bool = False


def _decode(data: bytes) -> str:
    # Strict UTF-8 first: GB18030 would "decode" most UTF-8 Chinese into nonsense, never the reverse.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ImportFileError(
            _("The file is neither UTF-8 nor GB18030 text. Save it as “CSV UTF-8” or as an Excel .xlsx workbook.")
        ) from None


def _csv_table(data: bytes) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    line = 1
    try:
        for record in reader:
            yield line, record
            # A quoted cell may span lines; the next record starts after the last line read.
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(
            _("Line %(line)d is not valid CSV: %(error)s") % {"line": line, "error": exc}, line=line, key=ROW
        ) from None


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Excel stores every number as a float: 10 must read "10", not "10.0".
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _xlsx_table(data: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    unreadable = _("The file could not be read as an Excel workbook (.xlsx).")
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (zip, XML, key errors) for damaged files
        raise ImportFileError(unreadable) from None
    try:
        if not workbook.worksheets:
            return
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        for line, values in enumerate(rows, start=1):
            yield line, [_cell_text(v) for v in values]
    except ImportFileError:
        raise
    except Exception:  # a damaged sheet fails while streaming, not on opening
        raise ImportFileError(unreadable) from None
    finally:
        workbook.close()


def read_rows(data: bytes, columns: Sequence[str]) -> list[SourceRow]:
    """The data rows of a CSV or XLSX file whose header names exactly ``columns`` (in any order).

    Header names ignore case and surrounding spaces; blank rows are skipped, keeping line numbers.
    """
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise ImportFileError(_("The file is empty."))
    if data.startswith(XLS_MAGIC):
        raise ImportFileError(_("This is an old Excel .xls workbook; save it as .xlsx or as CSV UTF-8."))
    table = _xlsx_table(data) if data.startswith(XLSX_MAGIC) else _csv_table(data)
    first = next(table, None)
    if first is None or not any(cell.strip() for cell in first[1]):
        if first is None or not any(any(c.strip() for c in cells) for _line, cells in table):
            raise ImportFileError(_("The file is empty."))
        raise ImportFileError(
            _("The first line must be the header: %(columns)s.") % {"columns": ", ".join(columns)},
            line=1,
            key=HEADER,
        )
    header = [cell.strip().lstrip("\ufeff").lower() for cell in first[1]]
    while header and not header[-1]:
        header.pop()
    _check_header(header, columns)
    width = len(header)
    rows = []
    for line, cells in table:
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        padded = cells[:width] + [""] * (width - len(cells))
        rows.append(SourceRow(line=line, values=dict(zip(header, padded, strict=True)), too_wide=any(cells[width:])))
    if not rows:
        raise ImportFileError(_("The file has a header but no data rows."))
    return rows


def _check_header(header: list[str], columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in header]
    unexpected = [c or _("(empty)") for c in header if c not in columns]
    repeated = sorted({c for c in header if c and header.count(c) > 1})
    if not (missing or unexpected or repeated):
        return
    parts = [_("The header does not match the columns of this import.")]
    if missing:
        parts.append(_("Missing: %(columns)s.") % {"columns": ", ".join(missing)})
    if unexpected:
        parts.append(_("Not expected: %(columns)s.") % {"columns": ", ".join(unexpected)})
    if repeated:
        parts.append(_("Repeated: %(columns)s.") % {"columns": ", ".join(repeated)})
    parts.append(_("Expected: %(columns)s.") % {"columns": ", ".join(columns)})
    raise ImportFileError(" ".join(parts), line=1, key=HEADER)


# --------------------------------------------------------------------------------------------
# Shared machinery


class _Errors:
    """Messages per file line and column, each message once."""

    def __init__(self) -> None:
        self._lines: dict[int, dict[str, list[str]]] = {}

    def add(self, line: int, key: str, message: str) -> None:
        messages = self._lines.setdefault(line, {}).setdefault(key, [])
        if message not in messages:
            messages.append(message)

    def merge(self, line: int, errors: Mapping[str, Iterable[str]]) -> None:
        for key, messages in errors.items():
            for message in messages:
                self.add(line, key, message)

    def __bool__(self) -> bool:
        return bool(self._lines)

    def has(self, line: int) -> bool:
        return line in self._lines

    def rejected(self) -> list[dict[str, Any]]:
        return [{"line": line, "errors": errors} for line, errors in sorted(self._lines.items())]


def _model_errors(obj: models.Model, *, fields: Iterable[str], columns: Mapping[str, str]) -> dict[str, list[str]]:
    """The model's own validation of ``fields`` and its clean(), so messages match the forms.

    Without per-row queries: foreign keys come from prefetched maps and uniqueness is checked
    against prefetched keys. Fields the file does not set keep values that were valid already, and
    skipping them saves a third of a large import's validation time.
    """
    validate = set(fields)
    exclude = [f.name for f in obj._meta.concrete_fields if f.name not in validate]
    try:
        obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        return {
            (ROW if name == NON_FIELD_ERRORS else columns.get(name, name)): list(messages)
            for name, messages in exc.message_dict.items()
        }
    return {}


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    """Split IN lists under the database's parameter limit (999 on older SQLite builds)."""
    limit = connection.features.max_query_params
    size = min(limit - 50, 10_000) if limit else 10_000
    items = sorted(set(values))
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _diff(before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = "") -> list[FieldChange]:
    return [
        FieldChange(f"{prefix}{key}", _show(before.get(key)), _show(value))
        for key, value in after.items()
        if before.get(key) != value
    ]


def _blank() -> str:
    # Django's own message for a required field left empty, translated by Django's catalogue.
    return _("This field cannot be blank.")


def _decimal(model: type[models.Model], name: str, raw: str, *, required: bool) -> Decimal | None:
    # Thousands separators and stray spaces are how Excel and people write large numbers.
    text = raw.replace(",", "").replace(" ", "")
    if not text:
        if required:
            raise ValidationError(_blank())
        return None
    return model._meta.get_field(name).to_python(text)


def _voltage(raw: str) -> str:
    text = raw.strip().lower().removesuffix("kv").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is not None and value.is_finite():
        for choice in VoltageLevel.values:
            if Decimal(choice) == value:
                return choice
    if not text:
        raise ValidationError(_blank())
    raise ValidationError(
        _("“%(value)s” is not a voltage level; use one of %(choices)s (kV).")
        % {"value": raw, "choices": ", ".join(VoltageLevel.values)}
    )


def _pf_standard(raw: str) -> str:
    text = raw.strip().lower()
    if text in PF_NONE_ALIASES:
        return PowerFactorStandard.NONE
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text  # the model rejects it with its own "not a valid choice" message
    return format(value.quantize(Decimal("0.01")), "f") if value.is_finite() and value < 10 else text


def _choice(raw: str, aliases: Mapping[str, str]) -> str:
    text = raw.strip()
    return aliases.get(text, text.lower())


def _boolean(raw: str) -> bool:
    text = raw.strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValidationError(_("Use 1 or 0, true or false, yes or no, 是 or 否."))


class _Importer(abc.ABC):
    kind = ""
    # Model fields shown under the file's column names in messages.
    columns: dict[str, str] = {}

    def __init__(
        self,
        *,
        rows: list[SourceRow],
        user=None,
        scope_path: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        reason: str = "",
    ) -> None:
        self.rows = rows
        self.user = user
        self.scope_path = scope_path
        self.progress = progress
        self.reason = reason[:100]
        self.errors = _Errors()
        self.previews: list[RowPreview] = []
        for row in rows:
            if row.too_wide:
                self.errors.add(row.line, ROW, _("This row has more cells than the header has columns."))

    @abc.abstractmethod
    def plan(self) -> None:
        """Validate every row and work out the writes; fills ``errors`` or ``previews``."""

    @abc.abstractmethod
    def write(self) -> None:
        """Carry out the planned writes (only called when no row was rejected)."""

    def tick(self, done: int) -> None:
        if self.progress and (done % 500 == 0 or done == len(self.rows)):
            self.progress(done, len(self.rows))

    def in_scope(self, path: str) -> bool:
        return self.scope_path is None or path.startswith(self.scope_path)

    def strictly_below_scope(self, path: str) -> bool:
        # Supervisors shape the tree below their unit, never their own unit or what is above it.
        return self.scope_path is None or (path.startswith(self.scope_path) and path != self.scope_path)

    def create(self, objs: list[models.Model], model: type[models.Model]) -> None:
        if objs:
            bulk_create_with_history(
                objs, model, batch_size=BATCH_SIZE, default_user=self.user, default_change_reason=self.reason
            )

    def update(self, objs: list[models.Model], model: type[models.Model], fields: list[str]) -> None:
        """Write changed rows, then their history records.

        Not Django's bulk_update: it builds a CASE expression per object and field, which took over
        20 s for 10,000 changed accounts on SQLite. One parameterised UPDATE by primary key, run
        through executemany, takes well under a second on SQLite and on PostgreSQL (psycopg 3
        pipelines it). The history is what simple-history's bulk_update_with_history writes.
        """
        if not objs:
            return
        opts = model._meta
        concrete = [opts.get_field(name) for name in fields]
        quote = connection.ops.quote_name
        assignments = ", ".join(f"{quote(f.column)} = %s" for f in concrete)
        sql = f"UPDATE {quote(opts.db_table)} SET {assignments} WHERE {quote(opts.pk.column)} = %s"
        for obj in objs:
            # Foreign keys to objects inserted earlier in this import get their new ids.
            obj._prepare_related_fields_for_save(operation_name="bulk_update", fields=concrete)
        params = [
            [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in concrete] + [obj.pk]
            for obj in objs
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
        get_history_manager_for_model(model).bulk_history_create(
            objs, batch_size=BATCH_SIZE, update=True, default_user=self.user, default_change_reason=self.reason
        )


# --------------------------------------------------------------------------------------------
# Org units


def _kind_for_depth(depth: int) -> str:
    if depth == 0:
        return OrgUnitKind.PROVINCE
    return OrgUnitKind.CITY if depth == 1 else OrgUnitKind.COUNTY


class _OrgUnitImporter(_Importer):
    """Rows ``code,name,parent_code``; parents may come later in the file or exist already.

    New units get their kind from their depth (province, city, county); existing units keep theirs.
    Moving a unit rewrites the paths of the sub-units below it, in the file or not.
    """

    kind = KIND_ORG_UNITS
    columns = {"code": "code", "name": "name", "parent": "parent_code", "path": "parent_code"}

    def plan(self) -> None:
        units = {u.code: u for u in OrgUnit.objects.all()}  # the tree is small: hundreds of units
        code_by_id = {u.pk: u.code for u in units.values()}
        before = {
            u.code: {
                "name": u.name,
                "parent_code": code_by_id.get(u.parent_id),
                "kind": u.kind,
                "path": u.path,
            }
            for u in units.values()
        }
        file_rows: dict[str, SourceRow] = {}
        for done, row in enumerate(self.rows, start=1):
            code = row.values["code"]
            if not code:
                self.errors.add(row.line, "code", _blank())
            elif code in file_rows:
                self.errors.add(
                    row.line,
                    "code",
                    _("Unit %(code)s is already on line %(line)d.") % {"code": code, "line": file_rows[code].line},
                )
            else:
                file_rows[code] = row
            self.tick(done)

        parent_of: dict[str, str | None] = {code: values["parent_code"] for code, values in before.items()}
        for code, row in file_rows.items():
            parent_of[code] = row.values["parent_code"] or None
        for code, row in file_rows.items():
            parent = parent_of[code]
            if parent is not None and parent not in parent_of:
                self.errors.add(row.line, "parent_code", _("Unknown parent unit code %(code)s.") % {"code": parent})
        paths, cycles = _resolve_paths(parent_of)
        for cycle in cycles:
            loop = " → ".join([*cycle, cycle[0]])
            for code in cycle:
                if code in file_rows:
                    self.errors.add(
                        file_rows[code].line,
                        "parent_code",
                        _("The parent chain loops: %(loop)s.") % {"loop": loop},
                    )
        if self.errors:
            return

        # Final paths first, on every instance, so that the model's own clean() compares new paths.
        for code in file_rows:
            if code not in units:
                units[code] = OrgUnit(code=code)
        for code, unit in units.items():
            unit.path = paths[code]
        self.new_units: list[OrgUnit] = []
        self.changed_units: list[OrgUnit] = []
        for row in sorted(file_rows.values(), key=lambda r: r.line):
            code = row.values["code"]
            unit = units[code]
            parent_code = parent_of[code]
            unit.name = row.values["name"]
            unit.parent = units[parent_code] if parent_code else None
            if unit.pk is None:
                unit.kind = _kind_for_depth(unit.path.count("/") - 2)
            if not self.strictly_below_scope(unit.path) or (
                unit.pk is not None and not self.strictly_below_scope(before[code]["path"])
            ):
                self.errors.add(row.line, "code", _("You may only import units below your own unit."))
            unit_errors = _model_errors(unit, fields=["code", "name", "kind", "path"], columns=self.columns)
            self.errors.merge(row.line, unit_errors)
            after = {"name": unit.name, "parent_code": parent_code, "kind": unit.kind, "path": unit.path}
            label = f"{code} {unit.name}"
            if unit.pk is None:
                self.new_units.append(unit)
                self.previews.append(RowPreview(row.line, CREATE, label))
            else:
                changes = _diff(before[code], after)
                if changes:
                    self.changed_units.append(unit)
                self.previews.append(RowPreview(row.line, UPDATE if changes else UNCHANGED, label, changes))
        # Sub-units not in the file move with their moved ancestors.
        for code, unit in units.items():
            if unit.pk is not None and code not in file_rows and unit.path != before[code]["path"]:
                self.changed_units.append(unit)

    def write(self) -> None:
        # Parents before children: a level's primary keys are known before the next level is inserted.
        by_depth: dict[int, list[OrgUnit]] = {}
        for unit in self.new_units:
            by_depth.setdefault(unit.path.count("/"), []).append(unit)
        for depth in sorted(by_depth):
            self.create(by_depth[depth], OrgUnit)
        self.update(self.changed_units, OrgUnit, ["name", "parent", "kind", "path"])


def _resolve_paths(parent_of: Mapping[str, str | None]) -> tuple[dict[str, str], list[list[str]]]:
    """Materialised paths for every code whose ancestry resolves, and the cycles found."""
    paths: dict[str, str] = {}
    broken: set[str] = set()
    cycles: list[list[str]] = []
    for start in parent_of:
        chain: list[str] = []
        on_chain: set[str] = set()
        current: str | None = start
        base: str | None
        while True:
            if current is None:
                base = "/"
                break
            if current in paths:
                base = paths[current]
                break
            if current in broken or current not in parent_of:
                base = None
                break
            if current in on_chain:
                cycle = chain[chain.index(current) :]
                # Report each cycle once, from its smallest code, whatever row it was met from.
                first = cycle.index(min(cycle))
                cycles.append(cycle[first:] + cycle[:first])
                base = None
                break
            chain.append(current)
            on_chain.add(current)
            current = parent_of[current]
        if base is None:
            broken.update(chain)
            continue
        for code in reversed(chain):
            base = f"{base}{code}/"
            paths[code] = base
    return paths, cycles


# --------------------------------------------------------------------------------------------
# Customers, accounts and metering points

CUSTOMER_COLUMNS = ("customer_name", "industry_code", "org_unit")
ACCOUNT_COLUMNS = (
    "account_name",
    "voltage_kv",
    "capacity_kva",
    "tariff_code",
    "basic_charge_method",
    "contract_demand_kw",
    "pf_standard",
    "supply_mode",
)
# The account's model field under a column of another name: the tariff column holds the foreign key's code.
ACCOUNT_FIELDS = {"tariff_code": "tariff"}


@dataclass
class _Group:
    """A customer or account as first given in the file, and every line that names it."""

    key: str
    line: int
    parsed: dict[str, Any]
    failed: set[str]
    lines: list[int] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    obj: Any = None
    before: dict[str, Any] | None = None
    changes: list[FieldChange] = field(default_factory=list)


class _AccountImporter(_Importer):
    kind = KIND_ACCOUNTS
    customer_columns = {
        "credit_code": "credit_code",
        "name": "customer_name",
        "industry": "industry_code",
        "org_unit": "org_unit",
    }
    account_columns = {
        "account_no": "account_no",
        "name": "account_name",
        **{c: c for c in ACCOUNT_COLUMNS if c != "account_name"},
        "tariff": "tariff_code",
    }
    point_columns = {
        "code": "metering_point",
        "meter_no": "meter_no",
        "multiplier": "multiplier",
        "account": "account_no",
    }

    # Columns read into Python values before validation, so that rows can be compared as values.
    parsers: dict[str, Callable[[str], Any]] = {
        "voltage_kv": _voltage,
        "capacity_kva": lambda v: _decimal(ElectricityAccount, "capacity_kva", v, required=True),
        "contract_demand_kw": lambda v: _decimal(ElectricityAccount, "contract_demand_kw", v, required=False),
        "multiplier": lambda v: _decimal(MeteringPoint, "multiplier", v, required=True),
        "pf_standard": _pf_standard,
        "supply_mode": lambda v: _choice(v, SUPPLY_MODE_ALIASES),
        "basic_charge_method": lambda v: _choice(v, BASIC_CHARGE_ALIASES),
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Per row: the row, its parsed values, its customer and account groups, its point and the
        # point's values before the import (None for a new point).
        self._points: list[tuple[SourceRow, dict[str, Any], Any, Any, MeteringPoint | None, Any]] = []

    def prefetch(self) -> None:
        rows = self.rows
        credit_codes = {r.values["credit_code"].strip().upper() for r in rows}
        account_nos = {r.values["account_no"] for r in rows}
        point_codes = {r.values["metering_point"] for r in rows}
        meter_nos = {r.values["meter_no"] for r in rows}
        # Reference tables are small (the GB/T 4754 sections and divisions, hundreds of units): all of them.
        self.industries = set(Industry.objects.values_list("code", flat=True))
        # GB/T 4754 digits are unique across sections, so "31" can only mean C31.
        self.industry_by_digits = {c[1:]: c for c in self.industries if c[:1].isalpha() and c[1:].isdigit()}
        # So is the tariff catalogue (tens of tariffs). Codes match ignoring case, as people type them,
        # and are stored as the catalogue spells them: the column is the foreign key.
        self.tariffs = set(Tariff.objects.values_list("code", flat=True))
        self.tariffs_upper = {code.upper(): code for code in self.tariffs}
        self.units = {u.code: u for u in OrgUnit.objects.all()}
        self.units_by_id = {u.pk: u for u in self.units.values()}
        self.units_upper = {code.upper(): u for code, u in self.units.items()}
        self.db_customers: dict[str, Customer] = {}
        for chunk in _chunks(credit_codes):
            self.db_customers.update((c.credit_code, c) for c in Customer.objects.filter(credit_code__in=chunk))
        self.db_accounts: dict[str, ElectricityAccount] = {}
        for chunk in _chunks(account_nos):
            qs = ElectricityAccount.objects.filter(account_no__in=chunk).annotate(
                import_customer_code=models.F("customer__credit_code")
            )
            self.db_accounts.update((a.account_no, a) for a in qs)
        self.db_points: dict[str, MeteringPoint] = {}
        for chunk in _chunks(point_codes):
            qs = MeteringPoint.objects.filter(code__in=chunk).annotate(
                import_account_no=models.F("account__account_no"),
                import_customer_code=models.F("account__customer__credit_code"),
            )
            self.db_points.update((p.code, p) for p in qs)
        self.meter_holders: dict[str, str] = {}
        for chunk in _chunks(meter_nos):
            self.meter_holders.update(MeteringPoint.objects.filter(meter_no__in=chunk).values_list("meter_no", "code"))

    def parse(self, values: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
        parsed: dict[str, Any] = {key: value.strip() for key, value in values.items()}
        errors: dict[str, list[str]] = {}
        parsed["credit_code"] = parsed["credit_code"].upper()
        for column in ("credit_code", "customer_name", "account_no", "metering_point", "meter_no"):
            if not parsed[column]:
                errors[column] = [_blank()]
        industry = parsed["industry_code"].upper()
        if industry.isdigit():
            industry = self.industry_by_digits.get(industry.zfill(2), industry)
        parsed["industry_code"] = industry
        if not industry:
            errors["industry_code"] = [_blank()]
        elif industry not in self.industries:
            errors["industry_code"] = [_("Unknown industry code %(code)s.") % {"code": values["industry_code"]}]
        unit = self.units.get(parsed["org_unit"]) or self.units_upper.get(parsed["org_unit"].upper())
        if unit is not None:
            parsed["org_unit"] = unit.code
        elif not parsed["org_unit"]:
            errors["org_unit"] = [_blank()]
        else:
            errors["org_unit"] = [_("Unknown org unit code %(code)s.") % {"code": parsed["org_unit"]}]
        tariff = parsed["tariff_code"]
        if tariff and tariff not in self.tariffs:
            if tariff.upper() in self.tariffs_upper:
                parsed["tariff_code"] = self.tariffs_upper[tariff.upper()]
            else:
                errors["tariff_code"] = [_("Unknown tariff code %(code)s.") % {"code": tariff}]
        for column, parser in self.parsers.items():
            try:
                parsed[column] = parser(values[column])
            except ValidationError as exc:
                errors[column] = exc.messages
        return parsed, errors

    def plan(self) -> None:
        self.prefetch()
        customers: dict[str, _Group] = {}
        accounts: dict[str, _Group] = {}
        seen_points: dict[str, int] = {}
        seen_meters: dict[str, int] = {}
        parsed_rows: list[tuple[SourceRow, dict[str, Any], dict[str, list[str]]]] = []
        for done, row in enumerate(self.rows, start=1):
            parsed, errors = self.parse(row.values)
            self._group(customers, row, parsed, errors, "credit_code", CUSTOMER_COLUMNS)
            account = self._group(accounts, row, parsed, errors, "account_no", ACCOUNT_COLUMNS)
            if account is not None and account.parsed["credit_code"] != parsed["credit_code"]:
                errors.setdefault("account_no", []).append(
                    _("Account %(account)s is given for customer %(code)s on line %(line)d.")
                    % {"account": account.key, "code": account.parsed["credit_code"], "line": account.line}
                )
            for column, seen, message in (
                ("metering_point", seen_points, _("Metering point %(value)s is already on line %(line)d.")),
                ("meter_no", seen_meters, _("Meter number %(value)s is already on line %(line)d.")),
            ):
                value = parsed[column]
                if value and value in seen:
                    errors.setdefault(column, []).append(message % {"value": value, "line": seen[value]})
                elif value:
                    seen[value] = row.line
            parsed_rows.append((row, parsed, errors))
            self.tick(done)

        for group in customers.values():
            self._build_customer(group)
        for group in accounts.values():
            self._build_account(group, customers.get(group.parsed["credit_code"]))

        for row, parsed, errors in parsed_rows:
            customer = customers.get(parsed["credit_code"])
            account = accounts.get(parsed["account_no"])
            point_errors, point, before = self._build_point(parsed, errors, account)
            self.errors.merge(row.line, errors)
            self.errors.merge(row.line, point_errors)
            for group in (customer, account):
                if group is not None:
                    self.errors.merge(row.line, group.errors)
            self._points.append((row, parsed, customer, account, point, before))
        if self.errors:
            return
        self._apply_tiers(customers, accounts)
        self._preview(customers, accounts)

    def _group(
        self,
        groups: dict[str, _Group],
        row: SourceRow,
        parsed: dict[str, Any],
        errors: dict[str, list[str]],
        key_column: str,
        columns: Sequence[str],
    ) -> _Group | None:
        """The first row naming a customer or account defines it; later rows must agree."""
        key = parsed[key_column]
        if not key:
            return None
        group = groups.get(key)
        if group is None:
            group = _Group(
                key=key,
                line=row.line,
                parsed={c: parsed[c] for c in (key_column, "credit_code", *columns)},
                failed={c for c in columns if c in errors} | ({key_column} & errors.keys()),
            )
            groups[key] = group
        else:
            for column in columns:
                if column in errors or column in group.failed or parsed[column] == group.parsed[column]:
                    continue
                if key_column == "credit_code":
                    message = _("Differs from line %(line)d for the same customer (%(value)s there).")
                else:
                    message = _("Differs from line %(line)d for the same account (%(value)s there).")
                errors.setdefault(column, []).append(
                    message % {"line": group.line, "value": _show(group.parsed[column]) or '""'}
                )
        group.lines.append(row.line)
        return group

    def _build_customer(self, group: _Group) -> None:
        parsed = group.parsed
        existing = self.db_customers.get(group.key)
        customer = existing or Customer(credit_code=group.key)
        if existing is not None:
            group.before = {
                "customer_name": existing.name,
                "industry_code": existing.industry_id,
                "org_unit": self.units_by_id[existing.org_unit_id].code,
                "name_initials": existing.name_initials,
                "tier": existing.tier,
                "tier_computed": existing.tier_computed,
            }
        customer.name = parsed["customer_name"]
        if "industry_code" not in group.failed:
            customer.industry_id = parsed["industry_code"]
        unit = self.units.get(parsed["org_unit"]) if "org_unit" not in group.failed else None
        if unit is not None:
            customer.org_unit = unit
        # Initials only for new or renamed customers: pinyin is the slowest step of a large import.
        if group.before is None or group.before["customer_name"] != customer.name or not customer.name_initials:
            customer.name_initials = pinyin_initials(customer.name)
        failed_fields = {"industry_code": "industry", "org_unit": "org_unit", "customer_name": "name"}
        fields = {"credit_code", "name"} - {failed_fields[c] for c in group.failed if c in failed_fields}
        errors = _model_errors(customer, fields=fields, columns=self.customer_columns)
        if unit is not None and not self.in_scope(unit.path):
            errors.setdefault("org_unit", []).append(
                _("You may only import customers into your own org unit and below.")
            )
        # group.before, not existing: existing is the object being changed, its org unit already replaced.
        if group.before is not None and not self.in_scope(self.units[group.before["org_unit"]].path):
            errors.setdefault("credit_code", []).append(_("This customer belongs to an org unit outside yours."))
        group.errors = errors
        group.obj = customer

    def _build_account(self, group: _Group, customer: _Group | None) -> None:
        parsed = group.parsed
        existing = self.db_accounts.get(group.key)
        account = existing or ElectricityAccount(account_no=group.key)
        errors: dict[str, list[str]] = {}
        if existing is not None:
            if existing.import_customer_code != parsed["credit_code"]:
                errors["account_no"] = [
                    _("Account %(account)s already belongs to another customer.") % {"account": group.key}
                ]
            group.before = {
                "account_name": existing.name,
                **{c: getattr(existing, c) for c in ACCOUNT_COLUMNS if c != "account_name"},
            }
        account.name = parsed["account_name"]
        for column in ACCOUNT_COLUMNS:
            if column != "account_name" and column not in group.failed:
                setattr(account, column, parsed[column])
        if customer is not None:
            account.customer = customer.obj
        # Not the tariff: parse() checked it against the prefetched catalogue, where the model's own check
        # of a foreign key would query once per account.
        fields = {"account_no", "name", *ACCOUNT_COLUMNS[1:]} - group.failed - ACCOUNT_FIELDS.keys()
        for name, messages in _model_errors(account, fields=fields, columns=self.account_columns).items():
            errors.setdefault(name, []).extend(messages)
        group.errors = errors
        group.obj = account

    def _build_point(
        self, parsed: dict[str, Any], row_errors: dict[str, list[str]], account: _Group | None
    ) -> tuple[dict[str, list[str]], MeteringPoint | None, dict[str, Any] | None]:
        code = parsed["metering_point"]
        if not code:
            return {}, None, None
        errors: dict[str, list[str]] = {}
        existing = self.db_points.get(code)
        point = existing or MeteringPoint(code=code)
        before = None
        if existing is not None:
            if existing.import_customer_code != parsed["credit_code"]:
                errors["metering_point"] = [
                    _("Metering point %(code)s already belongs to another customer's account.") % {"code": code}
                ]
            before = {
                "account_no": existing.import_account_no,
                "meter_no": existing.meter_no,
                "multiplier": existing.multiplier,
            }
        meter = parsed["meter_no"]
        holder = self.meter_holders.get(meter)
        if meter and holder is not None and holder != code:
            errors["meter_no"] = [_("Meter number %(meter)s is used by another metering point.") % {"meter": meter}]
        point.meter_no = meter
        if "multiplier" not in row_errors:
            point.multiplier = parsed["multiplier"]
        if account is not None and account.obj is not None:
            point.account = account.obj
        fields = {"code", "meter_no", "multiplier"} - row_errors.keys()
        for name, messages in _model_errors(point, fields=fields, columns=self.point_columns).items():
            errors.setdefault(name, []).extend(messages)
        return errors, point, before

    def _apply_tiers(self, customers: dict[str, _Group], accounts: dict[str, _Group]) -> None:
        """Tiers follow total open capacity: the file's accounts plus the customer's others in the database."""
        capacity: dict[str, dict[str, Decimal]] = {code: {} for code in customers}
        code_by_id = {g.obj.pk: code for code, g in customers.items() if g.obj.pk is not None}
        for chunk in _chunks(code_by_id):
            for customer_id, account_no, capacity_kva in (
                ElectricityAccount.objects.filter(customer_id__in=chunk)
                .exclude(status=AccountStatus.CLOSED)
                .values_list("customer_id", "account_no", "capacity_kva")
            ):
                capacity[code_by_id[customer_id]][account_no] = capacity_kva
        for group in accounts.values():
            account = group.obj
            per_account = capacity[group.parsed["credit_code"]]
            if account.status == AccountStatus.CLOSED:
                per_account.pop(account.account_no, None)
            else:
                per_account[account.account_no] = account.capacity_kva
        rules = tier_thresholds()
        for code, group in customers.items():
            apply_tier(group.obj, rules, sum(capacity[code].values(), Decimal("0")))

    def _preview(self, customers: dict[str, _Group], accounts: dict[str, _Group]) -> None:
        self.new_customers: list[Customer] = []
        self.changed_customers: list[Customer] = []
        self.new_accounts: list[ElectricityAccount] = []
        self.changed_accounts: list[ElectricityAccount] = []
        self.new_points: list[MeteringPoint] = []
        self.changed_points: list[MeteringPoint] = []
        for group in customers.values():
            customer = group.obj
            if group.before is None:
                self.new_customers.append(customer)
                continue
            after = {
                "customer_name": customer.name,
                "industry_code": customer.industry_id,
                "org_unit": customer.org_unit.code,
                "name_initials": customer.name_initials,
                "tier": customer.tier,
                "tier_computed": customer.tier_computed,
            }
            group.changes = _diff(group.before, after)
            if group.changes:
                self.changed_customers.append(customer)
        for group in accounts.values():
            account = group.obj
            if group.before is None:
                self.new_accounts.append(account)
                continue
            after = {"account_name": account.name, **{c: getattr(account, c) for c in ACCOUNT_COLUMNS[1:]}}
            group.changes = _diff(group.before, after)
            if group.changes:
                self.changed_accounts.append(account)
        for row, parsed, customer, account, point, before in self._points:
            label = f"{parsed['customer_name']} · {parsed['account_no']} · {parsed['metering_point']}"
            changes: list[FieldChange] = []
            for group in (customer, account):
                if group.line == row.line:
                    changes.extend(group.changes)
            if before is None:
                self.new_points.append(point)
                self.previews.append(RowPreview(row.line, CREATE, label))
                continue
            after = {"account_no": parsed["account_no"], "meter_no": point.meter_no, "multiplier": point.multiplier}
            point_changes = _diff(before, after)
            if point_changes:
                self.changed_points.append(point)
            changes.extend(point_changes)
            self.previews.append(RowPreview(row.line, UPDATE if changes else UNCHANGED, label, changes))

    def write(self) -> None:
        now = timezone.now()
        for customer in self.changed_customers:
            customer.updated_at = now  # bulk_update skips auto_now
        self.create(self.new_customers, Customer)
        self.update(
            self.changed_customers,
            Customer,
            ["name", "name_initials", "industry", "org_unit", "tier", "tier_computed", "updated_at"],
        )
        self.create(self.new_accounts, ElectricityAccount)
        account_fields = ["name", *(ACCOUNT_FIELDS.get(c, c) for c in ACCOUNT_COLUMNS[1:])]
        self.update(self.changed_accounts, ElectricityAccount, account_fields)
        self.create(self.new_points, MeteringPoint)
        self.update(self.changed_points, MeteringPoint, ["account", "meter_no", "multiplier"])


# --------------------------------------------------------------------------------------------
# Contacts


class _ContactImporter(_Importer):
    """Rows ``credit_code,name,role,phone,email,is_primary`` for customers already in the database.

    A contact is known by (customer, name, role). Making a contact primary demotes the customer's
    previous primary contact for that role, as the contact form does.
    """

    kind = KIND_CONTACTS
    columns = {
        "customer": "credit_code",
        "name": "name",
        "role": "role",
        "phone": "phone",
        "email": "email",
        "is_primary": "is_primary",
    }

    def plan(self) -> None:
        codes = {r.values["credit_code"].strip().upper() for r in self.rows}
        customers: dict[str, tuple[int, str]] = {}
        for chunk in _chunks(codes):
            customers.update(
                (code, (pk, path))
                for pk, code, path in Customer.objects.filter(credit_code__in=chunk).values_list(
                    "pk", "credit_code", "org_unit__path"
                )
            )
        existing: dict[tuple[int, str, str], Contact] = {}
        for chunk in _chunks(pk for pk, _path in customers.values()):
            existing.update(((c.customer_id, c.name, c.role), c) for c in Contact.objects.filter(customer_id__in=chunk))
        roles = {value: value for value in ContactRole.values} | CONTACT_ROLE_ALIASES
        seen: dict[tuple[int, str, str], int] = {}
        primaries: dict[tuple[int, str], tuple[int, Contact]] = {}
        planned: list[tuple[SourceRow, Contact, dict[str, Any] | None]] = []
        for done, row in enumerate(self.rows, start=1):
            self.tick(done)
            values = row.values
            errors: dict[str, list[str]] = {}
            code = values["credit_code"].strip().upper()
            customer = customers.get(code)
            if not code:
                errors["credit_code"] = [_blank()]
            elif customer is None or not self.in_scope(customer[1]):
                # Out of scope reads like unknown: a supervisor learns nothing about other units' customers.
                customer = None
                if self.scope_path is None:
                    message = _("No customer with credit code %(code)s.")
                else:
                    message = _("No customer with credit code %(code)s in your org unit and below.")
                errors["credit_code"] = [message % {"code": code}]
            role = roles.get(values["role"].strip()) or roles.get(values["role"].strip().lower())
            if role is None:
                errors["role"] = [
                    _("Unknown role “%(value)s”; use one of %(choices)s.")
                    % {"value": values["role"], "choices": ", ".join([*ContactRole.values, *CONTACT_ROLE_ALIASES])}
                ]
            try:
                is_primary = _boolean(values["is_primary"])
            except ValidationError as exc:
                errors["is_primary"] = exc.messages
                is_primary = False
            name = values["name"].strip()
            key = (customer[0], name, role) if customer and role else None
            contact = existing.get(key) if key else None
            before = None
            if contact is None:
                contact = Contact(customer_id=customer[0] if customer else None, name=name, role=role or "")
            else:
                before = {"phone": contact.phone, "email": contact.email, "is_primary": contact.is_primary}
            contact.phone = values["phone"].strip()
            contact.email = values["email"].strip()
            contact.is_primary = is_primary
            if key and name:
                if key in seen:
                    errors.setdefault("name", []).append(
                        _("This contact is already on line %(line)d.") % {"line": seen[key]}
                    )
                else:
                    seen[key] = row.line
                if is_primary and (key[0], role) in primaries:
                    errors.setdefault("is_primary", []).append(
                        _("Another primary contact for this role is on line %(line)d.")
                        % {"line": primaries[(key[0], role)][0]}
                    )
                elif is_primary:
                    primaries[(key[0], role)] = (row.line, contact)
            fields = {"name", "role", "phone", "email", "is_primary"} - errors.keys()
            self.errors.merge(row.line, errors)
            self.errors.merge(row.line, _model_errors(contact, fields=fields, columns=self.columns))
            planned.append((row, contact, before))
        if self.errors:
            return

        in_file = {id(contact) for _row, contact, _before in planned}
        # Primaries as they were before this import (contacts in the file may have changed since).
        primary_before: dict[tuple[int, str], list[Contact]] = {}
        for (customer_id, _name, role), contact in existing.items():
            if id(contact) not in in_file and contact.is_primary:
                primary_before.setdefault((customer_id, role), []).append(contact)
        demoted_by_line: dict[int, list[Contact]] = {}
        for customer_role, (line, _primary) in primaries.items():
            for other in primary_before.get(customer_role, []):
                other.is_primary = False
                demoted_by_line.setdefault(line, []).append(other)
        self.new_contacts: list[Contact] = []
        self.changed_contacts: list[Contact] = [c for group in demoted_by_line.values() for c in group]
        for row, contact, before in planned:
            label = f"{row.values['credit_code']} · {contact.name} · {contact.get_role_display()}"
            changes = [
                FieldChange(f"is_primary ({other.name})", _show(True), _show(False))
                for other in demoted_by_line.get(row.line, [])
            ]
            if before is None:
                self.new_contacts.append(contact)
                self.previews.append(RowPreview(row.line, CREATE, label, changes))
                continue
            own = _diff(before, {"phone": contact.phone, "email": contact.email, "is_primary": contact.is_primary})
            if own:
                self.changed_contacts.append(contact)
            changes = own + changes
            self.previews.append(RowPreview(row.line, UPDATE if changes else UNCHANGED, label, changes))

    def write(self) -> None:
        # One primary per customer and role is a unique index checked row by row: demote first,
        # then promote, then insert.
        fields = ["phone", "email", "is_primary"]
        self.update([c for c in self.changed_contacts if not c.is_primary], Contact, fields)
        self.update([c for c in self.changed_contacts if c.is_primary], Contact, fields)
        self.create(self.new_contacts, Contact)


# --------------------------------------------------------------------------------------------
# Monthly usage

# 2025-01 or 2025-1; 2025-01-01; Excel dates, which arrive as 2025-01-01T00:00:00.
MONTH_PATTERN = re.compile(r"(\d{4})-(\d{1,2})(?:-(\d{1,2})(?:[T ]00:00(?::00(?:\.0+)?)?)?)?")
# Quantities that are zero when left blank; a blank maximum demand means "not recorded".
ENERGY_FIELDS = tuple(name for name in USAGE_FIELDS if name != "max_demand_kw")


def _month(raw: str) -> dt.date:
    """The billing month's first day. Another day comes back as such, for the model's own message."""
    text = raw.strip()
    if not text:
        raise ValidationError(_blank())
    match = MONTH_PATTERN.fullmatch(text)
    if match:
        try:
            return dt.date(int(match[1]), int(match[2]), int(match[3] or 1))
        except ValueError:
            pass
    raise ValidationError(_("“%(value)s” is not a month; write it as YYYY-MM, e.g. 2025-01.") % {"value": raw})


class _MonthlyUsageImporter(_Importer):
    """Rows ``account_no,month,<quantities>``: an account's billing quantities for one month.

    A row is known by (account, month) and replaces the quantities of that month: a blank energy is
    zero, a blank maximum demand is none. Written rows are marked as imported, by the importing user.
    A row whose quantities are already there is unchanged and not written, so the source of the
    quantities (entered, or rolled up from metering) stays as it was.
    """

    kind = KIND_MONTHLY_USAGE
    columns = {"account": "account_no", "month": "month", **{name: name for name in USAGE_FIELDS}}

    def plan(self) -> None:
        # Account number → (pk, name, path of the customer's org unit).
        accounts: dict[str, tuple[int, str, str]] = {}
        for chunk in _chunks(r.values["account_no"] for r in self.rows):
            accounts.update(
                (account_no, (pk, name, path))
                for pk, account_no, name, path in ElectricityAccount.objects.filter(account_no__in=chunk).values_list(
                    "pk", "account_no", "name", "customer__org_unit__path"
                )
            )
        seen: dict[tuple[int, dt.date], int] = {}
        planned: list[tuple[SourceRow, tuple[int, str, str], dt.date, dict[str, Decimal | None]]] = []
        for done, row in enumerate(self.rows, start=1):
            self.tick(done)
            values = row.values
            errors: dict[str, list[str]] = {}
            account_no = values["account_no"]
            account = accounts.get(account_no)
            if not account_no:
                errors["account_no"] = [_blank()]
            elif account is None or not self.in_scope(account[2]):
                # Out of scope reads like unknown: a supervisor learns nothing about other units' accounts.
                account = None
                if self.scope_path is None:
                    message = _("No account with number %(account)s.")
                else:
                    message = _("No account with number %(account)s in your org unit and below.")
                errors["account_no"] = [message % {"account": account_no}]
            try:
                month = _month(values["month"])
            except ValidationError as exc:
                errors["month"] = exc.messages
                month = None
            quantities: dict[str, Decimal | None] = {}
            for name in USAGE_FIELDS:
                try:
                    quantities[name] = _decimal(MonthlyUsage, name, values[name], required=False)
                except ValidationError as exc:
                    errors[name] = exc.messages
                    continue
                if quantities[name] is None and name in ENERGY_FIELDS:
                    quantities[name] = Decimal("0")
            if account is not None and month is not None:
                key = (account[0], month)
                if key in seen:
                    errors.setdefault("month", []).append(
                        _("This account and month are already on line %(line)d.") % {"line": seen[key]}
                    )
                else:
                    seen[key] = row.line
            # The model's validators (not negative, digits) and clean() (the first of the month), on an
            # unsaved instance: no queries.
            usage = MonthlyUsage(month=month, **{k: v for k, v in quantities.items() if v is not None})
            fields = {"month", *quantities} - errors.keys()
            self.errors.merge(row.line, errors)
            self.errors.merge(row.line, _model_errors(usage, fields=fields, columns=self.columns))
            if account is not None and month is not None:
                planned.append((row, account, month, quantities))
        if self.errors:
            return

        existing: dict[tuple[int, dt.date], MonthlyUsage] = {}
        if planned:
            # A range, not a list of months, keeps each query under the parameter limit.
            months = [month for _row, _account, month, _quantities in planned]
            for chunk in _chunks(account[0] for _row, account, _month, _quantities in planned):
                usage_rows = MonthlyUsage.objects.filter(account_id__in=chunk, month__range=(min(months), max(months)))
                existing.update(((u.account_id, u.month), u) for u in usage_rows)
        now = timezone.now()
        self.new_usage: list[MonthlyUsage] = []
        self.changed_usage: list[MonthlyUsage] = []
        for row, (account_pk, account_name, _path), month, quantities in planned:
            label = f"{row.values['account_no']} {account_name} · {month:%Y-%m}"
            usage = existing.get((account_pk, month))
            if usage is None:
                usage = MonthlyUsage(account_id=account_pk, month=month, **quantities)
                usage.source = UsageSource.IMPORTED
                usage.updated_by = self.user
                self.new_usage.append(usage)
                self.previews.append(RowPreview(row.line, CREATE, label))
                continue
            changes = _diff({name: getattr(usage, name) for name in USAGE_FIELDS}, quantities)
            if changes:
                for name, value in quantities.items():
                    setattr(usage, name, value)
                usage.source = UsageSource.IMPORTED
                usage.updated_by = self.user
                usage.updated_at = now  # the bulk update skips auto_now
                self.changed_usage.append(usage)
            self.previews.append(RowPreview(row.line, UPDATE if changes else UNCHANGED, label, changes))

    def write(self) -> None:
        self.create(self.new_usage, MonthlyUsage)
        self.update(self.changed_usage, MonthlyUsage, [*USAGE_FIELDS, "source", "updated_by", "updated_at"])


IMPORTERS: dict[str, type[_Importer]] = {
    KIND_ORG_UNITS: _OrgUnitImporter,
    KIND_ACCOUNTS: _AccountImporter,
    KIND_CONTACTS: _ContactImporter,
    KIND_MONTHLY_USAGE: _MonthlyUsageImporter,
}


# --------------------------------------------------------------------------------------------
# Entry points


def import_scope_path(user) -> str | None:
    """Where ``user`` may import to: ``None`` for everywhere, else the path prefix of their unit."""
    if user is None or user.is_administrator:
        return None
    if user.org_unit_id is None:
        # A path no unit has: every row is rejected as outside the user's unit.
        return "\x00"
    return user.org_unit.path


def master_data_import(
    *,
    kind: str,
    data: bytes,
    filename: str = "",
    dry_run: bool = False,
    user=None,
    scope_path: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import one file of ``kind`` (all-or-nothing) and say what was, or with ``dry_run`` would be, done.

    ``user`` is recorded as the author in the change history; ``scope_path`` limits the rows to an
    org-unit subtree (see ``import_scope_path``). Bad input never raises: it comes back in
    ``rejected``, with nothing written.
    """
    if kind not in IMPORTERS:
        raise ValueError(f"unknown import kind {kind!r}")
    result = ImportResult(kind=kind)
    try:
        rows = read_rows(data, COLUMNS[kind])
    except ImportFileError as exc:
        result.rejected = [exc.as_rejected()]
        return result
    result.rows = len(rows)
    importer = IMPORTERS[kind](
        rows=rows,
        user=user,
        scope_path=scope_path,
        progress=progress,
        reason=f"import_master {kind} {filename}".strip(),
    )
    if dry_run:
        importer.plan()
    else:
        try:
            with transaction.atomic():
                # Reading inside the transaction: on SQLite it holds the write lock from the start, so a
                # concurrent import cannot slip in between validation and writing.
                importer.plan()
                if not importer.errors:
                    importer.write()
        except IntegrityError:
            # Another writer created a row with the same natural key after we read: nothing was written.
            message = _("The data changed during the import; nothing was written. Try again.")
            result.rejected = [{"line": 0, "errors": {FILE: [message]}}]
            return result
    if importer.errors:
        result.rejected = importer.errors.rejected()
        return result
    result.preview = sorted(importer.previews, key=lambda p: p.line)
    result.created = sum(1 for p in result.preview if p.action == CREATE)
    result.updated = sum(1 for p in result.preview if p.action == UPDATE)
    result.unchanged = sum(1 for p in result.preview if p.action == UNCHANGED)
    result.committed = not dry_run
    return result
