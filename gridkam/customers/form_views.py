"""Pages that change key-account master data: create and edit forms, the tier override, the account
team, bulk portfolio reassignment and the tier rules.

Who may do what: objects a user cannot see answer 404; objects they see but may not change answer
403 (``editable_by`` decides). Every save goes through a service; a ValidationError the service
raises is shown on the form's fields, never as a server error.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import IntegrityError
from django.db.models import Model, QuerySet
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import FormView

from gridkam.core.ids import id_from
from gridkam.core.views import RoleRequiredMixin
from gridkam.users.choices import Role
from gridkam.users.permissions import manages_portfolios

from . import selectors, services
from .choices import AssignmentRole, Tier
from .filters import customer_search
from .forms import (
    AccountForm,
    ContactForm,
    CustomerForm,
    MeteringPointForm,
    PortfolioReassignForm,
    TeamChangeForm,
    TierOverrideForm,
    TierRuleForm,
)
from .models import Contact, Customer, ElectricityAccount, MeteringPoint, TierRule, customer_family_ids

# ---------------------------------------------------------------------------------------------
# Who may do what


def object_for_edit(queryset: QuerySet, user, **lookup) -> Model:
    """The object if the user may change it; 403 if they only see it; 404 if they do not see it."""
    obj = queryset.editable_by(user).filter(**lookup).first()
    if obj is not None:
        return obj
    if queryset.visible_to(user).filter(**lookup).exists():
        raise PermissionDenied
    raise Http404


def customer_for_management(user, pk: int) -> Customer:
    """A customer whose team or tier the user may change (404 if hidden, 403 if not theirs to manage)."""
    customer = get_object_or_404(Customer.objects.visible_to(user).select_related("org_unit"), pk=pk)
    if not manages_portfolios(user) or not Customer.objects.editable_by(user).filter(pk=pk).exists():
        raise PermissionDenied
    return customer


def add_service_errors(form: BaseForm, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: on the field it names if the form has one, at the
    top of the form otherwise (constraints spanning fields, fields the form does not show)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


# ---------------------------------------------------------------------------------------------
# Form pages


class ServiceFormView(LoginRequiredMixin, FormView):
    """A form page whose valid form is saved through a service.

    ``load()`` fetches the objects the page is about once the user is known to be logged in, so an
    anonymous visitor is sent to the login page rather than told 404 or 403.
    """

    title = ""
    submit_label = gettext_lazy("Save")
    customer: Customer | None = None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.load(**kwargs)
        return super().dispatch(request, *args, **kwargs)

    def load(self, **kwargs) -> None:
        pass

    def save(self, form) -> Any:
        raise ImproperlyConfigured(f"{type(self).__name__} must define save(form) calling a service.")

    def success_message(self, obj) -> str:
        return _("Saved.")

    def success_url_for(self, obj) -> str:
        return reverse("customers:customer_detail", args=[self.customer.pk])

    def cancel_url(self) -> str:
        if self.customer is not None:
            return reverse("customers:customer_detail", args=[self.customer.pk])
        return reverse("customers:customer_list")

    def get_title(self) -> str:
        return str(self.title)

    def breadcrumbs(self) -> list[tuple[str, str | None]]:
        crumbs: list[tuple[str, str | None]] = [(_("Customers"), reverse("customers:customer_list"))]
        if self.customer is not None and self.customer.pk:
            crumbs.append((self.customer.name, reverse("customers:customer_detail", args=[self.customer.pk])))
        crumbs.append((self.get_title(), None))
        return crumbs

    def form_valid(self, form):
        try:
            obj = self.save(form)
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        except IntegrityError:
            # Two people saving the same natural key at the same moment: the database keeps one.
            form.add_error(None, _("Someone saved a conflicting record at the same moment; check and save again."))
            return self.form_invalid(form)
        messages.success(self.request, self.success_message(obj))
        return redirect(self.success_url_for(obj))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            nav="customers",
            customer=self.customer,
            title=self.get_title(),
            breadcrumbs=self.breadcrumbs(),
            cancel_url=self.cancel_url(),
            submit_label=self.submit_label,
        )
        return context


class CustomerCreateView(ServiceFormView):
    template_name = "customers/customer_form.html"
    form_class = CustomerForm
    title = gettext_lazy("New customer")
    submit_label = gettext_lazy("Create customer")

    def load(self, **kwargs) -> None:
        if not manages_portfolios(self.request.user):
            raise PermissionDenied

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user, "instance": Customer()}

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        _parent_lookup(form, exclude=None)
        return form

    def save(self, form) -> Customer:
        self.customer = services.customer_save(customer=form.instance)
        return self.customer

    def success_message(self, obj) -> str:
        return _("Customer %(name)s created.") % {"name": obj.name}


class CustomerUpdateView(ServiceFormView):
    template_name = "customers/customer_form.html"
    form_class = CustomerForm
    title = gettext_lazy("Edit customer")

    def load(self, *, pk: int) -> None:
        self.customer = object_for_edit(
            Customer.objects.select_related("parent", "org_unit", "industry"), self.request.user, pk=pk
        )

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user, "instance": self.customer}

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        _parent_lookup(form, exclude=self.customer.pk)
        return form

    def save(self, form) -> Customer:
        return services.customer_save(customer=form.instance)

    def success_message(self, obj) -> str:
        return _("Customer %(name)s saved.") % {"name": obj.name}


def _parent_lookup(form: CustomerForm, *, exclude: int | None) -> None:
    """Let the group-parent input search customers by name as the user types (HTMX fills a datalist)."""
    form.fields["parent"].widget.attrs.update(
        {
            "hx-get": reverse("customers:customer_lookup"),
            "hx-trigger": "input changed delay:300ms",
            "hx-target": "#parent-options",
            "hx-vals": json.dumps({"exclude": exclude or ""}),
        }
    )


class AccountCreateView(ServiceFormView):
    template_name = "customers/account_form.html"
    form_class = AccountForm
    title = gettext_lazy("New electricity account")

    def load(self, *, pk: int) -> None:
        self.customer = object_for_edit(Customer.objects, self.request.user, pk=pk)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": ElectricityAccount(customer=self.customer)}

    def save(self, form) -> ElectricityAccount:
        return services.account_save(account=form.instance)

    def success_message(self, obj) -> str:
        return _("Account %(number)s created.") % {"number": obj.account_no}


class AccountUpdateView(ServiceFormView):
    template_name = "customers/account_form.html"
    form_class = AccountForm

    def load(self, *, pk: int) -> None:
        self.account = object_for_edit(ElectricityAccount.objects.select_related("customer"), self.request.user, pk=pk)
        self.customer = self.account.customer

    def get_title(self) -> str:
        return _("Edit account %(number)s") % {"number": self.account.account_no}

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.account}

    def save(self, form) -> ElectricityAccount:
        return services.account_save(account=form.instance)

    def success_message(self, obj) -> str:
        return _("Account %(number)s saved.") % {"number": obj.account_no}


class MeteringPointCreateView(ServiceFormView):
    template_name = "customers/metering_point_form.html"
    form_class = MeteringPointForm

    def load(self, *, pk: int) -> None:
        self.account = object_for_edit(ElectricityAccount.objects.select_related("customer"), self.request.user, pk=pk)
        self.customer = self.account.customer

    def get_title(self) -> str:
        return _("New metering point for account %(number)s") % {"number": self.account.account_no}

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": MeteringPoint(account=self.account)}

    def save(self, form) -> MeteringPoint:
        return services.metering_point_save(point=form.instance)

    def success_message(self, obj) -> str:
        return _("Metering point %(code)s created.") % {"code": obj.code}


class MeteringPointUpdateView(ServiceFormView):
    template_name = "customers/metering_point_form.html"
    form_class = MeteringPointForm

    def load(self, *, pk: int) -> None:
        self.point = object_for_edit(
            MeteringPoint.objects.select_related("account", "account__customer"), self.request.user, pk=pk
        )
        self.account = self.point.account
        self.customer = self.account.customer

    def get_title(self) -> str:
        return _("Edit metering point %(code)s") % {"code": self.point.code}

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.point}

    def save(self, form) -> MeteringPoint:
        return services.metering_point_save(point=form.instance)

    def success_message(self, obj) -> str:
        return _("Metering point %(code)s saved.") % {"code": obj.code}


class ContactCreateView(ServiceFormView):
    template_name = "customers/contact_form.html"
    form_class = ContactForm
    title = gettext_lazy("New contact")

    def load(self, *, pk: int) -> None:
        self.customer = object_for_edit(Customer.objects, self.request.user, pk=pk)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": Contact(customer=self.customer)}

    def save(self, form) -> Contact:
        return services.contact_save(contact=form.instance)

    def success_message(self, obj) -> str:
        return _("Contact %(name)s added.") % {"name": obj.name}


class ContactUpdateView(ServiceFormView):
    template_name = "customers/contact_form.html"
    form_class = ContactForm

    def load(self, *, pk: int) -> None:
        self.contact = object_for_edit(Contact.objects.select_related("customer"), self.request.user, pk=pk)
        self.customer = self.contact.customer

    def get_title(self) -> str:
        return _("Edit contact %(name)s") % {"name": self.contact.name}

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.contact}

    def save(self, form) -> Contact:
        return services.contact_save(contact=form.instance)

    def success_message(self, obj) -> str:
        return _("Contact %(name)s saved.") % {"name": obj.name}


class ContactDeleteView(LoginRequiredMixin, View):
    """Asks before deleting: a contact may be the only way to reach the customer's electrician."""

    template_name = "customers/contact_delete.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.contact = object_for_edit(Contact.objects.select_related("customer"), request.user, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, pk: int) -> HttpResponse:
        return render(request, self.template_name, {"contact": self.contact, "customer": self.contact.customer})

    def post(self, request, pk: int) -> HttpResponse:
        customer = self.contact.customer
        name = self.contact.name
        services.contact_delete(contact=self.contact)
        messages.success(request, _("Contact %(name)s deleted.") % {"name": name})
        return redirect("customers:customer_detail", pk=customer.pk)


