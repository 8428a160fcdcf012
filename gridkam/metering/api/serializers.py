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


# -- load analytics ------------------------------------------------------------------------------------------


def _kw_list(help_text: str) -> serializers.ListField:
    return serializers.ListField(child=serializers.FloatField(allow_null=True), help_text=help_text)


class CurveSeriesSerializer(serializers.Serializer):
    metering_point = serializers.CharField()
    purpose = serializers.CharField(help_text=_("billing or check"))
    kw = _kw_list(_("kW per quarter-hour from first_interval_end (kWh × 4); null where no reading arrived."))


class DailyBandSerializer(serializers.Serializer):
    days = serializers.ListField(child=serializers.DateField())
    max_kw = _kw_list(_("Highest quarter-hour load of each day; null for a day without readings."))
    min_kw = _kw_list(_("Lowest quarter-hour load of each day."))
    mean_kw = _kw_list(_("Mean load of each day over the quarter-hours with a reading."))


class HeatmapSerializer(serializers.Serializer):
    months = serializers.ListField(child=serializers.CharField(), help_text=_("YYYY-MM, one row each."))
    quarter_hours = serializers.ListField(child=serializers.CharField(), help_text=_("Start of each quarter-hour."))
    mean_kw = serializers.ListField(
        child=_kw_list(_("Mean kW of the month at that time of day.")), help_text=_("Rows: months; columns: 96.")
    )


class LoadCurveSerializer(serializers.Serializer):
    """The account's 15-minute load over whole days, every series on one axis."""

    account = serializers.CharField()
    first_day = serializers.DateField()
    last_day = serializers.DateField()
    first_interval_end = serializers.DateTimeField(help_text=_("End of the first quarter-hour (00:15 of first_day)."))
    step_minutes = serializers.IntegerField()
    series = CurveSeriesSerializer(many=True)
    total_kw = _kw_list(_("The account's billing points summed per quarter-hour."))
    daily = DailyBandSerializer()
    heatmap = HeatmapSerializer()


class LoadMonthSerializer(MonthSummarySerializer):
    kwh_total_year_before = _kwh(allow_null=True, help_text=_("The same month a year before; null without readings."))
    yoy_change = serializers.DecimalField(
        max_digits=12, decimal_places=4, allow_null=True, help_text=_("Change against a year before, as a share.")
    )
    contract_demand_utilisation = serializers.DecimalField(
        max_digits=12, decimal_places=4, allow_null=True, help_text=_("Maximum demand ÷ contract demand.")
    )
    capacity_utilisation = serializers.DecimalField(
        max_digits=12, decimal_places=4, allow_null=True, help_text=_("Maximum demand (kW) ÷ capacity (kVA).")
    )


class LoadMonthsSerializer(serializers.Serializer):
    account = serializers.CharField()
    months = LoadMonthSerializer(many=True)


class LoadPortfolioSerializer(serializers.Serializer):
    """An account's load figures over the 30 days ending on ``as_of`` (null where there is nothing to go on)."""

    id = serializers.IntegerField()
    account_no = serializers.CharField()
    name = serializers.CharField()
    customer_id = serializers.IntegerField()
    customer = serializers.CharField(source="customer.name")
    kwh_30d = _kwh(allow_null=True)
    kwh_prev_30d = _kwh(allow_null=True, help_text=_("The 30 days before those."))
    change_30d = serializers.FloatField(allow_null=True, help_text=_("Share: −0.25 is a quarter less."))
    max_demand_30d = _kwh(allow_null=True)
    load_factor_30d = serializers.FloatField(allow_null=True)
    utilisation = serializers.FloatField(
        allow_null=True, help_text=_("Maximum demand ÷ contract demand, or ÷ capacity without one.")
    )


class LoadAnomalySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["drop", "missing", "low_pf", "over_demand"])
    kind_label = serializers.CharField()
    account = serializers.CharField()
    account_id = serializers.IntegerField()
    customer = serializers.CharField()
    customer_id = serializers.IntegerField()
    day = serializers.DateField(help_text=_("Where the curve shows it."))
    zoom = serializers.ChoiceField(choices=["day", "week", "month"])
    severity = serializers.FloatField(help_text=_("How far past the threshold; comparable within a kind."))
    detail = serializers.CharField()


class LoadAnomalyListSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    count = serializers.IntegerField()
    results = LoadAnomalySerializer(many=True)
