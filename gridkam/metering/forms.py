"""Forms of the readings-import pages."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .choices import FileFormat

# A request imports synchronously: larger files belong to the command (or, later, the background import).
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
ALLOWED_SUFFIXES = (".csv", ".txt", ".xlsx")
AUTO = ""


class ReadingsImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("CSV (UTF-8 or GB18030) or Excel .xlsx, at most 50 MB."),
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ",".join(ALLOWED_SUFFIXES)}),
    )
    file_format = forms.ChoiceField(
        label=gettext_lazy("Format"),
        choices=[(AUTO, gettext_lazy("Automatic: read from the header")), *FileFormat.choices],
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    skip_invalid = forms.BooleanField(
        label=gettext_lazy("Skip rejected rows"),
        help_text=gettext_lazy("Import the valid rows of a file that has rejected ones; otherwise nothing is written."),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s MB; the limit is 50 MB. Split it or use the import_readings command.")
                % {"size": f"{upload.size / 1024 / 1024:.1f}"}
            )
        if Path(upload.name).suffix.lower() not in ALLOWED_SUFFIXES:
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        return upload
