"""The health card of the customer 360 page: per account its level, score, two weakest drivers and link, "not
scored yet" otherwise; hidden from portal users; one query whatever the number of accounts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gridkam.core.testing import make_account
from gridkam.engagement.health_selectors import customer_health_cards

from .test_health_views import WEAK
from .test_health_views_support import account_of, add_scores

pytestmark = pytest.mark.django_db


def test_card_shows_level_score_weakest_drivers_and_link(p, client_for):
    scored = account_of(p.a1)
    add_scores(scored, [70, 33.8], points=WEAK)
    unscored = make_account(customer=p.a1, points=0)
    response = client_for(p.manager).get(reverse("customers:customer_detail", args=[p.a1.pk]))
    assert response.status_code == 200
    cards = {c["account"].pk: c for c in response.context["health_cards"]}
    assert cards[scored.pk]["score"].level == "unhealthy"
    assert [d["driver"] for d in cards[scored.pk]["weakest"]] == ["fee_risk", "complaints"]
    assert cards[unscored.pk]["score"] is None and cards[unscored.pk]["weakest"] == []
    body = response.content.decode()
    assert 'data-testid="customer-health"' in body
    assert f'data-account="{scored.account_no}"' in body and 'data-level="unhealthy"' in body
    assert 'data-driver="fee_risk"' in body and 'data-driver="complaints"' in body
    assert 'data-testid="customer-health-none"' in body  # the unscored account
    assert reverse("health:account", args=[scored.pk]) in body
    assert reverse("health:account", args=[unscored.pk]) in body


def test_card_is_hidden_from_portal_users(p, client_for):
    add_scores(account_of(p.a1), [33.8], points=WEAK)
    response = client_for(p.customer_user).get(reverse("customers:customer_detail", args=[p.a1.pk]))
    assert response.status_code == 200
    assert response.context["health_cards"] is None
    assert b'data-testid="customer-health"' not in response.content


def test_outsider_has_no_360_page_of_another_unit(p, client_for):
    assert client_for(p.outsider).get(reverse("customers:customer_detail", args=[p.a1.pk])).status_code == 404


def test_card_is_one_query_whatever_the_accounts(p, django_assert_num_queries):
    for _ in range(6):
        add_scores(make_account(customer=p.a2, points=0), [55])
    accounts = list(p.a2.accounts.all())
    with django_assert_num_queries(1):
        cards = customer_health_cards(customer=p.a2, accounts=accounts)
    assert len(cards) == 7 and sum(1 for c in cards if c["score"]) == 6


def test_360_queries_do_not_grow_with_scored_accounts(p, client_for):
    client = client_for(p.supervisor)
    url = reverse("customers:customer_detail", args=[p.a2.pk])
    add_scores(account_of(p.a2), [85])
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for _ in range(8):
        add_scores(make_account(customer=p.a2, points=0), [45], points=WEAK)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(response.context["health_cards"]) == 9
    assert len(many) == len(few)
