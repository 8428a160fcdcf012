"""Personalised annual service plans (个性化年度服务计划): tier templates, generation, tailoring, and their reads.

- Templates: one per customer tier (``DEFAULT_TEMPLATES``; ``plan_templates_load`` writes them, idempotently),
  edited by supervisors and administrators; their history is kept by simple_history.
- Generation: a customer's plan for a year copies its tier's template items; each item with ``n`` occurrences a
  year (``FREQUENCY_PER_YEAR``) splits the year into ``n`` equal spans of months, occurrence ``k`` opening on the
  first day of span ``k`` and due on its last day. A plan generated mid-year only gets the occurrences still due
  (due date on or after today): nobody can deliver January's visit in November. Each item is owned by the
  customer's current account-team member of the item's role (the manager when that place is empty).
- Tailoring: items added, frequencies changed, owners changed, items removed; each with a reason, recorded as a
  ``PlanChange``. Occurrences already done (or linked to a visit) are never touched.

The occurrence keeps copies of its item's owner, customer and activity so that "my work" and plan-against-actual
read one table; only the functions here write occurrences, and they keep the copies equal.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from gridkam.customers.choices import AccountStatus, AssignmentRole, Tier
from gridkam.customers.models import AccountAssignment, Customer, ElectricityAccount
from gridkam.servicedesk.permissions import is_staff_user, sees_customer
from gridkam.users.permissions import is_active_user, manages_portfolios

from .choices import FREQUENCY_PER_YEAR, Activity, Frequency, OccurrenceStatus, PlanChangeKind
from .models import (
    PlanChange,
    PlanItem,
    PlanItemOrigin,
    PlanOccurrence,
    PlanTemplate,
    PlanTemplateItem,
    ServicePlan,
)

A, F, R = Activity, Frequency, AssignmentRole
MANAGER, ENGINEER = R.MANAGER, R.FIELD_ENGINEER
CHUNK = 500

# Tier → (activity, frequency, owner role). Special-tier accounts get the full programme; lower tiers fewer and
# rarer activities. Safety inspections, power-quality checks and the electricians' training are field work.
DEFAULT_TEMPLATES: dict[str, list[tuple[str, str, str]]] = {
    Tier.SPECIAL: [
        (A.VISIT, F.MONTHLY, MANAGER),
        (A.SAFETY_INSPECTION, F.QUARTERLY, ENGINEER),
        (A.POWER_QUALITY, F.SEMIANNUAL, ENGINEER),
        (A.ENERGY_DIAGNOSIS, F.ANNUAL, MANAGER),
        (A.TARIFF_REVIEW, F.ANNUAL, MANAGER),
        (A.TRAINING, F.ANNUAL, ENGINEER),
    ],
    Tier.FIRST: [
        (A.VISIT, F.QUARTERLY, MANAGER),
        (A.SAFETY_INSPECTION, F.QUARTERLY, ENGINEER),
        (A.POWER_QUALITY, F.SEMIANNUAL, ENGINEER),
        (A.ENERGY_DIAGNOSIS, F.ANNUAL, MANAGER),
        (A.TARIFF_REVIEW, F.ANNUAL, MANAGER),
        (A.TRAINING, F.ANNUAL, ENGINEER),
    ],
    Tier.SECOND: [
        (A.VISIT, F.QUARTERLY, MANAGER),
        (A.SAFETY_INSPECTION, F.SEMIANNUAL, ENGINEER),
        (A.POWER_QUALITY, F.ANNUAL, ENGINEER),
        (A.TARIFF_REVIEW, F.ANNUAL, MANAGER),
        (A.TRAINING, F.ANNUAL, ENGINEER),
    ],
    Tier.THIRD: [
        (A.VISIT, F.SEMIANNUAL, MANAGER),
        (A.SAFETY_INSPECTION, F.ANNUAL, ENGINEER),
        (A.TARIFF_REVIEW, F.ANNUAL, MANAGER),
    ],
}

TEMPLATE_NAMES = {
    Tier.SPECIAL: "特级大客户年度服务计划",
    Tier.FIRST: "一级大客户年度服务计划",
    Tier.SECOND: "二级大客户年度服务计划",
    Tier.THIRD: "三级大客户年度服务计划",
}


# --- who may do what ----------------------------------------------------------------------------------------------


def _supervises(user, customer: Customer) -> bool:
    return bool(user.is_supervisor and user.org_unit_id and customer.org_unit.path.startswith(user.org_unit.path))


def can_tailor(user, customer: Customer) -> bool:
    """Tailor the customer's plan and record its visits: its current account team, supervisors of its unit (or
    above) and administrators. Others who see the customer read only (mirrors servicedesk ``can_act``)."""
    if not is_staff_user(user):
        return False
    if user.is_administrator or _supervises(user, customer):
        return True
    return AccountAssignment.objects.filter(customer_id=customer.pk, end_date__isnull=True, user=user).exists()


def can_edit_templates(user) -> bool:
    """The tier templates serve the whole province: administrators and supervisors of the top unit edit them."""
    if not is_active_user(user):
        return False
    if user.is_administrator:
        return True
    return bool(user.is_supervisor and user.org_unit_id and user.org_unit.parent_id is None)


can_generate_all = manages_portfolios


# --- templates ----------------------------------------------------------------------------------------------------


def _set_history_user(obj, user) -> None:
    if user is not None:
        obj._history_user = user


@transaction.atomic
def plan_templates_load(*, reset: bool = False, user=None) -> dict[str, int]:
    """Create the default template of every tier. Idempotent: templates that exist (maybe edited) are left alone,
    unless ``reset``, which puts every template back to its defaults (items not in the defaults removed).
    Returns ``{"created", "reset", "unchanged"}`` counted in templates."""
    counts = {"created": 0, "reset": 0, "unchanged": 0}
    existing = {t.tier: t for t in PlanTemplate.objects.prefetch_related("items")}
    for tier, rows in DEFAULT_TEMPLATES.items():
        template = existing.get(tier)
        if template is None:
            template = PlanTemplate(tier=tier, name=TEMPLATE_NAMES[tier], updated_by=user)
            _set_history_user(template, user)
            template.save()
            for activity, frequency, role in rows:
                item = PlanTemplateItem(template=template, activity=activity, frequency=frequency, owner_role=role)
                _set_history_user(item, user)
                item.save()
            counts["created"] += 1
            continue
        if not reset:
            counts["unchanged"] += 1
            continue
        wanted = {activity: (frequency, role) for activity, frequency, role in rows}
        changed = template.name != TEMPLATE_NAMES[tier]
        for item in list(template.items.all()):
            if item.activity not in wanted:
                _set_history_user(item, user)
                item.delete()
                changed = True
                continue
            frequency, role = wanted.pop(item.activity)
            if (item.frequency, item.owner_role, item.description) != (frequency, role, ""):
                item.frequency, item.owner_role, item.description = frequency, role, ""
                _set_history_user(item, user)
                item.save()
                changed = True
        for activity, (frequency, role) in wanted.items():
            item = PlanTemplateItem(template=template, activity=activity, frequency=frequency, owner_role=role)
            _set_history_user(item, user)
            item.save()
            changed = True
        if changed:
            template.name = TEMPLATE_NAMES[tier]
            template.updated_by = user
            _set_history_user(template, user)
            template.save()
            counts["reset"] += 1
        else:
            counts["unchanged"] += 1
    return counts


def _template_touch(template: PlanTemplate, user) -> None:
    template.updated_by = user
    _set_history_user(template, user)
    template.save(update_fields=["updated_by", "updated_at"])


def _require_template_editor(user) -> None:
    if not can_edit_templates(user):
        raise PermissionError(_("Only supervisors and administrators may change plan templates."))


def _choice_errors(*, activity=None, frequency=None, owner_role=None) -> dict:
    errors = {}
    if activity is not None and activity not in Activity.values:
        errors["activity"] = _("Choose an activity.")
    if frequency is not None and frequency not in Frequency.values:
        errors["frequency"] = _("Choose a frequency.")
    if owner_role is not None and owner_role not in (MANAGER, ENGINEER):
        errors["owner_role"] = _("Choose the account manager or the field engineer.")
    return errors


@transaction.atomic
def plan_template_item_update(
    *, item: PlanTemplateItem, user, frequency: str | None = None, owner_role: str | None = None, description=None
) -> PlanTemplateItem:
    """Change a template item (plans generated from now on use it; plans already generated keep theirs)."""
    _require_template_editor(user)
    errors = _choice_errors(frequency=frequency, owner_role=owner_role)
    if description is not None and len(description) > 300:
        errors["description"] = _("At most 300 characters.")
    if errors:
        raise ValidationError(errors)
    if frequency is not None:
        item.frequency = frequency
    if owner_role is not None:
        item.owner_role = owner_role
    if description is not None:
        item.description = description.strip()
    _set_history_user(item, user)
    item.save()
    _template_touch(item.template, user)
    return item


@transaction.atomic
def plan_template_item_add(
    *, template: PlanTemplate, activity: str, frequency: str, owner_role: str, description: str = "", user
) -> PlanTemplateItem:
    _require_template_editor(user)
    errors = _choice_errors(activity=activity, frequency=frequency, owner_role=owner_role)
    if not errors and template.items.filter(activity=activity).exists():
        errors["activity"] = _("The template already has this activity.")
    if errors:
        raise ValidationError(errors)
    item = PlanTemplateItem(
        template=template,
        activity=activity,
        frequency=frequency,
        owner_role=owner_role,
        description=(description or "").strip()[:300],
    )
    _set_history_user(item, user)
    item.save()
    _template_touch(template, user)
    return item


@transaction.atomic
def plan_template_item_remove(*, item: PlanTemplateItem, user) -> None:
    _require_template_editor(user)
    template = item.template
    _set_history_user(item, user)
    item.delete()
    _template_touch(template, user)


# --- occurrence windows -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    seq: int
    starts_on: dt.date
    due_date: dt.date


def occurrence_windows(year: int, frequency: str) -> list[Window]:
    """The year split into ``FREQUENCY_PER_YEAR[frequency]`` equal spans of months: quarterly gives Jan–Mar (due
    31 March), Apr–Jun, Jul–Sep, Oct–Dec."""
    n = FREQUENCY_PER_YEAR[Frequency(frequency)]
    span = 12 // n
    windows = []
    for k in range(n):
        first_month = k * span + 1
        last_month = first_month + span - 1
        last_day = calendar.monthrange(year, last_month)[1]
        windows.append(Window(k + 1, dt.date(year, first_month, 1), dt.date(year, last_month, last_day)))
    return windows


def _occurrences_for(item: PlanItem, year: int, today: dt.date, skip=()) -> list[PlanOccurrence]:
    """The item's occurrences still due (due date on or after ``today``), as unsaved rows; windows holding one of
    the ``skip`` due dates (occurrences already done) are left out."""
    rows = []
    for window in occurrence_windows(year, item.frequency):
        if window.due_date < today:
            continue
        if any(window.starts_on <= kept <= window.due_date for kept in skip):
            continue
        rows.append(
            PlanOccurrence(
                item=item,
                owner_id=item.owner_id,
                customer_id=item.plan.customer_id,
                activity=item.activity,
                seq=window.seq,
                starts_on=window.starts_on,
                due_date=window.due_date,
            )
        )
    return rows


# --- generation ---------------------------------------------------------------------------------------------------


def _year_errors(year, today: dt.date) -> dict:
    # Only windows still open are planned, so a past year's plan would be empty (and would block a real one).
    if not isinstance(year, int) or not (today.year <= year <= today.year + 1):
        return {"year": _("Plans are generated for this year or next year.")}
    return {}


def _teams(customer_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """{customer id: {assignment role: user id}} of the current account teams, in one query."""
    teams: dict[int, dict[str, int]] = {}
    rows = AccountAssignment.objects.filter(
        customer_id__in=list(customer_ids), end_date__isnull=True, user__is_active=True
    ).values_list("customer_id", "role", "user_id")
    for customer_id, role, user_id in rows:
        teams.setdefault(customer_id, {})[role] = user_id
    return teams


def _templates() -> dict[str, PlanTemplate]:
    return {t.tier: t for t in PlanTemplate.objects.prefetch_related("items")}


def _generate_chunk(customers: list[Customer], *, year: int, user, today: dt.date, templates) -> dict[str, int]:
    """Plans for customers known to have none for the year and a template for their tier: four bulk inserts."""
    teams = _teams(c.pk for c in customers)
    plans = [
        ServicePlan(customer=c, year=year, tier=c.tier, template=templates[c.tier], created_by=user) for c in customers
    ]
    ServicePlan.objects.bulk_create(plans)
    items: list[PlanItem] = []
    for plan in plans:
        team = teams.get(plan.customer_id, {})
        for t in plan.template.items.all():
            items.append(
                PlanItem(
                    plan=plan,
                    activity=t.activity,
                    frequency=t.frequency,
                    owner_id=team.get(t.owner_role) or team.get(MANAGER),
                    description=t.description,
                    origin=PlanItemOrigin.TEMPLATE,
                )
            )
    PlanItem.objects.bulk_create(items)
    occurrences = [o for item in items for o in _occurrences_for(item, year, today)]
    PlanOccurrence.objects.bulk_create(occurrences, batch_size=2000)
    PlanChange.objects.bulk_create(
        [
            PlanChange(
                plan=plan,
                kind=PlanChangeKind.GENERATED,
                after=f"{plan.template.name} ({plan.get_tier_display()})"[:200],
                user=user,
            )
            for plan in plans
        ]
    )
    return {"items": len(items), "occurrences": len(occurrences)}


def active_customers() -> QuerySet[Customer]:
    """Key accounts with at least one account in use (not closed): the customers that get a plan."""
    open_accounts = ElectricityAccount.objects.filter(customer=OuterRef("pk")).exclude(status=AccountStatus.CLOSED)
    return Customer.objects.filter(Exists(open_accounts))


def plans_generate(
    *,
    year: int,
    user=None,
    customers: Iterable[Customer] | QuerySet[Customer] | None = None,
    today: dt.date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Generate the year's plan of every active key account the user sees (``user`` None: a command, all of them),
    or of the given customers; customers already planned for the year are skipped, and so are those whose tier
    has no template. Each chunk of customers is one transaction. Returns the counts."""
    today = today or timezone.localdate()
    if user is not None and not can_generate_all(user):
        raise PermissionError(_("Only supervisors and administrators generate plans in bulk."))
    if errors := _year_errors(year, today):
        raise ValidationError(errors)
    scope = active_customers()
    if user is not None:
        scope = scope.filter(pk__in=Customer.objects.visible_to(user).values("pk"))
    if customers is not None:
        ids = [c.pk for c in customers] if not isinstance(customers, QuerySet) else customers.values("pk")
        scope = scope.filter(pk__in=ids)
    ids = list(scope.order_by("pk").values_list("pk", flat=True))
    planned = set(ServicePlan.objects.filter(year=year, customer_id__in=ids).values_list("customer_id", flat=True))
    templates = _templates()
    counts = {"year": year, "created": 0, "skipped": len(planned), "no_template": 0, "items": 0, "occurrences": 0}
    todo = [pk for pk in ids if pk not in planned]
    total = len(todo)
    for start in range(0, total, CHUNK):
        chunk = list(Customer.objects.filter(pk__in=todo[start : start + CHUNK]).order_by("pk"))
        with_template = [c for c in chunk if c.tier in templates]
        counts["no_template"] += len(chunk) - len(with_template)
        try:
            with transaction.atomic():
                made = _generate_chunk(with_template, year=year, user=user, today=today, templates=templates)
        except IntegrityError:
            # Someone generated some of these meanwhile: skip those and try the rest once more.
            taken = set(
                ServicePlan.objects.filter(year=year, customer__in=with_template).values_list("customer_id", flat=True)
            )
            counts["skipped"] += len(taken)
            with_template = [c for c in with_template if c.pk not in taken]
            with transaction.atomic():
                made = _generate_chunk(with_template, year=year, user=user, today=today, templates=templates)
        counts["created"] += len(with_template)
        counts["items"] += made["items"]
        counts["occurrences"] += made["occurrences"]
        if progress is not None:
            progress(min(start + CHUNK, total), total)
    counts["skipped"] += counts["no_template"]
    return counts