class CustomerTierView(ServiceFormView):
    """Manual tier override with its reason; choosing the tier the rules give clears the override."""

    template_name = "customers/customer_tier.html"
    form_class = TierOverrideForm
    title = gettext_lazy("Override tier")

    def load(self, *, pk: int) -> None:
        self.customer = customer_for_management(self.request.user, pk)

    def get_initial(self):
        return {"tier": self.customer.tier, "tier_override_reason": self.customer.tier_override_reason}

    def save(self, form) -> Customer:
        return services.customer_override_tier(
            customer=self.customer,
            tier=form.cleaned_data["tier"],
            reason=form.cleaned_data["tier_override_reason"],
        )

    def success_message(self, obj) -> str:
        if obj.tier_overridden:
            return _("Tier set by hand to %(tier)s.") % {"tier": obj.get_tier_display()}
        return _("The tier follows the rules again: %(tier)s.") % {"tier": obj.get_tier_display()}

    def form_invalid(self, form):
        # The service may have applied the submitted tier before refusing it; show what is stored.
        self.customer.refresh_from_db()
        return super().form_invalid(form)


class CustomerTeamView(ServiceFormView):
    """Change one place in the account team; the page also shows the team's history."""

    template_name = "customers/customer_team.html"
    form_class = TeamChangeForm
    title = gettext_lazy("Change account team")

    def load(self, *, pk: int) -> None:
        customer_for_management(self.request.user, pk)
        self.customer = selectors.customer_get(user=self.request.user, pk=pk)

    def get_initial(self):
        role = self.request.GET.get("role")
        return {"role": role if role in AssignmentRole.values else AssignmentRole.MANAGER}

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        role, member = form.cleaned_data["role"], form.cleaned_data["user"]
        holder = next((a for a in self.customer.current_team if a.role == role), None)
        if member is not None and holder is not None and holder.user_id == member.pk:
            form.add_error("user", _("%(person)s already holds this role.") % {"person": member})
            return self.form_invalid(form)
        if member is None and holder is None:
            form.add_error("user", _("Nobody holds this role now, so there is nothing to end."))
            return self.form_invalid(form)
        return super().form_valid(form)

    def save(self, form):
        data = form.cleaned_data
        return services.assignment_set(
            customer=self.customer,
            role=data["role"],
            user=data["user"],
            reason=data["reason"],
            start_date=data["start_date"],
        )

    def success_message(self, obj) -> str:
        if obj is None:
            return _("The assignment has ended; nobody holds this role now.")
        return _("%(person)s is now %(role)s.") % {"person": obj.user, "role": obj.get_role_display()}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(team=self.customer.current_team, past_team=selectors.customer_past_team(customer=self.customer))
        return context


