"""The portal's menu, as a tag so that every page extending portal/base.html has it (messaging and surveys too)."""

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

register = template.Library()


@register.simple_tag
def portal_menu() -> list[tuple[str, str, str, str]]:
    """(key, url, Bootstrap icon, label) of each item; pages set ``portal_nav`` to their key."""
    return [
        ("home", reverse("portal:home"), "house", pgettext("portal menu", "Home")),
        ("accounts", reverse("portal:accounts"), "plug", _("Accounts")),
        ("bills", reverse("portal:bills"), "receipt", _("Bills")),
        ("requests", reverse("portal:requests"), "tools", pgettext("portal menu", "Requests")),
        ("messages", reverse("messaging:portal_conversation"), "chat-dots", pgettext("portal menu", "Messages")),
        ("surveys", reverse("surveys:portal_list"), "clipboard-check", _("Surveys")),
        ("appointments", reverse("portal:appointments"), "calendar-event", _("VIP desk")),
        ("team", reverse("portal:team"), "people", _("My account team")),
    ]
