"""Reads behind the account-health pages and API: the latest scores of the accounts a user sees (with the filter
set the portfolio page and the API list share), one account's health (drivers explained, its trend over the last
12 months, its alerts), the count per level, and the customer 360 card.

Scores are written by the scoring engine (``gridkam.engagement.health``); nothing here writes. A driver's
``factors`` entry carries the numbers behind it (``data``); the sentence a person reads is built here, at display
time, in the user's language.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import django_filters
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from gridkam.billing.choices import RiskLevel
from gridkam.core.models import OrgUnit
from gridkam.customers.choices import AssignmentRole, Tier
from gridkam.customers.models import AccountAssignment, Customer, ElectricityAccount
from gridkam.users.models import User

from .choices import HealthDriver, HealthLevel
from .models import HealthAlert, HealthScore

# Badge and chart colours, healthiest first (the same greens to reds as the risk pages, read the other way).
LEVEL_COLOURS = {
    HealthLevel.HEALTHY: "#40c057",
    HealthLevel.WATCH: "#fab005",
    HealthLevel.AT_RISK: "#fd7e14",
    HealthLevel.UNHEALTHY: "#e03131",
}
TREND_DAYS = 365
ALERTS_SHOWN = 50


def level_floors() -> dict[str, float]:
    """The lowest score of each level: the engine's thresholds (``HEALTHY_FROM``, ``WATCH_FROM``, ``AT_RISK_FROM``)."""
    from . import health  # the engine pulls in numpy and every source app: loaded when a chart is drawn

    return {
        HealthLevel.HEALTHY: float(health.HEALTHY_FROM),
        HealthLevel.WATCH: float(health.WATCH_FROM),
        HealthLevel.AT_RISK: float(health.AT_RISK_FROM),
        HealthLevel.UNHEALTHY: 0.0,
    }


def level_bands() -> list[dict]:
    """The score bands of the levels, healthiest first, for the trend chart's background."""
    floors = level_floors()
    labels = dict(HealthLevel.choices)
    bands, top = [], 100.0
    for level in HealthLevel.values:
        bands.append({"from": floors[level], "to": top, "colour": LEVEL_COLOURS[level], "label": str(labels[level])})
        top = floors[level]
    return bands


# --- Drivers in words ---------------------------------------------------------------------------------------------


def _num(value, places: int = 1) -> str:
    if value is None:
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:,.{places}f}" if places else f"{number:,.0f}"


def _pct(part, whole) -> str:
    try:
        return f"{float(part) / float(whole) * 100:.1f}%"
    except (TypeError, ValueError, ZeroDivisionError):
        return "—"


def driver_text(code: str, data: dict | None) -> str:
    """What the numbers behind a driver say, as a sentence (``data`` as the engine stores it)."""
    data = data or {}
    if code == HealthDriver.SATISFACTION:
        rated = data.get("rated") or 0
        if not rated or data.get("mean") is None:
            return _("No closed request was rated in the last 12 months.")
        return ngettext(
            "Mean rating %(mean)s of 5 from %(rated)s rated request (%(requests)s closed).",
            "Mean rating %(mean)s of 5 from %(rated)s rated requests (%(requests)s closed).",
            rated,
        ) % {"mean": _num(data.get("mean"), 2), "rated": rated, "requests": data.get("requests", "—")}
    if code == HealthDriver.COMPLAINTS:
        count = data.get("count") or 0
        if not count:
            return _("No complaint in the last 12 months.")
        return ngettext(
            "%(count)s complaint in the last 12 months.", "%(count)s complaints in the last 12 months.", count
        ) % {"count": count}
    if code == HealthDriver.SLA_BREACHES:
        decided = data.get("decided") or 0
        if not decided:
            return _("No service request in the last 12 months.")
        breached = data.get("breached") or 0
        return ngettext(
            "%(breached)s of %(decided)s request missed an SLA target (%(share)s).",
            "%(breached)s of %(decided)s requests missed an SLA target (%(share)s).",
            decided,
        ) % {"breached": breached, "decided": decided, "share": _pct(breached, decided)}
    if code == HealthDriver.FEE_RISK:
        level = data.get("level")
        if not level:
            return _("The account has no fee-recovery risk score yet.")
        label = dict(RiskLevel.choices).get(level, level)
        if data.get("score") is None:
            return _("Fee-recovery risk level: %(level)s.") % {"level": label}
        return _("Fee-recovery risk level: %(level)s (risk score %(score)s).") % {
            "level": label,
            "score": _num(data["score"], 1),
        }
    if code == HealthDriver.CONSUMPTION_TREND:
        if data.get("ratio") is None:
            return _("No consumption a year earlier to compare with.")
        return _(
            "%(recent)s kWh in the last 3 complete months against %(earlier)s kWh in the same months a year "
            "earlier (%(ratio)s)."
        ) % {
            "recent": _num(data.get("recent_kwh"), 0),
            "earlier": _num(data.get("earlier_kwh"), 0),
            "ratio": _pct(data.get("ratio"), 1),
        }
    if code == HealthDriver.PLAN_DELIVERY:
        due = data.get("due") or 0
        if not due:
            return _("No service-plan item has fallen due this year yet.")
        done = data.get("done") or 0
        return ngettext(
            "%(done)s of %(due)s service-plan item due this year done (%(share)s).",
            "%(done)s of %(due)s service-plan items due this year done (%(share)s).",
            due,
        ) % {"done": done, "due": due, "share": _pct(done, due)}
    if code == HealthDriver.NPS:
        if data.get("nps") is None:
            return _("No answer to the annual survey in the last 12 months.")
        return _("Answered %(score)s of 10 to “how likely to recommend us” in the annual survey on %(day)s.") % {
            "score": data["nps"],
            "day": data.get("answered_on") or "—",
        }
    return ""


