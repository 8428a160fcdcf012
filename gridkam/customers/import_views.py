"""Master-data import in the browser: upload → preview (a dry run) → confirm (the real import).

The uploaded file waits for the confirmation under MEDIA_ROOT/imports/ with a random name that only
the user's session knows; the browser never names a path. Confirming runs the whole import again,
so a change to the data since the preview is caught and rejected like any other bad row.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView

from gridkam.core.views import RoleRequiredMixin
from gridkam.users.choices import Role

from .importing import COLUMNS, CREATE, KIND_CHOICES, UNCHANGED, UPDATE, import_scope_path, master_data_import

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
PREVIEW_ROWS = 200
SESSION_KEY = "customers_import_pending"
# Files whose preview was never confirmed nor cancelled are removed after this long.
PENDING_MAX_AGE = dt.timedelta(days=1)
ALLOWED_SUFFIXES = (".csv", ".txt", ".xlsx")
SAMPLE_FILES = {
    "org_units": ("org_units.csv",),
    "accounts": ("accounts.csv", "accounts.xlsx"),
    "contacts": ("contacts.csv",),
    "monthly_usage": ("monthly_usage.csv",),
}
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def imports_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def samples_dir() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "samples"


@dataclass
class PendingImport:
    """An uploaded file awaiting confirmation. ``token`` names the file and stays on the server;
    ``nonce`` goes into the confirm form to tie the confirmation to the preview it answers."""

    token: str
    suffix: str
    kind: str
    name: str
    nonce: str

    @property
    def path(self) -> Path:
        return imports_dir() / f"{self.token}{self.suffix}"

    @classmethod
    def from_session(cls, session) -> PendingImport | None:
        stored = session.get(SESSION_KEY)
        if not isinstance(stored, dict):
            return None
        try:
            pending = cls(**stored)
        except TypeError:
            return None
        # The session is server-side, but a path is built from it: check it all the same.
        if not _TOKEN.match(pending.token) or pending.suffix not in ALLOWED_SUFFIXES or pending.kind not in COLUMNS:
            return None
        return pending

    def remember(self, session) -> None:
        session[SESSION_KEY] = asdict(self)

    def discard(self, session) -> None:
        self.path.unlink(missing_ok=True)
        session.pop(SESSION_KEY, None)


def _sweep_stale_uploads() -> None:
    folder = imports_dir()
    if not folder.is_dir():
        return
    cutoff = time.time() - PENDING_MAX_AGE.total_seconds()
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            # Another request removed it first.
            continue


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
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s MB; the limit is 20 MB. Split it into several files.")
                % {"size": f"{upload.size / 1024 / 1024:.1f}"}
            )
        if Path(upload.name).suffix.lower() not in ALLOWED_SUFFIXES:
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        return upload


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
        session = self.request.session
        previous = PendingImport.from_session(session)
        if previous is not None:
            previous.discard(session)
        _sweep_stale_uploads()
        upload = form.cleaned_data["file"]
        pending = PendingImport(
            token=secrets.token_hex(16),
            suffix=Path(upload.name).suffix.lower(),
            kind=form.cleaned_data["kind"],
            name=Path(upload.name).name[:200],
            nonce=secrets.token_hex(16),
        )
        imports_dir().mkdir(parents=True, exist_ok=True)
        with pending.path.open("xb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        pending.remember(session)
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


def _read_pending(request) -> tuple[PendingImport | None, bytes | None]:
    pending = PendingImport.from_session(request.session)
    if pending is None:
        messages.info(request, _("Upload a file to import."))
        return None, None
    try:
        data = pending.path.read_bytes()
    except OSError:
        pending.discard(request.session)
        messages.error(request, _("The uploaded file is no longer there; upload it again."))
        return None, None
    return pending, data


class ImportPreviewView(ImportAccessMixin, View):
    def get(self, request):
        pending, data = _read_pending(request)
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
        pending, data = _read_pending(request)
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
