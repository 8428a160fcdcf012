"""Import of bills and payments from the billing system's (营销系统) CSV or Excel exports (docs/billing-import.md).

Two kinds, each a fixed set of columns named by their Chinese header or an English alias, in any order;
columns the import does not know (户名, 地址 …) are ignored and listed, so a misspelt optional column is seen:

- **bills**: one row per bill, known by its bill number (账单编号). A new number creates an issued, imported
  bill with one line per charge item, named like the engine's items (``energy.<period>``, ``basic.<method>``,
  ``pf_adjustment``, ``funds``) so that reconciliation compares item by item. A number imported before with
  the same values is *unchanged*; with different values the row is rejected: an issued bill is corrected in
  the billing system with a credit note, never changed by an import. A bill that carries quantities also
  gives the account's monthly usage (source "imported") for a month that has none; existing monthly usage
  (entered, rolled up or imported earlier) is never overwritten.
- **payments**: one row per payment or refund, known by the account and the serial number (流水号). New
  ones are recorded through ``ledger.payments_bulk_record``, which allocates them; a serial number
  recorded before with the same values is *unchanged*, with different values the row is rejected.

An import is all-or-nothing, as the master-data import: every row is checked first and only a file
without a rejected row is written, in one transaction; each rejected row is reported with its line
(the header is line 1), the column and the reason. Accounts the importing user may not see read as
unknown, so the import tells nobody whether another unit's account exists. Existing rows are fetched
by their natural keys in a few queries and written in bulk, so the queries do not grow with the rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history

from gridkam.customers.importing import (
    FILE,
    HEADER,
    ROW,
    XLS_MAGIC,
    XLSX_MAGIC,
    ImportFileError,
    SourceRow,
    _chunks,
    _csv_table,
    _Errors,
    _xlsx_table,
)
from gridkam.customers.models import ElectricityAccount
from gridkam.tariffs.choices import UsageSource
from gridkam.tariffs.engine import PERIODS
from gridkam.tariffs.models import MonthlyUsage

from .choices import BillKind, BillSource, BillStatus, ImportKind, PaymentKind, PaymentMethod, PaymentSource
from .ledger import accounts_reallocate, payments_bulk_record
from .models import Bill, BillingImport, BillLine, Payment
from .permissions import does_billing

BILLS = ImportKind.BILLS.value
PAYMENTS = ImportKind.PAYMENTS.value
KINDS = (BILLS, PAYMENTS)

CREATE, UNCHANGED = "create", "unchanged"
BATCH_SIZE = 1000
# The rule code of a line taken from the billing system: GridKAM did not price it, so there is no rule to
# explain (``engine.describe`` is for computed lines only).
IMPORTED_RULE = "imported"
CENT = Decimal("0.01")
PRICE_STEP = Decimal("0.000001")
ZERO = Decimal("0.00")


# --------------------------------------------------------------------------------------------
# Columns


@dataclass(frozen=True)
class ImportColumn:
    """One column of an export: its key (also its English alias), the Chinese header, other accepted names."""

    key: str
    header: str
    label: Any  # what it holds, in English (translated)
    required: bool = False
    aliases: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        return (self.key, self.header, *self.aliases)


def _energy_column(period: str, header: str, label, *aliases: str) -> ImportColumn:
    return ImportColumn(f"{period}_kwh", header, label, aliases=aliases)


def _charge_column(period: str, header: str, label, *aliases: str) -> ImportColumn:
    return ImportColumn(f"{period}_charge", header, label, aliases=aliases)


BILL_COLUMNS: tuple[ImportColumn, ...] = (
    ImportColumn("account_no", "户号", gettext_lazy("Account number"), True, ("用户编号", "用电户号", "account")),
    ImportColumn(
        "period", "电费年月", gettext_lazy("Billing month, YYYY-MM or YYYYMM"), True, ("账期", "电费月份", "month")
    ),
    ImportColumn(
        "bill_no",
        "账单编号",
        gettext_lazy("The billing system's bill number (unique)"),
        True,
        ("账单号", "电费发行编号", "bill_number", "number"),
    ),
    ImportColumn("issue_date", "发行日期", gettext_lazy("Issue date"), True, ("出账日期", "issued_on")),
    ImportColumn(
        "due_date",
        "应缴日期",
        gettext_lazy("Due date (blank: issue date + the account's days to pay)"),
        aliases=("缴费截止日期", "到期日期", "due"),
    ),
    _energy_column("sharp", "尖峰电量", gettext_lazy("Sharp-peak energy (kWh)"), "尖电量"),
    _energy_column("peak", "峰电量", gettext_lazy("Peak energy (kWh)"), "高峰电量"),
    _energy_column("flat", "平电量", gettext_lazy("Flat energy (kWh)"), "平段电量"),
    _energy_column("valley", "谷电量", gettext_lazy("Valley energy (kWh)"), "低谷电量"),
    _energy_column("deep_valley", "深谷电量", gettext_lazy("Deep-valley energy (kWh)")),
    ImportColumn(
        "lagging_kvarh", "无功电量", gettext_lazy("Lagging reactive energy (kvarh)"), aliases=("感性无功电量",)
    ),
    ImportColumn(
        "leading_kvarh",
        "容性无功电量",
        gettext_lazy("Leading reactive energy (kvarh)"),
        aliases=("反向无功电量",),
    ),
    ImportColumn("max_demand_kw", "最大需量", gettext_lazy("Maximum demand (kW)"), aliases=("max_demand",)),
    _charge_column("sharp", "尖峰电费", gettext_lazy("Sharp-peak energy charge (yuan)"), "尖电费"),
    _charge_column("peak", "峰电费", gettext_lazy("Peak energy charge (yuan)"), "高峰电费"),
    _charge_column("flat", "平电费", gettext_lazy("Flat energy charge (yuan)"), "平段电费"),
    _charge_column("valley", "谷电费", gettext_lazy("Valley energy charge (yuan)"), "低谷电费"),
    _charge_column("deep_valley", "深谷电费", gettext_lazy("Deep-valley energy charge (yuan)")),
    ImportColumn(
        "energy_charge",
        "电度电费",
        gettext_lazy("Energy charge (yuan); checked against the charges by period"),
    ),
    ImportColumn("basic_charge", "基本电费", gettext_lazy("Basic charge (yuan)")),
    ImportColumn(
        "pf_adjustment",
        "力调电费",
        gettext_lazy("Power-factor adjustment (yuan, negative for a reward)"),
        aliases=("功率因数调整电费", "力率调整电费"),
    ),
    ImportColumn(
        "government_funds",
        "基金及附加",
        gettext_lazy("Government funds and surcharges (yuan)"),
        aliases=("代征基金", "政府性基金及附加", "funds"),
    ),
    ImportColumn(
        "total",
        "应收电费",
        gettext_lazy("Total (yuan): the sum of the charges"),
        True,
        ("应收金额", "电费合计", "total_yuan"),
    ),
)

PAYMENT_COLUMNS: tuple[ImportColumn, ...] = (
    ImportColumn("account_no", "户号", gettext_lazy("Account number"), True, ("用户编号", "用电户号", "account")),
    ImportColumn("received_on", "缴费日期", gettext_lazy("Date received"), True, ("收费日期", "到账日期", "date")),
    ImportColumn(
        "amount", "金额", gettext_lazy("Amount (yuan, positive; also for a refund)"), True, ("缴费金额", "实收金额")
    ),
    ImportColumn(
        "method",
        "缴费方式",
        gettext_lazy("银行转账, 柜台, 网上, 冲抵 or bank_transfer, counter, online, offset"),
        True,
        ("收费方式",),
    ),
    ImportColumn(
        "reference",
        "流水号",
        gettext_lazy("The billing system's serial number (unique per account)"),
        True,
        ("缴费流水号", "交易流水号", "serial_no"),
    ),
    ImportColumn(
        "kind", "类型", gettext_lazy("缴费 or 退费, payment or refund; blank is a payment"), aliases=("收费类型",)
    ),
    ImportColumn("note", "备注", gettext_lazy("Note"), aliases=("摘要",)),
)

COLUMNS: dict[str, tuple[ImportColumn, ...]] = {BILLS: BILL_COLUMNS, PAYMENTS: PAYMENT_COLUMNS}
KIND_CHOICES = ImportKind.choices

METHOD_ALIASES = {
    "银行转账": PaymentMethod.BANK_TRANSFER,
    "转账": PaymentMethod.BANK_TRANSFER,
    "银行代扣": PaymentMethod.BANK_TRANSFER,
    "柜台": PaymentMethod.COUNTER,
    "坐收": PaymentMethod.COUNTER,
    "营业厅": PaymentMethod.COUNTER,
    "网上": PaymentMethod.ONLINE,
    "网银": PaymentMethod.ONLINE,
    "线上": PaymentMethod.ONLINE,
    "冲抵": PaymentMethod.OFFSET,
    "预收冲抵": PaymentMethod.OFFSET,
}
KIND_ALIASES = {
    "": PaymentKind.PAYMENT,
    "缴费": PaymentKind.PAYMENT,
    "收费": PaymentKind.PAYMENT,
    "退费": PaymentKind.REFUND,
    "退款": PaymentKind.REFUND,
}

# The items a bill's amounts are compared by: energy per period, the basic charge as a whole (its lines
# depend on the method and the feeders), the power-factor adjustment and the funds.
AMOUNT_ITEMS = (*(f"energy.{period}" for period in PERIODS), "basic", "pf_adjustment", "funds")
BASIC_ITEMS = {
    "capacity": "basic.capacity",
    "contract_demand": "basic.contract_demand",
    "actual_demand": "basic.actual_demand",
}
UNKNOWN_BASIC_ITEM = "basic.imported"


def item_group(item: str) -> str:
    """The comparison item of a bill line's item: ``basic.*`` lines are compared as their sum."""
    return "basic" if item.startswith("basic") else item


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class RowPreview:
    line: int
    action: str
    label: str


