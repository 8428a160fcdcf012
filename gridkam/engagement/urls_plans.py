"""Pages of the plans part of engagement, mounted at /plans/ by config/urls.py."""

from django.urls import path

from . import plan_views as views

app_name = "plans"

urlpatterns = [
    path("", views.PlanListView.as_view(), name="plan_list"),
    path("generate/", views.PlanGenerateView.as_view(), name="plan_generate"),
    path("<int:pk>/", views.PlanDetailView.as_view(), name="plan_detail"),
    path("<int:pk>/tailor/<str:action>/", views.PlanTailorView.as_view(), name="plan_tailor"),
    path("progress/", views.PlanProgressView.as_view(), name="progress"),
    path("templates/", views.TemplateListView.as_view(), name="template_list"),
    path("templates/reset/", views.TemplateResetView.as_view(), name="template_reset"),
    path("templates/<int:pk>/add/", views.TemplateItemAddView.as_view(), name="template_item_add"),
    path("templates/items/<int:pk>/", views.TemplateItemView.as_view(), name="template_item"),
    path("visits/", views.VisitListView.as_view(), name="visit_list"),
    path("visits/new/", views.VisitCreateView.as_view(), name="visit_create"),
    path("visits/<int:pk>/", views.VisitDetailView.as_view(), name="visit_detail"),
]
