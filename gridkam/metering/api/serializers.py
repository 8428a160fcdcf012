"""The interval-data API's documents. The summaries are built by ``gridkam.metering.summaries`` (the same
dict ``load_summary --json`` prints); these serializers describe them for the schema."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


def _kwh(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=16, decimal_places=3, coerce_to_string=True, **kwargs)


def _ratio(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=6, decimal_places=2, coerce_to_string=True, **kwargs)


class EnergyByPeriodSerializer(serializers.Serializer):
    """kWh per time-of-use period of the account's tariff calendar (period of the interval's start)."""

    sharp = _kwh()
    peak = _kwh()
    flat = _kwh()
    valley = _kwh()
    deep_valley = _kwh(required=False, help_text=_("Present when the tariff prices deep valley or energy fell in it."))


class MonthSummarySerializer(serializers.Serializer):
    """A month of load; decimals as strings, null where there is nothing to show."""

    month = serializers.CharField(help_text=_("YYYY-MM: readings whose interval starts in that month."))
    intervals = serializers.IntegerField(help_text=_("Quarter-hours with a reading."))
    missing_intervals = serializers.IntegerField(help_text=_("Quarter-hours of the month without a reading."))
    kwh_total = _kwh(help_text=_("Active energy, all periods."))
    kwh_by_period = EnergyByPeriodSerializer()
    kvarh_lag = _kwh(help_text=_("Lagging reactive energy."))
    kvarh_lead = _kwh(help_text=_("Leading reactive energy."))
    max_demand_kw = _kwh(allow_null=True, help_text=_("Highest quarter-hour kWh × 4; null without readings."))
    max_demand_at = serializers.DateTimeField(
        allow_null=True, help_text=_("End of the first interval reaching the maximum, local time.")
    )
    power_factor = _ratio(
        allow_null=True,
        help_text=_(
            "cos φ as the bill engine computes it (leading kvarh counted where the tariff says so); "
            "null without energy."
        ),
    )
    load_factor = _ratio(
        allow_null=True, help_text=_("Average kW over the intervals present ÷ maximum demand; null without a maximum.")
    )


class MeteringPointSummarySerializer(MonthSummarySerializer):
    metering_point = serializers.CharField(help_text=_("Metering point code."))


class AccountSummarySerializer(MonthSummarySerializer):
    account = serializers.CharField(help_text=_("Account number; the account's billing points summed per interval."))
