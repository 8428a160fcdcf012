"""Forms and filters of the plan and visit pages; the FilterSets serve the API lists too. The services validate
again (and the API calls them directly)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridkam.core.ids import id_from
from gridkam.core.models import OrgUnit
from gridkam.customers.choices import AssignmentRole, Tier
from gridkam.customers.forms import BootstrapFormMixin
from gridkam.customers.models import Customer, ElectricityAccount
from gridkam.servicedesk.choices import Priority, RequestType
from gridkam.users.models import User

from .choices import Activity, FollowUpKind, Frequency, OccurrenceStatus
from .models import PlanItem, PlanOccurrence, ServicePlan, Visit


def staff_of(customer: Customer | None, user):
    """Staff the user sees (for owner, participant and assignee choices); the services check that they serve the
    customer."""
    return User.objects.visible_to(user).filter(customer__isnull=True, is_active=True).order_by("username")


def _scoped_users(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return User.objects.none()
    return staff_of(None, user)


def _scoped_units(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return OrgUnit.objects.none()
    return OrgUnit.objects.visible_to(user)


def _scoped_customers(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return Customer.objects.none()
    return Customer.objects.visible_to(user)


# --- filters ------------------------------------------------------------------------------------------------------


class PlanFilterSet(django_filters.FilterSet):
    year = django_filters.NumberFilter(field_name="year", label=_("Year"), min_value=2000, max_value=2100)
    q = django_filters.CharFilter(method="filter_q", label=_("Customer"), max_length=100)
    org_unit = django_filters.ModelChoiceFilter(
        queryset=_scoped_units, method="filter_unit", label=_("Org unit"), help_text=_("The unit and those below it.")
    )
    tier = django_filters.ChoiceFilter(field_name="tier", choices=Tier.choices, label=_("Tier"))
    owner = django_filters.ModelChoiceFilter(
        queryset=_scoped_users, method="filter_owner", label=_("Owner"), help_text=_("Plans with an item of theirs.")
    )
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_("Overdue only"))
    customer = django_filters.NumberFilter(field_name="customer_id", label=_("Customer"), min_value=1)

    class Meta:
        model = ServicePlan
        fields = ["year", "q", "org_unit", "tier", "owner", "overdue", "customer"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(customer__name__icontains=value) | Q(customer__name_initials__icontains=value))

    def filter_unit(self, queryset, name, value):
        return queryset.filter(customer__org_unit__path__startswith=value.path)

    def filter_owner(self, queryset, name, value):
        return queryset.filter(Exists(PlanItem.objects.filter(plan=OuterRef("pk"), owner=value, active=True)))

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        today = timezone.localdate()
        late = PlanOccurrence.objects.filter(
            item__plan=OuterRef("pk"), status=OccurrenceStatus.PLANNED, due_date__lt=today
        )
        return queryset.filter(Exists(late)) if value else queryset.exclude(Exists(late))


class VisitFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Customer or purpose"), max_length=100)
    customer = django_filters.NumberFilter(field_name="customer_id", label=_("Customer"), min_value=1)
    activity = django_filters.ChoiceFilter(field_name="activity", choices=Activity.choices, label=_("Activity"))
    date_from = django_filters.DateFilter(field_name="visited_on", lookup_expr="gte", label=_("From"))
    date_to = django_filters.DateFilter(field_name="visited_on", lookup_expr="lte", label=_("To"))
    participant = django_filters.ModelChoiceFilter(
        queryset=_scoped_users, method="filter_participant", label=_("Participant")
    )

    class Meta:
        model = Visit
        fields = ["q", "customer", "activity", "date_from", "date_to", "participant"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(customer__name__icontains=value)
            | Q(customer__name_initials__icontains=value)
            | Q(purpose__icontains=value)
        )

    def filter_participant(self, queryset, name, value):
        through = Visit.participants.through
        return queryset.filter(Exists(through.objects.filter(visit_id=OuterRef("pk"), user_id=value.pk)))


class OccurrenceFilterSet(django_filters.FilterSet):
    owner = django_filters.CharFilter(
        method="filter_owner", label=_("Owner"), help_text=_("“mine” or a user id."), max_length=20
    )
    customer = django_filters.NumberFilter(field_name="customer_id", label=_("Customer"), min_value=1)
    status = django_filters.ChoiceFilter(field_name="status", choices=OccurrenceStatus.choices, label=_("Status"))
    activity = django_filters.ChoiceFilter(field_name="activity", choices=Activity.choices, label=_("Activity"))
    due_from = django_filters.DateFilter(field_name="due_date", lookup_expr="gte", label=_("Due from"))
    due_to = django_filters.DateFilter(field_name="due_date", lookup_expr="lte", label=_("Due until"))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_("Overdue"))

    class Meta:
        model = PlanOccurrence
        fields = ["owner", "customer", "status", "activity", "due_from", "due_to", "overdue"]

    def filter_owner(self, queryset, name, value):
        value = value.strip()
        if value == "mine":
            user = getattr(self.request, "user", None)
            return queryset.filter(owner_id=user.pk if user is not None else None)
        if (owner_id := id_from(value)) is not None:
            return queryset.filter(owner_id=owner_id)
        return queryset.none()

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        late = Q(status=OccurrenceStatus.PLANNED, due_date__lt=timezone.localdate())
        return queryset.filter(late) if value else queryset.exclude(late)


# --- forms --------------------------------------------------------------------------------------------------------


class ReasonMixin(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.TextInput())


class ItemAddForm(BootstrapFormMixin, ReasonMixin):
    layout = {"reason": "col-12", "description": "col-12"}

    activity = forms.ChoiceField(choices=Activity.choices, label=_("Activity"))
    frequency = forms.ChoiceField(choices=Frequency.choices, label=_("Frequency"))
    owner = forms.ModelChoiceField(queryset=User.objects.none(), label=_("Owner"), required=False)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = staff_of(None, user)
        self.order_fields(["activity", "frequency", "owner", "description", "reason"])


class ItemChoiceMixin(forms.Form):
    item = forms.ModelChoiceField(queryset=PlanItem.objects.none(), label=_("Plan item"))

    def __init__(self, *args, plan: ServicePlan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = plan.items.filter(active=True).order_by("activity", "pk")


class ItemFrequencyForm(BootstrapFormMixin, ItemChoiceMixin, ReasonMixin):
    layout = {"reason": "col-12"}
    frequency = forms.ChoiceField(choices=Frequency.choices, label=_("New frequency"))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields(["item", "frequency", "reason"])


class ItemOwnerForm(BootstrapFormMixin, ItemChoiceMixin, ReasonMixin):
    layout = {"reason": "col-12"}
    owner = forms.ModelChoiceField(queryset=User.objects.none(), label=_("New owner"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = staff_of(None, user)
        self.order_fields(["item", "owner", "reason"])


class ItemRemoveForm(BootstrapFormMixin, ItemChoiceMixin, ReasonMixin):
    layout = {"reason": "col-12"}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields(["item", "reason"])


class GenerateForm(BootstrapFormMixin, forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)


class TemplateItemForm(BootstrapFormMixin, forms.Form):
    frequency = forms.ChoiceField(choices=Frequency.choices, label=_("Frequency"))
    owner_role = forms.ChoiceField(
        choices=[
            (AssignmentRole.MANAGER, AssignmentRole.MANAGER.label),
            (AssignmentRole.FIELD_ENGINEER, AssignmentRole.FIELD_ENGINEER.label),
        ],
        label=_("Done by"),
    )
    description = forms.CharField(label=_("Description"), max_length=300, required=False)


class TemplateItemAddForm(TemplateItemForm):
    activity = forms.ChoiceField(choices=Activity.choices, label=_("Activity"))


class VisitForm(BootstrapFormMixin, forms.Form):
    layout = {"findings": "col-12", "purpose": "col-12", "customer_participants": "col-12", "participants": "col-12"}

    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), label=_("Customer"))
    activity = forms.ChoiceField(choices=Activity.choices, label=_("Activity"), initial=Activity.VISIT)
    visited_on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    account = forms.ModelChoiceField(queryset=ElectricityAccount.objects.none(), label=_("Account"), required=False)
    occurrence = forms.ModelChoiceField(
        queryset=PlanOccurrence.objects.none(),
        label=_("Plan item delivered"),
        required=False,
        help_text=_("Left empty: the plan item of this activity due now (or the oldest overdue one)."),
    )
    participants = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), label=_("Our participants"), required=False
    )
    customer_participants = forms.CharField(label=_("Customer's participants"), max_length=300, required=False)
    purpose = forms.CharField(label=_("Purpose"), max_length=200, required=False)
    findings = forms.CharField(label=_("Findings"), widget=forms.Textarea(attrs={"rows": 4}), required=False)

    def __init__(self, *args, user, customer: Customer | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        from .visits import open_occurrences

        self.fields["customer"].queryset = Customer.objects.visible_to(user).order_by("name")
        self.fields["participants"].queryset = staff_of(None, user)
        self.fields["visited_on"].initial = timezone.localdate()
        chosen = customer
        if self.is_bound:
            raw = self.data.get("customer", "")
            customer_id = id_from(raw)
            chosen = Customer.objects.visible_to(user).filter(pk=customer_id).first() if customer_id else None
        if chosen is not None:
            self.fields["account"].queryset = ElectricityAccount.objects.filter(customer=chosen).order_by("account_no")
            self.fields["occurrence"].queryset = open_occurrences(chosen).select_related("item")
            self.fields["occurrence"].label_from_instance = lambda o: (
                f"{o.get_activity_display()} #{o.seq} · {o.starts_on:%Y-%m-%d} – {o.due_date:%Y-%m-%d}"
            )


class FollowUpForm(BootstrapFormMixin, forms.Form):
    kind = forms.ChoiceField(choices=[("", "---------"), *FollowUpKind.choices], label=_("Becomes"), required=False)
    description = forms.CharField(label=_("Action"), max_length=300, required=False)
    due_date = forms.DateField(
        label=pgettext_lazy("task", "Due"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), label=_("Assignee"), required=False)
    request_type = forms.ChoiceField(
        choices=[("", "---------"), *RequestType.choices], label=_("Request type"), required=False
    )
    priority = forms.ChoiceField(choices=Priority.choices, label=_("Priority"), initial=Priority.NORMAL, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = staff_of(None, user)

    def clean(self):
        data = super().clean()
        if not data.get("kind") and not (data.get("description") or "").strip():
            return data  # an empty row
        if not data.get("kind"):
            self.add_error("kind", _("Choose a task or a service request."))
        if not (data.get("description") or "").strip():
            self.add_error("description", _("Describe the action."))
        if data.get("kind") == FollowUpKind.REQUEST and not data.get("request_type"):
            self.add_error("request_type", _("Choose the request type."))
        return data

    def as_row(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("kind"):
            return None
        return {
            "kind": data["kind"],
            "description": data["description"],
            "due_date": data.get("due_date"),
            "assignee": data.get("assignee"),
            "request_type": data.get("request_type") or None,
            "priority": data.get("priority") or Priority.NORMAL,
        }


FollowUpFormSet = forms.formset_factory(FollowUpForm, extra=3, max_num=10, validate_max=True)
