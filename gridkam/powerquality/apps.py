from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PowerqualityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "gridkam.powerquality"
    verbose_name = _("Power quality")
