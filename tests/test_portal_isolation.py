"""Isolation of customers, generated: every URL of the portal, messaging, surveys, expansion, outages, inspections and
power quality, and every API route with an id in its path is requested by customer A1's portal user with the id of
customer B1's object of that kind; each must answer 404 (or 403 where the whole endpoint is closed to portal users,
405 where GET is not offered).

A new URL with a path parameter this file does not know fails the test: add its kwarg to ``KWARGS`` (per namespace:
kwarg name → what it names) or its API name to ``API_OBJECTS`` / ``API_STAFF_ONLY``, in one place.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLResolver, get_resolver

from gridkam.portal.tests.world import build_world

pytestmark = pytest.mark.django_db

NAMESPACES = ("portal", "messaging", "surveys", "powerquality", "outages", "inspections", "expansion")

# kwarg name (per namespace first, "*" for any) → attribute of the other customer's ``Side`` (world.theirs).
KWARGS: dict[str, dict[str, str]] = {
    "portal": {
        "account_bills.pk": "account",
        "account_load.pk": "account",
        "account_advice.pk": "account",
        "bill_detail.pk": "bill",
        "request_detail.pk": "request",
        "request_reply.pk": "request",
        "request_rate.pk": "request",
        "appointment_cancel.pk": "appointment",
        "notice_open.pk": "notification",
    },
    "messaging": {"attachment.pk": "message_attachment"},
    "surveys": {"answer.pk": "survey"},
    # Staff pages of expansion answer 403 to portal users whatever the id; the portal page takes a project.
    "expansion": {
        "project_detail.pk": "expansion_project",
        "project_advance.pk": "expansion_project",
        "clock_stop.pk": "expansion_project",
        "document_upload.pk": "expansion_project",
        "project_cancel.pk": "expansion_project",
        "document_download.pk": "expansion_project",
        "portal_detail.pk": "expansion_project",
    },
    # Staff pages of inspections answer 403 to portal users whatever the id; the portal notice takes a danger.
    "inspections": {
        "portal_notice.pk": "danger",
        "danger_detail.pk": "danger",
        "danger_notice.pk": "danger",
        "danger_deliver.pk": "danger",
        "danger_advance.pk": "danger",
        "danger_reinspect.pk": "danger",
        "inspection_detail.pk": "inspection",
        "photo.pk": "inspection_photo",
    },
    # Staff pages of outages answer 403 to portal users whatever the id; the portal acknowledgement takes a notice.
    "outages": {
        "portal_acknowledge.pk": "outage_notice",
        "notice_acknowledge.pk": "outage_notice",
        "notice_follow_up.pk": "outage_notice",
        "outage_detail.pk": "outage_notice",
        "outage_edit.pk": "outage_notice",
        "outage_announce.pk": "outage_notice",
        "outage_actual.pk": "outage_notice",
        "outage_cancel.pk": "outage_notice",
        "feeder_detail.pk": "outage_notice",
    },
    "powerquality": {
        "event_detail.pk": "pq_event",
        "event_edit.pk": "pq_event",
        "event_open_request.pk": "pq_event",
        "import_detail.pk": "pq_import",
        "account_summary.pk": "account",
    },
    # Helpers of messaging and surveys add theirs here (e.g. "conversation_id": "conversation"), with the object
    # built in gridkam/portal/tests/world.py ``side()``.
    "*": {
        "customer_id": "customer",
        "account_id": "account",
        "bill_id": "bill",
        "payment_id": "payment",
        "request_id": "request",
        "attachment_id": "attachment",
        "appointment_id": "appointment",
        "notification_id": "notification",
        "message_id": "message",
        "token": "survey_token",
    },
}

# API names (DRF basename + action) → the other customer's object their ``pk`` (or ``account_id``) names.
API_OBJECTS = {
    "hidden-danger-detail": "danger",
    "hidden-danger-deliver-notice": "danger",
    "hidden-danger-advance": "danger",
    "hidden-danger-reinspect": "danger",
    "inspection-detail": "inspection",
    "expansion-project-advance": "expansion_project",
    "expansion-project-cancel": "expansion_project",
    "expansion-project-clock-stop": "expansion_project",
    "expansion-project-complete": "expansion_project",
    "expansion-project-detail": "expansion_project",
    "account-advice": "account",
    "account-billing": "account",
    "account-detail": "account",
    "account-dunning": "account",
    "account-dunning-steps": "account",
    "account-health-detail": "account",
    "account-load-curve": "account",
    "account-load-months": "account",
    "account-risk-scores": "account",
    "account-summary": "account",
    "appointment-cancel": "appointment",
    "appointment-complete": "appointment",
    "appointment-detail": "appointment",
    "appointment-no-show": "appointment",
    "bill-correct": "bill",
    "conversation-detail": "customer",
    "conversation-messages": "customer",
    "conversation-read": "customer",
    "message-detail": "message",
    "message-make-request": "message",
    "survey-answer": "survey",
    "outage-notice-detail": "outage_notice",
    "outage-notice-acknowledge": "outage_notice",
    "outage-notice-follow-up": "outage_notice",
    "pq-event-detail": "pq_event",
    "pq-event-open-request": "pq_event",
    "survey-detail": "survey",
    "bill-detail": "bill",
    "bill-issue": "bill",
    "customer-detail": "customer",
    "customer-history": "customer",
    "customer-tier-override": "customer",
    "contact-detail": "contact",
    "metering-point-detail": "metering_point",
    "metering-point-summary": "metering_point",
    "notification-detail": "notification",
    "notification-read": "notification",
    "payment-detail": "payment",
    "service-request-assign": "request",
    "service-request-change-status": "request",
    "service-request-detail": "request",
    "service-request-handover": "request",
    "service-request-note": "request",
    "service-request-onsite": "request",
    "service-request-reply": "request",
    "portal-user-detail": "user",
    "user-detail": "user",
}
# API endpoints closed to portal users whatever the id (staff data or reference data): asked with an id that names
# nothing (an id of one of the user's own objects could be a legitimate 200), they must answer 403 or 404.
API_STAFF_ONLY = {
    "inspection-interval-detail",
    "outage-detail",
    "outage-announce",
    "outage-finish",
    "outage-cancel",
    "outage-affected",
    "feeder-detail",
    "account-supply-detail",
    "expansion-time-limit-detail",
    "bill-run-detail",
    "billing-import-detail",
    "dunning-case-detail",
    "industry-detail",
    "monthly-usage-detail",
    "notification-preference-detail",
    "org-unit-detail",
    "plan-occurrence-detail",
    "pq-import-detail",
    "plan-template-detail",
    "plan-template-item-detail",
    "portal-invitation-detail",
    "portal-invitation-resend",
    "portal-invitation-revoke",
    "readings-import-detail",
    "readings-import-rollback",
    "risk-warning-acknowledge",
    "risk-warning-close",
    "risk-warning-detail",
    "service-hall-detail",
    "service-hall-slots",
    "service-plan-add-item",
    "service-plan-change-frequency",
    "service-plan-change-owner",
    "service-plan-detail",
    "service-plan-remove-item",
    "sla-policy-detail",
    "tariff-detail",
    "tariff-version",
    "team-detail",
    "tier-rule-detail",
    "visit-detail",
}
DENIED = {403, 404, 405}


def _walk(resolver, prefix="", namespace=""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = ":".join(part for part in (namespace, pattern.namespace) if part)
            yield from _walk(pattern, prefix + str(pattern.pattern), ns)
        else:
            yield prefix + str(pattern.pattern), namespace, pattern.name or "", pattern


def _params(route: str) -> list[str]:
    return re.findall(r"<(?:\w+:)?(\w+)>", route) + [
        name for name in re.findall(r"\(\?P<(\w+)>", route) if name != "format"
    ]


def routes():
    for route, namespace, name, _pattern in _walk(get_resolver()):
        params = _params(route)
        if not params:
            continue
        top = namespace.split(":")[0]
        if top in NAMESPACES:
            yield "ui", top, name, route, params
        elif route.startswith("api/") and "format" not in route:
            yield "api", top, name, route, params


def _fill(route: str, values: dict[str, int]) -> str:
    path = re.sub(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)", lambda m: str(values[m.group(1)]), route)
    path = re.sub(r"\^|\$", "", path)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), path)
    return "/" + path.replace("\\.", ".")


def _target(world, what: str):
    if what == "nothing":
        return 2**62
    value = getattr(world.theirs, what)
    return value if isinstance(value, str) else value.pk


def test_every_id_of_another_customer_answers_404(p, client_for):
    world = build_world(p)
    client = client_for(world.mine.user)
    unknown, leaks, checked = [], [], 0
    for kind, namespace, name, route, params in routes():
        values = {}
        for param in params:
            what = None
            if kind == "ui":
                what = KWARGS.get(namespace, {}).get(f"{name}.{param}") or KWARGS["*"].get(param)
            elif name in API_OBJECTS:
                what = API_OBJECTS[name]
            elif name in API_STAFF_ONLY:
                what = "nothing"
            if what is None:
                unknown.append(f"{namespace}:{name} {route} <{param}>")
                break
            values[param] = _target(world, what) if param != "event" else 0
        else:
            if "event" in params:
                continue  # preferences are the user's own, addressed by event name
            url = _fill(route, values)
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                checked += 1
                if response.status_code not in DENIED:
                    leaks.append(f"{method.upper()} {url} ({namespace}:{name}) → {response.status_code}")
    assert not unknown, "URLs with path parameters the isolation test does not know:\n" + "\n".join(unknown)
    assert not leaks, "another customer's object reached:\n" + "\n".join(leaks)
    assert checked > 40


def test_the_walk_finds_the_portal_urls():
    names = {(namespace, name) for _kind, namespace, name, _route, _params in routes()}
    assert ("portal", "bill_detail") in names and ("portal", "request_reply") in names
