"""Survey pages.

Staff (customers' portal users get 403): the sent surveys with their status and the annual survey sent by hand
(``survey_list``, ``send``), and the results by tier, account manager, team and period with charts, the answers
and their comments, and Excel (``results``). Portal users (staff get 403): their surveys (``portal_list``) and the
answer page (``answer``; a survey not addressed to them is a 404; a survey closed by a colleague's answer about the
same request says who answered, without their scores). Anyone with a link: the answer page of a contact
without a portal account (``answer_link``; a changed link is a 404, an expired survey a 410).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView

from gridkam.core.exports import Column, Sheet, xlsx_sheets_response
from gridkam.core.views import FilteredListView, StaffOnlyMixin
from gridkam.customers.choices import Tier

from .choices import SurveyDimension, SurveyGroupBy, SurveyKind, SurveyPeriod, SurveyStatus
from .forms import AnnualSendForm, SurveyAnswerForm
from .links import LinkInvalid, link_survey_id
from .models import DIMENSION_FIELDS, Survey
from .selectors import (
    SurveyFilterSet,
    answered_with_comments,
    portal_surveys,
    results_compute,
    send_scope,
    survey_get,
    survey_list,
)
from .services import SurveyClosed, may_send, survey_answer, survey_send_annual


class PortalOnlyMixin(LoginRequiredMixin):
    """Pages of the customer's portal: staff have none (403)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_customer_user:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


# --- Staff: sent surveys and sending --------------------------------------------------------------------------


SURVEY_COLUMNS = (
    Column(gettext_lazy("Kind"), lambda s: s.get_kind_display(), 18),
    Column(gettext_lazy("Customer"), lambda s: s.customer.name, 28),
    Column(gettext_lazy("Tier"), lambda s: s.get_tier_display(), 10),
    Column(gettext_lazy("Account manager"), lambda s: str(s.manager) if s.manager_id else "", 12),
    Column(gettext_lazy("Team"), lambda s: s.team.name if s.team_id else "", 14),
    Column(gettext_lazy("Service request"), lambda s: s.request.number if s.request_id else "", 16),
    Column(gettext_lazy("Year surveyed"), lambda s: s.year, 8),
    Column(gettext_lazy("Recipient"), lambda s: s.recipient_name, 14),
    Column(gettext_lazy("Sent"), lambda s: s.sent_at, 18),
    Column(gettext_lazy("Expires"), lambda s: s.expires_at, 18),
    Column(gettext_lazy("Status"), lambda s: s.get_status_display(), 10),
    Column(
        gettext_lazy("Answered by"),
        lambda s: "" if s.answered_at is not None and s.answered_by_recipient else s.answerer_name,
        14,
    ),
    Column(gettext_lazy("Answered"), lambda s: s.answered_at, 18),
    Column(gettext_lazy("Satisfaction (1–5)"), lambda s: s.satisfaction, 10),
    Column(gettext_lazy("NPS (0–10)"), lambda s: s.nps, 10),
    *(
        Column(label, lambda s, field=DIMENSION_FIELDS[code]: getattr(s, field), 10)
        for code, label in SurveyDimension.choices
    ),
    Column(gettext_lazy("Comment"), lambda s: s.comment, 40),
)


class SurveyListView(StaffOnlyMixin, FilteredListView):
    """The surveys sent to the customers the user sees, newest first, with their status; filters, Excel."""

    template_name = "surveys/survey_list.html"
    filterset_class = SurveyFilterSet
    sort_fields = {"sent_at": "sent_at", "customer": "customer__name", "expires_at": "expires_at"}
    default_sort = "-sent_at"
    export_columns = SURVEY_COLUMNS
    export_filename = "surveys"
    export_title = gettext_lazy("Surveys")

    def base_queryset(self):
        return survey_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            nav="service",
            tier_choices=Tier.choices,
            chosen_tiers=self.filter_data().getlist("tier"),
            can_send=may_send(self.request.user),
        )
        return context


class SurveySendView(StaffOnlyMixin, FormView):
    """Send the annual survey of a year by hand (account managers, supervisors, administrators)."""

    template_name = "surveys/survey_send.html"
    form_class = AnnualSendForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_customer_user and not may_send(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        data = form.cleaned_data
        customers = send_scope(user=self.request.user, scope=data["scope"], tiers=data["tier"], team=data["team"])
        try:
            summary = survey_send_annual(customers=customers, year=data["year"], user=self.request.user)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _(
                "Annual survey %(year)s: %(surveys)s surveys sent to %(customers)s customers; %(already)s customers "
                "had it already, %(none)s have nobody to ask."
            )
            % {
                "year": summary["year"],
                "surveys": summary["surveys"],
                "customers": summary["customers"],
                "already": summary["already"],
                "none": summary["no_recipient"],
            },
        )
        return redirect(f"{reverse('surveys:survey_list')}?kind={SurveyKind.ANNUAL}&year={summary['year']}")

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "nav": "service"}