def driver_rows(factors: list | None) -> list[dict]:
    """The drivers of a score as table rows: label, the numbers in words, points, weight, and whether the driver
    pulls the score down: its points are below the healthy level's threshold, so it keeps the account from being
    healthy (what the manager should work on); the others hold it up."""
    from . import health

    labels = dict(HealthDriver.choices)
    healthy = float(health.HEALTHY_FROM)
    rows = []
    for factor in factors or []:
        code = factor.get("driver", "")
        points = factor.get("points")
        rows.append(
            {
                "driver": code,
                "label": labels.get(code, code),
                "text": driver_text(code, factor.get("data")),
                "value": factor.get("value"),
                "points": points,
                "weight": factor.get("weight") or 0,
                "has_data": points is not None,
                "pulls_down": points is not None and float(points) < healthy,
            }
        )
    return rows


def weakest_drivers(factors: list | None, n: int = 2) -> list[dict]:
    """The ``n`` drivers with data and the fewest points, weakest first."""
    rows = [row for row in driver_rows(factors) if row["has_data"]]
    rows.sort(key=lambda row: float(row["points"]))
    return rows[:n]


# --- The portfolio ------------------------------------------------------------------------------------------------


def _manager_name():
    return Subquery(
        AccountAssignment.objects.filter(
            customer=OuterRef("account__customer"), role=AssignmentRole.MANAGER, end_date__isnull=True
        ).values("user__display_name")[:1]
    )


def health_latest_list(*, user):
    """The latest score of each account the user sees, with its account, customer, org unit and manager's name
    (worst first)."""
    return (
        HealthScore.objects.visible_to(user)
        .filter(is_latest=True)
        .select_related("account__customer__org_unit")
        .annotate(manager_name=_manager_name())
        .order_by("score", "pk")
    )


def health_level_counts(queryset) -> list[dict]:
    """Accounts per level of a set of latest scores, healthiest first, zeros included (one query)."""
    counted = dict(queryset.order_by().values_list("level").annotate(n=Count("pk")))
    labels = dict(HealthLevel.choices)
    return [
        {"level": level, "label": labels[level], "colour": LEVEL_COLOURS[level], "accounts": counted.get(level, 0)}
        for level in HealthLevel.values
    ]


