from django.urls import path

from .views import AccountSummaryView, MeteringPointSummaryView

urlpatterns = [
    path("metering-points/<str:code>/summary/", MeteringPointSummaryView.as_view(), name="metering-point-summary"),
    path("accounts/<str:pk>/summary/", AccountSummaryView.as_view(), name="account-summary"),
]
