"""Pages of the risk part of billing (included by billing/urls.py)."""

from django.urls import path

from . import risk_views

urlpatterns = [
    path("accounts/<int:pk>/risk/", risk_views.AccountRiskView.as_view(), name="account_risk"),
    path("risk/", risk_views.RiskPortfolioView.as_view(), name="risk_portfolio"),
    path("risk/run/", risk_views.RiskRunView.as_view(), name="risk_run"),
    path("risk/backtest/", risk_views.RiskBacktestView.as_view(), name="risk_backtest"),
    path("risk/scorecard/", risk_views.ScorecardView.as_view(), name="risk_scorecard"),
    path("risk/warnings/", risk_views.WarningListView.as_view(), name="risk_warnings"),
    path("risk/warnings/<int:pk>/", risk_views.WarningActView.as_view(), name="risk_warning_act"),
]
