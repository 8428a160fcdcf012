from django.db import models
from django.utils.translation import gettext_lazy as _


class Tier(models.TextChoices):
    """The utility's own key-account differentiation; drives SLAs, visits and service plans."""

    SPECIAL = "special", _("Special tier")
    FIRST = "first", _("Tier 1")
    SECOND = "second", _("Tier 2")
    THIRD = "third", _("Tier 3")


# Highest first: the order in which tier rules are tried.
TIER_RANK = {Tier.SPECIAL: 0, Tier.FIRST: 1, Tier.SECOND: 2, Tier.THIRD: 3}


class ImportanceClass(models.TextChoices):
    """Important power user class under GB/T 29328-2018."""

    SPECIAL = "special", _("Special-class important user")
    FIRST = "first", _("First-class important user")
    SECOND = "second", _("Second-class important user")
    TEMPORARY = "temporary", _("Temporary important user")
    NONE = "none", _("Not an important user")


class CreditRating(models.TextChoices):
    AAA = "AAA", "AAA"
    AA = "AA", "AA"
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    UNRATED = "", _("Unrated")


class VoltageLevel(models.TextChoices):
    V0_4 = "0.4", _("0.4 kV")
    V10 = "10", _("10 kV")
    V20 = "20", _("20 kV")
    V35 = "35", _("35 kV")
    V110 = "110", _("110 kV")
    V220 = "220", _("220 kV")
    V330 = "330", _("330 kV")
    V500 = "500", _("500 kV")


class BasicChargeMethod(models.TextChoices):
    CAPACITY = "capacity", _("By capacity")
    CONTRACT_DEMAND = "contract_demand", _("By contract demand")
    ACTUAL_DEMAND = "actual_demand", _("By actual demand")


class PowerFactorStandard(models.TextChoices):
    PF_090 = "0.90", "0.90"
    PF_085 = "0.85", "0.85"
    PF_080 = "0.80", "0.80"
    NONE = "none", _("Not assessed")


class SupplyMode(models.TextChoices):
    SINGLE = "single", _("Single supply")
    DUAL = "dual", _("Dual supply")
    MULTIPLE = "multiple", _("Multiple supplies")


SUPPLY_SOURCES = {SupplyMode.SINGLE: 1, SupplyMode.DUAL: 2, SupplyMode.MULTIPLE: 3}


class AccountStatus(models.TextChoices):
    ACTIVE = "active", _("In use")
    SUSPENDED = "suspended", _("Suspended")
    REDUCED = "reduced", _("Capacity reduced")
    CLOSED = "closed", _("Closed")


class MeteringPurpose(models.TextChoices):
    BILLING = "billing", _("Billing point")
    CHECK = "check", _("Check point")


class ContactRole(models.TextChoices):
    LEGAL_REPRESENTATIVE = "legal_representative", _("Legal representative")
    ELECTRICAL_LEAD = "electrical_lead", _("Electrical lead")
    FINANCE = "finance", _("Finance")
    ENERGY_MANAGER = "energy_manager", _("Energy manager")
    DUTY_ELECTRICIAN = "duty_electrician", _("Duty electrician")


# Chinese labels accepted in imports, as they appear in marketing-system exports.
CONTACT_ROLE_ALIASES = {
    "法人": ContactRole.LEGAL_REPRESENTATIVE,
    "法定代表人": ContactRole.LEGAL_REPRESENTATIVE,
    "电气负责人": ContactRole.ELECTRICAL_LEAD,
    "财务": ContactRole.FINANCE,
    "能源经理": ContactRole.ENERGY_MANAGER,
    "值班电工": ContactRole.DUTY_ELECTRICIAN,
}


class AssignmentRole(models.TextChoices):
    MANAGER = "manager", _("Account manager")
    BACKUP_MANAGER = "backup_manager", _("Backup manager")
    FIELD_ENGINEER = "field_engineer", _("Field engineer")
