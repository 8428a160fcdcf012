"""API of the metrics part of the service desk: ``GET /api/v1/service-metrics/``, the numbers of the service
metrics page (docs/service-metrics.md) for the same filters, validated by the same form. Staff only (portal users
403); scoped to the customers the caller sees; bad filters answer 400 with field errors."""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from gridkam.core.api import validation_error_response
from gridkam.customers.choices import Tier

from ..choices import Priority, RequestType
from ..forms_metrics import MetricsFilterForm
from ..metrics import AGE_KEYS, TARGETS, ServiceMetrics, service_metrics
from ..permissions import IsStaffUser


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


class TargetCountSerializer(serializers.Serializer):
    applicable = serializers.IntegerField(help_text=_("Requests with a due time for the target."))
    met = serializers.IntegerField(help_text=_("Done by the due time and never flagged breached."))
    breached = serializers.IntegerField(help_text=_("Flagged, done late, or still open past due."))
    pending = serializers.IntegerField(
        help_text=_("Not yet decided: open and not yet due, waiting for the customer, or finished without it.")
    )
    compliance = serializers.FloatField(
        allow_null=True, help_text=_("met ÷ (met + breached), a share from 0 to 1; null when nothing was decided.")
    )


class ComplianceRowSerializer(serializers.Serializer):
    key = serializers.CharField(
        allow_null=True, help_text=_("Team id, tier or type code, or the month's first day; null: no team / all.")
    )
    name = serializers.CharField()
    requests = serializers.IntegerField(help_text=_("Requests logged in the span."))
    response = TargetCountSerializer()
    onsite = TargetCountSerializer()
    resolution = TargetCountSerializer()
    overall = TargetCountSerializer(help_text=_("The three targets pooled."))


class AgingRowSerializer(serializers.Serializer):
    key = serializers.CharField(allow_null=True, help_text=_("Team id or type code; null: no team / all."))
    name = serializers.CharField()
    lt_1d = serializers.IntegerField(help_text=_("Open for less than a day."))
    d1_3 = serializers.IntegerField(help_text=_("Open 1 to under 3 days."))
    d3_7 = serializers.IntegerField(help_text=_("Open 3 to under 7 days."))
    d7_30 = serializers.IntegerField(help_text=_("Open 7 to under 30 days."))
    ge_30d = serializers.IntegerField(help_text=_("Open 30 days and more."))
    total = serializers.IntegerField()


class TimeStatsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    mean_hours = serializers.FloatField(allow_null=True)
    median_hours = serializers.FloatField(allow_null=True)


class TimesRowSerializer(serializers.Serializer):
    key = serializers.CharField(allow_null=True, help_text=_("Tier or type code; null: all."))
    name = serializers.CharField()
    response = TimeStatsSerializer(help_text=_("Wall-clock hours from logging to the first response."))
    resolution = TimeStatsSerializer(help_text=_("Wall-clock hours from logging to resolution."))


class PlanProgressSerializer(serializers.Serializer):
    key = serializers.CharField(allow_null=True, help_text=_("Team or owner id; null: none."))
    name = serializers.CharField()
    due = serializers.IntegerField(help_text=_("Plan items due in the span (cancelled ones left out)."))
    done = serializers.IntegerField()
    done_late = serializers.IntegerField()
    overdue = serializers.IntegerField()
    upcoming = serializers.IntegerField()
    done_share = serializers.FloatField(allow_null=True)


class MetricsFiltersSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    unit = serializers.IntegerField(allow_null=True)
    team = serializers.IntegerField(allow_null=True)
    tier = serializers.CharField(allow_blank=True)
    type = serializers.CharField(allow_blank=True)
    priority = serializers.CharField(allow_blank=True)


class ServiceMetricsSerializer(serializers.Serializer):
    filters = MetricsFiltersSerializer()
    as_of = serializers.DateTimeField(help_text=_("The moment the backlog ages and open targets are judged at."))
    overall = ComplianceRowSerializer()
    compliance_by_team = ComplianceRowSerializer(many=True)
    compliance_by_tier = ComplianceRowSerializer(many=True)
    compliance_by_type = ComplianceRowSerializer(many=True)
    trend = ComplianceRowSerializer(many=True, help_text=_("One row per month of the span."))
    backlog = AgingRowSerializer()
    backlog_by_type = AgingRowSerializer(many=True)
    backlog_by_team = AgingRowSerializer(many=True)
    times = TimesRowSerializer()
    times_by_type = TimesRowSerializer(many=True)
    times_by_tier = TimesRowSerializer(many=True)
    visits_by_team = PlanProgressSerializer(many=True)
    visits_by_owner = PlanProgressSerializer(many=True)


