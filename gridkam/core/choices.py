from django.db import models
from django.utils.translation import gettext_lazy as _


class OrgUnitKind(models.TextChoices):
    PROVINCE = "province", _("Provincial company")
    CITY = "city", _("City company")
    COUNTY = "county", _("County company")
    SERVICE_CENTRE = "service_centre", _("Key-account service centre")
    STATION = "station", _("Supply station")


class StatutoryDaySource(models.TextChoices):
    PACKAGE = "package", _("chinese-calendar package")
    ENTERED = "entered", _("entered by hand")


class ClockKind(models.TextChoices):
    # Values are what SLA policies store; "24x7" counts wall time, "working" only working hours of working days.
    AROUND_THE_CLOCK = "24x7", _("around the clock (24×7)")
    WORKING = "working", _("working hours")
