from django.db import models
from django.utils.translation import gettext_lazy as _


class InspectionKind(models.TextChoices):
    PERIODIC = "periodic", _("Periodic inspection")
    SPECIAL = "special", _("Special inspection")
    REINSPECTION = "reinspection", _("Re-inspection")


# Kinds that count as the customer's last inspection for the plan (a re-inspection only looks at one danger).
PLAN_KINDS = (InspectionKind.PERIODIC, InspectionKind.SPECIAL)


class ChecklistItem(models.TextChoices):
    """The standard items of a safety inspection (用电检查), in the order of the form."""

    PROTECTION = "protection", _("Relay protection settings")
    EARTHING = "earthing", _("Earthing and lightning protection")
    EMERGENCY_POWER = "emergency_power", _("Self-provided emergency power")
    GENERATOR_INTERLOCK = "generator_interlock", _("Generator interlock with the grid supply")
    ELECTRICIANS = "electricians", _("Electrician certificates and duty roster")
    EQUIPMENT_TESTS = "equipment_tests", _("Preventive tests of equipment")
    REACTIVE_COMPENSATION = "reactive_compensation", _("Reactive power compensation")
    SAFETY_TOOLS = "safety_tools", _("Safety tools and operating rules")


class CheckResult(models.TextChoices):
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")
    NOT_APPLICABLE = "na", _("Not applicable")


class Severity(models.TextChoices):
    """Grades of a hidden danger (一般 / 较大 / 重大), docs/inspections.md."""

    GENERAL = "general", _("General danger")
    SERIOUS = "serious", _("Serious danger")
    MAJOR = "major", _("Major danger")


class DangerStatus(models.TextChoices):
    OPEN = "open", _("Found")
    NOTIFIED = "notified", _("Notice delivered")
    RECTIFYING = "rectifying", _("Being rectified")
    REINSPECTION = "reinspection", _("Waiting for re-inspection")
    CLOSED = "closed", _("Rectified and closed")


# Status changes by hand (the rest: the notice delivery, the re-inspection).
DANGER_STEPS = {
    DangerStatus.NOTIFIED: (DangerStatus.RECTIFYING, DangerStatus.REINSPECTION),
    DangerStatus.RECTIFYING: (DangerStatus.REINSPECTION,),
}
# A re-inspection is recorded once the customer has the written notice.
REINSPECTABLE = (DangerStatus.NOTIFIED, DangerStatus.RECTIFYING, DangerStatus.REINSPECTION)


class LegalBasis(models.TextChoices):
    ELECTRICITY_LAW = "electricity_law", _("Electric Power Law of the PRC")
    SUPPLY_REGULATIONS = "supply_regulations", _("Regulations on Electricity Supply and Use")
    BUSINESS_RULES = "business_rules", _("Rules for Electricity Supply Business")
    GBT_29328 = "gbt_29328", _("GB/T 29328-2018 power supply and emergency power of important users")
    OTHER = "other", _("Other")


class EscalationLevel(models.IntegerChoices):
    NONE = 0, _("Not escalated")
    MANAGER = 1, _("Account manager told")
    SUPERVISORS = 2, _("Supervisors told")


class DangerEventKind(models.TextChoices):
    RAISED = "raised", _("Danger raised")
    NOTICE_DELIVERED = "notice_delivered", _("Notice delivered")
    STATUS = "status", _("Status changed")
    REINSPECTED_PASSED = "reinspected_passed", _("Re-inspection passed")
    REINSPECTED_FAILED = "reinspected_failed", _("Re-inspection failed")
    ESCALATED = "escalated", _("Escalated")


class DangerAge(models.TextChoices):
    """Age bands of open dangers for the chart."""

    WEEK = "week", _("Up to 7 days")
    MONTH = "month", _("8–30 days")
    QUARTER = "quarter", _("31–90 days")
    OLDER = "older", _("Over 90 days")
