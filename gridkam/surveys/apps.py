from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "gridkam.surveys"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        from gridkam.servicedesk.services import request_closed, request_rated

        from .services import on_request_closed, on_request_rated

        # A closed request sends its post-request survey; a rating in the portal answers its open surveys.
        request_closed.connect(on_request_closed, dispatch_uid="surveys_request_closed")
        request_rated.connect(on_request_rated, dispatch_uid="surveys_request_rated")
