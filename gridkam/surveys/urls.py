"""Surveys, mounted at /surveys/."""

from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    # staff: the sent surveys, the annual survey sent by hand, and the results
    path("", views.SurveyListView.as_view(), name="survey_list"),
    path("send/", views.SurveySendView.as_view(), name="send"),
    path("results/", views.SurveyResultsView.as_view(), name="results"),
    # portal users: surveys waiting for them and answered, and the answer page
    path("portal/", views.PortalSurveyListView.as_view(), name="portal_list"),
    path("portal/<int:pk>/", views.SurveyAnswerView.as_view(), name="answer"),
    # contacts without a portal account: the e-mailed link (no login)
    path("answer/<str:token>/", views.SurveyLinkAnswerView.as_view(), name="answer_link"),
]
