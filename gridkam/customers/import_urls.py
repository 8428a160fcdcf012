from django.urls import path

from . import import_views

urlpatterns = [
    path("", import_views.ImportUploadView.as_view(), name="import"),
    path("preview/", import_views.ImportPreviewView.as_view(), name="import_preview"),
    path("confirm/", import_views.ImportConfirmView.as_view(), name="import_confirm"),
    path("cancel/", import_views.ImportCancelView.as_view(), name="import_cancel"),
    path("samples/<str:name>", import_views.ImportSampleView.as_view(), name="import_sample"),
]
