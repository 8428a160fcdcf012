from django import template
from django.http import QueryDict
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_header(context, key: str, label) -> str:
    """A column header that toggles ascending/descending sort, keeping the current filters."""
    request = context["request"]
    current = context.get("sort", "")
    query: QueryDict = request.GET.copy()
    query.pop("page", None)
    descending = current == key
    query["sort"] = f"-{key}" if descending else key
    arrow = ""
    if current == key:
        arrow = " ▲"
    elif current == f"-{key}":
        arrow = " ▼"
    return format_html('<a href="?{}" data-sort="{}">{}{}</a>', query.urlencode(), key, label, arrow)


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (e.g. export=xlsx)."""
    query: QueryDict = context["request"].GET.copy()
    for key, value in changes.items():
        query[key] = value
    return query.urlencode()


@register.filter
def percent(value, places: int = 1) -> str:
    """A share (0.125, "-0.0312") as a percentage ("12.5 %", "-3.1 %"); empty for nothing."""
    if value in (None, ""):
        return ""
    try:
        number = float(value) * 100
    except (TypeError, ValueError):
        return ""
    return f"{number:.{int(places)}f} %"
