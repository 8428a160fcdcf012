"""The fee-recovery card of the customer 360 page: each account's balance, arrears, oldest due date and
(for staff) its latest risk level, in one query whatever the number of accounts."""

from __future__ import annotations

import datetime

from django.db.models import OuterRef, QuerySet, Subquery

from gridkam.customers.models import Customer, ElectricityAccount

from .choices import RiskLevel
from .ledger import with_arrears, with_balance
from .models import RiskScore


def customer_billing_accounts(*, customer: Customer, user, today: datetime.date) -> list[ElectricityAccount]:
    accounts: QuerySet = ElectricityAccount.objects.filter(customer=customer).order_by("account_no")
    accounts = with_arrears(with_balance(accounts), today)
    if not user.is_customer_user:
        latest = RiskScore.objects.filter(account=OuterRef("pk"), is_latest=True)
        accounts = accounts.annotate(
            risk_level=Subquery(latest.values("level")[:1]),
            risk_score=Subquery(latest.values("score")[:1]),
        )
    rows = list(accounts)
    for row in rows:
        level = getattr(row, "risk_level", None)
        row.risk_label = RiskLevel(level).label if level else ""
    return rows