def _key(value) -> str | None:
    return None if value is None else str(value)


def _count(count) -> dict:
    return {
        "applicable": count.applicable,
        "met": count.met,
        "breached": count.breached,
        "pending": count.pending,
        "compliance": _share(count.compliance),
    }


def _compliance(row) -> dict:
    data = {"key": _key(row.key), "name": row.name, "requests": row.requests}
    for target in TARGETS:
        data[str(target)] = _count(row.targets[target])
    data["overall"] = _count(row.overall)
    return data


def _aging(row) -> dict:
    return {"key": _key(row.key), "name": row.name, **dict(zip(AGE_KEYS, row.buckets, strict=True)), "total": row.total}


def _times(row) -> dict:
    def stats(s):
        return {"count": s.count, "mean_hours": s.mean_hours, "median_hours": s.median_hours}

    return {
        "key": _key(row.key),
        "name": row.name,
        "response": stats(row.response),
        "resolution": stats(row.resolution),
    }


def _progress(row) -> dict:
    return {
        "key": _key(row.key),
        "name": row.name,
        "due": row.due,
        "done": row.done,
        "done_late": row.done_late,
        "overdue": row.overdue,
        "upcoming": row.upcoming,
        "done_share": _share(row.done_share),
    }


def metrics_payload(m: ServiceMetrics) -> dict:
    f = m.filters
    return {
        "filters": {
            "start": f.start,
            "end": f.end,
            "unit": f.unit.pk if f.unit else None,
            "team": f.team.pk if f.team else None,
            "tier": f.tier,
            "type": f.request_type,
            "priority": f.priority,
        },
        "as_of": m.now,
        "overall": _compliance(m.overall),
        "compliance_by_team": [_compliance(row) for row in m.by_team],
        "compliance_by_tier": [_compliance(row) for row in m.by_tier],
        "compliance_by_type": [_compliance(row) for row in m.by_type],
        "trend": [_compliance(row) for row in m.trend],
        "backlog": _aging(m.backlog),
        "backlog_by_type": [_aging(row) for row in m.backlog_by_type],
        "backlog_by_team": [_aging(row) for row in m.backlog_by_team],
        "times": _times(m.times_overall),
        "times_by_type": [_times(row) for row in m.times_by_type],
        "times_by_tier": [_times(row) for row in m.times_by_tier],
        "visits_by_team": [_progress(row) for row in m.visits_by_team],
        "visits_by_owner": [_progress(row) for row in m.visits_by_owner],
    }


class ServiceMetricsView(APIView):
    """SLA compliance per target by team, tier, type and month; backlog aging; first-response and resolution
    times; plan items delivered against plan by team and owner. Requests count by the local day they were logged;
    the backlog is the open requests now."""

    permission_classes = [IsStaffUser]

    @extend_schema(
        operation_id="service_metrics",
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATE, description=_("First day (default: 1 January this year).")),
            OpenApiParameter("end", OpenApiTypes.DATE, description=_("Last day (default: today).")),
            OpenApiParameter("unit", OpenApiTypes.INT, description=_("Org unit id: its customers and those below.")),
            OpenApiParameter("team", OpenApiTypes.INT, description=_("Team id.")),
            OpenApiParameter("tier", OpenApiTypes.STR, enum=Tier.values, description=_("Customer tier.")),
            OpenApiParameter("type", OpenApiTypes.STR, enum=RequestType.values, description=_("Request type.")),
            OpenApiParameter("priority", OpenApiTypes.STR, enum=Priority.values, description=_("Priority.")),
        ],
        responses={
            200: ServiceMetricsSerializer,
            400: OpenApiResponse(description=_("A filter is not valid: field errors.")),
            403: OpenApiResponse(description=_("Customers' portal users have no metrics.")),
        },
        summary=_("Service metrics"),
    )
    def get(self, request):
        form = MetricsFilterForm(request.query_params, user=request.user)
        if not form.is_valid():
            return validation_error_response({name: list(errors) for name, errors in form.errors.items()})
        metrics = service_metrics(user=request.user, filters=form.metrics_filter())
        return Response(ServiceMetricsSerializer(metrics_payload(metrics)).data)


urlpatterns = [path("service-metrics/", ServiceMetricsView.as_view(), name="service-metrics")]


def register(router) -> None:
    """No viewsets: the one endpoint is in ``urlpatterns``."""
