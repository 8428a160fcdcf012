"""Fee-recovery risk early warning (DOMAIN.md "Fee recovery"): an explainable, weighted scorecard.

Every account that is not closed is scored as of a day ``D`` from what was known before ``D``: bills issued
before it, payments allocated before it, monthly quantities of the months ended before it. Each indicator is
mapped to 0–100 risk points by the thresholds below (linear between the listed points, flat outside them);
the score is the weighted mean of the points with the weights of the scorecard in force (``RiskScorecard``),
0–100 with one decimal, and the level follows the scorecard's thresholds.

Indicators (the value shown on the risk page → points):

- ``on_time_rate`` 按期收款率: of the bills (monthly bills and rebills, issued) due in the 12 months before
  ``D``, the share settled on or before their due date; a bill still open after its due date counts as late.
  95 % or better → 0, 50 % or worse → 100. No bill due in those months: no value, 0 points.
- ``days_late``: the mean days late of those late bills (until settled, or until ``D`` if still open).
  0 → 0, 10 → 30, 30 → 70, 60 days or more → 100.
- ``times_late``: how many of those bills were late. 0 → 0, 1 → 20, 3 → 60, 6 or more → 100.
- ``arrears_ratio``: the open amount of bills past due on ``D`` over the mean monthly bill of the 12 months
  before. 0 → 0, 0.5 → 30, 1 → 60, 2 → 85, 3 or more → 100. Arrears without a bill in those months: 100.
- ``consumption_trend``: the mean monthly energy of the last 3 complete months against the same months a
  year before (at least 2 of them with quantities), else against the 3 months before them. Growing or flat
  → 0, −10 % → 20, −30 % → 60, −50 % or less → 100. Too few months: no value, 0 points.
- ``operating_signals``: the account's status: in use → 0, capacity reduced → 60, suspended → 100.
  (Suspension or capacity-reduction *requests* and complaints come from the service desk, which is not
  built yet; they are left out rather than guessed.)
- ``credit_rating``: the customer's rating: AAA → 0, AA → 10, A → 25, B → 60, C → 100, unrated → 40.

The account's status and the customer's rating are taken as they are now, also when scoring a past day.

Scoring is vectorised: a handful of aggregate queries over all accounts (bills and allocations grouped per
account, quantities per account), numpy for the points; only the factor list of each score is built per row.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Least
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from gridkam.customers.choices import AccountStatus, AssignmentRole
from gridkam.customers.models import AccountAssignment, Customer, ElectricityAccount
from gridkam.tariffs.models import MonthlyUsage

from .choices import RISK_LEVEL_ORDER, BillKind, BillStatus, RiskLevel
from .models import Allocation, Bill, RiskScore, RiskScorecard, RiskWarning

BATCH = 2000

ON_TIME_RATE = "on_time_rate"
DAYS_LATE = "days_late"
TIMES_LATE = "times_late"
ARREARS_RATIO = "arrears_ratio"
CONSUMPTION_TREND = "consumption_trend"
OPERATING_SIGNALS = "operating_signals"
CREDIT_RATING = "credit_rating"

# Indicator → the scorecard field holding its weight, in the order the scorecard lists them.
WEIGHT_FIELDS = {
    ON_TIME_RATE: "weight_on_time_rate",
    DAYS_LATE: "weight_days_late",
    TIMES_LATE: "weight_times_late",
    ARREARS_RATIO: "weight_arrears_ratio",
    CONSUMPTION_TREND: "weight_consumption_trend",
    OPERATING_SIGNALS: "weight_operating_signals",
    CREDIT_RATING: "weight_credit_rating",
}
INDICATORS = tuple(WEIGHT_FIELDS)

INDICATOR_LABELS = {
    ON_TIME_RATE: _("On-time payment rate, 12 months"),
    DAYS_LATE: _("Mean days late"),
    TIMES_LATE: _("Times late in 12 months"),
    ARREARS_RATIO: _("Arrears over the mean monthly bill"),
    CONSUMPTION_TREND: _("Consumption trend, last 3 months"),
    OPERATING_SIGNALS: _("Supply suspended or capacity reduced"),
    CREDIT_RATING: _("Credit rating"),
}

# Piecewise-linear thresholds: (values, points), values increasing; flat beyond the ends.
THRESHOLDS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    ON_TIME_RATE: ((0.5, 0.95), (100.0, 0.0)),
    DAYS_LATE: ((0.0, 10.0, 30.0, 60.0), (0.0, 30.0, 70.0, 100.0)),
    TIMES_LATE: ((0.0, 1.0, 3.0, 6.0), (0.0, 20.0, 60.0, 100.0)),
    ARREARS_RATIO: ((0.0, 0.5, 1.0, 2.0, 3.0), (0.0, 30.0, 60.0, 85.0, 100.0)),
    CONSUMPTION_TREND: ((-0.5, -0.3, -0.1, 0.0), (100.0, 60.0, 20.0, 0.0)),
}
STATUS_POINTS = {AccountStatus.ACTIVE: 0.0, AccountStatus.REDUCED: 60.0, AccountStatus.SUSPENDED: 100.0}
RATING_POINTS = {"AAA": 0.0, "AA": 10.0, "A": 25.0, "B": 60.0, "C": 100.0, "": 40.0}

# Levels by rank (RiskLevel order): low, medium, high, severe.
LEVELS = tuple(RiskLevel.values)
RAISES_WARNING = {RiskLevel.HIGH, RiskLevel.SEVERE}


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` later (or earlier), clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (datetime.date(year + (month == 12), month % 12 + 1, 1) - datetime.timedelta(days=1)).day
    return datetime.date(year, month, min(day.day, last))


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def indicator_points(indicator: str, values) -> np.ndarray:
    """Risk points 0–100 of an indicator's values (NaN, no value → 0 points). Operating signals take account
    statuses, the credit rating ratings; the others numbers."""
    if indicator == OPERATING_SIGNALS:
        return np.array([STATUS_POINTS.get(v, 0.0) for v in values], dtype=float)
    if indicator == CREDIT_RATING:
        return np.array([RATING_POINTS.get(v or "", RATING_POINTS[""]) for v in values], dtype=float)
    xs, ys = THRESHOLDS[indicator]
    array = np.asarray(values, dtype=float)
    points = np.interp(np.nan_to_num(array, nan=0.0), xs, ys)
    return np.where(np.isnan(array), 0.0, points)


def round_score(values: np.ndarray) -> np.ndarray:
    """One decimal, halves up (as Decimal ROUND_HALF_UP would on the exact value)."""
    return np.floor(np.asarray(values, dtype=float) * 10 + 0.5 + 1e-9) / 10


def level_of(scores: np.ndarray, scorecard: RiskScorecard) -> np.ndarray:
    """Level rank (0 low … 3 severe) of each score: at or above a threshold is that level."""
    edges = np.array([scorecard.medium_from, scorecard.high_from, scorecard.severe_from], dtype=float)
    return np.searchsorted(edges, np.asarray(scores, dtype=float), side="right")


def scorecard_current() -> RiskScorecard:
    """The scorecard in force: the latest row, created with the default weights when there is none."""
    card = RiskScorecard.objects.order_by("-pk").first()
    if card is None:
        card = RiskScorecard.objects.create()
    return card


def weights_of(scorecard: RiskScorecard) -> np.ndarray:
    return np.array([getattr(scorecard, WEIGHT_FIELDS[name]) for name in INDICATORS], dtype=float)


@dataclass
class Scores:
    """Scores of many accounts as of one day, as parallel arrays (one entry per account)."""

    as_of: datetime.date
    account_ids: np.ndarray
    values: dict[str, np.ndarray]  # indicator → raw value (NaN: none); statuses and ratings as object arrays
    points: np.ndarray  # accounts × indicators
    weights: np.ndarray
    score: np.ndarray
    level: np.ndarray  # rank 0–3
    arrears: np.ndarray  # yuan, past-due open amount on the day
    extra: dict[str, np.ndarray]  # per-account columns the caller asked for (manager, previous level…)

    def __len__(self) -> int:
        return len(self.account_ids)

    def level_names(self) -> list[str]:
        return [LEVELS[i] for i in self.level]

    def factors(self, row: int) -> list[dict]:
        """What drove one account's score, largest contribution first."""
        return self.factor_lists([row])[0]

    def factor_lists(self, rows: Iterable[int] | None = None) -> list[list[dict]]:
        """The factor lists of many accounts (all by default), each largest contribution first (ties in the
        scorecard's order): ``{indicator, value, points, weight, contribution}``."""
        rows = np.arange(len(self)) if rows is None else np.asarray(list(rows), dtype=int)
        total = self.weights.sum() or 1.0
        points = np.round(self.points[rows], 1)
        contribution = np.round(self.points[rows] * self.weights / total, 2)
        order = np.argsort(-contribution, axis=1, kind="stable").tolist()
        weights = [int(w) for w in self.weights]
        columns = []
        for name in INDICATORS:
            column = self.values[name][rows]
            if column.dtype.kind == "f":
                rounded = np.round(column.astype(float), 4)
                columns.append([None if v != v else v for v in rounded.tolist()])
            else:
                columns.append(column.tolist())
        points_list, contribution_list = points.tolist(), contribution.tolist()
        return [
            [
                {
                    "indicator": INDICATORS[j],
                    "value": columns[j][k],
                    "points": points_list[k][j],
                    "weight": weights[j],
                    "contribution": contribution_list[k][j],
                }
                for j in order[k]
            ]
            for k in range(len(rows))
        ]


