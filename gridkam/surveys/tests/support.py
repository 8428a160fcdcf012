"""Data makers of the survey tests: another customer's portal user, requests ready to close, surveys made directly
(with an answer), and the "now" all of them are dated from."""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from gridkam.core.testing import make_contact, make_user
from gridkam.servicedesk.choices import Channel, RequestStatus, RequestType
from gridkam.servicedesk.models import ServiceRequest
from gridkam.surveys.choices import SurveyKind
from gridkam.surveys.models import Survey
from gridkam.surveys.services import template_for
from gridkam.users.choices import Role

DAY = dt.timedelta(days=1)
_numbers = itertools.count(1)


def other_customer_user(p):
    """A portal user of customer B1 (another city's customer)."""
    return make_user("b1-portal", role=Role.CUSTOMER_USER, customer=p.b1, display_name="纺织能源主管")


def resolved_request(customer, *, created_by=None, satisfaction=None) -> ServiceRequest:
    """A request of ``customer`` resolved and waiting to be closed."""
    now = timezone.now()
    return ServiceRequest.objects.create(
        number=f"SV{next(_numbers):08d}",
        customer=customer,
        request_type=RequestType.REPAIR,
        channel=Channel.PORTAL if created_by is not None and created_by.is_customer_user else Channel.MANAGER_LINE,
        title="配电房开关跳闸",
        status=RequestStatus.RESOLVED,
        created_at=now - 3 * DAY,
        resolved_at=now - DAY,
        reopen_until=now + 6 * DAY,
        created_by=created_by,
        satisfaction=satisfaction,
    )


def primary_contact(customer, *, name="张工", email="zhang@example.com", role="energy_manager"):
    return make_contact(customer=customer, name=name, role=role, email=email, is_primary=True)


def survey(
    customer,
    *,
    kind=SurveyKind.ANNUAL,
    recipient=None,
    email="",
    year=None,
    request=None,
    sent=None,
    expires=None,
    answered=None,
    manager=None,
    team=None,
    tier=None,
    **answer,
) -> Survey:
    """A survey made directly: sent ``sent`` (default now), open 30 days, answered at ``answered`` with ``answer``."""
    sent = sent or timezone.now()
    if recipient is None and not email:
        email = f"contact{next(_numbers)}@example.com"
    return Survey.objects.create(
        template=template_for(kind),
        kind=kind,
        customer=customer,
        request=request,
        year=year if year is not None else (sent.year if kind == SurveyKind.ANNUAL else None),
        recipient=recipient,
        email=email,
        recipient_name=str(recipient) if recipient else "联系人",
        sent_at=sent,
        expires_at=expires or sent + 30 * DAY,
        tier=tier or customer.tier,
        manager=manager,
        team=team,
        answered_at=answered,
        **answer,
    )
