"""The service metrics page (/service/metrics/): KPI cards, charts with a table under each and the whole as one
Excel workbook. Staff see the requests and plan items of the customers they see; portal users get 403. Invalid
filters show field errors on the form (and no numbers), never a 500."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.generic import TemplateView

from gridkam.core.exports import Column, Sheet, xlsx_sheets_response

from .choices import SlaTarget
from .forms_metrics import MetricsFilterForm
from .metrics import AGE_KEYS, TARGETS, ServiceMetrics, age_labels, service_metrics
from .permissions import StaffOnlyPageMixin


def _pct(share: float | None) -> float | None:
    """A share as a percentage with one decimal, for charts and sheets."""
    return None if share is None else round(share * 100, 1)


def target_labels() -> dict[str, str]:
    return {target: str(SlaTarget(target).label) for target in TARGETS}


def chart_data(m: ServiceMetrics) -> dict:
    """What service_metrics.js draws (numbers and the reader's-language labels)."""

    def compliance(rows) -> dict:
        data = {"names": [row.name for row in rows]}
        for target in TARGETS:
            data[target] = [_pct(row.targets[target].compliance) for row in rows]
        data["overall"] = [_pct(row.overall.compliance) for row in rows]
        return data

    return {
        "labels": {
            **target_labels(),
            "overall": _("All targets"),
            "compliance": _("Compliance (%)"),
            "requests": _("Requests"),
            "due": pgettext("plan", "Due"),
            "done": pgettext("plan occurrence", "Done"),
            "overdue": _("Overdue"),
            "buckets": age_labels(),
            "none": _("Nothing in these filters."),
        },
        "by_team": compliance(m.by_team),
        "by_tier": compliance(m.by_tier),
        "by_type": compliance(m.by_type),
        "trend": compliance(m.trend),
        "backlog": {
            "names": [row.name for row in m.backlog_by_type],
            "buckets": [[row.buckets[i] for row in m.backlog_by_type] for i in range(len(AGE_KEYS))],
        },
        "visits": {
            "names": [row.name for row in m.visits_by_team],
            "due": [row.due for row in m.visits_by_team],
            "done": [row.done for row in m.visits_by_team],
            "overdue": [row.overdue for row in m.visits_by_team],
        },
    }


# ---------------------------------------------------------------------------------------------- Excel


def _compliance_columns(first: str) -> list[Column]:
    columns = [Column(first, lambda r: r.name, 24), Column(_("Requests"), lambda r: r.requests, 10)]
    for target, label in target_labels().items():
        columns += [
            Column(_("%(target)s: met") % {"target": label}, lambda r, t=target: r.targets[t].met, 12),
            Column(_("%(target)s: breached") % {"target": label}, lambda r, t=target: r.targets[t].breached, 12),
            Column(_("%(target)s: pending") % {"target": label}, lambda r, t=target: r.targets[t].pending, 12),
            Column(
                _("%(target)s: compliance (%%)") % {"target": label},
                lambda r, t=target: _pct(r.targets[t].compliance),
                12,
            ),
        ]
    columns.append(Column(_("All targets: compliance (%)"), lambda r: _pct(r.overall.compliance), 12))
    return columns


def _aging_columns(first: str) -> list[Column]:
    columns = [Column(first, lambda r: r.name, 24)]
    for i, label in enumerate(age_labels()):
        columns.append(Column(label, lambda r, i=i: r.buckets[i], 10))
    columns.append(Column(_("Open requests"), lambda r: r.total, 12))
    return columns


def _times_columns(first: str) -> list[Column]:
    columns = [Column(first, lambda r: r.name, 24)]
    for name, label in (("response", _("First response")), ("resolution", _("Resolution"))):
        columns += [
            Column(_("%(what)s: requests") % {"what": label}, lambda r, n=name: getattr(r, n).count, 12),
            Column(_("%(what)s: mean (h)") % {"what": label}, lambda r, n=name: getattr(r, n).mean_hours, 12),
            Column(_("%(what)s: median (h)") % {"what": label}, lambda r, n=name: getattr(r, n).median_hours, 12),
        ]
    return columns


def _visit_columns(first: str) -> list[Column]:
    return [
        Column(first, lambda r: r.name, 24),
        Column(pgettext("plan", "Due"), lambda r: r.due, 10),
        Column(pgettext("plan occurrence", "Done"), lambda r: r.done, 10),
        Column(_("Done late"), lambda r: r.done_late, 10),
        Column(_("Overdue"), lambda r: r.overdue, 10),
        Column(_("Still to come"), lambda r: r.upcoming, 10),
        Column(_("Done of due (%)"), lambda r: _pct(r.done_share), 12),
    ]


def metrics_sheets(m: ServiceMetrics) -> list[Sheet]:
    """One sheet per table of the page, the filters and definitions noted above each."""
    f = m.filters
    notes = [
        _("Requests logged from %(start)s to %(end)s; backlog as of %(now)s.")
        % {"start": f.start, "end": f.end, "now": timezone.localtime(m.now).strftime("%Y-%m-%d %H:%M")},
        _("Compliance = met ÷ (met + breached); pending targets (not yet due, waiting for the customer) are left out."),
    ]
    team, tier, rtype = _("Team"), _("Tier"), _("Type")
    return [
        Sheet(_("Compliance by team"), _compliance_columns(team), [*m.by_team, m.overall], notes),
        Sheet(_("Compliance by tier"), _compliance_columns(tier), m.by_tier, notes),
        Sheet(_("Compliance by type"), _compliance_columns(rtype), m.by_type, notes),
        Sheet(_("Compliance by month"), _compliance_columns(_("Month")), m.trend, notes),
        Sheet(_("Backlog by type"), _aging_columns(rtype), [*m.backlog_by_type, m.backlog], notes),
        Sheet(_("Backlog by team"), _aging_columns(team), m.backlog_by_team, notes),
        Sheet(_("Times by type"), _times_columns(rtype), [*m.times_by_type, m.times_overall], notes),
        Sheet(_("Times by tier"), _times_columns(tier), m.times_by_tier, notes),
        Sheet(_("Visits by team"), _visit_columns(team), m.visits_by_team, notes),
        Sheet(_("Visits by owner"), _visit_columns(_("Owner")), m.visits_by_owner, notes),
    ]


# ---------------------------------------------------------------------------------------------- the page


class ServiceMetricsView(StaffOnlyPageMixin, TemplateView):
    template_name = "servicedesk/metrics/metrics.html"

    def get(self, request, *args, **kwargs):
        self.form = MetricsFilterForm(request.GET, user=request.user)
        self.metrics = None
        if self.form.is_valid():
            self.metrics = service_metrics(user=request.user, filters=self.form.metrics_filter())
            if request.GET.get("export") == "xlsx":
                return xlsx_sheets_response(filename="service-metrics", sheets=metrics_sheets(self.metrics))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        m = self.metrics
        context.update(
            nav="service",
            form=self.form,
            m=m,
            age_labels=age_labels(),
            targets=target_labels(),
            wide_fields=("start", "end", "unit", "team"),
        )
        if m is not None:
            context.update(
                chart=chart_data(m),
                start=m.filters.start,
                end=m.filters.end,
                visits_share=m.visits_done / m.visits_due if m.visits_due else None,
            )
        return context
