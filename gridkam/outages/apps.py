from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutagesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "gridkam.outages"
    verbose_name = _("Outages")
