"""Pages of the dunning part of billing (included by billing/urls.py)."""

from django.urls import path

from . import dunning_views

urlpatterns = [
    path("workbench/", dunning_views.WorkbenchView.as_view(), name="workbench"),
    path("accounts/<int:pk>/dunning/", dunning_views.AccountDunningView.as_view(), name="account_dunning"),
    path("dunning/steps/<int:pk>/notice/", dunning_views.DunningNoticeView.as_view(), name="dunning_notice"),
]
