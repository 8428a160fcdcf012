"""Readings imports in the browser: the list of batches, upload → preview (a dry run) → confirm (the real
import), a batch's page and its rollback.

The uploaded file waits for the confirmation under DATA_DIR/pending/readings/ (outside MEDIA_ROOT, so it is
never served) with a random name that only the user's session knows; the browser never names a path.
Confirming imports the file again from the start, so data changed since the preview is judged afresh.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import DetailView, FormView

from gridkam.core.exports import Column
from gridkam.core.uploads import PendingUpload
from gridkam.core.views import FilteredListView, RoleRequiredMixin
from gridkam.users.choices import Role

from . import selectors
from .choices import BatchStatus, FileFormat
from .filters import ImportBatchFilterSet
from .forms import ALLOWED_SUFFIXES, ReadingsImportForm
from .loading import file_format_guess, readings_import
from .services import batch_rollback

SESSION_KEY = "metering_import_pending"
BATCH_COLUMNS = (
    Column(gettext_lazy("Import"), lambda b: b.pk, 8),
    Column(gettext_lazy("File"), lambda b: b.file_name, 32),
    Column(gettext_lazy("Format"), lambda b: b.get_file_format_display(), 24),
    Column(gettext_lazy("Status"), lambda b: b.get_status_display(), 18),
    Column(gettext_lazy("Imported by"), lambda b: str(b.created_by) if b.created_by else "", 16),
    Column(gettext_lazy("Started"), lambda b: b.created_at, 18),
    Column(gettext_lazy("Readings in the file"), lambda b: b.rows, 12),
    Column(gettext_lazy("Inserted"), lambda b: b.inserted, 12),
    Column(gettext_lazy("Updated"), lambda b: b.updated, 12),
    Column(gettext_lazy("Unchanged"), lambda b: b.unchanged, 12),
    Column(gettext_lazy("Rejected rows"), lambda b: b.rejected_count, 12),
)


def pending_dir() -> Path:
    return Path(settings.DATA_DIR) / "pending" / "readings"


def can_import(user) -> bool:
    return user.is_authenticated and (user.is_administrator or user.is_supervisor)


@dataclass
class PendingReadings(PendingUpload):
    """A readings file awaiting confirmation of its dry run."""

    file_format: str = ""
    skip_invalid: bool = False

    session_key: ClassVar[str] = SESSION_KEY
    allowed_suffixes: ClassVar[tuple[str, ...]] = ALLOWED_SUFFIXES

    @classmethod
    def folder(cls) -> Path:
        return pending_dir()

    def is_valid(self) -> bool:
        return self.file_format in FileFormat.values


class ImportAccessMixin(RoleRequiredMixin):
    # Administrators and supervisors load interval data; other staff read the batches they imported.
    allowed_roles = (Role.SUPERVISOR,)


class StaffOnlyMixin(LoginRequiredMixin):
    """Import batches are a back-office record: customers' portal users have no page here."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.is_customer_user:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class ImportBatchListView(StaffOnlyMixin, FilteredListView):
    template_name = "metering/import_batch_list.html"
    filterset_class = ImportBatchFilterSet
    sort_fields = {
        "id": "pk",
        "file": "file_name",
        "status": "status",
        "created_at": "created_at",
        "rows": "rows",
        "inserted": "inserted",
        "updated": "updated",
        "unchanged": "unchanged",
        "rejected": "rejected_count",
    }
    default_sort = "-created_at"
    export_columns = BATCH_COLUMNS
    export_filename = "readings-imports"
    export_title = gettext_lazy("Readings imports")

    def base_queryset(self):
        return selectors.import_batch_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(nav="interval_data", can_import=can_import(self.request.user))
        return context


class ImportBatchDetailView(StaffOnlyMixin, DetailView):
    template_name = "metering/import_batch_detail.html"
    context_object_name = "batch"

    def get_queryset(self):
        return selectors.import_batch_visible(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        batch = self.object
        context.update(
            nav="interval_data",
            can_roll_back=can_import(self.request.user) and batch.status == BatchStatus.COMMITTED,
        )
        return context


def _render_preview(request, pending: PendingReadings, outcome):
    blocked = bool(outcome.rejected) and (not pending.skip_invalid or any(r["line"] == 0 for r in outcome.rejected))
    return render(
        request,
        "metering/import_batch_preview.html",
        {
            "nav": "interval_data",
            "pending": pending,
            "format_label": FileFormat(pending.file_format).label,
            "outcome": outcome,
            "blocked": blocked,
        },
    )


class ImportUploadView(ImportAccessMixin, FormView):
    template_name = "metering/import_batch_upload.html"
    form_class = ReadingsImportForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(nav="interval_data", pending=PendingReadings.from_session(self.request.session))
        return context

    def form_valid(self, form):
        session = self.request.session
        pending = PendingReadings.store(
            upload=form.cleaned_data["file"], session=session, skip_invalid=form.cleaned_data["skip_invalid"]
        )
        # A header that names neither format is read as "long": the parser then names the columns it wants.
        pending.file_format = form.cleaned_data["file_format"] or file_format_guess(pending.path) or FileFormat.LONG
        pending.remember(session)
        outcome = readings_import(
            data=pending.path,
            file_name=pending.name,
            file_format=pending.file_format,
            user=self.request.user,
            dry_run=True,
            skip_invalid=pending.skip_invalid,
        )
        return _render_preview(self.request, pending, outcome)


class ImportConfirmView(ImportAccessMixin, View):
    def post(self, request):
        pending = PendingReadings.from_session(request.session)
        if pending is None:
            messages.info(request, _("Upload a file to import."))
            return redirect("metering:import_new")
        if not secrets.compare_digest(request.POST.get("preview", ""), pending.nonce):
            # Confirming a preview from another tab, after a newer upload replaced its file.
            messages.warning(request, _("That preview was out of date. Upload the file again to check it."))
            return redirect("metering:import_new")
        if not pending.path.is_file():
            pending.discard(request.session)
            messages.error(request, _("The uploaded file is no longer there; upload it again."))
            return redirect("metering:import_new")
        outcome = readings_import(
            data=pending.path,
            file_name=pending.name,
            file_format=pending.file_format,
            user=request.user,
            skip_invalid=pending.skip_invalid,
        )
        pending.discard(request.session)
        if outcome.committed:
            messages.success(
                request,
                _("Imported %(file)s: %(inserted)d inserted, %(updated)d updated, %(unchanged)d unchanged.")
                % {
                    "file": pending.name,
                    "inserted": outcome.inserted,
                    "updated": outcome.updated,
                    "unchanged": outcome.unchanged,
                },
            )
        else:
            messages.error(request, _("The file no longer imports cleanly; nothing was written."))
        return redirect("metering:import_detail", pk=outcome.batch)


class ImportCancelView(ImportAccessMixin, View):
    def post(self, request):
        pending = PendingReadings.from_session(request.session)
        if pending is not None:
            pending.discard(request.session)
            messages.info(request, _("Import cancelled; the uploaded file was deleted."))
        return redirect("metering:import_new")


class ImportRollbackView(ImportAccessMixin, View):
    def post(self, request, pk: int):
        batch = get_object_or_404(selectors.import_batch_visible(user=request.user), pk=pk)
        try:
            batch_rollback(batch=batch, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Import #%(batch)s is rolled back.") % {"batch": batch.pk})
        return redirect("metering:import_detail", pk=batch.pk)