@transaction.atomic
def plan_generate(*, customer: Customer, year: int, user, today: dt.date | None = None) -> ServicePlan:
    """Generate one customer's plan for the year from its tier's template (the account team, supervisors and
    administrators; ``user`` None: a command)."""
    today = today or timezone.localdate()
    if user is not None and not can_tailor(user, customer):
        raise PermissionError(_("You may not plan this customer's service."))
    errors = _year_errors(year, today)
    if not errors and ServicePlan.objects.filter(customer=customer, year=year).exists():
        errors["year"] = _("The customer already has a plan for this year.")
    templates = _templates()
    if not errors and customer.tier not in templates:
        errors["customer"] = _("There is no plan template for the customer's tier yet (load_plan_templates).")
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            _generate_chunk([customer], year=year, user=user, today=today, templates=templates)
    except IntegrityError:  # generated by someone else meanwhile
        raise ValidationError({"year": _("The customer already has a plan for this year.")}) from None
    return ServicePlan.objects.get(customer=customer, year=year)


# --- tailoring ----------------------------------------------------------------------------------------------------


def _require_tailor(user, plan: ServicePlan) -> None:
    if not can_tailor(user, plan.customer):
        raise PermissionError(_("You may not change this customer's plan."))


def _year_over(plan: ServicePlan, today: dt.date, errors: dict) -> None:
    """A plan whose year has ended is the record of that year: it is not tailored any more."""
    if plan.year < today.year:
        errors["plan"] = _("This plan's year is over.")


