"""Bill runs and bills in the browser.

- ``/billing/runs/``: the runs, and (billing staff) a form to bill a month now or in the background;
- ``/billing/runs/<pk>/``: a run's counts, the accounts it did not bill with the reason, its bills, its progress
  polled with HTMX while it runs, "issue all drafts", Excel of the skipped accounts and of the bills;
- ``/billing/bills/``: the bills the user may see, filtered, sorted, paginated, to Excel;
- ``/billing/bills/<pk>/``: a bill with its lines, each rule in words, its corrections; issue and correct.

Bills are visible to whoever sees the account's customer (portal users their own, never drafts); runs are
back-office pages; issuing, correcting and running are billing work (clerks, supervisors, administrators).
"""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import DetailView

from gridkam.core.exports import Column, xlsx_response
from gridkam.core.ids import id_from
from gridkam.core.views import FilteredListView

from .billrun import (
    BillFilterSet,
    BillRunFilterSet,
    bill_correct,
    bill_corrections,
    bill_get,
    bill_issue,
    bill_lines_explained,
    bill_list,
    bill_run,
    bill_run_enqueue,
    bill_run_list,
    bill_runs_interrupted_mark,
    bills_issue,
    period_parse,
    run_numbers_visible,
    run_progress,
    run_skipped_visible,
)
from .choices import BillKind, BillSource, BillStatus, RunStatus
from .models import Bill, BillRun
from .permissions import BillingWorkMixin, StaffPageMixin, does_billing

PROGRESS_POLL = "2s"
RUN_BILLS_PAGE = 50

RUN_COLUMNS = (
    Column(gettext_lazy("Run"), lambda r: r.pk, 8),
    Column(gettext_lazy("Billing month"), lambda r: f"{r.period:%Y-%m}", 10),
    Column(gettext_lazy("Status"), lambda r: r.get_status_display(), 12),
    Column(gettext_lazy("Started by"), lambda r: str(r.created_by) if r.created_by else "", 16),
    Column(gettext_lazy("Started"), lambda r: r.created_at, 18),
    Column(gettext_lazy("Finished"), lambda r: r.finished_at, 18),
    Column(gettext_lazy("Accounts"), lambda r: r.accounts, 10),
    Column(gettext_lazy("Bills created"), lambda r: r.created, 10),
    Column(gettext_lazy("Drafts replaced"), lambda r: r.replaced, 10),
    Column(gettext_lazy("Accounts not billed"), lambda r: len(r.skipped or []), 10),
)
BILL_COLUMNS = (
    Column(gettext_lazy("Bill number"), lambda b: b.number or "", 24),
    Column(gettext_lazy("Account"), lambda b: b.account.account_no, 16),
    Column(gettext_lazy("Customer"), lambda b: b.account.customer.name, 28),
    Column(gettext_lazy("Billing month"), lambda b: f"{b.period:%Y-%m}", 10),
    Column(gettext_lazy("Kind"), lambda b: b.get_kind_display(), 12),
    Column(gettext_lazy("Status"), lambda b: b.get_status_display(), 10),
    Column(gettext_lazy("Source"), lambda b: b.get_source_display(), 16),
    Column(gettext_lazy("Tariff version"), lambda b: b.tariff_label, 24),
    Column(gettext_lazy("Energy (kWh)"), lambda b: b.energy_kwh, 14),
    Column(gettext_lazy("Energy charge"), lambda b: b.energy_charge, 14),
    Column(gettext_lazy("Basic charge"), lambda b: b.basic_charge, 14),
    Column(gettext_lazy("Power-factor adjustment"), lambda b: b.pf_adjustment, 14),
    Column(gettext_lazy("Government funds"), lambda b: b.government_funds, 14),
    Column(gettext_lazy("Total"), lambda b: b.total, 14),
    Column(gettext_lazy("Issued on"), lambda b: b.issue_date, 12),
    Column(gettext_lazy("Due"), lambda b: b.due_date, 12),
)
SKIPPED_COLUMNS = (
    Column(gettext_lazy("Account"), lambda e: e["account_no"], 16),
    Column(gettext_lazy("Reason"), lambda e: e["label"], 24),
    Column(gettext_lazy("Detail"), lambda e: e["message"], 80),
)


def last_month() -> str:
    first = timezone.localdate().replace(day=1)
    return f"{(first - datetime.timedelta(days=1)):%Y-%m}"


