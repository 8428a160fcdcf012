"""Supervisor tools: tier override, account team changes, bulk portfolio reassignment, tier rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from gridkam.customers.choices import Tier
from gridkam.customers.models import AccountAssignment, Customer, TierRule

pytestmark = pytest.mark.django_db


def current(customer, role="manager"):
    return AccountAssignment.objects.filter(customer=customer, role=role, end_date__isnull=True).first()


# Tier override ----------------------------------------------------------------------------------


def test_tier_override_needs_a_reason(p, client_for):
    response = client_for(p.supervisor).post(
        reverse("customers:customer_tier", args=[p.a1.pk]), {"tier": "special", "tier_override_reason": " "}
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["tier_override_reason"]
    p.a1.refresh_from_db()
    assert p.a1.tier == p.a1.tier_computed == "third"


def test_tier_override_with_reason_shows_manual_badge_and_reason(p, client_for):
    client = client_for(p.supervisor)
    response = client.post(
        reverse("customers:customer_tier", args=[p.a1.pk]),
        {"tier": "first", "tier_override_reason": "市重点招商引资项目"},
    )
    assert response.status_code == 302
    p.a1.refresh_from_db()
    assert (p.a1.tier, p.a1.tier_computed, p.a1.tier_override_reason) == ("first", "third", "市重点招商引资项目")
    page = client.get(reverse("customers:customer_detail", args=[p.a1.pk]))
    assert page.context["customer"].tier_overridden
    assert "市重点招商引资项目" in page.content.decode()
    # The change history names tiers by their labels, as the rest of the page does.
    changes = [c for h in page.context["history"] for c in h["changes"] if c["new"] == Tier.FIRST.label]
    assert changes and changes[0]["old"] == Tier.THIRD.label


def test_choosing_the_rule_tier_ends_the_override(p, client_for):
    client = client_for(p.supervisor)
    url = reverse("customers:customer_tier", args=[p.a1.pk])
    client.post(url, {"tier": "first", "tier_override_reason": "重点项目"})
    client.post(url, {"tier": "third", "tier_override_reason": ""})
    p.a1.refresh_from_db()
    assert (p.a1.tier, p.a1.tier_override_reason) == ("third", "")


def test_unknown_tier_is_a_field_error(p, client_for):
    response = client_for(p.admin).post(
        reverse("customers:customer_tier", args=[p.a1.pk]), {"tier": "platinum", "tier_override_reason": "x"}
    )
    assert list(response.context["form"].errors) == ["tier"]


# Account team -----------------------------------------------------------------------------------


def test_team_change_ends_the_old_term_and_shows_it_as_history(p, client_for):
    client = client_for(p.supervisor)
    old = current(p.a1)
    response = client.post(
        reverse("customers:customer_team", args=[p.a1.pk]),
        {"role": "manager", "user": p.colleague.pk, "start_date": "2025-06-01", "reason": "李经理调岗"},
    )
    assert response.status_code == 302
    old.refresh_from_db()
    assert (old.end_date, old.reason) == (dt.date(2025, 6, 1), "李经理调岗")
    new = current(p.a1)
    assert (new.user, new.start_date, new.reason) == (p.colleague, dt.date(2025, 6, 1), "李经理调岗")
    page = client.get(reverse("customers:customer_detail", args=[p.a1.pk]))
    assert [a.pk for a in page.context["past_team"]] == [old.pk]
    assert 'data-testid="team-history"' in page.content.decode()


def test_team_change_offers_only_staff_with_a_suitable_role(p, client_for):
    response = client_for(p.supervisor).post(
        reverse("customers:customer_team", args=[p.a1.pk]),
        {"role": "manager", "user": p.engineer.pk, "start_date": "2025-06-01", "reason": "试试"},
    )
    assert list(response.context["form"].errors) == ["user"]
    assert current(p.a1).user == p.manager
    # Staff of another city are not even offered.
    response = client_for(p.supervisor).post(
        reverse("customers:customer_team", args=[p.a1.pk]),
        {"role": "manager", "user": p.outsider.pk, "start_date": "2025-06-01", "reason": "试试"},
    )
    assert response.context["form"].has_error("user", code="invalid_choice")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"role": "manager", "user": "manager", "reason": "no change"}, "user"),
        ({"role": "backup_manager", "user": "", "reason": "nobody there"}, "user"),
        ({"role": "manager", "user": "colleague", "reason": ""}, "reason"),
        ({"role": "manager", "user": "colleague", "reason": "x", "start_date": "2024-12-01"}, "start_date"),
        ({"role": "manager", "user": "colleague", "reason": "x", "start_date": "2999-01-01"}, "start_date"),
    ],
)
def test_team_change_refusals_are_field_errors(data, field, p, client_for):
    data = {"start_date": "2025-06-01", **data}
    data["user"] = getattr(p, data["user"]).pk if data["user"] else ""
    response = client_for(p.supervisor).post(reverse("customers:customer_team", args=[p.a1.pk]), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert current(p.a1).user == p.manager


def test_team_change_to_nobody_ends_the_assignment(p, client_for):
    client_for(p.admin).post(
        reverse("customers:customer_team", args=[p.a1.pk]),
        {"role": "field_engineer", "user": "", "start_date": timezone.localdate().isoformat(), "reason": "离职"},
    )
    assert current(p.a1, "field_engineer") is None


# Bulk reassignment ------------------------------------------------------------------------------


def test_bulk_reassignment_moves_the_portfolio_with_the_reason(p, client_for):
    client = client_for(p.supervisor)
    before = {c.pk: current(c) for c in (p.a1, p.a2)}
    next_url = reverse("customers:customer_list") + "?tier=third"
    response = client.post(
        reverse("customers:portfolio_reassign"),
        {
            "customers": [p.a1.pk, p.a2.pk],
            "role": "manager",
            "user": p.colleague.pk,
            "reason": "李经理休产假",
            "next": next_url,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == next_url
    for pk, old in before.items():
        old.refresh_from_db()
        assert old.end_date == timezone.localdate()
        assert old.reason == "李经理休产假"
        new = current(Customer.objects.get(pk=pk))
        assert (new.user, new.reason) == (p.colleague, "李经理休产假")
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert "2" in message


def test_bulk_reassignment_refuses_customers_outside_the_unit(p, client_for):
    response = client_for(p.supervisor).post(
        reverse("customers:portfolio_reassign"),
        {"customers": [p.a1.pk, p.b1.pk], "role": "manager", "user": p.colleague.pk, "reason": "调整"},
    )
    assert response.status_code == 200
    assert response.context["form"].has_error("customers", code="invalid_choice")
    assert current(p.a1).user == p.manager


def test_bulk_reassignment_without_reason_or_selection_keeps_the_selection(p, client_for):
    client = client_for(p.supervisor)
    response = client.post(
        reverse("customers:portfolio_reassign"),
        {"customers": [p.a1.pk], "role": "manager", "user": p.colleague.pk, "reason": ""},
    )
    assert list(response.context["form"].errors) == ["reason"]
    assert [c.pk for c in response.context["selected"]] == [p.a1.pk]
    response = client.post(
        reverse("customers:portfolio_reassign"), {"role": "manager", "user": p.colleague.pk, "reason": "x"}
    )
    assert response.context["form"].has_error("customers", code="required")


def test_bulk_reassignment_ignores_an_offsite_next_url(p, client_for):
    response = client_for(p.admin).post(
        reverse("customers:portfolio_reassign"),
        {
            "customers": [p.a3.pk],
            "role": "manager",
            "user": p.manager.pk,
            "reason": "x",
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == reverse("customers:customer_list")


# Tier rules -------------------------------------------------------------------------------------


def rules_data(**changes) -> dict:
    data = {}
    for rule in TierRule.objects.all():
        data[f"{rule.tier}-min_annual_energy_mwh"] = str(rule.min_annual_energy_mwh or "")
        data[f"{rule.tier}-min_capacity_kva"] = str(rule.min_capacity_kva or "")
        data[f"{rule.tier}-importance_classes"] = rule.importance_classes
    data.update(changes)
    return data


def test_staff_read_the_rules_without_inputs(p, client_for):
    content = client_for(p.clerk).get(reverse("customers:tier_rules")).content.decode()
    assert "20,000" in content or "20000" in content
    assert 'name="first-min_capacity_kva"' not in content


def test_supervisor_changes_a_threshold_and_tiers_are_recomputed(p, client_for):
    client = client_for(p.supervisor)
    third = set(Customer.objects.filter(tier="third").values_list("pk", flat=True))
    # Every persona customer has one 2,000 kVA account: a second-tier threshold of 1,000 kVA lifts
    # all those in the third tier (A2, a first-class important user, stays in Tier 1).
    response = client.post(reverse("customers:tier_rules"), rules_data(**{"second-min_capacity_kva": "1000"}))
    assert response.status_code == 302
    assert TierRule.objects.get(tier="second").min_capacity_kva == Decimal("1000")
    assert set(Customer.objects.filter(tier="second").values_list("pk", flat=True)) == third
    assert Customer.objects.get(pk=p.a2.pk).tier == "first"
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert str(len(third)) in message


def test_inconsistent_thresholds_are_refused(p, client_for):
    response = client_for(p.supervisor).post(
        reverse("customers:tier_rules"), rules_data(**{"first-min_capacity_kva": "80000"})
    )
    assert response.status_code == 200
    assert response.context["errors"]
    assert TierRule.objects.get(tier="first").min_capacity_kva == Decimal("10000")


def test_negative_threshold_is_a_field_error(p, client_for):
    response = client_for(p.admin).post(
        reverse("customers:tier_rules"), rules_data(**{"second-min_annual_energy_mwh": "-1"})
    )
    forms = {f.instance.tier: f for f in response.context["forms"]}
    assert list(forms["second"].errors) == ["min_annual_energy_mwh"]


def test_a_manual_tier_survives_a_rule_change(p, client_for):
    client = client_for(p.supervisor)
    client.post(reverse("customers:customer_tier", args=[p.a1.pk]), {"tier": "special", "tier_override_reason": "保电"})
    client.post(reverse("customers:tier_rules"), rules_data(**{"second-min_capacity_kva": "1000"}))
    p.a1.refresh_from_db()
    assert (p.a1.tier, p.a1.tier_computed) == ("special", "second")


# Customer lookup (group parent search) ----------------------------------------------------------


def test_lookup_finds_visible_customers_by_pinyin_and_leaves_out_the_own_group(p, client_for):
    client = client_for(p.supervisor)
    content = client.get(reverse("customers:customer_lookup"), {"parent": "HZGT"}).content.decode()
    assert p.a1.credit_code in content and p.a1_sub.credit_code in content
    content = client.get(reverse("customers:customer_lookup"), {"q": "HZGT", "exclude": p.a1.pk}).content.decode()
    assert p.a1.credit_code not in content and p.a1_sub.credit_code not in content
    assert client.get(reverse("customers:customer_lookup"), {"q": "汕头"}).content.decode().strip() == ""
