from django.urls import path

from . import load_views, views

app_name = "metering"

urlpatterns = [
    path("imports/", views.ImportBatchListView.as_view(), name="import_list"),
    path("imports/new/", views.ImportUploadView.as_view(), name="import_new"),
    path("imports/new/confirm/", views.ImportConfirmView.as_view(), name="import_confirm"),
    path("imports/new/cancel/", views.ImportCancelView.as_view(), name="import_cancel"),
    path("imports/<int:pk>/", views.ImportBatchDetailView.as_view(), name="import_detail"),
    path("accounts/<int:pk>/load/", load_views.AccountLoadView.as_view(), name="account_load"),
    path("portfolio/", load_views.LoadPortfolioView.as_view(), name="load_portfolio"),
    path("anomalies/", load_views.LoadAnomalyListView.as_view(), name="load_anomalies"),
    path("imports/<int:pk>/progress/", views.ImportBatchProgressView.as_view(), name="import_progress"),
    path("imports/<int:pk>/rollback/", views.ImportRollbackView.as_view(), name="import_rollback"),
]
