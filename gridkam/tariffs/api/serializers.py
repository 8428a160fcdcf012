"""Serializers of the tariff catalogue and of the bill quote. The quote's input serializer is the one
validation of a quote: the API, the web calculator and ``bill_quote`` all run it, so a bad field gets
the same message everywhere."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from gridkam.core.api_views import ScopedPrimaryKeyRelatedField
from gridkam.customers.choices import BasicChargeMethod, PowerFactorStandard
from gridkam.customers.models import ElectricityAccount

from ..choices import Period
from ..models import MonthlyUsage, Tariff, TariffVersion
from ..services import USAGE_FIELDS

# A month's quantities for one account are far below these; anything above is a unit slip.
MAX_KWH = Decimal("9999999999.99")
MAX_KW = Decimal("999999999.999")
NON_NEGATIVE = {"min_value": Decimal("0")}


def _energy_field(**kwargs):
    return serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), max_value=MAX_KWH, **kwargs
    )


def _demand_field(**kwargs):
    return serializers.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal("0"), max_value=MAX_KW, **kwargs)


class EnergySerializer(serializers.Serializer):
    sharp = _energy_field(required=False, default=Decimal("0"))
    peak = _energy_field(required=False, default=Decimal("0"))
    flat = _energy_field(required=False, default=Decimal("0"))
    valley = _energy_field(required=False, default=Decimal("0"))
    deep_valley = _energy_field(required=False, default=Decimal("0"))

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(Period.values)) if isinstance(data, dict) else []
        errors = {
            key: [_("Unknown time-of-use period; use sharp, peak, flat, valley or deep_valley.")] for key in unknown
        }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            errors = {**exc.detail, **errors} if isinstance(exc.detail, dict) else exc.detail
            raise serializers.ValidationError(errors) from None
        if errors:
            raise serializers.ValidationError(errors)
        return value


class ReactiveSerializer(serializers.Serializer):
    lagging = _energy_field(required=False, default=Decimal("0"), help_text=_("Lagging (inductive) kvarh."))
    leading = _energy_field(required=False, default=Decimal("0"), help_text=_("Leading (capacitive) kvarh."))


class FeederSerializer(serializers.Serializer):
    max_demand_kw = _demand_field(required=False, allow_null=True, default=None)
    contract_demand_kw = _demand_field(required=False, allow_null=True, default=None)


class SuspensionSerializer(serializers.Serializer):
    kva = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    start = serializers.DateField(required=False, allow_null=True, default=None)
    end = serializers.DateField(required=False, allow_null=True, default=None)


PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")


class QuoteInputSerializer(serializers.Serializer):
    """One month's quantities and contract terms, priced under a tariff version."""

    tariff = serializers.CharField(max_length=40, help_text=_("Tariff code, e.g. GD-TOU-2P-10KV."))
    period = serializers.CharField(max_length=7, help_text=_("Billing month, YYYY-MM."))
    energy_kwh = EnergySerializer(help_text=_("Active energy by time-of-use period, kWh."))
    reactive_kvarh = ReactiveSerializer(required=False)
    capacity_kva = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0.01"), required=False, allow_null=True, default=None
    )
    suspended_kva = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        default=Decimal("0"),
        help_text=_("Capacity suspended or reduced for the whole month, kVA."),
    )
    suspensions = SuspensionSerializer(
        many=True, required=False, help_text=_("Suspensions that start or end within the month, prorated by days.")
    )
    basic_charge_method = serializers.ChoiceField(
        choices=BasicChargeMethod.choices, required=False, allow_null=True, default=None
    )
    contract_demand_kw = _demand_field(required=False, allow_null=True, default=None)
    max_demand_kw = _demand_field(required=False, allow_null=True, default=None)
    feeders = FeederSerializer(
        many=True,
        required=False,
        help_text=_("For two or more incoming feeders: demand per feeder, summed. Replaces the two fields above."),
    )
    pf_standard = serializers.ChoiceField(choices=PowerFactorStandard.choices, required=False, default="0.90")

    def validate_period(self, value: str) -> datetime.date:
        match = PERIOD_RE.match(value.strip())
        if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
            raise serializers.ValidationError(_("Give the month as YYYY-MM, e.g. 2025-07."))
        return datetime.date(int(match.group(1)), int(match.group(2)), 1)

    def validate(self, attrs):
        # Imported here: quoting imports this module's field names for its messages.
        from ..quoting import quote_check

        attrs["version"] = quote_check(attrs)
        return attrs


