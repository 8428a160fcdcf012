from django.db import models
from django.utils.translation import gettext_lazy as _


class Period(models.TextChoices):
    """Time-of-use periods (分时时段), in the fixed order the engine and the calendar use."""

    SHARP = "sharp", _("Sharp peak")
    PEAK = "peak", _("Peak")
    FLAT = "flat", _("Flat")
    VALLEY = "valley", _("Valley")
    DEEP_VALLEY = "deep_valley", _("Deep valley")


# The colour of each period wherever periods are drawn (heat map, usage chart): hot to cold.
PERIOD_COLOURS = {
    Period.SHARP: "#b3261e",
    Period.PEAK: "#f08c00",
    Period.FLAT: "#f2d35b",
    Period.VALLEY: "#4d94db",
    Period.DEEP_VALLEY: "#1f4e8c",
}


class CustomerCategory(models.TextChoices):
    INDUSTRIAL_COMMERCIAL = "industrial_commercial", _("Industrial and commercial")
    LARGE_INDUSTRIAL = "large_industrial", _("Large industrial")
    GENERAL_INDUSTRIAL_COMMERCIAL = "general_industrial_commercial", _("General industrial and commercial")
    AGRICULTURAL = "agricultural", _("Agricultural production")


class VoltageBand(models.TextChoices):
    BELOW_1KV = "<1kV", _("Below 1 kV")
    KV1_10 = "1-10kV", _("1–10 kV")
    KV20 = "20kV", _("20 kV")
    KV35 = "35kV", _("35 kV")
    KV110 = "110kV", _("110 kV")
    KV220_PLUS = "220kV+", _("220 kV and above")


class Structure(models.TextChoices):
    TWO_PART = "two_part", _("Two-part")
    SINGLE_PART = "single_part", _("Single-part")


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class UsageSource(models.TextChoices):
    ENTERED = "entered", _("Entered")
    IMPORTED = "imported", _("Imported")
    METERING = "metering", _("Metering rollup")
