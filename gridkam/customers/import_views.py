"""Master-data import in the browser: upload → preview (a dry run) → confirm (the real import).

The uploaded file waits for the confirmation under MEDIA_ROOT/imports/ with a random name that only
the user's session knows; the browser never names a path. Confirming runs the whole import again,
so a change to the data since the preview is caught and rejected like any other bad row.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView

from gridkam.core.uploads import PendingUpload, upload_check
from gridkam.core.views import RoleRequiredMixin
from gridkam.users.choices import Role

from .importing import COLUMNS, CREATE, KIND_CHOICES, UNCHANGED, UPDATE, import_scope_path, master_data_import

PREVIEW_ROWS = 200
SESSION_KEY = "customers_import_pending"
ALLOWED_SUFFIXES = (".csv", ".txt", ".xlsx")
SAMPLE_FILES = {
    "org_units": ("org_units.csv",),
    "accounts": ("accounts.csv", "accounts.xlsx"),
    "contacts": ("contacts.csv",),
    "monthly_usage": ("monthly_usage.csv",),
}


def imports_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def samples_dir() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "samples"


@dataclass
class PendingImport(PendingUpload):
    """A master-data file awaiting confirmation of its preview."""

    kind: str

    session_key: ClassVar[str] = SESSION_KEY
    allowed_suffixes: ClassVar[tuple[str, ...]] = ALLOWED_SUFFIXES

    @classmethod
    def folder(cls) -> Path:
        return imports_dir()

    def is_valid(self) -> bool:
        return self.kind in COLUMNS


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What to import"),
        choices=KIND_CHOICES,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("CSV (UTF-8 or GB18030) or Excel .xlsx, at most 20 MB."),
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ",".join(ALLOWED_SUFFIXES)}),
    )

    def clean_file(self):
        return upload_check(self.cleaned_data["file"], allowed_suffixes=ALLOWED_SUFFIXES)


class ImportAccessMixin(RoleRequiredMixin):
    # Administrators anywhere; supervisors within their own unit (enforced row by row by the import).
    # One gate for every kind, monthly usage included: the pages and the menu know roles, not kinds.
    allowed_roles = (Role.SUPERVISOR,)


def _kinds() -> list[dict]:
    labels = dict(KIND_CHOICES)
    return [
        {"value": kind, "label": labels[kind], "columns": columns, "samples": SAMPLE_FILES[kind]}
        for kind, columns in COLUMNS.items()
    ]


class ImportUploadView(ImportAccessMixin, FormView):
    template_name = "customers/import_upload.html"
    form_class = ImportUploadForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.update(
            nav="import",
            kinds=_kinds(),
            scope_unit=None if user.is_administrator else user.org_unit,
            pending=PendingImport.from_session(self.request.session),
        )
        return context

    def form_valid(self, form):
        PendingImport.store(
            upload=form.cleaned_data["file"], session=self.request.session, kind=form.cleaned_data["kind"]
        )
        return redirect("customers:import_preview")


def _render_preview(request, pending: PendingImport, result, *, changed_since_preview: bool = False) -> HttpResponse:
    labels = dict(KIND_CHOICES)
    return render(
        request,
        "customers/import_preview.html",
        {
            "nav": "import",
            "pending": pending,
            "kind_label": labels[pending.kind],
            "result": result,
            "preview_rows": result.preview[:PREVIEW_ROWS],
            "rejected_rows": result.rejected[:PREVIEW_ROWS],
            "preview_limit": PREVIEW_ROWS,
            "changed_since_preview": changed_since_preview,
            "CREATE": CREATE,
            "UPDATE": UPDATE,
            "UNCHANGED": UNCHANGED,
        },
    )


class ImportPreviewView(ImportAccessMixin, View):
    def get(self, request):
        pending, data = PendingImport.read(request)
        if pending is None:
            return redirect("customers:import")
        result = master_data_import(
            kind=pending.kind,
            data=data,
            filename=pending.name,
            dry_run=True,
            user=request.user,
            scope_path=import_scope_path(request.user),
        )
        return _render_preview(request, pending, result)


class ImportConfirmView(ImportAccessMixin, View):
    def post(self, request):
        pending, data = PendingImport.read(request)
        if pending is None:
            return redirect("customers:import")
        if not secrets.compare_digest(request.POST.get("preview", ""), pending.nonce):
            # Confirming a preview from another tab, after a newer upload replaced its file.
            messages.warning(request, _("That preview was out of date. Check this preview before importing."))
            return redirect("customers:import_preview")
        result = master_data_import(
            kind=pending.kind,
            data=data,
            filename=pending.name,
            user=request.user,
            scope_path=import_scope_path(request.user),
        )
        if not result.committed:
            return _render_preview(request, pending, result, changed_since_preview=True)
        pending.discard(request.session)
        counts = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
        messages.success(
            request,
            _("Imported %(file)s: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.")
            % {"file": pending.name, **counts},
        )
        return redirect("customers:import")


class ImportCancelView(ImportAccessMixin, View):
    def post(self, request):
        pending = PendingImport.from_session(request.session)
        if pending is not None:
            pending.discard(request.session)
            messages.info(request, _("Import cancelled; the uploaded file was deleted."))
        return redirect("customers:import")


class ImportSampleView(ImportAccessMixin, View):
    def get(self, request, name: str):
        allowed = {file for files in SAMPLE_FILES.values() for file in files}
        path = samples_dir() / name
        if name not in allowed or not path.is_file():
            raise Http404
        return FileResponse(path.open("rb"), as_attachment=True, filename=name)
