import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from gridkam.core.testing import make_account, make_customer
from gridkam.customers.models import AccountAssignment, Contact, Customer, MeteringPoint, TierRule
from gridkam.customers.services import (
    account_save,
    assignment_set,
    contact_save,
    customer_override_tier,
    customer_save,
    customers_recompute_tiers,
    metering_point_save,
    pinyin_initials,
    portfolio_reassign,
)

pytestmark = pytest.mark.django_db


def test_pinyin_initials_of_a_chinese_name():
    assert pinyin_initials("惠州钢铁集团有限公司") == "HZGTJTYXGS"


def test_pinyin_initials_keep_latin_letters_and_digits():
    assert pinyin_initials("TCL科技 2号厂") == "TCLKJ2HC"


def test_saving_a_customer_stores_initials_and_normalises_the_credit_code(p):
    customer = p.a1
    customer.credit_code = customer.credit_code.lower()
    customer_save(customer=customer)
    customer.refresh_from_db()
    assert customer.name_initials.startswith("HZGT")
    assert customer.credit_code == customer.credit_code.upper()


def test_tier_follows_capacity_of_open_accounts(p):
    make_account(customer=p.a3, capacity_kva="12000")
    p.a3.refresh_from_db()
    assert p.a3.tier == "first"


def test_manual_tier_needs_a_reason(p):
    with pytest.raises(ValidationError) as err:
        customer_override_tier(customer=p.a1, tier="special", reason=" ")
    assert "tier_override_reason" in err.value.message_dict


def test_manual_tier_is_kept_through_recomputation(p):
    customer_override_tier(customer=p.a1, tier="special", reason="市政府重点保障企业")
    customers_recompute_tiers()
    p.a1.refresh_from_db()
    assert (p.a1.tier, p.a1.tier_computed, p.a1.tier_overridden) == ("special", "third", True)


def test_override_equal_to_the_rule_is_no_override(p):
    customer = customer_override_tier(customer=p.a1, tier=p.a1.tier_computed, reason="")
    assert customer.tier_override_reason == ""
    assert not customer.tier_overridden


def test_recompute_after_rule_change_counts_changes(p):
    TierRule.objects.filter(tier="second").update(min_capacity_kva=Decimal("1000"))
    changed = customers_recompute_tiers()
    assert changed == 4  # every customer but A2 (first class already) has a 2,000 kVA account
    assert Customer.objects.get(pk=p.b1.pk).tier == "second"


def test_history_records_field_changes(p):
    p.a1.address = "惠州市惠阳区"
    customer_save(customer=p.a1)
    latest = p.a1.history.first()
    delta = latest.diff_against(latest.prev_record)
    assert [c.field for c in delta.changes] == ["address"]


def test_account_with_contract_demand_above_capacity_is_rejected(p):
    account = p.a1.accounts.first()
    account.basic_charge_method = "contract_demand"
    account.contract_demand_kw = Decimal("2500")
    with pytest.raises(ValidationError) as err:
        account_save(account=account)
    assert "contract_demand_kw" in err.value.message_dict


def test_contract_demand_method_needs_the_demand(p):
    account = p.a1.accounts.first()
    account.basic_charge_method = "contract_demand"
    account.contract_demand_kw = None
    with pytest.raises(ValidationError):
        account_save(account=account)


def test_absurd_capacity_is_rejected(p):
    account = p.a1.accounts.first()
    account.capacity_kva = Decimal("9000000")
    with pytest.raises(ValidationError) as err:
        account_save(account=account)
    assert "capacity_kva" in err.value.message_dict


def test_multiplier_is_ct_times_pt(p):
    account = p.a1.accounts.first()
    point = metering_point_save(
        point=MeteringPoint(
            code="MPX1", meter_no="MX1", account=account, ct_ratio=Decimal("60"), pt_ratio=Decimal("100")
        )
    )
    assert point.multiplier == Decimal("6000")
    point.multiplier = Decimal("5000")
    with pytest.raises(ValidationError):
        metering_point_save(point=point)


def test_multiplier_must_be_positive(p):
    account = p.a1.accounts.first()
    with pytest.raises(ValidationError) as err:
        metering_point_save(point=MeteringPoint(code="MPX2", meter_no="MX2", account=account, multiplier=Decimal("0")))
    assert "multiplier" in err.value.message_dict


def test_duplicate_meter_number_is_rejected(p):
    existing = MeteringPoint.objects.first()
    with pytest.raises(ValidationError) as err:
        metering_point_save(
            point=MeteringPoint(code="MPX3", meter_no=existing.meter_no, account=existing.account, multiplier=1)
        )
    assert "meter_no" in err.value.message_dict


def test_new_primary_contact_demotes_the_previous_one(p):
    first = contact_save(contact=Contact(customer=p.a1, name="甲", role="finance", phone="1", is_primary=True))
    second = contact_save(contact=Contact(customer=p.a1, name="乙", role="finance", phone="2", is_primary=True))
    first.refresh_from_db()
    assert not first.is_primary and second.is_primary


def test_contact_needs_a_phone_or_an_email(p):
    with pytest.raises(ValidationError):
        contact_save(contact=Contact(customer=p.a1, name="丙", role="finance"))


def test_assignment_change_keeps_the_previous_term(p):
    assignment_set(customer=p.a1, role="manager", user=p.colleague, reason="调岗", start_date=dt.date(2026, 3, 1))
    terms = list(AccountAssignment.objects.filter(customer=p.a1, role="manager").order_by("start_date"))
    assert [(t.user, t.end_date) for t in terms] == [(p.manager, dt.date(2026, 3, 1)), (p.colleague, None)]


def test_reassigning_to_the_same_person_changes_nothing(p):
    before = AccountAssignment.objects.count()
    assignment_set(customer=p.a1, role="manager", user=p.manager)
    assert AccountAssignment.objects.count() == before


def test_customer_users_cannot_serve_customers(p):
    with pytest.raises(ValidationError):
        assignment_set(customer=p.a2, role="manager", user=p.customer_user)


def test_new_term_cannot_start_before_the_current_one(p):
    with pytest.raises(ValidationError):
        assignment_set(customer=p.a1, role="manager", user=p.colleague, start_date=dt.date(2024, 1, 1))


def test_bulk_reassignment_needs_a_reason_and_moves_each_customer(p):
    with pytest.raises(ValidationError):
        portfolio_reassign(customers=[p.a1, p.a2], role="manager", user=p.colleague, reason="")
    moved = portfolio_reassign(customers=[p.a1, p.a2, p.a3], role="manager", user=p.colleague, reason="组合调整")
    assert moved == 2  # A3 was already the colleague's
    assert set(Customer.objects.visible_to(p.colleague)) >= {p.a1, p.a2, p.a3}


def test_customer_created_with_a_first_class_importance_is_first_tier(p):
    customer = make_customer(name="惠州燃气有限公司", org_unit=p.city_a, importance_class="first")
    assert customer.tier == "first"