@dataclass
class BillingImportResult:
    """What an import did or, dry run or rejected, would have done."""

    kind: str
    file_name: str = ""
    file_sha256: str = ""
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    usage_created: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    committed: bool = False
    import_id: int | None = None
    columns: dict[str, str] = field(default_factory=dict)  # key → header as the file wrote it
    ignored_columns: list[str] = field(default_factory=list)
    preview: list[RowPreview] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected

    def as_dict(self) -> dict[str, Any]:
        """The document ``import_billing --json`` prints and the API answers (scripts read it)."""
        return {
            "kind": self.kind,
            "file_name": self.file_name,
            "file_sha256": self.file_sha256,
            "rows": self.rows,
            "created": self.created,
            "unchanged": self.unchanged,
            "usage_created": self.usage_created,
            "rejected": self.rejected,
            "committed": self.committed,
            "import": self.import_id,
            "ignored_columns": self.ignored_columns,
        }


# --------------------------------------------------------------------------------------------
# Reading


def _header_name(text: str) -> str:
    """A header cell compared loosely: case, spaces, a BOM, a required-mark and a unit in brackets ignored."""
    name = re.sub(r"\s+", "", text.lstrip("\ufeff")).strip("*").lower()
    return re.sub(r"[(（][^()（）]*[)）]$", "", name)


