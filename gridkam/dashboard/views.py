"""The home page: the portfolio a user is responsible for, at a glance."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.views.generic import TemplateView

from .selectors import portfolio_overview


class HomeView(LoginRequiredMixin, TemplateView):
    template_name = "dashboard/home.html"

    def dispatch(self, request, *args, **kwargs):
        # Customer users have no portfolio; their start page is the portal.
        if request.user.is_authenticated and request.user.is_customer_user:
            return redirect("portal:home")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        overview = portfolio_overview(user=self.request.user)
        context.update(
            nav="home",
            overview=overview,
            gap_rows=overview.with_gaps[:10],
            tier_chart={
                "labels": [label for _, label, _ in overview.by_tier],
                "values": [n for *_, n in overview.by_tier],
            },
            section_chart={
                "labels": [f"{code} {name}" for code, name, _ in overview.by_section[:10]],
                "values": [n for *_, n in overview.by_section[:10]],
            },
        )
        return context
