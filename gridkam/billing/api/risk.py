"""API of the risk part of billing: ``register(router)`` adds its viewsets, ``urlpatterns`` its other views.

- ``GET /risk-scores/`` the latest score of each account in view (``level``, ``q``, ``org_unit``, ``manager``);
  ``POST /risk-scores/run/`` scores every account now (billing staff);
- ``GET /accounts/{id}/risk-scores/`` an account's scores over time;
- ``GET /risk-warnings/``, ``POST /risk-warnings/{id}/acknowledge/`` and ``/close/`` (with ``note``);
- ``GET /risk-scorecard/`` the weights in force, ``PUT`` to change them (supervisors and administrators).

Risk is internal: portal users are refused (403); an account outside the user's view is a 404.
"""

from __future__ import annotations

from django.http import Http404
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from gridkam.customers.models import ElectricityAccount

from ..forms_risk import THRESHOLD_FIELDS, RiskScoreFilterSet, RiskWarningFilterSet, ScorecardForm
from ..models import RiskScore, RiskScorecard, RiskWarning
from ..permissions import IsStaffUser, approves, does_billing
from ..risk import WEIGHT_FIELDS, WarningStateError, scorecard_current, warning_act, warning_may_act


class RiskScoreSerializer(serializers.ModelSerializer):
    account_no = serializers.CharField(source="account.account_no", read_only=True)
    customer = serializers.CharField(source="account.customer.name", read_only=True)
    level_display = serializers.CharField(source="get_level_display", read_only=True)

    class Meta:
        model = RiskScore
        fields = [
            "id",
            "account",
            "account_no",
            "customer",
            "scored_on",
            "score",
            "level",
            "level_display",
            "arrears",
            "factors",
        ]
        read_only_fields = fields


class RiskHistorySerializer(serializers.ModelSerializer):
    class Meta:
        model = RiskScore
        fields = ["scored_on", "score", "level", "arrears", "factors"]
        read_only_fields = fields


class RiskWarningSerializer(serializers.ModelSerializer):
    account_no = serializers.CharField(source="account.account_no", read_only=True)
    assignee_name = serializers.CharField(source="assignee.__str__", read_only=True, default=None)
    score_value = serializers.DecimalField(
        source="score.score", max_digits=5, decimal_places=1, read_only=True, default=None
    )

    class Meta:
        model = RiskWarning
        fields = [
            "id",
            "account",
            "account_no",
            "level",
            "previous_level",
            "score_value",
            "status",
            "assignee",
            "assignee_name",
            "due_date",
            "created_at",
            "resolved_at",
            "resolution",
            "task",
        ]
        read_only_fields = fields


class WarningNoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ScorecardSerializer(serializers.ModelSerializer):
    class Meta:
        model = RiskScorecard
        fields = [
            "id",
            *WEIGHT_FIELDS.values(),
            *THRESHOLD_FIELDS,
            "updated_at",
            "updated_by",
            "backtest",
            "backtest_at",
        ]
        read_only_fields = ["id", "updated_at", "updated_by", "backtest", "backtest_at"]
        # PUT gives the whole scorecard; PATCH some of it.
        extra_kwargs = {name: {"required": True} for name in [*WEIGHT_FIELDS.values(), *THRESHOLD_FIELDS]}

    def validate(self, attrs):
        # The page's form holds the rules (ranges, weights not all zero, increasing thresholds).
        data = {name: getattr(self.instance, name) for name in [*WEIGHT_FIELDS.values(), *THRESHOLD_FIELDS]}
        data.update(attrs)
        form = ScorecardForm(data=data, instance=self.instance)
        if not form.is_valid():
            raise serializers.ValidationError({k: list(v) for k, v in form.errors.items()})
        return attrs


