"""Customer surveys (issue 7 item 4): the survey templates, and each survey sent to one person of a customer with
its answer. docs/surveys.md explains them to users.

A ``SurveyTemplate`` is data: its kind (after a request closes, or the annual key-account survey), whether it asks
for a 1–5 satisfaction rating or a 0–10 "how likely to recommend" (NPS) score, and the dimensions scored 1–5. The
two built-in templates are loaded by ``load_survey_templates``.

A ``Survey`` is one template sent to one recipient of a customer: a portal user (answers in the portal), or a
contact without a portal account (answers without logging in, through an e-mailed link carrying the survey's id
signed with the site's secret key: ``surveys.links``). It expires; it is answered once, and the answer is stored on
the same row (so results are aggregates over one table). A request's rating is one answer: of the surveys sent about
one request, at most one holds it (``answered_at`` set); the others are closed (``closed_at``, status "closed"),
not answered. The customer's tier, account manager and the manager's
team are copied when it is sent: results are read "as they were" when the customer was asked.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridkam.customers.choices import Tier
from gridkam.customers.models import Customer

from .choices import SurveyDimension, SurveyKind, SurveyStatus

# The column holding each dimension's 1–5 score.
DIMENSION_FIELDS: dict[str, str] = {code: f"{code}_score" for code in SurveyDimension.values}


class SurveyTemplate(models.Model):
    """What a kind of survey asks. Question wording is fixed in the code (translated); the template chooses the
    questions and how long a survey stays open."""

    kind = models.CharField(_("kind"), max_length=20, choices=SurveyKind.choices, unique=True)
    asks_satisfaction = models.BooleanField(_("asks for satisfaction (1–5)"), default=False)
    asks_nps = models.BooleanField(_("asks the NPS question (0–10)"), default=False)
    dimensions = models.JSONField(_("dimensions scored 1–5"), default=list, blank=True)
    valid_days = models.PositiveSmallIntegerField(
        _("days open"), default=14, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("survey template")
        verbose_name_plural = _("survey templates")
        ordering = ["kind"]

    def __str__(self) -> str:
        return str(self.get_kind_display())

    @property
    def dimension_choices(self) -> list[tuple[str, str]]:
        labels = dict(SurveyDimension.choices)
        return [(code, labels[code]) for code in self.dimensions if code in labels]


class SurveyQuerySet(models.QuerySet):
    def visible_to(self, user) -> SurveyQuerySet:
        """Staff: the surveys of the customers they see. Portal users: the surveys addressed to them, of a
        customer they see."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        visible = self.filter(customer__in=Customer.objects.visible_to(user).values("pk"))
        if user.is_customer_user:
            return visible.filter(recipient=user)
        return visible

    def with_status(self, now=None) -> SurveyQuerySet:
        now = now or timezone.now()
        return self.annotate(
            state=Case(
                When(answered_at__isnull=False, then=Value(SurveyStatus.ANSWERED.value)),
                When(closed_at__isnull=False, then=Value(SurveyStatus.CLOSED.value)),
                # Rated meanwhile by someone else: nothing left to ask (``surveys_mark_rated`` records it).
                When(request__satisfaction__isnull=False, then=Value(SurveyStatus.CLOSED.value)),
                When(expires_at__lte=now, then=Value(SurveyStatus.EXPIRED.value)),
                default=Value(SurveyStatus.SENT.value),
                output_field=models.CharField(),
            )
        )

    def open(self, now=None) -> SurveyQuerySet:
        return self.filter(
            answered_at__isnull=True, closed_at__isnull=True, expires_at__gt=now or timezone.now()
        ).exclude(request__satisfaction__isnull=False)


def _score(label, low: int, high: int):
    return models.PositiveSmallIntegerField(
        label, null=True, blank=True, validators=[MinValueValidator(low), MaxValueValidator(high)]
    )


