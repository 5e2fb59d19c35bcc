"""The agent console beside a chat and before one: the customer panel of a conversation
(``GET /api/conversations/{id}/customer``: the record, the pre-chat fields, the other
conversations) and "New conversation", the business writing first (``POST /api/conversations``)
through an accessible dialog whose errors land at their field.

Headless Chromium against a real ``frontdesk serve`` on a fresh database, as in test_web_e2e.py
(whose helpers these tests use); every screen is photographed at desktop and phone width into
/tmp/fd-shots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Postgres
from playwright.sync_api import Browser, Page, expect
from test_messaging_web import MESSAGING_ENV, accept_offer, mailed_link
from test_web_e2e import (
    CHROMIUM,
    PHONE,
    Watch,
    WebEngine,
    browser_fixture,  # noqa: F401  (fixtures)
    new_page,
    send,
    shoot,
    sign_in,
)

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
    pytest.mark.timeout(300),
]



@pytest.fixture
def engine(postgres: Postgres, tmp_path: Path) -> Iterator[WebEngine]:
    web = WebEngine(postgres, tmp_path, **MESSAGING_ENV)
    web.start()
    try:
        yield web
    finally:
        web.stop()


def start_outreach(agent: Page, email: str, text: str) -> None:
    agent.get_by_role("button", name="New conversation", exact=True).click()
    dialog = agent.get_by_role("dialog", name="Start a new conversation")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Customer’s e-mail")).to_be_focused()
    dialog.get_by_label("Customer’s e-mail").fill(email)
    dialog.get_by_label("Message").fill(text)
    dialog.get_by_role("button", name="Start conversation").click()


def test_an_agent_starts_conversations_and_sees_the_customer_beside_them(
        browser: Browser, engine: WebEngine) -> None:
    base = engine.base
    watch = Watch()
    agent = new_page(browser, watch)
    sign_in(agent, base)

    # only the agent's messaging queue is offered; Escape closes the dialog
    agent.get_by_role("button", name="New conversation", exact=True).click()
    dialog = agent.get_by_role("dialog", name="Start a new conversation")
    expect(dialog.get_by_label("Queue").locator("option")).to_have_text(["messages"])
    agent.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(agent.get_by_role("button", name="New conversation", exact=True)).to_be_focused()

    # an address that is none: the engine's refusal shows at the e-mail field
    start_outreach(agent, "not-an-address", "Hello!")
    email = dialog.get_by_label("Customer’s e-mail")
    expect(dialog.locator("#outreach-email-error")).to_have_text("Please enter a valid e-mail address.")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_attribute("aria-describedby", "outreach-email-error")
    expect(email).to_be_focused()
    shoot(agent, "console-outreach-error")

    # a new address: the engine makes the customer, the console opens the conversation
    email.fill("lena.lang@example.com")
    dialog.get_by_role("button", name="Start conversation").click()
    expect(dialog).to_be_hidden()
    conv = agent.locator(".conv:visible")
    expect(agent.get_by_role("tab", name="lena.lang")).to_have_attribute("aria-selected", "true")
    expect(conv.locator(".log")).to_contain_text("Hello!")
    expect(conv.locator(".conv__status-pill")).to_have_text("Status: Open")
    expect(conv.locator("textarea.composer__input")).to_be_focused()
    panel = conv.locator(".customer-panel")
    expect(panel).to_have_attribute("open", "")
    expect(panel.locator("dd", has_text="lena.lang@example.com")).to_be_visible()
    expect(panel).to_contain_text("No other conversations.")
    assert "/chat/c/" in mailed_link(engine, "lena.lang@example.com")       # the customer is mailed the link
    conv.get_by_role("button", name="Resolve").click()
    expect(agent.locator(".tab", has_text="lena.lang")).to_have_count(0)

    # a customer who chats first, with an extra field: accepted, the panel shows what they filled in
    r = httpx.post(base + "/api/chats", json={
        "queue": "messages", "name": "Nora North", "email": "nora@example.com", "question": "Where is my parcel?",
        "fields": {"Order number": "A-1017"}, "consent": True})
    assert r.status_code == 201, r.text
    accept_offer(agent, "Where is my parcel?")
    panel = agent.locator(".conv:visible .customer-panel")
    expect(panel.locator("dd", has_text="nora@example.com")).to_be_visible()
    expect(panel.locator(".customer-panel__fields")).to_contain_text("Order number")
    expect(panel.locator(".customer-panel__fields dd")).to_have_text("A-1017")
    shoot(agent, "console-customer-fields")
    send(agent, "It is on its way.")
    agent.locator(".conv:visible").get_by_role("button", name="Set pending").click()
    expect(agent.locator(".tab", has_text="Nora North")).to_have_count(0)

    # the business writes to her again: the earlier chat is in the panel's list
    start_outreach(agent, "Nora@Example.com", "Did the parcel arrive?")
    conv = agent.locator(".conv:visible")
    expect(conv.locator(".log")).to_contain_text("Did the parcel arrive?")
    panel = conv.locator(".customer-panel")
    expect(panel.locator(".customer-panel__summary")).to_contain_text("one other conversation")
    earlier = panel.locator(".customer-conv")
    expect(earlier).to_have_count(1)
    expect(earlier).to_contain_text("messages")
    expect(earlier.locator(".customer-conv__status")).to_have_text("Pending")
    expect(earlier.locator(".customer-conv__text")).to_have_text("It is on its way.")
    expect(earlier.locator("time")).to_contain_text("Last activity")
    expect(panel.locator(".customer-panel__body")).not_to_contain_text("null")
    shoot(agent, "console-customer-panel")

    # from her record beside the chat, a third conversation: the dialog knows whom it is for
    panel.get_by_role("button", name="New conversation with this customer").click()
    dialog = agent.get_by_role("dialog", name="Start a new conversation")
    expect(dialog.get_by_label("Customer’s e-mail")).to_have_value("nora@example.com")
    expect(dialog.get_by_label("Message")).to_be_focused()
    dialog.get_by_label("Message").fill("And the invoice is attached to your account.")
    dialog.get_by_role("button", name="Start conversation").click()
    expect(dialog).to_be_hidden()
    expect(agent.locator(".conv:visible .log")).to_contain_text("And the invoice is attached")
    expect(agent.get_by_role("tab", name="Nora North")).to_have_count(2)
    panel = agent.locator(".conv:visible .customer-panel")

    # at phone width the panel starts folded below the conversation's head, and opens on demand
    agent.set_viewport_size(PHONE)
    expect(panel).not_to_have_attribute("open", "")
    expect(panel.locator(".customer-conv")).to_have_count(2)
    expect(panel.locator(".customer-conv").first).to_be_hidden()
    panel.locator("summary").click()
    expect(panel.locator(".customer-conv").first).to_be_visible()
    shoot(agent, "console-customer-panel-phone")
    watch.check()


def test_the_panel_stays_quiet_when_the_customer_cannot_be_loaded(browser: Browser, engine: WebEngine) -> None:
    base = engine.base
    watch = Watch()
    agent = new_page(browser, watch)
    agent.route("**/api/conversations/*/customer", lambda route: route.fulfill(
        status=503, content_type="application/json",
        body='{"error": {"code": "unavailable", "message": "busy"}}'))
    sign_in(agent, base)
    start_outreach(agent, "quiet@example.com", "A question for you.")
    conv = agent.locator(".conv:visible")
    expect(conv.locator(".customer-panel__note")).to_have_text("The customer details could not be loaded.")
    send(agent, "Still here.")
    expect(conv.locator(".msg--mine", has_text="Still here.")).to_have_attribute("data-state", "sent")
    watch.check()


def test_a_panel_follows_the_status_of_the_conversations_it_lists(browser: Browser, engine: WebEngine) -> None:
    base = engine.base
    watch = Watch()
    agent = new_page(browser, watch)
    sign_in(agent, base)
    r = httpx.post(base + "/api/chats", json={
        "queue": "messages", "name": "Olga Oak", "email": "olga@example.com", "question": "Is the shop open?",
        "consent": True})
    assert r.status_code == 201, r.text
    accept_offer(agent, "Is the shop open?")
    first = agent.locator(".conv:visible")
    expect(first.locator(".customer-panel")).to_contain_text("No other conversations.")

    # a second conversation with her lists the first as open
    start_outreach(agent, "olga@example.com", "Your order is ready.")
    second = agent.locator(".conv:visible")
    expect(second.locator(".log")).to_contain_text("Your order is ready.")
    listed = second.locator(".customer-conv .customer-conv__status")
    expect(listed).to_have_text("Open")

    # resolving the first one elsewhere in the console changes what the second one's panel says
    tabs = agent.get_by_role("tab", name="Olga Oak")
    expect(tabs).to_have_count(2)
    tabs.first.click()
    agent.locator(".conv:visible").get_by_role("button", name="Resolve").click()
    expect(tabs).to_have_count(1)
    tabs.click()
    expect(agent.locator(".conv:visible .customer-conv .customer-conv__status")).to_have_text("Resolved")
    watch.check()
