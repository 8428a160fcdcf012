"""Reads of the survey part: the surveys a user sees (staff list, the portal's list), one survey, and the results.

Results are counted by the database: one grouped aggregate query per view of them (the totals, the chosen
grouping, the NPS per period, the distribution of answers); Python only names the groups and works out the shares
from the counts.

Definitions (docs/surveys.md):

- **sent**: the surveys sent (one per person asked);
- **asked**: what can be answered: one per request surveyed (its surveys to several people are one question: the
  request's rating) and one per survey not about a request (the annual survey: each recipient answers their own);
- **answered**: the answers: a request counts once when it was rated through one of its surveys or in the portal
  (one survey holds the rating; the others are "closed – answered by a colleague", counted in ``closed``, not
  here); an annual survey counts when its recipient answered;
- **response rate** = answered ÷ asked, over the surveys in the filter (open ones included);
- **mean satisfaction**: the mean 1–5 rating of the answered requests (one per request);
- **NPS** = % promoters (9–10) − % detractors (0–6) of the answers to the 0–10 question, from −100 to 100;
- **dimension means**: the mean 1–5 score of each dimension of the annual survey.

Surveys count in the period in which they were sent (local time), by the customer's tier, account manager and team
as they were when it was sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import django_filters
from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncMonth, TruncQuarter, TruncYear
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from gridkam.customers.choices import AssignmentRole, Tier
from gridkam.customers.models import Customer
from gridkam.users.models import Team, User

from .choices import (
    DETRACTOR_UP_TO,
    PROMOTER_FROM,
    SurveyDimension,
    SurveyGroupBy,
    SurveyKind,
    SurveyPeriod,
    SurveyStatus,
)
from .models import DIMENSION_FIELDS, Survey

TRUNC = {SurveyPeriod.MONTH: TruncMonth, SurveyPeriod.QUARTER: TruncQuarter, SurveyPeriod.YEAR: TruncYear}
ANSWERED = Q(answered_at__isnull=False)
# Closed by someone else's answer to the same request: neither an answer nor waiting for one.
CLOSED = Q(answered_at__isnull=True, closed_at__isnull=False)


# --- Lists ----------------------------------------------------------------------------------------------------


def survey_list(*, user, now: dt.datetime | None = None) -> QuerySet[Survey]:
    """The surveys the user sees with their status (``state``), newest first."""
    return (
        Survey.objects.visible_to(user)
        .with_status(now)
        .select_related("customer", "template", "request", "recipient", "manager", "team", "answered_by")
        .order_by("-sent_at", "-pk")
    )


def portal_surveys(*, user, now: dt.datetime | None = None) -> dict[str, list[Survey]]:
    """A portal user's surveys: ``open`` (to answer, soonest to expire first) and ``closed`` (answered or
    expired, newest first, the last 50). Two queries."""
    now = now or timezone.now()
    mine = survey_list(user=user, now=now)
    return {
        "open": list(mine.open(now).order_by("expires_at", "pk")),
        "closed": list(mine.exclude(pk__in=mine.open(now).values("pk"))[:50]),
    }


def survey_get(*, user, pk: int) -> Survey:
    """A survey the user sees (``Survey.DoesNotExist`` otherwise)."""
    return survey_list(user=user).get(pk=pk)


class SurveyFilterSet(django_filters.FilterSet):
    """Sent surveys (and the results): search, kind, status, year surveyed, sent between, tier (several), team,
    account manager, customer."""

    q = django_filters.CharFilter(method="filter_q", label=gettext_lazy("Search"))
    kind = django_filters.ChoiceFilter(choices=SurveyKind.choices, label=gettext_lazy("Kind"))
    status = django_filters.ChoiceFilter(choices=SurveyStatus.choices, field_name="state", label=gettext_lazy("Status"))
    year = django_filters.NumberFilter(field_name="year", label=gettext_lazy("Year surveyed"), min_value=1)
    sent_from = django_filters.DateFilter(method="filter_sent_from", label=gettext_lazy("Sent from"))
    sent_to = django_filters.DateFilter(method="filter_sent_to", label=gettext_lazy("Sent until"))
    tier = django_filters.MultipleChoiceFilter(choices=Tier.choices, label=gettext_lazy("Tier"))
    team = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(queryset=Team.objects.all(), label=gettext_lazy("Team"))
    )
    manager = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(queryset=User.objects.all(), label=gettext_lazy("Account manager"))
    )
    customer = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(queryset=Customer.objects.all(), label=gettext_lazy("Customer"))
    )

    class Meta:
        model = Survey
        fields = ["q", "kind", "status", "year", "sent_from", "sent_to", "tier", "team", "manager", "customer"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = getattr(self.request, "user", None)
        fields = self.form.fields
        if user is not None and user.is_authenticated:
            # Choices limited to what the user sees: another unit's id is "not a valid choice", not a leak.
            fields["team"].queryset = Team.objects.visible_to(user)
            fields["manager"].queryset = (
                User.objects.visible_to(user)
                .filter(assignments__role=AssignmentRole.MANAGER)
                .distinct()
                .order_by("display_name", "username")
            )
            fields["customer"].queryset = Customer.objects.visible_to(user)
        fields["year"].widget.attrs.update(min=2000, max=9999)
        for name in ("kind", "status", "team", "manager"):
            fields[name].widget.attrs["class"] = "form-select form-select-sm"
        for name in ("year", "sent_from", "sent_to"):
            fields[name].widget.attrs["class"] = "form-control form-control-sm"
        for name in ("sent_from", "sent_to"):
            fields[name].widget.input_type = "date"

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(customer__name__icontains=value)
            | Q(recipient_name__icontains=value)
            | Q(request__number__icontains=value)
            | Q(comment__icontains=value)
        )

    def filter_sent_from(self, queryset, name, value):
        zone = timezone.get_current_timezone()
        return queryset.filter(sent_at__gte=dt.datetime.combine(value, dt.time.min, tzinfo=zone))

    def filter_sent_to(self, queryset, name, value):
        zone = timezone.get_current_timezone()
        return queryset.filter(sent_at__lt=dt.datetime.combine(value + dt.timedelta(days=1), dt.time.min, tzinfo=zone))


# --- Results --------------------------------------------------------------------------------------------------


def _aggregates() -> dict:
    nps_answered = Q(nps__isnull=False)
    return {
        "sent": Count("pk"),
        # A request's surveys are one question; at most one of them holds its answer (``surveys_mark_rated``).
        "asked": Count("request_id", distinct=True) + Count("pk", filter=Q(request__isnull=True)),
        "answered": Count("pk", filter=ANSWERED),
        "closed": Count("pk", filter=CLOSED),
        "rated": Count("pk", filter=ANSWERED & Q(satisfaction__isnull=False)),
        "satisfaction_mean": Avg("satisfaction", filter=ANSWERED),
        "nps_n": Count("pk", filter=nps_answered),
        "promoters": Count("pk", filter=Q(nps__gte=PROMOTER_FROM)),
        "detractors": Count("pk", filter=Q(nps__lte=DETRACTOR_UP_TO)),
        **{f"{code}_mean": Avg(field) for code, field in DIMENSION_FIELDS.items()},
    }


@dataclass
class ResultRow:
    """Results of one group (or of all): counts from the database, shares worked out from them."""

    key: object
    name: str
    sent: int = 0
    asked: int = 0
    answered: int = 0
    closed: int = 0
    rated: int = 0
    satisfaction_mean: float | None = None
    nps_n: int = 0
    promoters: int = 0
    detractors: int = 0
    dimensions: dict[str, float | None] = field(default_factory=dict)

    @property
    def response_rate(self) -> float | None:
        """Answered ÷ asked (requests surveyed + annual surveys), in % (one decimal); None when nothing was sent."""
        return round(self.answered / self.asked * 100, 1) if self.asked else None

    @property
    def passives(self) -> int:
        return self.nps_n - self.promoters - self.detractors

    @property
    def nps(self) -> float | None:
        """% promoters − % detractors (one decimal); None without an NPS answer."""
        if not self.nps_n:
            return None
        return round((self.promoters - self.detractors) / self.nps_n * 100, 1)

    def as_dict(self) -> dict:
        return {
            "key": self.key if self.key is None or isinstance(self.key, int | str) else str(self.key),
            "name": self.name,
            "sent": self.sent,
            "asked": self.asked,
            "answered": self.answered,
            "closed": self.closed,
            "response_rate": self.response_rate,
            "satisfaction_mean": self.satisfaction_mean,
            "rated": self.rated,
            "nps": self.nps,
            "nps_answers": self.nps_n,
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
            "dimensions": self.dimensions,
        }


def _row(key, name: str, values: dict) -> ResultRow:
    def mean(value):
        return None if value is None else round(float(value), 2)

    return ResultRow(
        key=key,
        name=name,
        sent=values["sent"],
        asked=values["asked"],
        answered=values["answered"],
        closed=values["closed"],
        rated=values["rated"],
        satisfaction_mean=mean(values["satisfaction_mean"]),
        nps_n=values["nps_n"],
        promoters=values["promoters"],
        detractors=values["detractors"],
        dimensions={code: mean(values[f"{code}_mean"]) for code in DIMENSION_FIELDS},
    )


def results_total(qs: QuerySet[Survey]) -> ResultRow:
    """All the surveys of the filter together (one query)."""
    return _row(None, _("All"), qs.order_by().aggregate(**_aggregates()))


def _local_day(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).date()
    return value


def period_name(start: dt.date, period: str) -> str:
    if period == SurveyPeriod.YEAR:
        return f"{start.year}"
    if period == SurveyPeriod.QUARTER:
        return f"{start.year} Q{(start.month - 1) // 3 + 1}"
    return start.strftime("%Y-%m")


def results_by(qs: QuerySet[Survey], *, by: str, period: str = SurveyPeriod.MONTH) -> list[ResultRow]:
    """Results per group (tier, account manager, team or period), one query. Periods come oldest first; the
    others in the order of their names, "none" last."""
    qs = qs.order_by()
    if by == SurveyGroupBy.PERIOD:
        trunc = TRUNC[SurveyPeriod(period)]
        rows = (
            qs.annotate(bucket=trunc("sent_at", tzinfo=timezone.get_current_timezone()))
            .values("bucket")
            .annotate(**_aggregates())
            .order_by("bucket")
        )
        return [
            _row(_local_day(r["bucket"]), period_name(_local_day(r["bucket"]), period), r)
            for r in rows
            if r["bucket"] is not None
        ]
    if by == SurveyGroupBy.TIER:
        labels = dict(Tier.choices)
        found = {r["tier"]: r for r in qs.values("tier").annotate(**_aggregates())}
        return [_row(tier, str(labels[tier]), found[tier]) for tier in Tier.values if tier in found]
    key, name = {
        SurveyGroupBy.MANAGER: ("manager_id", "manager__display_name"),
        SurveyGroupBy.TEAM: ("team_id", "team__name"),
    }[SurveyGroupBy(by)]
    extra = ("manager__username",) if by == SurveyGroupBy.MANAGER else ()
    result = [
        _row(r[key], r[name] or (r.get("manager__username") or "") or _("(none)"), r)
        for r in qs.values(key, name, *extra).annotate(**_aggregates())
    ]
    result.sort(key=lambda row: (row.key is None, row.name))
    return result


def results_distribution(qs: QuerySet[Survey]) -> dict[str, list[int]]:
    """How many answers gave each NPS score (0–10) and each satisfaction score (1–5; one per answered request):
    two grouped queries."""
    qs = qs.order_by().filter(ANSWERED)
    nps = dict(qs.filter(nps__isnull=False).values_list("nps").annotate(n=Count("pk")))
    satisfaction = dict(qs.filter(satisfaction__isnull=False).values_list("satisfaction").annotate(n=Count("pk")))
    return {
        "nps": [nps.get(score, 0) for score in range(11)],
        "satisfaction": [satisfaction.get(score, 0) for score in range(1, 6)],
    }


def answered_with_comments(qs: QuerySet[Survey]) -> QuerySet[Survey]:
    """The answers of the filter, those with a comment first, newest first."""
    return qs.filter(ANSWERED).order_by("-answered_at", "-pk")


@dataclass
class Results:
    total: ResultRow
    groups: list[ResultRow]
    trend: list[ResultRow]
    distribution: dict[str, list[int]]
    by: str
    period: str

    def as_dict(self) -> dict:
        labels = dict(SurveyDimension.choices)
        return {
            "by": self.by,
            "period": self.period,
            "total": self.total.as_dict(),
            "groups": [row.as_dict() for row in self.groups],
            "trend": [row.as_dict() for row in self.trend],
            "distribution": self.distribution,
            "dimensions": [{"code": code, "label": str(labels[code])} for code in DIMENSION_FIELDS],
        }


def results_compute(qs: QuerySet[Survey], *, by: str = SurveyGroupBy.TIER, period: str = SurveyPeriod.MONTH) -> Results:
    """Totals, the chosen grouping, the trend per period and the distribution of a filtered set of surveys: five
    aggregate queries whatever the number of surveys."""
    return Results(
        total=results_total(qs),
        groups=results_by(qs, by=by, period=period),
        trend=results_by(qs, by=SurveyGroupBy.PERIOD, period=period),
        distribution=results_distribution(qs),
        by=by,
        period=period,
    )


def send_scope(*, user, scope: str, tiers: list[str], team=None) -> QuerySet[Customer]:
    """The customers an annual survey sent by hand goes to: those the user sees (or only those they manage now),
    narrowed to some tiers and to the customers whose account manager is in a team."""
    from gridkam.customers.models import AccountAssignment

    customers = Customer.objects.visible_to(user)
    if scope == "mine":
        customers = customers.filter(
            pk__in=AccountAssignment.objects.filter(user=user, end_date__isnull=True).values("customer_id")
        )
    if tiers:
        customers = customers.filter(tier__in=tiers)
    if team is not None:
        customers = customers.filter(
            pk__in=AccountAssignment.objects.filter(
                role=AssignmentRole.MANAGER, end_date__isnull=True, user__team=team
            ).values("customer_id")
        )
    return customers
