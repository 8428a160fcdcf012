from django.urls import path

from . import load
from .views import AccountSummaryView, MeteringPointSummaryView

urlpatterns = [
    path("metering-points/<str:code>/summary/", MeteringPointSummaryView.as_view(), name="metering-point-summary"),
    path("accounts/<str:pk>/summary/", AccountSummaryView.as_view(), name="account-summary"),
    path("accounts/<str:pk>/load-curve/", load.AccountLoadCurveView.as_view(), name="account-load-curve"),
    path("accounts/<str:pk>/load-months/", load.AccountLoadMonthsView.as_view(), name="account-load-months"),
    path("load-portfolio/", load.LoadPortfolioView.as_view(), name="load-portfolio"),
    path("load-anomalies/", load.LoadAnomalyListView.as_view(), name="load-anomalies"),
]
