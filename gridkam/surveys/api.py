"""API of the survey part under /api/v1/ (the twins of the /surveys/ pages): ``register(router)``.

- ``GET /api/v1/surveys/``, ``GET /api/v1/surveys/{id}/``: the surveys the user sees with their status and answer
  (staff: of the customers they see; portal users: those addressed to them). Filters as on the page (``q``,
  ``kind``, ``status``, ``year``, ``sent_from``, ``sent_to``, ``tier`` (repeatable), ``team``, ``manager``,
  ``customer``); ``ordering`` sent_at, expires_at, answered_at.
- ``POST /api/v1/surveys/{id}/answer/``: the recipient (a portal user) answers, once, before it expires
  (``satisfaction`` 1–5 after a request, ``nps`` 0–10 and the ``*_score`` dimensions 1–5 for the annual survey,
  ``comment``); 400 with the field errors, 409 when it was answered already, was closed (a colleague answered
  about the same request, or it was rated in the portal: status ``closed``) or has expired.
- ``GET /api/v1/surveys/results/``: results of the filtered surveys (staff): totals, groups (``by`` tier, manager,
  team or period), the trend per ``period`` (month, quarter, year) and the distribution of answers.
- ``POST /api/v1/surveys/send/``: send the annual survey of a ``year`` (account managers, supervisors,
  administrators) to the customers the user sees (``scope`` all or mine, ``tier`` list, ``team``); customers
  that had it for the year are skipped.

A survey the user does not see is a 404 for every action.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from gridkam.core.api_views import DEFAULT_FILTER_BACKENDS, SafeLookupMixin, ScopedPrimaryKeyRelatedField
from gridkam.customers.choices import Tier
from gridkam.users.models import Team

from .choices import SurveyGroupBy, SurveyKind, SurveyPeriod, SurveyStatus
from .forms import AnnualSendForm
from .models import DIMENSION_FIELDS, Survey
from .selectors import SurveyFilterSet, results_compute, send_scope, survey_list
from .services import SurveyClosed, may_send, survey_answer, survey_send_annual


class QuestionsSerializer(serializers.Serializer):
    asks_satisfaction = serializers.BooleanField()
    asks_nps = serializers.BooleanField()
    dimensions = serializers.ListField(child=serializers.CharField())


class SurveySerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=SurveyKind.choices, read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    request_number = serializers.CharField(source="request.number", read_only=True, default=None)
    status = serializers.ChoiceField(choices=SurveyStatus.choices, read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    manager_name = serializers.SerializerMethodField()
    team_name = serializers.CharField(source="team.name", read_only=True, default=None)
    questions = serializers.SerializerMethodField()
    answered_by_name = serializers.SerializerMethodField(
        help_text="Who answered about the request when not the recipient (a colleague, or a rating in the portal); "
        "blank when unknown or when the answer is the recipient's own."
    )

    class Meta:
        model = Survey
        fields = [
            "id",
            "kind",
            "kind_display",
            "customer",
            "customer_name",
            "request",
            "request_number",
            "year",
            "recipient",
            "recipient_name",
            "tier",
            "manager",
            "manager_name",
            "team",
            "team_name",
            "sent_at",
            "expires_at",
            "status",
            "status_display",
            "answered_at",
            "satisfaction",
            "nps",
            *DIMENSION_FIELDS.values(),
            "comment",
            "rated_elsewhere",
            "closed_at",
            "answered_by_name",
            "questions",
        ]
        read_only_fields = fields

    def get_manager_name(self, survey) -> str | None:
        return str(survey.manager) if survey.manager_id else None

    def to_representation(self, survey):
        data = super().to_representation(survey)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if (
            getattr(user, "is_customer_user", False)
            and survey.answered_at is not None
            and not survey.answered_by_recipient
        ):
            # Someone else's rating of the request: not shown to this recipient as theirs.
            for name in ("satisfaction", "nps", *DIMENSION_FIELDS.values()):
                data[name] = None
            data["comment"] = ""
        return data

    def get_answered_by_name(self, survey) -> str:
        if survey.answered_at is not None and survey.answered_by_recipient:
            return ""
        return survey.answerer_name

    @extend_schema_field(QuestionsSerializer)
    def get_questions(self, survey) -> dict:
        template = survey.template
        return {
            "asks_satisfaction": template.asks_satisfaction,
            "asks_nps": template.asks_nps,
            "dimensions": list(template.dimensions),
        }


class SurveyAnswerSerializer(serializers.Serializer):
    """An answer: the template's questions are required (the others are ignored)."""

    satisfaction = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=5)
    nps = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=10)
    reliability_score = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=5)
    responsiveness_score = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=5)
    billing_clarity_score = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=5)
    account_manager_score = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, trim_whitespace=True)


class SurveySendSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=1, max_value=9999)
    scope = serializers.ChoiceField(
        choices=[AnnualSendForm.SCOPE_ALL, AnnualSendForm.SCOPE_MINE], default=AnnualSendForm.SCOPE_ALL
    )
    tier = serializers.ListField(child=serializers.ChoiceField(choices=Tier.choices), required=False, default=list)
    team = ScopedPrimaryKeyRelatedField(
        queryset=Team.objects.all(), scope=lambda user: Team.objects.visible_to(user), required=False, allow_null=True
    )