def _reason(reason: str | None, errors: dict) -> str:
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = _("Say why the plan is changed.")
    elif len(reason) > 500:
        errors["reason"] = _("At most 500 characters.")
    return reason


def _owner_errors(owner, customer: Customer, errors: dict) -> None:
    if owner is not None and not (is_staff_user(owner) and sees_customer(owner, customer)):
        errors["owner"] = _("Choose a staff member who serves this customer.")


def _label(item: PlanItem, frequency: str | None = None) -> str:
    frequency = frequency or item.frequency
    return f"{Activity(item.activity).label} · {Frequency(frequency).label}"[:200]


def _change(plan, item, kind, *, user, reason, before="", after="") -> PlanChange:
    return PlanChange.objects.create(
        plan=plan, item=item, kind=kind, before=str(before)[:200], after=str(after)[:200], reason=reason, user=user
    )


def _future_planned(item: PlanItem, today: dt.date) -> QuerySet[PlanOccurrence]:
    """Occurrences a tailoring step may replace: still planned, not yet due, not delivered by a visit."""
    return item.occurrences.filter(status=OccurrenceStatus.PLANNED, due_date__gte=today, visit__isnull=True)


@transaction.atomic
def plan_item_add(
    *,
    plan: ServicePlan,
    activity: str,
    frequency: str,
    owner=None,
    description: str = "",
    reason: str,
    user,
    today: dt.date | None = None,
) -> PlanItem:
    """Add an activity to the customer's plan; its occurrences run from today to the end of the plan's year."""
    today = today or timezone.localdate()
    _require_tailor(user, plan)
    errors = _choice_errors(activity=activity, frequency=frequency)
    reason = _reason(reason, errors)
    _owner_errors(owner, plan.customer, errors)
    if len(description or "") > 300:
        errors["description"] = _("At most 300 characters.")
    if (
        "activity" not in errors
        and activity != Activity.OTHER
        and plan.items.filter(activity=activity, active=True).exists()
    ):
        errors["activity"] = _("The plan already has this activity: change its frequency instead.")
    _year_over(plan, today, errors)
    if errors:
        raise ValidationError(errors)
    item = PlanItem.objects.create(
        plan=plan,
        activity=activity,
        frequency=frequency,
        owner=owner,
        description=(description or "").strip(),
        origin=PlanItemOrigin.ADDED,
    )
    PlanOccurrence.objects.bulk_create(_occurrences_for(item, plan.year, today))
    after = _label(item) + (f" · {owner}" if owner else "")
    _change(plan, item, PlanChangeKind.ADDED, user=user, reason=reason, after=after)
    return item


