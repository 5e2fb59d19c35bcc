"""The console's supervisor mode (PROTOCOL.md §8): a supervisor signs in at /agent, sees the floor
(running conversations with wait and owner, agents with presence and load), watches a chat and
whispers to its agent, reassigns it to a colleague picked by name, takes it over, sets an agent
away, and sees a queue with waiting customers and nobody available highlighted.

Headless Chromium against a real ``frontdesk serve`` on a fresh database, as in test_web_e2e.py
(whose helpers these tests use); every screen is photographed at desktop and phone width into
/tmp/fd-shots/.
"""

from __future__ import annotations

import pytest
from conftest import PASSWORD
from playwright.sync_api import Browser, Page, expect
from test_messaging_web import accept_offer
from test_web_e2e import (  # noqa: F401  (fixtures)
    CHROMIUM,
    Watch,
    WebEngine,
    browser_fixture,
    new_page,
    send,
    shoot,
    sign_in,
    start_chat,
    web_engine_fixture,
)

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
    pytest.mark.timeout(300),
]




def sign_in_supervisor(page: Page, base: str) -> None:
    page.goto(f"{base}/agent?lang=en")
    page.get_by_label("E-mail address").fill("supervisor@demo.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Sign in as supervisor").check()
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("tab", name="Floor")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#me-role")).to_be_visible()
    expect(page.locator("#presence")).to_be_hidden()


def test_a_supervisor_watches_whispers_reassigns_takes_over_and_sets_presence(
        browser: Browser, web_engine: WebEngine) -> None:
    base = web_engine.base
    watch = Watch()
    agent1, agent2 = new_page(browser, watch), new_page(browser, watch)
    sign_in(agent1, base, 1)
    customer = new_page(browser, watch)
    start_chat(customer, base, "Cora Customer", "My parcel is late")
    accept_offer(agent1, "Cora Customer")
    sign_in(agent2, base, 2)
    sup = new_page(browser, watch)
    sign_in_supervisor(sup, base)

    # the floor: the running chat with its owner and how long, the agents with presence and load
    row = sup.locator(".floor-row", has_text="Cora Customer")
    expect(row).to_contain_text("With Agent One for")
    agent_one = sup.locator(".floor-agent", has_text="Agent One")
    expect(agent_one).to_contain_text("Available")
    expect(agent_one).to_contain_text("1 of 3 chats")
    expect(sup.locator(".floor-agent", has_text="Agent Four")).to_contain_text("Offline")
    shoot(sup, "supervisor-floor")

    # watch: read-only, a whisper reaches the agent and never the customer
    row.get_by_role("button", name="Watch: Cora Customer").click()
    expect(sup.get_by_role("tab", name="Cora Customer")).to_have_attribute("aria-selected", "true")
    expect(sup.locator(".conv__watching:visible")).to_contain_text("Neither the customer nor the agents see you")
    expect(sup.locator(".log:visible")).to_contain_text("My parcel is late")
    expect(sup.locator("textarea.composer__input:visible")).to_have_attribute("placeholder", "Whisper to the agents…")
    send(sup, "Offer free shipping")
    expect(agent1.locator(".log:visible")).to_contain_text("Offer free shipping")
    send(customer, "Hello?")
    expect(sup.locator(".log:visible")).to_contain_text("Hello?")
    shoot(sup, "supervisor-watching")
    expect(customer.locator(".log")).not_to_contain_text("Offer free shipping")

    # reassign to a colleague picked by name with presence and load
    sup.get_by_role("button", name="Reassign").click()
    picker = sup.get_by_label("Give this conversation to")
    expect(picker.locator("option")).to_have_text(["Agent Two · Available · 0 of 3 chats"])
    shoot(sup, "supervisor-reassign")
    sup.get_by_role("button", name="Reassign now").click()
    expect(agent2.get_by_role("tab", name="Cora Customer")).to_be_visible()
    expect(customer.locator(".log")).to_contain_text("Agent Two has taken over the conversation.")
    # the old owner reads who has the chat now
    expect(agent1.locator(".conv__banner:visible")).to_have_text("A supervisor gave this chat to Agent Two.")
    shoot(agent1, "agent-reassigned-away")

    # take over: the supervisor owns the chat and writes to the customer
    sup.get_by_role("button", name="Take over").click()
    expect(customer.locator(".log")).to_contain_text("Supervisor has taken over the conversation.")
    expect(sup.locator(".conv__watching:visible")).to_have_count(0)
    expect(sup.locator(".act-end:visible")).to_be_visible()
    send(sup, "I am the team lead, I will sort this out")
    expect(customer.locator(".log")).to_contain_text("I am the team lead")

    # presence from the floor, followed by the agent's console; a queue nobody serves stands out
    sup.get_by_role("tab", name="Floor").click()
    sup.get_by_role("button", name="Set away: Agent One").click()
    expect(agent1.locator("#presence")).to_have_attribute("aria-checked", "false")
    sup.get_by_role("button", name="Set away: Agent Two").click()
    expect(agent2.locator("#presence")).to_have_attribute("aria-checked", "false")
    late = new_page(browser, watch)
    start_chat(late, base, "Wanda Waiting", "Anyone there?")
    alert = sup.locator(".floor-alert")
    expect(alert).to_have_text("Queue support: one customer waiting and nobody available.")
    expect(sup.locator(".floor-row--waiting", has_text="Wanda Waiting")).to_contain_text("Waiting for")
    expect(sup.locator("#floor-waiting")).to_have_text("1")
    shoot(sup, "supervisor-unattended")
    watch.check()
