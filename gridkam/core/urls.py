from django.urls import path

from . import org_views

app_name = "core"

urlpatterns = [
    path("units/", org_views.OrgUnitListView.as_view(), name="org_unit_list"),
]