class BillRunForm(forms.Form):
    period = forms.CharField(
        label=gettext_lazy("Billing month"), max_length=7, help_text=gettext_lazy("YYYY-MM, e.g. 2026-03.")
    )
    account_nos = forms.CharField(
        label=gettext_lazy("Only these accounts"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Account numbers separated by spaces, commas or lines; empty: every account."),
    )
    background = forms.BooleanField(
        label=gettext_lazy("Run in the background"),
        required=False,
        help_text=gettext_lazy("Recommended for a whole month: the page shows the run's progress."),
    )

    def clean_period(self):
        try:
            return period_parse(self.cleaned_data["period"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["period"]) from None

    def clean_account_nos(self):
        text = self.cleaned_data.get("account_nos") or ""
        return [part for part in text.replace(",", " ").replace("，", " ").replace(";", " ").split() if part]


class BillRunListView(StaffPageMixin, FilteredListView):
    """The runs, newest first; billing staff start one from here (POST)."""

    template_name = "billing/billrun_list.html"
    filterset_class = BillRunFilterSet
    sort_fields = {"created_at": "created_at", "period": "period", "status": "status", "accounts": "accounts"}
    default_sort = "-created_at"
    export_columns = RUN_COLUMNS
    export_filename = "bill-runs"
    export_title = gettext_lazy("Bill runs")
    form: BillRunForm | None = None

    def get(self, request, *args, **kwargs):
        bill_runs_interrupted_mark()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if not does_billing(request.user):
            raise PermissionDenied
        self.form = BillRunForm(request.POST)
        if self.form.is_valid():
            data = self.form.cleaned_data
            try:
                if data["background"]:
                    run = bill_run_enqueue(period=data["period"], account_nos=data["account_nos"], user=request.user)
                    run.refresh_from_db()
                else:
                    run = bill_run(period=data["period"], account_nos=data["account_nos"], user=request.user)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        self.form.add_error(field if field in self.form.fields else None, error)
            else:
                self._announce(run)
                return redirect("billing:run_detail", pk=run.pk)
        self.object_list = self.get_queryset()
        response = self.render_to_response(self.get_context_data())
        response.status_code = 400
        return response

    def _announce(self, run: BillRun) -> None:
        if run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
            messages.info(
                self.request,
                _("Bill run #%(run)s runs in the background; this page shows how far it has come.") % {"run": run.pk},
            )
        elif run.status == RunStatus.DONE:
            messages.success(
                self.request,
                _("Bill run #%(run)s: %(created)d bills created, %(replaced)d drafts replaced, %(skipped)d not billed.")
                % {"run": run.pk, "created": run.created, "replaced": run.replaced, "skipped": len(run.skipped)},
            )
        else:
            messages.error(self.request, _("Bill run #%(run)s failed.") % {"run": run.pk})

    def base_queryset(self):
        return bill_run_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        can_bill = does_billing(self.request.user)
        context.update(
            nav="billing",
            can_bill=can_bill,
            form=self.form or (BillRunForm(initial={"period": last_month()}) if can_bill else None),
        )
        return context


class BillRunDetailView(StaffPageMixin, DetailView):
    template_name = "billing/billrun_detail.html"
    context_object_name = "run"

    def get(self, request, *args, **kwargs):
        if (run_id := id_from(kwargs["pk"])) is not None:
            bill_runs_interrupted_mark(run_ids=[run_id])
        self.object = self.get_object()
        export = request.GET.get("export")
        if export == "skipped":
            return xlsx_response(
                filename=f"bill-run-{self.object.pk}-not-billed",
                title=str(_("Accounts not billed")),
                columns=SKIPPED_COLUMNS,
                rows=run_skipped_visible(run=self.object, user=request.user),
            )
        if export == "bills":
            return xlsx_response(
                filename=f"bill-run-{self.object.pk}-bills",
                title=str(_("Bills")),
                columns=BILL_COLUMNS,
                rows=self.run_bills().iterator(chunk_size=2000),
            )
        return self.render_to_response(self.get_context_data(object=self.object))

    def get_queryset(self):
        return bill_run_list(user=self.request.user)

    def run_bills(self):
        return bill_list(user=self.request.user).filter(run=self.object).order_by("account__account_no", "pk")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        run = self.object
        skipped = run_skipped_visible(run=run, user=self.request.user)
        bills = self.run_bills()
        page = Paginator(bills, RUN_BILLS_PAGE).get_page(self.request.GET.get("page"))
        can_bill = does_billing(self.request.user)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            nav="billing",
            progress=run_progress(run),
            poll=PROGRESS_POLL,
            account_nos=run_numbers_visible(run=run, user=self.request.user),
            problems=[e for e in skipped if e["reason"] != "issued"],
            left_alone=[e for e in skipped if e["reason"] == "issued"],
            page_obj=page,
            paginator=page.paginator,
            bills=page.object_list,
            querystring=query.urlencode(),
            can_bill=can_bill,
            drafts=bills.filter(status=BillStatus.DRAFT).count() if can_bill and run.status == RunStatus.DONE else 0,
        )
        return context


class BillRunProgressView(BillRunDetailView):
    """The progress fragment of a run page, polled while the run is queued or running; a finished run makes an
    HTMX request reload the page, which then shows the counts and the bills."""

    template_name = "billing/_billrun_progress.html"

    def get_context_data(self, **kwargs):
        return {"run": self.object, "progress": run_progress(self.object), "poll": PROGRESS_POLL}

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        if getattr(self.request, "htmx", False) and not context["progress"]["active"]:
            response["HX-Refresh"] = "true"
        return response


class BillRunIssueView(BillingWorkMixin, View):
    """Issue every draft of the run the user may see."""

    def post(self, request, pk: int):
        run = get_object_or_404(bill_run_list(user=request.user), pk=pk)
        result = bills_issue(period=run.period, user=request.user, run=run)
        messages.success(request, _("%(count)d bills issued.") % {"count": result.issued})
        for refused in result.refused:
            messages.warning(request, f"{refused['account_no']}: {refused['message']}")
        return redirect("billing:run_detail", pk=run.pk)


class BillListView(FilteredListView):
    template_name = "billing/bill_list.html"
    filterset_class = BillFilterSet
    sort_fields = {
        "account": "account__account_no",
        "customer": "account__customer__name",
        "period": "period",
        "status": "status",
        "kind": "kind",
        "total": "total",
        "due_date": "due_date",
        "number": "number",
    }
    default_sort = "-period"
    nulls_last = True
    export_columns = BILL_COLUMNS
    export_filename = "bills"
    export_title = gettext_lazy("Bills")

    def base_queryset(self):
        return bill_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        staff = not self.request.user.is_customer_user
        statuses = BillStatus.choices if staff else [c for c in BillStatus.choices if c[0] != BillStatus.DRAFT]
        context.update(
            nav="billing",
            statuses=statuses,
            kinds=BillKind.choices,
            sources=BillSource.choices,
            can_bill=does_billing(self.request.user),
            staff=staff,
        )
        return context


class CorrectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why is the bill corrected?"), max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )


class BillDetailView(LoginRequiredMixin, DetailView):
    template_name = "billing/bill_detail.html"
    context_object_name = "bill"
    correct_form: CorrectForm | None = None

    def get_object(self, queryset=None):
        try:
            return bill_get(user=self.request.user, pk=self.kwargs["pk"])
        except Bill.DoesNotExist:
            raise Http404 from None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        bill = self.object
        can_bill = does_billing(self.request.user)
        context.update(
            nav="billing",
            lines=bill_lines_explained(bill),
            chain=bill_corrections(bill=bill, user=self.request.user),
            can_issue=can_bill
            and bill.status == BillStatus.DRAFT
            and bill.source == BillSource.COMPUTED
            and bill.kind != BillKind.CREDIT_NOTE,
            can_correct=can_bill
            and bill.status == BillStatus.ISSUED
            and bill.source == BillSource.COMPUTED
            and bill.kind != BillKind.CREDIT_NOTE,
            correct_form=self.correct_form or CorrectForm(),
        )
        return context


class BillIssueView(BillingWorkMixin, View):
    def post(self, request, pk: int):
        bill = get_object_or_404(bill_list(user=request.user), pk=pk)
        try:
            bill = bill_issue(bill=bill, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Bill %(number)s is issued.") % {"number": bill.number})
        return redirect("billing:bill_detail", pk=bill.pk)


class BillCorrectView(BillingWorkMixin, View):
    def post(self, request, pk: int):
        bill = get_object_or_404(bill_list(user=request.user), pk=pk)
        form = CorrectForm(request.POST)
        if form.is_valid():
            try:
                note, rebill = bill_correct(bill=bill, user=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                if hasattr(exc, "error_dict") and "reason" in exc.error_dict:
                    form.add_error("reason", exc.error_dict["reason"])
                else:
                    form.add_error(None, exc)
            else:
                messages.success(
                    request,
                    _("Credit note %(note)s cancels bill %(bill)s; the rebill is a draft to check and issue.")
                    % {"note": note.number, "bill": bill.number},
                )
                return redirect("billing:bill_detail", pk=rebill.pk)
        view = BillDetailView(request=request, kwargs={"pk": pk}, correct_form=form)
        view.object = view.get_object()
        response = view.render_to_response(view.get_context_data(object=view.object))
        response.status_code = 400
        return response
