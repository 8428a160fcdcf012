"""Service metrics (issue 6 item 7; docs/service-metrics.md): SLA compliance by team, tier and type with a
monthly trend, backlog aging, first-response and resolution times, and visits delivered against plan.

Everything is counted by the database in grouped aggregate queries, a fixed number of them whatever the number of
requests, teams or months; Python only names the groups and fills empty months.

Definitions (per SLA target: first response, on site, resolution; a target counts only where the request has a
due time for it, i.e. its policy has that target):

- **met**: the target's time was recorded (``responded_at``, ``onsite_at``, ``resolved_at``) at or before its
  due time and the SLA job never flagged it breached;
- **breached**: flagged by the SLA job, or recorded after the due time, or still open, not waiting for the
  customer and past due (flag not yet set by the next sweep);
- **pending** (left out of compliance): still open and not yet due; waiting for the customer (the clock stands
  and the due time moves when the pause ends) without a breach; finished without the target recorded and never
  flagged (e.g. a repair fixed remotely: nobody needed on site).
- **compliance** = met ÷ (met + breached), a share from 0 to 1 (None when nothing was decided). The due times are
  on the policy's clock (24×7 or working hours, pauses stopped), so compliance follows the policy's clock.

First-response and resolution **times** are wall-clock hours from ``created_at`` to ``responded_at`` /
``resolved_at`` (nights, holidays and pauses included): what the customer lived through, not the SLA clock.

Requests count in the span by the local day (Asia/Shanghai) they were logged; the backlog is the open requests
now, whenever they were logged. The tier is the customer's current tier.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from statistics import fmean

from django.db import connection
from django.db.models import Aggregate, Avg, Count, F, FloatField, Func, Q, QuerySet, Window
from django.db.models.functions import RowNumber, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from gridkam.core.models import OrgUnit
from gridkam.customers.choices import Tier
from gridkam.engagement.models import PlanOccurrence
from gridkam.engagement.plan_progress import Progress, plan_progress
from gridkam.users.models import Team

from .choices import OPEN_STATUSES, RequestType, SlaTarget
from .models import ServiceRequest

MAX_SPAN_DAYS = 3 * 366
TARGETS = (SlaTarget.RESPONSE, SlaTarget.ONSITE, SlaTarget.RESOLUTION)
MET_FIELD = {SlaTarget.RESPONSE: "responded_at", SlaTarget.ONSITE: "onsite_at", SlaTarget.RESOLUTION: "resolved_at"}
# Backlog age buckets in whole days (24-hour days of wall-clock age): lower bound inclusive, upper bound exclusive.
AGE_BUCKETS = ((0, 1), (1, 3), (3, 7), (7, 30), (30, None))
AGE_KEYS = ("lt_1d", "d1_3", "d3_7", "d7_30", "ge_30d")
GROUPS = {"team": "team_id", "tier": "customer__tier", "type": "request_type"}


def age_labels() -> list[str]:
    return [_("< 1 day"), _("1–3 days"), _("3–7 days"), _("7–30 days"), _("30 days and more")]


# ---------------------------------------------------------------------------------------------- SQL pieces


class Hours(Func):
    """Wall-clock hours from the second datetime to the first (NULL when either is NULL)."""

    arity = 2
    output_field = FloatField()

    def as_sql(self, compiler, connection, **extra_context):  # PostgreSQL
        return super().as_sql(
            compiler,
            connection,
            template="(CAST(EXTRACT(EPOCH FROM (%(expressions)s)) AS double precision) / 3600.0)",
            arg_joiner=" - ",
            **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 24.0)",
            arg_joiner=") - julianday(",
            **extra_context,
        )


class Median(Aggregate):
    """PostgreSQL's continuous median (NULLs ignored): the middle value, or the mean of the two middle ones."""

    function = "percentile_cont"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()
    allow_distinct = False


def _met(target: str) -> Q:
    due, met = f"{target}_due_at", MET_FIELD[target]
    return Q(**{f"{due}__isnull": False, f"{met}__isnull": False, f"{met}__lte": F(due), f"{target}_breached": False})


def _breached(target: str, now: dt.datetime) -> Q:
    due, met = f"{target}_due_at", MET_FIELD[target]
    overdue = Q(**{f"{met}__isnull": True, f"{due}__lte": now, "status__in": OPEN_STATUSES, "paused_at__isnull": True})
    return Q(**{f"{due}__isnull": False}) & (Q(**{f"{target}_breached": True}) | Q(**{f"{met}__gt": F(due)}) | overdue)