def _accounts(account_ids: Iterable[int] | None, extra: dict | None = None):
    qs = ElectricityAccount.objects.exclude(status=AccountStatus.CLOSED)
    if account_ids is not None:
        qs = qs.filter(pk__in=list(account_ids))
    if extra:
        qs = qs.annotate(**extra)
    return qs.order_by("pk").values_list("pk", "status", "customer__credit_rating", *(extra or {}))


def _bills(as_of: datetime.date):
    """The bills that count on ``as_of``: monthly bills and rebills issued before it (not credited); an
    imported bill without an issue date counts from the month after its billing month."""
    issued = Q(issue_date__lt=as_of) | Q(issue_date__isnull=True, period__lt=add_months(month_start(as_of), -1))
    return Bill.objects.filter(issued, kind__in=[BillKind.REGULAR, BillKind.REBILL], status=BillStatus.ISSUED)


def _days(expression) -> float:
    if expression is None:
        return 0.0
    if isinstance(expression, datetime.timedelta):
        return expression.total_seconds() / 86400
    return float(expression) / 86400e6  # microseconds (SQLite)


def scores_compute(
    *,
    as_of: datetime.date,
    account_ids: Iterable[int] | None = None,
    scorecard: RiskScorecard | None = None,
    extra: dict | None = None,
) -> Scores:
    """Score every account that is not closed (or those of ``account_ids``) as of ``as_of`` from the data
    known before that day. ``extra`` annotations of the account query come back in ``Scores.extra``.
    A fixed number of queries, whatever the number of accounts."""
    scorecard = scorecard or scorecard_current()
    rows = list(_accounts(account_ids, extra))
    n = len(rows)
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    index = {pk: i for i, pk in enumerate(ids.tolist())}
    statuses = np.array([r[1] for r in rows], dtype=object)
    ratings = np.array([r[2] or "" for r in rows], dtype=object)
    extras = {name: np.array([r[3 + k] for r in rows], dtype=object) for k, name in enumerate(extra or {})}

    window = add_months(as_of, -12)
    first_month = add_months(month_start(as_of), -12)
    due_window = Q(due_date__gte=window, due_date__lt=as_of)
    late = due_window & (Q(settled_on__isnull=True) | Q(settled_on__gt=F("due_date")))
    open_past_due = Q(due_date__lt=as_of) & (Q(settled_on__isnull=True) | Q(settled_on__gte=as_of))
    late_days = ExpressionWrapper(
        Least(Coalesce("settled_on", Value(as_of)), Value(as_of)) - F("due_date"), output_field=DurationField()
    )
    bills = _bills(as_of)
    if account_ids is not None:
        bills = bills.filter(account_id__in=ids.tolist())
    due_n = np.zeros(n)
    late_n = np.zeros(n)
    late_sum = np.zeros(n)
    billed = np.zeros(n)
    billed_n = np.zeros(n)
    past_due = np.zeros(n)
    for account_id, d_n, l_n, l_days, b_sum, b_n, p_sum in (
        bills.values("account_id")
        .annotate(
            due_n=Count("pk", filter=due_window),
            late_n=Count("pk", filter=late),
            late_days=Sum(late_days, filter=late),
            billed=Sum("total", filter=Q(period__gte=first_month, period__lt=as_of)),
            billed_n=Count("pk", filter=Q(period__gte=first_month, period__lt=as_of)),
            past_due=Sum("total", filter=open_past_due),
        )
        .order_by()
        .values_list("account_id", "due_n", "late_n", "late_days", "billed", "billed_n", "past_due")
    ):
        i = index.get(account_id)
        if i is None:
            continue
        due_n[i], late_n[i], late_sum[i] = d_n, l_n, _days(l_days)
        billed[i], billed_n[i], past_due[i] = float(b_sum or 0), b_n, float(p_sum or 0)
    paid = np.zeros(n)
    allocations = Allocation.objects.filter(allocated_on__lt=as_of, bill__in=bills.filter(open_past_due).values("pk"))
    for account_id, amount in (
        allocations.values("bill__account_id")
        .annotate(paid=Sum("amount"))
        .order_by()
        .values_list("bill__account_id", "paid")
    ):
        i = index.get(account_id)
        if i is not None:
            paid[i] = float(amount or 0)
    arrears = np.maximum(np.round(past_due - paid, 2), 0.0)

    # Consumption: the last three complete months against the same months a year before, or the three before.
    last = add_months(month_start(as_of), -1)
    recent = (add_months(last, -2), add_months(last, 1))
    previous = (add_months(last, -5), add_months(last, -2))
    year_ago = (add_months(last, -14), add_months(last, -11))
    energy = F("sharp_kwh") + F("peak_kwh") + F("flat_kwh") + F("valley_kwh") + F("deep_valley_kwh")
    usage = MonthlyUsage.objects.filter(month__gte=year_ago[0], month__lt=recent[1])
    if account_ids is not None:
        usage = usage.filter(account_id__in=ids.tolist())
    sums = {name: (np.zeros(n), np.zeros(n)) for name in ("recent", "previous", "year_ago")}
    spans = {"recent": recent, "previous": previous, "year_ago": year_ago}
    aggregates = {}
    for name, (start, end) in spans.items():
        span = Q(month__gte=start, month__lt=end)
        aggregates[f"{name}_kwh"] = Sum(energy, filter=span)
        aggregates[f"{name}_n"] = Count("pk", filter=span)
    names = list(aggregates)
    for row in usage.values("account_id").annotate(**aggregates).order_by().values_list("account_id", *names):
        i = index.get(row[0])
        if i is None:
            continue
        for k, name in enumerate(spans):
            sums[name][0][i] = float(row[1 + 2 * k] or 0)
            sums[name][1][i] = row[2 + 2 * k]

    with np.errstate(divide="ignore", invalid="ignore"):
        on_time = np.where(due_n > 0, (due_n - late_n) / due_n, np.nan)
        days_late = np.where(due_n > 0, np.where(late_n > 0, late_sum / late_n, 0.0), np.nan)
        times_late = np.where(due_n > 0, late_n, np.nan)
        mean_bill = np.where(billed_n > 0, billed / billed_n, 0.0)
        ratio = np.where(mean_bill > 0, arrears / mean_bill, np.where(arrears > 0, np.inf, 0.0))

        def mean_of(name):
            total, count = sums[name]
            return np.where(count > 0, total / count, np.nan)

        recent_mean, year_mean, previous_mean = mean_of("recent"), mean_of("year_ago"), mean_of("previous")
        enough = sums["recent"][1] >= 2
        use_year = enough & (sums["year_ago"][1] >= 2) & (year_mean > 0)
        use_previous = enough & ~use_year & (sums["previous"][1] >= 2) & (previous_mean > 0)
        trend = np.where(
            use_year, recent_mean / year_mean - 1, np.where(use_previous, recent_mean / previous_mean - 1, np.nan)
        )
    values = {
        ON_TIME_RATE: on_time,
        DAYS_LATE: days_late,
        TIMES_LATE: times_late,
        ARREARS_RATIO: np.where(np.isinf(ratio), 99.0, ratio),
        CONSUMPTION_TREND: trend,
        OPERATING_SIGNALS: statuses,
        CREDIT_RATING: ratings,
    }
    points = np.zeros((n, len(INDICATORS)))
    for j, name in enumerate(INDICATORS):
        points[:, j] = indicator_points(name, values[name])
    weights = weights_of(scorecard)
    total = weights.sum()
    score = round_score(points @ weights / total) if total > 0 and n else np.zeros(n)
    return Scores(
        as_of=as_of,
        account_ids=ids,
        values=values,
        points=points,
        weights=weights,
        score=score,
        level=level_of(score, scorecard),
        arrears=arrears,
        extra=extras,
    )


