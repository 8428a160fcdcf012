"""The portal's menu, as a tag so that every page extending portal/base.html has it (messaging and surveys too)."""

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

register = template.Library()


PRIMARY = 6


@register.simple_tag
def portal_menu() -> list[tuple[str, str, str, str]]:
    """(key, url, Bootstrap icon, label) of each item; pages set ``portal_nav`` to their key. The first
    ``PRIMARY`` items stand in the top menu on a desk, the others under "More"; the phone's tab bar scrolls."""
    return [
        ("home", reverse("portal:home"), "house", pgettext("portal menu", "Home")),
        ("accounts", reverse("portal:accounts"), "plug", _("Accounts")),
        ("bills", reverse("portal:bills"), "receipt", _("Bills")),
        ("requests", reverse("portal:requests"), "tools", pgettext("portal menu", "Requests")),
        ("messages", reverse("messaging:portal_conversation"), "chat-dots", pgettext("portal menu", "Messages")),
        ("outages", reverse("outages:portal_list"), "lightning-charge", _("Outage notices")),
        ("expansion", reverse("expansion:portal_list"), "hammer", _("Business expansion")),
        ("power_quality", reverse("powerquality:portal_list"), "lightning", _("Power quality")),
        ("dangers", reverse("inspections:portal_list"), "exclamation-triangle", _("Hidden dangers")),
        ("appointments", reverse("portal:appointments"), "calendar-event", _("VIP desk")),
        ("surveys", reverse("surveys:portal_list"), "clipboard-check", _("Surveys")),
        ("team", reverse("portal:team"), "people", _("My account team")),
    ]


@register.simple_tag(takes_context=True)
def portal_menu_split(context) -> dict:
    """The menu for the desk's top bar: the first items, the rest, and whether the page is one of the rest."""
    items = portal_menu()
    more = items[PRIMARY:]
    current = context.get("portal_nav")
    return {"primary": items[:PRIMARY], "more": more, "more_active": any(key == current for key, *_ in more)}
