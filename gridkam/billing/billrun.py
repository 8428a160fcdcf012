"""Bill runs, issuing and corrections (services), and the reads of bills and runs (selectors).

A bill run prices one month for every account that is not closed (or for the accounts named), from the
month's ``MonthlyUsage``, the account's contract terms and the tariff version in effect on the first day of
the month, through ``computing.bill_compute`` (the engine ``bill_quote`` uses). It works in chunks of
``GRIDKAM["BILL_RUN_CHUNK"]`` accounts in pk order, each chunk in its own transaction, with a handful of
bulk queries per chunk whatever its size; the ``BillRun`` row counts what was done and lists, with a reason,
every account it did not bill. Re-running a month replaces its draft computed bills (deleted and created
again, counted as replaced) and leaves issued (and credited) bills alone.

An issued bill is never changed: ``bill_correct`` cancels it with a credit note (its negative, issued at
once) and writes a rebill from the month's current quantities as a draft to be issued; all three are kept,
linked by ``corrects``. Issuing and correcting end with the account's payments reallocated (``ledger``).

In ``bill_run``'s counts, "created" are bills for accounts that had no draft for the month and "replaced"
those that replaced a draft: created + replaced is the number of bills the run wrote.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

import django_filters
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridkam.customers.choices import AccountStatus
from gridkam.customers.models import ElectricityAccount
from gridkam.metering.models import AccountMonthlyRollup
from gridkam.tariffs import engine
from gridkam.tariffs.choices import UsageSource
from gridkam.tariffs.models import MonthlyUsage, TariffVersion

from .choices import BillKind, BillSource, BillStatus, RunStatus
from .computing import bill_compute
from .models import Bill, BillingTerms, BillLine, BillRun

logger = logging.getLogger(__name__)

BILL_BATCH = 500  # bills per INSERT (about 25 columns each)
LINE_BATCH = 2000  # bill lines per INSERT
ACTIVE_RUN = (RunStatus.QUEUED, RunStatus.RUNNING)
# A run without progress for this long is taken for dead (its worker was lost): the settings may override it.
DEFAULT_STALE_MINUTES = 60
MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")
MONEY_FIELDS = ("energy_charge", "basic_charge", "pf_adjustment", "government_funds", "total")


class SkipReason:
    """Why an account got no bill in a run (codes in ``BillRun.skipped`` and the ``--json`` output)."""

    CLOSED = "closed"
    NO_TARIFF = "no_tariff"
    NO_VERSION = "no_version"
    NO_USAGE = "no_usage"
    MISSING_INTERVALS = "missing_intervals"
    ENGINE = "engine"
    ISSUED = "issued"  # not a problem: an issued bill of the month is left alone

    LABELS = {
        CLOSED: gettext_lazy("Account closed"),
        NO_TARIFF: gettext_lazy("No tariff"),
        NO_VERSION: gettext_lazy("No tariff version in effect"),
        NO_USAGE: gettext_lazy("No quantities for the month"),
        MISSING_INTERVALS: gettext_lazy("Too many missing intervals"),
        ENGINE: gettext_lazy("Cannot be priced"),
        ISSUED: gettext_lazy("Issued, left alone"),
    }


def skip_message(entry: dict) -> str:
    """A skipped account's reason in words, in the reader's language (entries keep a code and figures)."""
    reason, p = entry.get("reason"), entry.get("params") or {}
    if reason == SkipReason.CLOSED:
        text = _("The account is closed.")
    elif reason == SkipReason.NO_TARIFF:
        text = _("The account has no tariff.")
    elif reason == SkipReason.NO_VERSION:
        text = _("Tariff %(tariff)s has no published version in effect on %(day)s.") % p
    elif reason == SkipReason.NO_USAGE:
        text = _("No quantities for %(month)s (entered, imported or from interval data).") % p
    elif reason == SkipReason.MISSING_INTERVALS:
        text = (
            _(
                "%(share)s of the month's quarter-hours are missing (%(missing)s of %(expected)s), more than the "
                "%(limit)s allowed."
            )
            % p
        )
    elif reason == SkipReason.ENGINE:
        text = _("The bill cannot be priced: %(field)s: %(message)s") % p
    elif reason == SkipReason.ISSUED:
        text = _("Bill %(number)s is issued for the month; it was left alone.") % p
    else:
        text = str(reason)
    if p.get("draft_removed"):
        text += " " + _("The earlier draft of the month was removed.")
    return text


def skip_label(entry: dict) -> str:
    return str(SkipReason.LABELS.get(entry.get("reason"), entry.get("reason")))


# -- input ---------------------------------------------------------------------------------------------------


def period_parse(value: Any) -> datetime.date:
    """A billing month from "YYYY-MM" (or a date, taken as its month). ValidationError naming ``period``."""
    if isinstance(value, datetime.date):
        return value.replace(day=1)
    match = MONTH_PATTERN.match(str(value or "").strip())
    if match and 1 <= int(match.group(2)) <= 12 and int(match.group(1)) >= 1900:
        return datetime.date(int(match.group(1)), int(match.group(2)), 1)
    raise ValidationError({"period": [_("Give the month as YYYY-MM, e.g. 2026-03.")]})


def _clean_numbers(account_nos: Iterable[str] | None) -> list[str]:
    if not account_nos:
        return []
    seen: dict[str, None] = {}
    for number in account_nos:
        for part in re.split(r"[\s,;，；]+", str(number)):
            if part:
                seen[part] = None
    return list(seen)


def _run_accounts(*, account_nos: list[str], user) -> tuple[list[int], list[dict]]:
    """The pks of the accounts a run bills, in order, and entries for closed accounts named explicitly.
    Unknown numbers (or numbers of accounts the user may not see) are a ValidationError on ``account_nos``."""
    accounts = ElectricityAccount.objects.all() if user is None else ElectricityAccount.objects.visible_to(user)
    if not account_nos:
        ids = list(accounts.exclude(status=AccountStatus.CLOSED).order_by("pk").values_list("pk", flat=True))
        return ids, []
    found = dict(accounts.filter(account_no__in=account_nos).values_list("account_no", "status"))
    unknown = [number for number in account_nos if number not in found]
    if unknown:
        raise ValidationError(
            {"account_nos": [_("Unknown account numbers: %(numbers)s.") % {"numbers": ", ".join(unknown)}]}
        )
    closed = [
        {"account_no": number, "reason": SkipReason.CLOSED, "params": {}}
        for number in account_nos
        if found[number] == AccountStatus.CLOSED
    ]
    ids = list(
        accounts.filter(account_no__in=account_nos)
        .exclude(status=AccountStatus.CLOSED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return ids, closed


def _chunked(ids: Sequence[int], size: int) -> list[list[int]]:
    size = max(1, int(size))
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


def _chunk_size() -> int:
    return max(1, int(settings.GRIDKAM["BILL_RUN_CHUNK"]))


# -- pricing one chunk -----------------------------------------------------------------------------------------


@dataclass
class ChunkResult:
    created: int = 0
    replaced: int = 0
    skipped: list[dict] = field(default_factory=list)


def versions_in_effect(codes: Iterable[str], on: datetime.date) -> dict[str, TariffVersion]:
    """The published version of each tariff in effect on ``on`` (``TariffVersion.objects.in_effect``, for
    many tariffs in one query)."""
    codes = set(codes)
    versions: dict[str, TariffVersion] = {}
    if not codes:
        return versions
    rows = (
        TariffVersion.objects.published()
        .filter(tariff__code__in=codes, effective_from__lte=on)
        .select_related("tariff")
        .order_by("tariff__code", "-effective_from")
    )
    for version in rows:
        versions.setdefault(version.tariff.code, version)
    return versions


def missing_share(intervals: int, expected: int) -> Decimal:
    if expected <= 0:
        return Decimal("1")
    return Decimal(max(expected - intervals, 0)) / Decimal(expected)


def _percent_text(share: Decimal) -> str:
    return f"{(share * 100).quantize(Decimal('0.1'))}%"


def _assess(
    account: ElectricityAccount,
    period: datetime.date,
    usage: MonthlyUsage | None,
    rollup: tuple[int, int] | None,
    versions: dict[str, TariffVersion],
) -> tuple[Bill, list[BillLine]] | dict:
    """The account's bill for the month (unsaved), or a skip entry saying why it cannot have one."""

    def skip(reason: str, **params) -> dict:
        return {"account_no": account.account_no, "reason": reason, "params": params}

    if not account.tariff_id:
        return skip(SkipReason.NO_TARIFF)
    version = versions.get(account.tariff_id)
    if version is None:
        return skip(SkipReason.NO_VERSION, tariff=account.tariff_id, day=period.isoformat())
    if usage is None:
        return skip(SkipReason.NO_USAGE, month=f"{period:%Y-%m}")
    if usage.source == UsageSource.METERING:
        intervals, expected = rollup if rollup is not None else (0, 0)
        share = missing_share(intervals, expected)
        limit = Decimal(str(settings.GRIDKAM["BILL_MAX_MISSING_RATIO"]))
        if share > limit:
            return skip(
                SkipReason.MISSING_INTERVALS,
                share=_percent_text(share),
                missing=max(expected - intervals, 0),
                expected=expected,
                limit=_percent_text(limit),
            )
    try:
        return bill_compute(account, usage, version)
    except engine.EngineError as exc:
        return skip(SkipReason.ENGINE, field=exc.field, message=str(exc.message))


