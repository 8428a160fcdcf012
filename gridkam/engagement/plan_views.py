"""Service plan and visit pages (mounted at /plans/): the year's plans, one customer's plan with its year grid,
tailoring forms and change log, plan generation, the tier templates, visits (list, detail, record) and plan
against actual. Staff only (portal users 403); what the user may not see is a 404; reading is for whoever sees
the customer, tailoring and recording visits for its account team, supervisors of its unit and administrators."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from django.views import View
from django.views.generic import TemplateView

from gridkam.core.exports import Column, xlsx_response
from gridkam.core.ids import id_from
from gridkam.core.models import OrgUnit
from gridkam.core.views import FilteredListView, StaffOnlyMixin
from gridkam.customers.choices import Tier
from gridkam.customers.form_views import add_service_errors
from gridkam.customers.models import Customer

from . import plans as svc
from . import visits as visit_svc
from .choices import Activity, OccurrenceStatus
from .forms_plans import (
    FollowUpFormSet,
    GenerateForm,
    ItemAddForm,
    ItemFrequencyForm,
    ItemOwnerForm,
    ItemRemoveForm,
    PlanFilterSet,
    TemplateItemAddForm,
    TemplateItemForm,
    VisitFilterSet,
    VisitForm,
    staff_of,
)
from .models import PlanTemplate, PlanTemplateItem, Visit
from .plan_progress import GROUPS, plan_progress

PLAN_COLUMNS = (
    Column(gettext_lazy("Customer"), lambda p: p.customer.name, 30),
    Column(gettext_lazy("Org unit"), lambda p: p.customer.org_unit.name, 16),
    Column(gettext_lazy("Year"), lambda p: p.year, 8),
    Column(gettext_lazy("Tier"), lambda p: p.get_tier_display(), 10),
    Column(gettext_lazy("Account manager"), lambda p: p.manager_name or "", 12),
    Column(pgettext_lazy("plan", "Due"), lambda p: p.n_due, 8),
    Column(pgettext_lazy("plan occurrence", "Done"), lambda p: p.n_done, 8),
    Column(gettext_lazy("Overdue"), lambda p: p.n_overdue, 8),
    Column(gettext_lazy("Upcoming"), lambda p: p.n_upcoming, 8),
)

VISIT_COLUMNS = (
    Column(gettext_lazy("Date"), lambda v: v.visited_on, 12),
    Column(gettext_lazy("Customer"), lambda v: v.customer.name, 30),
    Column(gettext_lazy("Activity"), lambda v: v.get_activity_display(), 16),
    Column(gettext_lazy("Account"), lambda v: v.account.account_no if v.account_id else "", 14),
    Column(gettext_lazy("Our participants"), lambda v: "、".join(str(u) for u in v.participants.all()), 20),
    Column(gettext_lazy("Customer's participants"), lambda v: v.customer_participants, 20),
    Column(gettext_lazy("Purpose"), lambda v: v.purpose, 30),
    Column(gettext_lazy("Findings"), lambda v: v.findings, 50),
)

MONTHS = list(range(1, 13))
MONTH_HEADERS = [dt.date(2000, m, 1) for m in MONTHS]  # shown as the month's short name


def _plan_or_404(user, pk):
    try:
        return svc.plan_get(user=user, pk=pk)
    except svc.ServicePlan.DoesNotExist:
        raise Http404 from None


def _this_year() -> int:
    return timezone.localdate().year


# --- plans --------------------------------------------------------------------------------------------------------


class PlanListView(StaffOnlyMixin, FilteredListView):
    template_name = "engagement/plans/plan_list.html"
    filterset_class = PlanFilterSet
    sort_fields = {
        "customer": "customer__name",
        "tier": "tier",
        "due": "n_due",
        "done": "n_done",
        "overdue": "n_overdue",
    }
    default_sort = "customer"
    export_columns = PLAN_COLUMNS
    export_filename = "service-plans"
    export_title = gettext_lazy("Service plans")

    def base_queryset(self):
        return svc.plans_visible(self.request.user)

    def filter_data(self) -> QueryDict:
        data = super().filter_data()
        if "year" not in data:
            data["year"] = str(_this_year())  # this year's plans unless another year is asked for
        return data

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        year = self.filterset.form.cleaned_data.get("year") if self.filterset.is_valid() else None
        year = int(year or _this_year())
        this_year = _this_year()
        context.update(
            nav="plans",
            year=year,
            years=[this_year, this_year + 1],
            tiers=Tier.choices,
            units=list(OrgUnit.objects.visible_to(user).order_by("path")),
            owners=list(staff_of(None, user)),
            can_generate=svc.can_generate_all(user),
            today=timezone.localdate(),
        )
        return context


class PlanGenerateView(StaffOnlyMixin, View):
    """POST ``year`` (and ``customer`` for one customer's plan): supervisors and administrators generate every
    plan they see; one customer's plan also its account team."""

    def post(self, request):
        form = GenerateForm(request.POST)
        raw_customer = request.POST.get("customer", "")
        customer = None
        if raw_customer:
            if (customer_id := id_from(raw_customer)) is None:
                raise Http404
            customer = get_object_or_404(Customer.objects.visible_to(request.user), pk=customer_id)
        if customer is None and not svc.can_generate_all(request.user):
            raise PermissionDenied
        if customer is not None and not svc.can_tailor(request.user, customer):
            messages.error(
                request, _("Only the customer's account team, its supervisors and administrators generate its plan.")
            )
            return redirect("customers:customer_detail", pk=customer.pk)
        if not form.is_valid():
            messages.error(request, "; ".join(str(e) for errors in form.errors.values() for e in errors))
            return redirect("plans:plan_list")
        year = form.cleaned_data["year"]
        try:
            if customer is not None:
                plan = svc.plan_generate(customer=customer, year=year, user=request.user)
                messages.success(request, _("The plan is generated."))
                return redirect("plans:plan_detail", pk=plan.pk)
            counts = svc.plans_generate(year=year, user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(reverse("plans:plan_list") + f"?year={year}")
        messages.success(
            request,
            _("Plans for %(year)s: %(created)s generated, %(skipped)s skipped (already planned or no template).")
            % counts,
        )
        return redirect(reverse("plans:plan_list") + f"?year={year}")


TAILOR_FORMS = {
    "add": ItemAddForm,
    "frequency": ItemFrequencyForm,
    "owner": ItemOwnerForm,
    "remove": ItemRemoveForm,
}


def _grid(items, today: dt.date) -> list[dict]:
    rows = []
    for item in items:
        cells: list[list] = [[] for _ in MONTHS]
        for occurrence in item.occurrences.all():
            occurrence.state = svc.occurrence_state(occurrence, today)
            cells[occurrence.due_date.month - 1].append(occurrence)
        rows.append({"item": item, "cells": cells})
    return rows


def plan_detail_context(request, plan, bound: dict | None = None) -> dict:
    user = request.user
    today = timezone.localdate()
    items = svc.plan_items(plan)
    tailoring = svc.can_tailor(user, plan.customer)
    tailor_forms = {}
    if tailoring:
        for name, form_class in TAILOR_FORMS.items():
            kwargs = {"prefix": name, "user": user}
            if name != "add":
                kwargs["plan"] = plan
            tailor_forms[name] = form_class(**kwargs)
        tailor_forms.update(bound or {})
    occurrences = [o for item in items for o in item.occurrences.all()]
    counts = {
        "due": sum(1 for o in occurrences if o.status != OccurrenceStatus.CANCELLED),
        "done": sum(1 for o in occurrences if o.status == OccurrenceStatus.DONE),
        "overdue": sum(1 for o in occurrences if o.status == OccurrenceStatus.PLANNED and o.due_date < today),
    }
    return {
        "nav": "plans",
        "plan": plan,
        "customer": plan.customer,
        "rows": _grid(items, today),
        "months": MONTH_HEADERS,
        "changes": svc.plan_changes(plan),
        "can_tailor": tailoring,
        "forms": tailor_forms,
        "counts": counts,
        "today": today,
    }


class PlanDetailView(StaffOnlyMixin, View):
    def get(self, request, pk):
        plan = _plan_or_404(request.user, pk)
        return render(request, "engagement/plans/plan_detail.html", plan_detail_context(request, plan))


class PlanTailorView(StaffOnlyMixin, View):
    """POST one tailoring step; field errors re-render the plan with the form's messages (400)."""

    def post(self, request, pk, action):
        if action not in TAILOR_FORMS:
            raise Http404
        plan = _plan_or_404(request.user, pk)
        if not svc.can_tailor(request.user, plan.customer):
            raise PermissionDenied
        kwargs = {"prefix": action, "user": request.user}
        if action != "add":
            kwargs["plan"] = plan
        form = TAILOR_FORMS[action](request.POST, **kwargs)
        if form.is_valid():
            data = form.cleaned_data
            try:
                self.perform(action, plan, data, request.user)
            except PermissionError:
                raise PermissionDenied from None
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("The plan is changed."))
                return redirect("plans:plan_detail", pk=plan.pk)
        return render(
            request,
            "engagement/plans/plan_detail.html",
            plan_detail_context(request, plan, {action: form}),
            status=400,
        )

    @staticmethod
    def perform(action, plan, data, user):
        if action == "add":
            svc.plan_item_add(
                plan=plan,
                activity=data["activity"],
                frequency=data["frequency"],
                owner=data["owner"],
                description=data["description"],
                reason=data["reason"],
                user=user,
            )
        elif action == "frequency":
            svc.plan_item_frequency(item=data["item"], frequency=data["frequency"], reason=data["reason"], user=user)
        elif action == "owner":
            svc.plan_item_owner(item=data["item"], owner=data["owner"], reason=data["reason"], user=user)
        elif action == "remove":
            svc.plan_item_remove(item=data["item"], reason=data["reason"], user=user)


# --- templates ----------------------------------------------------------------------------------------------------


class TemplatePostMixin(StaffOnlyMixin):
    """GET for the staff; POST for supervisors and administrators only (403 for others)."""

    def dispatch(self, request, *args, **kwargs):
        if request.method == "POST" and request.user.is_authenticated and not svc.can_edit_templates(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def _template_context(request, bound: dict | None = None) -> dict:
    templates = list(PlanTemplate.objects.prefetch_related("items").select_related("updated_by"))
    editing = svc.can_edit_templates(request.user)
    bound = bound or {}
    for template in templates:
        for item in template.items.all():
            item.form = bound.get(("item", item.pk)) or (
                TemplateItemForm(
                    prefix=f"item{item.pk}",
                    initial={
                        "frequency": item.frequency,
                        "owner_role": item.owner_role,
                        "description": item.description,
                    },
                )
                if editing
                else None
            )
        template.add_form = bound.get(("add", template.pk)) or (
            TemplateItemAddForm(prefix=f"add{template.pk}") if editing else None
        )
    history = list(
        PlanTemplateItem.history.select_related("history_user").order_by("-history_date", "-history_id")[:30]
    )
    return {"nav": "plans", "templates": templates, "can_edit": editing, "history": history}


class TemplateListView(TemplatePostMixin, TemplateView):
    template_name = "engagement/plans/template_list.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **_template_context(self.request)}


class TemplateItemView(TemplatePostMixin, View):
    """POST ``action=save`` (frequency, owner role, description) or ``action=remove`` on one template item."""

    def post(self, request, pk):
        item = get_object_or_404(PlanTemplateItem.objects.select_related("template"), pk=pk)
        if request.POST.get("action") == "remove":
            svc.plan_template_item_remove(item=item, user=request.user)
            messages.success(request, _("The activity is taken out of the template."))
            return redirect("plans:template_list")
        form = TemplateItemForm(request.POST, prefix=f"item{item.pk}")
        if form.is_valid():
            try:
                svc.plan_template_item_update(item=item, user=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("The template is saved; plans generated from now on use it."))
                return redirect("plans:template_list")
        context = _template_context(request, {("item", item.pk): form})
        return render(request, "engagement/plans/template_list.html", context, status=400)


class TemplateItemAddView(TemplatePostMixin, View):
    def post(self, request, pk):
        template = get_object_or_404(PlanTemplate, pk=pk)
        form = TemplateItemAddForm(request.POST, prefix=f"add{template.pk}")
        if form.is_valid():
            try:
                svc.plan_template_item_add(template=template, user=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("The activity is added to the template."))
                return redirect("plans:template_list")
        context = _template_context(request, {("add", template.pk): form})
        return render(request, "engagement/plans/template_list.html", context, status=400)


class TemplateResetView(TemplatePostMixin, View):
    def post(self, request):
        counts = svc.plan_templates_load(reset=True, user=request.user)
        messages.success(
            request, _("Templates restored: %(created)s created, %(reset)s reset to the defaults.") % counts
        )
        return redirect("plans:template_list")


# --- visits -------------------------------------------------------------------------------------------------------


class VisitListView(StaffOnlyMixin, FilteredListView):
    template_name = "engagement/plans/visit_list.html"
    filterset_class = VisitFilterSet
    sort_fields = {"date": "visited_on", "customer": "customer__name", "activity": "activity"}
    default_sort = "-date"
    export_columns = VISIT_COLUMNS
    export_filename = "visits"
    export_title = gettext_lazy("Visits")

    def base_queryset(self):
        return visit_svc.visits_visible(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            nav="plans",
            activities=Activity.choices,
            participants=list(staff_of(None, self.request.user)),
        )
        return context


class VisitDetailView(StaffOnlyMixin, View):
    def get(self, request, pk):
        try:
            visit = visit_svc.visit_get(user=request.user, pk=pk)
        except Visit.DoesNotExist:
            raise Http404 from None
        return render(request, "engagement/plans/visit_detail.html", {"nav": "plans", "visit": visit})


class VisitCreateView(StaffOnlyMixin, View):
    """The record-visit form; ``?customer=`` preselects the customer, ``?occurrence=`` the plan item delivered."""

    template_name = "engagement/plans/visit_form.html"

    def _preselected(self, request):
        user = request.user
        customer, initial = None, {}
        raw_occurrence = request.GET.get("occurrence", "")
        if (occurrence_id := id_from(raw_occurrence)) is not None:
            occurrence = svc.occurrences_visible(user).filter(pk=occurrence_id).select_related("customer").first()
            if occurrence is not None:
                customer = occurrence.customer
                initial.update(occurrence=occurrence.pk, activity=occurrence.activity)
        raw_customer = request.GET.get("customer", "")
        if customer is None and (customer_id := id_from(raw_customer)) is not None:
            customer = Customer.objects.visible_to(user).filter(pk=customer_id).first()
        if customer is not None:
            initial["customer"] = customer.pk
            initial.setdefault("participants", [user.pk])
        return customer, initial

    def get(self, request):
        customer, initial = self._preselected(request)
        form = VisitForm(user=request.user, customer=customer, initial=initial)
        formset = FollowUpFormSet(prefix="fu", form_kwargs={"user": request.user})
        return render(request, self.template_name, {"nav": "plans", "form": form, "formset": formset})

    def post(self, request):
        form = VisitForm(request.POST, user=request.user)
        formset = FollowUpFormSet(request.POST, prefix="fu", form_kwargs={"user": request.user})
        form_ok, formset_ok = form.is_valid(), formset.is_valid()
        if form_ok and formset_ok:
            data = form.cleaned_data
            customer = data["customer"]
            if not visit_svc.can_record_visit(request.user, customer):
                raise PermissionDenied
            follow_ups = [row for f in formset.forms if (row := f.as_row()) is not None]
            try:
                visit = visit_svc.visit_record(
                    customer=customer,
                    account=data["account"],
                    activity=data["activity"],
                    visited_on=data["visited_on"],
                    participants=data["participants"],
                    customer_participants=data["customer_participants"],
                    purpose=data["purpose"],
                    findings=data["findings"],
                    occurrence=data["occurrence"],
                    follow_ups=follow_ups,
                    user=request.user,
                )
            except PermissionError:
                raise PermissionDenied from None
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("The visit is recorded."))
                return redirect("plans:visit_detail", pk=visit.pk)
        return render(request, self.template_name, {"nav": "plans", "form": form, "formset": formset}, status=400)


# --- plan against actual ------------------------------------------------------------------------------------------

BY_CHOICES = [
    ("customer", gettext_lazy("Customer")),
    ("team", gettext_lazy("Team")),
    ("owner", gettext_lazy("Owner")),
    ("activity", gettext_lazy("Activity")),
]


class ProgressForm(forms.Form):
    by = forms.ChoiceField(choices=BY_CHOICES, required=False)
    year = forms.IntegerField(min_value=2000, max_value=2100, required=False)
    start = forms.DateField(required=False)
    end = forms.DateField(required=False)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end cannot be before the start."))
        return data


def progress_span(data: dict, today: dt.date) -> tuple[dt.date, dt.date]:
    """From/to when both are given (or one, the other closing the year), else the whole year asked for."""
    year = data.get("year") or today.year
    start, end = data.get("start"), data.get("end")
    if start or end:
        start = start or dt.date((end or start).year, 1, 1)
        end = end or dt.date(start.year, 12, 31)
        return start, end
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def progress_rows(user, by: str, start: dt.date, end: dt.date, today: dt.date):
    rows = plan_progress(svc.occurrences_visible(user), by=by, start=start, end=end, today=today)
    if by == "activity":
        labels = dict(Activity.choices)
        rows = [type(r)(**{**r.__dict__, "name": str(labels.get(r.key, r.key))}) for r in rows]
    return rows


PROGRESS_COLUMNS = (
    Column(gettext_lazy("Group"), lambda r: r.name or "—", 30),
    Column(pgettext_lazy("plan", "Due"), lambda r: r.due, 8),
    Column(pgettext_lazy("plan occurrence", "Done"), lambda r: r.done, 8),
    Column(gettext_lazy("Done late"), lambda r: r.done_late, 10),
    Column(gettext_lazy("Overdue"), lambda r: r.overdue, 8),
    Column(gettext_lazy("Upcoming"), lambda r: r.upcoming, 8),
    Column(gettext_lazy("Done share"), lambda r: r.done_share, 10),
)


class PlanProgressView(StaffOnlyMixin, TemplateView):
    template_name = "engagement/plans/progress.html"

    def get(self, request, *args, **kwargs):
        today = timezone.localdate()
        form = ProgressForm(request.GET or None)
        data = form.cleaned_data if form.is_bound and form.is_valid() else {}
        by = data.get("by") or "customer"
        start, end = progress_span(data, today)
        rows = progress_rows(request.user, by, start, end, today)
        if request.GET.get("export") == "xlsx" and not form.errors:
            return xlsx_response(
                filename=f"plan-progress-{by}",
                title=str(_("Plan against actual")),
                columns=PROGRESS_COLUMNS,
                rows=rows,
            )
        totals = {
            key: sum(getattr(r, key) for r in rows) for key in ("due", "done", "done_late", "overdue", "upcoming")
        }
        chart = {
            "names": [r.name or "—" for r in rows[:30]],
            "done": [r.done for r in rows[:30]],
            "overdue": [r.overdue for r in rows[:30]],
            "upcoming": [r.upcoming for r in rows[:30]],
            "labels": {"done": pgettext("plan occurrence", "Done"), "overdue": _("Overdue"), "upcoming": _("Upcoming")},
        }
        context = self.get_context_data(
            nav="plans",
            form=form,
            by=by,
            by_choices=BY_CHOICES,
            start=start,
            end=end,
            year=data.get("year") or today.year,
            rows=rows,
            totals=totals,
            chart=chart,
            groups=sorted(GROUPS),
        )
        return self.render_to_response(context, status=400 if form.errors else 200)
