"""Bill runs and bills under /api/v1/.

- ``bill-runs/``: the runs (staff); ``POST {"period": "YYYY-MM", "account_nos": [...], "background": false}``
  bills the month (billing staff): 201 with the finished run, or with ``background`` 202 with the queued run
  (Location: the run, to follow until its status is final; ``progress`` is chunks done of all).
- ``bills/``: the bills the user may see (portal users their own, never drafts), filtered as the bill list page;
  one bill with its lines and each line's rule in words; ``POST bills/{id}/issue/`` and
  ``POST bills/{id}/correct/ {"reason"}`` (billing staff) issue a draft and correct an issued bill (201 with the
  credit note and the rebill).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.reverse import reverse

from gridkam.core.api_views import DEFAULT_FILTER_BACKENDS, SafeLookupMixin

from ..billrun import (
    BillFilterSet,
    BillRunFilterSet,
    bill_correct,
    bill_get,
    bill_issue,
    bill_lines_explained,
    bill_list,
    bill_run,
    bill_run_enqueue,
    bill_run_list,
    bill_runs_interrupted_mark,
    period_parse,
    run_numbers_visible,
    run_progress,
    run_skipped_visible,
)
from ..models import Bill, BillRun
from ..permissions import DoesBilling, IsStaffUser


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-03"})
class MonthField(serializers.DateField):
    """A billing month as "YYYY-MM"."""

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m", **kwargs)


class SkippedSerializer(serializers.Serializer):
    account_no = serializers.CharField()
    reason = serializers.CharField(
        help_text=_("closed, no_tariff, no_version, no_usage, missing_intervals, engine, or issued (left alone)")
    )
    message = serializers.CharField(help_text=_("The reason in words, with its figures."))


class RunProgressSerializer(serializers.Serializer):
    chunks = serializers.IntegerField()
    chunks_done = serializers.IntegerField()
    percent = serializers.IntegerField()
    active = serializers.BooleanField(help_text=_("Queued or running: poll again."))


class BillRunSerializer(serializers.ModelSerializer):
    period = MonthField(read_only=True)
    created_by = serializers.StringRelatedField(allow_null=True)  # null: a command run without a user
    account_count = serializers.SerializerMethodField(
        help_text=_("How many accounts the run was limited to; 0: every account that is not closed.")
    )
    skipped_count = serializers.SerializerMethodField(help_text=_("Accounts not billed, with any reason."))
    progress = serializers.SerializerMethodField()

    class Meta:
        model = BillRun
        fields = [
            "id",
            "period",
            "account_count",
            "status",
            "created_by",
            "created_at",
            "finished_at",
            "accounts",
            "chunks",
            "chunks_done",
            "created",
            "replaced",
            "skipped_count",
            "failure",
            "progress",
        ]
        read_only_fields = fields

    def get_account_count(self, run: BillRun) -> int:
        return len(run.account_nos or [])

    def get_skipped_count(self, run: BillRun) -> int:
        return len(run.skipped or [])

    @extend_schema_field(RunProgressSerializer)
    def get_progress(self, run: BillRun) -> dict:
        return run_progress(run)


class BillRunDetailSerializer(BillRunSerializer):
    account_nos = serializers.SerializerMethodField(
        help_text=_("The account numbers the run was limited to, those you may see.")
    )
    skipped = serializers.SerializerMethodField(help_text=_("The accounts not billed that you may see."))

    class Meta(BillRunSerializer.Meta):
        fields = [*BillRunSerializer.Meta.fields, "account_nos", "skipped"]
        read_only_fields = fields

    def get_account_nos(self, run: BillRun) -> list[str]:
        return run_numbers_visible(run=run, user=self.context["request"].user)

    @extend_schema_field(SkippedSerializer(many=True))
    def get_skipped(self, run: BillRun) -> list[dict]:
        entries = run_skipped_visible(run=run, user=self.context["request"].user)
        return [{"account_no": e["account_no"], "reason": e["reason"], "message": e["message"]} for e in entries]


class BillRunCreateSerializer(serializers.Serializer):
    period = serializers.CharField(help_text=_("The billing month, YYYY-MM."))
    account_nos = serializers.ListField(
        child=serializers.CharField(max_length=32),
        required=False,
        default=list,
        help_text=_("Bill only these accounts; empty: every account that is not closed."),
    )
    background = serializers.BooleanField(
        default=False, help_text=_("Queue the run for the background workers and answer at once (202).")
    )

    def validate_period(self, value):
        try:
            return period_parse(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["period"]) from None


class BillSerializer(serializers.ModelSerializer):
    period = MonthField(read_only=True)
    account_no = serializers.CharField(source="account.account_no", read_only=True)
    customer = serializers.IntegerField(source="account.customer_id", read_only=True)
    customer_name = serializers.CharField(source="account.customer.name", read_only=True)

    class Meta:
        model = Bill
        fields = [
            "id",
            "number",
            "account",
            "account_no",
            "customer",
            "customer_name",
            "period",
            "kind",
            "status",
            "source",
            "corrects",
            "run",
            "tariff_label",
            "energy_kwh",
            "energy_charge",
            "basic_charge",
            "power_factor",
            "pf_adjustment_percent",
            "pf_adjustment",
            "government_funds",
            "total",
            "amount_paid",
            "issue_date",
            "due_date",
            "settled_on",
            "correction_reason",
            "created_at",
        ]
        read_only_fields = fields


class BillLineSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    item = serializers.CharField()
    label = serializers.CharField(help_text=_("The item in words."))
    quantity = serializers.DecimalField(max_digits=18, decimal_places=4)
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=6)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    rule_code = serializers.CharField()
    rule = serializers.CharField(help_text=_("The rule applied, in words, with its figures."))
    params = serializers.DictField(help_text=_("What the rule used."))


class BillDetailSerializer(BillSerializer):
    tariff_version = serializers.PrimaryKeyRelatedField(read_only=True)
    quantities = serializers.DictField(read_only=True, help_text=_("The inputs the bill was priced on."))
    lines = serializers.SerializerMethodField()

    class Meta(BillSerializer.Meta):
        fields = [*BillSerializer.Meta.fields, "tariff_version", "quantities", "lines"]
        read_only_fields = fields

    @extend_schema_field(BillLineSerializer(many=True))
    def get_lines(self, bill: Bill) -> list[dict]:
        return [
            {
                "position": row["line"].position,
                "item": row["line"].item,
                "label": row["label"],
                "quantity": f"{row['line'].quantity:.4f}",
                "unit_price": f"{row['line'].unit_price:.6f}",
                "amount": f"{row['line'].amount:.2f}",
                "rule_code": row["line"].rule_code,
                "rule": str(row["rule"]),
                "params": row["line"].params,
            }
            for row in bill_lines_explained(bill)
        ]


class BillCorrectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text=_("Why the bill is corrected."))


class BillCorrectionSerializer(serializers.Serializer):
    credit_note = BillDetailSerializer()
    rebill = BillDetailSerializer()


@extend_schema_view(
    list=extend_schema(summary=_("Bill runs, newest first")),
    retrieve=extend_schema(summary=_("One bill run with the accounts it did not bill")),
)
class BillRunViewSet(
    SafeLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = BillRunFilterSet
    ordering_fields = ["created_at", "period", "status"]
    ordering = ["-created_at"]

    def get_permissions(self):
        if self.action == "create":
            return [DoesBilling()]
        return [IsStaffUser()]

    def get_queryset(self):
        return bill_run_list(user=self.request.user)

    def get_serializer_class(self):
        if self.action == "create":
            return BillRunCreateSerializer
        return BillRunDetailSerializer if self.action == "retrieve" else BillRunSerializer

    def list(self, request, *args, **kwargs):
        bill_runs_interrupted_mark()
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        # The id is checked first (an oversized one is a 404, not a database error).
        bill_runs_interrupted_mark(run_ids=[int(self.lookup_value())])
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request=BillRunCreateSerializer,
        responses={
            201: OpenApiResponse(BillRunDetailSerializer, description=_("Billed: the finished run.")),
            202: OpenApiResponse(
                BillRunDetailSerializer,
                description=_("Queued for the background workers (or already run where no queue is set up)."),
            ),
            400: OpenApiResponse(description=_("A bad month or unknown account numbers: nothing written.")),
        },
        summary=_("Bill a month"),
    )
    def create(self, request, *args, **kwargs):
        serializer = BillRunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["background"]:
            run = bill_run_enqueue(period=data["period"], account_nos=data["account_nos"], user=request.user)
            code = status.HTTP_202_ACCEPTED
        else:
            run = bill_run(period=data["period"], account_nos=data["account_nos"], user=request.user)
            code = status.HTTP_201_CREATED
        run = self.get_queryset().get(pk=run.pk)
        body = BillRunDetailSerializer(run, context=self.get_serializer_context()).data
        location = reverse("bill-run-detail", args=[run.pk], request=request)
        return Response(body, status=code, headers={"Location": location})


@extend_schema_view(
    list=extend_schema(summary=_("Bills you may see")),
    retrieve=extend_schema(summary=_("One bill with its lines and the rule of each")),
)
class BillViewSet(SafeLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = BillFilterSet
    ordering_fields = ["period", "total", "due_date", "number", "status"]
    ordering = ["-period", "account__account_no"]

    def get_permissions(self):
        if self.action in ("issue", "correct"):
            return [DoesBilling()]
        return [IsAuthenticated()]

    def get_queryset(self):
        if self.action in ("retrieve", "issue", "correct"):
            return bill_list(user=self.request.user).prefetch_related("lines")
        return bill_list(user=self.request.user)

    def get_serializer_class(self):
        return BillSerializer if self.action == "list" else BillDetailSerializer

    def _detail(self, pk: int) -> dict:
        return BillDetailSerializer(bill_get(user=self.request.user, pk=pk), context=self.get_serializer_context()).data

    @extend_schema(
        request=None,
        responses={200: BillDetailSerializer, 400: OpenApiResponse(description=_("Not a draft that can be issued."))},
        summary=_("Issue a draft bill"),
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def issue(self, request, pk=None):
        bill = bill_issue(bill=self.get_object(), user=request.user)
        return Response(self._detail(bill.pk))

    @extend_schema(
        request=BillCorrectSerializer,
        responses={
            201: BillCorrectionSerializer,
            400: OpenApiResponse(description=_("Not an issued bill, no reason, or the month cannot be billed again.")),
        },
        summary=_("Correct an issued bill with a credit note and a rebill"),
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def correct(self, request, pk=None):
        bill = self.get_object()
        serializer = BillCorrectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note, rebill = bill_correct(bill=bill, user=request.user, reason=serializer.validated_data["reason"])
        return Response(
            {"credit_note": self._detail(note.pk), "rebill": self._detail(rebill.pk)}, status=status.HTTP_201_CREATED
        )


def register(router) -> None:
    router.register("bill-runs", BillRunViewSet, basename="bill-run")
    router.register("bills", BillViewSet, basename="bill")


urlpatterns: list = []
