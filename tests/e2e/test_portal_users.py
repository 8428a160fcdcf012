"""Portal users in a real browser: a manager invites a contact from the customer 360 page, the contact opens
the e-mailed link, chooses a password and lands in the portal.

The live server runs in this process, so the invitation e-mail is read from Django's test outbox.
"""

from __future__ import annotations

import re

from django.core import mail
from playwright.sync_api import Page, expect

from gridkam.core.testing import make_contact, personas
from gridkam.users.models import Invitation, User

SCREENSHOTS = "/tmp"
NEW_PASSWORD = "Steel-energy-2026!"


def test_manager_invites_a_contact_who_sets_a_password_and_lands_in_the_portal(login, live_server, page: Page):
    p = personas()
    make_contact(customer=p.a1, name="张能源", email="zhang@steel.example.cn", role="energy_manager", phone="")
    login(p.manager)
    page.goto(f"{live_server.url}/customers/{p.a1.pk}/")
    # The card arrives by HTMX after the page.
    card = page.get_by_test_id("portal-users-card")
    expect(card).to_contain_text(str(p.customer_user))
    card.get_by_test_id("portal-invite").click()

    page.get_by_test_id("invite-from-contact").filter(has_text="张能源").click()
    expect(page.locator("#id_email")).to_have_value("zhang@steel.example.cn")
    page.get_by_label(p.a1_sub.name).check()
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-portal-invite.png", full_page=True)
    page.get_by_test_id("form-submit").click()

    expect(page).to_have_url(re.compile(rf"/customers/{p.a1.pk}/#portal-users$"))
    invitation = Invitation.objects.get(email="zhang@steel.example.cn")
    expect(page.locator(f'[data-invitation="{invitation.pk}"]')).to_contain_text("zhang@steel.example.cn")

    # The e-mail's link, opened by the contact (logged out).
    assert len(mail.outbox) == 1
    link = re.search(r"(/accounts/invitation/[^/\s]+/)", mail.outbox[0].body).group(1)
    page.context.clear_cookies()
    page.goto(f"{live_server.url}{link}")
    expect(page.get_by_test_id("invitation-customer")).to_contain_text(p.a1.name)
    expect(page.locator("#id_username")).to_have_value("zhang@steel.example.cn")
    page.locator("#id_password1").fill(NEW_PASSWORD)
    page.locator("#id_password2").fill(NEW_PASSWORD + "?")
    page.get_by_test_id("accept-submit").click()
    # Two different passwords: the field says so and nothing is created.
    expect(page.locator("#id_password2")).to_have_class(re.compile(r"\bis-invalid\b"))
    assert not User.objects.filter(email="zhang@steel.example.cn").exists()
    page.locator("#id_password1").fill(NEW_PASSWORD)
    page.locator("#id_password2").fill(NEW_PASSWORD)
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-portal-accept.png", full_page=True)
    page.get_by_test_id("accept-submit").click()

    expect(page).to_have_url(f"{live_server.url}/portal/")
    user = User.objects.get(email="zhang@steel.example.cn")
    assert user.customer == p.a1 and list(user.portal_scopes.values_list("customer", flat=True)) == [p.a1_sub.pk]

    # The link is used up.
    page.context.clear_cookies()
    response = page.goto(f"{live_server.url}{link}")
    assert response.status == 410
    expect(page.get_by_test_id("invitation-invalid")).to_be_visible()