@transaction.atomic
def plan_item_frequency(*, item: PlanItem, frequency: str, reason: str, user, today: dt.date | None = None) -> PlanItem:
    """Change how often an item falls due: its future planned occurrences are replaced by the new frequency's
    windows still due (a window holding an occurrence already done is not planned again); done ones stay, and so
    do overdue ones (still owed)."""
    today = today or timezone.localdate()
    plan = item.plan
    _require_tailor(user, plan)
    errors = _choice_errors(frequency=frequency)
    _year_over(plan, today, errors)
    reason = _reason(reason, errors)
    if not errors and frequency == item.frequency:
        errors["frequency"] = _("The item already has this frequency.")
    if not item.active:
        errors["item"] = _("The item was removed from the plan.")
    if errors:
        raise ValidationError(errors)
    before = _label(item)
    _future_planned(item, today).delete()
    # A new window already holding a delivered occurrence is not planned again (overdue ones stay owed as they are).
    kept = list(item.occurrences.filter(status=OccurrenceStatus.DONE).values_list("due_date", flat=True))
    item.frequency = frequency
    item.save(update_fields=["frequency"])
    PlanOccurrence.objects.bulk_create(_occurrences_for(item, plan.year, today, skip=kept))
    _change(plan, item, PlanChangeKind.FREQUENCY, user=user, reason=reason, before=before, after=_label(item))
    return item


