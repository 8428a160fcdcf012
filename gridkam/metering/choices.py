from django.db import models
from django.utils.translation import gettext_lazy as _


class FileFormat(models.TextChoices):
    LONG = "long", _("Long: one row per point and interval")
    WIDE96 = "wide96", _("96-point daily: one row per point and day")


class BatchStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    COMMITTED = "committed", _("Committed")
    REJECTED = "rejected", _("Rejected, nothing written")
    FAILED = "failed", _("Failed, nothing written")
    ROLLED_BACK = "rolled_back", _("Rolled back")
