"""Readings imports in the browser: the list of batches, upload → preview (a dry run) → confirm (the real
import), a batch's page and its rollback.

The uploaded file waits for the confirmation under DATA_DIR/pending/readings/ (outside MEDIA_ROOT, so it is
never served) with a random name that only the user's session knows; the browser never names a path.
Confirming imports the file again from the start, so data changed since the preview is judged afresh, either in
the request or, "in the background", by a Celery worker: the file then moves to the jobs folder and the batch
page shows the import's progress, polled with HTMX, until it is finished.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import DetailView, FormView

from gridkam.core.exports import Column
from gridkam.core.uploads import PendingUpload
from gridkam.core.views import FilteredListView, RoleRequiredMixin, StaffOnlyMixin
from gridkam.users.choices import Role

from . import selectors
from .choices import BatchStatus, FileFormat
from .filters import ImportBatchFilterSet
from .forms import ALLOWED_SUFFIXES, ReadingsImportForm
from .loading import file_format_guess, readings_import
from .services import batch_rollback, batches_interrupted_mark, readings_import_enqueue

SESSION_KEY = "metering_import_pending"
# Above this size the preview offers the background import ticked: the request would take a while.
BACKGROUND_DEFAULT_BYTES = 5 * 1024 * 1024
# How often the batch page asks for the progress of a queued or running import.
PROGRESS_POLL = "2s"
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

    def get(self, request, *args, **kwargs):
        # Imports whose process died are marked here, lazily, rather than by a periodic job nobody runs at home.
        batches_interrupted_mark()
        return super().get(request, *args, **kwargs)

    def base_queryset(self):
        return selectors.import_batch_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(nav="interval_data", can_import=can_import(self.request.user))
        return context


def progress_context(batch) -> dict:
    """The progress bar's context: whether to keep polling, and the progress with its percentage."""
    progress = selectors.import_batch_progress(batch=batch)
    if progress is not None:
        total = progress["total"]
        progress = {**progress, "percent": min(100, progress["done"] * 100 // total) if total else 0}
    return {
        "active": batch.status in (BatchStatus.QUEUED, BatchStatus.RUNNING),
        "progress": progress,
        "poll": PROGRESS_POLL,
    }


class ImportBatchDetailView(StaffOnlyMixin, DetailView):
    template_name = "metering/import_batch_detail.html"
    context_object_name = "batch"

    def get(self, request, *args, **kwargs):
        batches_interrupted_mark(batch_ids=[kwargs["pk"]])
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.import_batch_visible(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        batch = self.object
        context.update(
            nav="interval_data",
            can_roll_back=can_import(self.request.user) and batch.status == BatchStatus.COMMITTED,
            **progress_context(batch),
        )
        return context


class ImportBatchProgressView(ImportBatchDetailView):
    """The progress fragment of a batch page, polled while the import is queued or running. Once it is finished,
    an HTMX request is told to reload the page, which then shows the counts, the rejected lines and the gaps."""

    template_name = "metering/_batch_progress.html"

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        if self.request.htmx and not context["active"]:
            response["HX-Refresh"] = "true"
        return response


def _render_preview(request, pending: PendingReadings, outcome):
    blocked = bool(outcome.rejected) and (not pending.skip_invalid or any(r["line"] == 0 for r in outcome.rejected))
    try:
        size = pending.path.stat().st_size
    except OSError:
        size = 0
    return render(
        request,
        "metering/import_batch_preview.html",
        {
            "nav": "interval_data",
            "pending": pending,
            "format_label": FileFormat(pending.file_format).label,
            "outcome": outcome,
            "blocked": blocked,
            "background_default": size > BACKGROUND_DEFAULT_BYTES,
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
        if request.POST.get("background"):
            return self._queue(request, pending)
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

    def _queue(self, request, pending: PendingReadings):
        batch = readings_import_enqueue(
            source=pending.path,
            file_name=pending.name,
            file_format=pending.file_format,
            skip_invalid=pending.skip_invalid,
            user=request.user,
            move=True,
        )
        pending.discard(request.session)
        # Without a broker the import has run already (eagerly, when the batch was committed).
        batch.refresh_from_db()
        if batch.status in (BatchStatus.QUEUED, BatchStatus.RUNNING):
            messages.info(
                request,
                _("Import #%(batch)s runs in the background; this page shows how far it has come.")
                % {"batch": batch.pk},
            )
        elif batch.status == BatchStatus.COMMITTED:
            messages.success(
                request,
                _("Imported %(file)s: %(inserted)d inserted, %(updated)d updated, %(unchanged)d unchanged.")
                % {
                    "file": batch.file_name,
                    "inserted": batch.inserted,
                    "updated": batch.updated,
                    "unchanged": batch.unchanged,
                },
            )
        elif batch.status == BatchStatus.REJECTED:
            messages.error(request, _("The file no longer imports cleanly; nothing was written."))
        else:
            messages.error(request, _("The import failed; nothing was written."))
        return redirect("metering:import_detail", pk=batch.pk)


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
