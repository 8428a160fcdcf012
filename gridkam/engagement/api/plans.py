"""API of the plans part of engagement: ``register(router)`` and ``urlpatterns``.

- ``/api/v1/plan-templates/``: the tier templates with their items (staff read);
  ``/api/v1/plan-template-items/<id>/``: PATCH frequency, owner role, description (supervisors, administrators).
- ``/api/v1/service-plans/``: plans the user sees (filters as on the page: year, q, org_unit, tier, owner,
  overdue, customer), one plan with its items, occurrences and change log; POST ``generate`` (``year`` and
  optionally ``customer``); tailoring POSTs on a plan: ``add-item``, ``change-frequency``, ``change-owner``,
  ``remove-item`` (each with a ``reason``).
- ``/api/v1/plan-occurrences/``: occurrences (filters owner ("mine" or an id), customer, status, activity,
  due_from, due_to, overdue) for "my work" clients.
- ``/api/v1/visits/``: list, retrieve, create (with ``follow_ups``).
- ``/api/v1/plan-progress/?by=customer|team|owner|activity&start=&end=`` (or ``&year=``): plan against actual.

Everything is scoped by the customer's visibility (404 outside it); portal users get 403.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from gridkam.core.api_views import (
    DEFAULT_FILTER_BACKENDS,
    IsStaff,
    IsSupervisorOrAdministrator,
    SafeLookupMixin,
    ScopedPrimaryKeyRelatedField,
    service_call,
)
from gridkam.customers.choices import AssignmentRole
from gridkam.customers.models import Customer, ElectricityAccount
from gridkam.servicedesk.choices import Priority, RequestType
from gridkam.users.models import User

from .. import plans as svc
from .. import visits as visit_svc
from ..choices import Activity, FollowUpKind, Frequency
from ..forms_plans import OccurrenceFilterSet, PlanFilterSet, VisitFilterSet
from ..models import (
    PlanChange,
    PlanItem,
    PlanOccurrence,
    PlanTemplate,
    PlanTemplateItem,
    ServicePlan,
    Visit,
    VisitFollowUp,
)
from ..plan_progress import GROUPS

ERRORS = {
    400: OpenApiResponse(description=gettext_lazy("Field errors.")),
    403: OpenApiResponse(description=gettext_lazy("Your role may not do this here.")),
    404: OpenApiResponse(description=gettext_lazy("Not in your view.")),
}


def _staff_scope(user):
    return User.objects.visible_to(user).filter(customer__isnull=True, is_active=True)


# --- templates ----------------------------------------------------------------------------------------------------


class TemplateItemSerializer(serializers.ModelSerializer):
    owner_role = serializers.ChoiceField(
        choices=[
            (AssignmentRole.MANAGER.value, AssignmentRole.MANAGER.label),
            (AssignmentRole.FIELD_ENGINEER.value, AssignmentRole.FIELD_ENGINEER.label),
        ],
        required=False,
    )

    class Meta:
        model = PlanTemplateItem
        fields = ["id", "template", "activity", "frequency", "owner_role", "description"]
        read_only_fields = ["id", "template", "activity"]


class TemplateSerializer(serializers.ModelSerializer):
    items = TemplateItemSerializer(many=True, read_only=True)

    class Meta:
        model = PlanTemplate
        fields = ["id", "tier", "name", "updated_at", "items"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("Service plan templates of every tier")),
    retrieve=extend_schema(summary=gettext_lazy("One tier's service plan template")),
)
class PlanTemplateViewSet(SafeLookupMixin, viewsets.ReadOnlyModelViewSet):
    """The tier templates plans are generated from."""

    serializer_class = TemplateSerializer
    permission_classes = [IsStaff]
    pagination_class = None

    def get_queryset(self):
        return PlanTemplate.objects.prefetch_related("items").order_by("tier")


@extend_schema_view(
    retrieve=extend_schema(summary=gettext_lazy("One template item")),
    partial_update=extend_schema(
        summary=gettext_lazy("Change a template item (supervisors, administrators)"),
        responses={200: TemplateItemSerializer, **ERRORS},
    ),
)
class PlanTemplateItemViewSet(
    SafeLookupMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    serializer_class = TemplateItemSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_permissions(self):
        if self.action == "partial_update":
            return [IsSupervisorOrAdministrator()]
        return [IsStaff()]

    def get_queryset(self):
        return PlanTemplateItem.objects.select_related("template")

    def partial_update(self, request, *args, **kwargs):
        item = self.get_object()
        serializer = TemplateItemSerializer(item, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        item = service_call(svc.plan_template_item_update, item=item, user=request.user, **serializer.validated_data)
        return Response(TemplateItemSerializer(item).data)


# --- plans --------------------------------------------------------------------------------------------------------


class OccurrenceSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    owner_name = serializers.SerializerMethodField()

    class Meta:
        model = PlanOccurrence
        fields = [
            "id",
            "item",
            "customer",
            "customer_name",
            "activity",
            "owner",
            "owner_name",
            "seq",
            "starts_on",
            "due_date",
            "status",
            "done_on",
            "visit",
        ]
        read_only_fields = fields

    def get_owner_name(self, obj) -> str | None:
        return str(obj.owner) if obj.owner_id else None


class ItemOccurrenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlanOccurrence
        fields = ["id", "seq", "starts_on", "due_date", "status", "done_on", "visit", "owner"]
        read_only_fields = fields


class PlanItemSerializer(serializers.ModelSerializer):
    owner_name = serializers.SerializerMethodField()
    occurrences = ItemOccurrenceSerializer(many=True, read_only=True)

    class Meta:
        model = PlanItem
        fields = [
            "id",
            "activity",
            "frequency",
            "owner",
            "owner_name",
            "description",
            "origin",
            "active",
            "occurrences",
        ]
        read_only_fields = fields

    def get_owner_name(self, obj) -> str | None:
        return str(obj.owner) if obj.owner_id else None


class PlanChangeSerializer(serializers.ModelSerializer):
    user_name = serializers.SerializerMethodField()

    class Meta:
        model = PlanChange
        fields = ["id", "item", "kind", "before", "after", "reason", "at", "user", "user_name"]
        read_only_fields = fields

    def get_user_name(self, obj) -> str | None:
        return str(obj.user) if obj.user_id else None


class PlanSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    manager_name = serializers.CharField(read_only=True, allow_null=True)
    due = serializers.IntegerField(source="n_due", read_only=True)
    done = serializers.IntegerField(source="n_done", read_only=True)
    overdue = serializers.IntegerField(source="n_overdue", read_only=True)
    upcoming = serializers.IntegerField(source="n_upcoming", read_only=True)

    class Meta:
        model = ServicePlan
        fields = [
            "id",
            "customer",
            "customer_name",
            "year",
            "tier",
            "template",
            "manager_name",
            "created_at",
            "due",
            "done",
            "overdue",
            "upcoming",
        ]
        read_only_fields = fields


class PlanDetailSerializer(PlanSerializer):
    items = PlanItemSerializer(many=True, read_only=True)
    changes = PlanChangeSerializer(many=True, read_only=True)

    class Meta(PlanSerializer.Meta):
        fields = [*PlanSerializer.Meta.fields, "items", "changes"]
        read_only_fields = fields


class GenerateSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    customer = ScopedPrimaryKeyRelatedField(
        queryset=Customer.objects.all(),
        scope=lambda user: Customer.objects.visible_to(user),
        required=False,
        allow_null=True,
        default=None,
    )


class GenerateResultSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    created = serializers.IntegerField()
    skipped = serializers.IntegerField()
    no_template = serializers.IntegerField()
    items = serializers.IntegerField()
    occurrences = serializers.IntegerField()
    plan = serializers.IntegerField(allow_null=True, required=False)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


def _item_field():
    return serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class AddItemSerializer(ReasonSerializer):
    activity = serializers.ChoiceField(choices=Activity.choices)
    frequency = serializers.ChoiceField(choices=Frequency.choices)
    owner = ScopedPrimaryKeyRelatedField(
        queryset=User.objects.all(), scope=_staff_scope, required=False, allow_null=True, default=None
    )
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class FrequencySerializer(ReasonSerializer):
    item = _item_field()
    frequency = serializers.ChoiceField(choices=Frequency.choices)


class OwnerSerializer(ReasonSerializer):
    item = _item_field()
    owner = ScopedPrimaryKeyRelatedField(queryset=User.objects.all(), scope=_staff_scope)


class RemoveSerializer(ReasonSerializer):
    item = _item_field()


def _tailor_schema(serializer, summary):
    return extend_schema(request=serializer, responses={200: PlanDetailSerializer, **ERRORS}, summary=summary)


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("Service plans of the customers you see")),
    retrieve=extend_schema(summary=gettext_lazy("One plan with its items, occurrences and change log")),
)
class ServicePlanViewSet(SafeLookupMixin, viewsets.ReadOnlyModelViewSet):
    """Annual service plans: generated from the tier templates, then tailored with a reason."""

    serializer_class = PlanSerializer
    permission_classes = [IsStaff]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = PlanFilterSet
    ordering_fields = ["year", "customer__name", "n_due", "n_done", "n_overdue"]
    ordering = ["-year", "customer__name"]

    def get_queryset(self):
        plans = svc.plans_visible(self.request.user)
        if self.action != "list":
            occurrences = PlanOccurrence.objects.order_by("due_date", "pk")
            items = PlanItem.objects.select_related("owner").prefetch_related(
                Prefetch("occurrences", queryset=occurrences)
            )
            plans = plans.prefetch_related(
                Prefetch("items", queryset=items.order_by("-active", "activity", "pk")),
                Prefetch("changes", queryset=PlanChange.objects.select_related("user").order_by("at", "pk")),
            )
        return plans

    def get_serializer_class(self):
        return PlanSerializer if self.action == "list" else PlanDetailSerializer

    def _detail(self, plan, code=status.HTTP_200_OK):
        plan = self.get_queryset().get(pk=plan.pk)
        return Response(PlanDetailSerializer(plan, context=self.get_serializer_context()).data, status=code)

    def _valid(self, serializer_class):
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(
        request=GenerateSerializer,
        responses={200: GenerateResultSerializer, **ERRORS},
        summary=gettext_lazy("Generate plans for a year (all you see: supervisors; one customer: its team)"),
    )
    @action(detail=False, methods=["post"])
    def generate(self, request):
        data = self._valid(GenerateSerializer)
        customer = data["customer"]
        if customer is not None:
            plan = service_call(svc.plan_generate, customer=customer, year=data["year"], user=request.user)
            counts = {"year": data["year"], "created": 1, "skipped": 0, "no_template": 0, "plan": plan.pk}
            counts["items"] = plan.items.count()
            counts["occurrences"] = PlanOccurrence.objects.filter(item__plan=plan).count()
            return Response(counts)
        counts = service_call(svc.plans_generate, year=data["year"], user=request.user)
        return Response({**counts, "plan": None})

    def _item(self, plan, item_id):
        item = plan.items.filter(pk=item_id).first()
        if item is None:
            raise serializers.ValidationError({"item": [gettext_lazy("No such item in this plan.")]})
        item.plan = plan
        return item

    def _tailoring(self):
        plan = self.get_object()
        if not svc.can_tailor(self.request.user, plan.customer):
            raise PermissionDenied
        return plan

    @_tailor_schema(AddItemSerializer, gettext_lazy("Add an item to the plan"))
    @action(detail=True, methods=["post"], url_path="add-item")
    def add_item(self, request, pk=None):
        plan = self._tailoring()
        data = self._valid(AddItemSerializer)
        service_call(svc.plan_item_add, plan=plan, user=request.user, **data)
        return self._detail(plan)

    @_tailor_schema(FrequencySerializer, gettext_lazy("Change an item's frequency"))
    @action(detail=True, methods=["post"], url_path="change-frequency")
    def change_frequency(self, request, pk=None):
        plan = self._tailoring()
        data = self._valid(FrequencySerializer)
        item = self._item(plan, data["item"])
        service_call(
            svc.plan_item_frequency, item=item, frequency=data["frequency"], reason=data["reason"], user=request.user
        )
        return self._detail(plan)

    @_tailor_schema(OwnerSerializer, gettext_lazy("Give an item to another owner"))
    @action(detail=True, methods=["post"], url_path="change-owner")
    def change_owner(self, request, pk=None):
        plan = self._tailoring()
        data = self._valid(OwnerSerializer)
        item = self._item(plan, data["item"])
        service_call(svc.plan_item_owner, item=item, owner=data["owner"], reason=data["reason"], user=request.user)
        return self._detail(plan)

    @_tailor_schema(RemoveSerializer, gettext_lazy("Take an item out of the plan"))
    @action(detail=True, methods=["post"], url_path="remove-item")
    def remove_item(self, request, pk=None):
        plan = self._tailoring()
        data = self._valid(RemoveSerializer)
        item = self._item(plan, data["item"])
        service_call(svc.plan_item_remove, item=item, reason=data["reason"], user=request.user)
        return self._detail(plan)


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("Plan occurrences (due instances of plan items) you see")),
    retrieve=extend_schema(summary=gettext_lazy("One plan occurrence")),
)
class PlanOccurrenceViewSet(SafeLookupMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = OccurrenceSerializer
    permission_classes = [IsStaff]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = OccurrenceFilterSet
    ordering_fields = ["due_date", "starts_on", "status"]
    ordering = ["due_date", "pk"]

    def get_queryset(self):
        return svc.occurrences_visible(self.request.user).select_related("customer", "owner")


# --- visits -------------------------------------------------------------------------------------------------------


class FollowUpSerializer(serializers.ModelSerializer):
    task_due_date = serializers.DateField(source="task.due_date", read_only=True, allow_null=True, default=None)
    request_number = serializers.CharField(
        source="service_request.number", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = VisitFollowUp
        fields = ["id", "kind", "description", "task", "task_due_date", "service_request", "request_number"]
        read_only_fields = fields


class VisitSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    participants = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Visit
        fields = [
            "id",
            "customer",
            "customer_name",
            "account",
            "activity",
            "visited_on",
            "participants",
            "customer_participants",
            "purpose",
            "findings",
            "created_at",
            "created_by",
        ]
        read_only_fields = fields


class VisitDetailSerializer(VisitSerializer):
    follow_ups = FollowUpSerializer(many=True, read_only=True)
    occurrences = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta(VisitSerializer.Meta):
        fields = [*VisitSerializer.Meta.fields, "occurrences", "follow_ups"]
        read_only_fields = fields


class FollowUpInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=FollowUpKind.choices)
    description = serializers.CharField(max_length=300)
    due_date = serializers.DateField(required=False, allow_null=True, default=None)
    assignee = ScopedPrimaryKeyRelatedField(
        queryset=User.objects.all(), scope=_staff_scope, required=False, allow_null=True, default=None
    )
    request_type = serializers.ChoiceField(choices=RequestType.choices, required=False, allow_null=True, default=None)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False, default=Priority.NORMAL)


class VisitCreateSerializer(serializers.Serializer):
    customer = ScopedPrimaryKeyRelatedField(
        queryset=Customer.objects.all(), scope=lambda user: Customer.objects.visible_to(user)
    )
    account = ScopedPrimaryKeyRelatedField(
        queryset=ElectricityAccount.objects.all(),
        scope=lambda user: ElectricityAccount.objects.visible_to(user),
        required=False,
        allow_null=True,
        default=None,
    )
    activity = serializers.ChoiceField(choices=Activity.choices, default=Activity.VISIT)
    visited_on = serializers.DateField()
    participants = ScopedPrimaryKeyRelatedField(
        queryset=User.objects.all(), scope=_staff_scope, many=True, required=False, default=list
    )
    customer_participants = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    purpose = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    findings = serializers.CharField(required=False, allow_blank=True, default="")
    occurrence = ScopedPrimaryKeyRelatedField(
        queryset=PlanOccurrence.objects.all(),
        scope=lambda user: svc.occurrences_visible(user),
        required=False,
        allow_null=True,
        default=None,
    )
    follow_ups = FollowUpInputSerializer(many=True, required=False, default=list)


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("Visits to the customers you see")),
    retrieve=extend_schema(summary=gettext_lazy("One visit with its follow-up actions")),
    create=extend_schema(
        summary=gettext_lazy("Record a visit (delivers a plan occurrence; follow-ups become tasks or requests)"),
        request=VisitCreateSerializer,
        responses={201: VisitDetailSerializer, **ERRORS},
    ),
)
class VisitViewSet(SafeLookupMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = VisitSerializer
    permission_classes = [IsStaff]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = VisitFilterSet
    ordering_fields = ["visited_on", "customer__name"]
    ordering = ["-visited_on", "-pk"]

    def get_queryset(self):
        visits = visit_svc.visits_visible(self.request.user)
        if self.action != "list":
            follow_ups = VisitFollowUp.objects.select_related("task", "service_request").order_by("pk")
            visits = visits.prefetch_related(Prefetch("follow_ups", queryset=follow_ups), "occurrences")
        return visits

    def get_serializer_class(self):
        if self.action == "create":
            return VisitCreateSerializer
        return VisitSerializer if self.action == "list" else VisitDetailSerializer

    def create(self, request, *args, **kwargs):
        serializer = VisitCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["follow_ups"] = [dict(row) for row in data["follow_ups"]]
        visit = service_call(visit_svc.visit_record, user=request.user, **data)
        visit = self.get_queryset().get(pk=visit.pk)
        return Response(VisitDetailSerializer(visit).data, status=status.HTTP_201_CREATED)


# --- plan against actual ------------------------------------------------------------------------------------------


class ProgressQuerySerializer(serializers.Serializer):
    by = serializers.ChoiceField(choices=sorted(GROUPS), default="customer")
    year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)

    def validate(self, attrs):
        if attrs.get("start") and attrs.get("end") and attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": [gettext_lazy("The end cannot be before the start.")]})
        return attrs


class ProgressRowSerializer(serializers.Serializer):
    key = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    due = serializers.IntegerField()
    done = serializers.IntegerField()
    done_late = serializers.IntegerField()
    overdue = serializers.IntegerField()
    upcoming = serializers.IntegerField()
    done_share = serializers.FloatField(allow_null=True)


class ProgressSerializer(serializers.Serializer):
    by = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    rows = ProgressRowSerializer(many=True)


class PlanProgressView(APIView):
    """Plan against actual: occurrences due in the span, grouped; overdue ones first."""

    permission_classes = [IsStaff]

    @extend_schema(
        parameters=[
            OpenApiParameter("by", str, enum=sorted(GROUPS)),
            OpenApiParameter("year", int),
            OpenApiParameter("start", dt.date),
            OpenApiParameter("end", dt.date),
        ],
        responses={200: ProgressSerializer, 400: ERRORS[400], 403: ERRORS[403]},
        summary=gettext_lazy("Plan against actual by customer, team, owner or activity"),
    )
    def get(self, request):
        from ..plan_views import progress_rows, progress_span

        query = ProgressQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        today = timezone.localdate()
        by = query.validated_data["by"]
        start, end = progress_span(query.validated_data, today)
        rows = progress_rows(request.user, by, start, end, today)
        data = {
            "by": by,
            "start": start,
            "end": end,
            "rows": [
                {**r.__dict__, "key": None if r.key is None else str(r.key), "done_share": r.done_share} for r in rows
            ],
        }
        return Response(ProgressSerializer(data).data)


urlpatterns = [path("plan-progress/", PlanProgressView.as_view(), name="plan-progress")]


def register(router) -> None:
    router.register("plan-templates", PlanTemplateViewSet, basename="plan-template")
    router.register("plan-template-items", PlanTemplateItemViewSet, basename="plan-template-item")
    router.register("service-plans", ServicePlanViewSet, basename="service-plan")
    router.register("plan-occurrences", PlanOccurrenceViewSet, basename="plan-occurrence")
    router.register("visits", VisitViewSet, basename="visit")
