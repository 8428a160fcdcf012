"""SLA policy pages: the matrix of every tier (type × priority), one policy's form with its change history, and
"reset to defaults". Staff read them; supervisors and administrators change them; portal users get 403."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from gridkam.billing.permissions import approves
from gridkam.core.views import StaffOnlyMixin
from gridkam.customers.choices import Tier

from .choices import Priority, RequestType
from .forms_sla import SlaPolicyForm
from .models import SlaPolicy
from .sla import describe_minutes, sla_policies_load

POLICY_FIELDS = ("clock", "response_minutes", "onsite_minutes", "resolution_minutes")


class ApproverPostMixin(StaffOnlyMixin):
    """GET for the staff; POST only for supervisors and administrators (403 for others)."""

    def dispatch(self, request, *args, **kwargs):
        if request.method == "POST" and request.user.is_authenticated and not approves(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def policy_cell(policy: SlaPolicy) -> dict:
    return {
        "policy": policy,
        "response": describe_minutes(policy.response_minutes, policy.clock),
        "onsite": describe_minutes(policy.onsite_minutes, policy.clock) if policy.onsite_minutes else None,
        "resolution": describe_minutes(policy.resolution_minutes, policy.clock),
    }


class SlaPolicyMatrixView(ApproverPostMixin, TemplateView):
    template_name = "servicedesk/sla_policies.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        policies = {(p.tier, p.request_type, p.priority): p for p in SlaPolicy.objects.all()}
        tiers = []
        for tier, tier_label in Tier.choices:
            rows = []
            for request_type, type_label in RequestType.choices:
                cells = []
                for priority in Priority.values:
                    policy = policies.get((tier, request_type, priority))
                    cells.append(policy_cell(policy) if policy else None)
                rows.append({"type": request_type, "label": type_label, "cells": cells})
            tiers.append({"tier": tier, "label": tier_label, "rows": rows})
        context.update(
            nav="service",
            tiers=tiers,
            priorities=Priority.choices,
            can_edit=approves(self.request.user),
            empty=not policies,
        )
        return context


class SlaPolicyEditView(ApproverPostMixin, TemplateView):
    template_name = "servicedesk/sla_policy_form.html"

    def dispatch(self, request, *args, **kwargs):
        self.policy = None
        return super().dispatch(request, *args, **kwargs)

    def _policy(self) -> SlaPolicy:
        return get_object_or_404(SlaPolicy, pk=self.kwargs["pk"])

    def get(self, request, *args, **kwargs):
        self.policy = self._policy()
        self.form = SlaPolicyForm(instance=self.policy)
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.policy = self._policy()
        self.form = SlaPolicyForm(request.POST, instance=self.policy)
        if self.form.is_valid():
            policy = self.form.save(commit=False)
            policy.updated_by = request.user
            policy.save()
            messages.success(request, _("The SLA policy is saved; requests logged from now on use it."))
            return redirect("servicedesk:sla_policies")
        return self.render_to_response(self.get_context_data(), status=400)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        records = list(self.policy.history.select_related("history_user").order_by("-history_date", "-history_id")[:50])
        history = []
        for newer, older in zip(records, [*records[1:], None], strict=True):
            changes = []
            for name in POLICY_FIELDS:
                after = getattr(newer, name)
                before = getattr(older, name) if older is not None else None
                if older is None or before != after:
                    changes.append(
                        {"field": SlaPolicy._meta.get_field(name).verbose_name, "before": before, "after": after}
                    )
            history.append({"record": newer, "changes": changes})
        context.update(
            nav="service",
            policy=self.policy,
            cell=policy_cell(self.policy),
            form=self.form,
            history=history,
            can_edit=approves(self.request.user),
        )
        return context


class SlaPolicyResetView(ApproverPostMixin, View):
    """POST: every policy back to the defaults (missing ones created)."""

    def post(self, request, *args, **kwargs):
        counts = sla_policies_load(overwrite=True, user=request.user)
        messages.success(
            request,
            _("SLA policies reset to the defaults: %(created)s created, %(updated)s changed.") % counts,
        )
        return redirect("servicedesk:sla_policies")
