"""Affected accounts: found from the outage's feeders in one query, important users first, then by tier; a dual-supply
account whose other feeder stays up has a backup; staff see only their customers' accounts."""

from __future__ import annotations

from gridkam.customers.services import account_save

from ..selectors import affected_accounts, affected_customers
from .support import account_of, feeder, supply


def test_important_users_come_first_and_dual_supply_keeps_a_backup(p, grid):
    items = affected_accounts(feeder_ids=[grid.f1.pk])
    assert [i.customer for i in items] == [p.a2, p.a1]
    a2, a1 = items
    assert a2.backup_available and [f.code for f in a2.feeders_up] == ["F2"]
    assert not a1.backup_available and [f.code for f in a1.feeders_out] == ["F1"]


def test_both_feeders_of_a_dual_supply_account_out_means_no_backup(p, grid):
    items = affected_accounts(feeder_ids=[grid.f1.pk, grid.f2.pk])
    a2 = next(i for i in items if i.customer == p.a2)
    assert not a2.backup_available and sorted(f.code for f in a2.feeders_out) == ["F1", "F2"]
    assert {i.customer for i in items} == {p.a1, p.a2, p.a3}


def test_tier_orders_customers_of_the_same_importance(p, grid):
    type(p.a3).objects.filter(pk=p.a3.pk).update(tier="special", tier_computed="special")
    type(p.a1).objects.filter(pk=p.a1.pk).update(tier="second", tier_computed="second")
    items = affected_accounts(feeder_ids=[grid.f1.pk, grid.f2.pk])
    assert [i.customer.pk for i in items] == [p.a2.pk, p.a3.pk, p.a1.pk]


def test_closed_accounts_are_not_affected(p, grid):
    account = account_of(p.a1)
    account.status = "closed"
    account_save(account=account)
    assert [i.customer for i in affected_accounts(feeder_ids=[grid.f1.pk])] == [p.a2]


def test_staff_see_only_their_customers(p, grid):
    assert affected_accounts(feeder_ids=[grid.f1.pk], user=p.outsider) == []
    assert [i.customer for i in affected_accounts(feeder_ids=[grid.fb.pk], user=p.outsider)] == [p.b1]
    assert affected_accounts(feeder_ids=[grid.fb.pk], user=p.manager) == []
    assert [i.customer for i in affected_accounts(feeder_ids=[grid.f1.pk], user=p.customer_user)] == [p.a1]


def test_grouped_by_customer_backup_only_when_every_account_keeps_one(p, grid):
    from gridkam.core.testing import make_account

    second = make_account(customer=p.a2)
    supply(second, grid.f1)
    groups = affected_customers(affected_accounts(feeder_ids=[grid.f1.pk]))
    assert groups[0].customer == p.a2 and len(groups[0].accounts) == 2 and not groups[0].backup_available
    assert groups[0].important and not groups[1].important


def test_one_query_for_2_or_20_accounts(p, grid, django_assert_num_queries):
    from gridkam.core.testing import make_account

    with django_assert_num_queries(1):
        few = affected_accounts(feeder_ids=[grid.f1.pk])
    busy = feeder(grid.sub, code="F9")
    for i in range(20):
        account = make_account(customer=p.a3 if i % 2 else p.a1, points=0)
        supply(account, grid.f1 if i % 3 else busy)
    with django_assert_num_queries(1):
        many = affected_accounts(feeder_ids=[grid.f1.pk])
    assert len(many) > len(few) + 10
