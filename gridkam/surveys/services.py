"""Writes of the survey part: the built-in templates, sending (after a request closes; the annual survey by hand
or by command, once per customer and year), answering (once, before expiry), and the e-mailed links.

Recipients of a survey of a customer: its active portal users; when it has none, its primary contacts with an
e-mail address (they answer through a signed link, ``surveys.links``). After a request closes the survey goes to
the requester when a portal user logged it, else as above. Portal users are told by a notification
(``survey_requested``: in the app, and by e-mail or SMS per their preference); contacts get the link by e-mail
from a task after commit.

A post-request answer's satisfaction is the request's rating (``ServiceRequest.satisfaction``): one number, which
the health score reads, and one answer in the results. A request already rated in the portal is not surveyed. When
a request is rated (one of its surveys answered, or rated in the portal), ``surveys_mark_rated`` makes one survey
hold the rating (the one answered; for a rating in the portal, the rater's own survey, else the request's first
survey) and closes the others ("answered by a colleague"): they are not answers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from gridkam.customers.choices import AssignmentRole
from gridkam.customers.models import AccountAssignment, Contact, Customer
from gridkam.engagement.choices import NotificationEvent
from gridkam.engagement.notifications import notify_many
from gridkam.servicedesk.choices import RequestStatus
from gridkam.servicedesk.models import ServiceRequest
from gridkam.users.choices import Role
from gridkam.users.models import User
from gridkam.users.permissions import is_active_user

from .choices import SurveyDimension, SurveyKind
from .models import DIMENSION_FIELDS, Survey, SurveyTemplate

BATCH = 2000
COMMENT_MAX = 2000

# The built-in templates (``load_survey_templates``): what each kind asks and how many days it stays open.
BUILTIN_TEMPLATES: dict[str, dict[str, Any]] = {
    SurveyKind.POST_REQUEST: {"asks_satisfaction": True, "asks_nps": False, "dimensions": [], "valid_days": 14},
    SurveyKind.ANNUAL: {
        "asks_satisfaction": False,
        "asks_nps": True,
        "dimensions": list(SurveyDimension.values),
        "valid_days": 30,
    },
}


# --- Templates ------------------------------------------------------------------------------------------------


def templates_load(*, reset: bool = False) -> dict[str, int]:
    """Create the built-in templates that are missing; with ``reset`` put the existing ones back to the built-in
    definition. Safe to run any number of times. Returns ``{"created": n, "reset": n}``."""
    created = reset_n = 0
    for kind, definition in BUILTIN_TEMPLATES.items():
        template, was_created = SurveyTemplate.objects.get_or_create(kind=kind, defaults=definition)
        created += was_created
        if reset and not was_created:
            for name, value in definition.items():
                setattr(template, name, value)
            template.active = True
            template.save()
            reset_n += 1
    return {"created": created, "reset": reset_n}


def template_for(kind: str) -> SurveyTemplate:
    """The template of a kind (the built-in one is created if it was never loaded)."""
    template, _created = SurveyTemplate.objects.get_or_create(kind=kind, defaults=BUILTIN_TEMPLATES[kind])
    return template


# --- Who may send ---------------------------------------------------------------------------------------------


def may_send(user) -> bool:
    """Sending by hand is for account managers, supervisors and administrators (billing clerks and field
    engineers read results)."""
    return is_active_user(user) and (user.is_administrator or user.role in (Role.SUPERVISOR, Role.ACCOUNT_MANAGER))


# --- Sending --------------------------------------------------------------------------------------------------


def _snapshots(customer_ids: Iterable[int]) -> dict[int, tuple[str, int | None, int | None]]:
    """{customer id: (tier, current manager id, the manager's team id)}: one query."""
    manager = AccountAssignment.objects.filter(
        customer=OuterRef("pk"), role=AssignmentRole.MANAGER, end_date__isnull=True
    ).order_by()
    rows = (
        Customer.objects.filter(pk__in=list(customer_ids))
        .annotate(
            manager_ref=Subquery(manager.values("user_id")[:1]),
            team_ref=Subquery(manager.values("user__team_id")[:1]),
        )
        .values_list("pk", "tier", "manager_ref", "team_ref")
    )
    return {pk: (tier, manager_id, team_id) for pk, tier, manager_id, team_id in rows}


def _recipients(customer_ids: list[int]) -> dict[int, list[tuple[User | None, Contact | None]]]:
    """Per customer: its active portal users; else its primary contacts with an e-mail address. Two queries."""
    found: dict[int, list] = defaultdict(list)
    for user in User.objects.filter(customer_id__in=customer_ids, role=Role.CUSTOMER_USER, is_active=True).order_by(
        "pk"
    ):
        found[user.customer_id].append((user, None))
    contacts = (
        Contact.objects.filter(customer_id__in=customer_ids, is_primary=True)
        .exclude(email="")
        .exclude(customer_id__in=list(found))
        .order_by("customer_id", "role", "pk")
    )
    seen: set[tuple[int, str]] = set()
    for contact in contacts:
        key = (contact.customer_id, contact.email.lower())
        if key not in seen:  # one contact holding two roles is asked once
            seen.add(key)
            found[contact.customer_id].append((None, contact))
    return found


def _build(
    *,
    template: SurveyTemplate,
    customer_id: int,
    snapshot: tuple,
    recipient: User | None,
    contact: Contact | None,
    now: dt.datetime,
    sent_by=None,
    request_id: int | None = None,
    year: int | None = None,
) -> Survey:
    tier, manager_id, team_id = snapshot
    return Survey(
        template=template,
        kind=template.kind,
        customer_id=customer_id,
        request_id=request_id,
        year=year,
        recipient=recipient,
        contact=contact,
        recipient_name=str(recipient) if recipient else contact.name,
        email=(recipient.email if recipient else contact.email) or "",
        sent_at=now,
        expires_at=now + dt.timedelta(days=template.valid_days),
        sent_by=sent_by,
        tier=tier,
        manager_id=manager_id,
        team_id=team_id,
    )


def _announce(surveys: list[Survey], *, actor=None) -> None:
    """Tell portal recipients (a notification each) and e-mail the links to contacts (after commit)."""
    customer_names = dict(Customer.objects.filter(pk__in={s.customer_id for s in surveys}).values_list("pk", "name"))
    kinds = dict(SurveyKind.choices)
    with translation.override(settings.LANGUAGE_CODE):
        notify_many(
            (
                (
                    survey.recipient_id,
                    NotificationEvent.SURVEY_REQUESTED,
                    _survey_context(survey, customer_names[survey.customer_id], kinds),
                    reverse("surveys:answer", args=[survey.pk]),
                )
                for survey in surveys
                if survey.recipient_id is not None
            ),
            actor=actor,
        )
    emailed = [survey.pk for survey in surveys if survey.recipient_id is None]
    if emailed:
        from .tasks import send_survey_links

        transaction.on_commit(lambda: send_survey_links.delay(emailed))


def _survey_context(survey: Survey, customer_name: str, kinds: Mapping) -> dict[str, Any]:
    return {
        "customer": customer_name,
        "survey": str(kinds[survey.kind]),
        "year": survey.year or "",
        "number": survey.request.number if survey.request_id and survey.request else "",
        "expires": timezone.localtime(survey.expires_at).strftime("%Y-%m-%d"),
        "name": survey.recipient_name,
    }


def _insert(surveys: list[Survey]) -> list[Survey]:
    created = Survey.objects.bulk_create(surveys, batch_size=BATCH)
    if created and created[0].pk is None:  # databases that do not return ids from a bulk insert
        raise RuntimeError("Surveys need a database that returns the ids of inserted rows.")
    return created


@transaction.atomic
def survey_send_for_request(*, request: ServiceRequest, now: dt.datetime | None = None) -> list[Survey]:
    """The post-request survey of a request that has just closed: to its requester when a portal user logged it,
    else to its customer's recipients. Nothing when the template is switched off, the request is not closed, is
    already rated, or was surveyed before (a request closed again after a reopen is not asked twice)."""
    now = now or timezone.now()
    template = template_for(SurveyKind.POST_REQUEST)
    if (
        not template.active
        or request.status != RequestStatus.CLOSED
        or request.satisfaction is not None
        or Survey.objects.filter(request=request).exists()
    ):
        return []
    requester = request.created_by
    if requester is not None and requester.is_customer_user and requester.is_active:
        recipients = [(requester, None)]
    else:
        recipients = _recipients([request.customer_id]).get(request.customer_id, [])
    if not recipients:
        return []
    snapshot = _snapshots([request.customer_id])[request.customer_id]
    surveys = _insert(
        [
            _build(
                template=template,
                customer_id=request.customer_id,
                snapshot=snapshot,
                recipient=user,
                contact=contact,
                now=now,
                request_id=request.pk,
            )
            for user, contact in recipients
        ]
    )
    for survey in surveys:
        survey.request = request
    _announce(surveys)
    return surveys


def annual_years(today: dt.date | None = None) -> list[int]:
    """The years an annual survey may be sent for: this one and the last (a survey of the year just ended goes out
    in January)."""
    year = (today or timezone.localdate()).year
    return [year, year - 1]


@transaction.atomic
def survey_send_annual(
    *, customers: QuerySet[Customer], year: int, user=None, now: dt.datetime | None = None
) -> dict[str, int]:
    """Send the annual survey of ``year`` to the recipients of each customer of ``customers`` that has not had it
    for that year (so running it again sends nothing twice). ``user`` None: the command (every customer in the
    queryset); else the customers must be in the user's view and the user may send. Returns
    ``{"year", "customers", "surveys", "already", "no_recipient"}``."""
    now = now or timezone.now()
    if user is not None:
        if not may_send(user):
            raise PermissionDenied(_("You may not send surveys."))
        customers = customers.filter(pk__in=Customer.objects.visible_to(user).values("pk"))
    if year not in annual_years(timezone.localdate(now)):
        raise ValidationError({"year": _("Choose %(years)s.") % {"years": " / ".join(str(y) for y in annual_years())}})
    template = template_for(SurveyKind.ANNUAL)
    if not template.active:
        raise ValidationError({"year": _("The annual survey is switched off.")})
    candidate_ids = list(customers.order_by("pk").values_list("pk", flat=True).distinct())
    fresh = list(
        Customer.objects.filter(pk__in=candidate_ids)
        .exclude(pk__in=Survey.objects.filter(kind=SurveyKind.ANNUAL, year=year).values("customer_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    recipients = _recipients(fresh)
    snapshots = _snapshots(list(recipients))
    surveys = [
        _build(
            template=template,
            customer_id=customer_id,
            snapshot=snapshots[customer_id],
            recipient=recipient,
            contact=contact,
            now=now,
            sent_by=user,
            year=year,
        )
        for customer_id in fresh
        for recipient, contact in recipients.get(customer_id, [])
    ]
    created = _insert(surveys)
    _announce(created, actor=user)
    return {
        "year": year,
        "customers": len({s.customer_id for s in created}),
        "surveys": len(created),
        "already": len(candidate_ids) - len(fresh),
        "no_recipient": len(fresh) - len(recipients),
    }


# --- Answering ------------------------------------------------------------------------------------------------


def _integer(value, field: str, low: int, high: int, errors: dict) -> int | None:
    if value in (None, ""):
        errors[field] = _("Choose a score.")
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        errors[field] = _("Choose a whole number from %(low)s to %(high)s.") % {"low": low, "high": high}
        return None
    if not low <= number <= high:
        errors[field] = _("Choose a whole number from %(low)s to %(high)s.") % {"low": low, "high": high}
        return None
    return number


def answer_clean(template: SurveyTemplate, data: Mapping[str, Any]) -> dict[str, Any]:
    """The answer's values for the template's questions (others are ignored); ``ValidationError`` with a message
    per field otherwise."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    if template.asks_satisfaction:
        cleaned["satisfaction"] = _integer(data.get("satisfaction"), "satisfaction", 1, 5, errors)
    if template.asks_nps:
        cleaned["nps"] = _integer(data.get("nps"), "nps", 0, 10, errors)
    for code in template.dimensions:
        field = DIMENSION_FIELDS[code]
        cleaned[field] = _integer(data.get(field), field, 1, 5, errors)
    comment = data.get("comment") or ""
    if not isinstance(comment, str):
        errors["comment"] = _("Write the comment as text.")
    elif len(comment.strip()) > COMMENT_MAX:
        errors["comment"] = _("Keep the comment under %(n)s characters.") % {"n": COMMENT_MAX}
    else:
        cleaned["comment"] = comment.strip()
    if errors:
        raise ValidationError(errors)
    return cleaned


class SurveyClosed(ValidationError):
    """The survey was answered already or has expired: nothing is changed."""


def survey_answer(*, survey: Survey, data: Mapping[str, Any], user=None, now: dt.datetime | None = None) -> Survey:
    """Record the answer to a survey, once and before it expires. ``user``: the portal user answering (their own
    survey only); None for an answer through the signed link. A post-request answer also rates the request (the
    request's other surveys are closed), unless it was rated meanwhile by someone else: then this survey is closed
    and the answer is refused."""
    now = now or timezone.now()
    if user is not None and survey.recipient_id != user.pk:
        raise PermissionDenied(_("This survey is addressed to someone else."))
    template = survey.template
    cleaned = answer_clean(template, data)
    rated_meanwhile = False
    with transaction.atomic():
        # Locked: two submissions at once answer once.
        locked = Survey.objects.select_for_update().get(pk=survey.pk)
        if locked.answered_at is not None:
            raise SurveyClosed(_("This survey has already been answered. Thank you."), code="answered")
        if locked.closed_at is not None:
            raise SurveyClosed(_("This request has already been rated. Thank you."), code="closed")
        if locked.expires_at <= now:
            raise SurveyClosed(_("This survey has expired and can no longer be answered."), code="expired")
        if locked.request_id is not None and "satisfaction" in cleaned:
            rated_meanwhile = not ServiceRequest.objects.filter(pk=locked.request_id, satisfaction__isnull=True).update(
                satisfaction=cleaned["satisfaction"]
            )
        if not rated_meanwhile:
            for name, value in cleaned.items():
                setattr(locked, name, value)
            locked.answered_at = now
            locked.answered_by = user
            locked.save()
        # The request's other surveys (or this one, rated meanwhile by someone else) are closed.
        if locked.request_id is not None:
            rater = _rater(locked.request_id) if rated_meanwhile else None
            surveys_mark_rated(request_id=locked.request_id, user=rater, now=now)
    if rated_meanwhile:
        raise SurveyClosed(_("This request has already been rated. Thank you."), code="closed")
    return locked


def surveys_mark_rated(*, request_id: int, user=None, now: dt.datetime | None = None) -> int:
    """The request was rated (in the portal by ``user``, or by one of its surveys): one of its surveys holds the
    rating and the others are closed, so that the rating counts once. The survey holding it: the one answered;
    else (rated in the portal) the rater's own survey, else the request's first survey, answered with the rating
    (``rated_elsewhere``, ``answered_by`` the rater). The others not answered are closed with the name of who
    answered (shown to their recipients). Nothing when the request is not rated. Returns how many surveys changed.
    Safe to call again. Four queries at most."""
    now = now or timezone.now()
    with transaction.atomic():
        rating = ServiceRequest.objects.filter(pk=request_id).values_list("satisfaction", flat=True).first()
        if rating is None:
            return 0
        surveys = list(
            Survey.objects.select_for_update(of=("self",))
            .filter(request_id=request_id)
            .select_related("answered_by")
            .order_by("pk")
        )
        if not surveys:
            return 0
        changed = 0
        holder = next((s for s in surveys if s.answered_at is not None), None)
        if holder is None:
            user_id = getattr(user, "pk", None)
            holder = next((s for s in surveys if user_id is not None and s.recipient_id == user_id), surveys[0])
            holder.answered_at = now
            holder.satisfaction = rating
            holder.rated_elsewhere = True
            holder.answered_by = user if user_id is not None else None
            holder.closed_at = None
            holder.closed_by_name = ""
            holder.save(
                update_fields=[
                    "answered_at",
                    "satisfaction",
                    "rated_elsewhere",
                    "answered_by",
                    "closed_at",
                    "closed_by_name",
                ]
            )
            changed = 1
        name = holder.answerer_name[:150]
        changed += Survey.objects.filter(
            request_id=request_id, answered_at__isnull=True, closed_at__isnull=True
        ).update(closed_at=now, closed_by_name=name)
        return changed


# --- E-mailed links -------------------------------------------------------------------------------------------


def survey_links_send(survey_ids: Iterable[int], *, now: dt.datetime | None = None) -> dict[str, int]:
    """E-mail the answer link of each survey addressed to a contact (not yet e-mailed, still open): one connection,
    each survey marked e-mailed when its message went. Safe to run twice. Returns ``{"sent", "failed"}``."""
    from django.core.mail import EmailMessage, get_connection

    from gridkam.engagement.notifications import absolute_link, render_message

    from .links import link_path

    now = now or timezone.now()
    surveys = list(
        Survey.objects.filter(pk__in=list(survey_ids), recipient__isnull=True, emailed_at__isnull=True)
        .open(now)
        .exclude(email="")
        .select_related("customer", "request")
    )
    kinds = dict(SurveyKind.choices)
    sent = failed = 0
    connection = get_connection(fail_silently=False)
    with translation.override(settings.LANGUAGE_CODE):
        for survey in surveys:
            title, text = render_message(
                NotificationEvent.SURVEY_REQUESTED, _survey_context(survey, survey.customer.name, kinds)
            )
            link = absolute_link(link_path(survey.pk))
            message = EmailMessage(subject=title, body=f"{text}\n\n{link}\n", to=[survey.email], connection=connection)
            try:
                message.send()
            except Exception:  # one address failing must not stop the others; retried by the next run
                failed += 1
                continue
            Survey.objects.filter(pk=survey.pk).update(emailed_at=now)
            sent += 1
    return {"sent": sent, "failed": failed}


def survey_links_pending(*, now: dt.datetime | None = None) -> list[int]:
    """Open surveys of contacts whose link has not gone out yet (the after-commit task never ran)."""
    now = now or timezone.now()
    return list(
        Survey.objects.filter(recipient__isnull=True, emailed_at__isnull=True)
        .open(now)
        .exclude(email="")
        .values_list("pk", flat=True)
    )


def on_request_closed(sender, *, request: ServiceRequest, now: dt.datetime, **kwargs) -> None:
    """``servicedesk.services.request_closed``: ask the customer about the request that just closed."""
    survey_send_for_request(request=request, now=now)


def _rater(request_id: int):
    """Who rated the request in the portal: the user of its latest "rated" event (None when there is none)."""
    from gridkam.servicedesk.choices import EventKind
    from gridkam.servicedesk.models import RequestEvent

    event = (
        RequestEvent.objects.filter(request_id=request_id, kind=EventKind.RATED, actor__isnull=False)
        .select_related("actor")
        .order_by("-pk")
        .first()
    )
    return event.actor if event else None


def on_request_rated(sender, *, request: ServiceRequest, now: dt.datetime, **kwargs) -> None:
    """``servicedesk.services.request_rated``: the rating counts once, held by the rater's survey (else the
    request's first); the request's other surveys are closed ("answered by a colleague")."""
    user = kwargs.get("user") or _rater(request.pk)
    surveys_mark_rated(request_id=request.pk, user=user, now=now)
