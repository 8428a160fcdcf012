"""Dunning pages: an account's cases and steps with the form for the next step, the printable notice of a
step, and the collections workbench.

Seeing follows the customer's visibility (404 otherwise; a customer's portal users see their own account's
dunning and notices, read only). Taking a step is billing work (403 for other roles); a step the rules do
not allow comes back as messages on the form's fields, never as a server error.
"""

from __future__ import annotations

import datetime
from types import SimpleNamespace

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView

from gridkam.core.exports import Column, xlsx_response
from gridkam.core.views import FilteredListView
from gridkam.customers.form_views import add_service_errors
from gridkam.customers.models import ElectricityAccount

from . import dunning
from .choices import DunningStepKind
from .models import DunningCase, DunningStep
from .permissions import StaffPageMixin, does_billing
from .workbench import DEFAULT_SORT, SORTS, CollectionsFilterSet, collections_list, collections_order, rows_iter
from .workbench import rows_complete as workbench_rows


class DunningStepForm(forms.Form):
    """The next step of an account. The rules are the service's (``dunning.step_take``); this form only
    reads the input."""

    kind = forms.ChoiceField(label=gettext_lazy("Step"), choices=DunningStepKind.choices)
    done_on = forms.DateField(
        label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    approved_by = forms.ModelChoiceField(
        label=gettext_lazy("Approved by"),
        queryset=None,
        required=False,
        help_text=gettext_lazy("A notice of supply suspension: the supervisor who approved it."),
    )
    suspension_planned_on = forms.DateField(
        label=gettext_lazy("Suspension planned on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("A notice of supply suspension: 3 to 7 days after it is served."),
    )
    suspension_planned_time = forms.TimeField(
        label=gettext_lazy("Suspension planned at"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    reported_to_authority = forms.BooleanField(
        label=gettext_lazy("Reported to the power administration"),
        required=False,
        help_text=gettext_lazy("Required for important users."),
    )
    warned_before_suspension = forms.BooleanField(
        label=gettext_lazy("Customer warned again 30 minutes before"),
        required=False,
        help_text=gettext_lazy("Required to suspend supply."),
    )
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=300)

    def __init__(self, *args, account: ElectricityAccount, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["approved_by"].queryset = dunning.approvers_for(account.customer)
        for name, field in self.fields.items():
            field.widget.attrs.setdefault(
                "class", "form-check-input" if isinstance(field, forms.BooleanField) else "form-control"
            )
            if name in ("kind", "approved_by"):
                field.widget.attrs["class"] = "form-select"


def _account(user, pk: int) -> ElectricityAccount:
    return get_object_or_404(ElectricityAccount.objects.visible_to(user).select_related("customer__org_unit"), pk=pk)


def account_cases(account: ElectricityAccount) -> list[DunningCase]:
    """The account's cases, newest first, each with its steps and who took and approved them (two queries)."""
    steps = DunningStep.objects.select_related("done_by", "approved_by").order_by("done_on", "pk")
    return list(
        DunningCase.objects.filter(account=account)
        .order_by("-opened_on", "-pk")
        .prefetch_related(Prefetch("steps", queryset=steps))
    )


def dunning_card(account: ElectricityAccount, *, user, today: datetime.date | None = None) -> dict:
    """What the account billing page's dunning card (``billing/_account_dunning.html``) shows: include it
    ``with dunning=dunning_card(account, user=request.user)``. Four queries."""
    state = dunning.dunning_state(account, today)
    latest = state.case or DunningCase.objects.filter(account=account).order_by("-opened_on", "-pk").first()
    return {
        "account": account,
        "state": state,
        "latest_case": latest,
        "can_act": does_billing(user),
        "url": reverse("billing:account_dunning", args=[account.pk]),
    }


class AccountDunningView(LoginRequiredMixin, TemplateView):
    """An account's dunning: cases and steps (with their notices), the next allowed step and its form."""

    template_name = "billing/dunning_account.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.account = _account(request.user, kwargs["pk"])
        self.today = timezone.localdate()
        return super().dispatch(request, *args, **kwargs)

    def form(self, data=None) -> DunningStepForm:
        state = dunning.dunning_state(self.account, self.today)
        self.state = state
        kind = self.request.GET.get("kind") or state.next.kind or DunningStepKind.REMINDER
        planned = self.today + datetime.timedelta(days=dunning.notice_min_days())
        return DunningStepForm(
            data,
            account=self.account,
            initial={"kind": kind, "done_on": self.today, "suspension_planned_on": planned},
        )

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=self.form()))

    def post(self, request, *args, **kwargs):
        if not does_billing(request.user):
            raise PermissionDenied
        form = self.form(request.POST)
        step = None
        if form.is_valid():
            try:
                step = dunning.step_take(account=self.account, user=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
        if request.htmx:
            return self.action_partial(step, form)
        if step is not None:
            messages.success(request, _("%(step)s recorded.") % {"step": step.get_kind_display()})
            return redirect("billing:account_dunning", pk=self.account.pk)
        return self.render_to_response(self.get_context_data(form=form))

    def action_partial(self, step: DunningStep | None, form: DunningStepForm):
        """The workbench row's action cell after a step taken from the workbench (HTMX)."""
        state = dunning.dunning_state(self.account, self.today)
        row = SimpleNamespace(pk=self.account.pk, next=state.next)
        errors = [str(e) for errors in form.errors.values() for e in errors]
        context = {"row": row, "can_act": True, "today": self.today, "taken": step, "action_errors": errors}
        return render(self.request, "billing/workbench.html#action", context)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not hasattr(self, "state"):
            self.state = dunning.dunning_state(self.account, self.today)
        context.update(
            nav="billing",
            account=self.account,
            customer=self.account.customer,
            state=self.state,
            cases=account_cases(self.account),
            can_act=does_billing(self.request.user),
            important=dunning.is_important(self.account.customer),
            today=self.today,
        )
        return context


class DunningNoticeView(LoginRequiredMixin, TemplateView):
    """A served notice, printable: the text kept when the step was taken."""

    template_name = "billing/dunning_notice.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        visible = ElectricityAccount.objects.visible_to(self.request.user)
        step = get_object_or_404(
            DunningStep.objects.filter(case__account__in=visible.values("pk")).select_related(
                "case__account__customer", "done_by"
            ),
            pk=kwargs["pk"],
        )
        if not step.notice_text:
            raise Http404
        context.update(nav="billing", step=step, account=step.case.account)
        return context


WORKBENCH_COLUMNS = (
    Column(gettext_lazy("Customer"), lambda a: a.customer.name, 28),
    Column(gettext_lazy("Account"), lambda a: a.account_no, 16),
    Column(gettext_lazy("Account name"), lambda a: a.name, 24),
    Column(gettext_lazy("Org unit"), lambda a: a.customer.org_unit.name, 16),
    Column(gettext_lazy("Manager"), lambda a: a.manager_name or a.manager_username, 12),
    Column(gettext_lazy("Arrears (yuan)"), lambda a: a.arrears, 14),
    Column(gettext_lazy("Oldest due"), lambda a: a.oldest_due, 12),
    Column(gettext_lazy("Days overdue"), lambda a: a.days_overdue, 10),
    Column(gettext_lazy("Overdue"), lambda a: str(a.bucket_label), 12),
    Column(gettext_lazy("Penalty to date (yuan)"), lambda a: a.penalty, 14),
    Column(gettext_lazy("Risk level"), lambda a: str(a.risk_label), 10),
    Column(gettext_lazy("Risk score"), lambda a: a.risk_score, 10),
    Column(gettext_lazy("Dunning state"), lambda a: str(a.dunning_label), 16),
    Column(gettext_lazy("Next step"), lambda a: a.next.label, 16),
    Column(gettext_lazy("Allowed from"), lambda a: a.next.allowed_from, 12),
)


FILTER_SELECTS = ("org_unit", "risk_level", "bucket", "dunning_state", "manager")


class WorkbenchView(StaffPageMixin, FilteredListView):
    """Accounts in arrears the user sees, highest risk and largest arrears first, each with its next step."""

    template_name = "billing/workbench.html"
    filterset_class = CollectionsFilterSet
    sort_fields = {key: fields[0] for key, fields in SORTS.items()}
    default_sort = DEFAULT_SORT
    nulls_last = True
    export_columns = WORKBENCH_COLUMNS
    export_filename = "collections"
    export_title = gettext_lazy("Collections workbench")

    def base_queryset(self):
        self.today = timezone.localdate()
        return collections_list(user=self.request.user, today=self.today)

    def get_queryset(self):
        return collections_order(super().get_queryset(), self.get_sort())

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") == "xlsx":
            queryset = self.get_queryset()
            return xlsx_response(
                filename=self.export_filename,
                title=str(self.export_title),
                columns=self.export_columns,
                rows=rows_iter(queryset, self.today),
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = workbench_rows(context["object_list"], self.today)
        context["object_list"] = rows
        if context.get("page_obj") is not None:
            context["page_obj"].object_list = rows
        fields = self.filterset.form.fields
        # Comprehensions, not list(): list() asks a model choice iterator for its length, one COUNT query more.
        choices = {name: [choice for choice in fields[name].choices] for name in FILTER_SELECTS}
        context.update(nav="billing", today=self.today, can_act=does_billing(self.request.user), choices=choices)
        return context