ACCOUNT_FIELDS = (
    "pk",
    "account_no",
    "customer_id",
    "tariff_id",
    "capacity_kva",
    "basic_charge_method",
    "contract_demand_kw",
    "pf_standard",
    "status",
)


def _month_inputs(account_ids: Sequence[int], period: datetime.date):
    """Accounts, usage, rollups (intervals, expected) and versions of a chunk: four queries."""
    accounts = list(ElectricityAccount.objects.filter(pk__in=account_ids).only(*ACCOUNT_FIELDS).order_by("pk"))
    usage = {u.account_id: u for u in MonthlyUsage.objects.filter(account_id__in=account_ids, month=period)}
    metering = [a for a, u in usage.items() if u.source == UsageSource.METERING]
    rollups = {}
    if metering:
        rollups = {
            r[0]: (r[1], r[2])
            for r in AccountMonthlyRollup.objects.filter(account_id__in=metering, month=period).values_list(
                "account_id", "intervals", "expected_intervals"
            )
        }
    versions = versions_in_effect({a.tariff_id for a in accounts if a.tariff_id}, period)
    return accounts, usage, rollups, versions


def _history_deleted(bills: Sequence[Bill], user) -> None:
    """Deletion records for bills removed without their delete signals (what simple-history would write)."""
    history = Bill.history.model
    now = timezone.now()
    rows = [
        history(
            history_date=now,
            history_user=user,
            history_change_reason="",
            history_type="-",
            **{f.attname: getattr(bill, f.attname) for f in history.tracked_fields},
        )
        for bill in bills
    ]
    history.objects.bulk_create(rows, batch_size=BILL_BATCH)


