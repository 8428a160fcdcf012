"""seed_demo's bill history: every month billed by the bill run and issued, payments by habit, one account
heading into default with its dunning under way, risk scored for a trend; the back-test separates the payers."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from gridkam.billing.choices import BillKind, BillStatus, DunningStatus, DunningStepKind, RiskLevel
from gridkam.billing.ledger import account_balance, with_arrears
from gridkam.billing.models import Bill, BillingTerms, DunningCase, Payment, RiskScore
from gridkam.billing.risk import backtest
from gridkam.customers.models import ElectricityAccount
from gridkam.tariffs.models import MonthlyUsage

pytestmark = pytest.mark.django_db


def seed_billing() -> dict:
    out = io.StringIO()
    call_command(
        "seed_demo",
        "--no-grid",
        "--accounts",
        "120",
        "--usage-months",
        "18",
        "--readings-accounts",
        "0",
        "--billing-months",
        "18",
        "--no-plans",
        "--service-requests",
        "0",
        "--json",
        stdout=out,
        stderr=io.StringIO(),
    )
    return json.loads(out.getvalue())["billing"]


def test_demo_bill_history():
    """One seed (a few seconds), every property of it."""
    summary = seed_billing()
    check_billed_issued_and_mostly_paid(summary)
    check_late_payers_and_the_defaulter(summary)
    check_prepayment(summary)
    check_backtest()


def check_billed_issued_and_mostly_paid(summary):
    assert summary["months"] == 18
    billed_accounts = ElectricityAccount.objects.filter(bills__isnull=False).distinct().count()
    assert summary["bills"] == Bill.objects.filter(kind=BillKind.REGULAR).count() == billed_accounts * 18
    assert not Bill.objects.filter(status=BillStatus.DRAFT).exists()
    # Each bill is the bill run's: its month's quantities priced, lines kept.
    bill = Bill.objects.filter(kind=BillKind.REGULAR).first()
    assert bill.lines.exists()
    assert MonthlyUsage.objects.filter(account=bill.account, month=bill.period).exists()
    today = timezone.localdate()
    assert Payment.objects.filter(received_on__gt=today).count() == 0
    paid = Bill.objects.filter(settled_on__isnull=False).count()
    assert paid > 0.8 * summary["bills"]


def check_late_payers_and_the_defaulter(summary):
    today = timezone.localdate()
    defaulter = ElectricityAccount.objects.get(account_no=summary["heading_into_default"])
    arrears = with_arrears(ElectricityAccount.objects.filter(pk=defaulter.pk), today).get()
    assert arrears.arrears > 0
    assert account_balance(defaulter.pk) > 0
    # Its last bills are unpaid and its dunning has reached the notice of suspension, approved.
    case = DunningCase.objects.get(account=defaulter, status=DunningStatus.OPEN)
    kinds = list(case.steps.order_by("done_on").values_list("kind", flat=True))
    assert kinds == [DunningStepKind.REMINDER, DunningStepKind.WRITTEN_NOTICE, DunningStepKind.SUSPENSION_NOTICE]
    assert case.steps.get(kind=DunningStepKind.SUSPENSION_NOTICE).approved_by is not None
    latest = RiskScore.objects.get(account=defaulter, is_latest=True)
    assert latest.level in (RiskLevel.HIGH, RiskLevel.SEVERE)
    # A trend: scores at past month ends too.
    assert RiskScore.objects.filter(account=defaulter).count() >= 12
    late = summary["chronic_late_payers"]
    assert late
    assert Bill.objects.filter(
        account__account_no__in=late, settled_on__gt=F("due_date") + datetime.timedelta(days=30)
    ).exists()


def check_prepayment(summary):
    numbers = summary["prepayment_accounts"]
    assert BillingTerms.objects.filter(account__account_no__in=numbers, prepayment=True).count() == len(numbers)


def check_backtest():
    result = backtest(today=timezone.localdate())
    assert result["months"] > 0 and result["positives"] > 0
    assert result["auc"] > 0.8