@transaction.atomic
def plan_item_owner(*, item: PlanItem, owner, reason: str, user, today: dt.date | None = None) -> PlanItem:
    """Give an item (and its occurrences still planned) to another member of staff who serves the customer."""
    plan = item.plan
    _require_tailor(user, plan)
    errors: dict = {}
    _year_over(plan, today or timezone.localdate(), errors)
    reason = _reason(reason, errors)
    if owner is None:
        errors["owner"] = _("Choose the new owner.")
    else:
        _owner_errors(owner, plan.customer, errors)
        if "owner" not in errors and owner.pk == item.owner_id:
            errors["owner"] = _("The item is already theirs.")
    if not item.active:
        errors["item"] = _("The item was removed from the plan.")
    if errors:
        raise ValidationError(errors)
    before = str(item.owner) if item.owner_id else "—"
    item.owner = owner
    item.save(update_fields=["owner"])
    item.occurrences.filter(status=OccurrenceStatus.PLANNED).update(owner=owner)
    _change(
        plan, item, PlanChangeKind.OWNER, user=user, reason=reason, before=f"{_label(item)} · {before}", after=owner
    )
    return item


@transaction.atomic
def plan_item_remove(*, item: PlanItem, reason: str, user, today: dt.date | None = None) -> PlanItem:
    """Take an item out of the plan: it stays (inactive) for the record, its future planned occurrences are
    cancelled; what was done stays done."""
    today = today or timezone.localdate()
    plan = item.plan
    _require_tailor(user, plan)
    errors: dict = {}
    _year_over(plan, today, errors)
    reason = _reason(reason, errors)
    if not item.active:
        errors["item"] = _("The item was removed from the plan already.")
    if errors:
        raise ValidationError(errors)
    item.active = False
    item.save(update_fields=["active"])
    _future_planned(item, today).update(status=OccurrenceStatus.CANCELLED)
    _change(plan, item, PlanChangeKind.REMOVED, user=user, reason=reason, before=_label(item))
    return item


