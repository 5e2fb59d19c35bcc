"""The customer's chat in Chromium: the widget's launcher tells what came while its panel was closed
(badge and preview, the host's title untouched), ``read`` goes out only while the conversation is
in front of the customer (panel open and page visible), and the forms check what the server
checks as the customer types, from the rules the queue view serves."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, FrameLocator, Page, expect
from test_web_e2e import (  # noqa: F401  (fixtures)
    CHROMIUM,
    Watch,
    WebEngine,
    browser_fixture,
    host_page,
    new_page,
    send,
    shoot,
    sign_in,
    web_engine_fixture,
)

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
    pytest.mark.timeout(300),
]

# visibility is emulated: a headless page is always visible, and a test must hide it at will
VISIBILITY = """(() => {
  let visible = true;
  Object.defineProperty(Document.prototype, 'visibilityState',
    { configurable: true, get: () => (visible ? 'visible' : 'hidden') });
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => !visible });
  window.__setVisible = (v) => { visible = v; document.dispatchEvent(new Event('visibilitychange')); };
})();"""




@pytest.fixture
def watch() -> Iterator[Watch]:
    w = Watch()
    yield w
    w.check()


def reads_sent(page: Page) -> list[int]:
    """The seq of every ``read`` frame the page's websockets send, as they go."""
    sent: list[int] = []

    def on_socket(ws: object) -> None:
        def on_frame(payload: str | bytes) -> None:
            if isinstance(payload, str) and '"read"' in payload:
                frame = json.loads(payload)
                if frame.get("type") == "read":
                    sent.append(int(frame["seq"]))
        ws.on("framesent", on_frame)  # type: ignore[attr-defined]

    page.on("websocket", on_socket)
    return sent


def accept_offer(agent: Page) -> None:
    agent.locator(".offer").get_by_role("button", name="Accept").click()
    expect(agent.locator("textarea.composer__input:visible")).to_be_visible()


def test_the_closed_widget_shows_a_badge_and_preview_and_reads_only_when_open(
        browser: Browser, web_engine: WebEngine, watch: Watch) -> None:
    base = web_engine.base
    agent = new_page(browser, watch)
    sign_in(agent, base)
    page = new_page(browser, watch)
    shop = ("<!doctype html><html lang=en><head><title>Shop</title></head><body><h1>Our shop</h1>"
            f"<script src='{base}/chat/widget.js' data-queue='support' data-lang='en'></script></body></html>")
    with host_page(shop) as url:
        page.goto(url)
        launcher = page.get_by_role("button", name="Chat with us")
        launcher.click()
        chat: FrameLocator = page.frame_locator("#frontdesk-chat-panel iframe")
        chat.locator("#pc-name").fill("Wanda Widget")
        chat.locator("#pc-email").fill("wanda@example.com")
        # Enter in the question starts the chat; Shift+Enter is a new line
        question = chat.locator("#pc-question")
        question.fill("Where is")
        question.press("Shift+Enter")
        question.type("my parcel?")
        expect(question).to_have_value("Where is\nmy parcel?")
        question.press("Enter")
        expect(chat.locator("#screen-chat")).to_be_visible()
        accept_offer(agent)
        send(agent, "Hello, I am looking.")
        expect(chat.locator(".msg__text").last).to_have_text("Hello, I am looking.")
        expect(agent.locator(".msg--mine").last).to_have_attribute("data-state", "read")

        # closed: a reply gets a badge and a preview, no read receipt, and the shop's title stays
        page.get_by_role("button", name="Close the chat").click()
        send(agent, "Your parcel ships today.")
        badge_button = page.get_by_role("button", name="Chat with us, one new message")
        expect(badge_button).to_be_visible()
        expect(badge_button).to_contain_text("1")
        preview = page.get_by_role("status")
        expect(preview).to_contain_text("Your parcel ships today.")
        send(agent, "It arrives on Friday.")
        expect(page.get_by_role("button", name="Chat with us, 2 new messages")).to_be_visible()
        expect(preview).to_contain_text("It arrives on Friday.")
        shoot(page, "widget-closed-unread")
        assert page.title() == "Shop"
        expect(agent.locator(".msg--mine").last).not_to_have_attribute("data-state", "read")

        # open: read at once, the badge and preview go
        preview.get_by_role("button", name="It arrives on Friday.").click()
        expect(agent.locator(".msg--mine").last).to_have_attribute("data-state", "read")
        expect(preview).to_be_hidden()
        expect(page.get_by_role("button", name="Close the chat")).to_be_visible()
        page.get_by_role("button", name="Close the chat").click()
        expect(page.get_by_role("button", name="Chat with us", exact=True)).to_be_visible()
        assert page.title() == "Shop"


