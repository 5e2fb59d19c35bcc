"""The browser clients (engine/edge/static.py, engine/web/) end to end: headless Chromium (Debian's
``/usr/bin/chromium``) driven by Playwright's sync API against a real ``frontdesk serve``
subprocess on a fresh database (sync tests: Playwright's sync API cannot run inside trio).

A customer and an agent in two browser contexts run whole chats; every screen is photographed at
desktop and phone width into /tmp/fd-shots/ (for people to look at; nothing compares them).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import http.server
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from conftest import PASSWORD, Postgres

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, Dialog, FilePayload, Page, ViewportSize, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
FRONTDESK = Path(sys.executable).with_name("frontdesk")
SHOTS = Path("/tmp/fd-shots")
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 360, "height": 740}
START_TIMEOUT_S = 30.0
ENV = {"FRONTDESK_OFFER_TIMEOUT_MS": "60000", "FRONTDESK_RECONNECT_GRACE_MS": "30000",
       "FRONTDESK_CUSTOMER_GRACE_MS": "60000", "FRONTDESK_MISSED_OFFERS_AWAY": "2",
       "FRONTDESK_MAX_WAIT_S": "600", "FRONTDESK_RATE_LIMIT": "0"}
XSS = "<img src=x onerror=alert(1)>"

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
    pytest.mark.timeout(300),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WebEngine:
    """``frontdesk serve`` in its own process group on a fresh copy of the demo database."""

    def __init__(self, postgres: Postgres, tmp_path: Path, **env: str):
        self.env = ENV | env
        self.postgres = postgres
        self.database_url = postgres.fresh()
        self.data_dir = tmp_path / "data"
        self.log_path = tmp_path / "engine.log"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")} | self.env
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(FRONTDESK), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--database-url", self.database_url, "--data-dir", str(self.data_dir)],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert self.proc.poll() is None, self.log_path.read_text()
            try:
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the engine did not start:\n" + self.log_path.read_text()
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: the engine is gone at once, as in a crash or a network cut."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            self.proc = None

    def sql(self, query: str) -> str:
        name = re.search(r"@/(\w+)\?", self.database_url)
        assert name is not None
        return self.postgres.psql(f"\\c {name.group(1)}\n{query}")


@pytest.fixture(name="web_engine")
def web_engine_fixture(postgres: Postgres, tmp_path: Path) -> Iterator[WebEngine]:
    """The engine with the demo data on a fresh database; the other browser tests import it."""
    engine = WebEngine(postgres, tmp_path)
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright."""
    # importing the engine installs trio-asyncio's event loop policy; Playwright needs a plain asyncio loop
    policy = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            yield b
            b.close()
    finally:
        asyncio.set_event_loop_policy(policy)


@pytest.fixture(scope="module", name="browser")
def browser_fixture() -> Iterator[Browser]:
    """One Chromium per test module; the other browser tests import it."""
    with chromium() as b:
        yield b


@dataclass
class Watch:
    """What a page did that it must not: dialogs (alert), script errors, CSP violations, missing files."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> Page:
        def on_dialog(d: Dialog) -> None:
            if d.type == "beforeunload":
                d.accept()
                return
            self.dialogs.append(f"{d.type}: {d.message}")
            d.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("response", lambda r: self.errors.append(f"404: {r.url}") if r.status == 404 else None)
        page.on("console", lambda m: self.errors.append(f"console: {m.text}")
                if m.type == "error" and "Content Security Policy" in m.text else None)
        return page

    def check(self) -> None:
        assert self.dialogs == []
        assert self.errors == []


def new_page(browser: Browser, watch: Watch, **options: Any) -> Page:
    context = browser.new_context(**({"viewport": DESKTOP, "locale": "en-US", "accept_downloads": True} | options))
    context.set_default_timeout(15_000)
    return watch.attach(context.new_page())


# the page's finite transitions and animations (the presence switch's thumb) have finished, and a
# frame was drawn since: what a screenshot should show
SETTLED = """() => Promise.all(document.getAnimations()
        .filter(a => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
        .map(a => a.finished.catch(() => null)))
    .then(() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(null)))))"""


def settle(page: Page) -> None:
    page.evaluate(SETTLED)


def shoot(page: Page, name: str) -> None:
    """A screenshot at desktop and at phone width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or DESKTOP
    settle(page)
    page.screenshot(path=str(SHOTS / f"{name}-desktop.png"))
    page.set_viewport_size(PHONE)
    settle(page)
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"))
    page.set_viewport_size(size)
    settle(page)


