"""An account's billing page (bills, payments, balance, arrears, aging, penalty, prepayment) and the
forms that record a payment or a refund.

Whoever sees the account's customer sees the page (its portal users read only); recording money
needs a billing role (403 otherwise); an account outside the user's view is a 404.
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView, TemplateView

from gridkam.core.exports import Column, xlsx_response
from gridkam.customers.form_views import add_service_errors
from gridkam.customers.models import ElectricityAccount

from .choices import PaymentKind
from .dunning_views import dunning_card
from .forms_ledger import PaymentForm
from .ledger import (
    account_for_billing,
    account_ledger,
    as_of_parse,
    low_balance_accounts,
    payment_record,
    penalty_rates_display,
)
from .permissions import BillingWorkMixin, StaffPageMixin, does_billing
from .risk_views import risk_card

BILL_COLUMNS = (
    Column(gettext_lazy("Month"), lambda b: b.period.strftime("%Y-%m"), 10),
    Column(gettext_lazy("Kind"), lambda b: b.get_kind_display(), 12),
    Column(gettext_lazy("Status"), lambda b: b.get_status_display(), 10),
    Column(gettext_lazy("Bill number"), lambda b: b.number, 18),
    Column(gettext_lazy("Energy (kWh)"), lambda b: b.energy_kwh, 14),
    Column(gettext_lazy("Total (yuan)"), lambda b: b.total, 14),
    Column(gettext_lazy("Paid (yuan)"), lambda b: b.amount_paid, 14),
    Column(gettext_lazy("Open (yuan)"), lambda b: b.open_amount if b.is_open else None, 14),
    Column(gettext_lazy("Issued on"), lambda b: b.issue_date, 12),
    Column(gettext_lazy("Due"), lambda b: b.due_date, 12),
    Column(gettext_lazy("Settled on"), lambda b: b.settled_on, 12),
    Column(gettext_lazy("Penalty to date (yuan)"), lambda b: b.penalty, 14),
)
PAYMENT_COLUMNS = (
    Column(gettext_lazy("Date"), lambda p: p.received_on, 12),
    Column(gettext_lazy("Kind"), lambda p: p.get_kind_display(), 10),
    Column(gettext_lazy("Method"), lambda p: p.get_method_display(), 12),
    Column(gettext_lazy("Amount (yuan)"), lambda p: p.amount, 14),
    Column(gettext_lazy("Reference"), lambda p: p.reference, 20),
    Column(gettext_lazy("Source"), lambda p: p.get_source_display(), 14),
    Column(gettext_lazy("Allocated (yuan)"), lambda p: sum(a.amount for a in p.allocations.all()), 14),
    Column(
        gettext_lazy("Applied to"),
        lambda p: "; ".join(f"{_bill_label(a.bill)}: {a.amount}" for a in p.allocations.all()),
        40,
    ),
    Column(gettext_lazy("Note"), lambda p: p.note, 30),
    Column(gettext_lazy("Recorded by"), lambda p: str(p.created_by or ""), 14),
)


def _bill_label(bill) -> str:
    return bill.number or bill.period.strftime("%Y-%m")


def as_of_param(request) -> datetime.date:
    """``?as_of=YYYY-MM-DD`` to see arrears and penalty on another day (today by default)."""
    try:
        return as_of_parse(request.GET.get("as_of", ""))
    except ValueError:
        return timezone.localdate()


def _account_or_404(user, pk: int) -> ElectricityAccount:
    try:
        return account_for_billing(user=user, pk=pk)
    except ElectricityAccount.DoesNotExist:
        raise Http404 from None


class AccountBillingView(LoginRequiredMixin, TemplateView):
    """The billing tab of an account."""

    template_name = "billing/account_billing.html"

    def get(self, request, *args, **kwargs):
        account = _account_or_404(request.user, kwargs["pk"])
        self.today = as_of_param(request)
        self.ledger = account_ledger(account=account, today=self.today, with_drafts=not request.user.is_customer_user)
        export = request.GET.get("export")
        if export == "bills":
            return xlsx_response(
                filename=f"bills-{account.account_no}",
                title=str(_("Bills")),
                columns=BILL_COLUMNS,
                rows=self.ledger.bills,
            )
        if export == "payments":
            return xlsx_response(
                filename=f"payments-{account.account_no}",
                title=str(_("Payments")),
                columns=PAYMENT_COLUMNS,
                rows=self.ledger.payments,
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        can_record = does_billing(user) and not user.is_customer_user
        ledger = self.ledger
        context.update(
            nav="billing",
            ledger=ledger,
            account=ledger.account,
            customer=ledger.account.customer,
            today=self.today,
            is_today=self.today == timezone.localdate(),
            can_record=can_record,
            rates=penalty_rates_display(),
            payment_form=PaymentForm(prefix="payment") if can_record else None,
            refund_form=PaymentForm(prefix="refund") if can_record else None,
            dunning=dunning_card(ledger.account, user=user, today=self.today),
            risk=None if user.is_customer_user else risk_card(ledger.account),
        )
        return context


class PaymentRecordView(BillingWorkMixin, FormView):
    """Record a payment received for the account (GET shows the form on its own page)."""

    template_name = "billing/payment_form.html"
    form_class = PaymentForm
    kind = PaymentKind.PAYMENT
    prefix = "payment"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and does_billing(request.user):
            self.account = _account_or_404(request.user, kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            payment = payment_record(
                account=self.account,
                kind=self.kind,
                method=data["method"],
                amount=data["amount"],
                received_on=data["received_on"],
                reference=data["reference"],
                note=data["note"],
                user=self.request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        except IntegrityError:
            form.add_error("reference", _("A payment with this reference is already recorded for the account."))
            return self.form_invalid(form)
        if self.kind == PaymentKind.REFUND:
            messages.success(self.request, _("Refund of %(amount)s yuan recorded.") % {"amount": payment.amount})
        else:
            messages.success(self.request, _("Payment of %(amount)s yuan recorded.") % {"amount": payment.amount})
        return redirect(reverse("billing:account_billing", args=[self.account.pk]) + "#payments")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        refund = self.kind == PaymentKind.REFUND
        context.update(
            nav="billing",
            account=self.account,
            customer=self.account.customer,
            refund=refund,
            title=_("Refund") if refund else _("Record payment"),
            cancel_url=reverse("billing:account_billing", args=[self.account.pk]),
        )
        return context


class RefundRecordView(PaymentRecordView):
    """Pay back part of the account's credit (no more than the credit not allocated to bills)."""

    kind = PaymentKind.REFUND
    prefix = "refund"


class LowBalanceListView(StaffPageMixin, TemplateView):
    """Prepayment accounts whose credit is below their warning threshold."""

    template_name = "billing/account_billing_low_balance.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        today = as_of_param(self.request)
        context.update(nav="billing", today=today, accounts=list(low_balance_accounts(self.request.user, today)[:500]))
        return context
