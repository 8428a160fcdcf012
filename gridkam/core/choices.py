from django.db import models
from django.utils.translation import gettext_lazy as _


class OrgUnitKind(models.TextChoices):
    PROVINCE = "province", _("Provincial company")
    CITY = "city", _("City company")
    COUNTY = "county", _("County company")
    SERVICE_CENTRE = "service_centre", _("Key-account service centre")
    STATION = "station", _("Supply station")
