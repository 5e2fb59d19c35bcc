"""Transfers in the agent console (PROTOCOL.md §8): "Transfer" beside "Invite" opens a dialog that
lists the colleagues of the chat's queue by name with presence and load (never an id), or a queue,
with an optional note; the colleague gets a card with the note and a countdown; the owner sees the
pending state, and a declined or expired transfer as an alert; the customer reads who took over and
never the note.

Headless Chromium against a real ``frontdesk serve`` on a fresh database, as in test_web_e2e.py
(whose helpers this test uses); screens are photographed at 1280 and 390 wide into /tmp/fd-shots/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Postgres
from playwright.sync_api import Browser, Page, expect
from test_web_e2e import (
    CHROMIUM,
    SHOTS,
    XSS,
    Watch,
    WebEngine,
    browser_fixture,  # noqa: F401  (fixtures)
    new_page,
    settle,
    sign_in,
    start_chat,
)

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
    pytest.mark.timeout(300),
]

NOTE = f"Refund approved, case 4711 {XSS}"
OFFER_TIMEOUT_MS = 8000     # long enough to click, short enough to watch a transfer expire



@pytest.fixture
def engine(postgres: Postgres, tmp_path: Path) -> Iterator[WebEngine]:
    web = WebEngine(postgres, tmp_path, FRONTDESK_OFFER_TIMEOUT_MS=str(OFFER_TIMEOUT_MS))
    web.start()
    try:
        yield web
    finally:
        web.stop()


def shoot(page: Page, name: str) -> None:
    """A screenshot 1280 and 390 wide."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for label, width in (("desktop", 1280), ("phone", 390)):
        page.set_viewport_size({"width": width, "height": 800})
        settle(page)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"))
    if size:
        page.set_viewport_size(size)
    settle(page)


def token_of(page: Page) -> str:
    return str(page.evaluate("() => JSON.parse(sessionStorage.getItem('frontdesk.agent')).token"))


def wait_until_listed_available(base: str, token: str, name: str) -> None:
    """The colleague list reads presence as the engine last wrote it (within half a second)."""
    with httpx.Client(base_url=base, timeout=10) as http:
        for _ in range(100):
            agents = http.get("/api/agents", headers={"Authorization": f"Bearer {token}"}).json()["agents"]
            if any(a["name"] == name and a["presence"] == "available" for a in agents):
                return
            time.sleep(0.1)
    raise AssertionError(f"{name} is not listed as available")


def open_transfer(page: Page) -> None:
    page.locator(".conv:visible").get_by_role("button", name="Transfer").click()
    expect(page.get_by_role("dialog", name="Transfer the chat with")).to_be_visible()


def presence_written(engine: WebEngine, agent_id: str, presence: str) -> None:
    """Waits until the Router has written the agent's presence where ``GET /api/agents`` reads it: it
    writes after the console has shown the change."""
    deadline = time.monotonic() + 10
    query = f"SELECT presence FROM agent_status WHERE agent_id = '{agent_id}';"
    while presence not in engine.sql(query).split():
        assert time.monotonic() < deadline, f"the presence {presence!r} of {agent_id} was never written"
        time.sleep(0.05)