def _compliance_annotations(now: dt.datetime) -> dict:
    annotations = {"requests": Count("pk")}
    for target in TARGETS:
        # Named apart from the model's own ``*_breached`` flags.
        annotations[f"n_{target}_applicable"] = Count(f"{target}_due_at")
        annotations[f"n_{target}_met"] = Count("pk", filter=_met(target))
        annotations[f"n_{target}_breached"] = Count("pk", filter=_breached(target, now))
    return annotations


# ---------------------------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class MetricsFilter:
    start: dt.date
    end: dt.date
    unit: OrgUnit | None = None
    team: Team | None = None
    tier: str = ""
    request_type: str = ""
    priority: str = ""


def local_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """From the local midnight starting ``start`` to the one ending ``end`` (exclusive)."""
    zone = timezone.get_current_timezone()
    first = timezone.make_aware(dt.datetime.combine(start, dt.time.min), zone)
    after = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min), zone)
    return first, after


def requests_scoped(user, filters: MetricsFilter) -> QuerySet[ServiceRequest]:
    """The requests the user sees, narrowed by the filters other than the span."""
    qs = ServiceRequest.objects.visible_to(user)
    if filters.unit is not None:
        qs = qs.filter(customer__org_unit__path__startswith=filters.unit.path)
    if filters.team is not None:
        qs = qs.filter(team=filters.team)
    if filters.tier:
        qs = qs.filter(customer__tier=filters.tier)
    if filters.request_type:
        qs = qs.filter(request_type=filters.request_type)
    if filters.priority:
        qs = qs.filter(priority=filters.priority)
    return qs.order_by()


def requests_in_span(user, filters: MetricsFilter) -> QuerySet[ServiceRequest]:
    first, after = local_bounds(filters.start, filters.end)
    return requests_scoped(user, filters).filter(created_at__gte=first, created_at__lt=after)


def occurrences_scoped(user, filters: MetricsFilter) -> QuerySet[PlanOccurrence]:
    """Plan occurrences the user sees, narrowed by unit, team (the owner's) and tier; request type and priority
    do not apply to visits."""
    qs = PlanOccurrence.objects.visible_to(user)
    if filters.unit is not None:
        qs = qs.filter(customer__org_unit__path__startswith=filters.unit.path)
    if filters.team is not None:
        qs = qs.filter(owner__team=filters.team)
    if filters.tier:
        qs = qs.filter(customer__tier=filters.tier)
    return qs


# ---------------------------------------------------------------------------------------------- groups


def _names(by: str | None) -> dict:
    if by == "tier":
        return {value: str(label) for value, label in Tier.choices}
    if by == "type":
        return {value: str(label) for value, label in RequestType.choices}
    return {}


def _order(by: str):
    """Sort key of groups: tiers and types in their choices' order, teams by name, "no team" last."""
    if by == "tier":
        rank = {value: i for i, value in enumerate(Tier.values)}
    elif by == "type":
        rank = {value: i for i, value in enumerate(RequestType.values)}
    else:
        return lambda row: (row.key is None, row.name, row.key or 0)
    return lambda row: (rank.get(row.key, len(rank)), row.key or "")


def _group_values(qs: QuerySet, by: str | None) -> tuple[QuerySet, str | None]:
    if by is None:
        return qs, None
    if by not in GROUPS:
        raise ValueError(f"by must be one of {sorted(GROUPS)}")
    key = GROUPS[by]
    columns = (key, "team__name") if by == "team" else (key,)
    return qs.values(*columns), key


def _name(by: str | None, row: dict, key: str | None, names: dict) -> str:
    if by is None:
        return _("All")
    if by == "team":
        return row["team__name"] or _("No team")
    return names.get(row[key], row[key] or "")


# ---------------------------------------------------------------------------------------------- compliance


@dataclass(frozen=True)
class TargetCount:
    applicable: int = 0  # requests with a due time for the target
    met: int = 0
    breached: int = 0

    @property
    def decided(self) -> int:
        return self.met + self.breached

    @property
    def pending(self) -> int:
        return self.applicable - self.decided

    @property
    def compliance(self) -> float | None:
        """Met ÷ decided, or None when nothing was decided."""
        return self.met / self.decided if self.decided else None

    def __add__(self, other: TargetCount) -> TargetCount:
        return TargetCount(self.applicable + other.applicable, self.met + other.met, self.breached + other.breached)


@dataclass(frozen=True)
class ComplianceRow:
    key: object  # team id (None: no team), tier or type code, or the month's first day
    name: str
    requests: int
    targets: dict[str, TargetCount]

    @property
    def overall(self) -> TargetCount:
        """Every decided target of the group's requests counted once."""
        total = TargetCount()
        for count in self.targets.values():
            total = total + count
        return total

    @property
    def response(self) -> TargetCount:
        return self.targets[SlaTarget.RESPONSE]

    @property
    def onsite(self) -> TargetCount:
        return self.targets[SlaTarget.ONSITE]

    @property
    def resolution(self) -> TargetCount:
        return self.targets[SlaTarget.RESOLUTION]


