from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "gridkam.billing"
    verbose_name = _("Billing and fee recovery")

    def ready(self) -> None:
        # Celery's autodiscovery imports tasks.py only; the risk tasks live apart.
        from gridkam.engagement.services import task_done

        from . import risk_tasks  # noqa: F401
        from .risk import warning_close_with_task

        task_done.connect(warning_close_with_task, dispatch_uid="billing_risk_warning_task_done")