class RiskScoreViewSet(viewsets.GenericViewSet, mixins.ListModelMixin):
    """The latest fee-recovery risk score of each account in the user's view."""

    serializer_class = RiskScoreSerializer
    permission_classes = [IsStaffUser]
    filterset_class = RiskScoreFilterSet
    ordering_fields = ["score", "arrears", "scored_on"]
    ordering = ["-score", "pk"]

    def get_queryset(self):
        return (
            RiskScore.objects.visible_to(self.request.user)
            .filter(is_latest=True)
            .select_related("account__customer")
            .order_by("-score", "pk")
        )

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"])
    def run(self, request):
        """Score every account now (billing clerks, supervisors and administrators); returns the summary, or
        ``{"queued": true}`` when a worker runs it."""
        if not does_billing(request.user):
            raise PermissionDenied
        from ..risk_tasks import risk_score_all_task

        result = risk_score_all_task.delay(user_id=request.user.pk)
        if result.ready():
            return Response(result.get())
        return Response({"queued": True, "task_id": result.id}, status=202)


class AccountRiskHistoryView(generics.ListAPIView):
    """An account's risk scores, newest first."""

    serializer_class = RiskHistorySerializer
    permission_classes = [IsStaffUser]
    filterset_class = None
    filter_backends: list = []

    def get_queryset(self):
        pk = self.kwargs["pk"]
        if pk > 2**63 - 1:  # beyond any id: not found, not a database error
            raise Http404
        try:
            account = ElectricityAccount.objects.visible_to(self.request.user).get(pk=pk)
        except ElectricityAccount.DoesNotExist:
            raise Http404 from None
        return RiskScore.objects.filter(account=account).order_by("-scored_on")


class RiskWarningViewSet(viewsets.ReadOnlyModelViewSet):
    """Risk warnings of the accounts in view; ``acknowledge`` and ``close`` (with ``note``) act on one."""

    serializer_class = RiskWarningSerializer
    permission_classes = [IsStaffUser]
    filterset_class = RiskWarningFilterSet
    ordering_fields = ["created_at", "due_date", "level"]

    def get_queryset(self):
        return (
            RiskWarning.objects.visible_to(self.request.user)
            .select_related("account", "assignee", "score")
            .order_by("-created_at", "-pk")
        )

    def _act(self, request, action_name: str):
        warning = self.get_object()
        if not warning_may_act(request.user, warning):
            raise PermissionDenied
        body = WarningNoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        note = body.validated_data["note"]
        if action_name == "close" and not note.strip():
            raise serializers.ValidationError({"note": [_("Say what was done to close the warning.")]})
        try:
            warning_act(warning=warning, user=request.user, action=action_name, note=note)
        except WarningStateError as exc:
            raise serializers.ValidationError({"status": [str(exc)]}) from None
        return Response(self.get_serializer(warning).data)

    @extend_schema(request=WarningNoteSerializer, responses=RiskWarningSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._act(request, "acknowledge")

    @extend_schema(request=WarningNoteSerializer, responses=RiskWarningSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._act(request, "close")


class ScorecardView(APIView):
    """The risk scorecard in force: weights and level thresholds. PUT (or PATCH) changes it: supervisors and
    administrators only."""

    permission_classes = [IsStaffUser]

    @extend_schema(responses=ScorecardSerializer)
    def get(self, request):
        return Response(ScorecardSerializer(scorecard_current()).data)

    @extend_schema(request=ScorecardSerializer, responses=ScorecardSerializer)
    def put(self, request):
        return self._update(request, partial=False)

    @extend_schema(request=ScorecardSerializer, responses=ScorecardSerializer)
    def patch(self, request):
        return self._update(request, partial=True)

    def _update(self, request, *, partial: bool):
        if not approves(request.user):
            raise PermissionDenied
        card = scorecard_current()
        serializer = ScorecardSerializer(card, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        serializer.save(updated_by=request.user)
        return Response(serializer.data)


def register(router) -> None:
    router.register("risk-scores", RiskScoreViewSet, basename="risk-score")
    router.register("risk-warnings", RiskWarningViewSet, basename="risk-warning")


urlpatterns: list = [
    path("accounts/<int:pk>/risk-scores/", AccountRiskHistoryView.as_view(), name="account-risk-scores"),
    path("risk-scorecard/", ScorecardView.as_view(), name="risk-scorecard"),
]