def test_a_hidden_chat_page_sends_no_read_until_it_is_visible(
        browser: Browser, web_engine: WebEngine, watch: Watch) -> None:
    base = web_engine.base
    agent = new_page(browser, watch)
    sign_in(agent, base)
    customer = new_page(browser, watch)
    customer.add_init_script(VISIBILITY)
    reads = reads_sent(customer)
    customer.goto(f"{base}/chat?queue=support&lang=en")
    customer.locator("#pc-name").fill("Hilda Hidden")
    customer.locator("#pc-email").fill("hilda@example.com")
    customer.locator("#pc-question").fill("Can you hear me?")
    customer.locator("#prechat-submit").click()
    accept_offer(agent)
    send(agent, "Yes, loud and clear.")
    expect(agent.locator(".msg--mine").last).to_have_attribute("data-state", "read")

    customer.evaluate("() => window.__setVisible(false)")
    before = len(reads)
    send(agent, "Are you still there?")
    expect(customer.locator(".msg__text").last).to_have_text("Are you still there?")
    expect(customer).to_have_title("(1) Chat")
    customer.wait_for_function("() => document.hidden")
    assert len(reads) == before
    expect(agent.locator(".msg--mine").last).not_to_have_attribute("data-state", "read")

    customer.evaluate("() => window.__setVisible(true)")
    expect(agent.locator(".msg--mine").last).to_have_attribute("data-state", "read")
    expect(customer).to_have_title("Chat")
    assert len(reads) == before + 1


def test_forms_check_the_served_rules_as_the_customer_types(
        browser: Browser, web_engine: WebEngine, watch: Watch) -> None:
    base = web_engine.base
    agent = new_page(browser, watch)
    sign_in(agent, base)
    customer = new_page(browser, watch)
    customer.goto(f"{base}/chat?queue=support&lang=en")
    name, email = customer.locator("#pc-name"), customer.locator("#pc-email")
    question = customer.locator("#pc-question")
    # the limits come from the engine
    expect(name).to_have_attribute("maxlength", "200")
    expect(question).to_have_attribute("maxlength", "10000")

    # an address is checked when the customer leaves the field, and the error goes once it is right
    email.fill("wanda@")
    email.press("Tab")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(customer.locator("#pc-email-error")).to_have_text("Please enter a valid e-mail address.")
    email.fill("wanda@example")
    expect(customer.locator("#pc-email-error")).to_have_text("Please enter a valid e-mail address.")
    email.fill("wanda@example.com")
    expect(customer.locator("#pc-email-error")).to_be_hidden()
    expect(email).not_to_have_attribute("aria-invalid", "true")

    # sending shows every missing field at once, and nothing reaches the server
    email.fill("")
    customer.locator("#prechat-submit").click()
    for field in ("pc-name", "pc-email", "pc-question"):
        expect(customer.locator(f"#{field}-error")).to_have_text("Please fill in this field.")
    expect(name).to_be_focused()
    shoot(customer, "chat-prechat-errors")
    name.fill("Wanda Widget")
    expect(customer.locator("#pc-name-error")).to_be_hidden()
    email.fill("wanda@example.com")
    question.fill("Hello?")
    expect(customer.locator("#pc-question-error")).to_be_hidden()
    expect(customer.locator("#pc-email-error")).to_be_hidden()
    question.press("Enter")
    expect(customer.locator("#screen-chat")).to_be_visible()
    expect(agent.locator(".offer")).to_contain_text("Wanda Widget")


def test_a_closed_queue_shows_the_message_form_at_once(browser: Browser, web_engine: WebEngine,
                                                        watch: Watch) -> None:
    base = web_engine.base
    web_engine.sql("UPDATE queues SET opening_hours = '{\"never\": true}' WHERE name = 'after-hours';")
    customer = new_page(browser, watch)
    customer.goto(f"{base}/chat?queue=after-hours&lang=en")
    expect(customer.locator("#screen-closed")).to_be_visible()
    expect(customer.locator("#closed-title")).to_have_text("We are closed right now")
    expect(customer.locator("#screen-prechat")).to_be_hidden()
    shoot(customer, "chat-closed-at-once")
    customer.locator("#offline-submit").click()
    expect(customer.locator("#of-name-error")).to_have_text("Please fill in this field.")
    expect(customer.locator("#of-name")).to_be_focused()
    customer.locator("#of-name").fill("Olga Offline")
    expect(customer.locator("#of-name-error")).to_be_hidden()
    customer.locator("#of-email").fill("olga@example.com")
    customer.locator("#of-question").fill("Please call me back.")
    customer.locator("#offline-submit").click()
    expect(customer.locator("#request-number")).to_have_text(re.compile(r"^REQ-\d{6}$"))

    # support with nobody signed in: the same, at once
    customer.goto(f"{base}/chat?queue=support&lang=en")
    expect(customer.locator("#closed-title")).to_have_text("Nobody is available right now")
