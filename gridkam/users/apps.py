from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsersConfig(AppConfig):
    name = "gridkam.users"
    label = "users"
    verbose_name = _("Users and teams")

    def ready(self) -> None:
        from . import signals  # noqa: F401
