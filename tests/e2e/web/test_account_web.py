"""The customer's account page (``/account``, PROTOCOL.md §6): sign-in by a one-time code from
the mail, in English or German, "my conversations" with unread counts and never a private note,
and a conversation opened from the list on the conversation page; a wrong code is said at the
code field. Headless Chromium against a real ``frontdesk serve``; screenshots at desktop and phone
width go to /tmp/fd-shots/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Postgres
from playwright.sync_api import Browser, Page, expect
from test_web_e2e import (
    CHROMIUM,
    Watch,
    WebEngine,
    browser_fixture,  # noqa: F401  (fixtures)
    new_page,
    shoot,
)

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
    pytest.mark.timeout(300),
]

EMAIL = "ria.reader@example.com"
CODE = re.compile(r"\b(\d{6})\b")
MAIL_WAIT_S = 20.0



@pytest.fixture
def engine(postgres: Postgres, tmp_path: Path) -> Iterator[WebEngine]:
    web = WebEngine(postgres, tmp_path)
    web.start()
    try:
        yield web
    finally:
        web.stop()


def two_conversations(base: str) -> None:
    """A chat the customer started, and a conversation an agent started with a reply and a note."""
    with httpx.Client(base_url=base) as http:
        r = http.post("/api/chats", json={"queue": "messages", "name": "Ria Reader", "email": EMAIL,
                                          "question": "Where is my parcel?", "consent": True})
        assert r.status_code == 201, r.text
        token = http.post("/api/agents/login", json={"email": "agent1@demo.test",
                                                     "password": "demo-password"}).json()["token"]
        r = http.post("/api/conversations", headers={"Authorization": f"Bearer {token}"},
                      json={"email": EMAIL, "queue": "messages", "text": "Your new card is ready."})
        assert r.status_code == 201, r.text


def mailed_code(engine: WebEngine) -> str:
    deadline = time.monotonic() + MAIL_WAIT_S
    while True:
        bodies = engine.sql(f"SELECT body_text FROM outbox WHERE recipient = '{EMAIL}' "
                            "AND subject ILIKE '%code%' ORDER BY created_at DESC LIMIT 1;")
        found = CODE.search(bodies)
        if found:
            return found.group(1)
        assert time.monotonic() < deadline, "no code mail in the outbox"
        time.sleep(0.2)


def request_code(page: Page, base: str, lang: str) -> None:
    page.goto(f"{base}/account?lang={lang}")
    page.locator("#si-email").fill(EMAIL)
    page.locator("#si-submit").click()
    expect(page.locator("#code-entry")).to_be_visible()


def test_a_customer_signs_in_with_a_code_and_opens_a_conversation_from_the_list(
        browser: Browser, engine: WebEngine) -> None:
    two_conversations(engine.base)
    watch = Watch()
    page = new_page(browser, watch)
    page.goto(f"{engine.base}/account?lang=en")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shoot(page, "account-signin")
    request_code(page, engine.base, "en")
    page.get_by_label("Code from the e-mail").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#si-code-error")).to_contain_text("wrong or has expired")
    page.get_by_label("Code from the e-mail").fill(mailed_code(engine))
    page.get_by_role("button", name="Sign in").click()
    items = page.locator(".conversation")
    expect(items).to_have_count(2)
    expect(page.locator("#greeting")).to_have_text("Signed in as Ria Reader.")
    started = items.filter(has_text="Your new card is ready.")
    expect(started.locator(".unread")).to_have_text("1")
    expect(items.filter(has_text="You: Where is my parcel?")).to_have_count(1)
    new_conversation = page.get_by_role("link", name="New conversation")
    expect(new_conversation).to_have_attribute("href", "/chat?queue=messages&lang=en")
    expect(page.get_by_label("Write to")).to_be_hidden()          # one messaging queue: nothing to choose
    shoot(page, "account-list")
    started.click()
    expect(page).to_have_url(re.compile(r"/chat/c/[0-9a-f-]{36}"))
    expect(page.locator("#screen-chat")).to_be_visible()
    expect(page.get_by_text("Your new card is ready.")).to_be_visible()
    assert "#t=" not in page.url            # the link token leaves the address bar
    watch.check()


def test_the_page_speaks_german_and_signing_out_forgets_the_account(browser: Browser, engine: WebEngine) -> None:
    two_conversations(engine.base)
    watch = Watch()
    page = new_page(browser, watch, locale="de-DE")
    request_code(page, engine.base, "de")
    expect(page.locator("#code-sent")).to_contain_text("Er gilt 10 Minuten")
    shoot(page, "account-code-de")
    page.get_by_label("Code aus der E-Mail").fill(mailed_code(engine))
    page.get_by_role("button", name="Anmelden").click()
    expect(page.locator(".conversation")).to_have_count(2)
    page.get_by_role("button", name="Abmelden").click()
    expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
    watch.check()


def test_a_customer_writes_first_to_their_branch_or_chooses_another(browser: Browser, engine: WebEngine) -> None:
    two_conversations(engine.base)
    engine.sql("INSERT INTO queues (name, title, mode) VALUES ('a-north', 'North branch', 'messaging'), "
               "('live-desk', 'Live desk', 'live');")
    watch = Watch()
    page = new_page(browser, watch)
    request_code(page, engine.base, "en")
    page.get_by_label("Code from the e-mail").fill(mailed_code(engine))
    page.get_by_role("button", name="Sign in").click()
    branch = page.get_by_label("Write to")
    # the queue of the latest conversation comes first, though another sorts before it; live queues are no branch
    expect(branch.locator("option")).to_have_text(["Messages", "North branch"])
    expect(branch).to_have_value("messages")
    shoot(page, "account-branch")
    branch.select_option(label="North branch")
    page.get_by_role("link", name="New conversation").click()
    expect(page).to_have_url(re.compile(r"/chat\?queue=a-north&lang=en$"))
    watch.check()