class PortfolioReassignView(RoleRequiredMixin, FormView):
    """Move many customers to another staff member at once (a manager leaves, portfolios are rebalanced).

    The customer list posts here with the ticked rows; a form with errors comes back on this page
    with the selection kept.
    """

    allowed_roles = (Role.SUPERVISOR,)
    template_name = "customers/customer_reassign.html"
    form_class = PortfolioReassignForm

    def get_form_kwargs(self):
        kwargs = {**super().get_form_kwargs(), "user": self.request.user}
        if self.request.method == "GET":
            kwargs["initial"] = {
                "customers": [pk for pk in self.request.GET.getlist("customers") if id_from(pk) is not None],
                "role": self.request.GET.get("role") or AssignmentRole.MANAGER,
            }
        return kwargs

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            moved = services.portfolio_reassign(
                customers=data["customers"], role=data["role"], user=data["user"], reason=data["reason"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        selected = len(data["customers"])
        message = ngettext(
            "%(count)d customer reassigned to %(person)s.",
            "%(count)d customers reassigned to %(person)s.",
            moved,
        ) % {"count": moved, "person": data["user"]}
        if moved < selected:
            message += " " + ngettext(
                "%(count)d was already with them.", "%(count)d were already with them.", selected - moved
            ) % {"count": selected - moved}
        messages.success(self.request, message)
        return HttpResponseRedirect(safe_next(self.request, reverse("customers:customer_list")))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        raw = form.data.getlist("customers") if form.is_bound else form.initial.get("customers", [])
        ids = [pk for pk in map(id_from, raw) if pk is not None]
        context.update(
            nav="customers",
            selected=selectors.customer_list(user=self.request.user).filter(pk__in=ids).order_by("name"),
            next=safe_next(self.request, reverse("customers:customer_list")),
        )
        return context


class TierRulesView(LoginRequiredMixin, View):
    """The configurable tier rules: every staff member may read them (they explain a customer's
    tier); supervisors and administrators change them, and every customer's tier is recomputed."""

    template_name = "customers/tier_rule_list.html"
    tiers = (Tier.SPECIAL, Tier.FIRST, Tier.SECOND)

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.is_customer_user:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def forms(self, data=None) -> list[TierRuleForm]:
        rules = {rule.tier: rule for rule in TierRule.objects.filter(tier__in=self.tiers)}
        return [TierRuleForm(data, instance=rules.get(tier) or TierRule(tier=tier), prefix=tier) for tier in self.tiers]

    def render_page(self, forms: list[TierRuleForm], errors=()) -> HttpResponse:
        user = self.request.user
        return render(
            self.request,
            self.template_name,
            {
                "nav": "customers",
                "forms": forms,
                "errors": errors,
                "can_edit": manages_portfolios(user),
                "tier_counts": _tier_count_rows(user),
            },
        )

    def get(self, request) -> HttpResponse:
        return self.render_page(self.forms())

    def post(self, request) -> HttpResponse:
        if not manages_portfolios(request.user):
            raise PermissionDenied
        forms = self.forms(request.POST)
        if not all(form.is_valid() for form in forms):
            return self.render_page(forms)
        try:
            changed = services.tier_rules_save(rules=[form.instance for form in forms])
        except ValidationError as exc:
            return self.render_page(forms, errors=exc.messages)
        messages.success(
            request,
            _("Tier rules saved.")
            + " "
            + ngettext("%(count)d customer changed tier.", "%(count)d customers changed tier.", changed)
            % {"count": changed},
        )
        return redirect("customers:tier_rules")


def _tier_count_rows(user) -> list[tuple[str, str, int]]:
    counts = selectors.customer_tier_counts(user=user)
    return [(value, label, counts.get(value, 0)) for value, label in Tier.choices]


class CustomerLookupView(LoginRequiredMixin, View):
    """Datalist options for picking a customer by name (the group-parent input), staff only."""

    limit = 20

    def get(self, request) -> HttpResponse:
        if request.user.is_customer_user:
            raise PermissionDenied
        # The parent input sends its own value under its field name.
        query = (request.GET.get("q") or request.GET.get("parent") or "").strip()
        customers = Customer.objects.none()
        if query:
            customers = customer_search(Customer.objects.visible_to(request.user), query)
            exclude = request.GET.get("exclude", "")
            if (exclude_id := id_from(exclude)) is not None:
                customers = customers.exclude(pk__in=customer_family_ids(exclude_id))
            customers = customers.order_by("name")[: self.limit]
        return render(request, "customers/customer_lookup.html", {"customers": customers})
