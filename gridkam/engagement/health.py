"""Account health (issue 7 item 5): a per-account score 0–100 (higher is healthier) from seven drivers, a level,
and an alert with a task for the manager when an account turns unhealthy. docs/health.md explains it to users.

Every account that is not closed is scored as of a day ``D`` from what was known before ``D`` (the day itself
is not counted: the nightly job at 03:00 scores today from yesterday's data). "The 12 months" are
``[D − 12 months, D)``. Drivers (``HealthDriver``) → points:

- ``satisfaction``: the mean 1–5 rating of the customer's requests closed in the 12 months →
  (mean − 1) / 4 × 100. No rated request: no data.
- ``complaints``: the customer's requests of type complaint logged in the 12 months → 0: 100, 1: 70, 2: 40,
  3 or more: 10.
- ``sla_breaches``: the share of the customer's requests logged in the 12 months with a target (first response,
  on site, resolution) breached, whose due time was before ``D`` → 0 %: 100, up to 10 %: 75, up to 25 %: 50,
  more: 20. No requests count as no breaches (100).
- ``fee_risk``: the account's latest fee-recovery risk level (``RiskScore`` scored on or before ``D``: the risk
  of ``D`` is itself computed from the data before ``D``) → low 100, medium 70, high 35, severe 10. No risk
  score: no data.
- ``consumption_trend``: the account's energy (``MonthlyUsage``, all time-of-use periods) in the last three
  complete months before ``D`` over the same three months a year earlier → 0.95 or more: 100, 0.85: 70,
  0.70: 40, less: 15. No quantities in either span, or none consumed a year earlier: no data.
- ``plan_delivery``: the customer's plan occurrences due from 1 January of ``D``'s year to the day before ``D``
  and not cancelled, the share of them done before ``D`` → 90 % or more: 100, 75 %: 75, 50 %: 45, less: 15.
  Nothing due yet: no data.
- ``nps``: the customer's latest answer to the annual key-account survey (``gridkam.surveys``) answered in the 12
  months: its 0–10 "how likely to recommend" score × 10 (a promoter's 9 is 90 points, a detractor's 4 is 40). No
  answer in the 12 months: no data.

The score is the weighted mean (``GRIDKAM["HEALTH_WEIGHTS"]``) of the points of the drivers with data (a
driver without data drops out and the others' weights are rescaled), rounded half up to one decimal; when no
weighted driver has data the score is 100 (nothing known against the account). Level: 80 or more healthy,
60 watch, 40 at risk, below 40 unhealthy (``HEALTHY_FROM``, ``WATCH_FROM``, ``AT_RISK_FROM``).

Writing (``health_score_all``): the day's rows of the scored accounts are deleted and inserted again (COPY on
PostgreSQL, ``bulk_create`` elsewhere), latest unless the account has a later score, then two UPDATEs take
``is_latest`` from the accounts' earlier scores (and from the new one should a later day have been scored since the
read); a past day scored again
never takes ``is_latest`` from a later score. An account entering ``unhealthy`` (its previous score not
unhealthy, or none) whose new score is its latest gets a ``HealthAlert``, a task for its account manager and a
notification, unless it has an open alert or had one raised the same day. The alert closes when its task is
marked done (``task_done`` signal); an account that recovers keeps its open alert until then.

A fixed number of queries whatever the number of accounts: one for the accounts (with their latest risk score,
previous health level and manager as subqueries), one grouped query per source table (requests, monthly
quantities, plan occurrences, annual-survey answers), numpy for the points.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from gridkam.billing.choices import RiskLevel
from gridkam.billing.models import RiskScore
from gridkam.customers.choices import AccountStatus, AssignmentRole
from gridkam.customers.models import AccountAssignment, ElectricityAccount
from gridkam.servicedesk.choices import RequestType
from gridkam.servicedesk.models import ServiceRequest
from gridkam.surveys.choices import SurveyKind
from gridkam.surveys.models import Survey
from gridkam.tariffs.models import MonthlyUsage

from .choices import HealthDriver, HealthLevel, NotificationEvent, OccurrenceStatus
from .models import HealthAlert, HealthAlertStatus, HealthScore, PlanOccurrence, Task

BATCH = 2000

SATISFACTION = HealthDriver.SATISFACTION.value
COMPLAINTS = HealthDriver.COMPLAINTS.value
SLA_BREACHES = HealthDriver.SLA_BREACHES.value
FEE_RISK = HealthDriver.FEE_RISK.value
CONSUMPTION_TREND = HealthDriver.CONSUMPTION_TREND.value
PLAN_DELIVERY = HealthDriver.PLAN_DELIVERY.value
NPS = HealthDriver.NPS.value
DRIVERS: tuple[str, ...] = tuple(HealthDriver.values)

# Weights used when GRIDKAM["HEALTH_WEIGHTS"] does not name a driver.
DEFAULT_WEIGHTS: dict[str, float] = {
    SATISFACTION: 0.15,
    COMPLAINTS: 0.15,
    SLA_BREACHES: 0.15,
    FEE_RISK: 0.25,
    CONSUMPTION_TREND: 0.15,
    PLAN_DELIVERY: 0.15,
    NPS: 0.15,
}

# Step thresholds: (lower bounds, increasing) and the points from below the first bound upwards. A value at a
# bound takes the points above it ("0.95 or more: 100").
CONSUMPTION_STEPS = ((0.70, 0.85, 0.95), (15.0, 40.0, 70.0, 100.0))
PLAN_STEPS = ((0.50, 0.75, 0.90), (15.0, 45.0, 75.0, 100.0))
# Complaints: 0, 1, 2, 3 or more.
COMPLAINT_POINTS = (100.0, 70.0, 40.0, 10.0)
# SLA breaches: none, up to 10 %, up to 25 % (a share at the bound takes the better points), more.
SLA_BOUNDS = (0.0, 0.10, 0.25)
SLA_POINTS = (100.0, 75.0, 50.0, 20.0)
FEE_RISK_POINTS = {RiskLevel.LOW: 100.0, RiskLevel.MEDIUM: 70.0, RiskLevel.HIGH: 35.0, RiskLevel.SEVERE: 10.0}

# Levels: a score at or above a bound is that level.
HEALTHY_FROM = 80.0
WATCH_FROM = 60.0
AT_RISK_FROM = 40.0
# By rank: 0 unhealthy … 3 healthy.
LEVELS_BY_RANK = (HealthLevel.UNHEALTHY, HealthLevel.AT_RISK, HealthLevel.WATCH, HealthLevel.HEALTHY)

ALERT_SOURCE = "health_alert"


# --- Dates and settings -------------------------------------------------------------------------------------


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` later (or earlier), clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (datetime.date(year + (month == 12), month % 12 + 1, 1) - datetime.timedelta(days=1)).day
    return datetime.date(year, month, min(day.day, last))


def _midnight(day: datetime.date) -> datetime.datetime:
    """The start of ``day`` in the local time zone (requests are logged and closed at instants)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def health_weights() -> dict[str, float]:
    """The weight of each driver: GRIDKAM["HEALTH_WEIGHTS"] over ``DEFAULT_WEIGHTS``. Unknown drivers, negative
    weights or all weights zero are configuration errors."""
    configured: Mapping = settings.GRIDKAM.get("HEALTH_WEIGHTS") or {}
    unknown = set(configured) - set(DRIVERS)
    if unknown:
        raise ImproperlyConfigured(
            f"GRIDKAM['HEALTH_WEIGHTS'] names unknown drivers {sorted(unknown)}; use {list(DRIVERS)}."
        )
    weights = {driver: float(configured.get(driver, DEFAULT_WEIGHTS[driver])) for driver in DRIVERS}
    if any(w < 0 or w != w for w in weights.values()) or sum(weights.values()) <= 0:
        raise ImproperlyConfigured("GRIDKAM['HEALTH_WEIGHTS'] must be numbers ≥ 0, at least one of them > 0.")
    return weights


