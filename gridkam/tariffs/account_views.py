"""An account's monthly quantities (view, enter, import) and its cost advice (page and Excel)."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from gridkam.core.exports import xlsx_sheets_response
from gridkam.customers.models import ElectricityAccount

from . import selectors, services
from .advising import account_advice, advice_sheets, usage_chart
from .advisor import AdvisorError
from .choices import UsageSource
from .forms import AdvisorSettingsForm, MonthlyUsageFormSet, last_months
from .models import MonthlyUsage


class AccountMixin(LoginRequiredMixin):
    """The account named in the URL, if the user may see it (else 404, as everywhere)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            try:
                self.account = selectors.account_get(user=request.user, pk=kwargs["pk"])
            except ElectricityAccount.DoesNotExist:
                raise Http404 from None
        return super().dispatch(request, *args, **kwargs)

    def can_edit_usage(self) -> bool:
        return selectors.accounts_usage_editable(self.request.user).filter(pk=self.account.pk).exists()


class MonthlyUsageView(AccountMixin, TemplateView):
    template_name = "tariffs/account_usage.html"

    def end_month(self) -> datetime.date:
        raw = self.request.GET.get("end", "")
        try:
            return datetime.date.fromisoformat(f"{raw}-01")
        except ValueError:
            today = timezone.localdate()
            # The last complete month: the current one is not billed yet.
            return (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)

    def grid(self, data=None):
        months = last_months(self.end_month())
        existing = {row.month: row for row in MonthlyUsage.objects.filter(account=self.account, month__in=months)}
        initial = []
        for month in months:
            row = existing.get(month)
            values = {"month": month}
            if row is not None:
                values.update({name: getattr(row, name) for name in services.USAGE_FIELDS})
            initial.append(values)
        return MonthlyUsageFormSet(data=data, initial=initial, prefix="usage")

    def get_context_data(self, **kwargs):
        usage = list(
            MonthlyUsage.objects.filter(account=self.account).select_related("updated_by").order_by("-month")[:36]
        )
        editable = self.can_edit_usage()
        formset = kwargs.pop("formset", None) or (self.grid() if editable else None)
        return super().get_context_data(
            nav="customers",
            account=self.account,
            usage=usage,
            chart=usage_chart(list(reversed(usage[:24]))),
            formset=formset,
            editable=editable,
            end_month=self.end_month(),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        if not self.can_edit_usage():
            raise PermissionDenied
        formset = self.grid(data=request.POST)
        if not formset.is_valid():
            return self.render_to_response(self.get_context_data(formset=formset))
        saved = 0
        try:
            with transaction.atomic():
                for form in formset:
                    if form.has_values():
                        services.monthly_usage_save(
                            account=self.account,
                            month=form.cleaned_data["month"].replace(day=1),
                            values=form.values(),
                            source=UsageSource.ENTERED,
                            user=request.user,
                        )
                        saved += 1
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return self.render_to_response(self.get_context_data(formset=formset))
        messages.success(request, _("Saved the quantities of %(count)d months.") % {"count": saved})
        return redirect(request.get_full_path())


class AdviceView(AccountMixin, TemplateView):
    template_name = "tariffs/account_advice.html"

    def get(self, request, *args, **kwargs):
        form = AdvisorSettingsForm.from_query(request.GET)
        result, error = None, None
        if form.is_valid():
            try:
                result = account_advice(account=self.account, settings=form.settings())
            except AdvisorError as exc:
                error = exc.message
        if result is not None and request.GET.get("export") == "xlsx":
            return xlsx_sheets_response(filename=f"advice-{self.account.account_no}", sheets=advice_sheets(result))
        chart = None
        if result is not None and result.advice.recommendations:
            ranked = [r for r in result.advice.recommendations if r.saving_yuan_per_year > 0]
            chart = {
                "labels": [r.title for r in ranked][::-1],
                "values": [float(r.saving_yuan_per_year) for r in ranked][::-1],
                "unit": _("yuan/year"),
            }
        context = self.get_context_data(
            nav="customers",
            account=self.account,
            form=form,
            result=result,
            error=error,
            chart=chart,
            can_edit_usage=self.can_edit_usage(),
        )
        return self.render_to_response(context)
