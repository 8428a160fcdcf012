from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "gridkam.engagement"
    verbose_name = _("Engagement")

    def ready(self) -> None:
        # Celery's autodiscovery imports tasks.py only; the notification and health tasks live apart.
        from . import tasks_health, tasks_notify  # noqa: F401
        from .health import alert_close_with_task
        from .services import task_done

        # A health alert's task marked done closes the alert.
        task_done.connect(alert_close_with_task, dispatch_uid="engagement_health_alert_task_done")
