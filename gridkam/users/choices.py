from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    SUPERVISOR = "supervisor", _("Supervisor")
    ACCOUNT_MANAGER = "account_manager", _("Account manager")
    FIELD_ENGINEER = "field_engineer", _("Field engineer")
    BILLING_CLERK = "billing_clerk", _("Billing clerk")
    CUSTOMER_USER = "customer_user", _("Customer user")


STAFF_ROLES = {Role.ADMINISTRATOR, Role.SUPERVISOR, Role.ACCOUNT_MANAGER, Role.FIELD_ENGINEER, Role.BILLING_CLERK}
