"""Billing-system imports and their reconciliation in the browser.

Imports: the list of imports with the upload form → preview (a dry run) → confirm (the real import), as the
master-data import does. The uploaded file waits for the confirmation under DATA_DIR/pending/billing/ (never
served) with a random name only the user's session knows; confirming imports it again from the start, so a
change to the data since the preview is judged afresh. Billing clerks, supervisors and administrators only.

Reconciliation: ``/billing/reconcile/?period=YYYY-MM`` for utility staff (the accounts each may see), with a
status filter, the per-account line comparison folded in ``<details>``, and ``?export=xlsx``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from gridkam.core.exports import Column, Sheet, xlsx_sheets_response
from gridkam.core.uploads import PendingUpload, upload_check
from gridkam.core.views import HtmxTableMixin

from .choices import ImportKind
from .imports import (
    COLUMNS,
    CREATE,
    KINDS,
    UNCHANGED,
    BillingImportResult,
    billing_import,
    billing_imports_visible,
    column_docs,
    parse_period,
)
from .permissions import BillingWorkMixin, StaffPageMixin
from .reconcile import STATUS_CHOICES, latest_imported_period, reconcile

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
PREVIEW_ROWS = 200
SESSION_KEY = "billing_import_pending"
ALLOWED_SUFFIXES = (".csv", ".txt", ".xlsx")
SAMPLE_FILES = {
    ImportKind.BILLS: ("bills.csv", "bills.xlsx"),
    ImportKind.PAYMENTS: ("payments.csv", "payments.xlsx"),
}
RECONCILE_PAGE_SIZE = 50


def pending_dir() -> Path:
    return Path(settings.DATA_DIR) / "pending" / "billing"


def samples_dir() -> Path:
    return Path(__file__).resolve().parent / "data"


@dataclass
class PendingBillingImport(PendingUpload):
    """A billing-system export awaiting confirmation of its preview."""

    kind: str = ""

    session_key: ClassVar[str] = SESSION_KEY
    allowed_suffixes: ClassVar[tuple[str, ...]] = ALLOWED_SUFFIXES

    @classmethod
    def folder(cls) -> Path:
        return pending_dir()

    def is_valid(self) -> bool:
        return self.kind in KINDS


class BillingImportForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What to import"),
        choices=ImportKind.choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("CSV (UTF-8 or GBK) or Excel .xlsx exported by the billing system, at most 20 MB."),
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ",".join(ALLOWED_SUFFIXES)}),
    )

    def clean_file(self):
        return upload_check(self.cleaned_data["file"], allowed_suffixes=ALLOWED_SUFFIXES)


def _kinds() -> list[dict]:
    labels = dict(ImportKind.choices)
    return [
        {"value": kind, "label": labels[kind], "columns": column_docs(kind), "samples": SAMPLE_FILES[kind]}
        for kind in COLUMNS
    ]


class BillingImportListView(BillingWorkMixin, TemplateView):
    """The imports the user may see, newest first, and the upload form."""

    template_name = "billing/import_list.html"
    paginate_by = 25

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        imports = billing_imports_visible(self.request.user).select_related("created_by")
        page = Paginator(imports, self.paginate_by).get_page(self.request.GET.get("page"))
        context.update(
            nav="billing",
            form=form or BillingImportForm(),
            kinds=_kinds(),
            page_obj=page,
            paginator=page.paginator,
            imports=page.object_list,
            querystring="",
            pending=PendingBillingImport.from_session(self.request.session),
        )
        return context

    def post(self, request):
        form = BillingImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        PendingBillingImport.store(
            upload=form.cleaned_data["file"], session=request.session, kind=form.cleaned_data["kind"]
        )
        return redirect("billing:import_preview")


def _render_preview(
    request, pending: PendingBillingImport, result: BillingImportResult, *, changed_since_preview: bool = False
) -> HttpResponse:
    rejected = [
        {
            "line": item["line"],
            "errors": [
                {"key": key, "column": result.columns.get(key, key), "messages": messages_}
                for key, messages_ in item["errors"].items()
            ],
        }
        for item in result.rejected[:PREVIEW_ROWS]
    ]
    return render(
        request,
        "billing/import_preview.html",
        {
            "nav": "billing",
            "pending": pending,
            "kind_label": dict(ImportKind.choices)[pending.kind],
            "result": result,
            "preview_rows": result.preview[:PREVIEW_ROWS],
            "rejected_rows": rejected,
            "preview_limit": PREVIEW_ROWS,
            "changed_since_preview": changed_since_preview,
            "CREATE": CREATE,
            "UNCHANGED": UNCHANGED,
        },
        status=200,
    )


class BillingImportPreviewView(BillingWorkMixin, View):
    def get(self, request):
        pending, data = PendingBillingImport.read(request)
        if pending is None:
            return redirect("billing:import_list")
        result = billing_import(kind=pending.kind, data=data, file_name=pending.name, user=request.user, dry_run=True)
        return _render_preview(request, pending, result)


class BillingImportConfirmView(BillingWorkMixin, View):
    def post(self, request):
        pending, data = PendingBillingImport.read(request)
        if pending is None:
            return redirect("billing:import_list")
        if not secrets.compare_digest(request.POST.get("preview", ""), pending.nonce):
            # Confirming a preview from another tab, after a newer upload replaced its file.
            messages.warning(request, _("That preview was out of date. Check this preview before importing."))
            return redirect("billing:import_preview")
        result = billing_import(kind=pending.kind, data=data, file_name=pending.name, user=request.user)
        if not result.committed:
            return _render_preview(request, pending, result, changed_since_preview=True)
        pending.discard(request.session)
        messages.success(
            request,
            _("Imported %(file)s: %(created)d created, %(unchanged)d already there.")
            % {"file": pending.name, "created": result.created, "unchanged": result.unchanged},
        )
        return redirect("billing:import_list")


class BillingImportCancelView(BillingWorkMixin, View):
    def post(self, request):
        pending = PendingBillingImport.from_session(request.session)
        if pending is not None:
            pending.discard(request.session)
            messages.info(request, _("Import cancelled; the uploaded file was deleted."))
        return redirect("billing:import_list")


class BillingImportSampleView(BillingWorkMixin, View):
    def get(self, request, name: str):
        allowed = {file for files in SAMPLE_FILES.values() for file in files}
        path = samples_dir() / name
        if name not in allowed or not path.is_file():
            raise Http404
        return FileResponse(path.open("rb"), as_attachment=True, filename=name)


# --------------------------------------------------------------------------------------------
# Reconciliation


def _money(value) -> object:
    return value if value is not None else ""


ACCOUNT_COLUMNS = (
    Column(gettext_lazy("Account number"), lambda a: a.account_no, 14),
    Column(gettext_lazy("Account"), lambda a: a.account_name, 28),
    Column(gettext_lazy("Customer"), lambda a: a.customer_name, 28),
    Column(gettext_lazy("Bill number"), lambda a: a.bill_number, 18),
    Column(gettext_lazy("Status"), lambda a: a.status_label, 12),
    Column(gettext_lazy("Imported total"), lambda a: a.imported_total, 14),
    Column(gettext_lazy("Computed total"), lambda a: _money(a.computed_total), 14),
    Column(gettext_lazy("Difference"), lambda a: _money(a.difference), 12),
    Column(gettext_lazy("Tariff version"), lambda a: a.tariff_label, 24),
    Column(gettext_lazy("Reason"), lambda a: a.reason, 40),
)
LINE_COLUMNS = (
    Column(gettext_lazy("Account number"), lambda r: r[0].account_no, 14),
    Column(gettext_lazy("Account"), lambda r: r[0].account_name, 28),
    Column(gettext_lazy("Bill number"), lambda r: r[0].bill_number, 18),
    Column(gettext_lazy("Item"), lambda r: r[1].label, 20),
    Column(gettext_lazy("Imported"), lambda r: r[1].imported, 14),
    Column(gettext_lazy("Computed"), lambda r: _money(r[1].computed), 14),
    Column(gettext_lazy("Difference"), lambda r: _money(r[1].difference), 12),
    Column(gettext_lazy("GridKAM's rule"), lambda r: r[1].rule, 60),
)


def period_from(request, user) -> tuple[dt.date, str]:
    """The month asked for (``?period=YYYY-MM``), else the latest month with imported bills; and an error text."""
    raw = request.GET.get("period", "").strip()
    if raw:
        try:
            return parse_period(raw), ""
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = ""
    latest = latest_imported_period(user)
    if latest is None:
        today = timezone.localdate()
        latest = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    return latest, error


class ReconcileView(StaffPageMixin, HtmxTableMixin, TemplateView):
    template_name = "billing/reconcile.html"

    def get(self, request, *args, **kwargs):
        period, self.period_error = period_from(request, request.user)
        self.report = reconcile(period, request.user)
        status = request.GET.get("status", "")
        self.status = status if status in dict(STATUS_CHOICES) else ""
        if request.GET.get("export") == "xlsx":
            return self.export()
        return super().get(request, *args, **kwargs)

    def export(self) -> HttpResponse:
        accounts = self.report.with_status(self.status)
        differing = [(a, line) for a in accounts for line in a.differing]
        return xlsx_sheets_response(
            filename=f"reconciliation-{self.report.period:%Y-%m}",
            sheets=[
                Sheet(title=str(gettext_lazy("Accounts")), columns=ACCOUNT_COLUMNS, rows=accounts),
                Sheet(title=str(gettext_lazy("Differing lines")), columns=LINE_COLUMNS, rows=differing),
            ],
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        accounts = self.report.with_status(self.status)
        page = Paginator(accounts, RECONCILE_PAGE_SIZE).get_page(self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        query["period"] = f"{self.report.period:%Y-%m}"
        context.update(
            nav="billing",
            report=self.report,
            period_value=f"{self.report.period:%Y-%m}",
            period_error=self.period_error,
            status=self.status,
            status_choices=STATUS_CHOICES,
            page_obj=page,
            paginator=page.paginator,
            rows=page.object_list,
            querystring=query.urlencode(),
            MATCH="match",
            DIFFERS="differs",
        )
        return context
