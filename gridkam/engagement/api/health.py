"""API of the account-health part of engagement, the twins of the /health/ pages: ``register(router)``.

- ``GET /api/v1/account-health/``: the latest score of each account in view, worst first (filters ``level``
  (repeatable), ``tier`` (repeatable), ``q``, ``customer``, ``org_unit``, ``manager``; ``ordering`` score, -score,
  scored_on), paginated;
- ``GET /api/v1/account-health/{account_id}/``: one account's latest score with its drivers explained, its scores of
  the last 12 months and its alerts;
- ``POST /api/v1/account-health/score/``: score every account that is not closed now (supervisors and
  administrators); returns the scoring summary ``{scored_on, accounts, levels, alerts, seconds}``.

Health is internal: portal users are refused (403); an account outside the user's view is a 404.
"""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from gridkam.customers.models import ElectricityAccount
from gridkam.servicedesk.permissions import IsStaffUser

from ..choices import HealthDriver, HealthLevel
from ..health_selectors import (
    HealthScoreFilterSet,
    account_get,
    account_health,
    driver_rows,
    health_latest_list,
    weakest_drivers,
)
from ..health_views import may_score_health
from ..models import HealthAlert, HealthAlertStatus, HealthScore


class DriverSerializer(serializers.Serializer):
    """One driver of a score: its points (0–100, null without data), weight, the numbers behind it (``data``), and
    those numbers in words in the request's language."""

    driver = serializers.ChoiceField(choices=HealthDriver.choices)
    label = serializers.CharField()
    text = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    points = serializers.FloatField(allow_null=True)
    weight = serializers.FloatField()
    pulls_down = serializers.BooleanField()
    data = serializers.DictField(required=False)


class WeakDriverSerializer(serializers.Serializer):
    driver = serializers.ChoiceField(choices=HealthDriver.choices)
    label = serializers.CharField()
    points = serializers.FloatField()


class HealthScoreSerializer(serializers.ModelSerializer):
    account_no = serializers.CharField(source="account.account_no", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    customer = serializers.IntegerField(source="account.customer_id", read_only=True)
    customer_name = serializers.CharField(source="account.customer.name", read_only=True)
    org_unit = serializers.CharField(source="account.customer.org_unit.name", read_only=True)
    manager_name = serializers.CharField(read_only=True, allow_null=True)
    level = serializers.ChoiceField(choices=HealthLevel.choices, read_only=True)
    level_display = serializers.CharField(source="get_level_display", read_only=True)
    weakest = serializers.SerializerMethodField()

    class Meta:
        model = HealthScore
        fields = [
            "id",
            "account",
            "account_no",
            "account_name",
            "customer",
            "customer_name",
            "org_unit",
            "manager_name",
            "scored_on",
            "score",
            "level",
            "level_display",
            "weakest",
        ]
        read_only_fields = fields

    @extend_schema_field(WeakDriverSerializer(many=True))
    def get_weakest(self, score) -> list[dict]:
        return [
            {"driver": row["driver"], "label": str(row["label"]), "points": row["points"]}
            for row in weakest_drivers(score.factors)
        ]


class TrendPointSerializer(serializers.Serializer):
    scored_on = serializers.DateField()
    score = serializers.DecimalField(max_digits=5, decimal_places=1)
    level = serializers.ChoiceField(choices=HealthLevel.choices)


class HealthAlertSerializer(serializers.ModelSerializer):
    score_value = serializers.DecimalField(
        source="score.score", max_digits=5, decimal_places=1, read_only=True, default=None
    )
    status = serializers.ChoiceField(choices=HealthAlertStatus.choices, read_only=True)
    previous_level = serializers.ChoiceField(choices=HealthLevel.choices, read_only=True, allow_blank=True)
    task_title = serializers.CharField(source="task.title", read_only=True, default=None)
    task_status = serializers.CharField(source="task.status", read_only=True, default=None)
    task_assignee = serializers.IntegerField(source="task.assignee_id", read_only=True, default=None)
    task_due_date = serializers.DateField(source="task.due_date", read_only=True, default=None)

    class Meta:
        model = HealthAlert
        fields = [
            "id",
            "raised_on",
            "score_value",
            "previous_level",
            "status",
            "closed_at",
            "task",
            "task_title",
            "task_status",
            "task_assignee",
            "task_due_date",
        ]
        read_only_fields = fields


class LatestScoreSerializer(serializers.Serializer):
    scored_on = serializers.DateField()
    score = serializers.DecimalField(max_digits=5, decimal_places=1)
    level = serializers.ChoiceField(choices=HealthLevel.choices)
    level_display = serializers.CharField()


class AccountHealthSerializer(serializers.Serializer):
    """An account's health: ``latest`` null (and no drivers) when it has not been scored yet."""

    account = serializers.IntegerField()
    account_no = serializers.CharField()
    customer = serializers.IntegerField()
    customer_name = serializers.CharField()
    latest = LatestScoreSerializer(allow_null=True)
    drivers = DriverSerializer(many=True)
    trend = TrendPointSerializer(many=True)
    alerts = HealthAlertSerializer(many=True)


def _account_health_data(account: ElectricityAccount) -> dict:
    health = account_health(account=account, today=timezone.localdate())
    latest = health.latest
    factors = {f.get("driver"): f for f in (latest.factors if latest else [])}
    drivers = [
        {**row, "label": str(row["label"]), "data": factors.get(row["driver"], {}).get("data") or {}}
        for row in (driver_rows(latest.factors) if latest else [])
    ]
    return {
        "account": account.pk,
        "account_no": account.account_no,
        "customer": account.customer_id,
        "customer_name": account.customer.name,
        "latest": None
        if latest is None
        else {
            "scored_on": latest.scored_on,
            "score": latest.score,
            "level": latest.level,
            "level_display": str(latest.get_level_display()),
        },
        "drivers": drivers,
        "trend": health.trend,
        "alerts": health.alerts,
    }


class AccountHealthViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The latest health score of each account in the user's view, worst first; one account's health in detail."""

    serializer_class = HealthScoreSerializer
    permission_classes = [IsAuthenticated, IsStaffUser]
    filterset_class = HealthScoreFilterSet
    ordering_fields = ["score", "scored_on"]
    ordering = ["score", "pk"]
    lookup_field = "account"
    lookup_url_kwarg = "account_id"
    lookup_value_regex = r"[0-9]{1,18}"  # longer is beyond any id: 404 from the URL, not a database error

    def get_queryset(self):
        return health_latest_list(user=self.request.user)

    @extend_schema(responses=AccountHealthSerializer)
    def retrieve(self, request, account_id=None):
        """One account's health: the latest score with its drivers, the scores of the last 12 months and the
        alerts (newest first)."""
        try:
            account = account_get(user=request.user, pk=int(account_id))
        except (ElectricityAccount.DoesNotExist, ValueError, TypeError):
            raise Http404 from None
        return Response(AccountHealthSerializer(_account_health_data(account)).data)

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"])
    def score(self, request):
        """Score every account that is not closed now (supervisors and administrators); returns the summary of
        the scoring."""
        if not may_score_health(request.user):
            raise PermissionDenied
        from ..health import health_score_all

        return Response(health_score_all(user=request.user))


def register(router) -> None:
    router.register("account-health", AccountHealthViewSet, basename="account-health")


urlpatterns: list = []
