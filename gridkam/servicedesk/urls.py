"""Service desk pages under /service/: each part keeps its own url module."""

from django.urls import include, path

app_name = "servicedesk"

urlpatterns = [
    path("", include("gridkam.servicedesk.urls_requests")),
    path("", include("gridkam.servicedesk.urls_sla")),
    path("", include("gridkam.servicedesk.urls_appointments")),
    path("", include("gridkam.servicedesk.urls_metrics")),
]
