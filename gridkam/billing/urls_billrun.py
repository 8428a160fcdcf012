"""Pages of the bill-run part of billing (included by billing/urls.py): runs and bills."""

from django.urls import path

from . import billrun_views as views

urlpatterns = [
    path("runs/", views.BillRunListView.as_view(), name="run_list"),
    path("runs/<int:pk>/", views.BillRunDetailView.as_view(), name="run_detail"),
    path("runs/<int:pk>/progress/", views.BillRunProgressView.as_view(), name="run_progress"),
    path("runs/<int:pk>/issue/", views.BillRunIssueView.as_view(), name="run_issue"),
    path("bills/", views.BillListView.as_view(), name="bill_list"),
    path("bills/<int:pk>/", views.BillDetailView.as_view(), name="bill_detail"),
    path("bills/<int:pk>/issue/", views.BillIssueView.as_view(), name="bill_issue"),
    path("bills/<int:pk>/correct/", views.BillCorrectView.as_view(), name="bill_correct"),
]
