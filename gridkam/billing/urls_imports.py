"""Pages of the imports part of billing (included by billing/urls.py): billing-system imports and the
reconciliation of imported against computed bills."""

from django.urls import path

from . import import_views

urlpatterns = [
    path("imports/", import_views.BillingImportListView.as_view(), name="import_list"),
    path("imports/preview/", import_views.BillingImportPreviewView.as_view(), name="import_preview"),
    path("imports/confirm/", import_views.BillingImportConfirmView.as_view(), name="import_confirm"),
    path("imports/cancel/", import_views.BillingImportCancelView.as_view(), name="import_cancel"),
    path("imports/samples/<str:name>", import_views.BillingImportSampleView.as_view(), name="import_sample"),
    path("reconcile/", import_views.ReconcileView.as_view(), name="reconcile"),
]
