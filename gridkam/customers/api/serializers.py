"""Serializers for key-account master data. They shape and check input; every write goes to a
service in gridkam.customers.services, so the API keeps the same rules as forms and imports."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import UniqueTogetherValidator

from gridkam.core.api_views import MAX_DB_ID, OptionalEmailField, ScopedPrimaryKeyRelatedField
from gridkam.core.models import OrgUnit
from gridkam.tariffs.models import Tariff
from gridkam.users.choices import Role
from gridkam.users.models import User

from .. import selectors, services
from ..choices import AssignmentRole, ImportanceClass, Tier
from ..models import (
    AccountAssignment,
    Contact,
    Customer,
    ElectricityAccount,
    Industry,
    MeteringPoint,
    TierRule,
)

# Which staff roles may hold which place in an account team.
HOLDER_ROLES = {
    AssignmentRole.MANAGER: {Role.ACCOUNT_MANAGER},
    AssignmentRole.BACKUP_MANAGER: {Role.ACCOUNT_MANAGER},
    AssignmentRole.FIELD_ENGINEER: {Role.FIELD_ENGINEER},
}


def _visible_units(user):
    return OrgUnit.objects.visible_to(user)


def _visible_customers(user):
    return Customer.objects.visible_to(user)


def _editable_customers(user):
    return Customer.objects.editable_by(user)


def _editable_accounts(user):
    return ElectricityAccount.objects.editable_by(user)


def _assignable_staff(user):
    return User.objects.visible_to(user).filter(customer__isnull=True, is_active=True).exclude(role=Role.CUSTOMER_USER)


def _all_industries(user):
    return Industry.objects.all()


def holder_role_error(*, role: str, holder: User) -> str | None:
    """Why ``holder`` cannot take ``role`` in an account team, or None if they can."""
    allowed = HOLDER_ROLES.get(role, set())
    if holder.role not in allowed:
        return _("%(user)s is a %(role)s and cannot serve as %(place)s.") % {
            "user": holder,
            "role": holder.get_role_display(),
            "place": AssignmentRole(role).label,
        }
    return None


def editable_customer_field(**kwargs) -> ScopedPrimaryKeyRelatedField:
    return ScopedPrimaryKeyRelatedField(
        scope=_editable_customers,
        queryset=Customer.objects.all(),
        error_messages={"does_not_exist": _("There is no customer with id {pk_value} that you may change.")},
        **kwargs,
    )


# Reads


class ServiceWriteMixin:
    """Creates and updates go through the app's service (STYLE.md), never model.save() here:
    the subclass names the service in ``save_through_service``."""

    def create(self, validated_data):
        return self.save_through_service(self.Meta.model(**validated_data))

    def update(self, instance, validated_data):
        for field, value in validated_data.items():
            setattr(instance, field, value)
        return self.save_through_service(instance)


class IndustrySerializer(serializers.ModelSerializer):
    class Meta:
        model = Industry
        fields = ["code", "name", "name_en", "section", "parent"]
        read_only_fields = fields


class MeteringPointNestedSerializer(serializers.ModelSerializer):
    class Meta:
        model = MeteringPoint
        fields = ["id", "code", "meter_no", "ct_ratio", "pt_ratio", "multiplier", "purpose"]
        read_only_fields = fields


class AccountNestedSerializer(serializers.ModelSerializer):
    metering_points = MeteringPointNestedSerializer(many=True, read_only=True)
    tariff_code = serializers.CharField(source="tariff_id", read_only=True, allow_null=True)

    class Meta:
        model = ElectricityAccount
        fields = [
            "id",
            "account_no",
            "name",
            "voltage_kv",
            "capacity_kva",
            "tariff_code",
            "basic_charge_method",
            "contract_demand_kw",
            "pf_standard",
            "supply_mode",
            "status",
            "metering_points",
        ]
        read_only_fields = fields


class ContactNestedSerializer(serializers.ModelSerializer):
    email = OptionalEmailField(read_only=True)

    class Meta:
        model = Contact
        fields = ["id", "name", "role", "phone", "email", "is_primary"]
        read_only_fields = fields


class TeamMemberSerializer(serializers.ModelSerializer):
    user_name = serializers.StringRelatedField(source="user", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    team_name = serializers.CharField(source="user.team.name", read_only=True, default=None, allow_null=True)

    class Meta:
        model = AccountAssignment
        fields = ["id", "role", "user", "user_name", "username", "team_name", "start_date"]
        read_only_fields = fields


class CustomerRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name"]
        read_only_fields = fields


class SupplyGapSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    message = serializers.CharField(read_only=True)


class CustomerListSerializer(serializers.ModelSerializer):
    """One row of the customer list; the figures come annotated from selectors.customer_list."""

    industry_name = serializers.CharField(source="industry.name", read_only=True)
    org_unit_name = serializers.CharField(source="org_unit.name", read_only=True)
    tier_overridden = serializers.BooleanField(read_only=True)
    capacity_total_kva = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    account_count = serializers.IntegerField(read_only=True)
    manager_name = serializers.CharField(read_only=True, allow_null=True)
    manager_username = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "credit_code",
            "name",
            "name_initials",
            "industry",
            "industry_name",
            "org_unit",
            "org_unit_name",
            "parent",
            "tier",
            "tier_computed",
            "tier_overridden",
            "importance_class",
            "credit_rating",
            "annual_energy_mwh",
            "capacity_total_kva",
            "account_count",
            "manager_name",
            "manager_username",
        ]
        read_only_fields = fields


class CustomerDetailSerializer(serializers.ModelSerializer):
    """The customer 360 picture, from selectors.customer_get (everything prefetched)."""

    industry_name = serializers.CharField(source="industry.name", read_only=True)
    org_unit_name = serializers.CharField(source="org_unit.name", read_only=True)
    parent = CustomerRefSerializer(read_only=True, allow_null=True)
    subsidiaries = CustomerRefSerializer(many=True, read_only=True)
    tier_overridden = serializers.BooleanField(read_only=True)
    accounts = AccountNestedSerializer(many=True, read_only=True)
    contacts = ContactNestedSerializer(many=True, read_only=True)
    team = TeamMemberSerializer(source="current_team", many=True, read_only=True)
    capacity_total_kva = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    supply_gaps = SupplyGapSerializer(many=True, read_only=True)
    can_edit = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "credit_code",
            "name",
            "name_initials",
            "industry",
            "industry_name",
            "address",
            "org_unit",
            "org_unit_name",
            "parent",
            "subsidiaries",
            "credit_rating",
            "annual_energy_mwh",
            "capacity_total_kva",
            "importance_class",
            "security_load_kw",
            "emergency_power_kw",
            "tier",
            "tier_computed",
            "tier_overridden",
            "tier_override_reason",
            "supply_gaps",
            "accounts",
            "contacts",
            "team",
            "can_edit",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_can_edit(self, customer: Customer) -> bool:
        request = self.context.get("request")
        if request is None:
            return False
        return Customer.objects.editable_by(request.user).filter(pk=customer.pk).exists()


class HistoryChangeSerializer(serializers.Serializer):
    field = serializers.CharField(read_only=True)
    old = serializers.SerializerMethodField()
    new = serializers.SerializerMethodField()

    # None where the field was empty before (or is empty now).
    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_old(self, change: dict) -> str | None:
        return None if change["old"] is None else str(change["old"])

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_new(self, change: dict) -> str | None:
        return None if change["new"] is None else str(change["new"])


class HistoryEntrySerializer(serializers.Serializer):
    when = serializers.DateTimeField(read_only=True)
    who = serializers.StringRelatedField(read_only=True, allow_null=True)
    type = serializers.ChoiceField(
        choices=[("+", _("Created")), ("~", _("Changed")), ("-", _("Deleted"))],
        read_only=True,
        help_text=_("+ created, ~ changed, - deleted"),
    )
    model = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)
    changes = HistoryChangeSerializer(many=True, read_only=True)


# Writes


class CustomerWriteSerializer(ServiceWriteMixin, serializers.ModelSerializer):
    """Key facts of a customer. The tier is not written here: it follows the tier rules, and a manual
    tier goes through ``tier-override`` with a reason."""

    industry = ScopedPrimaryKeyRelatedField(scope=_all_industries, queryset=Industry.objects.all())
    org_unit = ScopedPrimaryKeyRelatedField(scope=_visible_units, queryset=OrgUnit.objects.all())
    parent = ScopedPrimaryKeyRelatedField(
        scope=_visible_customers, queryset=Customer.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = Customer
        fields = [
            "credit_code",
            "name",
            "industry",
            "address",
            "org_unit",
            "parent",
            "credit_rating",
            "annual_energy_mwh",
            "importance_class",
            "security_load_kw",
            "emergency_power_kw",
        ]

    def validate_org_unit(self, unit: OrgUnit) -> OrgUnit:
        current = self.instance.org_unit_id if self.instance is not None else None
        allowed = selectors.customer_org_units(user=self.context["request"].user, current_id=current)
        if not allowed.filter(pk=unit.pk).exists():
            raise serializers.ValidationError(_("You cannot place customers in this org unit."))
        return unit

    def save_through_service(self, instance: Customer) -> Customer:
        return services.customer_save(customer=instance)


class TierOverrideSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=Tier.choices)
    reason = serializers.CharField(
        max_length=300,
        allow_blank=True,
        required=False,
        default="",
        help_text=_("Required when the tier differs from the one the rules give."),
    )


class ReassignSerializer(serializers.Serializer):
    customers = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_DB_ID), min_length=1, max_length=2000
    )
    role = serializers.ChoiceField(choices=AssignmentRole.choices)
    user = ScopedPrimaryKeyRelatedField(
        scope=_assignable_staff,
        queryset=User.objects.all(),
        error_messages={"does_not_exist": _("There is no active staff member with id {pk_value} that you can see.")},
    )
    reason = serializers.CharField(max_length=300)

    def validate_customers(self, ids: list[int]) -> list[Customer]:
        user = self.context["request"].user
        wanted = list(dict.fromkeys(ids))
        allowed = _editable_customers(user).filter(pk__in=Customer.objects.visible_to(user).values("pk"))
        found = {c.pk: c for c in allowed.filter(pk__in=wanted)}
        missing = [pk for pk in wanted if pk not in found]
        if missing:
            raise serializers.ValidationError(
                _("These customers do not exist or you may not change them: %(ids)s.")
                % {"ids": ", ".join(str(pk) for pk in missing)}
            )
        return [found[pk] for pk in wanted]

    def validate(self, attrs):
        error = holder_role_error(role=attrs["role"], holder=attrs["user"])
        if error:
            raise serializers.ValidationError({"user": [error]})
        return attrs


class ReassignResultSerializer(serializers.Serializer):
    moved = serializers.IntegerField(help_text=_("Customers whose holder of the role changed."))


class AccountSerializer(ServiceWriteMixin, serializers.ModelSerializer):
    customer = editable_customer_field()
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    tariff_code = serializers.SlugRelatedField(
        source="tariff",
        slug_field="code",
        queryset=Tariff.objects.all(),
        allow_null=True,
        required=False,
        help_text=_("Code of a tariff in the catalogue (/api/v1/tariffs/)."),
        error_messages={"does_not_exist": _("Unknown tariff code {value}.")},
    )

    class Meta:
        model = ElectricityAccount
        fields = [
            "id",
            "account_no",
            "name",
            "customer",
            "customer_name",
            "voltage_kv",
            "capacity_kva",
            "tariff_code",
            "basic_charge_method",
            "contract_demand_kw",
            "pf_standard",
            "supply_mode",
            "status",
        ]

    def validate_customer(self, customer: Customer) -> Customer:
        if self.instance is not None and customer.pk != self.instance.customer_id:
            # A change of legal entity is a transfer (过户) with its own paperwork, not an edit; it
            # would also leave the old customer's capacity-based tier stale.
            raise serializers.ValidationError(
                _("An account cannot move to another customer; close it and open a new one there.")
            )
        return customer

    def save_through_service(self, instance: ElectricityAccount) -> ElectricityAccount:
        return services.account_save(account=instance)


class MeteringPointSerializer(ServiceWriteMixin, serializers.ModelSerializer):
    account = ScopedPrimaryKeyRelatedField(
        scope=_editable_accounts,
        queryset=ElectricityAccount.objects.all(),
        error_messages={"does_not_exist": _("There is no account with id {pk_value} that you may change.")},
    )
    account_no = serializers.CharField(source="account.account_no", read_only=True)
    customer = serializers.IntegerField(source="account.customer_id", read_only=True)
    customer_name = serializers.CharField(source="account.customer.name", read_only=True)
    multiplier = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text=_("CT ratio × PT ratio; computed from them when left out."),
    )

    class Meta:
        model = MeteringPoint
        fields = [
            "id",
            "code",
            "account",
            "account_no",
            "customer",
            "customer_name",
            "meter_no",
            "ct_ratio",
            "pt_ratio",
            "multiplier",
            "purpose",
        ]

    def save_through_service(self, instance: MeteringPoint) -> MeteringPoint:
        return services.metering_point_save(point=instance)


class ContactSerializer(ServiceWriteMixin, serializers.ModelSerializer):
    customer = editable_customer_field()
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    email = OptionalEmailField(max_length=254)

    class Meta:
        model = Contact
        fields = ["id", "customer", "customer_name", "name", "role", "phone", "email", "is_primary"]
        # Only the plain uniqueness is checked here: a second primary contact for a role is not an
        # error, contact_save demotes the previous one.
        validators = [
            UniqueTogetherValidator(
                queryset=Contact.objects.all(),
                fields=["customer", "name", "role"],
                message=_("This customer already has a contact with this name and role."),
            )
        ]

    def save_through_service(self, instance: Contact) -> Contact:
        return services.contact_save(contact=instance)


class AssignmentSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    user_name = serializers.StringRelatedField(source="user", read_only=True)

    class Meta:
        model = AccountAssignment
        fields = ["id", "customer", "customer_name", "role", "user", "user_name", "start_date", "end_date", "reason"]
        read_only_fields = fields


class AssignmentCreateSerializer(serializers.Serializer):
    """Make a staff member the customer's current holder of a role; the previous term ends that day."""

    customer = editable_customer_field()
    role = serializers.ChoiceField(choices=AssignmentRole.choices)
    user = ScopedPrimaryKeyRelatedField(
        scope=_assignable_staff,
        queryset=User.objects.all(),
        error_messages={"does_not_exist": _("There is no active staff member with id {pk_value} that you can see.")},
    )
    reason = serializers.CharField(max_length=300, allow_blank=True, required=False, default="")
    start_date = serializers.DateField(required=False, help_text=_("Defaults to today."))

    def validate(self, attrs):
        error = holder_role_error(role=attrs["role"], holder=attrs["user"])
        if error:
            raise serializers.ValidationError({"user": [error]})
        return attrs

    def create(self, validated_data) -> AccountAssignment:
        return services.assignment_set(**validated_data)


class TierRuleSerializer(serializers.ModelSerializer):
    min_annual_energy_mwh = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), allow_null=True, required=False
    )
    min_capacity_kva = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), allow_null=True, required=False
    )
    importance_classes = serializers.ListField(
        child=serializers.ChoiceField(choices=[c for c in ImportanceClass.choices if c[0] != ImportanceClass.NONE]),
        required=False,
        max_length=len(ImportanceClass.choices),
    )

    class Meta:
        model = TierRule
        fields = ["id", "tier", "min_annual_energy_mwh", "min_capacity_kva", "importance_classes"]
        read_only_fields = ["tier"]

    def update(self, instance: TierRule, validated_data) -> TierRule:
        for field, value in validated_data.items():
            setattr(instance, field, value)
        return services.tier_rule_save(rule=instance)
