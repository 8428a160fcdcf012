"""Billing pages under /billing/: each part keeps its own url module."""

from django.urls import include, path

app_name = "billing"

urlpatterns = [
    path("", include("gridkam.billing.urls_billrun")),
    path("", include("gridkam.billing.urls_ledger")),
    path("", include("gridkam.billing.urls_dunning")),
    path("", include("gridkam.billing.urls_risk")),
    path("", include("gridkam.billing.urls_imports")),
]
