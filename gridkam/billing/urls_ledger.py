"""Pages of the ledger part of billing (included by billing/urls.py)."""

from django.urls import path

from . import ledger_views

urlpatterns: list = [
    path("accounts/<int:pk>/", ledger_views.AccountBillingView.as_view(), name="account_billing"),
    path("accounts/<int:pk>/payments/new/", ledger_views.PaymentRecordView.as_view(), name="payment_record"),
    path("accounts/<int:pk>/refunds/new/", ledger_views.RefundRecordView.as_view(), name="refund_record"),
    path("prepayment/low-balance/", ledger_views.LowBalanceListView.as_view(), name="low_balance"),
]
