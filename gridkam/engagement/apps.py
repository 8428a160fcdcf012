from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "gridkam.engagement"
    verbose_name = _("Engagement")

    def ready(self) -> None:
        # Celery's autodiscovery imports tasks.py only; the notification tasks live apart.
        from . import tasks_notify  # noqa: F401
