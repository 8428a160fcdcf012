from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


def _statutory_day_changed(sender, **kwargs) -> None:
    from . import workdays

    # Now, for the rest of this transaction; and again once committed, because another thread of this
    # process may have read the year as it was before in between.
    workdays.cache_clear()
    transaction.on_commit(workdays.cache_clear)


def check_working_hours(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Bad working hours (GRIDKAM_WORKING_HOURS) stop the start-up, not the first SLA clock that reads them."""
    from .clocks import parse_working_hours

    try:
        parse_working_hours(settings.GRIDKAM["WORKING_HOURS"])
    except ValueError as exc:
        return [
            checks.Error(
                str(exc), hint='Set GRIDKAM_WORKING_HOURS like "08:30-12:00,13:30-17:30".', id="gridkam_core.E001"
            )
        ]
    return []


class CoreConfig(AppConfig):
    name = "gridkam.core"
    label = "core"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from .models import StatutoryDay

        checks.register(check_working_hours)

        post_save.connect(_statutory_day_changed, sender=StatutoryDay, dispatch_uid="core_statutory_day_saved")
        post_delete.connect(_statutory_day_changed, sender=StatutoryDay, dispatch_uid="core_statutory_day_deleted")
