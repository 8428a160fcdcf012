"""Pages of the tariffs app, mounted at the site root: the catalogue under /tariffs/ and an account's
monthly quantities and cost advice beside its other pages under /customers/accounts/<pk>/."""

from django.urls import path

from . import account_views, views

app_name = "tariffs"

urlpatterns = [
    path("tariffs/", views.TariffListView.as_view(), name="tariff_list"),
    path("tariffs/quote/", views.QuoteView.as_view(), name="quote"),
    path("tariffs/<slug:code>/", views.TariffDetailView.as_view(), name="tariff_detail"),
    path("tariffs/<slug:code>/<str:effective_from>/", views.TariffVersionDetailView.as_view(), name="version_detail"),
    path("customers/accounts/<int:pk>/usage/", account_views.MonthlyUsageView.as_view(), name="account_usage"),
    path("customers/accounts/<int:pk>/advice/", account_views.AdviceView.as_view(), name="account_advice"),
]
