from django.db import models
from django.utils.translation import gettext_lazy as _


class FileFormat(models.TextChoices):
    LONG = "long", _("Long: one row per point and interval")
    WIDE96 = "wide96", _("96-point daily: one row per point and day")


class BatchStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    COMMITTED = "committed", _("Committed")
    REJECTED = "rejected", _("Rejected, nothing written")
    FAILED = "failed", _("Failed, nothing written")
    ROLLED_BACK = "rolled_back", _("Rolled back")


class ImportPhase(models.TextChoices):
    """Where a running import is: reading (parsing and staging) the file, then checking and writing it."""

    READING = "reading", _("Reading the file")
    WRITING = "writing", _("Writing readings and rollups")


class FailureReason(models.TextChoices):
    """Why an import stopped without finishing; the readings are as they were before it in every case."""

    INTERRUPTED = "interrupted", _("Interrupted: its process stopped before the end.")
    ERROR = "error", _("An error stopped it; the server log has the details.")
    FILE_MISSING = "file_missing", _("The file was not found; a worker needs the web server's data folder.")
    QUEUE_UNREACHABLE = "queue_unreachable", _("The job queue could not be reached.")
