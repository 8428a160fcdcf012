from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SurveyKind(models.TextChoices):
    """The two built-in survey templates."""

    POST_REQUEST = "post_request", _("After a service request")
    ANNUAL = "annual", _("Annual key-account survey")


class SurveyDimension(models.TextChoices):
    """What the annual survey asks to score from 1 to 5, besides the NPS question."""

    RELIABILITY = "reliability", _("Supply reliability")
    RESPONSIVENESS = "responsiveness", _("Responsiveness")
    BILLING_CLARITY = "billing_clarity", _("Billing clarity")
    ACCOUNT_MANAGER = "account_manager", _("The account manager")


class SurveyStatus(models.TextChoices):
    SENT = "sent", pgettext_lazy("survey status", "Sent")
    ANSWERED = "answered", pgettext_lazy("survey status", "Answered")
    EXPIRED = "expired", pgettext_lazy("survey status", "Expired")
    # A post-request survey closed without an answer of its own: the request was rated by someone else (a colleague
    # answered their survey, or rated the request in the portal). Not counted as an answer.
    CLOSED = "closed", pgettext_lazy("survey status", "Closed – answered by a colleague")


class SurveyPeriod(models.TextChoices):
    """How results are grouped in time (by the day the survey was sent)."""

    MONTH = "month", pgettext_lazy("period", "Month")
    QUARTER = "quarter", pgettext_lazy("period", "Quarter")
    YEAR = "year", pgettext_lazy("period", "Year")


class SurveyGroupBy(models.TextChoices):
    TIER = "tier", _("Tier")
    MANAGER = "manager", _("Account manager")
    TEAM = "team", _("Team")
    PERIOD = "period", pgettext_lazy("grouping", "Period")


# NPS bands on the 0–10 answer: promoters 9–10, passives 7–8, detractors 0–6.
PROMOTER_FROM = 9
DETRACTOR_UP_TO = 6
