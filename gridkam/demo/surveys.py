"""Demo surveys: the built-in templates, a post-request survey for the requests closed in the last three months
(answered with the request's own rating where the customer rated it), and two rounds of the annual key-account
survey: last year's, sent in January and closed, about three in four answered; this year's, sent ten days ago and
still open, a third answered so far. Answers follow a realistic spread (most customers promoters or passives, some
detractors; billing clarity scored lowest), with Chinese comments.

``seed_demo`` calls :func:`demo_surveys_load` after the service requests. Recipients are the customers' portal users
(else their primary contacts with an e-mail address), as when surveys are sent for real; nobody is notified (the
demo's people are invented). Deterministic for a seed and a moment; running it again adds nothing.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from gridkam.customers.models import Customer
from gridkam.servicedesk.choices import RequestStatus
from gridkam.servicedesk.models import ServiceRequest
from gridkam.surveys.choices import SurveyKind
from gridkam.surveys.models import Survey
from gridkam.surveys.services import _build, _recipients, _snapshots, surveys_mark_rated, template_for, templates_load

BATCH = 2000
# How likely each 0–10 answer is: key accounts are mostly content, a few are not.
NPS_WEIGHTS = (1, 1, 1, 2, 2, 4, 6, 12, 20, 26, 25)
COMMENTS = {
    "promoter": [
        "客户经理响应很快，有问题随时能找到人。",
        "今年抢修到场及时，停电时间明显缩短。",
        "能效诊断的建议很实用，帮我们降低了需量电费。",
        "服务专业，值得推荐给同行。",
        "",
        "",
    ],
    "passive": [
        "总体满意，希望电费单能再清晰一些。",
        "计划停电通知能再提前几天就更好了。",
        "服务还可以，线上办理流程希望简化。",
        "",
    ],
    "detractor": [
        "今年跳闸次数较多，希望加强线路巡检。",
        "电费单中的力调电费看不懂，解释不够。",
        "报修后等了很久才有人到现场。",
        "客户经理更换频繁，沟通成本高。",
    ],
}
REQUEST_COMMENTS = {
    5: ["处理及时，非常满意。", "工程师很专业，谢谢！", ""],
    4: ["总体满意，到场稍慢。", ""],
    3: ["问题解决了，但过程沟通不够。", ""],
    2: ["等待时间太长。", "反复沟通才解决。"],
    1: ["问题拖了很久，很不满意。"],
}


def _band(nps: int) -> str:
    return "promoter" if nps >= 9 else "passive" if nps >= 7 else "detractor"


def _dimension(rng: random.Random, nps: int, shift: float = 0.0) -> int:
    """A 1–5 score that goes with the NPS answer, with some spread."""
    return max(1, min(5, round(1 + nps * 0.4 + shift + rng.gauss(0, 0.6))))


def _answer_annual(survey: Survey, rng: random.Random, mood: float, answered_at: dt.datetime) -> None:
    weights = [w * (1 + mood * (i - 5) / 5) for i, w in enumerate(NPS_WEIGHTS)]
    nps = rng.choices(range(11), weights=[max(w, 0.1) for w in weights])[0]
    survey.nps = nps
    survey.reliability_score = _dimension(rng, nps, 0.2)
    survey.responsiveness_score = _dimension(rng, nps)
    survey.billing_clarity_score = _dimension(rng, nps, -0.6)
    survey.account_manager_score = _dimension(rng, nps, 0.3)
    survey.comment = rng.choice(COMMENTS[_band(nps)])
    survey.answered_at = answered_at
    survey.answered_by = survey.recipient


def _annual_round(*, year: int, sent: dt.datetime, share: float, now: dt.datetime, rng: random.Random) -> list[Survey]:
    template = template_for(SurveyKind.ANNUAL)
    customer_ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    recipients = _recipients(customer_ids)
    snapshots = _snapshots(list(recipients))
    moods = {pk: rng.uniform(-0.8, 0.6) for pk in recipients}
    surveys = []
    for customer_id in customer_ids:
        for recipient, contact in recipients.get(customer_id, []):
            survey = _build(
                template=template,
                customer_id=customer_id,
                snapshot=snapshots[customer_id],
                recipient=recipient,
                contact=contact,
                now=sent,
                year=year,
            )
            answered_at = sent + dt.timedelta(days=rng.randint(1, 20), hours=rng.randint(8, 18))
            if rng.random() < share and answered_at < min(now, survey.expires_at):
                _answer_annual(survey, rng, moods[customer_id], answered_at)
            if contact is not None:
                survey.emailed_at = sent
            surveys.append(survey)
    return surveys


def _post_request(*, since: dt.datetime, now: dt.datetime, rng: random.Random) -> list[Survey]:
    template = template_for(SurveyKind.POST_REQUEST)
    requests = list(
        ServiceRequest.objects.filter(status=RequestStatus.CLOSED, closed_at__gte=since, closed_at__lt=now)
        .exclude(pk__in=Survey.objects.filter(request__isnull=False).values("request_id"))
        .select_related("created_by")
        .order_by("pk")
    )
    customer_ids = sorted({r.customer_id for r in requests})
    recipients = _recipients(customer_ids)
    snapshots = _snapshots(customer_ids)
    surveys = []
    for request in requests:
        requester = request.created_by
        if requester is not None and requester.is_customer_user:
            chosen = [(requester, None)]
        else:
            chosen = recipients.get(request.customer_id, [])[:1]
        for recipient, contact in chosen:
            survey = _build(
                template=template,
                customer_id=request.customer_id,
                snapshot=snapshots[request.customer_id],
                recipient=recipient,
                contact=contact,
                now=request.closed_at,
                request_id=request.pk,
            )
            if request.satisfaction is not None:
                survey.satisfaction = request.satisfaction
                survey.answered_at = min(now, request.closed_at + dt.timedelta(hours=rng.randint(2, 60)))
                survey.answered_by = recipient
                survey.comment = rng.choice(REQUEST_COMMENTS[request.satisfaction])
            if contact is not None:
                survey.emailed_at = request.closed_at
            surveys.append(survey)
    return surveys


@transaction.atomic
def demo_surveys_load(*, seed: int = 1, now: dt.datetime | None = None) -> dict[str, int]:
    """Load the demo surveys (see the module docstring). Returns ``{"post_request", "annual", "answered"}``; zeros
    when the demo already has its annual surveys."""
    now = now or timezone.now()
    templates_load()
    empty = {"post_request": 0, "annual": 0, "answered": 0}
    if Survey.objects.filter(kind=SurveyKind.ANNUAL).exists():
        return empty
    rng = random.Random(f"surveys-{seed}")
    this_year = timezone.localdate(now).year
    january = timezone.make_aware(dt.datetime(this_year, 1, 10, 9))
    last_round = min(january, now - dt.timedelta(days=40))
    surveys = _post_request(since=now - dt.timedelta(days=90), now=now, rng=rng)
    post_n = len(surveys)
    surveys += _annual_round(year=this_year - 1, sent=last_round, share=0.75, now=now, rng=rng)
    surveys += _annual_round(year=this_year, sent=now - dt.timedelta(days=10), share=0.35, now=now, rng=rng)
    Survey.objects.bulk_create(surveys, batch_size=BATCH)
    # Surveys the service desk sent when the demo's requests closed (before they were rated): one rating.
    # One survey per request holds the rating, the others are closed, as when a customer rates in the portal.
    rated = (
        Survey.objects.filter(
            request__isnull=False,
            answered_at__isnull=True,
            closed_at__isnull=True,
            request__satisfaction__isnull=False,
        )
        .values_list("request_id", flat=True)
        .distinct()
    )
    for request_id in list(rated):
        surveys_mark_rated(request_id=request_id, now=now)
    return {
        "post_request": post_n,
        "annual": len(surveys) - post_n,
        "answered": sum(1 for s in surveys if s.answered_at is not None),
    }