class QuoteLineSerializer(serializers.Serializer):
    item = serializers.CharField()
    label = serializers.CharField(help_text=_("The item in words."))
    quantity = serializers.CharField()
    unit_price = serializers.CharField()
    amount = serializers.CharField()
    rule = serializers.CharField(help_text=_("The rule applied, in words."))
    rule_code = serializers.CharField()


class QuotePricesSerializer(serializers.Serializer):
    energy = serializers.DictField(child=serializers.CharField())
    capacity_yuan_per_kva_month = serializers.CharField(allow_null=True)
    demand_yuan_per_kw_month = serializers.CharField(allow_null=True)
    funds_yuan_per_kwh = serializers.CharField()


class QuoteOutputSerializer(serializers.Serializer):
    """The priced bill: decimals as strings so that no client rounds them through a float."""

    tariff = serializers.CharField()
    tariff_version = serializers.CharField()
    illustrative = serializers.BooleanField()
    period = serializers.CharField()
    prices = QuotePricesSerializer()
    rules = serializers.DictField(child=serializers.BooleanField())
    energy_charge = serializers.CharField()
    basic_charge = serializers.CharField()
    power_factor = serializers.CharField(allow_null=True)
    pf_adjustment_percent = serializers.CharField()
    pf_adjustment = serializers.CharField()
    government_funds = serializers.CharField()
    total = serializers.CharField()
    lines = QuoteLineSerializer(many=True)


class TariffVersionSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)
    energy_prices = serializers.SerializerMethodField()

    class Meta:
        model = TariffVersion
        fields = [
            "id",
            "label",
            "effective_from",
            "status",
            "published_at",
            "energy_prices",
            "capacity_yuan_per_kva_month",
            "demand_yuan_per_kw_month",
            "funds_yuan_per_kwh",
            "pf_counts_leading",
            "pf_base_includes_funds",
            "actual_demand_floor",
            "illustrative",
            "source",
            "notes",
        ]
        read_only_fields = fields

    def get_energy_prices(self, obj: TariffVersion) -> dict[str, str]:
        return {period: f"{price:f}" for period, price in obj.energy_prices().items()}


class TariffVersionDetailSerializer(TariffVersionSerializer):
    calendar = serializers.JSONField(read_only=True)
    month_hour_grid = serializers.SerializerMethodField(help_text=_("Period of each hour of a normal day, by month."))

    class Meta(TariffVersionSerializer.Meta):
        fields = [*TariffVersionSerializer.Meta.fields, "calendar", "month_hour_grid"]
        read_only_fields = fields

    def get_month_hour_grid(self, obj: TariffVersion) -> list[list[str]]:
        return obj.tou_calendar().month_hour_grid()


class TariffSerializer(serializers.ModelSerializer):
    versions = TariffVersionSerializer(many=True, read_only=True)

    class Meta:
        model = Tariff
        fields = [
            "code",
            "name",
            "region",
            "customer_category",
            "voltage_band",
            "structure",
            "description",
            "active",
            "versions",
        ]
        read_only_fields = fields


def _usage_editable_accounts(user):
    from ..selectors import accounts_usage_editable

    return accounts_usage_editable(user)


class MonthlyUsageSerializer(serializers.ModelSerializer):
    account = ScopedPrimaryKeyRelatedField(
        scope=_usage_editable_accounts,
        queryset=ElectricityAccount.objects.all(),
        error_messages={"does_not_exist": _("There is no account with id {pk_value} whose quantities you may change.")},
    )
    account_no = serializers.CharField(source="account.account_no", read_only=True)
    month = serializers.CharField(max_length=10, help_text=_("Billing month, YYYY-MM."))

    class Meta:
        model = MonthlyUsage
        fields = [
            "id",
            "account",
            "account_no",
            "month",
            *USAGE_FIELDS,
            "source",
            "updated_at",
        ]
        read_only_fields = ["id", "account_no", "updated_at"]
        # The month is an upsert key here, not a uniqueness error.
        validators: list = []

    def validate_month(self, value: str) -> datetime.date:
        match = re.match(r"^(\d{4})-(\d{2})(?:-01)?$", value.strip())
        if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
            raise serializers.ValidationError(_("Give the month as YYYY-MM, e.g. 2025-07."))
        return datetime.date(int(match.group(1)), int(match.group(2)), 1)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["month"] = f"{instance.month:%Y-%m}"
        return data
