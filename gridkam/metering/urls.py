from django.urls import path

from . import views

app_name = "metering"

urlpatterns = [
    path("imports/", views.ImportBatchListView.as_view(), name="import_list"),
    path("imports/new/", views.ImportUploadView.as_view(), name="import_new"),
    path("imports/new/confirm/", views.ImportConfirmView.as_view(), name="import_confirm"),
    path("imports/new/cancel/", views.ImportCancelView.as_view(), name="import_cancel"),
    path("imports/<int:pk>/", views.ImportBatchDetailView.as_view(), name="import_detail"),
    path("imports/<int:pk>/rollback/", views.ImportRollbackView.as_view(), name="import_rollback"),
]
