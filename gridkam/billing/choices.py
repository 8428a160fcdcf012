from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class BillKind(models.TextChoices):
    REGULAR = "regular", _("Monthly bill")
    CREDIT_NOTE = "credit_note", _("Credit note")
    REBILL = "rebill", _("Rebill")


class BillStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")
    CREDITED = "credited", _("Credited")  # issued, then cancelled by a credit note (both kept)


class BillSource(models.TextChoices):
    COMPUTED = "computed", _("Computed by GridKAM")
    IMPORTED = "imported", _("Imported from the billing system")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    COUNTER = "counter", _("Counter")
    ONLINE = "online", _("Online")
    OFFSET = "offset", _("Offset")


class PaymentKind(models.TextChoices):
    PAYMENT = "payment", _("Payment")
    REFUND = "refund", _("Refund")


class PaymentSource(models.TextChoices):
    ENTERED = "entered", _("Entered")
    IMPORTED = "imported", _("Imported from the billing system")


class AgingBucket(models.TextChoices):
    NOT_DUE = "not_due", _("Not due")
    DAYS_1_30 = "1_30", _("1–30 days")
    DAYS_31_60 = "31_60", _("31–60 days")
    DAYS_61_90 = "61_90", _("61–90 days")
    OVER_90 = "over_90", _("Over 90 days")


class DunningStepKind(models.TextChoices):
    """The dunning sequence, in order (DOMAIN.md "Fee recovery")."""

    REMINDER = "reminder", _("Reminder")
    WRITTEN_NOTICE = "written_notice", _("Written notice")
    SUSPENSION_NOTICE = "suspension_notice", _("Notice of supply suspension")
    SUSPENSION = "suspension", _("Supply suspended")
    RESTORATION = "restoration", _("Supply restored")


DUNNING_SEQUENCE = [
    DunningStepKind.REMINDER,
    DunningStepKind.WRITTEN_NOTICE,
    DunningStepKind.SUSPENSION_NOTICE,
    DunningStepKind.SUSPENSION,
    DunningStepKind.RESTORATION,
]


class DunningStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("case status", "Open")
    STOPPED = "stopped", _("Stopped by payment")
    CLOSED = "closed", pgettext_lazy("case status", "Closed")


class RiskLevel(models.TextChoices):
    """Fee-recovery risk levels, lowest first."""

    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    SEVERE = "severe", _("Severe")


RISK_LEVEL_ORDER = {level: rank for rank, level in enumerate(RiskLevel.values)}


class WarningStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("case status", "Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CLOSED = "closed", pgettext_lazy("case status", "Closed")


class ImportKind(models.TextChoices):
    BILLS = "bills", _("Bills")
    PAYMENTS = "payments", _("Payments")