def _compliance_row(key, name: str, row: dict) -> ComplianceRow:
    targets = {
        target: TargetCount(row[f"n_{target}_applicable"], row[f"n_{target}_met"], row[f"n_{target}_breached"])
        for target in TARGETS
    }
    return ComplianceRow(key=key, name=name, requests=row["requests"], targets=targets)


def compliance(qs: QuerySet[ServiceRequest], *, by: str, now: dt.datetime) -> list[ComplianceRow]:
    """SLA compliance per target of the requests in ``qs`` grouped by team, tier or type (one query)."""
    grouped, key = _group_values(qs, by)
    names = _names(by)
    rows = [
        _compliance_row(row[key], _name(by, row, key, names), row)
        for row in grouped.annotate(**_compliance_annotations(now)).order_by()
    ]
    return sorted(rows, key=_order(by))


def compliance_total(rows: list[ComplianceRow]) -> ComplianceRow:
    """The sum of a grouping's rows (each request belongs to exactly one group)."""
    targets = {target: TargetCount() for target in TARGETS}
    for row in rows:
        for target in TARGETS:
            targets[target] = targets[target] + row.targets[target]
    return ComplianceRow(key=None, name=_("All"), requests=sum(row.requests for row in rows), targets=targets)


def month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def compliance_trend(
    qs: QuerySet[ServiceRequest], *, start: dt.date, end: dt.date, now: dt.datetime
) -> list[ComplianceRow]:
    """Compliance per month of logging (local months) over the span, empty months included (one query)."""
    zone = timezone.get_current_timezone()
    rows = (
        qs.annotate(month=TruncMonth("created_at", tzinfo=zone))
        .values("month")
        .annotate(**_compliance_annotations(now))
        .order_by()
    )
    found = {}
    for row in rows:
        month = row["month"]
        if isinstance(month, dt.datetime):
            month = (timezone.localtime(month, zone) if timezone.is_aware(month) else month).date()
        found[month.replace(day=1)] = row
    empty = {"requests": 0, **{f"n_{t}_{k}": 0 for t in TARGETS for k in ("applicable", "met", "breached")}}
    return [
        _compliance_row(month, month.strftime("%Y-%m"), found.get(month, empty)) for month in month_starts(start, end)
    ]


# ---------------------------------------------------------------------------------------------- backlog


@dataclass(frozen=True)
class AgingRow:
    key: object
    name: str
    buckets: tuple[int, ...]  # counts per AGE_BUCKETS

    @property
    def total(self) -> int:
        return sum(self.buckets)

    def as_dict(self) -> dict[str, int]:
        return dict(zip(AGE_KEYS, self.buckets, strict=True))


def _age_filter(now: dt.datetime, low: int, high: int | None) -> Q:
    # Age = now − created_at; in [low, high) days.
    condition = Q(created_at__lte=now - dt.timedelta(days=low))
    if high is not None:
        condition &= Q(created_at__gt=now - dt.timedelta(days=high))
    return condition


def backlog_aging(qs: QuerySet[ServiceRequest], *, by: str, now: dt.datetime) -> list[AgingRow]:
    """The open requests of ``qs`` by age bucket (as of ``now``) and team or type (one query)."""
    grouped, key = _group_values(qs.filter(status__in=OPEN_STATUSES), by)
    names = _names(by)
    annotations = {
        name: Count("pk", filter=_age_filter(now, low, high))
        for name, (low, high) in zip(AGE_KEYS, AGE_BUCKETS, strict=True)
    }
    rows = [
        AgingRow(row[key], _name(by, row, key, names), tuple(row[name] for name in AGE_KEYS))
        for row in grouped.annotate(**annotations).order_by()
    ]
    return sorted(rows, key=_order(by))


def aging_total(rows: list[AgingRow]) -> AgingRow:
    buckets = tuple(sum(row.buckets[i] for row in rows) for i in range(len(AGE_BUCKETS)))
    return AgingRow(None, _("All"), buckets)


# ---------------------------------------------------------------------------------------------- times


@dataclass(frozen=True)
class TimeStats:
    count: int = 0
    mean_hours: float | None = None
    median_hours: float | None = None


@dataclass(frozen=True)
class TimesRow:
    key: object
    name: str
    response: TimeStats = field(default_factory=TimeStats)
    resolution: TimeStats = field(default_factory=TimeStats)


TIME_FIELDS = {"response": "responded_at", "resolution": "resolved_at"}


def _round(value) -> float | None:
    return None if value is None else round(float(value), 4)


