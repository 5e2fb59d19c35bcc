"""The browser clients with a messaging queue (PROTOCOL.md §7; the demo queue ``messages``, which
has a consent notice): the notice and its checkbox on the pre-chat and offline forms, the page a
notification mail's link opens (``/chat/c/{id}#t=<link token>``) in a browser that never saw the
chat, and the agent console's status, "Set pending" and "Resolve", reminders and unread counts.

Headless Chromium against a real ``frontdesk serve`` on a fresh database, as in test_web_e2e.py
(whose helpers these tests use); every screen is photographed at desktop and phone width into
/tmp/fd-shots/.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Postgres
from playwright.sync_api import Browser, FilePayload, Page, expect
from test_web_e2e import (
    CHROMIUM,
    Watch,
    WebEngine,
    before_unload_blocks,
    browser_fixture,  # noqa: F401  (fixtures)
    new_page,
    png_bytes,
    send,
    shoot,
    sign_in,
)

from frontdesk.engine.storage.demo import CONSENT

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
    pytest.mark.timeout(300),
]

LINK = re.compile(r"http://127\.0\.0\.1:\d+/chat/c/([0-9a-f-]{36})#t=([A-Za-z0-9_-]+)")
# the agent's unread reply is mailed after a second, and the owner reminded after one
MESSAGING_ENV = {"FRONTDESK_NOTIFY_AFTER_S": "1", "FRONTDESK_AGENT_REMIND_AFTER_S": "1"}
MAIL_WAIT_S = 20.0
AGREE = "I have read this notice and agree."



@pytest.fixture
def engine(postgres: Postgres, tmp_path: Path) -> Iterator[WebEngine]:
    web = WebEngine(postgres, tmp_path, **MESSAGING_ENV)
    web.env["FRONTDESK_PUBLIC_URL"] = web.base         # the mail's link leads back to this engine
    web.start()
    try:
        yield web
    finally:
        web.stop()


def fill_prechat(page: Page, base: str, name: str, email: str, question: str) -> None:
    page.goto(f"{base}/chat?queue=messages&lang=en")
    form = page.locator("#prechat")
    expect(form.locator("#pc-consent-notice")).to_have_text(CONSENT["messages"])
    form.get_by_label("Your name").fill(name)
    form.get_by_label("E-mail address").fill(email)
    form.get_by_label("Your question", exact=True).fill(question)


def start_messaging_chat(page: Page, base: str, name: str, email: str, question: str) -> None:
    fill_prechat(page, base, name, email, question)
    page.locator("#prechat").get_by_label(AGREE).check()
    page.locator("#prechat").get_by_role("button", name="Start chat").click()
    expect(page.locator("#screen-chat")).to_be_visible()


def mailed_link(engine: WebEngine, email: str) -> str:
    """The link of the first notification mail to ``email`` (the outbox holds it once the engine
    has queued it; nothing reads it without an SMTP server)."""
    deadline = time.monotonic() + MAIL_WAIT_S
    while True:
        found = LINK.search(engine.sql(f"SELECT body_text FROM outbox WHERE recipient = '{email}';"))
        if found:
            return found.group(0)
        assert time.monotonic() < deadline, "no notification mail in the outbox"
        time.sleep(0.2)


def accept_offer(agent: Page, text: str) -> None:
    offer = agent.locator(".offer", has_text=text)
    offer.get_by_role("button", name="Accept").click()
    expect(agent.locator(".offer")).to_have_count(0)


# ---- the link of a notification mail ----------------------------------------------------------

def test_a_mails_link_opens_the_conversation_in_another_browser_and_writing_reopens_it(
        browser: Browser, engine: WebEngine) -> None:
    base = engine.base
    watch = Watch()
    agent = new_page(browser, watch)
    customer = new_page(browser, watch)
    sign_in(agent, base)
    start_messaging_chat(customer, base, "Mila Meier", "mila@example.com", "Can you check my invoice?")
    accept_offer(agent, "Can you check my invoice?")
    conv = agent.locator(".conv:visible")
    expect(conv.locator(".conv__status-pill")).to_have_text("Status: Open")
    expect(customer.locator("#log")).to_contain_text("Agent One joined the chat")
    customer.context.close()            # the customer leaves: a messaging conversation goes on

    # the agent answers with a picture; the customer, gone, is mailed a link
    png = png_bytes()
    picture: FilePayload = {"name": "invoice.png", "mimeType": "image/png", "buffer": png}
    conv.locator(".file-input").set_input_files(files=[picture])
    expect(conv.locator(".tray .chip--done")).to_contain_text("invoice.png")
    send(agent, "Your invoice is corrected, see the picture.")
    expect(conv.locator(".msg--mine", has_text="Your invoice is corrected")).to_have_attribute("data-state", "sent")
    url = mailed_link(engine, "mila@example.com")
    match = LINK.fullmatch(url)
    assert match is not None
    cid, token = match.groups()

    conv.get_by_role("button", name="Set pending").click()
    expect(agent.locator("#console-note-text")).to_contain_text("The conversation with Mila Meier is pending")
    expect(agent.locator(".tab", has_text="Mila Meier")).to_have_count(0)

    # the question was asked three weeks ago (the conversation rests as rows until someone comes)
    engine.sql(f"UPDATE messages SET created_at = created_at - interval '21 days' "
               f"WHERE conversation_id = '{cid}' AND seq = 1;")

    # another browser, nobody signed in: the whole conversation, attachments included
    linked = new_page(browser, watch)
    linked.goto(url)
    log = linked.locator("#log")
    expect(log).to_contain_text("Can you check my invoice?")
    expect(log.locator(".msg time").first).to_have_text(re.compile(r"\b20\d\d\b"))       # with its date
    expect(log.locator(".msg time").last).to_have_text(re.compile(r"^\d{1,2}:\d\d\s?[AP]M$"))   # today: the time
    expect(log).to_contain_text("Your invoice is corrected, see the picture.")
    expect(log.locator(".file__name")).to_have_text("invoice.png")
    expect(log.locator("img.file__preview")).to_be_visible()
    expect(linked.locator("#chat-banner")).to_have_attribute("role", "status")
    expect(linked.locator("#banner-main")).to_have_text(
        "We are waiting for your reply — write to continue the conversation.")
    expect(linked.get_by_role("button", name="Mark as resolved")).to_be_hidden()
    # the token left the address bar at once and lives in this tab's sessionStorage
    assert linked.url == f"{base}/chat/c/{cid}"
    kept = linked.evaluate(f"() => JSON.parse(sessionStorage.getItem('frontdesk.chat.c.{cid}'))")
    assert kept["token"] == token and kept["queue"] == "messages"
    shoot(linked, "chat-link-pending")
    with linked.expect_download() as download:
        log.locator(".file__open", has_text="invoice.png").click()
    assert Path(download.value.path()).read_bytes() == png

    # a reload of the tab opens it again, without the token in the address
    linked.reload()
    expect(log).to_contain_text("Your invoice is corrected, see the picture.")
    expect(log.locator(".msg")).to_have_count(2)

    # writing reopens it: it waits again, offered to its last owner first
    send(linked, "Thanks! One more question about the due date.")
    expect(log.locator(".notice", has_text="The conversation is open again.")).to_be_visible()
    accept_offer(agent, "One more question about the due date")
    expect(log).to_contain_text("Agent One joined the chat")
    expect(linked.locator("#chat-banner")).to_be_hidden()
    conv = agent.locator(".conv:visible")
    expect(conv.locator(".log")).to_contain_text("Your invoice is corrected, see the picture.")
    send(agent, "The due date is the 30th.")
    expect(log).to_contain_text("The due date is the 30th.")

    # the customer resolves it, and may write again whenever
    linked.get_by_role("button", name="Mark as resolved").click()
    dialog = linked.locator("#end-dialog")
    expect(dialog.get_by_role("heading")).to_have_text("Mark this conversation as resolved?")
    expect(dialog).to_contain_text("You can write again at any time")
    expect(dialog.get_by_label("Send me the transcript by e-mail")).to_be_hidden()
    shoot(linked, "chat-link-resolve-dialog")
    linked.locator("#end-confirm").click()
    expect(log.locator(".notice", has_text="You marked the conversation as resolved.")).to_be_visible()
    expect(linked.locator("#banner-main")).to_have_text("This conversation is resolved — write to reopen it.")
    expect(linked.locator("#message-input")).to_be_editable()
    expect(agent.locator("#console-note-text")).to_have_text(
        "Mila Meier marked the conversation as resolved; it left your list.")
    expect(agent.locator(".tab", has_text="Mila Meier")).to_have_count(0)
    shoot(linked, "chat-link-resolved")
    assert "resolved" in engine.sql(f"SELECT status FROM conversations WHERE id = '{cid}';")

    # the token under another conversation's address is no link at all
    altered = new_page(browser, watch)
    altered.goto(url.replace(cid, str(uuid.uuid4())))
    expect(altered.locator("#error-text")).to_have_text(re.compile("^This link does not work any more"))

    # once the link has expired it says so, and offers a new chat instead
    engine.sql("UPDATE tokens SET expires_at = now() - interval '1 second' WHERE kind = 'link';")
    late = new_page(browser, watch)
    late.goto(url)
    expect(late.locator("#error-text")).to_have_text(re.compile("^This link does not work any more"))
    expect(late.get_by_role("link", name="Start a new chat")).to_have_attribute("href", "/chat")
    linked.reload()
    expect(linked.locator("#error-text")).to_have_text(re.compile("^This link does not work any more"))
    expect(linked.get_by_role("link", name="Start a new chat")).to_have_attribute("href", "/chat?queue=messages")
    watch.check()


def test_a_link_that_does_not_work_says_so_and_leads_to_a_new_chat(browser: Browser, engine: WebEngine) -> None:
    watch = Watch()
    page = new_page(browser, watch, locale="de-DE")
    cid = uuid.uuid4()
    page.goto(f"{engine.base}/chat/c/{cid}#t=not-a-token-of-ours")
    expect(page.locator("#error-text")).to_have_text(re.compile("^Dieser Link funktioniert nicht mehr"))
    expect(page.get_by_role("button", name="Erneut versuchen")).to_be_hidden()
    assert page.url == f"{engine.base}/chat/c/{cid}"
    shoot(page, "chat-link-invalid-de")
    page.get_by_role("link", name="Neuen Chat beginnen").click()
    # the default queue is live and nobody is signed in: the new chat page takes a message at once
    expect(page.locator("#screen-closed")).to_be_visible()
    expect(page.locator("#closed-title")).to_have_text("Gerade ist niemand erreichbar")

    # a link without its token, in English
    page.goto(f"{engine.base}/chat/c/{cid}?lang=en")
    expect(page.locator("#error-text")).to_have_text(re.compile("^This link does not work any more"))
    expect(page.get_by_role("link", name="Start a new chat")).to_have_attribute("href", "/chat?lang=en")
    watch.check()


# ---- consent ------------------------------------------------------------------------------------

def test_the_forms_of_a_queue_with_a_notice_ask_for_consent(browser: Browser, engine: WebEngine) -> None:
    """``messages`` asks for consent on its pre-chat form; closed by its hours (a messaging queue that
    is open takes conversations while nobody is online) it shows the offline form at once, which asks too."""
    watch = Watch()
    page = new_page(browser, watch)
    fill_prechat(page, engine.base, "Olga Offline", "olga@example.com", "Please call me back.")
    form = page.locator("#prechat")
    shoot(page, "chat-prechat-consent")
    form.get_by_role("button", name="Start chat").click()
    box = form.get_by_label(AGREE)
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#pc-consent-error")).to_have_text("Please agree to the notice to continue.")
    expect(box).to_be_focused()
    assert box.get_attribute("aria-describedby") == "pc-consent-error pc-consent-notice"
    shoot(page, "chat-prechat-consent-error")
    box.check()
    expect(page.locator("#pc-consent-error")).to_be_hidden()

    engine.sql("UPDATE queues SET opening_hours = '{\"never\": true}' WHERE name = 'messages';")
    page.reload()
    offline = page.locator("#offline")
    expect(page.locator("#closed-title")).to_have_text("We are closed right now")
    expect(offline.locator("#of-consent-notice")).to_have_text(CONSENT["messages"])
    agree = offline.get_by_label(AGREE)
    expect(agree).not_to_be_checked()
    offline.get_by_label("Your name").fill("Olga Offline")
    offline.get_by_label("E-mail address").fill("olga@example.com")
    offline.get_by_label("Your message").fill("Please call me back.")
    offline.get_by_role("button", name="Send message").click()
    expect(page.locator("#of-consent-error")).to_have_text("Please agree to the notice to continue.")
    assert agree.get_attribute("aria-describedby") == "of-consent-error of-consent-notice"
    shoot(page, "chat-offline-consent-error")
    agree.check()
    offline.get_by_role("button", name="Send message").click()
    expect(page.locator("#request-number")).to_have_text(re.compile(r"^REQ-\d{6}$"))
    assert agree.get_attribute("aria-describedby") == "of-consent-notice"
    stored = engine.sql("SELECT consent_at IS NOT NULL AS agreed FROM offline_requests WHERE name = 'Olga Offline';")
    assert re.search(r"\bt\b", stored), stored
    watch.check()


# ---- the agent console -------------------------------------------------------------------------

def test_the_console_shows_status_reminders_and_unread_counts_and_sets_conversations_aside(
        browser: Browser, engine: WebEngine) -> None:
    base = engine.base
    watch = Watch()
    agent = new_page(browser, watch)
    customer = new_page(browser, watch)
    sign_in(agent, base)
    start_messaging_chat(customer, base, "Mila Meier", "mila@example.com", "Where is my parcel?")
    agreed = engine.sql("SELECT consent_at IS NOT NULL AS agreed FROM conversations "
                        "WHERE customer_name = 'Mila Meier';")
    assert re.search(r"\bt\b", agreed), agreed
    accept_offer(agent, "Where is my parcel?")
    conv = agent.locator(".conv:visible")
    expect(conv.locator(".conv__status-pill")).to_have_text("Status: Open")
    expect(conv.get_by_role("button", name="End chat")).to_be_hidden()
    expect(conv.get_by_role("button", name="Set pending")).to_be_visible()
    expect(conv.get_by_role("button", name="Resolve")).to_be_visible()
    expect(customer.get_by_role("button", name="Mark as resolved")).to_be_visible()
    shoot(agent, "agent-messaging-open")

    # the customer writes while the agent looks elsewhere: a count, then a reminder on the tab
    agent.get_by_role("tab", name="Offline requests").click()
    send(customer, "Hello?")
    send(customer, "Anyone there?")
    tab = agent.locator(".tab", has_text="Mila Meier")
    expect(tab.locator(".badge")).to_have_text("2")
    expect(tab.locator(".tab__reminder")).to_be_visible()
    expect(tab).to_have_accessible_name(re.compile("Reminder"))
    waiting = re.compile(r"^Waiting for your answer since .+: 2 unread messages\.$")
    expect(agent.locator(".conv__reminder")).to_have_text(waiting)
    expect(tab).to_have_attribute("title", waiting)
    shoot(agent, "agent-messaging-reminder")

    # a reload of the console: the engine's welcome brings the unread count back
    agent.reload()
    expect(tab.locator(".badge")).to_have_text("2")
    expect(tab.locator(".tab__reminder")).to_be_visible()
    tab.click()
    expect(conv.locator(".log")).to_contain_text("Anyone there?")
    expect(tab.locator(".badge")).to_be_hidden()
    expect(tab.locator(".tab__reminder")).to_be_hidden()
    expect(tab).not_to_have_attribute("title", waiting)
    expect(conv.locator(".conv__reminder")).to_be_hidden()
    expect(customer.locator(".msg--mine").last).to_have_attribute("data-state", "read")

    # set pending: the conversation leaves the list, the customer sees it calmly
    conv.get_by_role("button", name="Set pending").click()
    note = agent.locator("#console-note-text")
    expect(note).to_contain_text("The conversation with Mila Meier is pending")
    expect(agent.locator("#console-note-live")).to_contain_text("is pending")
    expect(tab).to_have_count(0)
    expect(agent.locator("#tab-requests")).to_have_attribute("aria-selected", "true")
    expect(agent.locator("#tab-requests")).to_be_focused()
    expect(customer.locator("#log .notice", has_text="The agent is waiting for your reply.")).to_be_visible()
    expect(customer.locator("#banner-main")).to_have_text(
        "We are waiting for your reply — write to continue the conversation.")
    expect(customer.get_by_role("button", name="Mark as resolved")).to_be_hidden()
    shoot(agent, "agent-messaging-pending")
    shoot(customer, "chat-messaging-pending")
    assert not before_unload_blocks(agent)

    # the customer's next message brings it back to the same agent, with its history
    send(customer, "I found the tracking number.")
    expect(customer.locator("#log .notice", has_text="The conversation is open again.")).to_be_visible()
    accept_offer(agent, "I found the tracking number.")
    expect(conv.locator(".log")).to_contain_text("Where is my parcel?")
    expect(conv.locator(".conv__status-pill")).to_have_text("Status: Open")

    conv.get_by_role("button", name="Resolve").click()
    expect(note).to_have_text("The conversation with Mila Meier is resolved and left your list.")
    expect(customer.locator("#log .notice", has_text="The agent marked the conversation as resolved.")).to_be_visible()
    expect(customer.locator("#banner-main")).to_have_text("This conversation is resolved — write to reopen it.")
    shoot(agent, "agent-messaging-resolved")
    shoot(customer, "chat-messaging-resolved")
    agent.get_by_role("button", name="Dismiss").click()
    expect(agent.locator("#console-note")).to_be_hidden()
    watch.check()
