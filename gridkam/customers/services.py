"""Every write to key-account master data goes through here: forms, API, imports and demo data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from pypinyin import Style, lazy_pinyin

from .choices import TIER_RANK, Tier
from .models import AccountAssignment, Contact, Customer, ElectricityAccount, MeteringPoint, TierRule
from .rules import TierThresholds, supply_gaps, tier_for


def pinyin_initials(text: str) -> str:
    """HZGT for 惠州钢铁; Latin letters and digits are kept as they are."""
    parts = lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default")
    return "".join(ch for ch in "".join(parts).upper() if ch.isalnum())


def tier_thresholds() -> list[TierThresholds]:
    return [
        TierThresholds(
            tier=r.tier,
            min_annual_energy_mwh=r.min_annual_energy_mwh,
            min_capacity_kva=r.min_capacity_kva,
            importance_classes=tuple(r.importance_classes or ()),
        )
        for r in TierRule.objects.all()
    ]


def customer_capacity_kva(customer: Customer) -> Decimal:
    if not customer.pk:
        return Decimal("0")
    total = customer.accounts.exclude(status="closed").aggregate(total=Sum("capacity_kva"))["total"]
    return total or Decimal("0")


def apply_tier(customer: Customer, rules: list[TierThresholds], capacity_kva: Decimal | None = None) -> None:
    """Set ``tier_computed`` from the rules, and ``tier`` too unless a reasoned override holds it.
    Does not save: callers that write in bulk (imports) pass the capacity they already know."""
    if capacity_kva is None:
        capacity_kva = customer_capacity_kva(customer)
    computed = tier_for(
        rules=rules,
        annual_energy_mwh=customer.annual_energy_mwh or Decimal("0"),
        capacity_kva=capacity_kva,
        importance_class=customer.importance_class,
    )
    overridden = bool((customer.tier_override_reason or "").strip())
    customer.tier_computed = computed
    if not overridden:
        customer.tier = computed


@transaction.atomic
def customer_save(*, customer: Customer, rules: list[TierThresholds] | None = None) -> Customer:
    """Validate and save a customer, keeping its search initials and computed tier current.

    A tier differing from the rule's result is kept only with an override reason; clearing the
    reason returns the customer to the computed tier.
    """
    customer.credit_code = (customer.credit_code or "").strip().upper()
    customer.name = (customer.name or "").strip()
    customer.name_initials = pinyin_initials(customer.name)
    apply_tier(customer, tier_thresholds() if rules is None else rules)
    if customer.tier == customer.tier_computed:
        # An override that agrees with the rule is no override.
        customer.tier_override_reason = ""
    customer.full_clean()
    # A new customer has no portal scopes yet; a saved one may have left a group.
    before = Customer.objects.filter(pk=customer.pk).values_list("parent_id", flat=True) if customer.pk else []
    moved = bool(before) and before[0] != customer.parent_id
    with transaction.atomic():
        customer.save()
        if moved:
            # Portal users keep no scope over a subsidiary that left their group.
            from gridkam.users.services import portal_scopes_prune

            portal_scopes_prune(customer_id=customer.pk)
    return customer


@transaction.atomic
def customer_override_tier(*, customer: Customer, tier: str, reason: str) -> Customer:
    if tier not in Tier.values:
        raise ValidationError({"tier": [_("Unknown tier.")]})
    if tier != customer.tier_computed and not reason.strip():
        raise ValidationError({"tier_override_reason": [_("A manual tier needs a reason.")]})
    customer.tier = tier
    customer.tier_override_reason = reason.strip() if tier != customer.tier_computed else ""
    return customer_save(customer=customer)


@transaction.atomic
def customers_recompute_tiers(*, customers: Iterable[Customer] | None = None) -> int:
    """Re-apply the tier rules (after they change, or after consumption is updated). Returns changes."""
    rules = tier_thresholds()
    qs = Customer.objects.all() if customers is None else customers
    capacity = dict(
        ElectricityAccount.objects.exclude(status="closed")
        .values("customer_id")
        .annotate(total=Sum("capacity_kva"))
        .values_list("customer_id", "total")
    )
    changed = []
    for customer in qs:
        before = (customer.tier, customer.tier_computed)
        apply_tier(customer, rules, capacity.get(customer.pk, Decimal("0")))
        if (customer.tier, customer.tier_computed) != before:
            changed.append(customer)
    Customer.objects.bulk_update(changed, ["tier", "tier_computed"], batch_size=1000)
    return len(changed)


def customer_supply_gaps(customer: Customer, accounts: Iterable[ElectricityAccount] | None = None):
    accounts = customer.accounts.all() if accounts is None else accounts
    return supply_gaps(
        importance_class=customer.importance_class,
        supply_modes=[(a.supply_mode, a.status) for a in accounts],
        security_load_kw=customer.security_load_kw,
        emergency_power_kw=customer.emergency_power_kw,
        min_emergency_ratio=Decimal(str(settings.GRIDKAM["EMERGENCY_POWER_MIN_RATIO"])),
    )


@transaction.atomic
def account_save(*, account: ElectricityAccount) -> ElectricityAccount:
    account.full_clean()
    account.save()
    # Capacity feeds the tier rule.
    customer_save(customer=Customer.objects.select_for_update().get(pk=account.customer_id))
    return account


@transaction.atomic
def metering_point_save(*, point: MeteringPoint) -> MeteringPoint:
    if point.ct_ratio and point.pt_ratio and point.multiplier is None:
        # Ratios carry two decimals, so the bare product carries four; the multiplier keeps two.
        point.multiplier = (point.ct_ratio * point.pt_ratio).quantize(Decimal("0.01"))
    point.full_clean()
    point.save()
    return point


@transaction.atomic
def contact_save(*, contact: Contact) -> Contact:
    if contact.is_primary and contact.customer_id:
        # Making someone primary demotes the previous primary of the same role (rolled back with the
        # transaction if the contact turns out to be invalid).
        previous = Contact.objects.filter(customer_id=contact.customer_id, role=contact.role, is_primary=True)
        for other in previous.exclude(pk=contact.pk):
            other.is_primary = False
            other.save(update_fields=["is_primary"])
    contact.full_clean()
    contact.save()
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact) -> None:
    contact.delete()


@transaction.atomic
def assignment_set(
    *, customer: Customer, role: str, user, reason: str = "", start_date: dt.date | None = None
) -> AccountAssignment | None:
    """Make ``user`` the customer's current holder of ``role``, ending the previous holder's term.

    Passing ``user=None`` ends the current assignment without a successor.
    """
    start_date = start_date or timezone.localdate()
    current = AccountAssignment.objects.select_for_update().filter(customer=customer, role=role, end_date__isnull=True)
    previous = current.first()
    if previous and user is not None and previous.user_id == user.pk:
        return previous
    if user is not None and (user.is_customer_user or not user.is_active):
        raise ValidationError({"user": [_("Only active staff can serve a customer.")]})
    if previous:
        if start_date < previous.start_date:
            raise ValidationError({"start_date": [_("The new term cannot start before the current one.")]})
        previous.end_date = start_date
        previous.reason = previous.reason or reason
        previous.save(update_fields=["end_date", "reason"])
    if user is None:
        return None
    assignment = AccountAssignment(customer=customer, role=role, user=user, start_date=start_date, reason=reason)
    assignment.full_clean(validate_constraints=False)
    assignment.save()
    return assignment


@transaction.atomic
def portfolio_reassign(*, customers: Iterable[Customer], role: str, user, reason: str) -> int:
    """Move a set of customers to another holder of ``role`` in one step, with the reason kept."""
    if not reason.strip():
        raise ValidationError({"reason": [_("Give a reason for the reassignment.")]})
    moved = 0
    for customer in customers:
        before = AccountAssignment.objects.filter(customer=customer, role=role, end_date__isnull=True).first()
        result = assignment_set(customer=customer, role=role, user=user, reason=reason.strip())
        if before is None or result is None or result.pk != before.pk:
            moved += 1
    return moved


@transaction.atomic
def customer_delete(*, customer: Customer) -> None:
    """Remove a customer entered by mistake, with what it owns (accounts, metering points, contacts,
    team assignments, portal users). Its subsidiaries stay, without a group parent; the change
    history keeps a record of every deleted row. Refused (``ValidationError``, nothing deleted) when
    records that must be kept hold on to its accounts: bills, payments, dunning cases."""
    try:
        with transaction.atomic():
            customer.delete()
    except ProtectedError:
        raise ValidationError(
            _("The customer's accounts have bills, payments or dunning records, which are kept: it cannot be deleted.")
        ) from None


@transaction.atomic
def tier_rule_save(*, rule: TierRule) -> TierRule:
    """Save one edited tier rule (the API edits them one at a time), checked against the other rules
    as on the tier rules page, and re-apply the rules to every customer in the same transaction."""
    tier_rules_save(rules=[rule, *TierRule.objects.exclude(pk=rule.pk)])
    return rule


@transaction.atomic
def tier_rules_save(*, rules: Iterable[TierRule]) -> int:
    """Save the edited tier rules of the tier rules page together, then re-apply them once.

    Returns how many customers changed tier. A higher tier's threshold below a lower tier's makes
    the lower threshold unreachable (rules are tried from the highest tier down), so that is refused.
    """
    rules = sorted(rules, key=lambda r: TIER_RANK[r.tier])
    for rule in rules:
        rule.importance_classes = list(dict.fromkeys(rule.importance_classes or []))
        rule.full_clean()
    errors = []
    for field in ("min_annual_energy_mwh", "min_capacity_kva"):
        for higher, lower in zip(rules, rules[1:], strict=False):
            high, low = getattr(higher, field), getattr(lower, field)
            if high is not None and low is not None and high < low:
                errors.append(
                    _("%(field)s: %(higher)s (%(high)s) is below %(lower)s (%(low)s).")
                    % {
                        "field": TierRule._meta.get_field(field).verbose_name,
                        "higher": higher.get_tier_display(),
                        "high": high,
                        "lower": lower.get_tier_display(),
                        "low": low,
                    }
                )
    if errors:
        raise ValidationError(errors)
    for rule in rules:
        rule.save()
    return customers_recompute_tiers()