def _drafts_delete(drafts: Sequence[Bill], user) -> None:
    """Remove draft bills in a bounded number of queries: their lines, a deletion history record each, the rows.
    (QuerySet.delete() would send the history's delete signal, and write its record, once per bill.)"""
    if not drafts:
        return
    ids = [bill.pk for bill in drafts]
    _history_deleted(drafts, user)
    BillLine.objects.filter(bill_id__in=ids).delete()
    Bill.objects.filter(pk__in=ids)._raw_delete(Bill.objects.db)


def bills_save(pairs: Sequence[tuple[Bill, list[BillLine]]], user) -> list[Bill]:
    """Write new bills with their lines and a creation history record each, in bulk."""
    if not pairs:
        return []
    bills = [bill for bill, _lines in pairs]
    Bill.objects.bulk_create(bills, batch_size=BILL_BATCH)
    Bill.history.bulk_history_create(bills, batch_size=BILL_BATCH, default_user=user)
    BillLine.objects.bulk_create([line for _bill, lines in pairs for line in lines], batch_size=LINE_BATCH)
    return bills


def bill_run_chunk(*, run: BillRun, period: datetime.date, account_ids: Sequence[int], user=None) -> ChunkResult:
    """Bill one chunk of a run in its own transaction and add its counts to the run row."""
    result = ChunkResult()
    with transaction.atomic():
        accounts, usage, rollups, versions = _month_inputs(account_ids, period)
        existing = Bill.objects.filter(
            account_id__in=account_ids, period=period, kind=BillKind.REGULAR, source=BillSource.COMPUTED
        ).defer("quantities")
        drafts, kept = {}, {}
        for bill in existing:
            (drafts if bill.status == BillStatus.DRAFT else kept)[bill.account_id] = bill
        pairs: list[tuple[Bill, list[BillLine]]] = []
        for account in accounts:
            if account.pk in kept:
                number = kept[account.pk].number or f"#{kept[account.pk].pk}"
                result.skipped.append(
                    {"account_no": account.account_no, "reason": SkipReason.ISSUED, "params": {"number": number}}
                )
                continue
            outcome = _assess(account, period, usage.get(account.pk), rollups.get(account.pk), versions)
            if isinstance(outcome, dict):
                if account.pk in drafts:
                    outcome["params"]["draft_removed"] = True
                result.skipped.append(outcome)
                continue
            bill, lines = outcome
            bill.run = run
            bill.created_by = user
            pairs.append((bill, lines))
            if account.pk in drafts:
                result.replaced += 1
            else:
                result.created += 1
        _drafts_delete(list(drafts.values()), user)
        bills_save(pairs, user)
        _run_progress(run, result)
    return result


def _run_progress(run: BillRun, result: ChunkResult) -> None:
    """Add a chunk's counts to the run row (locked: chunks of a background run finish in parallel)."""
    row = BillRun.objects.select_for_update().get(pk=run.pk)
    row.chunks_done += 1
    row.created += result.created
    row.replaced += result.replaced
    row.skipped = [*row.skipped, *result.skipped]
    row.updated_at = timezone.now()
    fields = ["chunks_done", "created", "replaced", "skipped", "updated_at"]
    if row.chunks_done >= row.chunks and row.status == RunStatus.RUNNING:
        row.status = RunStatus.DONE
        row.finished_at = row.updated_at
        fields += ["status", "finished_at"]
    row.save(update_fields=fields)
    for name in (*fields, "status"):
        setattr(run, name, getattr(row, name))


