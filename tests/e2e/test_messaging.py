"""Messaging in a real browser (issue 7 item 3): a customer's energy manager sends a message with a photo from
the portal; the account manager finds the unread thread in "My work" and in the inbox, opens it (read receipt)
and replies with the form (HTMX); the customer sees the reply and that the team read their message.

Pages are in zh-hans: the tests hold on to data-testid attributes, URLs and data.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from gridkam.core.testing import personas
from gridkam.demo.messaging import demo_photo
from gridkam.messaging.models import Message

PNG = demo_photo(1)
QUESTION = "2号变压器有异响，请派人查看"
REPLY = "收到，抢修班一小时内到现场"


def test_customer_and_manager_exchange_messages(login, live_server, page: Page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    p = personas()

    # The customer writes from the portal, with a photo.
    login(p.customer_user)
    page.goto(f"{live_server.url}/messages/portal/")
    expect(page.get_by_test_id("thread-empty")).to_be_visible()
    form = page.get_by_test_id("message-form")
    form.locator("textarea[name=body]").fill(QUESTION)
    form.locator("input[name=attachments]").set_input_files(
        files=[{"name": "变压器.png", "mimeType": "image/png", "buffer": PNG}]
    )
    form.get_by_test_id("message-send").click()
    mine = page.get_by_test_id("message").filter(has_text=QUESTION)
    expect(mine).to_have_attribute("data-side", "customer")
    expect(mine.get_by_test_id("attachment")).to_have_count(1)
    expect(mine.get_by_test_id("receipt")).to_have_attribute("data-read", "0")
    question = Message.objects.get(body=QUESTION)
    assert question.attachments.get().name == "变压器.png"

    # The manager sees the unread thread in My work and in the inbox.
    page.context.clear_cookies()
    login(p.manager)
    page.goto(f"{live_server.url}/work/")
    row = page.locator(f"[data-testid=work-row][data-kind=message][data-id='{question.conversation_id}']")
    expect(row).to_be_visible()
    page.goto(f"{live_server.url}/messages/")
    inbox_row = page.locator(f"[data-testid=inbox-row][data-customer='{p.a1.pk}']")
    expect(inbox_row).to_have_attribute("data-unread", "1")
    inbox_row.get_by_test_id("inbox-open").click()
    expect(page).to_have_url(f"{live_server.url}/messages/customers/{p.a1.pk}/")
    theirs = page.get_by_test_id("message").filter(has_text=QUESTION)
    expect(theirs.locator("img")).to_be_visible()

    # Reply through the HTMX form; the thread is swapped in place.
    page.get_by_test_id("message-form").locator("textarea[name=body]").fill(REPLY)
    page.get_by_test_id("message-send").click()
    expect(page.get_by_test_id("message").filter(has_text=REPLY)).to_have_attribute("data-side", "team")
    expect(page).to_have_url(f"{live_server.url}/messages/customers/{p.a1.pk}/")
    page.screenshot(path="/tmp/messaging_thread.png", full_page=True)
    # Read: the thread has left My work.
    page.goto(f"{live_server.url}/work/")
    expect(page.locator("[data-testid=work-row][data-kind=message]")).to_have_count(0)

    # The customer sees the reply and the read receipt on their own message.
    page.context.clear_cookies()
    login(p.customer_user)
    page.goto(f"{live_server.url}/messages/portal/")
    expect(page.get_by_test_id("message").filter(has_text=REPLY)).to_have_attribute("data-side", "team")
    receipt = page.get_by_test_id("message").filter(has_text=QUESTION).get_by_test_id("receipt")
    expect(receipt).to_have_attribute("data-read", "1")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path="/tmp/messaging_portal.png", full_page=True)