def _risk_link(account_id: int) -> str:
    return reverse("billing:account_risk", args=[account_id])


def risk_score_all(
    *,
    today: datetime.date | None = None,
    account_ids: Iterable[int] | None = None,
    user=None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Score every account that is not closed (or those of ``account_ids``) as of ``today`` and store the
    scores (one per account and day: a second run the same day replaces them). An account whose level rises
    into high or severe gets a warning and a task for its manager; the same day scored again raises none.
    ``progress(done, total)`` is called as the scores are written. Returns a summary."""
    started = time.monotonic()
    today = today or timezone.localdate()
    scorecard = scorecard_current()
    previous = RiskScore.objects.filter(account=OuterRef("pk"), scored_on__lt=today).order_by("-scored_on")
    later = RiskScore.objects.filter(account=OuterRef("pk"), scored_on__gt=today)
    manager = AccountAssignment.objects.filter(
        customer=OuterRef("customer_id"), role=AssignmentRole.MANAGER, end_date__isnull=True
    )
    scores = scores_compute(
        as_of=today,
        account_ids=account_ids,
        scorecard=scorecard,
        extra={
            "previous_level": Subquery(previous.values("level")[:1]),
            "has_later": Subquery(later.values("pk")[:1]),
            "manager_id": Subquery(manager.values("user_id")[:1]),
            "customer_ref": F("customer_id"),
            "number": F("account_no"),
        },
    )
    n = len(scores)
    levels = scores.level_names()
    is_latest = [scores.extra["has_later"][i] is None for i in range(n)]
    factors = scores.factor_lists()
    score_text = [f"{v:.1f}" for v in scores.score.tolist()]
    arrears_text = [f"{v:.2f}" for v in scores.arrears.tolist()]
    ids = scores.account_ids.tolist()
    latest_ids = [pk for pk, flag in zip(ids, is_latest, strict=True) if flag]
    # Accounts entering high or severe: a higher level than their previous score (none counts as lowest).
    entering = [
        i
        for i in range(n)
        if levels[i] in RAISES_WARNING
        and RISK_LEVEL_ORDER[levels[i]] > RISK_LEVEL_ORDER.get(scores.extra["previous_level"][i] or "", -1)
    ]
    with transaction.atomic():
        if latest_ids:
            for start in range(0, len(latest_ids), BATCH * 5):
                RiskScore.objects.filter(account_id__in=latest_ids[start : start + BATCH * 5], is_latest=True).exclude(
                    scored_on=today
                ).update(is_latest=False)
        rows = zip(scores.account_ids.tolist(), score_text, levels, factors, arrears_text, is_latest, strict=True)
        _scores_write(today, list(rows), progress)
        warnings = _warnings_raise(scores, entering, levels, today, user) if entering else 0
    counts = {level: levels.count(level) for level in LEVELS}
    return {
        "scored_on": today.isoformat(),
        "accounts": n,
        "levels": counts,
        "warnings": warnings,
        "seconds": round(time.monotonic() - started, 2),
    }


def _scores_write(day: datetime.date, rows: list[tuple], progress: Callable[[int, int], None] | None) -> None:
    """Insert or replace the day's scores: rows of (account id, score, level, factors, arrears, latest).
    PostgreSQL gets them by COPY into a temporary table and one INSERT … ON CONFLICT (Django's bulk_create
    spends most of its time adapting the factor lists); other databases by bulk_create."""
    n = len(rows)
    if connection.vendor != "postgresql":
        for start in range(0, n, BATCH):
            RiskScore.objects.bulk_create(
                [
                    RiskScore(
                        account_id=account_id,
                        scored_on=day,
                        score=Decimal(score),
                        level=level,
                        factors=factor_list,
                        arrears=Decimal(arrears),
                        is_latest=latest,
                    )
                    for account_id, score, level, factor_list, arrears, latest in rows[start : start + BATCH]
                ],
                update_conflicts=True,
                unique_fields=["account", "scored_on"],
                update_fields=["score", "level", "factors", "arrears", "is_latest", "created_at"],
            )
            if progress:
                progress(min(start + BATCH, n), n)
        return
    table = connection.ops.quote_name(RiskScore._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE risk_score_new (account_id bigint, score numeric(5, 1), level varchar(10),"
            " factors text, arrears numeric(14, 2), is_latest boolean) ON COMMIT DROP"
        )
        dumps = json.dumps
        with cursor.cursor.copy("COPY risk_score_new FROM STDIN") as copy:
            for k, (account_id, score, level, factor_list, arrears, latest) in enumerate(rows, start=1):
                copy.write_row((account_id, score, level, dumps(factor_list, ensure_ascii=False), arrears, latest))
                if progress and k % BATCH == 0:
                    progress(k, n)
        cursor.execute(
            f"INSERT INTO {table} (account_id, scored_on, score, level, factors, arrears, is_latest, created_at)"
            " SELECT account_id, %s, score, level, factors::jsonb, arrears, is_latest, %s FROM risk_score_new"
            " ON CONFLICT (account_id, scored_on) DO UPDATE SET score = EXCLUDED.score, level = EXCLUDED.level,"
            " factors = EXCLUDED.factors, arrears = EXCLUDED.arrears, is_latest = EXCLUDED.is_latest,"
            " created_at = EXCLUDED.created_at",
            [day, timezone.now()],
        )
        cursor.execute("DROP TABLE risk_score_new")
    if progress:
        progress(n, n)


def _warnings_raise(scores: Scores, entering: list[int], levels: list[str], today: datetime.date, user=None) -> int:
    """Warnings and tasks for the accounts entering high or severe, skipping those already warned for the day."""
    from gridkam.engagement.choices import NotificationEvent
    from gridkam.engagement.models import Task
    from gridkam.engagement.notifications import notify_many

    account_ids = [int(scores.account_ids[i]) for i in entering]
    warned = set(
        RiskWarning.objects.filter(account_id__in=account_ids, score__scored_on=today).values_list(
            "account_id", flat=True
        )
    )
    rows = [i for i in entering if int(scores.account_ids[i]) not in warned]
    if not rows:
        return 0
    score_ids = dict(
        RiskScore.objects.filter(
            account_id__in=[int(scores.account_ids[i]) for i in rows], scored_on=today
        ).values_list("account_id", "pk")
    )
    due = today + datetime.timedelta(days=settings.GRIDKAM["RISK_WARNING_DAYS"])
    level_labels = dict(RiskLevel.choices)
    tasks = []
    with translation.override(settings.LANGUAGE_CODE):
        for i in rows:
            account_id = int(scores.account_ids[i])
            tasks.append(
                Task(
                    title=gettext("Fee-recovery risk of %(account)s is %(level)s")
                    % {"account": scores.extra["number"][i], "level": str(level_labels[levels[i]])},
                    detail=gettext("Score %(score)s on %(day)s. Check the factors and contact the customer.")
                    % {"score": f"{scores.score[i]:.1f}", "day": today.isoformat()},
                    customer_id=scores.extra["customer_ref"][i],
                    account_id=account_id,
                    assignee_id=scores.extra["manager_id"][i],
                    due_date=due,
                    source="risk_warning",
                    link=_risk_link(account_id),
                    created_by_id=getattr(user, "pk", None),
                )
            )
    Task.objects.bulk_create(tasks, batch_size=BATCH)
    # The manager hears of it also in the app and by e-mail (after commit); raised by the scoring, no actor.
    customer_names = dict(
        Customer.objects.filter(pk__in={task.customer_id for task in tasks}).values_list("pk", "name")
    )
    notify_many(
        (
            task.assignee_id,
            NotificationEvent.RISK_WARNING,
            {
                "account": scores.extra["number"][i],
                "customer": customer_names.get(task.customer_id, ""),
                "level": level_labels[levels[i]],
                "score": f"{scores.score[i]:.1f}",
                "due": due.isoformat(),
            },
            task.link,
        )
        for i, task in zip(rows, tasks, strict=True)
    )
    RiskWarning.objects.bulk_create(
        [
            RiskWarning(
                account_id=task.account_id,
                score_id=score_ids.get(task.account_id),
                level=levels[i],
                previous_level=scores.extra["previous_level"][i] or "",
                assignee_id=task.assignee_id,
                due_date=due,
                task=task,
            )
            for i, task in zip(rows, tasks, strict=True)
        ],
        batch_size=BATCH,
    )
    return len(rows)


# --- Back-test -------------------------------------------------------------------------------------------


def auc(scores, labels) -> float | None:
    """Area under the ROC curve by the Mann–Whitney rank statistic (ties get their mean rank): the chance
    that a random positive scores above a random negative. None when one class is empty."""
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranked = scores[order]
    ranks = np.empty(len(scores))
    # Mean rank (1-based) of each run of equal scores.
    starts = np.r_[0, np.flatnonzero(np.diff(ranked)) + 1]
    ends = np.r_[starts[1:], len(ranked)]
    mean_ranks = (starts + ends + 1) / 2
    ranks[order] = np.repeat(mean_ranks, ends - starts)
    u = ranks[labels].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


DEFAULT_DAYS = 90
FOLLOW_MONTHS = 6


def _defaulted(account_ids: np.ndarray, as_of: datetime.date, *, days: int) -> tuple[np.ndarray, np.ndarray]:
    """For each account: whether a bill of it reaches ``days`` days overdue (still unpaid) in the
    ``FOLLOW_MONTHS`` months after ``as_of``, and whether one already had by ``as_of`` (excluded from the test)."""
    end = add_months(as_of, FOLLOW_MONTHS)
    lag = datetime.timedelta(days=days)
    bills = Bill.objects.filter(
        kind__in=[BillKind.REGULAR, BillKind.REBILL],
        status=BillStatus.ISSUED,
        account_id__in=account_ids.tolist(),
        due_date__isnull=False,
    )
    # A bill reaches the mark on due + days unless settled before that day.
    went = {
        account_id
        for account_id, due, settled in bills.filter(due_date__gt=as_of - lag, due_date__lte=end - lag)
        .filter(Q(settled_on__isnull=True) | Q(settled_on__gt=F("due_date")))
        .values_list("account_id", "due_date", "settled_on")
        if settled is None or settled >= due + lag
    }
    were = set(
        bills.filter(due_date__lte=as_of - lag, issue_date__lt=as_of)
        .filter(Q(settled_on__isnull=True) | Q(settled_on__gte=as_of))
        .values_list("account_id", flat=True)
        .distinct()
    )
    ids = account_ids.tolist()
    return np.array([pk in went for pk in ids], dtype=bool), np.array([pk in were for pk in ids], dtype=bool)


def backtest(
    *,
    today: datetime.date | None = None,
    account_ids: Iterable[int] | None = None,
    days: int = DEFAULT_DAYS,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Score every account at each month start of the bill history (data known before that day only) and
    compare with whether it went ``days`` days overdue in the next six months. Accounts already that far
    overdue on the day, and accounts without a bill issued before it, are left out of that month. Months
    whose six months of follow-up are not over by ``today`` are left out. Returns the AUC overall and the
    share of accounts that defaulted per level."""
    today = today or timezone.localdate()
    scorecard = scorecard_current()
    first = Bill.objects.filter(status=BillStatus.ISSUED, issue_date__isnull=False).order_by("issue_date")
    first_issue = first.values_list("issue_date", flat=True).first()
    result = {
        "months": 0,
        "accounts": 0,
        "positives": 0,
        "auc": None,
        "levels": [],
        "days": days,
        "follow_months": FOLLOW_MONTHS,
        "first_month": None,
        "last_month": None,
    }
    if first_issue is None:
        result["levels"] = [{"level": lv, "accounts": 0, "defaulted": 0, "rate": None} for lv in LEVELS]
        return result
    months = []
    day = add_months(month_start(first_issue), 1)
    while add_months(day, FOLLOW_MONTHS) <= today:
        months.append(day)
        day = add_months(day, 1)
    all_scores, all_labels, all_levels = [], [], []
    with_bills = set(_bills(today).values_list("account_id", flat=True).distinct())
    restrict = None if account_ids is None else set(account_ids)
    for k, as_of in enumerate(months):
        issued = set(_bills(as_of).values_list("account_id", flat=True).distinct()) & with_bills
        if restrict is not None:
            issued &= restrict
        if issued:
            scores = scores_compute(as_of=as_of, account_ids=sorted(issued), scorecard=scorecard)
            went, were = _defaulted(scores.account_ids, as_of, days=days)
            keep = ~were
            all_scores.append(scores.score[keep])
            all_labels.append(went[keep])
            all_levels.append(scores.level[keep])
        if progress:
            progress(k + 1, len(months))
    scores = np.concatenate(all_scores) if all_scores else np.zeros(0)
    labels = np.concatenate(all_labels) if all_labels else np.zeros(0, dtype=bool)
    levels = np.concatenate(all_levels) if all_levels else np.zeros(0, dtype=int)
    value = auc(scores, labels)
    result.update(
        months=len(months),
        accounts=int(len(scores)),
        positives=int(labels.sum()),
        auc=None if value is None else round(value, 4),
        first_month=months[0].isoformat() if months else None,
        last_month=months[-1].isoformat() if months else None,
    )
    for rank, level in enumerate(LEVELS):
        mask = levels == rank
        count = int(mask.sum())
        defaulted = int(labels[mask].sum())
        result["levels"].append(
            {
                "level": level,
                "accounts": count,
                "defaulted": defaulted,
                "rate": round(defaulted / count, 4) if count else None,
            }
        )
    return result


def backtest_store(result: dict) -> None:
    """Keep a back-test's result with the scorecard it tested (shown on the distribution page)."""
    card = scorecard_current()
    RiskScorecard.objects.filter(pk=card.pk).update(backtest=result, backtest_at=timezone.now())


def factor_rows(factors: list[dict]) -> list[dict]:
    """A stored factor list with labels and display values, for pages."""
    out = []
    for factor in factors:
        value = factor.get("value")
        name = factor.get("indicator")
        shown = "—"
        if value is not None:
            if name in (ON_TIME_RATE, CONSUMPTION_TREND):
                shown = f"{float(value) * 100:.1f} %"
            elif name == ARREARS_RATIO:
                shown = f"{float(value):.2f}"
            elif name == DAYS_LATE:
                shown = f"{float(value):.1f}"
            elif name == TIMES_LATE:
                shown = f"{int(value)}"
            elif name == OPERATING_SIGNALS:
                shown = str(dict(AccountStatus.choices).get(value, value))
            elif name == CREDIT_RATING:
                shown = value or str(_("Unrated"))
        out.append({**factor, "label": INDICATOR_LABELS.get(name, name), "shown": shown})
    return out


# --- Warnings --------------------------------------------------------------------------------------------


class WarningStateError(Exception):
    """The warning is closed already."""


def warning_may_act(user, warning: RiskWarning) -> bool:
    """Who may acknowledge or close a warning: its assignee, billing staff, and those who may edit the
    customer (its account team, supervisors). Visibility is checked by the caller's selector."""
    from .permissions import does_billing

    if user.is_customer_user:
        return False
    if warning.assignee_id == user.pk or does_billing(user):
        return True
    return RiskWarning.objects.editable_by(user).filter(pk=warning.pk).exists()


def warning_close_with_task(sender, *, task, user, **kwargs) -> None:
    """``engagement.services.task_done`` receiver: the manager marked a warning's task done on "My tasks", so
    the warning is closed with the task's note (closing the warning marks its task done: they move together)."""
    from .choices import WarningStatus

    for warning in RiskWarning.objects.select_for_update().filter(task=task).exclude(status=WarningStatus.CLOSED):
        warning.status = WarningStatus.CLOSED
        warning.resolved_at = task.done_at
        warning.resolution = task.done_note
        warning._history_user = user
        warning.save(update_fields=["status", "resolved_at", "resolution"])


@transaction.atomic
def warning_act(*, warning: RiskWarning, user, action: str, note: str = "") -> RiskWarning:
    """Acknowledge a warning, or close it with what was done (its task is marked done with the same note):
    both or neither, and two people acting at once on the same warning are taken one after the other."""
    from gridkam.engagement.models import Task, TaskStatus

    from .choices import WarningStatus

    warning.status = RiskWarning.objects.select_for_update().values_list("status", flat=True).get(pk=warning.pk)
    if warning.status == WarningStatus.CLOSED:
        raise WarningStateError(gettext("This warning is closed already."))
    note = (note or "").strip()
    if action == "acknowledge":
        warning.status = WarningStatus.ACKNOWLEDGED
        if note:
            warning.resolution = note
        warning.save(update_fields=["status", "resolution"])
        return warning
    warning.status = WarningStatus.CLOSED
    warning.resolved_at = timezone.now()
    warning.resolution = note
    warning.save(update_fields=["status", "resolved_at", "resolution"])
    if warning.task_id:
        Task.objects.filter(pk=warning.task_id, status=TaskStatus.OPEN).update(
            status=TaskStatus.DONE, done_at=warning.resolved_at, done_note=note
        )
    return warning
