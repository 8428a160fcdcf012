"""Key-account master data: customers, their electricity accounts and metering points, contacts,
the account team, and the tier and importance classification that drive service levels."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from gridkam.core.models import OrgUnit

from .choices import (
    AccountStatus,
    AssignmentRole,
    BasicChargeMethod,
    ContactRole,
    CreditRating,
    ImportanceClass,
    MeteringPurpose,
    PowerFactorStandard,
    SupplyMode,
    Tier,
    VoltageLevel,
)
from .validators import validate_credit_code

# Anything above this is a typing error, not a customer: the largest single industrial sites are
# around 1 GVA.
MAX_CAPACITY_KVA = Decimal("2000000")
MAX_MULTIPLIER = Decimal("1000000")


class Industry(models.Model):
    """A class of the national economic industry classification GB/T 4754-2017 (shipped as data)."""

    code = models.CharField(_("code"), max_length=8, primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    section = models.CharField(_("section"), max_length=1)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")

    class Meta:
        verbose_name = _("industry")
        verbose_name_plural = _("industries")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class CustomerQuerySet(models.QuerySet):
    def visible_to(self, user) -> CustomerQuerySet:
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_administrator:
            return self.all()
        if user.is_customer_user:
            # Their own customer, and the group subsidiaries their account manager put in their scope, as long
            # as those are still in the customer's group (a subsidiary sold off drops out of the scope).
            from gridkam.users.models import PortalScope

            family = customer_family_ids(user.customer_id)
            granted = PortalScope.objects.filter(user_id=user.pk, customer_id__in=family).values("customer_id")
            return self.filter(models.Q(pk=user.customer_id) | models.Q(pk__in=granted))
        if user.org_unit_id is None:
            return self.none()
        if user.is_portfolio_holder:
            served = AccountAssignment.objects.filter(end_date__isnull=True).filter(
                models.Q(user=user) | (models.Q(user__team_id=user.team_id) if user.team_id else models.Q(pk__in=[]))
            )
            return self.filter(models.Exists(served.filter(customer=models.OuterRef("pk"))))
        # Supervisors and billing clerks: their unit and everything below.
        return self.filter(org_unit__path__startswith=user.org_unit.path)

    def editable_by(self, user) -> CustomerQuerySet:
        """Customers whose master data the user may change: a narrower set than visible_to."""
        if not user.is_authenticated or not user.is_active or user.is_customer_user:
            return self.none()
        if user.is_administrator:
            return self.all()
        if user.is_supervisor and user.org_unit_id:
            return self.filter(org_unit__path__startswith=user.org_unit.path)
        if user.is_portfolio_holder:
            own = AccountAssignment.objects.filter(end_date__isnull=True, user=user)
            return self.filter(models.Exists(own.filter(customer=models.OuterRef("pk"))))
        return self.none()


def customer_family_ids(customer_id: int | None) -> set[int]:
    """The customer and all its subsidiaries, at any depth of the group."""
    if customer_id is None:
        return set()
    ids = {customer_id}
    frontier = {customer_id}
    while frontier:
        frontier = set(Customer.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)) - ids
        ids |= frontier
    return ids


class Customer(models.Model):
    """A key-account enterprise (legal entity), identified by its unified social credit code.

    Owned by an org unit; served by an account team (AccountAssignment). ``tier`` is what applies;
    ``tier_computed`` is what the tier rules give, and the two differ only with a recorded override.
    """

    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, unique=True, validators=[validate_credit_code]
    )
    name = models.CharField(_("name"), max_length=200, db_index=True)
    name_initials = models.CharField(
        _("pinyin initials"),
        max_length=200,
        blank=True,
        db_index=True,
        editable=False,
        help_text=_("Initial letters of the name in pinyin, for search (e.g. HZGT for 惠州钢铁)."),
    )
    industry = models.ForeignKey(Industry, verbose_name=_("industry"), on_delete=models.PROTECT, related_name="+")
    address = models.CharField(_("address"), max_length=300, blank=True)
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="customers"
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("group parent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subsidiaries",
    )
    credit_rating = models.CharField(_("credit rating"), max_length=3, choices=CreditRating.choices, blank=True)
    annual_energy_mwh = models.DecimalField(
        _("annual consumption (MWh)"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    importance_class = models.CharField(
        _("importance class"), max_length=10, choices=ImportanceClass.choices, default=ImportanceClass.NONE
    )
    security_load_kw = models.DecimalField(
        _("security load (kW)"),
        max_digits=12,
        decimal_places=3,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Load that must be kept up to avoid casualties or damage (保安负荷)."),
    )
    emergency_power_kw = models.DecimalField(
        _("self-provided emergency power (kW)"),
        max_digits=12,
        decimal_places=3,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices, default=Tier.THIRD)
    tier_computed = models.CharField(_("tier by rule"), max_length=10, choices=Tier.choices, default=Tier.THIRD)
    tier_override_reason = models.CharField(_("tier override reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name"]
        indexes = [models.Index(fields=["org_unit", "tier"], name="customer_unit_tier")]

    def __str__(self) -> str:
        return self.name

    @property
    def tier_overridden(self) -> bool:
        return self.tier != self.tier_computed

    def clean(self) -> None:
        if self.credit_code:
            self.credit_code = self.credit_code.strip().upper()
        if self.tier != self.tier_computed and not (self.tier_override_reason or "").strip():
            raise ValidationError({"tier_override_reason": _("A manual tier needs a reason.")})
        if self.parent_id and self.pk and self.parent_id == self.pk:
            raise ValidationError({"parent": _("A customer cannot be its own group parent.")})


class RelatedToCustomerQuerySet(models.QuerySet):
    """Rows that belong to a customer are visible exactly when their customer is."""

    customer_path = "customer"

    def visible_to(self, user):
        visible = Customer.objects.visible_to(user)
        return self.filter(**{f"{self.customer_path}__in": visible.values("pk")})

    def editable_by(self, user):
        editable = Customer.objects.editable_by(user)
        return self.filter(**{f"{self.customer_path}__in": editable.values("pk")})


class AccountQuerySet(RelatedToCustomerQuerySet):
    pass


class MeteringPointQuerySet(RelatedToCustomerQuerySet):
    customer_path = "account__customer"


class ElectricityAccount(models.Model):
    """One supply contract (用电户) of a customer, with the terms its bill is computed from."""

    account_no = models.CharField(_("account number"), max_length=32, unique=True)
    name = models.CharField(_("account name"), max_length=200)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="accounts"
    )
    voltage_kv = models.CharField(_("voltage level (kV)"), max_length=4, choices=VoltageLevel.choices)
    capacity_kva = models.DecimalField(
        _("contracted capacity (kVA)"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    # Keyed by the tariff code, in a column of that name, so exports and imports name the tariff.
    tariff = models.ForeignKey(
        "tariffs.Tariff",
        verbose_name=_("tariff"),
        to_field="code",
        db_column="tariff_code",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
    )
    basic_charge_method = models.CharField(
        _("basic charge method"), max_length=20, choices=BasicChargeMethod.choices, default=BasicChargeMethod.CAPACITY
    )
    contract_demand_kw = models.DecimalField(
        _("contract demand (kW)"),
        max_digits=12,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.001"))],
    )
    pf_standard = models.CharField(
        _("power-factor standard"),
        max_length=4,
        choices=PowerFactorStandard.choices,
        default=PowerFactorStandard.PF_090,
    )
    supply_mode = models.CharField(
        _("supply mode"), max_length=10, choices=SupplyMode.choices, default=SupplyMode.SINGLE
    )
    status = models.CharField(_("status"), max_length=10, choices=AccountStatus.choices, default=AccountStatus.ACTIVE)
    history = HistoricalRecords()

    objects = AccountQuerySet.as_manager()

    class Meta:
        verbose_name = _("electricity account")
        verbose_name_plural = _("electricity accounts")
        ordering = ["account_no"]

    def __str__(self) -> str:
        return f"{self.account_no} {self.name}"

    @property
    def tariff_code(self) -> str:
        """The tariff's code ("" for none): the foreign key's own value, as files and the API name it."""
        return self.tariff_id or ""

    @tariff_code.setter
    def tariff_code(self, value: str | None) -> None:
        self.tariff_id = value or None

    def clean(self) -> None:
        errors = {}
        if self.capacity_kva is not None and self.capacity_kva > MAX_CAPACITY_KVA:
            errors["capacity_kva"] = _("%(value)s kVA is beyond any single customer; check the unit.") % {
                "value": self.capacity_kva
            }
        if self.basic_charge_method == BasicChargeMethod.CONTRACT_DEMAND and not self.contract_demand_kw:
            errors["contract_demand_kw"] = _("Billing by contract demand needs the contract demand.")
        if (
            self.contract_demand_kw is not None
            and self.capacity_kva is not None
            and self.contract_demand_kw > self.capacity_kva
        ):
            errors["contract_demand_kw"] = _("The contract demand cannot exceed the contracted capacity.")
        if errors:
            raise ValidationError(errors)


class MeteringPoint(models.Model):
    """A metering point (计量点) of an account: the meter and its transformers.

    ``multiplier`` (倍率) turns secondary-side readings into primary-side energy; it is CT × PT
    where both ratios are known.
    """

    code = models.CharField(_("metering point code"), max_length=32, unique=True)
    account = models.ForeignKey(
        ElectricityAccount, verbose_name=_("account"), on_delete=models.CASCADE, related_name="metering_points"
    )
    meter_no = models.CharField(_("meter number"), max_length=32, unique=True)
    ct_ratio = models.DecimalField(
        _("CT ratio"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    pt_ratio = models.DecimalField(
        _("PT ratio"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    multiplier = models.DecimalField(
        _("multiplier"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    purpose = models.CharField(
        _("purpose"), max_length=10, choices=MeteringPurpose.choices, default=MeteringPurpose.BILLING
    )
    history = HistoricalRecords()

    objects = MeteringPointQuerySet.as_manager()

    class Meta:
        verbose_name = _("metering point")
        verbose_name_plural = _("metering points")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        if self.multiplier is not None and self.multiplier > MAX_MULTIPLIER:
            raise ValidationError({"multiplier": _("A multiplier this large is not plausible.")})
        if (
            self.ct_ratio
            and self.pt_ratio
            and self.multiplier is not None
            and (self.ct_ratio * self.pt_ratio != self.multiplier)
        ):
            raise ValidationError(
                {
                    "multiplier": _("The multiplier must equal CT ratio × PT ratio (%(value)s).")
                    % {"value": self.ct_ratio * self.pt_ratio}
                }
            )


class Contact(models.Model):
    """A person at the customer the account team deals with; one primary contact per role."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=50)
    role = models.CharField(_("role"), max_length=25, choices=ContactRole.choices)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    is_primary = models.BooleanField(_("primary for this role"), default=False)
    history = HistoricalRecords()

    objects = RelatedToCustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["customer", "role", "-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "name", "role"], name="contact_unique_name_role"),
            models.UniqueConstraint(
                fields=["customer", "role"],
                condition=models.Q(is_primary=True),
                name="contact_one_primary_per_role",
                violation_error_message=_("This customer already has a primary contact for this role."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"

    def clean(self) -> None:
        if not self.phone and not self.email:
            raise ValidationError({"phone": _("Give a phone number or an e-mail address.")})


class AssignmentQuerySet(RelatedToCustomerQuerySet):
    def current(self):
        return self.filter(end_date__isnull=True)


class AccountAssignment(models.Model):
    """Who serves a customer in which role, from when to when. Ended rows are the team's history."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="assignments"
    )
    role = models.CharField(_("role"), max_length=20, choices=AssignmentRole.choices)
    user = models.ForeignKey(
        "users.User", verbose_name=_("staff member"), on_delete=models.PROTECT, related_name="assignments"
    )
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    history = HistoricalRecords()

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("account assignment")
        verbose_name_plural = _("account assignments")
        ordering = ["customer", "role", "-start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "role"],
                condition=models.Q(end_date__isnull=True),
                name="assignment_one_current_per_role",
            ),
        ]
        indexes = [models.Index(fields=["user", "end_date"], name="assignment_user_current")]

    def __str__(self) -> str:
        return f"{self.customer} – {self.get_role_display()}: {self.user}"

    def clean(self) -> None:
        if self.end_date and self.start_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": _("The end date cannot be before the start date.")})


class TierRule(models.Model):
    """A configurable rule: a customer gets ``tier`` when it meets any of the rule's thresholds.

    Rules are tried from the highest tier down; a customer meeting none gets the lowest tier.
    A threshold left empty does not apply.
    """

    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices, unique=True)
    min_annual_energy_mwh = models.DecimalField(
        _("annual consumption at least (MWh)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    min_capacity_kva = models.DecimalField(
        _("total capacity at least (kVA)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    importance_classes = models.JSONField(
        _("importance classes"),
        default=list,
        blank=True,
        help_text=_("Important-user classes that qualify on their own."),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tier rule")
        verbose_name_plural = _("tier rules")

    def __str__(self) -> str:
        return str(self.get_tier_display())
