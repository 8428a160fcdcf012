"""API of the imports part of billing.

- ``/api/v1/billing-imports/``: the billing-system imports the user may see (list, retrieve) and ``POST``
  (multipart ``kind``, ``file``, ``dry_run``) to import one export: 201 with the counts when committed, 200
  for a dry run that would import, 400 with every rejected row when the file is rejected (nothing written).
  Billing clerks, supervisors and administrators only.
- ``/api/v1/billing/reconcile/?period=YYYY-MM[&status=]``: the month's reconciliation over the accounts
  the user may see (utility staff; customers' portal users are refused), paginated by account.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from gridkam.core.api import Pagination, validation_error_response
from gridkam.core.api_views import SafeLookupMixin
from gridkam.core.parsers import NulSafeFormParser, NulSafeMultiPartParser

from ..choices import ImportKind
from ..import_views import ALLOWED_SUFFIXES, MAX_UPLOAD_BYTES
from ..imports import billing_import, billing_imports_visible, parse_period
from ..models import BillingImport
from ..permissions import DoesBilling, IsStaffUser
from ..reconcile import STATUS_CHOICES, reconcile


class BillingImportSerializer(serializers.ModelSerializer):
    created_by = serializers.StringRelatedField(allow_null=True)  # null: a command run without a user

    class Meta:
        model = BillingImport
        fields = ["id", "kind", "file_name", "file_sha256", "created_by", "created_at", "rows", "created", "unchanged"]
        read_only_fields = fields


class RejectedRowSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text=_("Line of the file (the header is line 1); 0 means the whole file."))
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=_("Messages by column (its English name), or by file, header or row."),
    )


class BillingImportOutcomeSerializer(serializers.Serializer):
    """What an import did or, dry run or rejected, would have done: the ``import_billing --json`` document."""

    kind = serializers.ChoiceField(choices=ImportKind.choices)
    file_name = serializers.CharField()
    file_sha256 = serializers.CharField()
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    usage_created = serializers.IntegerField(help_text=_("Account months of monthly usage taken from the bills."))
    rejected = RejectedRowSerializer(many=True)
    committed = serializers.BooleanField()
    # "import" is a Python keyword: declared under its JSON name in get_fields.
    ignored_columns = serializers.ListField(child=serializers.CharField())

    def get_fields(self):
        fields = super().get_fields()
        fields["import"] = serializers.IntegerField(
            allow_null=True, help_text=_("The import recorded; null unless committed.")
        )
        return fields


class BillingImportRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ImportKind.choices)
    file = serializers.FileField(help_text=_("CSV (UTF-8 or GBK) or Excel .xlsx, at most 20 MB."))
    dry_run = serializers.BooleanField(default=False, help_text=_("Check the file and count; write nothing."))

    def validate_file(self, upload):
        if upload.size > MAX_UPLOAD_BYTES:
            raise serializers.ValidationError(_("The file is larger than 20 MB; use the import_billing command."))
        if Path(upload.name).suffix.lower() not in ALLOWED_SUFFIXES:
            raise serializers.ValidationError(_("Upload a .csv or .xlsx file."))
        return upload


@extend_schema_view(
    list=extend_schema(summary=_("Billing-system imports the user may see, newest first")),
    retrieve=extend_schema(summary=_("One billing-system import")),
)
class BillingImportViewSet(SafeLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = BillingImportSerializer
    permission_classes = [DoesBilling]
    parser_classes = [NulSafeMultiPartParser, NulSafeFormParser]
    filter_backends: list = []

    def get_queryset(self):
        return billing_imports_visible(self.request.user).select_related("created_by").order_by("-created_at", "-pk")

    @extend_schema(
        request={"multipart/form-data": BillingImportRequestSerializer},
        responses={
            201: OpenApiResponse(BillingImportOutcomeSerializer, description=_("Imported.")),
            200: OpenApiResponse(BillingImportOutcomeSerializer, description=_("Dry run: what the import would do.")),
            400: OpenApiResponse(description=_("Rejected, nothing written: detail, errors and the rejected rows.")),
        },
        summary=_("Import bills or payments exported by the billing system"),
    )
    def create(self, request):
        serializer = BillingImportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data["file"]
        result = billing_import(
            kind=data["kind"],
            data=upload.read(),
            file_name=Path(upload.name).name,
            user=request.user,
            dry_run=data["dry_run"],
        )
        if result.rejected:
            errors = {
                "file": [
                    gettext_now("Rejected lines: %(count)d; nothing was written.") % {"count": len(result.rejected)}
                ]
            }
            body = {"detail": gettext_now("The input is not valid."), "errors": errors, **result.as_dict()}
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(result.as_dict(), status=status.HTTP_201_CREATED if result.committed else status.HTTP_200_OK)


class ReconcileView(APIView):
    """The month's imported bills against GridKAM's pricing, account by account and item by item."""

    permission_classes = [IsStaffUser]

    @extend_schema(
        parameters=[
            OpenApiParameter("period", OpenApiTypes.STR, required=True, description=_("The billing month, YYYY-MM.")),
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=[value for value, _label in STATUS_CHOICES],
                description=_("Only these."),
            ),
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses={200: OpenApiResponse(description=_("Summary and the accounts' comparisons.")), 400: None},
        summary=_("Reconciliation of imported against computed bills"),
    )
    def get(self, request):
        raw = request.query_params.get("period", "").strip()
        if not raw:
            return validation_error_response({"period": [gettext_now("This field is required.")]})
        try:
            period = parse_period(raw)
        except DjangoValidationError as exc:
            return validation_error_response({"period": exc.messages})
        wanted = request.query_params.get("status", "")
        if wanted and wanted not in dict(STATUS_CHOICES):
            return validation_error_response(
                {"status": [gettext_now("Use one of %(choices)s.") % {"choices": ", ".join(dict(STATUS_CHOICES))}]}
            )
        report = reconcile(period, request.user)
        paginator = Pagination()
        page = paginator.paginate_queryset(report.with_status(wanted), request, view=self)
        return Response(
            {
                **report.summary(),
                "count": paginator.page.paginator.count,
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
                "results": [account.as_dict() for account in page],
            }
        )


def register(router) -> None:
    router.register("billing-imports", BillingImportViewSet, basename="billing-import")


urlpatterns: list = [path("billing/reconcile/", ReconcileView.as_view(), name="billing-reconcile")]
