"""Fee-recovery risk pages: an account's risk (factors, trend, warnings), the portfolio's risk distribution
with the list of risky accounts and the last back-test, the scorecard (supervisors edit it), and the warnings.

Risk is internal: customers' portal users have none of these pages (403). Another unit's account is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from gridkam.core.exports import Column
from gridkam.core.views import FilteredListView
from gridkam.customers.choices import AssignmentRole
from gridkam.customers.models import AccountAssignment, ElectricityAccount

from .choices import RiskLevel, WarningStatus
from .forms_risk import RiskScoreFilterSet, RiskWarningFilterSet, ScorecardForm, WarningActForm
from .models import RiskScore, RiskScorecard, RiskWarning
from .permissions import BillingWorkMixin, StaffPageMixin, approves, does_billing
from .risk import (
    INDICATOR_LABELS,
    LEVELS,
    WEIGHT_FIELDS,
    WarningStateError,
    factor_rows,
    scorecard_current,
    warning_act,
    warning_may_act,
)

LEVEL_COLOURS = {"low": "#40c057", "medium": "#fab005", "high": "#fd7e14", "severe": "#e03131"}
TREND_POINTS = 400
SPARK_POINTS = 30


def _manager_name():
    return Subquery(
        AccountAssignment.objects.filter(
            customer=OuterRef("account__customer"), role=AssignmentRole.MANAGER, end_date__isnull=True
        ).values("user__display_name")[:1]
    )


def _account(user, pk: int) -> ElectricityAccount:
    try:
        return ElectricityAccount.objects.visible_to(user).select_related("customer").get(pk=pk)
    except ElectricityAccount.DoesNotExist:
        raise Http404 from None


def _sparkline(values: list[float], width: int = 120, height: int = 28) -> str:
    """SVG polyline points of a score series on a 0–100 scale."""
    if not values:
        return ""
    step = width / max(len(values) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - float(v) / 100 * height:.1f}" for i, v in enumerate(values))


def risk_card(account: ElectricityAccount) -> dict:
    """What the account's billing page shows of its risk (``billing/_account_risk.html``): the latest score,
    its level, the three factors that drove it most and a sparkline of the last scores. Two queries."""
    recent = list(
        RiskScore.objects.filter(account=account)
        .order_by("-scored_on")
        .values("scored_on", "score", "level", "factors")[:SPARK_POINTS]
    )
    latest = recent[0] if recent else None
    return {
        "account": account,
        "latest": latest,
        "level_label": dict(RiskLevel.choices).get(latest["level"]) if latest else None,
        "top_factors": [f for f in factor_rows(latest["factors"]) if f["points"] > 0][:3] if latest else [],
        "sparkline": _sparkline([r["score"] for r in reversed(recent)]),
        "url": reverse("billing:account_risk", args=[account.pk]),
        "open_warnings": RiskWarning.objects.filter(account=account).exclude(status=WarningStatus.CLOSED).count(),
    }


class AccountRiskView(StaffPageMixin, TemplateView):
    """One account's risk: level, score and factors of the latest score, its trend with the level bands,
    and the warnings raised for it."""

    template_name = "billing/risk_account.html"

    def get(self, request, *args, **kwargs):
        self.account = _account(request.user, kwargs["pk"])
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        account = self.account
        history = list(
            RiskScore.objects.filter(account=account)
            .order_by("-scored_on")
            .values("scored_on", "score", "level", "factors", "arrears")[:TREND_POINTS]
        )
        history.reverse()
        latest = history[-1] if history else None
        card = scorecard_current()
        level_labels = dict(RiskLevel.choices)
        context.update(
            nav="billing",
            account=account,
            customer=account.customer,
            latest=latest,
            level_label=level_labels.get(latest["level"]) if latest else None,
            factors=factor_rows(latest["factors"]) if latest else [],
            warnings=list(RiskWarning.objects.filter(account=account).select_related("assignee")[:50]),
            chart={
                "days": [r["scored_on"].isoformat() for r in history],
                "scores": [float(r["score"]) for r in history],
                "levels": [str(level_labels[r["level"]]) for r in history],
                "bands": [
                    {
                        "from": 0,
                        "to": card.medium_from,
                        "colour": LEVEL_COLOURS["low"],
                        "label": str(level_labels["low"]),
                    },
                    {
                        "from": card.medium_from,
                        "to": card.high_from,
                        "colour": LEVEL_COLOURS["medium"],
                        "label": str(level_labels["medium"]),
                    },
                    {
                        "from": card.high_from,
                        "to": card.severe_from,
                        "colour": LEVEL_COLOURS["high"],
                        "label": str(level_labels["high"]),
                    },
                    {
                        "from": card.severe_from,
                        "to": 100,
                        "colour": LEVEL_COLOURS["severe"],
                        "label": str(level_labels["severe"]),
                    },
                ],
                "labels": {"score": _("Score"), "none": _("Not scored yet.")},
            },
        )
        return context


RISK_COLUMNS = (
    Column(gettext_lazy("Account"), lambda s: s.account.account_no, 16),
    Column(gettext_lazy("Account name"), lambda s: s.account.name, 24),
    Column(gettext_lazy("Customer"), lambda s: s.account.customer.name, 28),
    Column(gettext_lazy("Org unit"), lambda s: s.account.customer.org_unit.name, 16),
    Column(gettext_lazy("Account manager"), lambda s: s.manager_name or "", 12),
    Column(gettext_lazy("Scored on"), lambda s: s.scored_on, 12),
    Column(gettext_lazy("Score"), lambda s: s.score, 8),
    Column(gettext_lazy("Level"), lambda s: s.get_level_display(), 8),
    Column(gettext_lazy("Arrears"), lambda s: s.arrears, 14),
    Column(
        gettext_lazy("Main factor"),
        lambda s: str(INDICATOR_LABELS.get(s.factors[0]["indicator"], "")) if s.factors else "",
        28,
    ),
)


class RiskPortfolioView(StaffPageMixin, FilteredListView):
    """The risk distribution of the user's accounts (counts and arrears by level, by org unit, by manager),
    the list of risky accounts (high and severe unless other levels are chosen), and the last back-test."""

    template_name = "billing/risk_portfolio.html"
    filterset_class = RiskScoreFilterSet
    sort_fields = {
        "account": "account__account_no",
        "customer": "account__customer__name",
        "score": "score",
        "arrears": "arrears",
        "scored_on": "scored_on",
    }
    default_sort = "-score"
    export_columns = RISK_COLUMNS
    export_filename = "risk"
    export_title = gettext_lazy("Fee-recovery risk")

    def visible(self):
        return RiskScore.objects.visible_to(self.request.user).filter(is_latest=True)

    def filter_data(self):
        data = super().filter_data()
        if "level" not in self.request.GET:
            data.setlist("level", [RiskLevel.HIGH, RiskLevel.SEVERE])
        return data

    def base_queryset(self):
        return self.visible().select_related("account__customer__org_unit").annotate(manager_name=_manager_name())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        visible = self.visible()
        labels = dict(RiskLevel.choices)
        by_level = {
            row["level"]: row
            for row in visible.values("level").annotate(n=Count("pk"), arrears=Sum("arrears")).order_by()
        }
        distribution = [
            {
                "level": level,
                "label": labels[level],
                "colour": LEVEL_COLOURS[level],
                "accounts": by_level.get(level, {}).get("n", 0),
                "arrears": by_level.get(level, {}).get("arrears") or 0,
            }
            for level in LEVELS
        ]
        per_level = {level: Count("pk", filter=Q(level=level)) for level in LEVELS}
        by_unit = list(
            visible.values("account__customer__org_unit__name")
            .annotate(total=Count("pk"), arrears=Sum("arrears"), **per_level)
            .order_by("account__customer__org_unit__name")
        )
        by_manager = list(
            visible.annotate(manager_name=_manager_name())
            .values("manager_name")
            .annotate(total=Count("pk"), arrears=Sum("arrears"), **per_level)
            .order_by("manager_name")
        )
        card = scorecard_current()
        latest_day = visible.order_by("-scored_on").values_list("scored_on", flat=True).first()
        chosen = self.filter_data().getlist("level")
        for score in context["object_list"]:
            top = score.factors[0] if score.factors else None
            score.main_factor = INDICATOR_LABELS.get(top["indicator"]) if top and top["points"] > 0 else ""
        context.update(
            nav="billing",
            distribution=distribution,
            by_unit=by_unit,
            by_manager=by_manager,
            levels=LEVELS,
            level_labels=labels,
            level_choices=RiskLevel.choices,
            chosen_levels=chosen,
            latest_day=latest_day,
            scorecard=card,
            backtest=card.backtest,
            backtest_at=card.backtest_at,
            backtest_levels=[
                {**row, "label": labels.get(row["level"], row["level"])}
                for row in (card.backtest or {}).get("levels", [])
            ],
            can_run=does_billing(self.request.user),
            chart={
                "levels": [str(d["label"]) for d in distribution],
                "colours": [d["colour"] for d in distribution],
                "accounts": [d["accounts"] for d in distribution],
                "arrears": [float(d["arrears"]) for d in distribution],
                "labels": {"accounts": _("Accounts"), "arrears": _("Arrears (yuan)")},
            },
        )
        return context


class RiskRunView(BillingWorkMixin, View):
    """ "Score now": scores every account in the background (at once without a broker)."""

    def post(self, request, *args, **kwargs):
        from .risk_tasks import risk_score_all_task

        result = risk_score_all_task.delay(user_id=request.user.pk)
        if result.ready():
            summary = result.get()
            messages.success(
                request,
                _("%(accounts)s accounts scored; %(warnings)s new warnings.")
                % {"accounts": summary["accounts"], "warnings": summary["warnings"]},
            )
        else:
            messages.info(request, _("Scoring has started; the page shows the new scores when it is done."))
        return redirect("billing:risk_portfolio")


class RiskBacktestView(BillingWorkMixin, View):
    """Run the back-test of the scorecard in force and keep its result for the distribution page."""

    def post(self, request, *args, **kwargs):
        from .risk_tasks import risk_backtest_task

        result = risk_backtest_task.delay()
        if result.ready():
            outcome = result.get()
            auc = outcome.get("auc")
            messages.success(
                request,
                _("Back-test done: AUC %(auc)s over %(accounts)s account months.")
                % {"auc": "—" if auc is None else f"{auc:.3f}", "accounts": outcome["accounts"]},
            )
        else:
            messages.info(request, _("The back-test has started."))
        return HttpResponseRedirect(reverse("billing:risk_portfolio") + "#backtest")


class ScorecardView(StaffPageMixin, TemplateView):
    """The scorecard's weights and level thresholds with their history; supervisors and administrators
    change them, everyone else of the staff reads them."""

    template_name = "billing/risk_scorecard.html"

    def dispatch(self, request, *args, **kwargs):
        if request.method == "POST" and request.user.is_authenticated and not approves(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        self.card = scorecard_current()
        self.form = ScorecardForm(instance=self.card)
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.card = scorecard_current()
        self.form = ScorecardForm(request.POST, instance=self.card)
        if self.form.is_valid():
            card = self.form.save(commit=False)
            card.updated_by = request.user
            card.save()
            messages.success(request, _("The scorecard is saved; the next scoring uses it."))
            return redirect("billing:risk_scorecard")
        return self.render_to_response(self.get_context_data(), status=400)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        fields = [*WEIGHT_FIELDS.values(), "medium_from", "high_from", "severe_from"]
        history = list(self.card.history.select_related("history_user").order_by("-history_date", "-history_id")[:50])
        rows = []
        for newer, older in zip(history, [*history[1:], None], strict=True):
            changes = []
            for name in fields:
                before = getattr(older, name) if older is not None else None
                after = getattr(newer, name)
                if older is None or before != after:
                    changes.append(
                        {"field": RiskScorecard._meta.get_field(name).verbose_name, "before": before, "after": after}
                    )
            rows.append({"record": newer, "changes": changes})
        total = sum(getattr(self.card, name) for name in WEIGHT_FIELDS.values())
        context.update(
            nav="billing",
            form=self.form,
            card=self.card,
            can_edit=approves(self.request.user),
            history=rows,
            weight_total=total,
            weight_fields=[self.form[name] for name in WEIGHT_FIELDS.values()],
            threshold_fields=[self.form[name] for name in ("medium_from", "high_from", "severe_from")],
        )
        return context


WARNING_COLUMNS = (
    Column(gettext_lazy("Raised"), lambda w: w.created_at, 18),
    Column(gettext_lazy("Account"), lambda w: w.account.account_no, 16),
    Column(gettext_lazy("Customer"), lambda w: w.account.customer.name, 28),
    Column(gettext_lazy("Level"), lambda w: w.get_level_display(), 8),
    Column(gettext_lazy("Previous level"), lambda w: w.get_previous_level_display(), 8),
    Column(gettext_lazy("Assignee"), lambda w: str(w.assignee) if w.assignee else "", 14),
    Column(gettext_lazy("Act by"), lambda w: w.due_date, 12),
    Column(gettext_lazy("Status"), lambda w: w.get_status_display(), 10),
    Column(gettext_lazy("What was done"), lambda w: w.resolution, 40),
)


class WarningListView(StaffPageMixin, FilteredListView):
    """Risk warnings of the user's accounts (open and acknowledged unless a status is chosen), with the
    actions acknowledge and close."""

    template_name = "billing/risk_warnings.html"
    filterset_class = RiskWarningFilterSet
    sort_fields = {"created": "created_at", "due": "due_date", "account": "account__account_no", "level": "level"}
    default_sort = "due"
    export_columns = WARNING_COLUMNS
    export_filename = "risk-warnings"
    export_title = gettext_lazy("Risk warnings")

    def filter_data(self):
        data = super().filter_data()
        if "status" not in self.request.GET:
            data.setlist("status", [WarningStatus.OPEN, WarningStatus.ACKNOWLEDGED])
        return data

    def base_queryset(self):
        return RiskWarning.objects.visible_to(self.request.user).select_related(
            "account__customer", "assignee", "score"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            nav="billing",
            status_choices=WarningStatus.choices,
            level_choices=RiskLevel.choices,
            chosen_status=self.filter_data().getlist("status"),
            chosen_levels=self.filter_data().getlist("level"),
            act_form=WarningActForm(),
        )
        return context


class WarningActView(StaffPageMixin, View):
    """Acknowledge or close a warning (POST ``action`` and ``note``)."""

    def post(self, request, pk, *args, **kwargs):
        try:
            warning = RiskWarning.objects.visible_to(request.user).get(pk=pk)
        except RiskWarning.DoesNotExist:
            raise Http404 from None
        if not warning_may_act(request.user, warning):
            raise PermissionDenied
        form = WarningActForm(request.POST)
        back = request.POST.get("next") or ""
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = reverse("billing:risk_warnings")
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(back)
        try:
            warning_act(
                warning=warning, user=request.user, action=form.cleaned_data["action"], note=form.cleaned_data["note"]
            )
        except WarningStateError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The warning is updated."))
        return redirect(back)