# --- Points -------------------------------------------------------------------------------------------------


def driver_points(driver: str, values) -> np.ndarray:
    """Points 0–100 of a driver's values (NaN or None: no data → NaN). ``fee_risk`` takes risk levels, the
    others numbers: mean rating, complaint count, breached share, energy ratio, delivered share, NPS answer 0–10."""
    if driver == FEE_RISK:
        return np.array([FEE_RISK_POINTS.get(v, np.nan) if v else np.nan for v in values], dtype=float)
    array = np.array([np.nan if v is None else v for v in values], dtype=float)
    missing = np.isnan(array)
    safe = np.nan_to_num(array, nan=0.0)
    if driver == SATISFACTION:
        points = np.clip((safe - 1.0) / 4.0 * 100.0, 0.0, 100.0)
    elif driver == COMPLAINTS:
        points = np.array(COMPLAINT_POINTS)[np.clip(safe, 0, len(COMPLAINT_POINTS) - 1).astype(int)]
    elif driver == SLA_BREACHES:
        points = np.array(SLA_POINTS)[np.searchsorted(SLA_BOUNDS, safe, side="left")]
    elif driver == CONSUMPTION_TREND:
        bounds, steps = CONSUMPTION_STEPS
        points = np.array(steps)[np.searchsorted(bounds, safe, side="right")]
    elif driver == PLAN_DELIVERY:
        bounds, steps = PLAN_STEPS
        points = np.array(steps)[np.searchsorted(bounds, safe, side="right")]
    elif driver == NPS:
        points = np.clip(safe * 10.0, 0.0, 100.0)
    else:
        raise ValueError(f"Unknown health driver {driver!r}.")
    return np.where(missing, np.nan, points.astype(float))


