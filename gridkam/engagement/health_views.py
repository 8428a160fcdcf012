"""Account-health pages: one account's health (level, drivers, trend, alerts) and the portfolio of latest scores,
worst first, with the count per level and "Score now" for supervisors and administrators.

Health is internal: customers' portal users have none of these pages (403). An account outside the user's view
is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from gridkam.core.exports import Column
from gridkam.core.views import FilteredListView, StaffOnlyMixin
from gridkam.customers.choices import Tier
from gridkam.customers.models import ElectricityAccount
from gridkam.users.permissions import is_active_user

from .choices import HealthLevel
from .health_selectors import (
    LEVEL_COLOURS,
    HealthScoreFilterSet,
    account_get,
    account_health,
    health_latest_list,
    health_level_counts,
    level_bands,
    weakest_drivers,
)


def may_score_health(user) -> bool:
    """Scoring every account at once is the supervisors' and administrators' (it is also done every night)."""
    return is_active_user(user) and (user.is_administrator or user.is_supervisor)


def _weakest_text(score) -> str:
    return "; ".join(str(row["label"]) for row in weakest_drivers(score.factors))


class AccountHealthView(StaffOnlyMixin, TemplateView):
    """One account's health: the latest score and level, the drivers behind it in words, the scores of the last
    12 months against the level bands, and the alerts raised for it with their tasks."""

    template_name = "engagement/health/account.html"

    def get(self, request, *args, **kwargs):
        try:
            self.account = account_get(user=request.user, pk=kwargs["account_id"])
        except ElectricityAccount.DoesNotExist:
            raise Http404 from None
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        health = account_health(account=self.account, today=timezone.localdate())
        labels = dict(HealthLevel.choices)
        latest = health.latest
        context.update(
            nav="health",
            account=self.account,
            customer=self.account.customer,
            latest=latest,
            level_label=labels.get(latest.level) if latest else None,
            drivers=health.drivers,
            alerts=health.alerts,
            chart={
                "days": [row["scored_on"].isoformat() for row in health.trend],
                "scores": [float(row["score"]) for row in health.trend],
                "levels": [str(labels.get(row["level"], row["level"])) for row in health.trend],
                "bands": level_bands(),
                "labels": {"score": _("Health score"), "none": _("Not scored yet.")},
            },
        )
        return context


HEALTH_COLUMNS = (
    Column(gettext_lazy("Account"), lambda s: s.account.account_no, 16),
    Column(gettext_lazy("Account name"), lambda s: s.account.name, 24),
    Column(gettext_lazy("Customer"), lambda s: s.account.customer.name, 28),
    Column(gettext_lazy("Org unit"), lambda s: s.account.customer.org_unit.name, 16),
    Column(gettext_lazy("Tier"), lambda s: s.account.customer.get_tier_display(), 10),
    Column(gettext_lazy("Account manager"), lambda s: s.manager_name or "", 12),
    Column(gettext_lazy("Scored on"), lambda s: s.scored_on, 12),
    Column(gettext_lazy("Health score"), lambda s: s.score, 10),
    Column(gettext_lazy("Level"), lambda s: s.get_level_display(), 10),
    Column(gettext_lazy("Weakest drivers"), _weakest_text, 36),
)


class HealthPortfolioView(StaffOnlyMixin, FilteredListView):
    """The latest health of the accounts the user sees, worst first: counts and a chart per level, filters, the
    table with links to each account's health and its customer's 360 page, Excel export."""

    template_name = "engagement/health/portfolio.html"
    filterset_class = HealthScoreFilterSet
    sort_fields = {
        "score": "score",
        "account": "account__account_no",
        "customer": "account__customer__name",
        "scored_on": "scored_on",
    }
    default_sort = "score"
    export_columns = HEALTH_COLUMNS
    export_filename = "account-health"
    export_title = gettext_lazy("Account health")

    def base_queryset(self):
        return health_latest_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        distribution = health_level_counts(health_latest_list(user=self.request.user))
        for score in context["object_list"]:
            score.weakest = weakest_drivers(score.factors)
        data = self.filter_data()
        context.update(
            nav="health",
            distribution=distribution,
            total=sum(d["accounts"] for d in distribution),
            level_choices=HealthLevel.choices,
            level_colours=LEVEL_COLOURS,
            tier_choices=Tier.choices,
            chosen_levels=data.getlist("level"),
            chosen_tiers=data.getlist("tier"),
            can_score=may_score_health(self.request.user),
            chart={
                "levels": [str(d["label"]) for d in distribution],
                "colours": [d["colour"] for d in distribution],
                "accounts": [d["accounts"] for d in distribution],
                "labels": {"accounts": _("Accounts")},
            },
        )
        return context


class HealthScoreNowView(StaffOnlyMixin, View):
    """ "Score now": scores every account that is not closed as of today, at once, as the nightly job does
    (supervisors and administrators; well under 10 s at province scale, so no background task)."""

    def post(self, request, *args, **kwargs):
        if not may_score_health(request.user):
            raise PermissionDenied
        from .health import health_score_all

        summary = health_score_all(user=request.user)
        messages.success(
            request,
            _("%(accounts)s accounts scored; %(alerts)s new alerts.")
            % {"accounts": summary["accounts"], "alerts": summary["alerts"]},
        )
        return redirect("health:portfolio")