class Survey(models.Model):
    """One survey sent to one person of a customer, and their answer (on the same row)."""

    template = models.ForeignKey(
        SurveyTemplate, verbose_name=_("template"), on_delete=models.PROTECT, related_name="surveys"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=SurveyKind.choices)
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="surveys")
    request = models.ForeignKey(
        "servicedesk.ServiceRequest",
        verbose_name=_("service request"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="surveys",
    )
    year = models.PositiveSmallIntegerField(_("year surveyed"), null=True, blank=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="surveys",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="surveys",
    )
    recipient_name = models.CharField(_("recipient name"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    # When the link was e-mailed to a contact without a portal account (the e-mail task sends each once).
    emailed_at = models.DateTimeField(_("link e-mailed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"))
    expires_at = models.DateTimeField(_("expires"))
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The customer as it was when asked.
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    team = models.ForeignKey(
        "users.Team", verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The answer.
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    satisfaction = _score(_("satisfaction (1–5)"), 1, 5)
    nps = _score(_("likelihood to recommend (0–10)"), 0, 10)
    reliability_score = _score(_("supply reliability (1–5)"), 1, 5)
    responsiveness_score = _score(_("responsiveness (1–5)"), 1, 5)
    billing_clarity_score = _score(_("billing clarity (1–5)"), 1, 5)
    account_manager_score = _score(_("the account manager (1–5)"), 1, 5)
    comment = models.TextField(_("comment"), blank=True)
    # True when the answer came from the request's rating in the portal, not from this survey's form.
    rated_elsewhere = models.BooleanField(_("rated on the request"), default=False)
    # Closed without an answer of its own: another recipient answered their survey of the same request, or someone
    # rated the request in the portal (the name of who did; blank when unknown: "your colleague").
    closed_at = models.DateTimeField(_("closed by another answer"), null=True, blank=True)
    closed_by_name = models.CharField(_("answered by"), max_length=150, blank=True)

    objects = SurveyQuerySet.as_manager()

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-sent_at", "-pk"]
        indexes = [
            models.Index(fields=["customer", "kind", "answered_at"], name="survey_customer_kind_answered"),
            models.Index(fields=["recipient", "answered_at"], name="survey_recipient_answered"),
            models.Index(fields=["sent_at"], name="survey_sent_at"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "year", "recipient"],
                condition=Q(kind=SurveyKind.ANNUAL, recipient__isnull=False),
                name="survey_annual_once_per_user",
            ),
            models.UniqueConstraint(
                fields=["customer", "year", "email"],
                condition=Q(kind=SurveyKind.ANNUAL, recipient__isnull=True),
                name="survey_annual_once_per_email",
            ),
            models.UniqueConstraint(
                fields=["request", "recipient"],
                condition=Q(request__isnull=False, recipient__isnull=False),
                name="survey_request_once_per_user",
            ),
            models.UniqueConstraint(
                fields=["request", "email"],
                condition=Q(request__isnull=False, recipient__isnull=True),
                name="survey_request_once_per_email",
            ),
            models.CheckConstraint(
                condition=Q(recipient__isnull=False) | ~Q(email=""), name="survey_has_a_way_to_answer"
            ),
            models.CheckConstraint(condition=Q(nps__isnull=True) | Q(nps__lte=10), name="survey_nps_0_to_10"),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="survey_satisfaction_1_to_5",
            ),
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": 1, f"{field}__lte": 5}),
                    name=f"survey_{field}_1_to_5",
                )
                for field in DIMENSION_FIELDS.values()
            ),
        ]

    def __str__(self) -> str:
        if self.kind == SurveyKind.ANNUAL:
            return f"{self.get_kind_display()} {self.year} – {self.customer}"
        return f"{self.get_kind_display()} – {self.customer}"

    def status_at(self, now=None) -> str:
        if self.answered_at is not None:
            return SurveyStatus.ANSWERED
        if self.closed_at is not None or (self.request_id is not None and self.request.satisfaction is not None):
            return SurveyStatus.CLOSED
        if self.expires_at <= (now or timezone.now()):
            return SurveyStatus.EXPIRED
        return SurveyStatus.SENT

    @property
    def status(self) -> str:
        return getattr(self, "state", None) or self.status_at()

    def get_status_display(self) -> str:
        return str(SurveyStatus(self.status).label)

    @property
    def answered_by_recipient(self) -> bool:
        """The answer on this row is its recipient's own: given through this survey (the portal user, or the contact
        through the link), or the request rated in the portal by this portal user. False for the request's rating
        given by someone else and carried by this row (their name: ``answerer_name``)."""
        if self.answered_at is None:
            return False
        if self.rated_elsewhere:
            return self.recipient_id is not None and self.answered_by_id == self.recipient_id
        return self.answered_by_id == self.recipient_id

    @property
    def answerer_name(self) -> str:
        """Who answered for this survey when it was not its recipient: blank when unknown ("your colleague")."""
        if self.answered_at is None:
            return self.closed_by_name
        if self.answered_by_id is not None and self.answered_by is not None:
            return str(self.answered_by)
        return "" if self.rated_elsewhere else self.recipient_name

    @property
    def dimension_scores(self) -> list[tuple[str, str, int | None]]:
        """(code, label, score) of the template's dimensions."""
        return [(code, label, getattr(self, DIMENSION_FIELDS[code])) for code, label in self.template.dimension_choices]