# --- reads --------------------------------------------------------------------------------------------------------


def occurrences_visible(user) -> QuerySet[PlanOccurrence]:
    """Occurrences of the customers the user sees (on the denormalised customer: no join through the plan)."""
    return PlanOccurrence.objects.filter(customer__in=Customer.objects.visible_to(user).values("pk"))


def plan_counts(plans: QuerySet[ServicePlan], today: dt.date) -> QuerySet[ServicePlan]:
    """Each plan with ``n_due`` (occurrences not cancelled), ``n_done``, ``n_overdue`` and ``n_upcoming``."""
    occ = "items__occurrences"
    planned = Q(**{f"{occ}__status": OccurrenceStatus.PLANNED})
    return plans.annotate(
        n_due=Count(occ, filter=~Q(**{f"{occ}__status": OccurrenceStatus.CANCELLED})),
        n_done=Count(occ, filter=Q(**{f"{occ}__status": OccurrenceStatus.DONE})),
        n_overdue=Count(occ, filter=planned & Q(**{f"{occ}__due_date__lt": today})),
        n_upcoming=Count(occ, filter=planned & Q(**{f"{occ}__due_date__gte": today})),
    )


def manager_name_subquery():
    current = AccountAssignment.objects.filter(customer=OuterRef("customer_id"), role=MANAGER, end_date__isnull=True)
    return Subquery(current.values("user__display_name")[:1])