def test_an_agent_hands_a_chat_to_a_colleague_picked_by_name(browser: Browser, engine: WebEngine) -> None:
    base = engine.base
    watch = Watch()
    one = new_page(browser, watch)
    two = new_page(browser, watch)
    customer = new_page(browser, watch)
    sign_in(one, base, 1)
    sign_in(two, base, 2)
    two.locator("#presence").click()            # away: the chat goes to agent one
    expect(two.locator("#presence")).to_have_attribute("aria-checked", "false")
    two_id = two.evaluate("() => JSON.parse(sessionStorage.getItem('frontdesk.agent')).agent.id")
    presence_written(engine, two_id, "away")      # what the colleagues' list reads

    start_chat(customer, base, "Cora Customer", "My parcel never arrived")
    one.locator(".offer").get_by_role("button", name="Accept").click()
    conv = one.locator(".conv:visible")
    expect(conv.locator(".log")).to_contain_text("My parcel never arrived")

    # the dialog: colleagues of this queue by name, with presence and load; agent two is away
    open_transfer(one)
    dialog = one.get_by_role("dialog", name="Transfer the chat with")
    expect(dialog).to_contain_text("Cora Customer")
    agents = dialog.locator(".transfer-agent")
    expect(agents).to_have_count(2)                     # agent two and three (support); never agent one
    expect(dialog.get_by_role("radio", name="Agent Two")).to_be_disabled()
    expect(agents.filter(has_text="Agent Two")).to_contain_text("Away")
    expect(agents.filter(has_text="Agent Three")).to_contain_text("Offline")
    expect(dialog).to_contain_text("Nobody of this queue can take the chat right now")
    expect(dialog).not_to_contain_text("Agent Four")   # sales only
    one.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(conv.get_by_role("button", name="Transfer")).to_be_focused()

    # a queue where nobody is free: the transfer waits at its head and then expires, as an alert
    open_transfer(one)
    dialog.get_by_role("radio", name="A queue").check()
    dialog.get_by_label("Queue", exact=True).select_option("sales")
    dialog.get_by_role("button", name="Transfer").click()
    expect(conv.locator(".transfer__status")).to_contain_text("Transfer to someone in sales pending")
    expect(conv.get_by_role("button", name="Transfer")).to_have_attribute("aria-disabled", "true")
    shoot(one, "console-transfer-pending")
    # a reload of the console: the engine's welcome lists the transfer, still pending
    one.reload()
    one.locator(".tab", has_text="Cora Customer").click()
    expect(conv.locator(".transfer__status")).to_contain_text("Transfer to someone in sales pending")
    expect(conv.get_by_role("button", name="Transfer")).to_have_attribute("aria-disabled", "true")
    alert = conv.get_by_role("alert")
    expect(alert).to_contain_text("Nobody accepted the transfer in time. The chat stays with you.",
                                  timeout=OFFER_TIMEOUT_MS + 10_000)
    expect(conv.locator(".transfer__status")).to_have_text("")
    shoot(one, "console-transfer-expired")

    # agent two is available again: picked by name, with a note; declined
    two.locator("#presence").click()
    expect(two.locator("#presence")).to_have_attribute("aria-checked", "true")
    wait_until_listed_available(base, token_of(one), "Agent Two")
    open_transfer(one)
    expect(agents.filter(has_text="Agent Two")).to_contain_text("Available")
    expect(agents.filter(has_text="Agent Two")).to_contain_text("0 of 3 chats")
    expect(dialog.get_by_role("radio", name="Agent Two")).to_be_checked()
    assert two_id not in dialog.inner_text()          # picked by name, never by id
    dialog.get_by_label("Note for your colleague (optional)").fill(NOTE)
    shoot(one, "console-transfer-dialog")
    dialog.get_by_role("button", name="Transfer").click()
    expect(alert).to_be_hidden()
    card = two.locator(".transfer-offer")
    expect(card).to_contain_text("Agent One hands you a chat")
    expect(card).to_contain_text("Cora Customer")
    expect(card.locator("blockquote")).to_have_text(NOTE)    # markup stays text
    expect(card.locator(".countdown")).to_contain_text("Expires in")
    shoot(two, "console-transfer-offer")
    card.get_by_role("button", name="Decline").click()
    expect(card).to_have_count(0)
    expect(alert).to_contain_text("Agent Two declined the transfer. The chat stays with you.")
    shoot(one, "console-transfer-declined")
    alert.get_by_role("button", name="Dismiss").click()
    expect(alert).to_be_hidden()

    # again, accepted: agent two owns the chat and reads the note first; the customer reads who took over
    open_transfer(one)
    dialog.get_by_label("Note for your colleague (optional)").fill(NOTE)
    dialog.get_by_role("button", name="Transfer").click()
    card.get_by_role("button", name="Take over").click()
    conv2 = two.locator(".conv:visible")
    expect(conv2.locator(".msg--private")).to_contain_text(NOTE)
    expect(conv2.locator(".log")).to_contain_text("Agent Two has taken over the conversation.")
    expect(conv2.get_by_role("button", name="End chat")).to_be_visible()
    expect(conv.locator(".conv__banner")).to_have_text("You handed this chat over (Agent Two).")
    expect(customer.locator("#log")).to_contain_text("Agent Two has taken over the conversation.")
    expect(customer.locator("#log")).not_to_contain_text("Refund approved")
    shoot(two, "console-transfer-accepted")
    shoot(one, "console-transfer-handed-over")
    shoot(customer, "chat-transfer-customer")
    watch.check()
