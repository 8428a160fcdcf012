"""Bills, payments and fee recovery (DOMAIN.md "One month's bill", "Fee recovery").

- ``Bill`` is one account's bill for one month with the engine's lines (``BillLine``), computed by a
  ``BillRun`` or imported from the utility's billing system. Drafts can be replaced; an issued bill is
  never changed: it is corrected by a credit note (the negative of it, status of the original becomes
  "credited") and a rebill, all three kept and linked by ``corrects``.
- ``Payment`` is money received (or refunded) for an account; ``Allocation`` ties it to bills, oldest
  open bill first. ``Bill.amount_paid`` and ``settled_on`` are kept in step with the allocations.
- ``DunningCase`` and its ``DunningStep`` rows record the dunning sequence of an account in arrears.
- ``RiskScorecard`` holds the weights a supervisor edits; ``RiskScore`` one account's score on one
  day with the factors that drove it; ``RiskWarning`` the warning raised when an account enters
  high or severe risk.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from gridkam.customers.models import ElectricityAccount, RelatedToCustomerQuerySet

from .choices import (
    BillKind,
    BillSource,
    BillStatus,
    DunningStatus,
    DunningStepKind,
    ImportKind,
    PaymentKind,
    PaymentMethod,
    PaymentSource,
    RiskLevel,
    RunStatus,
    WarningStatus,
)

ZERO = Decimal("0")


def _money(label, **kwargs):
    return models.DecimalField(label, max_digits=14, decimal_places=2, **kwargs)


class AccountRelatedQuerySet(RelatedToCustomerQuerySet):
    customer_path = "account__customer"


class BillingTerms(models.Model):
    """How an account pays: days to pay after issue, prepayment, penalty exemption. Accounts without
    a row use the defaults in settings (``GRIDKAM_BILLING``)."""

    account = models.OneToOneField(
        ElectricityAccount, verbose_name=_("account"), on_delete=models.CASCADE, related_name="billing_terms"
    )
    payment_days = models.PositiveSmallIntegerField(
        _("days to pay"), default=15, validators=[MaxValueValidator(90)], help_text=_("Due date = issue date + days.")
    )
    prepayment = models.BooleanField(_("prepayment account"), default=False)
    low_balance_threshold = _money(_("low-balance warning below"), default=ZERO, validators=[MinValueValidator(ZERO)])
    penalty_exempt = models.BooleanField(_("exempt from late-payment penalty"), default=False)
    guarantee_amount = _money(_("payment guarantee"), default=ZERO, validators=[MinValueValidator(ZERO)])
    history = HistoricalRecords()

    objects = AccountRelatedQuerySet.as_manager()

    class Meta:
        verbose_name = _("billing terms")
        verbose_name_plural = _("billing terms")

    def __str__(self) -> str:
        return f"{self.account_id}"


class BillRun(models.Model):
    """One bill run for a month: which accounts, what was created, replaced and skipped (with reasons)."""

    period = models.DateField(_("billing month"), help_text=_("The first day of the month."))
    account_nos = models.JSONField(_("only these accounts"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    accounts = models.PositiveIntegerField(_("accounts"), default=0)
    chunks = models.PositiveIntegerField(_("chunks"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)
    created = models.PositiveIntegerField(_("bills created"), default=0)
    replaced = models.PositiveIntegerField(_("drafts replaced"), default=0)
    skipped = models.JSONField(_("accounts not billed"), default=list, blank=True)
    failure = models.TextField(_("failure"), blank=True)
    # The run's sign of life: written with each chunk, so that a run whose worker died can be told apart.
    updated_at = models.DateTimeField(_("last progress"), null=True, blank=True)

    class Meta:
        verbose_name = _("bill run")
        verbose_name_plural = _("bill runs")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m} #{self.pk}"


class Bill(models.Model):
    """One bill of one account for one month, with its lines. Money in yuan, 2 places; a credit note
    has negative amounts."""

    account = models.ForeignKey(
        ElectricityAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="bills"
    )
    period = models.DateField(_("billing month"), help_text=_("The first day of the month."))
    kind = models.CharField(_("kind"), max_length=12, choices=BillKind.choices, default=BillKind.REGULAR)
    status = models.CharField(_("status"), max_length=10, choices=BillStatus.choices, default=BillStatus.DRAFT)
    source = models.CharField(_("source"), max_length=10, choices=BillSource.choices, default=BillSource.COMPUTED)
    number = models.CharField(_("bill number"), max_length=40, null=True, blank=True, unique=True)
    corrects = models.ForeignKey(
        "self",
        verbose_name=_("corrects"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
        help_text=_("For a credit note or a rebill: the issued bill it corrects."),
    )
    run = models.ForeignKey(
        BillRun, verbose_name=_("bill run"), null=True, blank=True, on_delete=models.SET_NULL, related_name="bills"
    )
    tariff_version = models.ForeignKey(
        "tariffs.TariffVersion",
        verbose_name=_("tariff version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    tariff_label = models.CharField(_("tariff version"), max_length=80, blank=True)
    quantities = models.JSONField(
        _("quantities"), default=dict, blank=True, help_text=_("The inputs the bill was priced on, to recompute it.")
    )
    energy_kwh = models.DecimalField(_("energy (kWh)"), max_digits=16, decimal_places=2, default=ZERO)
    energy_charge = _money(_("energy charge"), default=ZERO)
    basic_charge = _money(_("basic charge"), default=ZERO)
    power_factor = models.DecimalField(_("power factor"), max_digits=4, decimal_places=2, null=True, blank=True)
    pf_adjustment_percent = models.DecimalField(
        _("power-factor adjustment (%)"), max_digits=6, decimal_places=2, default=ZERO
    )
    pf_adjustment = _money(_("power-factor adjustment"), default=ZERO)
    government_funds = _money(_("government funds"), default=ZERO)
    total = _money(_("total"), default=ZERO)
    amount_paid = _money(_("paid"), default=ZERO)
    issue_date = models.DateField(_("issued on"), null=True, blank=True)
    due_date = models.DateField(_("due"), null=True, blank=True, db_index=True)
    settled_on = models.DateField(
        _("settled on"), null=True, blank=True, help_text=_("The day the bill was paid in full.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    correction_reason = models.CharField(
        _("reason for the correction"),
        max_length=300,
        blank=True,
        help_text=_("For a credit note or a rebill: why the bill it corrects was wrong."),
    )
    history = HistoricalRecords(excluded_fields=["quantities"])

    objects = AccountRelatedQuerySet.as_manager()

    class Meta:
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        ordering = ["account", "-period", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period", "source"],
                condition=Q(kind=BillKind.REGULAR),
                name="bill_one_regular_per_month_and_source",
                violation_error_message=_("This account already has a bill for that month."),
            ),
        ]
        indexes = [
            models.Index(fields=["period", "status"], name="bill_period_status"),
            models.Index(fields=["account", "status", "due_date"], name="bill_account_open"),
            # Unpaid issued bills: arrears, aging, the workbench and risk scoring read only these.
            models.Index(
                fields=["account", "due_date"],
                condition=Q(status=BillStatus.ISSUED, kind__in=[BillKind.REGULAR, BillKind.REBILL])
                & Q(amount_paid__lt=models.F("total")),
                name="bill_unpaid",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"{self.account_id} {self.period:%Y-%m} ({self.get_status_display()})"

    @property
    def open_amount(self) -> Decimal:
        return self.total - self.amount_paid


class BillLine(models.Model):
    """One line of a bill as the engine priced it, with the rule applied and what the rule used."""

    bill = models.ForeignKey(Bill, verbose_name=_("bill"), on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(_("position"))
    item = models.CharField(_("item"), max_length=40)
    quantity = models.DecimalField(_("quantity"), max_digits=18, decimal_places=4)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=6)
    amount = _money(_("amount"))
    rule_code = models.CharField(_("rule"), max_length=40, blank=True)
    params = models.JSONField(_("rule parameters"), default=dict, blank=True)

    class Meta:
        verbose_name = _("bill line")
        verbose_name_plural = _("bill lines")
        ordering = ["bill", "position"]
        constraints = [models.UniqueConstraint(fields=["bill", "position"], name="bill_line_unique_position")]

    def __str__(self) -> str:
        return f"{self.bill_id}:{self.position} {self.item}"


class Payment(models.Model):
    """Money received for an account (or refunded to it: kind "refund", amount still positive)."""

    account = models.ForeignKey(
        ElectricityAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="payments"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=PaymentKind.choices, default=PaymentKind.PAYMENT)
    method = models.CharField(_("method"), max_length=16, choices=PaymentMethod.choices)
    received_on = models.DateField(_("date"))
    amount = _money(_("amount"), validators=[MinValueValidator(Decimal("0.01"))])
    reference = models.CharField(
        _("reference"), max_length=64, blank=True, help_text=_("Bank or billing-system reference; unique per account.")
    )
    source = models.CharField(_("source"), max_length=10, choices=PaymentSource.choices, default=PaymentSource.ENTERED)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    history = HistoricalRecords()

    objects = AccountRelatedQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["account", "-received_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "reference"],
                condition=~Q(reference=""),
                name="payment_unique_reference",
                violation_error_message=_("A payment with this reference is already recorded for the account."),
            )
        ]
        indexes = [models.Index(fields=["account", "received_on"], name="payment_account_day")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.received_on} {self.amount}"


class Allocation(models.Model):
    """Part of a payment applied to a bill."""

    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), on_delete=models.CASCADE, related_name="allocations"
    )
    bill = models.ForeignKey(Bill, verbose_name=_("bill"), on_delete=models.PROTECT, related_name="allocations")
    amount = _money(_("amount"))
    allocated_on = models.DateField(_("date"))

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        ordering = ["payment", "pk"]
        indexes = [models.Index(fields=["bill"], name="allocation_bill")]

    def __str__(self) -> str:
        return f"{self.payment_id} → {self.bill_id}: {self.amount}"


class BillingImport(models.Model):
    """One file from the billing system (bills or payments), imported all-or-nothing."""

    kind = models.CharField(_("kind"), max_length=10, choices=ImportKind.choices)
    file_name = models.CharField(_("file name"), max_length=255)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("imported by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("imported"), auto_now_add=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    unchanged = models.PositiveIntegerField(_("already there"), default=0)

    class Meta:
        verbose_name = _("billing-system import")
        verbose_name_plural = _("billing-system imports")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.file_name


class DunningCase(models.Model):
    """An account's dunning sequence, from the first step until payment stops it or it is closed."""

    account = models.ForeignKey(
        ElectricityAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="dunning_cases"
    )
    status = models.CharField(_("status"), max_length=10, choices=DunningStatus.choices, default=DunningStatus.OPEN)
    opened_on = models.DateField(_("opened on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    arrears_at_open = _money(_("arrears when opened"), default=ZERO)
    history = HistoricalRecords()

    objects = AccountRelatedQuerySet.as_manager()

    class Meta:
        verbose_name = _("dunning case")
        verbose_name_plural = _("dunning cases")
        ordering = ["account", "-opened_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status=DunningStatus.OPEN),
                name="dunning_one_open_case",
                violation_error_message=_("The account already has an open dunning case."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.opened_on}"


class DunningStep(models.Model):
    """One step taken: when, by whom, the notice given (for notices), and the planned suspension day."""

    case = models.ForeignKey(
        DunningCase, verbose_name=_("dunning case"), on_delete=models.CASCADE, related_name="steps"
    )
    kind = models.CharField(_("step"), max_length=20, choices=DunningStepKind.choices)
    done_on = models.DateField(_("date"))
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("done by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The internal approval a suspension notice needs."),
    )
    arrears = _money(_("arrears on the day"), default=ZERO)
    suspension_planned_on = models.DateField(_("suspension planned on"), null=True, blank=True)
    suspension_planned_time = models.TimeField(_("suspension planned at"), null=True, blank=True)
    warned_before_suspension = models.BooleanField(
        _("customer warned again 30 minutes before"),
        default=False,
        help_text=_("The notice must be repeated 30 minutes before supply is cut (Rules on Power Supply, art. 67)."),
    )
    reported_to_authority = models.BooleanField(
        _("reported to the power administration"), default=False, help_text=_("Required for important users.")
    )
    notice_text = models.TextField(_("notice"), blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("dunning step")
        verbose_name_plural = _("dunning steps")
        ordering = ["case", "done_on", "pk"]
        constraints = [models.UniqueConstraint(fields=["case", "kind"], name="dunning_step_once_per_case")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.done_on}"


class RiskScorecard(models.Model):
    """The weights of the fee-recovery risk scorecard and the score at which each level starts. The
    latest row is in force; every change is kept (history) with who made it."""

    weight_on_time_rate = models.PositiveSmallIntegerField(_("on-time payment rate"), default=25)
    weight_days_late = models.PositiveSmallIntegerField(_("average days late"), default=15)
    weight_times_late = models.PositiveSmallIntegerField(_("times late in 12 months"), default=15)
    weight_arrears_ratio = models.PositiveSmallIntegerField(_("arrears over average bill"), default=25)
    weight_consumption_trend = models.PositiveSmallIntegerField(_("consumption trend"), default=10)
    weight_operating_signals = models.PositiveSmallIntegerField(_("suspension or capacity-reduction"), default=5)
    weight_credit_rating = models.PositiveSmallIntegerField(_("credit rating"), default=5)
    medium_from = models.PositiveSmallIntegerField(_("medium risk from score"), default=30)
    high_from = models.PositiveSmallIntegerField(_("high risk from score"), default=55)
    severe_from = models.PositiveSmallIntegerField(_("severe risk from score"), default=75)
    backtest = models.JSONField(
        _("last back-test"), null=True, blank=True, help_text=_("The result of the last back-test of these weights.")
    )
    backtest_at = models.DateTimeField(_("back-tested"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    history = HistoricalRecords(excluded_fields=["backtest", "backtest_at", "updated_at"])

    class Meta:
        verbose_name = _("risk scorecard")
        verbose_name_plural = _("risk scorecards")

    def __str__(self) -> str:
        return str(_("Risk scorecard"))


class RiskScore(models.Model):
    """An account's fee-recovery risk on one day: score 0–100, level and the factors behind it."""

    account = models.ForeignKey(
        ElectricityAccount, verbose_name=_("account"), on_delete=models.CASCADE, related_name="risk_scores"
    )
    scored_on = models.DateField(_("scored on"))
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=1)
    level = models.CharField(_("level"), max_length=10, choices=RiskLevel.choices)
    factors = models.JSONField(_("factors"), default=list)
    arrears = _money(_("arrears"), default=ZERO, help_text=_("Past-due open amount on the day scored."))
    is_latest = models.BooleanField(_("latest"), default=True, help_text=_("The account's most recent score."))
    created_at = models.DateTimeField(_("computed"), auto_now=True)

    objects = AccountRelatedQuerySet.as_manager()

    class Meta:
        verbose_name = _("risk score")
        verbose_name_plural = _("risk scores")
        ordering = ["account", "-scored_on"]
        constraints = [models.UniqueConstraint(fields=["account", "scored_on"], name="risk_score_one_per_day")]
        indexes = [
            models.Index(fields=["scored_on", "level"], name="risk_score_day_level"),
            models.Index(fields=["is_latest", "level"], name="risk_score_latest_level"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.scored_on} {self.score}"


class RiskWarning(models.Model):
    """Raised when an account's level enters high or severe; the manager's task to act on it."""

    account = models.ForeignKey(
        ElectricityAccount, verbose_name=_("account"), on_delete=models.CASCADE, related_name="risk_warnings"
    )
    score = models.ForeignKey(
        RiskScore, verbose_name=_("score"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    level = models.CharField(_("level"), max_length=10, choices=RiskLevel.choices)
    previous_level = models.CharField(_("previous level"), max_length=10, choices=RiskLevel.choices, blank=True)
    status = models.CharField(_("status"), max_length=14, choices=WarningStatus.choices, default=WarningStatus.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="risk_warnings",
    )
    due_date = models.DateField(_("act by"))
    created_at = models.DateTimeField(_("raised"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolution = models.CharField(_("what was done"), max_length=500, blank=True)
    task = models.ForeignKey(
        "engagement.Task", verbose_name=_("task"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    objects = AccountRelatedQuerySet.as_manager()

    class Meta:
        verbose_name = _("risk warning")
        verbose_name_plural = _("risk warnings")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["assignee", "status"], name="risk_warning_assignee")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.level}"
