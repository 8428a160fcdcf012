"""Outage notices (issue 8 item 2): the grid the key accounts hang on, the outages of its feeders, and the notice
each affected customer gets. docs/outages.md explains them to users.

- ``Substation`` and ``Feeder`` (线路): the part of the grid model GridKAM needs. A substation belongs to an org unit;
  staff of that unit and above see it, its feeders and their outages.
- ``AccountSupply``: an electricity account hangs on a feeder, as its main or backup supply; an account with dual
  supply has two rows. Kept in the admin and by the CSV import.
- ``Outage``: feeders out of service in a time window, planned (计划停电), temporary maintenance (临时检修) or a
  fault (故障停电); announced, then started and finished with its actual times.
- ``OutageNotice``: one per affected customer and outage. It holds the window as last announced (``version`` counts
  announcements with a changed time), the contacts it went to, the acknowledgement of the current version, and for a
  customer hurt by the outage the follow-up service request or visit. A notice is withdrawn (``withdrawn_at``) when
  the outage is announced again without the customer's feeders.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from gridkam.core.models import OrgUnit
from gridkam.customers.choices import ImportanceClass, Tier, VoltageLevel
from gridkam.customers.models import Customer, ElectricityAccount

from .choices import AckChannel, OutageKind, OutageStatus, SupplyRole


def _staff_unit_filter(user, path: str) -> Q | None:
    """The grid objects (by the org-unit path at ``path``) a staff user sees: administrators all; other staff their
    unit and below. None: nothing (portal users, staff without a unit)."""
    if user is None or not user.is_authenticated or not user.is_active or user.is_customer_user:
        return None
    if user.is_administrator:
        return Q()
    if user.org_unit_id is None:
        return None
    return Q(**{f"{path}__startswith": user.org_unit.path})


class SubstationQuerySet(models.QuerySet):
    def visible_to(self, user) -> SubstationQuerySet:
        rule = _staff_unit_filter(user, "org_unit__path")
        return self.none() if rule is None else self.filter(rule)


class Substation(models.Model):
    """A substation (变电站) of an org unit; its voltage is the highest it transforms from."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    voltage_kv = models.CharField(_("voltage level (kV)"), max_length=4, choices=VoltageLevel.choices)
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="+")

    objects = SubstationQuerySet.as_manager()

    class Meta:
        verbose_name = _("substation")
        verbose_name_plural = _("substations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FeederQuerySet(models.QuerySet):
    def visible_to(self, user) -> FeederQuerySet:
        rule = _staff_unit_filter(user, "substation__org_unit__path")
        return self.none() if rule is None else self.filter(rule)


class Feeder(models.Model):
    """A feeder (线路, 馈线) out of a substation, by its dispatch code."""

    code = models.CharField(_("feeder code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    substation = models.ForeignKey(
        Substation, verbose_name=_("substation"), on_delete=models.PROTECT, related_name="feeders"
    )

    objects = FeederQuerySet.as_manager()

    class Meta:
        verbose_name = _("feeder")
        verbose_name_plural = _("feeders")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class AccountSupplyQuerySet(models.QuerySet):
    def visible_to(self, user) -> AccountSupplyQuerySet:
        """Staff: supplies of accounts of the customers they see. Portal users: none (the grid is staff data)."""
        if user is None or not user.is_authenticated or user.is_customer_user:
            return self.none()
        return self.filter(account__customer__in=Customer.objects.visible_to(user).values("pk"))


class AccountSupply(models.Model):
    """An electricity account hangs on a feeder, as its main or its backup supply."""

    account = models.ForeignKey(
        ElectricityAccount, verbose_name=_("account"), on_delete=models.CASCADE, related_name="supplies"
    )
    feeder = models.ForeignKey(Feeder, verbose_name=_("feeder"), on_delete=models.PROTECT, related_name="supplies")
    role = models.CharField(_("supply role"), max_length=10, choices=SupplyRole.choices, default=SupplyRole.MAIN)

    objects = AccountSupplyQuerySet.as_manager()

    class Meta:
        verbose_name = _("account supply")
        verbose_name_plural = _("account supplies")
        ordering = ["account", "role", "feeder"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "feeder"],
                name="supply_account_feeder_once",
                violation_error_message=_("This account is already on this feeder."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} – {self.feeder} ({self.get_role_display()})"


class OutageQuerySet(models.QuerySet):
    def visible_to(self, user) -> OutageQuerySet:
        """Staff of the unit of any of its feeders' substations (and above); administrators all."""
        rule = _staff_unit_filter(user, "feeder__substation__org_unit__path")
        if rule is None:
            return self.none()
        if not rule:
            return self.all()
        links = Outage.feeders.through.objects.filter(rule, outage_id=OuterRef("pk"))
        return self.filter(Exists(links))


class Outage(models.Model):
    """Feeders out of service in a window. Planned and maintenance outages are announced ahead, within the public
    commitments' lead times (``services.lead_time_check``); a late announcement carries its reason and counts as a
    breach. Actual times are recorded once it happened; ``duration_minutes`` is computed from them."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=OutageKind.choices)
    status = models.CharField(_("status"), max_length=12, choices=OutageStatus.choices, default=OutageStatus.DRAFT)
    feeders = models.ManyToManyField(Feeder, verbose_name=_("feeders"), related_name="outages")
    planned_start = models.DateTimeField(_("planned start"))
    planned_end = models.DateTimeField(_("planned end"))
    reason = models.CharField(_("reason"), max_length=300)
    scope = models.TextField(
        _("area out of supply"), blank=True, help_text=_("Streets, areas and equipment out of supply.")
    )
    announced_at = models.DateTimeField(_("announced"), null=True, blank=True)
    announced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("announced by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Set when an announcement came later than the lead time the public commitments require (with its reason).
    lead_breach = models.BooleanField(_("announced late"), default=False)
    late_reason = models.CharField(_("reason for the late announcement"), max_length=300, blank=True)
    actual_start = models.DateTimeField(_("actual start"), null=True, blank=True)
    actual_end = models.DateTimeField(_("actual end"), null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = OutageQuerySet.as_manager()

    class Meta:
        verbose_name = _("outage")
        verbose_name_plural = _("outages")
        ordering = ["-planned_start", "-pk"]
        indexes = [models.Index(fields=["status", "planned_start"], name="outage_status_start")]
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_end__gt=models.F("planned_start")),
                name="outage_window_ends_after_start",
                violation_error_message=_("The planned end must be after the planned start."),
            ),
            models.CheckConstraint(
                condition=Q(actual_end__isnull=True)
                | Q(actual_start__isnull=False, actual_end__gt=models.F("actual_start")),
                name="outage_actual_end_after_start",
                violation_error_message=_("The actual end must be after the actual start."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.get_kind_display()}"

    def clean(self) -> None:
        errors = {}
        if self.planned_start and self.planned_end and self.planned_end <= self.planned_start:
            errors["planned_end"] = _("The planned end must be after the planned start.")
        if self.actual_end and (self.actual_start is None or self.actual_end <= self.actual_start):
            errors["actual_end"] = _("The actual end must be after the actual start.")
        if errors:
            raise ValidationError(errors)

    @property
    def planned_hours(self) -> float:
        return round((self.planned_end - self.planned_start).total_seconds() / 3600, 1)

    @property
    def editable(self) -> bool:
        return self.status in (OutageStatus.DRAFT, OutageStatus.ANNOUNCED)


# Rank for "important users first": GB/T 29328 classes, then the utility's tier.
IMPORTANCE_RANK = {
    ImportanceClass.SPECIAL: 0,
    ImportanceClass.FIRST: 1,
    ImportanceClass.SECOND: 2,
    ImportanceClass.TEMPORARY: 3,
    ImportanceClass.NONE: 4,
}


class OutageNoticeQuerySet(models.QuerySet):
    def visible_to(self, user) -> OutageNoticeQuerySet:
        """The notices of the customers the user sees (portal users: their own enterprise and its granted
        subsidiaries only)."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(customer__in=Customer.objects.visible_to(user).values("pk"))

    def with_rank(self) -> OutageNoticeQuerySet:
        return self.annotate(
            importance_rank=models.Case(
                *(
                    models.When(importance_class=value, then=models.Value(rank))
                    for value, rank in IMPORTANCE_RANK.items()
                ),
                default=models.Value(9),
                output_field=models.IntegerField(),
            ),
            tier_rank=models.Case(
                *(
                    models.When(tier=value, then=models.Value(rank))
                    for rank, value in enumerate((Tier.SPECIAL, Tier.FIRST, Tier.SECOND, Tier.THIRD))
                ),
                default=models.Value(9),
                output_field=models.IntegerField(),
            ),
        )


class OutageNotice(models.Model):
    """The notice of one outage to one affected customer: its accounts out, whether a backup feeder stays up, where it
    was sent, and its acknowledgement. ``version`` grows when the outage is announced again with another window; the
    acknowledgement is of the current version."""

    outage = models.ForeignKey(Outage, verbose_name=_("outage"), on_delete=models.CASCADE, related_name="notices")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="outage_notices"
    )
    # The customer as it was when told.
    importance_class = models.CharField(_("importance class"), max_length=10, choices=ImportanceClass.choices)
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices)
    account_nos = models.JSONField(_("accounts affected"), default=list)
    backup_available = models.BooleanField(
        _("backup available"), default=False, help_text=_("Every affected account keeps a feeder in service.")
    )
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    planned_start = models.DateTimeField(_("start as announced"))
    planned_end = models.DateTimeField(_("end as announced"))
    sent_at = models.DateTimeField(_("sent"))
    first_sent_at = models.DateTimeField(_("first sent"))
    # This customer was told later than the commitment for it (7 days for planned outages; 24 h for important users
    # before temporary maintenance).
    late = models.BooleanField(_("told late"), default=False)
    # [{"channel": "email"|"sms", "name", "address", "ok", "error", "at"}] of the current version, filled after commit.
    deliveries = models.JSONField(_("deliveries"), default=list, blank=True)
    # Set when the outage was announced again without this customer's feeders: the customer was told it is no longer
    # affected; a withdrawn notice no longer waits for acknowledgement and is not counted.
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ack_channel = models.CharField(_("acknowledged how"), max_length=10, choices=AckChannel.choices, blank=True)
    ack_person = models.CharField(
        _("confirmed by (customer side)"), max_length=100, blank=True, help_text=_("Who confirmed on the phone.")
    )
    hurt = models.BooleanField(_("customer hurt"), default=False)
    hurt_note = models.TextField(_("what happened to the customer"), blank=True)
    follow_up_request = models.ForeignKey(
        "servicedesk.ServiceRequest",
        verbose_name=_("follow-up request"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    follow_up_visit = models.ForeignKey(
        "engagement.Visit",
        verbose_name=_("follow-up visit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = OutageNoticeQuerySet.as_manager()

    class Meta:
        verbose_name = _("outage notice")
        verbose_name_plural = _("outage notices")
        ordering = ["-sent_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["outage", "customer"], name="outage_notice_once_per_customer"),
        ]
        indexes = [models.Index(fields=["customer", "acknowledged_at"], name="outage_notice_customer_ack")]

    def __str__(self) -> str:
        return f"{self.outage.number} – {self.customer}"

    @property
    def important(self) -> bool:
        return self.importance_class != ImportanceClass.NONE

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def has_follow_up(self) -> bool:
        return self.follow_up_request_id is not None or self.follow_up_visit_id is not None