def read_table(data: bytes, columns: Sequence[ImportColumn]) -> tuple[list[SourceRow], dict[str, str], list[str]]:
    """The data rows of a CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or XLSX file, keyed by column key.

    Returns the rows, the header each known column had in the file, and the ignored headers. Raises
    ``ImportFileError`` for an unreadable or empty file, a missing required column or one named twice.
    """
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise ImportFileError(_("The file is empty."))
    if data.startswith(XLS_MAGIC):
        raise ImportFileError(_("This is an old Excel .xls workbook; save it as .xlsx or as CSV UTF-8."))
    table = _xlsx_table(data) if data.startswith(XLSX_MAGIC) else _csv_table(data)
    first = next(table, None)
    if first is None or not any(cell.strip() for cell in first[1]):
        raise ImportFileError(
            _("The first line must be the header, e.g. %(columns)s.")
            % {"columns": ", ".join(c.header for c in columns if c.required)},
            line=1,
            key=HEADER,
        )
    by_name = {_header_name(name): column.key for column in columns for name in column.names()}
    keys: list[str | None] = []
    found: dict[str, str] = {}
    ignored: list[str] = []
    repeated: list[str] = []
    for cell in first[1]:
        text = cell.strip().lstrip("\ufeff")
        key = by_name.get(_header_name(text)) if text else None
        keys.append(key)
        if key is None:
            if text:
                ignored.append(text)
        elif key in found:
            repeated.append(f"{found[key]} / {text}")
        else:
            found[key] = text
    missing = [f"{c.header} ({c.key})" for c in columns if c.required and c.key not in found]
    if missing or repeated:
        parts = [_("The header does not match the columns of this import.")]
        if missing:
            parts.append(_("Missing: %(columns)s.") % {"columns": ", ".join(missing)})
        if repeated:
            parts.append(_("Named twice: %(columns)s.") % {"columns": ", ".join(repeated)})
        raise ImportFileError(" ".join(parts), line=1, key=HEADER)
    rows = []
    for line, cells in table:
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        values = {key: cells[i] if i < len(cells) else "" for i, key in enumerate(keys) if key is not None}
        rows.append(SourceRow(line=line, values=values, too_wide=len(cells) > len(keys) and any(cells[len(keys) :])))
    if not rows:
        raise ImportFileError(_("The file has a header but no data rows."))
    return rows, found, ignored


# --------------------------------------------------------------------------------------------
# Values

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_PERIOD = re.compile(
    r"(?P<y>\d{4})(?:[-/.年]?(?P<m>\d{1,2})月?)(?:[-/.](?P<d>\d{1,2})(?:[T ]00:00(?::00(?:\.0+)?)?)?)?"
)
_DATE = re.compile(
    r"(?P<y>\d{4})(?:[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?|(?P<m2>\d{2})(?P<d2>\d{2}))"
    r"(?:[T ]00:00(?::00(?:\.0+)?)?)?"
)


def _blank() -> str:
    return _("This field cannot be blank.")


def parse_decimal(raw: str, *, places: int, max_digits: int, negative: bool = False) -> Decimal | None:
    """A number of the file as an exact Decimal with ``places`` decimals; None when blank.

    Thousands separators are allowed; more decimals than ``places`` are refused (money is to the fen),
    as are exponents, which no export writes.
    """
    text = raw.replace(",", "").replace("，", "").replace(" ", "")
    if not text:
        return None
    if not _NUMBER.fullmatch(text):
        raise ValidationError(_("“%(value)s” is not a number.") % {"value": raw})
    value = Decimal(text)
    step = Decimal(1).scaleb(-places)
    if value != value.quantize(step, rounding=ROUND_HALF_UP):
        raise ValidationError(_("Give at most %(places)d decimal places.") % {"places": places})
    if value < 0 and not negative:
        raise ValidationError(_("This cannot be negative."))
    if abs(value) >= Decimal(10) ** (max_digits - places):
        raise ValidationError(_("%(value)s is too large.") % {"value": raw})
    return value.quantize(step) + 0  # "+ 0" turns -0 into 0


# Years a bill, a payment or a billing month may fall in: the due date and the penalty count days on from
# them, which the last days of the calendar do not have (and the bill run takes months from 1900).
FIRST_YEAR, LAST_YEAR = 1900, 2999


def _in_years(day: dt.date, raw: str) -> dt.date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError(
            _("“%(value)s” is not between the years %(first)d and %(last)d.")
            % {"value": raw, "first": FIRST_YEAR, "last": LAST_YEAR}
        )
    return day


def parse_period(raw: str) -> dt.date:
    """The billing month's first day from 2025-07, 202507, 2025/7, 2025年7月 or an Excel date of its first day."""
    text = raw.strip()
    if not text:
        raise ValidationError(_blank())
    match = _PERIOD.fullmatch(text)
    if match and int(match["d"] or 1) == 1:
        try:
            day = dt.date(int(match["y"]), int(match["m"]), 1)
        except ValueError:
            pass
        else:
            return _in_years(day, raw)
    raise ValidationError(
        _("“%(value)s” is not a month; write it as YYYY-MM or YYYYMM, e.g. 2025-07.") % {"value": raw}
    )


