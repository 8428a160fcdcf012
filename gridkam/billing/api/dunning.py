"""API of the dunning part of billing: an account's dunning (next step), taking a step, the cases with their
steps, and the collections workbench list (``/api/v1/collections/``, the page's twin with its filters).

An account outside the user's view answers 404; taking a step needs billing work (403 otherwise, portal users
included); a step the rules do not allow answers 400 with the reasons by field. The workbench is a staff tool.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Prefetch
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers, status, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from gridkam.core.api_views import BoundedFilterBackend, SafeLookupMixin
from gridkam.customers.models import ElectricityAccount
from gridkam.users.models import User

from .. import dunning
from ..choices import DunningStepKind
from ..models import DunningCase, DunningStep
from ..permissions import IsStaffUser, does_billing
from ..workbench import DEFAULT_SORT, SORTS, CollectionsFilterSet, collections_list, collections_order, rows_complete

ACCOUNT_ID = SafeLookupMixin.lookup_pattern
NOT_FOUND = OpenApiResponse(description=_("No such account in your view."))


def _account(request, pk: str) -> ElectricityAccount:
    if not ACCOUNT_ID.fullmatch(str(pk)):
        raise NotFound
    account = (
        ElectricityAccount.objects.visible_to(request.user).select_related("customer__org_unit").filter(pk=pk).first()
    )
    if account is None:
        raise NotFound
    return account


class DunningStepSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    # Null: the user was deleted (done_by), or the step needs no approval (approved_by).
    done_by = serializers.StringRelatedField(allow_null=True)
    approved_by = serializers.StringRelatedField(allow_null=True)
    notice_url = serializers.SerializerMethodField()

    class Meta:
        model = DunningStep
        fields = [
            "id",
            "kind",
            "kind_label",
            "done_on",
            "done_by",
            "approved_by",
            "arrears",
            "suspension_planned_on",
            "suspension_planned_time",
            "reported_to_authority",
            "warned_before_suspension",
            "note",
            "notice_url",
        ]

    def get_notice_url(self, step) -> str | None:
        return reverse("billing:dunning_notice", args=[step.pk]) if step.notice_text else None


class DunningCaseSerializer(serializers.ModelSerializer):
    account_no = serializers.CharField(source="account.account_no", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    steps = DunningStepSerializer(many=True, read_only=True)

    class Meta:
        model = DunningCase
        fields = [
            "id",
            "account",
            "account_no",
            "status",
            "status_label",
            "opened_on",
            "closed_on",
            "arrears_at_open",
            "steps",
        ]


class NextStepSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DunningStepKind.choices, allow_null=True)
    label = serializers.CharField()
    allowed = serializers.BooleanField()
    allowed_from = serializers.DateField(allow_null=True)
    reason = serializers.CharField()


class AccountDunningSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    account_no = serializers.CharField()
    arrears = serializers.DecimalField(max_digits=14, decimal_places=2)
    case = DunningCaseSerializer(allow_null=True)
    next_step = NextStepSerializer()


class StepTakeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DunningStepKind.choices)
    done_on = serializers.DateField(required=False, help_text=_("Default: today."))
    approved_by = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.none(),
        required=False,
        allow_null=True,
        help_text=_("A notice of supply suspension: the id of the supervisor who approved it."),
    )
    suspension_planned_on = serializers.DateField(required=False, allow_null=True)
    suspension_planned_time = serializers.TimeField(required=False, allow_null=True)
    reported_to_authority = serializers.BooleanField(required=False, default=False)
    warned_before_suspension = serializers.BooleanField(required=False, default=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")

    def __init__(self, *args, account: ElectricityAccount | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if account is not None:
            # Only those who may approve for this customer: another id is "not a valid choice", and no
            # user outside that set is revealed.
            self.fields["approved_by"].queryset = dunning.approvers_for(account.customer)


def _steps_prefetch() -> Prefetch:
    return Prefetch(
        "steps", queryset=DunningStep.objects.select_related("done_by", "approved_by").order_by("done_on", "pk")
    )


class AccountDunningView(APIView):
    """An account's dunning: arrears, the open case with its steps, and the next step (allowed or from when)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description=_("Account id."))],
        responses={200: AccountDunningSerializer, 404: NOT_FOUND},
        summary=_("An account's dunning and its next step"),
    )
    def get(self, request, pk):
        account = _account(request, pk)
        state = dunning.dunning_state(account)
        case = None
        if state.case is not None:
            case = (
                DunningCase.objects.select_related("account").prefetch_related(_steps_prefetch()).get(pk=state.case.pk)
            )
        return Response(
            {
                "account": account.pk,
                "account_no": account.account_no,
                "arrears": f"{state.arrears:.2f}",
                "case": DunningCaseSerializer(case).data if case else None,
                "next_step": state.next.as_dict(),
            }
        )


