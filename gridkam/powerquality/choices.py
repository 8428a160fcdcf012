from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PqKind(models.TextChoices):
    """What happened. Sags, swells and interruptions are rms-voltage events (residual voltage, duration);
    the others are measured values against a limit (THDu %, Pst, unbalance %, frequency deviation Hz)."""

    SAG = "sag", _("Voltage sag")
    SWELL = "swell", _("Voltage swell")
    INTERRUPTION = "interruption", _("Short interruption")
    HARMONICS = "harmonics", _("Harmonics above limit")
    FLICKER = "flicker", _("Flicker")
    UNBALANCE = "unbalance", _("Three-phase unbalance")
    FREQUENCY = "frequency", _("Frequency deviation")


RMS_KINDS = (PqKind.SAG, PqKind.SWELL, PqKind.INTERRUPTION)
MEASURED_KINDS = (PqKind.HARMONICS, PqKind.FLICKER, PqKind.UNBALANCE, PqKind.FREQUENCY)


class PqSource(models.TextChoices):
    CUSTOMER = "customer", _("Reported by the customer")
    MONITORING = "monitoring", _("Imported from monitoring")
    STAFF = "staff", _("Entered by staff")


class Severity(models.TextChoices):
    """Lowest first; ``unknown`` when the measurements needed are missing."""

    UNKNOWN = "unknown", _("Not classified")
    WITHIN = "within", _("Within tolerance")
    MODERATE = "moderate", _("Moderate")
    SEVERE = "severe", pgettext_lazy("power quality", "Severe")


class Phase(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    AB = "AB", "AB"
    BC = "BC", "BC"
    CA = "CA", "CA"
    ABC = "ABC", "ABC"


class SagCurve(models.TextChoices):
    ITIC = "itic", _("ITIC (CBEMA) curve")
    SEMI_F47 = "semi_f47", _("SEMI F47 curve")
