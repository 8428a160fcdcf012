"""Pages of the account-health part of engagement, mounted at /health/ by config/urls.py.

The portfolio is /health/accounts/, not /health/ itself: that is the load balancers' liveness probe
(``core.views.health``, matched first).
"""

from django.urls import path

from . import health_views as views

app_name = "health"

urlpatterns = [
    path("accounts/", views.HealthPortfolioView.as_view(), name="portfolio"),
    path("score/", views.HealthScoreNowView.as_view(), name="score_now"),
    path("accounts/<int:account_id>/", views.AccountHealthView.as_view(), name="account"),
]