def parse_date(raw: str) -> dt.date | None:
    """A date from 2025-08-05, 2025/8/5, 20250805, 2025年8月5日 or an Excel date; None when blank."""
    text = raw.strip()
    if not text:
        return None
    match = _DATE.fullmatch(text)
    if match:
        try:
            day = dt.date(int(match["y"]), int(match["m"] or match["m2"]), int(match["d"] or match["d2"]))
        except ValueError:
            pass
        else:
            return _in_years(day, raw)
    raise ValidationError(_("“%(value)s” is not a date; write it as YYYY-MM-DD.") % {"value": raw})


def _choice(raw: str, aliases: Mapping[str, str], choices: Iterable[str]) -> str:
    text = raw.strip()
    value = aliases.get(text, text.lower())
    if value not in choices:
        names = ", ".join([*(a for a in aliases if a), *choices])
        raise ValidationError(_("“%(value)s” is not one of %(choices)s.") % {"value": raw, "choices": names})
    return value


def _money_text(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


# --------------------------------------------------------------------------------------------
# Shared


def _visible_accounts(user, account_nos: Iterable[str]) -> dict[str, ElectricityAccount]:
    """The accounts named in the file that ``user`` may see (all of them for a command run without a user)."""
    accounts = ElectricityAccount.objects.all() if user is None else ElectricityAccount.objects.visible_to(user)
    found: dict[str, ElectricityAccount] = {}
    for chunk in _chunks(no for no in account_nos if no):
        found.update(
            (account.account_no, account)
            for account in accounts.filter(account_no__in=chunk).select_related("billing_terms")
        )
    return found


def _unknown_account(account_no: str) -> str:
    # The same words whether the account does not exist or belongs to a unit the user does not serve.
    return _("No account with number %(account)s among your accounts.") % {"account": account_no}


class _Plan:
    def __init__(self, rows: list[SourceRow], user) -> None:
        self.rows = rows
        self.user = user
        self.errors = _Errors()
        self.previews: list[RowPreview] = []
        for row in rows:
            if row.too_wide:
                self.errors.add(row.line, ROW, _("This row has more cells than the header has columns."))

    def take(self, row: SourceRow, key: str, parse, errors: dict[str, list[str]]):
        try:
            return parse(row.values.get(key, ""))
        except ValidationError as exc:
            errors.setdefault(key, []).extend(exc.messages)
            return None


# --------------------------------------------------------------------------------------------
# Bills


@dataclass
class ParsedBill:
    line: int
    account: ElectricityAccount
    period: dt.date
    number: str
    issue_date: dt.date
    due_date: dt.date | None
    energy_kwh: dict[str, Decimal | None]
    lagging_kvarh: Decimal | None
    leading_kvarh: Decimal | None
    max_demand_kw: Decimal | None
    amounts: dict[str, Decimal]  # AMOUNT_ITEMS → yuan (0 when blank)
    total: Decimal

    @property
    def has_quantities(self) -> bool:
        return any(v is not None for v in self.energy_kwh.values())

    def quantities(self) -> dict[str, Any]:
        """The quantities as ``Bill.quantities`` keeps them: the shape of ``computing.quantities_of`` where
        the names agree; only what the file gave."""
        out: dict[str, Any] = {"period": f"{self.period:%Y-%m}", "source": "billing_system"}
        if self.has_quantities:
            out["energy_kwh"] = {p: _money_text(v or ZERO) for p, v in self.energy_kwh.items() if v is not None}
        if self.lagging_kvarh is not None or self.leading_kvarh is not None:
            out["reactive_kvarh"] = {
                "lagging": _money_text(self.lagging_kvarh or ZERO),
                "leading": _money_text(self.leading_kvarh or ZERO),
            }
        if self.max_demand_kw is not None:
            out["max_demand_kw"] = format(self.max_demand_kw, "f")
        return out


def bill_amounts(lines: Iterable[BillLine]) -> dict[str, Decimal]:
    """A bill's amounts by comparison item (``AMOUNT_ITEMS``), 0 for items it has no line for."""
    amounts = dict.fromkeys(AMOUNT_ITEMS, ZERO)
    for line in lines:
        group = item_group(line.item)
        amounts[group] = amounts.get(group, ZERO) + line.amount
    return amounts


def _bill_differences(existing: Bill, parsed: ParsedBill, *, due_given: bool) -> list[str]:
    """What the row would change on the bill imported before, as "item: old → new"."""
    changes = []
    before = bill_amounts(existing.lines.all())
    for item in AMOUNT_ITEMS:
        if before.get(item, ZERO) != parsed.amounts[item]:
            changes.append(f"{item}: {before.get(item, ZERO)} → {parsed.amounts[item]}")
    if existing.total != parsed.total:
        changes.append(f"total: {existing.total} → {parsed.total}")
    if existing.issue_date != parsed.issue_date:
        changes.append(f"issue_date: {existing.issue_date} → {parsed.issue_date}")
    if due_given and existing.due_date != parsed.due_date:
        changes.append(f"due_date: {existing.due_date} → {parsed.due_date}")
    old_q, new_q = existing.quantities or {}, parsed.quantities()
    for key in ("energy_kwh", "reactive_kvarh", "max_demand_kw"):
        if key in new_q and old_q.get(key) != new_q[key]:
            changes.append(f"{key}: {old_q.get(key)} → {new_q[key]}")
    return changes


def _payment_days(account: ElectricityAccount) -> int:
    terms = getattr(account, "billing_terms", None)
    return terms.payment_days if terms is not None else settings.GRIDKAM["BILL_PAYMENT_DAYS"]


class _BillPlan(_Plan):
    def plan(self, present: set[str]) -> None:
        accounts = _visible_accounts(self.user, (r.values.get("account_no", "") for r in self.rows))
        parsed: list[ParsedBill] = []
        seen_numbers: dict[str, int] = {}
        seen_months: dict[tuple[int, dt.date], int] = {}
        self.due_given = "due_date" in present
        for row in self.rows:
            errors: dict[str, list[str]] = {}
            values = row.values
            account_no = values.get("account_no", "")
            account = accounts.get(account_no)
            if not account_no:
                errors["account_no"] = [_blank()]
            elif account is None:
                errors["account_no"] = [_unknown_account(account_no)]
            period = self.take(row, "period", parse_period, errors)
            number = values.get("bill_no", "")
            if not number:
                errors["bill_no"] = [_blank()]
            elif len(number) > Bill._meta.get_field("number").max_length:
                errors["bill_no"] = [_("A bill number has at most 40 characters.")]
            elif number in seen_numbers:
                errors["bill_no"] = [
                    _("This bill number is already on line %(line)d.") % {"line": seen_numbers[number]}
                ]
            else:
                seen_numbers[number] = row.line
            issue_date = self.take(row, "issue_date", parse_date, errors)
            if issue_date is None and "issue_date" not in errors:
                errors["issue_date"] = [_blank()]
            due_date = self.take(row, "due_date", parse_date, errors)
            if issue_date and due_date and due_date < issue_date:
                errors.setdefault("due_date", []).append(_("The due date is before the issue date."))

            def energy(raw: str) -> Decimal | None:
                return parse_decimal(raw, places=2, max_digits=14)

            energy_kwh = {p: self.take(row, f"{p}_kwh", energy, errors) for p in PERIODS}
            lagging = self.take(row, "lagging_kvarh", energy, errors)
            leading = self.take(row, "leading_kvarh", energy, errors)
            demand = self.take(row, "max_demand_kw", lambda raw: parse_decimal(raw, places=3, max_digits=12), errors)

            def money(raw: str) -> Decimal | None:
                return parse_decimal(raw, places=2, max_digits=14)

            def signed(raw: str) -> Decimal | None:
                return parse_decimal(raw, places=2, max_digits=14, negative=True)

            amounts = {f"energy.{p}": self.take(row, f"{p}_charge", money, errors) for p in PERIODS}
            amounts["basic"] = self.take(row, "basic_charge", money, errors)
            amounts["pf_adjustment"] = self.take(row, "pf_adjustment", signed, errors)
            amounts["funds"] = self.take(row, "government_funds", money, errors)
            energy_charge = self.take(row, "energy_charge", money, errors)
            total = self.take(row, "total", signed, errors)
            if total is None and "total" not in errors:
                errors["total"] = [_blank()]
            elif total is not None and total < 0:
                # A month's bill owes something or nothing; money owed back to the customer is a refund or an
                # offset, which the payments file carries.
                errors["total"] = [_("A bill's total cannot be below zero; money owed back goes in the payments file.")]
            amount_columns = [f"{p}_charge" for p in PERIODS] + ["basic_charge", "pf_adjustment", "government_funds"]
            if not any(key in errors for key in [*amount_columns, "energy_charge", "total"]):
                period_sum = sum((amounts[f"energy.{p}"] or ZERO for p in PERIODS), ZERO)
                if energy_charge is not None and any(amounts[f"energy.{p}"] is not None for p in PERIODS):
                    if energy_charge != period_sum:
                        errors["energy_charge"] = [
                            _("The energy charge %(given)s is not the sum of the charges by period, %(sum)s.")
                            % {"given": energy_charge, "sum": period_sum}
                        ]
                elif energy_charge is not None:
                    # Only the energy charge as a whole: kept on the flat line, the billing system's single rate.
                    amounts["energy.flat"] = energy_charge
                parts = sum((v or ZERO for v in amounts.values()), ZERO)
                if total is not None and parts != total and "energy_charge" not in errors:
                    errors["total"] = [
                        _("The total %(total)s is not the sum of the charges, %(sum)s.")
                        % {"total": total, "sum": parts}
                    ]
            if account is not None and period is not None:
                key = (account.pk, period)
                if key in seen_months:
                    errors.setdefault("period", []).append(
                        _("This account's bill for this month is already on line %(line)d.")
                        % {"line": seen_months[key]}
                    )
                else:
                    seen_months[key] = row.line
            self.errors.merge(row.line, errors)
            if not self.errors.has(row.line):
                parsed.append(
                    ParsedBill(
                        line=row.line,
                        account=account,
                        period=period,
                        number=number,
                        issue_date=issue_date,
                        due_date=due_date,
                        energy_kwh=energy_kwh,
                        lagging_kvarh=lagging,
                        leading_kvarh=leading,
                        max_demand_kw=demand,
                        amounts={k: v or ZERO for k, v in amounts.items()},
                        total=total,
                    )
                )
        self._match(parsed)

    def _match(self, parsed: list[ParsedBill]) -> None:
        """Against what is stored: a known number is unchanged or rejected; a month may hold one live bill."""
        by_number: dict[str, Bill] = {}
        for chunk in _chunks(p.number for p in parsed):
            by_number.update((b.number, b) for b in Bill.objects.filter(number__in=chunk).prefetch_related("lines"))
        by_month: dict[tuple[int, dt.date], list[Bill]] = defaultdict(list)
        # GridKAM's own issued bill of a month: an imported one beside it would charge the month twice.
        ours: dict[tuple[int, dt.date], Bill] = {}
        if parsed:
            periods = [p.period for p in parsed]
            for chunk in _chunks(p.account.pk for p in parsed):
                for bill in Bill.objects.filter(
                    account_id__in=chunk,
                    period__range=(min(periods), max(periods)),
                    kind__in=[BillKind.REGULAR, BillKind.REBILL],
                ).order_by("created_at", "pk"):
                    if bill.source == BillSource.IMPORTED:
                        by_month[(bill.account_id, bill.period)].append(bill)
                    elif bill.status == BillStatus.ISSUED:
                        ours[(bill.account_id, bill.period)] = bill
        self.new_bills: list[tuple[ParsedBill, str, Bill | None]] = []
        for bill in parsed:
            label = (
                f"{bill.account.account_no} {bill.account.name} · {bill.period:%Y-%m} · {bill.number} · {bill.total}"
            )
            existing = by_number.get(bill.number)
            if existing is not None:
                same_bill = (
                    existing.account_id == bill.account.pk
                    and existing.period == bill.period
                    and existing.source == BillSource.IMPORTED
                )
                if not same_bill:
                    self.errors.add(
                        bill.line,
                        "bill_no",
                        _("Bill number %(number)s is already used by another bill.") % {"number": bill.number},
                    )
                    continue
                changes = _bill_differences(existing, bill, due_given=self.due_given)
                if changes:
                    self.errors.add(
                        bill.line,
                        "bill_no",
                        _(
                            "Bill %(number)s was already imported with different amounts (%(changes)s); "
                            "correct it in the billing system with a credit note."
                        )
                        % {"number": bill.number, "changes": "; ".join(changes)},
                    )
                else:
                    self.previews.append(RowPreview(bill.line, UNCHANGED, label))
                continue
            month_bills = by_month.get((bill.account.pk, bill.period), [])
            computed = ours.get((bill.account.pk, bill.period))
            if computed is not None:
                self.errors.add(
                    bill.line,
                    "bill_no",
                    _(
                        "GridKAM issued bill %(number)s for %(month)s; correct it with a credit note before importing "
                        "the billing system's bill."
                    )
                    % {"month": f"{bill.period:%Y-%m}", "number": computed.number},
                )
                continue
            live = [b for b in month_bills if b.status != BillStatus.CREDITED]
            if live:
                self.errors.add(
                    bill.line,
                    "bill_no",
                    _("The account already has an imported bill for %(month)s, number %(number)s.")
                    % {"month": f"{bill.period:%Y-%m}", "number": live[-1].number},
                )
                continue
            # The month's bill was credited: this one is its rebill.
            corrects = month_bills[-1] if month_bills else None
            self.new_bills.append((bill, BillKind.REBILL if corrects else BillKind.REGULAR, corrects))
            self.previews.append(RowPreview(bill.line, CREATE, label))

    def write(self, *, file_name: str) -> int:
        """Create the planned bills, their lines and the monthly usage they carry; the number of usage rows."""
        bills: list[Bill] = []
        for parsed, kind, corrects in self.new_bills:
            amounts = parsed.amounts
            energy_kwh = sum((v or ZERO for v in parsed.energy_kwh.values()), ZERO)
            bills.append(
                Bill(
                    account=parsed.account,
                    period=parsed.period,
                    kind=kind,
                    status=BillStatus.ISSUED,
                    source=BillSource.IMPORTED,
                    number=parsed.number,
                    corrects=corrects,
                    quantities=parsed.quantities(),
                    energy_kwh=energy_kwh,
                    energy_charge=sum((amounts[f"energy.{p}"] for p in PERIODS), ZERO),
                    basic_charge=amounts["basic"],
                    pf_adjustment=amounts["pf_adjustment"],
                    government_funds=amounts["funds"],
                    total=parsed.total,
                    issue_date=parsed.issue_date,
                    due_date=parsed.due_date or parsed.issue_date + dt.timedelta(days=_payment_days(parsed.account)),
                    created_by=self.user,
                )
            )
        if not bills:
            return 0
        bills = bulk_create_with_history(
            bills,
            Bill,
            batch_size=BATCH_SIZE,
            default_user=self.user,
            default_change_reason=f"import_billing bills {file_name}"[:100],
        )
        lines: list[BillLine] = []
        for bill, (parsed, _kind, _corrects) in zip(bills, self.new_bills, strict=True):
            lines.extend(_bill_lines(bill, parsed))
        BillLine.objects.bulk_create(lines, batch_size=BATCH_SIZE)
        # Money already received (payments imported before their bills, credit) goes to the new bills; an
        # account that never paid has nothing to allocate, which is most of them when bills come first. A bill
        # of nothing to pay is settled when issued, whoever paid: the reallocation marks it.
        paying: set[int] = {bill.account_id for bill in bills if bill.total <= 0}
        for chunk in _chunks(bill.account_id for bill in bills):
            paying.update(
                Payment.objects.filter(account_id__in=chunk).order_by().values_list("account_id", flat=True).distinct()
            )
        if paying:
            accounts_reallocate(paying)
        return self._write_usage()

    def _write_usage(self) -> int:
        """Monthly usage from the bills' quantities, for months the account has none (never overwritten)."""
        carrying = [parsed for parsed, _kind, _corrects in self.new_bills if parsed.has_quantities]
        if not carrying:
            return 0
        months = [p.period for p in carrying]
        taken: set[tuple[int, dt.date]] = set()
        for chunk in _chunks(p.account.pk for p in carrying):
            taken.update(
                MonthlyUsage.objects.filter(account_id__in=chunk, month__range=(min(months), max(months))).values_list(
                    "account_id", "month"
                )
            )
        usage = [
            MonthlyUsage(
                account=p.account,
                month=p.period,
                **{f"{period}_kwh": p.energy_kwh[period] or ZERO for period in PERIODS},
                lagging_kvarh=p.lagging_kvarh or ZERO,
                leading_kvarh=p.leading_kvarh or ZERO,
                max_demand_kw=p.max_demand_kw,
                source=UsageSource.IMPORTED,
                updated_by=self.user,
            )
            for p in carrying
            if (p.account.pk, p.period) not in taken
        ]
        if usage:
            bulk_create_with_history(usage, MonthlyUsage, batch_size=BATCH_SIZE, default_user=self.user)
        return len(usage)


def _ratio(amount: Decimal, quantity: Decimal | None) -> Decimal:
    if not quantity:
        return Decimal("0")
    return (amount / quantity).quantize(PRICE_STEP, rounding=ROUND_HALF_UP)


def _bill_lines(bill: Bill, parsed: ParsedBill) -> list[BillLine]:
    """The imported bill's lines, one per item with an amount (or, for energy, a quantity), in the engine's order."""
    account = parsed.account
    amounts = parsed.amounts
    specs: list[tuple[str, Decimal, Decimal]] = []  # item, quantity, amount
    for period in PERIODS:
        kwh = parsed.energy_kwh[period] or ZERO
        if kwh or amounts[f"energy.{period}"]:
            specs.append((f"energy.{period}", kwh, amounts[f"energy.{period}"]))
    if amounts["basic"]:
        method = account.basic_charge_method
        item = BASIC_ITEMS.get(method, UNKNOWN_BASIC_ITEM)
        quantity = {
            "capacity": account.capacity_kva,
            "contract_demand": account.contract_demand_kw,
            "actual_demand": parsed.max_demand_kw,
        }.get(method)
        specs.append((item, quantity or ZERO, amounts["basic"]))
    if amounts["pf_adjustment"]:
        base = bill.energy_charge + bill.basic_charge
        specs.append(("pf_adjustment", base, amounts["pf_adjustment"]))
    if amounts["funds"]:
        specs.append(("funds", bill.energy_kwh, amounts["funds"]))
    return [
        BillLine(
            bill=bill,
            position=position,
            item=item,
            quantity=quantity,
            unit_price=_ratio(amount, quantity),
            amount=amount,
            rule_code=IMPORTED_RULE,
            params={"bill_no": parsed.number},
        )
        for position, (item, quantity, amount) in enumerate(specs, start=1)
    ]


# --------------------------------------------------------------------------------------------
# Payments


@dataclass
class ParsedPayment:
    line: int
    account: ElectricityAccount
    received_on: dt.date
    amount: Decimal
    method: str
    reference: str
    kind: str
    note: str

    def as_record(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "kind": self.kind,
            "method": self.method,
            "received_on": self.received_on,
            "amount": self.amount,
            "reference": self.reference,
            "note": self.note,
        }


class _PaymentPlan(_Plan):
    def plan(self, present: set[str]) -> None:
        accounts = _visible_accounts(self.user, (r.values.get("account_no", "") for r in self.rows))
        parsed: list[ParsedPayment] = []
        seen: dict[tuple[int, str], int] = {}
        max_reference = Payment._meta.get_field("reference").max_length
        max_note = Payment._meta.get_field("note").max_length
        for row in self.rows:
            errors: dict[str, list[str]] = {}
            values = row.values
            account_no = values.get("account_no", "")
            account = accounts.get(account_no)
            if not account_no:
                errors["account_no"] = [_blank()]
            elif account is None:
                errors["account_no"] = [_unknown_account(account_no)]
            received_on = self.take(row, "received_on", parse_date, errors)
            if received_on is None and "received_on" not in errors:
                errors["received_on"] = [_blank()]
            amount = self.take(row, "amount", lambda raw: parse_decimal(raw, places=2, max_digits=14), errors)
            if amount is None and "amount" not in errors:
                errors["amount"] = [_blank()]
            elif amount is not None and amount <= 0:
                errors["amount"] = [_("The amount must be more than 0; a refund is a positive amount of kind 退费.")]
            method = self.take(
                row, "method", lambda raw: _choice(raw, METHOD_ALIASES, PaymentMethod.values) if raw else "", errors
            )
            if method == "" and "method" not in errors:
                errors["method"] = [_blank()]
            kind = self.take(row, "kind", lambda raw: _choice(raw, KIND_ALIASES, PaymentKind.values), errors)
            reference = values.get("reference", "")
            if not reference:
                errors["reference"] = [
                    _("Give the billing system's serial number: without it a second import would record it twice.")
                ]
            elif len(reference) > max_reference:
                errors["reference"] = [_("A serial number has at most %(n)d characters.") % {"n": max_reference}]
            elif account is not None:
                key = (account.pk, reference)
                if key in seen:
                    errors["reference"] = [
                        _("This account's serial number is already on line %(line)d.") % {"line": seen[key]}
                    ]
                else:
                    seen[key] = row.line
            note = values.get("note", "")
            if len(note) > max_note:
                errors["note"] = [_("A note has at most %(n)d characters.") % {"n": max_note}]
            self.errors.merge(row.line, errors)
            if not self.errors.has(row.line):
                parsed.append(ParsedPayment(row.line, account, received_on, amount, method, reference, kind, note))
        self._match(parsed)

    def _match(self, parsed: list[ParsedPayment]) -> None:
        existing: dict[tuple[int, str], Payment] = {}
        for chunk in _chunks(p.account.pk for p in parsed):
            in_chunk = set(chunk)
            references = {p.reference for p in parsed if p.account.pk in in_chunk}
            for payment in Payment.objects.filter(account_id__in=chunk, reference__in=references):
                existing[(payment.account_id, payment.reference)] = payment
        self.new_payments: list[ParsedPayment] = []
        for payment in parsed:
            kind_label = PaymentKind(payment.kind).label
            label = (
                f"{payment.account.account_no} {payment.account.name} · {payment.received_on} · "
                f"{kind_label} {payment.amount} · {payment.reference}"
            )
            before = existing.get((payment.account.pk, payment.reference))
            if before is None:
                self.new_payments.append(payment)
                self.previews.append(RowPreview(payment.line, CREATE, label))
                continue
            changes = [
                f"{name}: {getattr(before, name)} → {getattr(payment, name)}"
                for name in ("kind", "method", "received_on", "amount")
                if getattr(before, name) != getattr(payment, name)
            ]
            if changes:
                self.errors.add(
                    payment.line,
                    "reference",
                    _(
                        "Serial number %(reference)s was already recorded with different values (%(changes)s); "
                        "correct it in the billing system with a refund or an offset."
                    )
                    % {"reference": payment.reference, "changes": "; ".join(changes)},
                )
            else:
                self.previews.append(RowPreview(payment.line, UNCHANGED, label))

    def write(self, *, file_name: str) -> int:
        if not self.new_payments:
            return 0
        try:
            payments_bulk_record(
                [p.as_record() for p in self.new_payments], user=self.user, source=PaymentSource.IMPORTED
            )
        except ValidationError as exc:
            raise _LedgerRejected(exc) from None
        return 0


class _LedgerRejected(Exception):
    def __init__(self, error: ValidationError) -> None:
        super().__init__(error)
        self.error = error


PLANS: dict[str, type[_Plan]] = {BILLS: _BillPlan, PAYMENTS: _PaymentPlan}


# --------------------------------------------------------------------------------------------
# Entry point


def billing_import(
    *, kind: str, data: bytes, file_name: str = "", user=None, dry_run: bool = False
) -> BillingImportResult:
    """Import one export of ``kind`` ("bills" or "payments"), all-or-nothing, and say what was (or, with
    ``dry_run``, would be) done. Rows for accounts ``user`` may not see are rejected as unknown (``None``:
    a command run by the operator, all accounts). Bad input never raises: it comes back in ``rejected``
    with nothing written; a committed import is recorded as a ``BillingImport``.
    """
    if kind not in PLANS:
        raise ValueError(f"unknown billing import kind {kind!r}")
    result = BillingImportResult(kind=kind, file_name=file_name, file_sha256=hashlib.sha256(data).hexdigest())
    try:
        rows, result.columns, result.ignored_columns = read_table(data, COLUMNS[kind])
    except ImportFileError as exc:
        result.rejected = [exc.as_rejected()]
        return result
    result.rows = len(rows)
    plan = PLANS[kind](rows, user)
    present = set(result.columns)
    try:
        with transaction.atomic():
            # Reading inside the transaction: on SQLite it holds the write lock from the start, so another
            # import cannot slip in between the check and the write.
            plan.plan(present)
            if not plan.errors and not dry_run:
                result.usage_created = plan.write(file_name=file_name)
                record = BillingImport.objects.create(
                    kind=kind,
                    file_name=file_name[:255],
                    file_sha256=result.file_sha256,
                    created_by=user,
                    rows=len(rows),
                    created=sum(1 for p in plan.previews if p.action == CREATE),
                    unchanged=sum(1 for p in plan.previews if p.action == UNCHANGED),
                )
                result.import_id = record.pk
    except IntegrityError:
        message = _("The data changed during the import; nothing was written. Try again.")
        result.rejected = [{"line": 0, "errors": {FILE: [message]}}]
        result.usage_created = 0
        result.import_id = None
        return result
    except _LedgerRejected as exc:
        result.rejected = [{"line": 0, "errors": {FILE: exc.error.messages}}]
        result.usage_created = 0
        result.import_id = None
        return result
    if plan.errors:
        result.rejected = plan.errors.rejected()
        return result
    result.preview = sorted(plan.previews, key=lambda p: p.line)
    result.created = sum(1 for p in result.preview if p.action == CREATE)
    result.unchanged = sum(1 for p in result.preview if p.action == UNCHANGED)
    result.committed = not dry_run
    return result


def billing_imports_visible(user):
    """The imports ``user`` may list: administrators all; billing clerks and supervisors those made by staff of
    their unit and below (a command run without a user is an administrator's). Others none."""
    if not does_billing(user):
        return BillingImport.objects.none()
    if user.is_administrator:
        return BillingImport.objects.all()
    if user.org_unit_id is None:
        return BillingImport.objects.none()
    return BillingImport.objects.filter(created_by__org_unit__path__startswith=user.org_unit.path)


def column_docs(kind: str) -> list[dict[str, Any]]:
    """The columns of ``kind`` for the upload page: header, English name, required, what it holds."""
    return [
        {"key": c.key, "header": c.header, "required": c.required, "label": c.label, "aliases": c.aliases}
        for c in COLUMNS[kind]
    ]


__all__ = [
    "BILLS",
    "BILL_COLUMNS",
    "COLUMNS",
    "CREATE",
    "IMPORTED_RULE",
    "KINDS",
    "PAYMENTS",
    "PAYMENT_COLUMNS",
    "UNCHANGED",
    "BillingImportResult",
    "bill_amounts",
    "billing_import",
    "billing_imports_visible",
    "column_docs",
    "item_group",
    "parse_date",
    "parse_decimal",
    "parse_period",
    "read_table",
]