# -- running a month -------------------------------------------------------------------------------------------


def _run_begin(run: BillRun, ids: list[int], closed: list[dict]) -> None:
    run.accounts = len(ids) + len(closed)
    run.chunks = len(_chunked(ids, _chunk_size()))
    run.chunks_done = 0
    run.created = run.replaced = 0
    run.skipped = closed
    run.status = RunStatus.RUNNING if run.chunks else RunStatus.DONE
    run.updated_at = timezone.now()
    run.finished_at = None if run.chunks else run.updated_at
    run.save(
        update_fields=[
            "accounts",
            "chunks",
            "chunks_done",
            "created",
            "replaced",
            "skipped",
            "status",
            "updated_at",
            "finished_at",
        ]
    )


def bill_run_fail(*, run_id: int, failure: str) -> None:
    BillRun.objects.filter(pk=run_id).exclude(status=RunStatus.DONE).update(
        status=RunStatus.FAILED, failure=failure[:2000], finished_at=timezone.now(), updated_at=timezone.now()
    )


def bill_run(
    *,
    period: datetime.date,
    account_nos: list[str] | None = None,
    user=None,
    run: BillRun | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BillRun:
    """Bill the month in this process, chunk after chunk; returns the finished run.

    ``account_nos`` limits the run to those accounts (unknown ones: ValidationError on ``account_nos``, nothing
    written); with a ``user`` only accounts the user can see are billed. ``run`` is a queued run row to fill in
    (else one is created). ``progress(done, total)`` is called with accounts after each chunk."""
    period = period_parse(period)
    numbers = _clean_numbers(account_nos)
    ids, closed = _run_accounts(account_nos=numbers, user=user)
    if run is None:
        run = BillRun.objects.create(period=period, account_nos=numbers, created_by=user, status=RunStatus.RUNNING)
    _run_begin(run, ids, closed)
    total, done = len(ids), 0
    if progress is not None:
        progress(0, total)
    try:
        for chunk in _chunked(ids, _chunk_size()):
            bill_run_chunk(run=run, period=period, account_ids=chunk, user=user)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    except BaseException as exc:
        bill_run_fail(run_id=run.pk, failure=f"{type(exc).__name__}: {exc}")
        raise
    run.refresh_from_db()
    return run


def bill_run_result(run: BillRun) -> dict[str, Any]:
    """The ``bill_run --json`` document: counts, skipped accounts with their reason, the run's bills."""
    bills = (
        Bill.objects.filter(run=run)
        .order_by("account__account_no", "pk")
        .values_list("account__account_no", "status", "total")
    )
    return {
        "period": f"{run.period:%Y-%m}",
        "run": run.pk,
        "status": run.status,
        "created": run.created,
        "replaced": run.replaced,
        "skipped": [
            {"account_no": entry["account_no"], "reason": entry["reason"], "message": skip_message(entry)}
            for entry in run.skipped
        ],
        "bills": [{"account_no": number, "status": status, "total": f"{total:.2f}"} for number, status, total in bills],
    }


# -- background runs -------------------------------------------------------------------------------------------


def bill_run_enqueue(*, period: Any, account_nos: list[str] | None = None, user=None) -> BillRun:
    """Queue a bill run for the Celery workers: the input is checked now (ValidationError, nothing written), the
    run row is written "queued" and its start task sent once that is committed. Without a broker the run happens
    eagerly at that commit: ``refresh_from_db`` the returned run to see it."""
    period = period_parse(period)
    numbers = _clean_numbers(account_nos)
    _run_accounts(account_nos=numbers, user=user)
    with transaction.atomic():
        run = BillRun.objects.create(period=period, account_nos=numbers, created_by=user, status=RunStatus.QUEUED)
        run.updated_at = run.created_at
        run.save(update_fields=["updated_at"])
        transaction.on_commit(partial(_start_send, run.pk, user.pk if user is not None else None))
    return run


def _start_send(run_id: int, user_id: int | None) -> None:
    from .tasks import bill_run_start_task

    try:
        bill_run_start_task.delay(run_id, user_id)
    except Exception as exc:
        # The broker is down, or (eager) the run failed and marked itself: the run must not wait as "queued".
        logger.exception("Bill run %s could not be queued or run", run_id)
        BillRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.FAILED,
            failure=_("The run could not be queued: %(error)s") % {"error": exc},
            finished_at=timezone.now(),
        )


def _user(user_id: int | None):
    return get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None