# --- Staff: results --------------------------------------------------------------------------------------------


def _mean(value) -> str:
    return "" if value is None else f"{value:.2f}"


GROUP_COLUMNS = (
    Column(gettext_lazy("Group"), lambda r: r.name, 24),
    Column(gettext_lazy("Sent"), lambda r: r.sent, 8),
    Column(gettext_lazy("Asked (requests + annual surveys)"), lambda r: r.asked, 10),
    Column(gettext_lazy("Answered"), lambda r: r.answered, 8),
    Column(gettext_lazy("Closed by a colleague's answer"), lambda r: r.closed, 10),
    Column(gettext_lazy("Response rate (%)"), lambda r: r.response_rate, 10),
    Column(gettext_lazy("Mean satisfaction (1–5)"), lambda r: r.satisfaction_mean, 10),
    Column(gettext_lazy("NPS"), lambda r: r.nps, 8),
    Column(gettext_lazy("Promoters"), lambda r: r.promoters, 8),
    Column(gettext_lazy("Passives"), lambda r: r.passives, 8),
    Column(gettext_lazy("Detractors"), lambda r: r.detractors, 8),
    *(Column(label, lambda r, code=code: r.dimensions.get(code), 10) for code, label in SurveyDimension.choices),
)


class SurveyResultsView(StaffOnlyMixin, FilteredListView):
    """Results of the surveys of the customers the user sees: response rate, mean satisfaction, NPS and dimension
    means overall and by tier, account manager, team or period; charts; the answers with their comments; Excel."""

    template_name = "surveys/results.html"
    filterset_class = SurveyFilterSet
    sort_fields = {"answered_at": "answered_at", "customer": "customer__name", "nps": "nps"}
    default_sort = "-answered_at"
    nulls_last = True
    paginate_by = 25

    def base_queryset(self):
        return survey_list(user=self.request.user)

    def choice(self, name: str, choices, default: str) -> str:
        value = self.request.GET.get(name, default)
        return value if value in choices.values else default

    def filtered(self):
        """The surveys of the filter (all statuses: the response rate needs the unanswered)."""
        qs = self.base_queryset()
        filterset = self.filterset_class(self.filter_data() or None, queryset=qs, request=self.request)
        return filterset.qs if filterset.is_bound and filterset.is_valid() else qs

    def get_queryset(self):
        return answered_with_comments(super().get_queryset())

    def get(self, request, *args, **kwargs):
        self.by = self.choice("by", SurveyGroupBy, SurveyGroupBy.TIER)
        self.period = self.choice("period", SurveyPeriod, SurveyPeriod.MONTH)
        if request.GET.get("export") == "xlsx":
            results = results_compute(self.filtered(), by=self.by, period=self.period)
            return xlsx_sheets_response(
                filename="survey-results",
                sheets=[
                    Sheet(title=str(_("Results")), columns=GROUP_COLUMNS, rows=[results.total, *results.groups]),
                    Sheet(title=str(_("By period")), columns=GROUP_COLUMNS, rows=results.trend),
                    Sheet(title=str(_("Answers")), columns=SURVEY_COLUMNS, rows=self.get_queryset()),
                ],
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        results = results_compute(self.filtered(), by=self.by, period=self.period)
        dimension_labels = dict(SurveyDimension.choices)
        context.update(
            nav="service",
            results=results,
            total=results.total,
            by=self.by,
            period=self.period,
            by_choices=SurveyGroupBy.choices,
            period_choices=SurveyPeriod.choices,
            tier_choices=Tier.choices,
            chosen_tiers=self.filter_data().getlist("tier"),
            dimension_labels=dimension_labels,
            total_dimensions=[(dimension_labels[c], v) for c, v in results.total.dimensions.items()],
            chart={
                "trend": {
                    "names": [r.name for r in results.trend],
                    "nps": [r.nps for r in results.trend],
                    "satisfaction": [r.satisfaction_mean for r in results.trend],
                    "response": [r.response_rate for r in results.trend],
                },
                "dimensions": {
                    "names": [str(dimension_labels[c]) for c in DIMENSION_FIELDS],
                    "overall": [results.total.dimensions[c] for c in DIMENSION_FIELDS],
                    "groups": [
                        {"name": r.name, "values": [r.dimensions[c] for c in DIMENSION_FIELDS]}
                        for r in results.groups[:6]
                    ],
                },
                "distribution": results.distribution,
                "labels": {
                    "nps": _("NPS"),
                    "satisfaction": _("Mean satisfaction (1–5)"),
                    "response": _("Response rate (%)"),
                    "answers": _("Answers"),
                    "all": _("All"),
                    "detractors": _("Detractors (0–6)"),
                    "passives": _("Passives (7–8)"),
                    "promoters": _("Promoters (9–10)"),
                    "none": _("No answer yet."),
                },
            },
        )
        return context


# --- Portal ----------------------------------------------------------------------------------------------------


class PortalSurveyListView(PortalOnlyMixin, View):
    """The portal user's surveys: to answer (soonest to expire first), then answered or expired."""

    def get(self, request, *args, **kwargs):
        surveys = portal_surveys(user=request.user)
        return render(
            request,
            "surveys/portal_list.html",
            {"portal_nav": "surveys", **surveys},
        )


def _answer_response(request, survey: Survey, form, *, base: str, post_url: str, status: int = 200):
    return render(
        request,
        "surveys/answer.html",
        {
            "portal_nav": "surveys",
            "base_template": base,
            "survey": survey,
            "form": form,
            "post_url": post_url,
            "state": survey.status_at(),
            # An answer that is not this recipient's own (a colleague's, or the request rated in the portal).
            "answered_by_other": survey.status_at() == SurveyStatus.CLOSED
            or (survey.answered_at is not None and not survey.answered_by_recipient),
            "answerer_name": survey.answerer_name,
        },
        status=status,
    )


def _answer_post(request, survey: Survey, *, user, base: str, post_url: str, done_url: str):
    form = SurveyAnswerForm(request.POST, template=survey.template)
    if not form.is_valid():
        return _answer_response(request, survey, form, base=base, post_url=post_url)
    try:
        survey_answer(survey=survey, data=form.cleaned_data, user=user)
    except SurveyClosed as exc:
        messages.warning(request, exc.messages[0])
        survey.refresh_from_db()
        return _answer_response(request, survey, None, base=base, post_url=post_url, status=409)
    except ValidationError as exc:
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
        return _answer_response(request, survey, form, base=base, post_url=post_url)
    messages.success(request, _("Thank you for your answer."))
    return redirect(done_url)


class SurveyAnswerView(PortalOnlyMixin, View):
    """A portal user answers one of their surveys (once, before it expires)."""

    base = "portal/base.html"

    def get_survey(self, pk: int) -> Survey:
        try:
            return survey_get(user=self.request.user, pk=pk)
        except Survey.DoesNotExist:
            raise Http404 from None

    def get(self, request, pk: int):
        survey = self.get_survey(pk)
        form = SurveyAnswerForm(template=survey.template) if survey.status_at() == SurveyStatus.SENT else None
        return _answer_response(request, survey, form, base=self.base, post_url=request.path)

    def post(self, request, pk: int):
        survey = self.get_survey(pk)
        return _answer_post(
            request,
            survey,
            user=request.user,
            base=self.base,
            post_url=request.path,
            done_url=reverse("surveys:portal_list"),
        )


class SurveyLinkAnswerView(View):
    """A contact without a portal account answers through the e-mailed link, without logging in, once."""

    base = "surveys/link_base.html"

    def get_survey(self, token: str) -> Survey:
        try:
            pk = link_survey_id(token)
            return Survey.objects.select_related("template", "customer", "request", "answered_by").get(
                pk=pk, recipient__isnull=True
            )
        except (LinkInvalid, Survey.DoesNotExist):
            raise Http404 from None

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except Http404:
            return render(request, "surveys/link_invalid.html", status=404)

    def get(self, request, token: str):
        survey = self.get_survey(token)
        state = survey.status_at()
        form = SurveyAnswerForm(template=survey.template) if state == SurveyStatus.SENT else None
        return _answer_response(
            request,
            survey,
            form,
            base=self.base,
            post_url=request.path,
            status=410 if state == SurveyStatus.EXPIRED else 200,
        )

    def post(self, request, token: str):
        survey = self.get_survey(token)
        return _answer_post(request, survey, user=None, base=self.base, post_url=request.path, done_url=request.path)
