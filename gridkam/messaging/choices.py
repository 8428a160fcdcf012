from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Side(models.TextChoices):
    """Which side of a conversation wrote a message: the customer's portal users or its account team."""

    CUSTOMER = "customer", pgettext_lazy("conversation side", "Customer")
    TEAM = "team", _("Account team")


class MessageKind(models.TextChoices):
    MESSAGE = "message", pgettext_lazy("conversation entry", "Message")
    # A line the system writes into the thread (a service request opened from a message).
    NOTE = "note", pgettext_lazy("conversation entry", "Note")
