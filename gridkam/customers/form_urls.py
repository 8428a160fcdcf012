"""Pages that change key-account master data (form_views.py), in the "customers" namespace."""

from django.urls import path

from . import form_views as views

urlpatterns = [
    path("new/", views.CustomerCreateView.as_view(), name="customer_create"),
    path("<int:pk>/edit/", views.CustomerUpdateView.as_view(), name="customer_edit"),
    path("<int:pk>/tier/", views.CustomerTierView.as_view(), name="customer_tier"),
    path("<int:pk>/team/", views.CustomerTeamView.as_view(), name="customer_team"),
    path("<int:pk>/accounts/new/", views.AccountCreateView.as_view(), name="account_create"),
    path("accounts/<int:pk>/edit/", views.AccountUpdateView.as_view(), name="account_edit"),
    path(
        "accounts/<int:pk>/metering-points/new/",
        views.MeteringPointCreateView.as_view(),
        name="metering_point_create",
    ),
    path("metering-points/<int:pk>/edit/", views.MeteringPointUpdateView.as_view(), name="metering_point_edit"),
    path("<int:pk>/contacts/new/", views.ContactCreateView.as_view(), name="contact_create"),
    path("contacts/<int:pk>/edit/", views.ContactUpdateView.as_view(), name="contact_edit"),
    path("contacts/<int:pk>/delete/", views.ContactDeleteView.as_view(), name="contact_delete"),
    path("reassign/", views.PortfolioReassignView.as_view(), name="portfolio_reassign"),
    path("tier-rules/", views.TierRulesView.as_view(), name="tier_rules"),
    path("lookup/", views.CustomerLookupView.as_view(), name="customer_lookup"),
]