class SendSummarySerializer(serializers.Serializer):
    year = serializers.IntegerField()
    customers = serializers.IntegerField(help_text="Customers sent the survey now.")
    surveys = serializers.IntegerField(help_text="Surveys sent (one per recipient).")
    already = serializers.IntegerField(help_text="Customers skipped: they had the survey of the year.")
    no_recipient = serializers.IntegerField(help_text="Customers skipped: no portal user and no primary contact.")


class ResultRowSerializer(serializers.Serializer):
    key = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    sent = serializers.IntegerField(help_text="Surveys sent (one per person asked).")
    asked = serializers.IntegerField(
        help_text="What can be answered: one per request surveyed (however many people were asked about it) and one "
        "per annual survey."
    )
    answered = serializers.IntegerField(
        help_text="Answers: a request counts once (rated through a survey or in the portal); an annual survey when "
        "answered."
    )
    closed = serializers.IntegerField(
        help_text="Surveys closed because a colleague answered about the same request (not answers)."
    )
    response_rate = serializers.FloatField(allow_null=True, help_text="Answered ÷ asked, in %.")
    satisfaction_mean = serializers.FloatField(allow_null=True, help_text="Mean 1–5 rating, one per answered request.")
    rated = serializers.IntegerField(help_text="Answers with a 1–5 rating.")
    nps = serializers.FloatField(allow_null=True, help_text="% promoters (9–10) − % detractors (0–6).")
    nps_answers = serializers.IntegerField()
    promoters = serializers.IntegerField()
    passives = serializers.IntegerField()
    detractors = serializers.IntegerField()
    dimensions = serializers.DictField(child=serializers.FloatField(allow_null=True))


class DistributionSerializer(serializers.Serializer):
    nps = serializers.ListField(child=serializers.IntegerField(), help_text="Answers per score 0–10.")
    satisfaction = serializers.ListField(child=serializers.IntegerField(), help_text="Answers per score 1–5.")


class DimensionSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()


class ResultsSerializer(serializers.Serializer):
    by = serializers.ChoiceField(choices=SurveyGroupBy.choices)
    period = serializers.ChoiceField(choices=SurveyPeriod.choices)
    total = ResultRowSerializer()
    groups = ResultRowSerializer(many=True)
    trend = ResultRowSerializer(many=True)
    distribution = DistributionSerializer()
    dimensions = DimensionSerializer(many=True)


class ResultsQuerySerializer(serializers.Serializer):
    by = serializers.ChoiceField(choices=SurveyGroupBy.choices, default=SurveyGroupBy.TIER)
    period = serializers.ChoiceField(choices=SurveyPeriod.choices, default=SurveyPeriod.MONTH)


class SurveyViewSet(SafeLookupMixin, viewsets.ReadOnlyModelViewSet):
    """Surveys sent to customers, their status and answers; a portal user answers theirs here."""

    serializer_class = SurveySerializer
    permission_classes = [IsAuthenticated]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = SurveyFilterSet
    ordering_fields = ["sent_at", "expires_at", "answered_at"]
    ordering = ["-sent_at"]

    def get_queryset(self):
        return survey_list(user=self.request.user)

    def _staff_only(self) -> None:
        if self.request.user.is_customer_user:
            raise PermissionDenied

    @extend_schema(
        request=SurveyAnswerSerializer,
        responses={200: SurveySerializer, 400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        """Answer the survey (its recipient only), once, before it expires."""
        survey = self.get_object()
        if survey.recipient_id != request.user.pk:
            raise PermissionDenied
        data = SurveyAnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            answered = survey_answer(survey=survey, data=data.validated_data, user=request.user)
        except SurveyClosed as exc:
            return Response({"detail": exc.messages[0], "errors": {}}, status=status.HTTP_409_CONFLICT)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        answered = survey_list(user=request.user).get(pk=answered.pk)
        return Response(SurveySerializer(answered, context=self.get_serializer_context()).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("by", OpenApiTypes.STR, enum=SurveyGroupBy.values),
            OpenApiParameter("period", OpenApiTypes.STR, enum=SurveyPeriod.values),
        ],
        responses=ResultsSerializer,
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def results(self, request):
        """Results of the filtered surveys (staff): totals, groups, trend per period, distribution."""
        self._staff_only()
        query = ResultsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        qs = self.filter_queryset(self.get_queryset())
        results = results_compute(qs, by=query.validated_data["by"], period=query.validated_data["period"])
        return Response(ResultsSerializer(results.as_dict()).data)

    @extend_schema(request=SurveySendSerializer, responses={200: SendSummarySerializer, 400: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def send(self, request):
        """Send the annual survey of a year to the customers in the user's view (skipping those that had it)."""
        self._staff_only()
        if not may_send(request.user):
            raise PermissionDenied
        data = SurveySendSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        customers = send_scope(
            user=request.user, scope=values["scope"], tiers=values.get("tier") or [], team=values.get("team")
        )
        summary = survey_send_annual(customers=customers, year=values["year"], user=request.user)
        return Response(SendSummarySerializer(summary).data)


def register(router) -> None:
    router.register("surveys", SurveyViewSet, basename="survey")


urlpatterns: list = []