class DunningStepCreateView(APIView):
    """Take the account's next dunning step (a case opens with the reminder). 400 with the reasons by field
    when the rules do not allow it."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description=_("Account id."))],
        request=StepTakeSerializer,
        responses={
            201: DunningStepSerializer,
            400: OpenApiResponse(description=_("The step is not allowed now; the reasons by field.")),
            403: OpenApiResponse(description=_("Only billing clerks, supervisors and administrators take steps.")),
            404: NOT_FOUND,
        },
        summary=_("Take a dunning step"),
    )
    def post(self, request, pk):
        account = _account(request, pk)
        if not does_billing(request.user):
            raise PermissionDenied
        payload = StepTakeSerializer(data=request.data, account=account)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        data.setdefault("done_on", timezone.localdate())
        try:
            step = dunning.step_take(account=account, user=request.user, **data)
        except DjangoPermissionDenied:
            raise PermissionDenied from None
        return Response(DunningStepSerializer(step).data, status=status.HTTP_201_CREATED)


class DunningCaseFilterSet(django_filters.FilterSet):
    account = django_filters.NumberFilter(field_name="account_id", min_value=1, max_value=2**63 - 1)

    class Meta:
        model = DunningCase
        fields = ["account", "status"]


@extend_schema_view(
    list=extend_schema(summary=_("Dunning cases of the accounts you see (filter by account)")),
    retrieve=extend_schema(summary=_("A dunning case with its steps")),
)
class DunningCaseViewSet(SafeLookupMixin, viewsets.ReadOnlyModelViewSet):
    """Dunning cases, newest first, with their steps."""

    serializer_class = DunningCaseSerializer
    filterset_class = DunningCaseFilterSet
    filter_backends = [BoundedFilterBackend]
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return DunningCase.objects.none()
        return (
            DunningCase.objects.visible_to(self.request.user)
            .select_related("account")
            .prefetch_related(_steps_prefetch())
            .order_by("-opened_on", "-pk")
        )


class CollectionRowSerializer(serializers.Serializer):
    """One account of the collections workbench."""

    account = serializers.IntegerField(source="pk")
    account_no = serializers.CharField()
    account_name = serializers.CharField(source="name")
    customer = serializers.IntegerField(source="customer_id")
    customer_name = serializers.CharField(source="customer.name")
    org_unit = serializers.CharField(source="customer.org_unit.name")
    manager = serializers.SerializerMethodField()
    arrears = serializers.DecimalField(max_digits=14, decimal_places=2)
    open_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    oldest_due = serializers.DateField()
    days_overdue = serializers.IntegerField()
    bucket = serializers.CharField()
    penalty = serializers.DecimalField(max_digits=14, decimal_places=2)
    risk_level = serializers.CharField(allow_null=True)
    risk_score = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)
    dunning_state = serializers.CharField()
    case = serializers.IntegerField(source="case_id", allow_null=True)
    last_step_on = serializers.DateField(allow_null=True)
    next_step = serializers.SerializerMethodField()

    def get_manager(self, row) -> str | None:
        return row.manager_name or row.manager_username

    @extend_schema_field(NextStepSerializer)
    def get_next_step(self, row) -> dict:
        return row.next.as_dict()


SORT_PARAM = OpenApiParameter(
    "sort",
    OpenApiTypes.STR,
    enum=[f"{sign}{key}" for key in SORTS for sign in ("", "-")],
    description=_("Sort key, '-' for descending (default: -risk, i.e. risk level then arrears)."),
)


class CollectionsView(generics.ListAPIView):
    """The collections workbench: accounts you see with arrears, with the same filters as the page, the latest
    risk, dunning state, penalty to date and the next allowed step."""

    permission_classes = [IsAuthenticated, IsStaffUser]
    serializer_class = CollectionRowSerializer
    filterset_class = CollectionsFilterSet
    filter_backends = [BoundedFilterBackend]

    @extend_schema(parameters=[SORT_PARAM], summary=_("Collections workbench"))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ElectricityAccount.objects.none()
        self.today = timezone.localdate()
        return collections_list(user=self.request.user, today=self.today)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        return collections_order(queryset, self.request.query_params.get("sort", DEFAULT_SORT))

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = rows_complete(page if page is not None else queryset, self.today)
        data = self.get_serializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)


def register(router) -> None:
    router.register("dunning-cases", DunningCaseViewSet, basename="dunning-case")


urlpatterns: list = [
    path("accounts/<str:pk>/dunning/", AccountDunningView.as_view(), name="account-dunning"),
    path("accounts/<str:pk>/dunning-steps/", DunningStepCreateView.as_view(), name="account-dunning-steps"),
    path("collections/", CollectionsView.as_view(), name="collections"),
]