def png_bytes(width: int = 96, height: int = 64) -> bytes:
    """A real PNG: a blue and orange picture."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    def pixel(x: int, y: int) -> bytes:
        return b"\x0a\x58\xca\xff" if (x // 16 + y // 16) % 2 else b"\xf0\x90\x20\xff"

    raw = b"".join(b"\x00" + b"".join(pixel(x, y) for x in range(width)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def sign_in(page: Page, base: str, n: int = 1, shot: str | None = None) -> None:
    page.goto(f"{base}/agent?lang=en")
    page.get_by_label("E-mail address").fill(f"agent{n}@demo.test")
    page.get_by_label("Password").fill(PASSWORD)
    if shot:
        shoot(page, shot)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#presence")).to_have_attribute("aria-checked", "true")


def start_chat(page: Page, base: str, name: str, question: str, queue: str = "support") -> None:
    page.goto(f"{base}/chat?queue={queue}&lang=en")
    form = page.locator("#prechat")
    form.get_by_label("Your name").fill(name)
    form.get_by_label("E-mail address").fill("cora@example.com")
    form.get_by_label("Your question", exact=True).fill(question)
    form.get_by_role("button", name="Start chat").click()


def send(page: Page, text: str) -> None:
    box = page.locator("textarea.composer__input:visible")
    box.fill(text)
    box.press("Enter")


def before_unload_blocks(page: Page) -> bool:
    return bool(page.evaluate(
        "() => { const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e);"
        " return e.defaultPrevented; }"))


# ---- the pages and their headers ------------------------------------------------------------

CSP_PARTS = ["default-src 'self'", "connect-src 'self' ws: wss:", "img-src 'self' data: blob:", "style-src 'self'",
             "script-src 'self'", "object-src 'none'", "base-uri 'none'"]


def test_pages_are_served_with_csp_and_nosniff(web_engine: WebEngine) -> None:
    with httpx.Client(base_url=web_engine.base, timeout=10) as http:
        for path, kind in [("/chat", "text/html"), ("/chat/", "text/html"), ("/chat/chat.js", "text/javascript"),
                           ("/chat/c/5d7a9a2e-8f3b-4c1e-9a57-0c8e2b6f4d10", "text/html"),
                           ("/chat/forms.js", "text/javascript"), ("/chat/link.js", "text/javascript"),
                           ("/agent/messaging.js", "text/javascript"),
                           ("/chat/widget.js", "text/javascript"), ("/chat/chat.css", "text/css"),
                           ("/agent", "text/html"), ("/agent/agent.js", "text/javascript"),
                           ("/web/shared/protocol.js", "text/javascript"), ("/web/shared/base.css", "text/css"),
                           ("/web/shared/favicon.svg", "image/svg+xml")]:
            r = http.get(path)
            assert r.status_code == 200, path
            assert r.headers["content-type"].startswith(kind), path
            assert r.headers["x-content-type-options"] == "nosniff", path
            csp = r.headers["content-security-policy"]
            for part in CSP_PARTS:
                assert part in csp, (path, part)
            assert "unsafe" not in csp
        assert "frame-ancestors *" in http.get("/chat").headers["content-security-policy"]
        link_page = http.get("/chat/c/5d7a9a2e-8f3b-4c1e-9a57-0c8e2b6f4d10")
        assert link_page.content == http.get("/chat").content           # the customer chat's own page
        assert link_page.headers["referrer-policy"] == "same-origin"
        agent = http.get("/agent")
        assert "frame-ancestors 'self'" in agent.headers["content-security-policy"]
        assert agent.headers["x-frame-options"] == "SAMEORIGIN"
        again = http.get("/agent", headers={"If-None-Match": agent.headers["etag"]})
        assert again.status_code == 304
        for bad in ["/chat/%2e%2e/engine/app.py", "/web/shared/..%2F..%2Fschema.sql", "/chat/.hidden",
                    "/chat/nothing.js", "/agent/../schema.sql", "/web/shared/", "/chat/index.py"]:
            assert http.get(bad).status_code == 404, bad

    web = Path(__file__).resolve().parents[3] / "engine" / "web"
    for html in web.rglob("*.html"):
        text = html.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline script in {html}"
        assert not re.search(r"<style|\sstyle=|\son\w+=", text), f"inline style or handler in {html}"
    sinks = re.compile(r"\.(innerHTML|outerHTML)\s*[+]?=|insertAdjacentHTML\(|document\.write|\beval\(|new Function\(")
    for js in web.rglob("*.js"):
        assert not sinks.search(js.read_text()), f"an HTML sink in {js}"


# ---- a whole chat ---------------------------------------------------------------------------

def test_a_whole_chat_between_customer_and_agent(browser: Browser, web_engine: WebEngine) -> None:
    base = web_engine.base
    watch = Watch()
    agent = new_page(browser, watch)
    customer = new_page(browser, watch)
    web_engine.sql("INSERT INTO canned_messages (id, queue, title, text) VALUES (gen_random_uuid(), 'support', "
                   "'Introduction', 'Hi {customer_name}, {agent_name} of {queue} here. {unknown} stays.');")

    sign_in(agent, base, shot="agent-sign-in")
    agent.locator("#presence").click()      # away: the customer has to wait
    expect(agent.locator("#presence")).to_have_attribute("aria-checked", "false")

    # pre-chat form: the API's validation error lands at the e-mail field
    customer.goto(f"{base}/chat?queue=support&lang=en")
    expect(customer.locator("#screen-prechat")).to_be_visible()
    shoot(customer, "chat-prechat")
    prechat = customer.locator("#prechat")
    prechat.get_by_label("Your name").fill("Cora Customer")
    prechat.get_by_label("E-mail address").fill("not-an-address")
    prechat.get_by_label("Your question", exact=True).fill("How do I reset my password?")
    expect(customer.locator("#faq-list li").first).to_contain_text("reset my password")
    shoot(customer, "chat-faq")
    prechat.get_by_role("button", name="Start chat").click()
    email = prechat.get_by_label("E-mail address")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(customer.locator("#pc-email-error")).to_have_text("Please enter a valid e-mail address.")
    assert email.get_attribute("aria-describedby") == "pc-email-error"
    shoot(customer, "chat-prechat-error")
    email.fill("cora@example.com")
    customer.get_by_role("button", name="Start the chat anyway").click()

    # waiting
    expect(customer.locator("#banner-main")).to_have_text("You are next in line.")
    expect(customer.locator("#log")).to_contain_text("How do I reset my password?")
    shoot(customer, "chat-waiting")

    # the offer pops up when the agent is available again
    agent.locator("#presence").click()
    offer = agent.locator(".offer")
    expect(offer).to_be_visible()
    expect(offer).to_contain_text("Cora Customer")
    expect(offer).to_contain_text("How do I reset my password?")
    expect(offer.locator(".countdown__text")).to_contain_text("Expires in")
    shoot(agent, "agent-offer")
    offer.get_by_role("button", name="Accept").click()
    expect(agent.locator(".offer")).to_have_count(0)
    conv = agent.locator(".conv:visible")
    expect(conv.locator(".log")).to_contain_text("How do I reset my password?")
    expect(agent.locator(".tab", has_text="Cora Customer")).to_have_attribute("aria-selected", "true")
    expect(customer.locator("#log")).to_contain_text("Agent One joined the chat")
    expect(customer.locator("#chat-banner")).to_be_hidden()
    assert before_unload_blocks(agent)

    # messages both ways; Shift+Enter makes a new line
    box = customer.locator("#message-input")
    box.fill("line one")
    box.press("Shift+Enter")
    box.type("line two")
    expect(agent.locator(".conv:visible .typing")).to_contain_text("Cora Customer is typing")
    box.press("Enter")
    expect(conv.locator(".msg__text", has_text="line two")).to_have_text("line one\nline two")
    send(agent, "Let me check that for you.")
    expect(customer.locator(".msg", has_text="Let me check that for you.")).to_contain_text("Agent One")
    # two checks once the agent has read it (the agent's tab shows the conversation)
    expect(customer.locator(".msg--mine").last).to_have_attribute("data-state", "read")

    # a private note: agents only
    conv.get_by_role("checkbox", name="Private note").check()
    expect(conv.locator(".private-hint")).to_be_visible()
    send(agent, "Customer seems upset, be gentle")
    expect(conv.locator(".msg--private")).to_contain_text("Customer seems upset")
    shoot(agent, "agent-conversation-private-note")
    # the note was one message: the next reply is for the customer again
    expect(conv.get_by_role("checkbox", name="Private note")).not_to_be_checked()
    expect(conv.locator(".private-hint")).to_be_hidden()

    # canned message picker inserts the text for editing
    conv.get_by_role("button", name="Canned messages").click()
    agent.get_by_label("Search").fill("greet")
    agent.locator("#canned-list button", has_text="Greeting").click()
    expect(conv.locator(".message-input")).to_have_value(re.compile("^Hello, thank you for contacting us"))
    conv.locator(".message-input").press("Enter")
    expect(customer.locator("#log")).to_contain_text("Hello, thank you for contacting us")
    # its placeholders are filled with the customer's, the agent's and the queue's names
    conv.get_by_role("button", name="Canned messages").click()
    agent.get_by_label("Search").fill("intro")
    agent.locator("#canned-list button", has_text="Introduction").click()
    expect(conv.locator(".message-input")).to_have_value(
        "Hi Cora Customer, Agent One of support here. {unknown} stays.")
    conv.locator(".message-input").fill("")

    # an option menu answered with a button
    conv.get_by_role("button", name="Option menu").click()
    agent.get_by_label("Question for the customer").fill("Did that solve it?")
    agent.get_by_role("textbox", name="Choice 1").fill("Yes, thanks")
    agent.get_by_role("textbox", name="Choice 2").fill("No")
    shoot(agent, "agent-option-composer")
    agent.get_by_role("button", name="Send menu").click()
    customer.get_by_role("button", name="Yes, thanks").click()
    expect(conv.locator(".msg--customer.msg--answer")).to_contain_text("Yes, thanks")
    expect(customer.get_by_role("button", name="Yes, thanks")).to_be_disabled()
    expect(customer.locator("#log")).not_to_contain_text("Customer seems upset")

    # an attachment from the customer, downloaded by the agent
    png = png_bytes()
    picture: FilePayload = {"name": "pixel.png", "mimeType": "image/png", "buffer": png}
    customer.locator("#file-input").set_input_files(files=[picture])
    expect(customer.locator("#tray .chip--done")).to_contain_text("pixel.png")
    customer.locator("#send-button").click()
    expect(conv.locator(".file__name", has_text="pixel.png")).to_be_visible()
    expect(conv.locator("img.file__preview")).to_be_visible()
    with agent.expect_download() as download:
        conv.locator(".file__open", has_text="pixel.png").click()
    assert Path(download.value.path()).read_bytes() == png
    # a file of the wrong type is refused before upload
    program: FilePayload = {"name": "tool.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ\x90\x00"}
    customer.locator("#file-input").set_input_files(files=[program])
    expect(customer.locator("#tray-error")).to_contain_text("tool.exe")

    shoot(customer, "chat-conversation")
    shoot(agent, "agent-conversation")

    # a reload of the customer's page resumes the history, without duplicates
    before = customer.locator("#log .msg").count()
    customer.reload()
    expect(customer.locator("#screen-chat")).to_be_visible()
    expect(customer.locator("#log")).to_contain_text("Let me check that for you.")
    expect(customer.locator("#log .msg")).to_have_count(before)
    expect(customer.locator("#log")).not_to_contain_text("Customer seems upset")
    send(customer, "Still here after a reload")
    expect(conv.locator(".log")).to_contain_text("Still here after a reload")

    # a tab that is not shown counts what came in
    agent.get_by_role("tab", name="Offline requests").click()
    send(customer, "Are you there?")
    tab = agent.locator(".tab", has_text="Cora Customer")
    expect(tab.locator(".badge")).to_have_text("1")
    tab.click()
    expect(tab.locator(".badge")).to_be_hidden()

    # a reload of the console brings the conversation back, private note included
    seen = conv.locator(".log .msg").count()
    agent.reload()
    agent.locator(".tab", has_text="Cora Customer").click()
    expect(conv.locator(".log")).to_contain_text("Customer seems upset")
    expect(conv.locator(".log .msg")).to_have_count(seen)

    # the customer ends the chat and asks for the transcript
    customer.get_by_role("button", name="End chat").click()
    customer.get_by_label("Send me the transcript by e-mail").check()
    customer.locator("#end-confirm").click()
    expect(customer.locator("#ended-text")).to_have_text("You ended the chat.")
    expect(customer.locator("#transcript-status")).to_contain_text("on its way")
    expect(conv.locator(".conv__banner")).to_have_text("The customer ended the chat.")
    shoot(customer, "chat-ended")
    assert not before_unload_blocks(agent)
    deadline = time.monotonic() + 10
    while "cora@example.com" not in web_engine.sql("SELECT recipient, subject FROM outbox;"):
        assert time.monotonic() < deadline, "no transcript mail in the outbox"
        time.sleep(0.2)
    watch.check()


# ---- a lost connection -------------------------------------------------------------------

def test_chat_survives_a_lost_connection(browser: Browser, web_engine: WebEngine) -> None:
    """The engine dies (SIGKILL) and comes back: both clients reconnect with backoff, resume, and
    what was written meanwhile arrives exactly once."""
    base = web_engine.base
    watch = Watch()
    agent = new_page(browser, watch)
    customer = new_page(browser, watch)
    sign_in(agent, base)
    start_chat(customer, base, "Cora Customer", "Where is my order?")
    agent.locator(".offer").get_by_role("button", name="Accept").click()
    conv = agent.locator(".conv:visible")
    send(agent, "Hello Cora")
    expect(customer.locator("#log")).to_contain_text("Hello Cora")

    web_engine.kill()
    expect(customer.locator("#conn")).to_contain_text("reconnecting")
    expect(agent.locator("#conn")).to_contain_text("reconnecting")
    send(customer, "written while offline")
    expect(customer.locator(".msg--mine", has_text="written while offline")).to_have_attribute("data-state", "pending")
    send(agent, "agent wrote while offline")
    shoot(customer, "chat-reconnecting")
    customer.wait_for_timeout(1500)
    web_engine.start()

    expect(customer.locator("#conn")).to_be_hidden(timeout=45_000)
    expect(agent.locator("#conn")).to_be_hidden(timeout=45_000)
    expect(conv.locator(".msg__text", has_text="written while offline")).to_have_count(1)
    expect(customer.locator(".msg__text", has_text="agent wrote while offline")).to_have_count(1)
    expect(customer.locator(".msg--mine", has_text="written while offline")).not_to_have_attribute(
        "data-state", "pending")
    send(customer, "and after")
    expect(conv.locator(".log")).to_contain_text("and after")
    customer.reload()
    expect(customer.locator(".msg__text", has_text="written while offline")).to_have_count(1)
    expect(customer.locator(".msg__text", has_text="agent wrote while offline")).to_have_count(1)
    watch.check()


# ---- presence changed by the server ----------------------------------------------------------

def test_presence_switch_follows_the_server(browser: Browser, postgres: Postgres, tmp_path: Path) -> None:
    """An offer left to expire sets the agent away (FRONTDESK_MISSED_OFFERS_AWAY=1): the switch shows it."""
    engine = WebEngine(postgres, tmp_path, FRONTDESK_OFFER_TIMEOUT_MS="4000", FRONTDESK_MISSED_OFFERS_AWAY="1")
    engine.start()
    try:
        watch = Watch()
        agent = new_page(browser, watch)
        sign_in(agent, engine.base)
        r = httpx.post(engine.base + "/api/chats", json={"queue": "support", "name": "Cora Customer",
                                                         "email": "cora@example.com", "question": "Hello?"})
        assert r.status_code == 201, r.text
        expect(agent.locator(".offer")).to_be_visible()
        expect(agent.locator(".offer .card__status")).to_have_text("The offer expired.", timeout=10_000)
        expect(agent.locator("#presence")).to_have_attribute("aria-checked", "false")
        expect(agent.locator("#presence-label")).to_have_text("Away")
        expect(agent.locator("#idle-hint")).to_have_text("You were set to away because offers went unanswered.")
        shoot(agent, "agent-set-away")
        expect(agent.locator(".offer")).to_have_count(0, timeout=10_000)
        agent.locator("#presence").click()
        expect(agent.locator("#presence")).to_have_attribute("aria-checked", "true")

        # a second chat: rejected with a reason, and not offered to this agent again (§5.4)
        r = httpx.post(engine.base + "/api/chats", json={"queue": "support", "name": "Rita Rejected",
                                                         "email": "rita@example.com", "question": "Hi"})
        assert r.status_code == 201, r.text
        offer = agent.locator(".offer", has_text="Rita Rejected")
        offer.get_by_role("button", name="Reject").click()
        offer.get_by_label("Reason (optional)").fill("Not my topic")
        shoot(agent, "agent-offer-reject")
        offer.get_by_role("button", name="Reject chat").click()
        expect(agent.locator(".offer")).to_have_count(0)
        agent.wait_for_timeout(500)
        expect(agent.locator(".offer")).to_have_count(0)
        watch.check()
    finally:
        engine.stop()


# ---- signing out -----------------------------------------------------------------------------

def stored_token(page: Page) -> str | None:
    return page.evaluate("() => (JSON.parse(sessionStorage.getItem('frontdesk.agent')) || {}).token || null")


def test_signing_out_revokes_the_token_and_works_offline_too(browser: Browser, web_engine: WebEngine) -> None:
    base = web_engine.base
    watch = Watch()
    agent = new_page(browser, watch)
    sign_in(agent, base)
    token = stored_token(agent)
    assert token
    with agent.expect_response(f"{base}/api/agents/logout") as answer:
        agent.get_by_role("button", name="Sign out").click()
    assert answer.value.status == 204
    expect(agent.locator("#login-info")).to_have_text("You are signed out.")
    expect(agent.locator("#conn")).to_be_hidden()
    assert stored_token(agent) is None
    assert httpx.get(base + "/api/canned", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    shoot(agent, "agent-signed-out")

    # without a network the server keeps the token, but the console forgets it all the same
    sign_in(agent, base)
    token = stored_token(agent)
    agent.route("**/api/agents/logout", lambda route: route.abort("internetdisconnected"))
    agent.get_by_role("button", name="Sign out").click()
    expect(agent.locator("#login-info")).to_have_text("You are signed out.")
    assert stored_token(agent) is None
    assert httpx.get(base + "/api/canned", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    watch.check()


# ---- waited too long ------------------------------------------------------------------------

def test_a_chat_that_waits_too_long_becomes_a_request(browser: Browser, postgres: Postgres, tmp_path: Path) -> None:
    engine = WebEngine(postgres, tmp_path, FRONTDESK_MAX_WAIT_S="3")
    engine.start()
    try:
        watch = Watch()
        agent = new_page(browser, watch)
        customer = new_page(browser, watch)
        sign_in(agent, engine.base)
        agent.locator("#presence").click()
        expect(agent.locator("#presence")).to_have_attribute("aria-checked", "false")
        start_chat(customer, engine.base, "Walter Waiting", "Is anybody there?")
        expect(customer.locator("#banner-main")).to_have_text("You are next in line.")
        expect(customer.locator("#banner-main")).to_have_text("Nobody could take your chat in time.",
                                                              timeout=15_000)
        expect(customer.locator("#banner-sub")).to_contain_text(re.compile(r"REQ-\d{6}"))
        expect(customer.locator("#ended-text")).to_contain_text(re.compile(r"Your request number is REQ-\d{6}"))
        shoot(customer, "chat-fallback")
        agent.get_by_role("button", name="Refresh").click()
        expect(agent.locator(".request", has_text="Walter Waiting")).to_contain_text("Is anybody there?")
        watch.check()
    finally:
        engine.stop()


# ---- invitations ----------------------------------------------------------------------------

def test_an_agent_invites_a_colleague(browser: Browser, web_engine: WebEngine) -> None:
    base = web_engine.base
    watch = Watch()
    one = new_page(browser, watch)
    two = new_page(browser, watch)
    customer = new_page(browser, watch)
    sign_in(one, base, 1)
    sign_in(two, base, 2)
    two.locator("#presence").click()            # away: the chat goes to agent one
    expect(two.locator("#presence")).to_have_attribute("aria-checked", "false")
    two_id = two.evaluate("() => JSON.parse(sessionStorage.getItem('frontdesk.agent')).agent.id")

    # the shop signed the customer's identity (PROTOCOL.md §3): name and e-mail are verified
    email = "vera@example.com"
    signature = hmac.new(b"demo-identity-secret", email.encode(), hashlib.sha256).hexdigest()
    identity = urllib.parse.urlencode({"email": email, "name": "Vera Verified", "hmac": signature})
    customer.goto(f"{base}/chat?queue=support&lang=en#{identity}")
    prechat = customer.locator("#prechat")
    expect(prechat.get_by_label("Your name")).to_have_value("Vera Verified")
    expect(prechat.get_by_label("E-mail address")).to_have_attribute("readonly", "")
    prechat.get_by_label("Your question", exact=True).fill("I need a specialist")
    prechat.get_by_role("button", name="Start chat").click()
    offer = one.locator(".offer")
    expect(offer.locator(".verified")).to_have_count(2)
    expect(offer.locator(".card__name")).to_contain_text("Vera Verified (verified)")
    shoot(one, "agent-offer-verified")
    offer.get_by_role("button", name="Accept").click()
    conv = one.locator(".conv:visible")
    expect(conv.locator(".conv__customer .verified")).to_have_count(2)

    # a queue with nobody free: refused at once
    conv.get_by_role("button", name="Invite").click()
    conv.get_by_role("radio", name="Queue").check()
    conv.get_by_role("combobox", name="Agent id or queue").fill("sales")
    conv.get_by_role("button", name="Send invitation").click()
    expect(conv.locator(".invite__result")).to_contain_text("The invitation failed")

    # agent two by id, which the form's list offers by name (GET /api/agents)
    conv.get_by_role("button", name="Invite").click()
    conv.get_by_role("radio", name="Agent (id)").check()
    expect(conv.locator(f"datalist option[value='{two_id}']")).to_have_attribute("label", re.compile("^Agent Two · "))
    expect(conv.locator("datalist option")).to_have_count(3)         # everyone but agent one
    conv.get_by_role("combobox", name="Agent id or queue").fill(two_id)
    shoot(one, "agent-invite-form")
    conv.get_by_role("button", name="Send invitation").click()
    card = two.locator(".invitation")
    expect(card).to_contain_text("Agent One invites you to a chat")
    expect(card).to_contain_text("Vera Verified")
    shoot(two, "agent-invitation")
    card.get_by_role("button", name="Join").click()
    conv2 = two.locator(".conv:visible")
    expect(conv2.locator(".log")).to_contain_text("I need a specialist")
    expect(conv2.get_by_role("button", name="Leave chat")).to_be_visible()
    expect(conv2.get_by_role("button", name="End chat")).to_be_hidden()
    expect(conv.locator(".invite__result")).to_have_text("The invitation was accepted.")
    expect(conv.locator(".log")).to_contain_text("Agent Two joined the chat")
    expect(customer.locator("#log")).to_contain_text("Agent Two joined the chat")

    conv2.get_by_role("checkbox", name="Private note").check()
    send(two, "Note for agent one only")
    expect(conv.locator(".msg--private")).to_contain_text("Note for agent one only")
    expect(conv2.get_by_role("checkbox", name="Private note")).not_to_be_checked()
    send(two, "Hello, I am the specialist")
    expect(customer.locator("#log")).to_contain_text("Hello, I am the specialist")
    expect(customer.locator("#log")).not_to_contain_text("Note for agent one only")

    conv2.get_by_role("button", name="Leave chat").click()
    expect(conv2.locator(".conv__banner")).to_have_text("You left this chat.")
    expect(conv.locator(".log")).to_contain_text("Agent Two left the chat")
    expect(customer.locator("#log")).to_contain_text("Agent Two left the chat")
    assert not before_unload_blocks(two)
    assert before_unload_blocks(one)
    watch.check()


# ---- closed queue, nobody online, FAQ answered, offline requests ------------------------------

def test_closed_queue_leads_to_an_offline_request(browser: Browser, web_engine: WebEngine) -> None:
    base = web_engine.base
    watch = Watch()
    customer = new_page(browser, watch, timezone_id="Europe/Berlin")
    # after-hours opens once, in three days at 09:00 UTC: the customer sees it in Berlin time
    opens = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=3)
    schedule = json.dumps({"timezone": "UTC", "special_days": {opens.date().isoformat(): [["09:00", "17:00"]]}})
    web_engine.sql(f"UPDATE queues SET opening_hours = '{schedule}' WHERE name = 'after-hours';")
    local = opens.astimezone(ZoneInfo("Europe/Berlin"))
    local_text = (f"{local:%A}, {local:%B} {local.day}, {local.year} at {local.hour % 12 or 12}:{local:%M}"
                  rf"\s{'AM' if local.hour < 12 else 'PM'}")

    # support with nobody online: the message form at once (no_agents)
    customer.goto(f"{base}/chat?queue=support&lang=en")
    expect(customer.locator("#closed-title")).to_have_text("Nobody is available right now")

    # a queue's required field gets its own input, checked before the form is sent
    web_engine.sql("UPDATE queues SET required_fields = '[\"order_number\"]', mode = 'messaging' WHERE name = 'sales';")
    customer.goto(f"{base}/chat?queue=sales&lang=en")
    order = customer.locator("#prechat").get_by_label("Order number")
    expect(order).to_be_visible()
    start_chat(customer, base, "Cora Customer", "About my order", queue="sales")
    expect(order).to_have_attribute("aria-invalid", "true")
    expect(customer.locator("#pc-f-order_number-error")).to_have_text("Please fill in this field.")
    order.fill("A-1234")
    expect(customer.locator("#pc-f-order_number-error")).to_be_hidden()

    # the German page says the same
    customer.goto(f"{base}/chat?queue=after-hours&lang=de")
    expect(customer.locator("#closed-title")).to_have_text("Wir haben gerade geschlossen")
    expect(customer.locator("#closed-next")).to_contain_text(str(local.year))
    shoot(customer, "chat-closed-de")

    # after-hours is closed now
    customer.goto(f"{base}/chat?queue=after-hours&lang=en")
    expect(customer.locator("#closed-title")).to_have_text("We are closed right now")
    expect(customer.locator("#closed-message")).to_contain_text("We are closed: leave us a message")
    expect(customer.locator("#closed-next")).to_have_text(re.compile(f"We are back {local_text}"))
    offline = customer.locator("#offline")
    offline.get_by_label("Your name").fill("Olga Offline")
    offline.get_by_label("Your message").fill(f"Please call me back. {XSS}")
    shoot(customer, "chat-closed-offline-form")
    customer.get_by_role("button", name="Send message").click()
    expect(customer.locator("#of-email-error")).to_have_text("Please fill in this field.")
    customer.locator("#of-email").fill("olga@example.com")
    customer.get_by_role("button", name="Send message").click()
    number = customer.locator("#request-number")
    expect(number).to_have_text(re.compile(r"^REQ-\d{6}$"))
    request_number = number.inner_text()
    shoot(customer, "chat-offline-done")

    # agent1 (member of after-hours) reads it and marks it handled
    agent = new_page(browser, watch)
    sign_in(agent, base)
    item = agent.locator(".request", has_text=request_number)
    expect(item).to_contain_text("Olga Offline")
    expect(agent.locator("#requests-count")).to_have_text("1")
    item.locator("summary").click()
    expect(item.locator(".request__question")).to_have_text(f"Please call me back. {XSS}")
    assert agent.locator("img").count() == 0
    shoot(agent, "agent-offline-requests")
    item.get_by_role("button", name="Mark as handled").click()
    expect(agent.locator(".request", has_text=request_number)).to_have_count(0)
    agent.get_by_label("Show").select_option("handled")
    expect(agent.locator(".request", has_text=request_number)).to_contain_text("Handled")

    # FAQ, now that support has an agent: "this answered my question"
    customer.goto(f"{base}/chat?queue=support&lang=en")
    customer.locator("#prechat").get_by_label("Your question", exact=True).fill("reset password")
    item = customer.locator("#faq-list details").first
    item.locator("summary").click()
    item.get_by_role("button", name="This answered my question").click()
    expect(customer.locator("#screen-answered")).to_be_visible()
    watch.check()


def test_the_german_page_gets_the_customer_german_mails(browser: Browser, web_engine: WebEngine) -> None:
    """The widget sends the language it shows with the forms, so the confirmation mail is German."""
    web_engine.sql("UPDATE queues SET opening_hours = '{\"never\": true}' WHERE name = 'after-hours';")
    watch = Watch()
    customer = new_page(browser, watch, locale="de-DE")
    customer.goto(f"{web_engine.base}/chat?queue=after-hours")
    customer.locator("#of-name").fill("Greta Gast")
    customer.locator("#of-email").fill("greta@example.com")
    customer.locator("#of-question").fill("Bitte rufen Sie mich an.")
    customer.locator("#offline-submit").click()
    number = customer.locator("#request-number")
    expect(number).to_have_text(re.compile(r"^REQ-\d{6}$"))
    subject = web_engine.sql("\\pset tuples_only on\n\\pset format unaligned\n"
                             "SELECT subject FROM outbox WHERE recipient = 'greta@example.com';").splitlines()[-1]
    assert subject == f"Wir haben Ihre Anfrage {number.inner_text()} erhalten"
    watch.check()


# ---- user text is text ----------------------------------------------------------------------

def test_markup_in_user_text_is_shown_as_text(browser: Browser, web_engine: WebEngine) -> None:
    base = web_engine.base
    watch = Watch()
    agent = new_page(browser, watch)
    customer = new_page(browser, watch)
    sign_in(agent, base)
    start_chat(customer, base, XSS, f"{XSS} in the question")
    offer = agent.locator(".offer")
    expect(offer.locator(".card__name")).to_contain_text(XSS)
    expect(offer.locator(".card__question")).to_have_text(f"{XSS} in the question")
    offer.get_by_role("button", name="Accept").click()
    expect(agent.locator(".tab", has_text=XSS)).to_be_visible()
    send(customer, XSS)
    send(agent, f"echo {XSS}")
    expect(agent.locator(".msg--customer .msg__text").last).to_have_text(XSS)
    expect(customer.locator(".msg__text").last).to_have_text(f"echo {XSS}")
    expect(customer.locator(".msg__text").first).to_have_text(f"{XSS} in the question")
    agent.wait_for_timeout(300)
    for page in (agent, customer):
        assert page.locator("img").count() == 0
        assert page.evaluate("() => document.querySelectorAll('[onerror]').length") == 0

    # the owner ends the chat
    agent.locator(".conv:visible").get_by_role("button", name="End chat").click()
    agent.locator("#end-dialog").get_by_role("button", name="End chat").click()
    expect(customer.locator("#ended-text")).to_have_text("The agent ended the chat.")
    expect(customer.get_by_role("button", name="E-mail me the transcript")).to_be_visible()
    expect(agent.locator(".conv:visible .conv__banner")).to_have_text("The chat was ended by an agent.")
    expect(agent.locator(".tab", has_text=XSS)).to_have_class(re.compile("tab--ended"))
    watch.check()


# ---- the embeddable script ------------------------------------------------------------------

@contextmanager
def host_page(html: str) -> Iterator[str]:
    """A page of another origin (its own little HTTP server on loopback) that embeds the widget."""
    body = html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/shop.html"
    finally:
        server.shutdown()
        server.server_close()


def test_widget_script_opens_the_chat_in_a_panel(browser: Browser, web_engine: WebEngine) -> None:
    """A page of another origin embeds widget.js; its button opens /chat in an iframe."""
    base = web_engine.base
    watch = Watch()
    page = new_page(browser, watch)
    shop = ("<!doctype html><html lang=en><head><title>Shop</title></head><body><h1>Our shop</h1>"
            f"<script src='{base}/chat/widget.js' data-queue='support' data-lang='en'></script></body></html>")
    with host_page(shop) as url:
        page.goto(url)
        button = page.get_by_role("button", name="Chat with us")
        button.click()
        expect(button).to_have_attribute("aria-expanded", "true")
        chat = page.frame_locator("#frontdesk-chat-panel iframe")
        # nobody is signed in to support: the message form at once
        expect(chat.locator("#screen-closed")).to_be_visible()
        expect(chat.locator("#offline").get_by_label("Your message")).to_be_visible()
        shoot(page, "widget-on-a-page")
        page.get_by_role("button", name="Close the chat").click()
        expect(button).to_have_attribute("aria-expanded", "false")
    watch.check()