def bill_run_background_start(*, run_id: int, user_id: int | None) -> list[list[int]]:
    """The start task's body: claim the queued run, list its accounts and send one task per chunk. Safe to run
    twice: only the call that moves the run from "queued" to "running" sends chunks. Returns the chunks sent."""
    claimed = BillRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, updated_at=timezone.now()
    )
    if not claimed:
        logger.warning("Bill run %s is not queued (any more); not started again", run_id)
        return []
    run = BillRun.objects.get(pk=run_id)
    try:
        ids, closed = _run_accounts(account_nos=list(run.account_nos or []), user=_user(user_id))
        _run_begin(run, ids, closed)
    except BaseException as exc:
        bill_run_fail(run_id=run_id, failure=f"{type(exc).__name__}: {exc}")
        raise
    from .tasks import bill_run_chunk_task

    chunks = _chunked(ids, _chunk_size())
    for chunk in chunks:
        bill_run_chunk_task.delay(run_id, chunk, user_id)
    return chunks


def bill_run_background_chunk(*, run_id: int, account_ids: list[int], user_id: int | None) -> ChunkResult | None:
    """A chunk task's body. Chunks of a run that failed (or was marked interrupted) are not billed."""
    run = BillRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).first()
    if run is None:
        logger.warning("Bill run %s is not running; chunk of %d accounts not billed", run_id, len(account_ids))
        return None
    try:
        return bill_run_chunk(run=run, period=run.period, account_ids=account_ids, user=_user(user_id))
    except BaseException as exc:
        bill_run_fail(run_id=run_id, failure=f"{type(exc).__name__}: {exc}")
        raise