def round_score(values) -> np.ndarray:
    """One decimal, halves up."""
    return np.floor(np.asarray(values, dtype=float) * 10 + 0.5 + 1e-9) / 10


def weighted_score(points: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Rows of driver points (NaN: no data) → the weighted mean of the drivers with data, rounded to 0.1;
    100 where no weighted driver has data."""
    points = np.atleast_2d(np.asarray(points, dtype=float))
    present = ~np.isnan(points)
    used = np.where(present, weights, 0.0)
    total = used.sum(axis=1)
    weighted = np.where(present, points, 0.0) @ np.asarray(weights, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(total > 0, weighted / np.where(total > 0, total, 1.0), 100.0)
    return round_score(mean)


def level_ranks(scores) -> np.ndarray:
    """Rank 0 unhealthy, 1 at risk, 2 watch, 3 healthy of each score."""
    return np.searchsorted(
        np.array([AT_RISK_FROM, WATCH_FROM, HEALTHY_FROM]), np.asarray(scores, dtype=float), side="right"
    )


def level_of(score: float | Decimal) -> str:
    """The level of one score."""
    return str(LEVELS_BY_RANK[int(level_ranks([float(score)])[0])])


# --- Scoring ------------------------------------------------------------------------------------------------


@dataclass
class Scores:
    """Health of many accounts as of one day, as parallel arrays (one entry per account)."""

    as_of: datetime.date
    account_ids: np.ndarray
    values: dict[str, np.ndarray]  # driver → value (NaN: no data); fee_risk: the risk score
    data: dict[str, dict[str, list]]  # driver → the numbers behind it, column by column
    points: np.ndarray  # accounts × drivers, NaN: no data
    weights: np.ndarray
    score: np.ndarray
    levels: list[str]
    extra: dict[str, list]  # per-account columns the caller asked for

    def __len__(self) -> int:
        return len(self.account_ids)

    def factor_lists(self) -> list[list[dict]]:
        """Each account's drivers in ``HealthDriver`` order: ``{driver, value, points, weight, data}``
        (points None and weight 0 when the driver has no data)."""
        n = len(self)
        columns = []
        for j, driver in enumerate(DRIVERS):
            values = [None if v != v else v for v in np.round(self.values[driver], 4).tolist()]
            points = [None if v != v else v for v in np.round(self.points[:, j], 1).tolist()]
            weight = float(self.weights[j])
            names = list(self.data[driver])
            data_rows = list(zip(*(self.data[driver][name] for name in names), strict=True)) if n else []
            columns.append((driver, values, points, weight, names, data_rows))
        return [
            [
                {
                    "driver": driver,
                    "value": values[i],
                    "points": points[i],
                    "weight": 0 if points[i] is None else weight,
                    "data": dict(zip(names, data_rows[i], strict=True)),
                }
                for driver, values, points, weight, names, data_rows in columns
            ]
            for i in range(n)
        ]


def _rounded(array: np.ndarray, digits: int) -> list:
    return [None if v != v else v for v in np.round(array, digits).tolist()]


def as_int(array: np.ndarray) -> list[int]:
    return array.astype(int).tolist()


def scores_compute(
    *,
    day: datetime.date,
    account_ids: Iterable[int] | None = None,
    extra: dict | None = None,
    weights: dict[str, float] | None = None,
) -> Scores:
    """Score every account that is not closed (or those of ``account_ids``) as of ``day`` from the data known
    before that day; nothing is written. ``extra`` annotations of the account query come back in
    ``Scores.extra``. Six queries, whatever the number of accounts."""
    weights = weights or health_weights()
    latest_risk = RiskScore.objects.filter(account=OuterRef("pk"), scored_on__lte=day).order_by("-scored_on")
    accounts = ElectricityAccount.objects.exclude(status=AccountStatus.CLOSED)
    if account_ids is not None:
        accounts = accounts.filter(pk__in=list(account_ids))
    accounts = accounts.annotate(
        risk_level=Subquery(latest_risk.values("level")[:1]),
        risk_score=Subquery(latest_risk.values("score")[:1]),
        **(extra or {}),
    )
    rows = list(accounts.order_by("pk").values_list("pk", "customer_id", "risk_level", "risk_score", *(extra or {})))
    n = len(rows)
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    customer_of = [r[1] for r in rows]
    extras = {name: [r[4 + k] for r in rows] for k, name in enumerate(extra or {})}
    customer_ids = sorted(set(customer_of))
    restrict = account_ids is not None

    # Requests of the customers: closed and rated, complaints, breaches, in the 12 months before the day.
    start, end = _midnight(add_months(day, -12)), _midnight(day)
    closed = Q(closed_at__gte=start, closed_at__lt=end)
    rated = closed & Q(satisfaction__isnull=False)
    logged = Q(created_at__gte=start, created_at__lt=end)
    breached = logged & (
        Q(response_breached=True, response_due_at__lt=end)
        | Q(onsite_breached=True, onsite_due_at__lt=end)
        | Q(resolution_breached=True, resolution_due_at__lt=end)
    )
    requests = ServiceRequest.objects.filter(closed | logged)
    if restrict:
        requests = requests.filter(customer_id__in=customer_ids)
    per_customer: dict[int, tuple] = {
        row[0]: row[1:]
        for row in requests.values("customer_id")
        .annotate(
            closed_n=Count("pk", filter=closed),
            rated_n=Count("pk", filter=rated),
            rating_sum=Sum("satisfaction", filter=rated),
            logged_n=Count("pk", filter=logged),
            complaints_n=Count("pk", filter=logged & Q(request_type=RequestType.COMPLAINT)),
            breached_n=Count("pk", filter=breached),
        )
        .order_by()
        .values_list("customer_id", "closed_n", "rated_n", "rating_sum", "logged_n", "complaints_n", "breached_n")
    }
    none = (0, 0, None, 0, 0, 0)
    request_rows = np.array(
        [[float(v or 0) for v in per_customer.get(c, none)] for c in customer_of], dtype=float
    ).reshape(n, 6)
    closed_n, rated_n, rating_sum, logged_n, complaints_n, breached_n = request_rows.T

    # Energy of the last three complete months before the day and of the same months a year earlier.
    last = add_months(day.replace(day=1), -1)
    recent = (add_months(last, -2), add_months(last, 1))
    earlier = (add_months(last, -14), add_months(last, -11))
    energy = F("sharp_kwh") + F("peak_kwh") + F("flat_kwh") + F("valley_kwh") + F("deep_valley_kwh")
    recent_span = Q(month__gte=recent[0], month__lt=recent[1])
    earlier_span = Q(month__gte=earlier[0], month__lt=earlier[1])
    usage = MonthlyUsage.objects.filter(recent_span | earlier_span)
    if restrict:
        usage = usage.filter(account_id__in=ids.tolist())
    index = {pk: i for i, pk in enumerate(ids.tolist())}
    recent_kwh, earlier_kwh = np.full(n, np.nan), np.full(n, np.nan)
    for account_id, r_kwh, r_n, e_kwh, e_n in (
        usage.values("account_id")
        .annotate(
            recent_kwh=Sum(energy, filter=recent_span),
            recent_n=Count("pk", filter=recent_span),
            earlier_kwh=Sum(energy, filter=earlier_span),
            earlier_n=Count("pk", filter=earlier_span),
        )
        .order_by()
        .values_list("account_id", "recent_kwh", "recent_n", "earlier_kwh", "earlier_n")
    ):
        i = index.get(account_id)
        if i is None:
            continue
        if r_n:
            recent_kwh[i] = float(r_kwh or 0)
        if e_n:
            earlier_kwh[i] = float(e_kwh or 0)

    # Plan occurrences of the customers due this year before the day.
    due = Q(due_date__gte=day.replace(month=1, day=1), due_date__lt=day) & ~Q(status=OccurrenceStatus.CANCELLED)
    done = due & Q(status=OccurrenceStatus.DONE) & (Q(done_on__lt=day) | Q(done_on__isnull=True))
    occurrences = PlanOccurrence.objects.filter(due)
    if restrict:
        occurrences = occurrences.filter(customer_id__in=customer_ids)
    plans = {
        customer_id: (due_n, done_n)
        for customer_id, due_n, done_n in occurrences.values("customer_id")
        .annotate(due_n=Count("pk"), done_n=Count("pk", filter=done))
        .order_by()
        .values_list("customer_id", "due_n", "done_n")
    }
    plan_rows = np.array([plans.get(c, (0, 0)) for c in customer_of], dtype=float).reshape(n, 2)
    plan_due, plan_done = plan_rows.T

    # The customers' latest annual-survey answer of the 12 months (the one with no later answer).
    nps_answers = _latest_nps(start=start, end=end, customer_ids=customer_ids if restrict else None)
    nps_rows = [nps_answers.get(c) for c in customer_of]
    nps_value = np.array([np.nan if r is None else float(r[0]) for r in nps_rows], dtype=float)

    risk_levels = [r[2] or None for r in rows]
    risk_scores = np.array([np.nan if r[3] is None else float(r[3]) for r in rows], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_rating = np.where(rated_n > 0, rating_sum / np.where(rated_n > 0, rated_n, 1), np.nan)
        breached_share = np.where(logged_n > 0, breached_n / np.where(logged_n > 0, logged_n, 1), 0.0)
        has_trend = ~np.isnan(recent_kwh) & ~np.isnan(earlier_kwh) & (np.nan_to_num(earlier_kwh) > 0)
        ratio = np.where(has_trend, recent_kwh / np.where(has_trend, earlier_kwh, 1), np.nan)
        delivered = np.where(plan_due > 0, plan_done / np.where(plan_due > 0, plan_due, 1), np.nan)
    # Points come from the values as stored (rounded), so that a page showing 0.95 shows 100 points.
    values = {
        SATISFACTION: np.round(mean_rating, 4),
        COMPLAINTS: complaints_n,
        SLA_BREACHES: np.round(breached_share, 4),
        FEE_RISK: risk_scores,
        CONSUMPTION_TREND: np.round(ratio, 4),
        PLAN_DELIVERY: np.round(delivered, 4),
        NPS: nps_value,
    }
    points = np.full((n, len(DRIVERS)), np.nan)
    for j, driver in enumerate(DRIVERS):
        points[:, j] = driver_points(driver, risk_levels if driver == FEE_RISK else values[driver])
    data = {
        SATISFACTION: {"requests": as_int(closed_n), "rated": as_int(rated_n), "mean": _rounded(mean_rating, 2)},
        COMPLAINTS: {"count": as_int(complaints_n)},
        SLA_BREACHES: {"breached": as_int(breached_n), "decided": as_int(logged_n)},
        FEE_RISK: {"level": risk_levels, "score": _rounded(risk_scores, 1)},
        CONSUMPTION_TREND: {
            "recent_kwh": _rounded(recent_kwh, 2),
            "earlier_kwh": _rounded(earlier_kwh, 2),
            "ratio": _rounded(ratio, 4),
        },
        PLAN_DELIVERY: {"done": as_int(plan_done), "due": as_int(plan_due)},
        NPS: {
            "nps": [None if r is None else r[0] for r in nps_rows],
            "answered_on": [None if r is None else r[1] for r in nps_rows],
            "year": [None if r is None else r[2] for r in nps_rows],
        },
    }
    weight_array = np.array([weights[d] for d in DRIVERS], dtype=float)
    score = weighted_score(points, weight_array) if n else np.zeros(0)
    return Scores(
        as_of=day,
        account_ids=ids,
        values=values,
        data=data,
        points=points,
        weights=weight_array,
        score=score,
        levels=[str(LEVELS_BY_RANK[r]) for r in level_ranks(score).tolist()],
        extra=extras,
    )


def _latest_nps(
    *, start: datetime.datetime, end: datetime.datetime, customer_ids: list[int] | None
) -> dict[int, tuple[int, str, int | None]]:
    """{customer id: (NPS answer 0–10, local day answered (ISO), year surveyed)} of each customer's latest annual-
    survey answer in ``[start, end)``: one query, the answers with no later one of the same customer."""
    answers = Survey.objects.filter(
        kind=SurveyKind.ANNUAL, nps__isnull=False, answered_at__gte=start, answered_at__lt=end
    )
    if customer_ids is not None:
        answers = answers.filter(customer_id__in=customer_ids)
    later = answers.filter(customer_id=OuterRef("customer_id")).filter(
        Q(answered_at__gt=OuterRef("answered_at")) | Q(answered_at=OuterRef("answered_at"), pk__gt=OuterRef("pk"))
    )
    return {
        customer_id: (nps, timezone.localtime(answered_at).date().isoformat(), year)
        for customer_id, nps, answered_at, year in answers.exclude(Exists(later))
        .order_by()
        .values_list("customer_id", "nps", "answered_at", "year")
    }


def health_link(account_id: int) -> str:
    """The account's health page (the task's and the notification's link)."""
    return reverse("health:account", args=[account_id])


def health_score_all(
    *,
    day: datetime.date | None = None,
    account_ids: Iterable[int] | None = None,
    user=None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Score every account that is not closed (or those of ``account_ids``) as of ``day`` (default today) and
    store the scores: one per account and day, a second run the same day replaces them. Accounts entering
    unhealthy get an alert, a task for their manager and a notification (see the module's docstring).
    ``progress(done, total)`` is called as the scores are written. Returns
    ``{"scored_on", "accounts", "levels": {level: n}, "alerts", "seconds"}``."""
    started = time.monotonic()
    day = day or timezone.localdate()
    weights = health_weights()
    if account_ids is not None:
        account_ids = sorted({int(pk) for pk in account_ids})
    previous = HealthScore.objects.filter(account=OuterRef("pk"), scored_on__lt=day).order_by("-scored_on")
    manager = AccountAssignment.objects.filter(
        customer=OuterRef("customer_id"), role=AssignmentRole.MANAGER, end_date__isnull=True
    )
    scores = scores_compute(
        day=day,
        account_ids=account_ids,
        weights=weights,
        extra={
            "previous_level": Subquery(previous.values("level")[:1]),
            "has_later": Exists(HealthScore.objects.filter(account=OuterRef("pk"), scored_on__gt=day)),
            "alerted": Exists(
                HealthAlert.objects.filter(account=OuterRef("pk")).filter(
                    Q(status=HealthAlertStatus.OPEN) | Q(raised_on=day)
                )
            ),
            "manager_id": Subquery(manager.values("user_id")[:1]),
            "customer_ref": F("customer_id"),
            "customer_name": F("customer__name"),
            "number": F("account_no"),
        },
    )
    n = len(scores)
    levels = scores.levels
    extra = scores.extra
    entering = [
        i
        for i in range(n)
        if levels[i] == HealthLevel.UNHEALTHY
        and extra["previous_level"][i] != HealthLevel.UNHEALTHY
        and not extra["has_later"][i]
        and not extra["alerted"][i]
    ]
    rows = list(
        zip(
            scores.account_ids.tolist(),
            [f"{v:.1f}" for v in scores.score.tolist()],
            levels,
            scores.factor_lists(),
            [not later for later in extra["has_later"]],
            strict=True,
        )
    )
    scope = ElectricityAccount.objects.exclude(status=AccountStatus.CLOSED)
    if account_ids is not None:
        scope = scope.filter(pk__in=account_ids)
    # The accounts whose new score is their latest (no score on a later day).
    latest_scope = scope.exclude(Exists(HealthScore.objects.filter(account=OuterRef("pk"), scored_on__gt=day)))
    with transaction.atomic():
        day_rows = HealthScore.objects.filter(scored_on=day, account__in=scope.values("pk"))
        # Alerts raised on the day point at the day's scores: let go of them, link them again after the insert.
        relink = HealthAlert.objects.filter(score__in=day_rows.values("pk"))
        relinked = relink.update(score=None)
        day_rows._raw_delete(day_rows.db)
        # Inserted latest unless a later score was seen when reading; the two UPDATEs then take "latest" from the
        # accounts' earlier scores and settle what changed since the read (a later day scored meanwhile).
        _scores_write(day, rows, progress)
        latest_ids = latest_scope.values("pk")
        HealthScore.objects.filter(account__in=latest_ids, is_latest=True).exclude(scored_on=day).update(
            is_latest=False
        )
        HealthScore.objects.filter(is_latest=True, scored_on=day).exclude(account__in=latest_ids).filter(
            account__in=scope.values("pk")
        ).update(is_latest=False)
        if relinked:
            HealthAlert.objects.filter(score__isnull=True, raised_on=day, account__in=scope.values("pk")).update(
                score=Subquery(
                    HealthScore.objects.filter(account=OuterRef("account"), scored_on=day).order_by().values("pk")[:1]
                )
            )
        alerts = _alerts_raise(scores, entering, day, user) if entering else 0
    return {
        "scored_on": day.isoformat(),
        "accounts": n,
        "levels": {str(level): levels.count(level) for level in HealthLevel.values},
        "alerts": alerts,
        "seconds": round(time.monotonic() - started, 2),
    }


def health_score_account(*, account: ElectricityAccount, user=None) -> HealthScore | None:
    """Score one account now (as of today: the data before today), e.g. from its health page; an alert is raised
    as by the nightly job. Returns its score of today (None for a closed account)."""
    health_score_all(account_ids=[account.pk], user=user)
    return HealthScore.objects.filter(account=account, scored_on=timezone.localdate()).first()


def _scores_write(day: datetime.date, rows: list[tuple], progress: Callable[[int, int], None] | None) -> None:
    """Insert the day's scores (rows of account id, score, level, factors, latest): PostgreSQL by COPY
    (Django's bulk_create spends most of its time adapting the factor lists), other databases by bulk_create."""
    n = len(rows)
    now = timezone.now()
    if connection.vendor != "postgresql":
        for start in range(0, n, BATCH):
            HealthScore.objects.bulk_create(
                [
                    HealthScore(
                        account_id=account_id,
                        scored_on=day,
                        score=Decimal(score),
                        level=level,
                        factors=factors,
                        is_latest=latest,
                    )
                    for account_id, score, level, factors, latest in rows[start : start + BATCH]
                ]
            )
            if progress:
                progress(min(start + BATCH, n), n)
        if progress and not n:
            progress(0, 0)
        return
    table = connection.ops.quote_name(HealthScore._meta.db_table)
    dumps = json.dumps
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {table} (account_id, scored_on, score, level, factors, is_latest, created_at) FROM STDIN"
        ) as copy,
    ):
        for k, (account_id, score, level, factors, latest) in enumerate(rows, start=1):
            copy.write_row((account_id, day, score, level, dumps(factors, ensure_ascii=False), latest, now))
            if progress and k % BATCH == 0:
                progress(k, n)
    if progress:
        progress(n, n)


def _alerts_raise(scores: Scores, entering: list[int], day: datetime.date, user=None) -> int:
    """An alert, a task for the manager and a notification for each account entering unhealthy."""
    from .notifications import notify_many

    extra = scores.extra
    due = day + datetime.timedelta(days=settings.GRIDKAM.get("HEALTH_ALERT_DAYS", 5))
    level_labels = dict(HealthLevel.choices)
    tasks = []
    with translation.override(settings.LANGUAGE_CODE):
        for i in entering:
            account_id = int(scores.account_ids[i])
            previous = extra["previous_level"][i]
            tasks.append(
                Task(
                    title=gettext("Account %(account)s of %(customer)s turned unhealthy")
                    % {"account": extra["number"][i], "customer": extra["customer_name"][i]},
                    detail=(
                        gettext("Health score %(score)s on %(day)s (before: %(previous)s).")
                        % {
                            "score": f"{scores.score[i]:.1f}",
                            "day": day.isoformat(),
                            "previous": str(level_labels[previous]) if previous else gettext("not scored"),
                        }
                    )
                    + " "
                    + gettext("Check the drivers of the score and agree the next steps with the customer."),
                    customer_id=extra["customer_ref"][i],
                    account_id=account_id,
                    assignee_id=extra["manager_id"][i],
                    due_date=due,
                    source=ALERT_SOURCE,
                    link=health_link(account_id),
                    created_by_id=getattr(user, "pk", None),
                )
            )
    Task.objects.bulk_create(tasks, batch_size=BATCH)
    score_ids = dict(
        HealthScore.objects.filter(account_id__in=[t.account_id for t in tasks], scored_on=day).values_list(
            "account_id", "pk"
        )
    )
    HealthAlert.objects.bulk_create(
        [
            HealthAlert(
                account_id=task.account_id,
                score_id=score_ids.get(task.account_id),
                previous_level=extra["previous_level"][i] or "",
                raised_on=day,
                task=task,
            )
            for i, task in zip(entering, tasks, strict=True)
        ],
        batch_size=BATCH,
    )
    # Raised by the scoring, not by a person: nobody is left out as the actor. Sent after commit.
    unhealthy = level_labels[HealthLevel.UNHEALTHY]
    notify_many(
        (
            task.assignee_id,
            NotificationEvent.HEALTH_ALERT,
            {
                "account": extra["number"][i],
                "customer": extra["customer_name"][i],
                "level": unhealthy,
                "score": f"{scores.score[i]:.1f}",
                "due": due.isoformat(),
            },
            task.link,
        )
        for i, task in zip(entering, tasks, strict=True)
    )
    return len(tasks)


# --- Alerts -------------------------------------------------------------------------------------------------


def alert_close_with_task(sender, *, task, user, **kwargs) -> None:
    """``engagement.services.task_done`` receiver: the manager marked an alert's task done, so the alert is
    closed (in the same transaction)."""
    if task.source != ALERT_SOURCE:
        return
    HealthAlert.objects.filter(task=task, status=HealthAlertStatus.OPEN).update(
        status=HealthAlertStatus.CLOSED, closed_at=task.done_at or timezone.now()
    )