class HealthScoreFilterSet(django_filters.FilterSet):
    """Latest scores: search (account number, account or customer name), level (several), org unit (and below),
    account manager, customer tier (several), customer."""

    q = django_filters.CharFilter(method="filter_q", label=gettext_lazy("Search"))
    # One score row per account whatever the filter: no DISTINCT needed.
    level = django_filters.MultipleChoiceFilter(
        choices=HealthLevel.choices, label=gettext_lazy("Level"), distinct=False
    )
    tier = django_filters.MultipleChoiceFilter(
        field_name="account__customer__tier", choices=Tier.choices, label=gettext_lazy("Tier"), distinct=False
    )
    org_unit = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(
            queryset=OrgUnit.objects.all(), method="filter_org_unit", label=gettext_lazy("Org unit")
        )
    )
    manager = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(
            queryset=User.objects.filter(assignments__role=AssignmentRole.MANAGER).distinct(),
            method="filter_manager",
            label=gettext_lazy("Account manager"),
        )
    )
    customer = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(
            queryset=Customer.objects.all(), field_name="account__customer", label=gettext_lazy("Customer")
        )
    )

    class Meta:
        model = HealthScore
        fields = ["q", "level", "tier", "org_unit", "manager", "customer"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = getattr(self.request, "user", None)
        fields = self.form.fields
        if user is not None and user.is_authenticated:
            # Choices limited to what the user sees: another unit's id is "not a valid choice", not a leak.
            fields["org_unit"].queryset = OrgUnit.objects.visible_to(user)
            fields["manager"].queryset = (
                User.objects.visible_to(user)
                .filter(assignments__role=AssignmentRole.MANAGER, assignments__end_date__isnull=True)
                .distinct()
            )
            fields["customer"].queryset = Customer.objects.visible_to(user)
        for name in ("org_unit", "manager"):
            fields[name].widget.attrs["class"] = "form-select form-select-sm"

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(account__account_no__icontains=value)
            | Q(account__name__icontains=value)
            | Q(account__customer__name__icontains=value)
        )

    def filter_org_unit(self, queryset, name, value):
        return queryset.filter(account__customer__org_unit__path__startswith=value.path) if value else queryset

    def filter_manager(self, queryset, name, value):
        if not value:
            return queryset
        served = AccountAssignment.objects.filter(
            customer=OuterRef("account__customer"), role=AssignmentRole.MANAGER, end_date__isnull=True, user=value
        )
        return queryset.filter(Exists(served))


# --- One account ----------------------------------------------------------------------------------------------------


@dataclass
class AccountHealth:
    account: ElectricityAccount
    latest: HealthScore | None
    drivers: list[dict]
    trend: list[dict]
    alerts: list[HealthAlert] = field(default_factory=list)


def account_get(*, user, pk: int) -> ElectricityAccount:
    """An account the user sees (``ElectricityAccount.DoesNotExist`` otherwise), with its customer."""
    return ElectricityAccount.objects.visible_to(user).select_related("customer__org_unit").get(pk=pk)


def account_health(*, account: ElectricityAccount, today: dt.date) -> AccountHealth:
    """The account's latest score with its drivers, its scores of the last 12 months (oldest first) and its alerts
    (newest first) with their tasks. Three queries whatever the number of scores and alerts."""
    latest = HealthScore.objects.filter(account=account, is_latest=True).first()
    history = list(
        HealthScore.objects.filter(account=account, scored_on__gt=today - dt.timedelta(days=TREND_DAYS))
        .order_by("scored_on")
        .values("scored_on", "score", "level")
    )
    alerts = list(
        HealthAlert.objects.filter(account=account)
        .select_related("task__assignee", "score")
        .order_by("-raised_on", "-pk")[:ALERTS_SHOWN]
    )
    return AccountHealth(
        account=account,
        latest=latest,
        drivers=driver_rows(latest.factors) if latest else [],
        trend=history,
        alerts=alerts,
    )


# --- The customer 360 card ------------------------------------------------------------------------------------------


def customer_health_cards(*, customer: Customer, accounts: list[ElectricityAccount]) -> list[dict]:
    """Per account of a customer (accounts are few), its latest level and score, its two weakest drivers and the
    link to its health page; ``score`` None when the account is not scored yet. One query."""
    latest = {
        s.account_id: s
        for s in HealthScore.objects.filter(account__customer=customer, is_latest=True).only(
            "account_id", "scored_on", "score", "level", "factors"
        )
    }
    labels = dict(HealthLevel.choices)
    cards = []
    for account in accounts:
        score = latest.get(account.pk)
        cards.append(
            {
                "account": account,
                "score": score,
                "level_label": labels.get(score.level) if score else None,
                "weakest": weakest_drivers(score.factors) if score else [],
                "url": reverse("health:account", args=[account.pk]),
            }
        )
    return cards