def bill_runs_interrupted_mark(
    *, older_than: datetime.timedelta | None = None, run_ids: list[int] | None = None
) -> list[int]:
    """Mark as failed the queued and running runs without progress for ``older_than`` (default: the
    BILL_RUN_STALE_MINUTES setting, else an hour): their worker died. Chunks already written stay written (each
    was committed whole); running the month again bills the rest. Returns the ids marked."""
    if older_than is None:
        minutes = settings.GRIDKAM.get("BILL_RUN_STALE_MINUTES", DEFAULT_STALE_MINUTES)
        older_than = datetime.timedelta(minutes=int(minutes))
    cutoff = timezone.now() - older_than
    stale = BillRun.objects.filter(status__in=ACTIVE_RUN).filter(
        Q(updated_at__lte=cutoff) | Q(updated_at__isnull=True, created_at__lte=cutoff)
    )
    if run_ids is not None:
        stale = stale.filter(pk__in=run_ids)
    ids = list(stale.values_list("pk", flat=True))
    if ids:
        BillRun.objects.filter(pk__in=ids, status__in=ACTIVE_RUN).update(
            status=RunStatus.FAILED,
            failure=_("Interrupted: no progress for %(minutes)d minutes; its worker stopped.")
            % {"minutes": older_than.total_seconds() // 60},
            finished_at=timezone.now(),
        )
        logger.warning("Bill runs marked interrupted: %s", ", ".join(map(str, ids)))
    return ids


def run_progress(run: BillRun) -> dict[str, Any]:
    """How far a run has come: chunks done of all, as a percentage."""
    percent = run.chunks_done * 100 // run.chunks if run.chunks else (100 if run.status == RunStatus.DONE else 0)
    return {
        "chunks": run.chunks,
        "chunks_done": run.chunks_done,
        "percent": min(100, percent),
        "active": run.status in ACTIVE_RUN,
    }


# -- issuing ---------------------------------------------------------------------------------------------------


def _reallocate(account_ids: Iterable[int]) -> None:
    """Reallocate the accounts' payments (the ledger part owns the rule: oldest open bill first)."""
    try:
        from . import ledger
    except ModuleNotFoundError as exc:  # pragma: no cover - only while the ledger part is not written yet
        if exc.name != "gridkam.billing.ledger":
            raise
        logger.warning("gridkam.billing.ledger is missing; payments not reallocated")
        return
    ids = sorted(set(account_ids))
    bulk = getattr(ledger, "accounts_reallocate", None)
    if bulk is not None and len(ids) > 1:
        bulk(account_ids=ids)
        return
    for account_id in ids:
        ledger.account_reallocate(account_id=account_id)


def _payment_days(account_ids: Iterable[int]) -> dict[int, int]:
    return dict(BillingTerms.objects.filter(account_id__in=set(account_ids)).values_list("account_id", "payment_days"))


def _numbers_used(account_ids: Iterable[int], period: datetime.date) -> dict[int, int]:
    return dict(
        Bill.objects.filter(account_id__in=set(account_ids), period=period, number__isnull=False)
        .values("account_id")
        .annotate(n=Count("pk"))
        .values_list("account_id", "n")
    )


def bill_number(*, prefix: str, period: datetime.date, account_no: str, n: int) -> str:
    """ "B202603-0800000001-1": B for bills and rebills, C for credit notes; n counts the numbered bills of the
    account's month."""
    return f"{prefix}{period:%Y%m}-{account_no}-{n}"


def _imported_issued(account_ids: Iterable[int], period: datetime.date) -> set[int]:
    return set(
        Bill.objects.filter(
            account_id__in=set(account_ids), period=period, source=BillSource.IMPORTED, status=BillStatus.ISSUED
        ).values_list("account_id", flat=True)
    )


def _account_lock(account_id: int) -> None:
    """Serialise numbering per account: two bills of one account issued at once would count the same n."""
    list(ElectricityAccount.objects.select_for_update().filter(pk=account_id).values_list("pk", flat=True))


def _issue_fields(bill: Bill, *, user, issue_date: datetime.date, days: int, n: int) -> None:
    bill.status = BillStatus.ISSUED
    bill.number = bill_number(prefix="B", period=bill.period, account_no=bill.account.account_no, n=n)
    bill.issue_date = issue_date
    bill.due_date = issue_date + datetime.timedelta(days=days)
    bill.issued_by = user


ISSUE_FIELDS = ["status", "number", "issue_date", "due_date", "issued_by"]


def _issuable(bill: Bill) -> None:
    if bill.status != BillStatus.DRAFT:
        raise ValidationError(
            _("Only a draft can be issued; this bill is “%(status)s”.") % {"status": bill.get_status_display()}
        )
    if bill.source != BillSource.COMPUTED:
        raise ValidationError(_("Imported bills are issued by the billing system."))
    if bill.kind == BillKind.CREDIT_NOTE:
        raise ValidationError(_("A credit note is issued when it is made."))


@transaction.atomic
def bill_issue(*, bill: Bill, user, issue_date: datetime.date | None = None) -> Bill:
    """Issue a draft computed bill (or rebill): number, issue date, due date = issue date + the account's days to
    pay (BillingTerms, else GRIDKAM["BILL_PAYMENT_DAYS"]). Refused when the billing system's imported bill of the
    month is issued: that one is the bill of record."""
    _account_lock(bill.account_id)
    bill = Bill.objects.select_for_update().select_related("account").get(pk=bill.pk)
    _issuable(bill)
    if _imported_issued([bill.account_id], bill.period):
        raise ValidationError(
            _("The billing system's bill for %(month)s is issued; it is the bill of record, this one is not issued.")
            % {"month": f"{bill.period:%Y-%m}"}
        )
    issue_date = issue_date or timezone.localdate()
    days = _payment_days([bill.account_id]).get(bill.account_id, settings.GRIDKAM["BILL_PAYMENT_DAYS"])
    n = _numbers_used([bill.account_id], bill.period).get(bill.account_id, 0) + 1
    _issue_fields(bill, user=user, issue_date=issue_date, days=days, n=n)
    bill._history_user = user
    bill.save(update_fields=ISSUE_FIELDS)
    _reallocate([bill.account_id])
    return bill


@dataclass
class IssueResult:
    issued: int = 0
    refused: list[dict] = field(default_factory=list)  # {"account_no", "message"}

    def as_dict(self) -> dict[str, Any]:
        return {"issued": self.issued, "refused": self.refused}


@transaction.atomic
def bills_issue(
    *,
    period: Any,
    user,
    account_ids: Iterable[int] | None = None,
    run: BillRun | None = None,
    issue_date: datetime.date | None = None,
) -> IssueResult:
    """Issue the month's draft computed bills in bulk (of ``run``, of ``account_ids``, or all the user can see).
    Accounts whose imported bill of the month is issued are refused and listed."""
    period = period_parse(period)
    drafts = Bill.objects.filter(period=period, status=BillStatus.DRAFT, source=BillSource.COMPUTED).exclude(
        kind=BillKind.CREDIT_NOTE
    )
    if user is not None:
        drafts = drafts.filter(pk__in=Bill.objects.visible_to(user).values("pk"))
    if account_ids is not None:
        drafts = drafts.filter(account_id__in=list(account_ids))
    if run is not None:
        drafts = drafts.filter(run=run)
    # The accounts first, in the order bill_issue and bill_correct lock them (account, then bill): numbering is per
    # account and a rebill of one of them may be issued at the same time.
    locked = ElectricityAccount.objects.select_for_update().filter(pk__in=drafts.values("account_id")).order_by("pk")
    list(locked.values_list("pk", flat=True))
    bills = list(drafts.select_for_update().select_related("account").order_by("account_id", "pk"))
    result = IssueResult()
    if not bills:
        return result
    accounts = {bill.account_id for bill in bills}
    refused_accounts = _imported_issued(accounts, period)
    days = _payment_days(accounts)
    used = _numbers_used(accounts, period)
    issue_date = issue_date or timezone.localdate()
    issued = []
    for bill in bills:
        if bill.account_id in refused_accounts:
            result.refused.append(
                {
                    "account_no": bill.account.account_no,
                    "message": _("The billing system's bill for the month is issued; it is the bill of record."),
                }
            )
            continue
        used[bill.account_id] = used.get(bill.account_id, 0) + 1
        default_days = settings.GRIDKAM["BILL_PAYMENT_DAYS"]
        _issue_fields(
            bill,
            user=user,
            issue_date=issue_date,
            days=days.get(bill.account_id, default_days),
            n=used[bill.account_id],
        )
        issued.append(bill)
    if issued:
        Bill.objects.bulk_update(issued, ISSUE_FIELDS, batch_size=BILL_BATCH)
        Bill.history.bulk_history_create(issued, batch_size=BILL_BATCH, update=True, default_user=user)
        _reallocate(bill.account_id for bill in issued)
    result.issued = len(issued)
    return result


# -- correcting ------------------------------------------------------------------------------------------------


def _negated(bill: Bill, lines: Sequence[BillLine], *, user, reason: str, issue_date: datetime.date, n: int):
    note = Bill(
        account=bill.account,
        period=bill.period,
        kind=BillKind.CREDIT_NOTE,
        status=BillStatus.ISSUED,
        source=BillSource.COMPUTED,
        number=bill_number(prefix="C", period=bill.period, account_no=bill.account.account_no, n=n),
        corrects=bill,
        tariff_version=bill.tariff_version,
        tariff_label=bill.tariff_label,
        quantities=bill.quantities,
        energy_kwh=-bill.energy_kwh,
        power_factor=bill.power_factor,
        pf_adjustment_percent=bill.pf_adjustment_percent,
        issue_date=issue_date,
        due_date=issue_date,
        created_by=user,
        issued_by=user,
        correction_reason=reason,
        **{name: -getattr(bill, name) for name in MONEY_FIELDS},
    )
    note_lines = [
        BillLine(
            bill=note,
            position=line.position,
            item=line.item,
            quantity=-line.quantity,
            unit_price=line.unit_price,
            amount=-line.amount,
            rule_code=line.rule_code,
            params=line.params,
        )
        for line in lines
    ]
    return note, note_lines


def account_month_price(account: ElectricityAccount, period: datetime.date) -> tuple[Bill, list[BillLine]] | dict:
    """One account's month priced from its current quantities (a rebill), or the skip entry saying why not."""
    account_ids = [account.pk]
    accounts, usage, rollups, versions = _month_inputs(account_ids, period)
    return _assess(accounts[0], period, usage.get(account.pk), rollups.get(account.pk), versions)


@transaction.atomic
def bill_correct(*, bill: Bill, user, reason: str) -> tuple[Bill, Bill]:
    """Correct an issued bill: a credit note cancelling it (issued now) and a rebill from the month's current
    quantities (a draft, to be issued). The original becomes "credited"; all three are kept and linked."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the bill is corrected.")]})
    _account_lock(bill.account_id)
    bill = Bill.objects.select_for_update().select_related("account").get(pk=bill.pk)
    if bill.status != BillStatus.ISSUED:
        raise ValidationError(
            _("Only an issued bill is corrected; this one is “%(status)s”.") % {"status": bill.get_status_display()}
        )
    if bill.kind == BillKind.CREDIT_NOTE:
        raise ValidationError(_("A credit note is not corrected."))
    if bill.source != BillSource.COMPUTED:
        raise ValidationError(_("An imported bill is corrected in the billing system."))
    priced = account_month_price(bill.account, bill.period)
    if isinstance(priced, dict):
        raise ValidationError(_("The month cannot be billed again: %(reason)s") % {"reason": skip_message(priced)})
    rebill, rebill_lines = priced
    rebill.kind = BillKind.REBILL
    rebill.corrects = bill
    rebill.created_by = user
    rebill.correction_reason = reason
    today = timezone.localdate()
    n = _numbers_used([bill.account_id], bill.period).get(bill.account_id, 0) + 1
    note, note_lines = _negated(
        bill, list(bill.lines.order_by("position")), user=user, reason=reason, issue_date=today, n=n
    )
    for obj in (note, rebill):
        obj._change_reason = reason
        obj._history_user = user
        obj.save()
    BillLine.objects.bulk_create([*note_lines, *rebill_lines])
    bill.status = BillStatus.CREDITED
    bill._change_reason = reason
    bill._history_user = user
    bill.save(update_fields=["status"])
    _reallocate([bill.account_id])
    return note, rebill


# -- selectors -------------------------------------------------------------------------------------------------


def bill_visible(*, user) -> QuerySet[Bill]:
    """Bills the user may see: those of the customers they see; portal users never see drafts."""
    bills = Bill.objects.visible_to(user)
    if getattr(user, "is_customer_user", False):
        bills = bills.exclude(status=BillStatus.DRAFT)
    return bills


def bill_list(*, user) -> QuerySet[Bill]:
    return bill_visible(user=user).select_related("account", "account__customer")


def bill_get(*, user, pk: int) -> Bill:
    return (
        bill_list(user=user)
        .select_related("corrects", "tariff_version", "issued_by", "created_by", "run")
        .prefetch_related("lines")
        .get(pk=pk)
    )


def bill_lines_explained(bill: Bill) -> list[dict[str, Any]]:
    """The bill's lines with the item in words and the rule explained (engine.describe)."""
    from gridkam.tariffs.quoting import line_label

    from .computing import line_as_engine

    rows = []
    for line in bill.lines.all():
        try:
            rule = engine.describe(line_as_engine(line))
        except (KeyError, ValueError, TypeError, ArithmeticError):
            rule = ""
        rows.append({"line": line, "label": line_label(line.item), "rule": rule})
    return rows


def bill_corrections(*, bill: Bill, user) -> list[Bill]:
    """The bill's correction chain: what it corrects and what corrects it, recursively, in order of creation."""
    visible = bill_visible(user=user)
    root = bill
    seen = {bill.pk}
    while root.corrects_id and root.corrects_id not in seen:
        parent = visible.filter(pk=root.corrects_id).first()
        if parent is None:
            break
        seen.add(parent.pk)
        root = parent
    chain = {root.pk: root}
    frontier = [root.pk]
    while frontier:
        children = list(visible.filter(corrects_id__in=frontier).exclude(pk__in=chain))
        frontier = [child.pk for child in children]
        chain.update({child.pk: child for child in children})
    return sorted(chain.values(), key=lambda b: (b.created_at, b.pk)) if len(chain) > 1 else []


def bill_run_list(*, user) -> QuerySet[BillRun]:
    """Runs are back-office records (counts and account numbers): staff only; the caller checks the role."""
    return BillRun.objects.select_related("created_by")


def run_numbers_visible(*, run: BillRun, user) -> list[str]:
    """The account numbers a run was limited to, those the user may see."""
    if not run.account_nos:
        return []
    visible = set(
        ElectricityAccount.objects.visible_to(user)
        .filter(account_no__in=run.account_nos)
        .values_list("account_no", flat=True)
    )
    return [number for number in run.account_nos if number in visible]


def run_skipped_visible(*, run: BillRun, user) -> list[dict]:
    """The run's skipped accounts the user may see, each with its label and message."""
    entries = run.skipped or []
    if not entries:
        return []
    numbers = {entry["account_no"] for entry in entries}
    visible = set(
        ElectricityAccount.objects.visible_to(user).filter(account_no__in=numbers).values_list("account_no", flat=True)
    )
    return [
        {**entry, "label": skip_label(entry), "message": skip_message(entry)}
        for entry in entries
        if entry["account_no"] in visible
    ]


# -- filters (the bill list page and the API share them) -------------------------------------------------------


class MonthFilter(django_filters.CharFilter):
    """A billing month as YYYY-MM."""

    def filter(self, qs, value):
        if not value:
            return qs
        try:
            return qs.filter(**{self.field_name: period_parse(value)})
        except ValidationError:
            return qs.none()


class BillFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=gettext_lazy("Search"))
    period = MonthFilter(field_name="period", label=gettext_lazy("Billing month (YYYY-MM)"))
    status = django_filters.ChoiceFilter(choices=BillStatus.choices, label=gettext_lazy("Status"))
    kind = django_filters.ChoiceFilter(choices=BillKind.choices, label=gettext_lazy("Kind"))
    source = django_filters.ChoiceFilter(choices=BillSource.choices, label=gettext_lazy("Source"))
    account = django_filters.CharFilter(field_name="account__account_no", label=gettext_lazy("Account number"))
    customer = django_filters.NumberFilter(field_name="account__customer_id", label=gettext_lazy("Customer"))
    run = django_filters.NumberFilter(field_name="run_id", label=gettext_lazy("Bill run"))

    class Meta:
        model = Bill
        fields = ["q", "period", "status", "kind", "source", "account", "customer", "run"]

    def search(self, qs, name, value):
        value = value.strip()
        if not value:
            return qs
        return qs.filter(
            Q(number__icontains=value)
            | Q(account__account_no__icontains=value)
            | Q(account__customer__name__icontains=value)
        )


class BillRunFilterSet(django_filters.FilterSet):
    period = MonthFilter(field_name="period", label=gettext_lazy("Billing month (YYYY-MM)"))
    status = django_filters.ChoiceFilter(
        choices=RunStatus.choices, label=gettext_lazy("Status"), empty_label=gettext_lazy("All")
    )

    class Meta:
        model = BillRun
        fields = ["period", "status"]
