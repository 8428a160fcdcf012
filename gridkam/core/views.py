"""Shared view machinery: filtered, sorted, paginated lists with HTMX partials and Excel export."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import F
from django.http import JsonResponse, QueryDict
from django.utils.translation import gettext_lazy as _
from django.views.generic import ListView

from .exports import Column, xlsx_response


class RoleRequiredMixin(LoginRequiredMixin):
    """Pages limited to some roles (imports, reassignment). Data pages rely on visible_to instead;
    this guards tools whose very existence a role should not use."""

    allowed_roles: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and not (user.is_administrator or user.role in self.allowed_roles):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class StaffOnlyMixin(LoginRequiredMixin):
    """Back-office pages (imports, portfolios, the workbench, tasks): customers' portal users have none (403)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.is_customer_user:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def requested_page_size(request, default: int, sizes: Sequence[int]) -> int:
    """``?page_size=`` when it is one of the sizes offered, else the default."""
    try:
        size = int(request.GET.get("page_size", default))
    except ValueError:
        return default
    return size if size in sizes else default


class HtmxTableMixin:
    """An HTMX request (a filter or sort, not a boosted navigation) gets the template's ``table`` partial only."""

    def get_template_names(self):
        names = super().get_template_names()
        if getattr(self.request, "htmx", False) and not self.request.htmx.boosted:
            return [f"{names[0]}#table"]
        return names


class FilteredListView(HtmxTableMixin, LoginRequiredMixin, ListView):
    """A list page: one FilterSet (shared with the API), whitelisted sorting, pagination,
    an HTMX partial for the table and ``?export=xlsx`` for the whole filtered list."""

    filterset_class = None
    sort_fields: dict[str, str] = {}
    default_sort = ""
    export_columns: Sequence[Column] = ()
    export_filename = "export"
    export_title = _("Export")
    paginate_by = 25
    page_sizes = (25, 50, 100)
    # Rows without a value in the sorted column go last whichever way it is sorted (PostgreSQL and SQLite
    # otherwise disagree about where NULL sorts).
    nulls_last = False

    def base_queryset(self):
        raise ImproperlyConfigured(f"{type(self).__name__} must define base_queryset() from a selector.")

    def get_sort(self) -> str:
        requested = self.request.GET.get("sort", self.default_sort)
        key = requested.lstrip("-")
        if key not in self.sort_fields:
            requested, key = self.default_sort, self.default_sort.lstrip("-")
        return requested

    def filter_data(self) -> QueryDict:
        """The query string without empty values. Filter forms submit every field, their "All"
        choices as ""; a multiple-choice filter rejects "", and an invalid filter set would be
        ignored whole, so an empty parameter must mean "no filter" instead."""
        data = QueryDict(mutable=True)
        for key, values in self.request.GET.lists():
            if kept := [value for value in values if value != ""]:
                data.setlist(key, kept)
        return data

    def get_queryset(self):
        qs = self.base_queryset()
        self.filterset = self.filterset_class(self.filter_data() or None, queryset=qs, request=self.request)
        qs = self.filterset.qs if self.filterset.is_bound and self.filterset.is_valid() else qs
        sort = self.get_sort()
        if sort:
            field = self.sort_fields[sort.lstrip("-")]
            if self.nulls_last:
                expression = F(field)
                order = expression.desc(nulls_last=True) if sort.startswith("-") else expression.asc(nulls_last=True)
            else:
                order = f"-{field}" if sort.startswith("-") else field
            qs = qs.order_by(order, "pk")
        return qs

    def get_paginate_by(self, queryset):
        return requested_page_size(self.request, self.paginate_by, self.page_sizes)

    def paginate_queryset(self, queryset, page_size):
        # An out-of-range page shows the last page rather than a 404: links survive filtering.
        paginator = Paginator(queryset, page_size)
        page = paginator.get_page(self.request.GET.get("page"))
        return paginator, page, page.object_list, page.has_other_pages()

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") == "xlsx" and self.export_columns:
            queryset = self.get_queryset()
            return xlsx_response(
                filename=self.export_filename,
                title=str(self.export_title),
                columns=self.export_columns,
                rows=queryset.iterator(chunk_size=2000) if not queryset._prefetch_related_lookups else queryset,
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            filter=self.filterset,
            sort=self.get_sort(),
            querystring=query.urlencode(),
            page_sizes=self.page_sizes,
        )
        return context


def health(request):
    """Liveness for load balancers: the app answers and the database does too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