def plans_visible(user, today: dt.date | None = None) -> QuerySet[ServicePlan]:
    """The plans the user sees with their counts and what a list row shows (no query per row)."""
    today = today or timezone.localdate()
    plans = ServicePlan.objects.visible_to(user).select_related("customer__org_unit")
    return plan_counts(plans, today).annotate(manager_name=manager_name_subquery())


def plan_get(*, user, pk) -> ServicePlan:
    return (
        ServicePlan.objects.visible_to(user).select_related("customer__org_unit", "template", "created_by").get(pk=pk)
    )


def plan_items(plan: ServicePlan) -> list[PlanItem]:
    """The plan's items (active first) with their occurrences (two queries)."""
    from django.db.models import Prefetch

    occurrences = PlanOccurrence.objects.order_by("due_date", "pk").select_related("visit")
    return list(
        plan.items.select_related("owner")
        .prefetch_related(Prefetch("occurrences", queryset=occurrences))
        .order_by("-active", "activity", "pk")
    )


def plan_changes(plan: ServicePlan) -> list[PlanChange]:
    return list(plan.changes.select_related("user", "item").order_by("-at", "-pk"))


@dataclass(frozen=True)
class CustomerPlanSummary:
    plan_id: int | None
    year: int
    due: int
    done: int
    overdue: int


def customer_plan_summary(*, customer: Customer, year: int, today: dt.date) -> CustomerPlanSummary:
    """This year's plan of the customer in numbers, for the customer 360 card (one query)."""
    row = (
        plan_counts(ServicePlan.objects.filter(customer=customer, year=year), today)
        .values("pk", "n_due", "n_done", "n_overdue")
        .first()
    )
    if row is None:
        return CustomerPlanSummary(None, year, 0, 0, 0)
    return CustomerPlanSummary(row["pk"], year, row["n_due"], row["n_done"], row["n_overdue"])


def occurrence_state(occurrence: PlanOccurrence, today: dt.date) -> str:
    """done, overdue, open (window open now), upcoming or cancelled: the colour of the year grid."""
    if occurrence.status == OccurrenceStatus.DONE:
        return "done"
    if occurrence.status == OccurrenceStatus.CANCELLED:
        return "cancelled"
    if occurrence.due_date < today:
        return "overdue"
    if occurrence.starts_on <= today:
        return "open"
    return "upcoming"
