from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class OutageKind(models.TextChoices):
    """Why the supply stops: announced in advance (planned, temporary maintenance) or not (fault)."""

    PLANNED = "planned", _("Planned outage")
    MAINTENANCE = "maintenance", _("Temporary maintenance outage")
    FAULT = "fault", _("Fault outage")


class OutageStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("outage status", "Draft")
    ANNOUNCED = "announced", pgettext_lazy("outage status", "Announced")
    IN_PROGRESS = "in_progress", pgettext_lazy("outage status", "In progress")
    FINISHED = "finished", pgettext_lazy("outage status", "Finished")
    CANCELLED = "cancelled", pgettext_lazy("outage status", "Cancelled")


class SupplyRole(models.TextChoices):
    MAIN = "main", _("Main supply")
    BACKUP = "backup", _("Backup supply")


# Chinese labels accepted in the supply import, as marketing-system exports write them.
SUPPLY_ROLE_ALIASES = {
    "主供": SupplyRole.MAIN,
    "主供电源": SupplyRole.MAIN,
    "备供": SupplyRole.BACKUP,
    "备用电源": SupplyRole.BACKUP,
}


class AckChannel(models.TextChoices):
    PORTAL = "portal", _("In the portal")
    PHONE = "phone", _("By phone (recorded by staff)")


class FollowUpKind(models.TextChoices):
    REQUEST = "request", _("Service request")
    VISIT = "visit", _("Visit")
