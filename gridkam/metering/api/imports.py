"""Readings imports under /api/v1/readings-imports/: the batches a user may see, a file imported (or checked with
``dry_run``) as one batch, and a batch rolled back.

The import answers the document of ``import_readings --json``: 201 when committed, 200 for a dry run that would
import, 400 (the same document, with the rejected lines) when the file is rejected. With ``background`` the file is
queued for a Celery worker instead: 202 with the batch ("queued"), whose ``progress`` the client follows on
``GET /readings-imports/{id}/`` until its status is final. Administrators and supervisors import and roll back;
other staff read the batches they imported (``ImportBatch.objects.visible_to``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.reverse import reverse

from gridkam.core.api_views import DEFAULT_FILTER_BACKENDS, IsStaff, IsSupervisorOrAdministrator, SafeLookupMixin
from gridkam.core.parsers import NulSafeFormParser, NulSafeMultiPartParser

from .. import selectors
from ..choices import FailureReason, FileFormat, ImportPhase
from ..filters import ImportBatchFilterSet
from ..forms import ALLOWED_SUFFIXES, MAX_UPLOAD_BYTES
from ..loading import FILE_LINE, file_format_guess, readings_import
from ..models import ImportBatch
from ..services import batch_rollback, batches_interrupted_mark, import_jobs_dir, readings_import_enqueue


class RejectedLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text=_("Line of the file (the header is line 1); 0 means the whole file."))
    errors = serializers.ListField(child=serializers.CharField())


class GapSerializer(serializers.Serializer):
    metering_point = serializers.CharField()
    # "from" is a Python keyword: the field is declared under its JSON name below.
    to = serializers.DateTimeField(help_text=_("End of the last missing interval, local time."))
    intervals = serializers.IntegerField(help_text=_("Missing quarter-hours."))

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField(help_text=_("End of the first missing interval, local time."))
        return fields


class ImportProgressSerializer(serializers.Serializer):
    """How far a queued or running import has come."""

    done = serializers.IntegerField(help_text=_("Bytes of the file read."))
    total = serializers.IntegerField(help_text=_("Bytes of the file."))
    phase = serializers.ChoiceField(
        choices=ImportPhase.choices,
        help_text=_("Reading the file, then (the file read) checking and writing readings and rollups."),
    )


class ImportBatchSerializer(serializers.ModelSerializer):
    created_by = serializers.StringRelatedField()
    rolled_back_by = serializers.StringRelatedField()
    rejected = RejectedLineSerializer(many=True, read_only=True)
    gaps = GapSerializer(many=True, read_only=True)
    failure = serializers.ChoiceField(
        choices=FailureReason.choices,
        allow_blank=True,
        read_only=True,
        help_text=_("Why the import stopped without finishing; empty unless its status is failed."),
    )
    progress = serializers.SerializerMethodField(
        help_text=_(
            "While the import is queued or running: how far it has come (null until it reports, and when "
            "workers and web servers share no cache). Null once it is finished."
        )
    )

    @extend_schema_field(ImportProgressSerializer(allow_null=True))
    def get_progress(self, batch: ImportBatch) -> dict | None:
        return selectors.import_batch_progress(batch=batch)

    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "file_name",
            "file_sha256",
            "file_format",
            "skip_invalid",
            "status",
            "created_by",
            "created_at",
            "finished_at",
            "rows",
            "inserted",
            "updated",
            "unchanged",
            "rejected_count",
            "rejected",
            "gaps",
            "points",
            "first_interval_end",
            "last_interval_end",
            "rolled_back_at",
            "rolled_back_by",
            "failure",
            "progress",
        ]
        read_only_fields = fields


class ImportOutcomeSerializer(serializers.Serializer):
    """What an import did or, dry run or rejected, would have done: the ``import_readings --json`` document."""

    rows = serializers.IntegerField(help_text=_("Readings in the file."))
    inserted = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = RejectedLineSerializer(many=True)
    committed = serializers.BooleanField()
    batch = serializers.IntegerField(allow_null=True, help_text=_("The batch written; null for a dry run."))
    gaps = GapSerializer(many=True)


class ImportRejectedSerializer(serializers.Serializer):
    """A refused import, in the API's error shape. A file that was read and rejected also carries the outcome
    document (counts, every rejected line, gaps); a request without a usable file carries field errors only."""

    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    rows = serializers.IntegerField(required=False)
    inserted = serializers.IntegerField(required=False)
    updated = serializers.IntegerField(required=False)
    unchanged = serializers.IntegerField(required=False)
    rejected = RejectedLineSerializer(many=True, required=False)
    committed = serializers.BooleanField(required=False)
    batch = serializers.IntegerField(allow_null=True, required=False)
    gaps = GapSerializer(many=True, required=False)


class ReadingsImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_("CSV (UTF-8 or GB18030) or Excel .xlsx, at most 50 MB."))
    file_format = serializers.ChoiceField(
        choices=FileFormat.choices, required=False, help_text=_("Read from the header when not given.")
    )
    skip_invalid = serializers.BooleanField(
        default=False, help_text=_("Import the valid rows of a file that has rejected ones.")
    )
    dry_run = serializers.BooleanField(default=False, help_text=_("Check the file and count; write nothing."))
    background = serializers.BooleanField(
        default=False,
        help_text=_("Queue the import for a background worker and answer at once (202) with the queued batch."),
    )

    def validate(self, attrs):
        if attrs["background"] and attrs["dry_run"]:
            raise serializers.ValidationError(
                {"background": [_("A dry run answers at once; it is not run in the background.")]}
            )
        return attrs

    def validate_file(self, upload):
        if upload.size > MAX_UPLOAD_BYTES:
            raise serializers.ValidationError(_("The file is larger than 50 MB; use the import_readings command."))
        if Path(upload.name).suffix.lower() not in ALLOWED_SUFFIXES:
            raise serializers.ValidationError(_("Upload a .csv or .xlsx file."))
        return upload


@extend_schema_view(
    list=extend_schema(summary=_("Readings imports the user may see, newest first")),
    retrieve=extend_schema(summary=_("One readings import with its rejected lines and gaps")),
)
class ImportBatchViewSet(SafeLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ImportBatchSerializer
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = ImportBatchFilterSet
    # Files come as multipart; rollback has no body.
    parser_classes = [NulSafeMultiPartParser, NulSafeFormParser]
    ordering_fields = ["created_at", "file_name", "status", "rows", "rejected_count"]
    ordering = ["-created_at"]

    def get_permissions(self):
        if self.action in ("create", "rollback"):
            return [IsSupervisorOrAdministrator()]
        return [IsStaff()]

    def get_queryset(self):
        return selectors.import_batch_visible(user=self.request.user)

    # A script following a batch whose process died learns it here, as the pages do (batches_interrupted_mark).
    def list(self, request, *args, **kwargs):
        batches_interrupted_mark()
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        # The id is checked first (an oversized one is a 404, not a database error).
        batches_interrupted_mark(batch_ids=[int(self.lookup_value())])
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": ReadingsImportSerializer},
        responses={
            201: OpenApiResponse(ImportOutcomeSerializer, description=_("Imported.")),
            200: OpenApiResponse(ImportOutcomeSerializer, description=_("Dry run: what the import would do.")),
            202: OpenApiResponse(
                ImportBatchSerializer,
                description=_(
                    "Background: the batch, queued (or already finished where no worker queue is set up). "
                    "Location is the batch, to follow until its status is final."
                ),
            ),
            400: OpenApiResponse(
                ImportRejectedSerializer,
                description=_("The file is rejected (nothing written): the rejected lines are listed."),
            ),
        },
        summary=_("Import a readings file (long or 96-point daily) as one batch"),
    )
    def create(self, request):
        serializer = ReadingsImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data["file"]
        if data["background"]:
            return self._queue(request, data)
        # On disk for the format guess (which reads a path) and so the parser can seek in an XLSX file.
        with tempfile.NamedTemporaryFile(suffix=Path(upload.name).suffix.lower()) as copy:
            for chunk in upload.chunks():
                copy.write(chunk)
            copy.flush()
            file_format = data.get("file_format") or file_format_guess(copy.name) or FileFormat.LONG
            copy.seek(0)
            outcome = readings_import(
                data=copy,
                file_name=Path(upload.name).name,
                file_format=file_format,
                user=request.user,
                dry_run=data["dry_run"],
                skip_invalid=data["skip_invalid"],
            )
        rejected = any(r["line"] == FILE_LINE for r in outcome.rejected) or (
            outcome.rejected and not data["skip_invalid"]
        )
        if rejected:
            # The API's error shape, with the whole outcome alongside so that a client gets every rejected line.
            errors = {
                "file": [
                    gettext_now("Rejected lines: %(count)d; nothing was written.") % {"count": len(outcome.rejected)}
                ]
            }
            body = {"detail": gettext_now("The input is not valid."), "errors": errors, **outcome.as_dict()}
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(outcome.as_dict(), status=status.HTTP_201_CREATED if outcome.committed else status.HTTP_200_OK)

    def _queue(self, request, data) -> Response:
        upload = data["file"]
        folder = import_jobs_dir()
        folder.mkdir(parents=True, exist_ok=True)
        # Written next to the jobs' files, so that queueing it is a rename.
        with tempfile.NamedTemporaryFile(
            dir=folder, prefix="upload-", suffix=Path(upload.name).suffix.lower(), delete=False
        ) as copy:
            for chunk in upload.chunks():
                copy.write(chunk)
        try:
            batch = readings_import_enqueue(
                source=copy.name,
                file_name=Path(upload.name).name,
                file_format=data.get("file_format") or file_format_guess(copy.name) or FileFormat.LONG,
                skip_invalid=data["skip_invalid"],
                user=request.user,
                move=True,
            )
        finally:
            Path(copy.name).unlink(missing_ok=True)
        batch = self.get_queryset().get(pk=batch.pk)
        location = reverse("readings-import-detail", args=[batch.pk], request=request)
        return Response(
            ImportBatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location}
        )

    @extend_schema(
        request=None,
        responses={
            200: ImportBatchSerializer,
            400: OpenApiResponse(description=_("Not committed, or a later import changed its readings.")),
        },
        summary=_("Roll a committed import back"),
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def rollback(self, request, pk=None):
        batch = batch_rollback(batch=self.get_object(), user=request.user)
        batch = self.get_queryset().get(pk=batch.pk)
        return Response(ImportBatchSerializer(batch).data)


def register(router) -> None:
    router.register("readings-imports", ImportBatchViewSet, basename="readings-import")