def _medians_sqlite(qs: QuerySet, key: str | None, met_field: str) -> dict:
    """Medians per group without percentile_cont: number the group's durations in order and keep the middle one
    or two (one query; at most two rows per group come back)."""
    partition = [F(key)] if key else None
    hours = Hours(met_field, "created_at")
    middle = (
        qs.filter(**{f"{met_field}__isnull": False})
        .annotate(
            hours=hours,
            rn=Window(RowNumber(), partition_by=partition, order_by=hours.asc()),
            n=Window(Count("pk"), partition_by=partition),
        )
        .filter(rn__gte=F("n") / 2.0, rn__lte=F("n") / 2.0 + 1)
        .values_list(key or "pk", "hours")
    )
    values: dict = defaultdict(list)
    for group, value in middle:
        values[group if key else None].append(value)
    return {group: fmean(found) for group, found in values.items()}


def service_times(qs: QuerySet[ServiceRequest], *, by: str | None) -> list[TimesRow]:
    """Count, mean and median wall-clock hours to first response and to resolution, per tier or type or over
    all (one query on PostgreSQL; three on SQLite, which lacks percentile_cont)."""
    grouped, key = _group_values(qs, by)
    names = _names(by)
    postgres = connection.vendor == "postgresql"
    annotations = {}
    for name, met_field in TIME_FIELDS.items():
        hours = Hours(met_field, "created_at")
        annotations[f"{name}_count"] = Count(met_field)
        annotations[f"{name}_mean"] = Avg(hours)
        if postgres:
            annotations[f"{name}_median"] = Median(hours)
    # Without a grouping: one row over all the requests.
    rows = [grouped.aggregate(**annotations)] if key is None else list(grouped.annotate(**annotations).order_by())
    medians = {}
    if not postgres:
        medians = {name: _medians_sqlite(qs, key, met_field) for name, met_field in TIME_FIELDS.items()}
    result = []
    for row in rows:
        group = row[key] if key else None
        stats = {}
        for name in TIME_FIELDS:
            median = row[f"{name}_median"] if postgres else medians[name].get(group)
            count = row[f"{name}_count"] or 0
            stats[name] = TimeStats(count, _round(row[f"{name}_mean"]) if count else None, _round(median))
        result.append(TimesRow(group, _name(by, row, key, names), stats["response"], stats["resolution"]))
    return sorted(result, key=_order(by)) if by else result


# ---------------------------------------------------------------------------------------------- all of it


@dataclass(frozen=True)
class ServiceMetrics:
    filters: MetricsFilter
    now: dt.datetime
    overall: ComplianceRow
    by_team: list[ComplianceRow]
    by_tier: list[ComplianceRow]
    by_type: list[ComplianceRow]
    trend: list[ComplianceRow]
    backlog_by_type: list[AgingRow]
    backlog_by_team: list[AgingRow]
    backlog: AgingRow
    times_overall: TimesRow
    times_by_type: list[TimesRow]
    times_by_tier: list[TimesRow]
    visits_by_team: list[Progress]
    visits_by_owner: list[Progress]

    @property
    def visits_due(self) -> int:
        return sum(row.due for row in self.visits_by_team)

    @property
    def visits_done(self) -> int:
        return sum(row.done for row in self.visits_by_team)

    @property
    def visits_overdue(self) -> int:
        return sum(row.overdue for row in self.visits_by_team)


def service_metrics(*, user, filters: MetricsFilter, now: dt.datetime | None = None) -> ServiceMetrics:
    """All the service metrics the user sees for the filters: a fixed number of grouped queries."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    span = requests_in_span(user, filters)
    scoped = requests_scoped(user, filters)
    by_team = compliance(span, by="team", now=now)
    backlog_by_type = backlog_aging(scoped, by="type", now=now)
    occurrences = occurrences_scoped(user, filters)
    visits = {
        by: plan_progress(occurrences, by=by, start=filters.start, end=filters.end, today=today)
        for by in ("team", "owner")
    }
    return ServiceMetrics(
        filters=filters,
        now=now,
        overall=compliance_total(by_team),
        by_team=by_team,
        by_tier=compliance(span, by="tier", now=now),
        by_type=compliance(span, by="type", now=now),
        trend=compliance_trend(span, start=filters.start, end=filters.end, now=now),
        backlog_by_type=backlog_by_type,
        backlog_by_team=backlog_aging(scoped, by="team", now=now),
        backlog=aging_total(backlog_by_type),
        times_overall=service_times(span, by=None)[0],
        times_by_type=service_times(span, by="type"),
        times_by_tier=service_times(span, by="tier"),
        visits_by_team=visits["team"],
        visits_by_owner=visits["owner"],
    )
