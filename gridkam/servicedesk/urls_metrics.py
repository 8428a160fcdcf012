"""Pages of the metrics part of the service desk (included by servicedesk/urls.py)."""

from django.urls import path

from . import metrics_views

urlpatterns = [
    path("metrics/", metrics_views.ServiceMetricsView.as_view(), name="metrics"),
]
