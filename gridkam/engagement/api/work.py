"""API of the work part of engagement: the twins of the "My work" pages.

- ``GET /api/v1/my-work/``: the user's queue (filters ``kind`` (repeatable), ``overdue``, ``q``; ``sort`` due or
  kind, ``-`` to reverse), paginated.
- ``GET /api/v1/my-work/team/``: per member of the teams the user leads (supervises, administers), the counts
  of their queue; 403 for anyone leading no team.
- ``POST /api/v1/my-work/team/reassign/``: move one request, plan occurrence or task (``kind``, ``id``) to
  another member of the same team (``to_user``) with a ``reason``; field errors answer 400.

Portal users get 403 everywhere.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from gridkam.servicedesk.permissions import IsStaffUser
from gridkam.users.models import User

from .. import work

DEFAULT_PERMISSIONS = [IsAuthenticated, IsStaffUser]


class SlaStateSerializer(serializers.Serializer):
    target = serializers.CharField()
    label = serializers.CharField()
    state = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)


class WorkItemSerializer(serializers.Serializer):
    """One item of a work queue: ``due`` is a date-time for requests (their nearest SLA target not met yet) and
    a date for the other kinds."""

    key = serializers.CharField(help_text=_("kind:id"))
    kind = serializers.ChoiceField(choices=work.KIND_CHOICES)
    id = serializers.IntegerField()
    title = serializers.CharField()
    detail = serializers.CharField()
    customer = serializers.IntegerField(source="customer_id")
    customer_name = serializers.CharField()
    due = serializers.SerializerMethodField()
    due_date = serializers.DateField(allow_null=True)
    overdue = serializers.BooleanField()
    sla = serializers.SerializerMethodField()
    url = serializers.CharField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_due(self, item) -> str | None:
        return item.due.isoformat() if item.due is not None else None

    @extend_schema_field(SlaStateSerializer(allow_null=True))
    def get_sla(self, item) -> dict | None:
        if item.sla is None:
            return None
        return SlaStateSerializer(item.sla).data


class MemberLoadSerializer(serializers.Serializer):
    user = serializers.IntegerField(source="member.pk")
    name = serializers.SerializerMethodField()
    team = serializers.IntegerField(source="member.team_id")
    team_name = serializers.CharField(source="member.team.name")
    requests = serializers.IntegerField()
    sla_at_risk = serializers.IntegerField()
    plan_due = serializers.IntegerField()
    plan_overdue = serializers.IntegerField()
    tasks = serializers.IntegerField()
    tasks_overdue = serializers.IntegerField()
    warnings = serializers.IntegerField()

    def get_name(self, load) -> str:
        return str(load.member)


class WorkReassignSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(k, work.KIND_LABELS[k]) for k in work.REASSIGNABLE])
    id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    to_user = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    reason = serializers.CharField(max_length=500)


class WorkReassignResultSerializer(serializers.Serializer):
    kind = serializers.CharField()
    id = serializers.IntegerField()
    to_user = serializers.IntegerField()
    to_user_name = serializers.CharField()


QUEUE_PARAMETERS = [
    OpenApiParameter(
        "kind", OpenApiTypes.STR, many=True, enum=list(work.KINDS), description=_("Only items of these kinds.")
    ),
    OpenApiParameter("overdue", OpenApiTypes.BOOL, description=_("Only overdue items.")),
    OpenApiParameter("q", OpenApiTypes.STR, description=_("Customer name or pinyin initials.")),
    OpenApiParameter(
        "sort",
        OpenApiTypes.STR,
        enum=[f"{sign}{key}" for key in work.SORTS for sign in ("", "-")],
        description=_("due (overdue first, then soonest; default) or kind; '-' reverses."),
    ),
]


class MyWorkView(generics.GenericAPIView):
    """The user's work queue: open requests, plan items due, risk warnings and tasks, overdue first."""

    permission_classes = DEFAULT_PERMISSIONS
    serializer_class = WorkItemSerializer
    filter_backends: list = []  # the queue is filtered by work_filter (the parameters below)

    @extend_schema(parameters=QUEUE_PARAMETERS, responses=WorkItemSerializer(many=True), summary=_("My work"))
    def get(self, request, *args, **kwargs):
        queue = work.my_work(request.user)
        params = request.query_params
        filters = {
            "kinds": [k for k in params.getlist("kind") if k in work.KINDS],
            "overdue": params.get("overdue", "").lower() in ("1", "true", "on"),
            "q": params.get("q", "")[:100],
        }
        items = work.work_sort(work.work_filter(queue.items, **filters), params.get("sort", work.DEFAULT_SORT))
        page = self.paginate_queryset(items)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class TeamLoadView(generics.GenericAPIView):
    """Per member of the teams you lead (supervise, administer): open requests, SLA at risk, plan items due and
    overdue, tasks and risk warnings."""

    permission_classes = DEFAULT_PERMISSIONS
    serializer_class = MemberLoadSerializer
    filter_backends: list = []  # rows come sorted by team and member
    queryset = User.objects.none()  # rows are built by ``team_load``; this names the model for the schema

    @extend_schema(
        summary=_("Work of my teams"),
        responses={200: MemberLoadSerializer(many=True), 403: OpenApiResponse(description=_("You lead no team."))},
    )
    def get(self, request, *args, **kwargs):
        if not work.may_lead(request.user):
            raise PermissionDenied(_("You lead no team."))
        page = self.paginate_queryset(work.team_load(viewer=request.user))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class TeamReassignView(APIView):
    """Move one item of a member of your team to another member of the same team, with a reason."""

    permission_classes = DEFAULT_PERMISSIONS

    @extend_schema(
        request=WorkReassignSerializer,
        responses={
            200: WorkReassignResultSerializer,
            400: OpenApiResponse(description=_("Field errors.")),
            403: OpenApiResponse(description=_("You lead no team.")),
        },
        summary=_("Move work to another member of the team"),
    )
    def post(self, request, *args, **kwargs):
        if not work.may_lead(request.user):
            raise PermissionDenied(_("You lead no team."))
        payload = WorkReassignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        to_user = User.objects.filter(pk=data["to_user"]).first()
        try:
            work.work_reassign(
                user=request.user, kind=data["kind"], item_id=data["id"], to_user=to_user, reason=data["reason"]
            )
        except ValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return Response({"kind": data["kind"], "id": data["id"], "to_user": to_user.pk, "to_user_name": str(to_user)})


urlpatterns: list = [
    path("my-work/", MyWorkView.as_view(), name="my-work"),
    path("my-work/team/", TeamLoadView.as_view(), name="my-work-team"),
    path("my-work/team/reassign/", TeamReassignView.as_view(), name="my-work-team-reassign"),
]


def register(router) -> None:
    """Plain views only (urlpatterns): nothing on the router."""
