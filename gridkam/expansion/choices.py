from django.db import models
from django.utils.translation import gettext_lazy as _


class ProjectKind(models.TextChoices):
    NEW_CONNECTION = "new_connection", _("New connection")
    CAPACITY_INCREASE = "capacity_increase", _("Capacity increase")
    CAPACITY_REDUCTION = "capacity_reduction", _("Capacity reduction")
    SUSPENSION = "suspension", _("Suspension")
    RESUMPTION = "resumption", _("Resumption")
    TARIFF_CHANGE = "tariff_change", _("Tariff change")
    NAME_CHANGE = "name_change", _("Name change")


class VoltageClass(models.TextChoices):
    """The time limits' voltage class: low voltage below 10 kV (0.4 kV), high voltage from 10 kV up."""

    HIGH = "high", _("High voltage")
    LOW = "low", _("Low voltage")


class ProjectStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class Stage(models.TextChoices):
    """The high-voltage stages in their order (DOMAIN.md); shorter kinds use a subsequence (rules.STAGES)."""

    APPLICATION = "application", _("Application")
    SITE_SURVEY = "site_survey", _("Site survey")
    PLAN_REPLY = "plan_reply", _("Supply plan reply")
    DESIGN_REVIEW = "design_review", _("Design review")
    MID_INSPECTION = "mid_inspection", _("Mid-construction inspection")
    COMPLETION_INSPECTION = "completion_inspection", _("Completion inspection")
    ENERGISATION = "energisation", _("Metering and energisation")


class AlertLevel(models.TextChoices):
    WARNING = "warning", _("Near its time limit")
    BREACH = "breach", _("Time limit passed")
