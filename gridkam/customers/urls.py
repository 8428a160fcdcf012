from django.urls import include, path

from . import views

app_name = "customers"

urlpatterns = [
    path("", views.CustomerListView.as_view(), name="customer_list"),
    path("<int:pk>/", views.CustomerDetailView.as_view(), name="customer_detail"),
    path("metering-points/", views.MeteringPointListView.as_view(), name="metering_point_list"),
    # Create/edit forms, tier override, reassignment (form_views.py).
    path("", include("gridkam.customers.form_urls")),
    # Upload, preview and confirm of master-data imports (import_views.py).
    path("import/", include("gridkam.customers.import_urls")),
]
