"""Pages of the sla part of the service desk (included by servicedesk/urls.py)."""

from django.urls import path

from . import sla_views

urlpatterns: list = [
    path("sla/", sla_views.SlaPolicyMatrixView.as_view(), name="sla_policies"),
    path("sla/reset/", sla_views.SlaPolicyResetView.as_view(), name="sla_policies_reset"),
    path("sla/<int:pk>/", sla_views.SlaPolicyEditView.as_view(), name="sla_policy_edit"),
]
