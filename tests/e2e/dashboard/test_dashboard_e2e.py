"""End to end: ``frontdesk dashboard`` as a real server, driven by headless Chromium (Debian's
``chromium`` package through Playwright, which never downloads a browser here): sign in as the
demo supervisor and find the live overview (a screenshot is saved to the test's tmp dir); the
server listens on loopback unless ``--host`` says otherwise, and no page of another site may frame it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from dashkit import (  # noqa: F401  (fixtures)
    IMAGE,
    IMAGE_URL,
    MARKUP,
    Seed,
    add_hostile,
    dashboard_env_fixture,
    engine_for_dashboard_fixture,
    plain_asyncio,
    seed_fixture,
)

CHROMIUM = Path(os.environ.get("FRONTDESK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def outside_address() -> str | None:
    """An address of this host that is not loopback (the one its default route leaves from), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))         # a UDP "connect" sends nothing; it only picks the route
        except OSError:
            return None
        address = str(s.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@contextmanager
def running_dashboard(seed: Seed, tmp_path: Path, *args: str, host: str = "127.0.0.1") -> Iterator[str]:
    """``frontdesk dashboard`` with ``args`` as a real server; yields its URL at ``host``."""
    port = _free_port()
    env = {**os.environ, "FRONTDESK_DATA_DIR": str(seed.data_dir)}
    log_path = tmp_path / f"dashboard-{port}.log"
    log = log_path.open("wb")
    # its own session, so the Streamlit child of `frontdesk dashboard` goes down with it
    proc = subprocess.Popen([sys.executable, "-m", "frontdesk.engine", "dashboard", "--port", str(port),
                             "--database-url", seed.url, *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the dashboard did not start"
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture
def dashboard_url(seed: Seed, tmp_path: Path) -> Iterator[str]:
    with running_dashboard(seed, tmp_path) as url:
        yield url


def chromium() -> Any:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package (.ci/run does)")
    return pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


def test_supervisor_signs_in_and_sees_the_live_overview_in_a_browser(dashboard_url: str, tmp_path: Path) -> None:
    sync_api = chromium()
    screenshot = tmp_path / "dashboard-live-overview.png"
    with plain_asyncio(), sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(dashboard_url)
            page.get_by_label("E-mail").fill("supervisor@demo.test")
            page.get_by_label("Password", exact=True).fill("demo-password")
            page.get_by_role("button", name="Sign in").click()
            heading = page.get_by_role("heading", name="Live overview")
            heading.wait_for(timeout=30_000)
            page.get_by_text("Chats waiting").wait_for(timeout=30_000)
            page.get_by_text("Pending offers").first.wait_for(timeout=30_000)
            # the picture once the tables are drawn: the four tables (queues, waiting chats, agents,
            # offers) are on the page, each with its grid's canvas
            tables = page.get_by_test_id("stDataFrame")
            sync_api.expect(tables).to_have_count(4, timeout=30_000)
            for i in range(4):
                tables.nth(i).get_by_test_id("data-grid-canvas").wait_for(timeout=30_000)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")


# ---- where it listens, and who may frame it ------------------------------------------------------

def test_dashboard_listens_on_loopback_only_by_default(dashboard_url: str) -> None:
    outside = outside_address()
    if outside is None:
        pytest.skip("this host has no address but loopback")
    port = int(dashboard_url.rsplit(":", 1)[1])
    assert reachable("127.0.0.1", port)
    assert not reachable(outside, port)


def test_host_flag_chooses_the_address_to_listen_on(seed: Seed, tmp_path: Path) -> None:
    outside = outside_address()
    if outside is None:
        pytest.skip("this host has no address but loopback")
    with running_dashboard(seed, tmp_path, "--host", outside, host=outside) as url:
        port = int(url.rsplit(":", 1)[1])
        assert reachable(outside, port)
        assert not reachable("127.0.0.1", port)


def test_every_answer_forbids_framing_by_other_sites(dashboard_url: str) -> None:
    with urllib.request.urlopen(dashboard_url + "/", timeout=10) as r:
        page = r.read().decode()
        headers = r.headers
    assert headers["Content-Security-Policy"] == "frame-ancestors 'self'"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    script = page.split('src="', 1)[1].split('"', 1)[0]     # one of the app's own files
    for path in ("/_stcore/health", "/" + script.lstrip("./")):
        with urllib.request.urlopen(dashboard_url + path, timeout=10) as r:
            assert r.headers["Content-Security-Policy"] == "frame-ancestors 'self'", path
            assert r.headers["X-Frame-Options"] == "SAMEORIGIN", path


@contextmanager
def page_framing(url: str) -> Iterator[str]:
    """A page of another origin (another port) that puts ``url`` in an iframe; yields its address."""
    html = f'<!doctype html><title>framer</title><iframe src="{url}" width="800" height="600"></iframe>'.encode()

    class Framer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Framer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_of_another_site_cannot_frame_the_dashboard(dashboard_url: str) -> None:
    sync_api = chromium()
    with plain_asyncio(), sync_api.sync_playwright() as p, page_framing(dashboard_url) as framer:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            with page.expect_console_message(lambda m: "frame-ancestors" in m.text, timeout=30_000) as refusal:
                page.goto(framer)
            assert "blocked" in refusal.value.text
            frames = [f for f in page.frames if f is not page.main_frame]
            assert len(frames) == 1 and not frames[0].url.startswith(dashboard_url)
        finally:
            browser.close()


# ---- what people typed ----------------------------------------------------------------------------

def sign_in(page: Any) -> None:
    page.get_by_label("E-mail").fill("supervisor@demo.test")
    page.get_by_label("Password", exact=True).fill("demo-password")
    page.get_by_role("button", name="Sign in").click()


MADE_OF_MARKUP = "img[src*='127.0.0.1:1'], img[src='x'], a[href*='127.0.0.1:1/'], a[href^='mailto:']"


def nothing_made_of_markup(page: Any) -> None:
    assert page.locator(MADE_OF_MARKUP).count() == 0


def shown_text(page: Any) -> str:
    """The page's text as a person reads it (word joiners are invisible)."""
    return str(page.evaluate("() => document.body.innerText")).replace("\u2060", "")


def open_first_row(page: Any, grid: Any) -> None:
    """Selects the grid's first row, clicking again while the grid is still becoming interactive:
    a click that lands before the canvas listens selects nothing, and the page then never names a
    conversation in its address."""
    for _ in range(5):
        box = grid.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 16, box["y"] + 53)
        try:
            page.wait_for_function("() => location.search.includes('conversation=')", timeout=6_000)
            return
        except sync_timeout_error():
            continue
    raise AssertionError("the conversation's row could not be selected")


def sync_timeout_error() -> type[Exception]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    return PlaywrightTimeout


def test_markup_people_typed_makes_the_browser_fetch_nothing(seed: Seed, tmp_path: Path) -> None:
    sync_api = chromium()
    hostile = add_hostile(seed)
    requested: list[str] = []
    dialogs: list[str] = []
    with running_dashboard(seed, tmp_path) as url, plain_asyncio(), sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("request", lambda r: requested.append(r.url))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(url)
            sign_in(page)
            page.get_by_role("heading", name="Live overview").wait_for(timeout=30_000)

            # the conversation log, narrowed to the one conversation whose first message says hello
            page.get_by_role("link", name="Conversations").click()
            search = page.get_by_role("textbox", name="Search message text")
            search.fill("hello")
            search.press("Enter")
            page.get_by_text("1 conversations match").wait_for()
            grid = page.get_by_test_id("stDataFrame")
            grid.get_by_test_id("data-grid-canvas").wait_for()
            nothing_made_of_markup(page)

            # its transcript: the row's selection box is at the left of the row under the header
            open_first_row(page, grid)
            page.get_by_text(f"Options: {IMAGE}").wait_for(timeout=30_000)
            page.get_by_test_id("stDownloadButton").wait_for()
            nothing_made_of_markup(page)
            text = shown_text(page)
            for typed in (f"{MARKUP} · Support", f"E-mail: {hostile.email}", f"{hostile.field}: {IMAGE}",
                          hostile.agent, hostile.filename, " ".join(hostile.reason.split())):
                assert typed in text, typed
        finally:
            browser.close()
    assert not [u for u in requested if u.startswith(IMAGE_URL.rsplit("/", 1)[0]) or u.endswith("/x")], requested
    assert dialogs == []


# ---- administration -------------------------------------------------------------------------------

def open_page(page: Any, title: str) -> None:
    """Open a page from the sidebar's navigation (a reload would start a new, signed-out session);
    at phone width the sidebar is folded and opened first."""
    expand = page.get_by_test_id("stExpandSidebarButton")
    if expand.is_visible():
        expand.click()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title).wait_for(timeout=30_000)
    if page.get_by_test_id("stSidebarCollapseButton").is_visible() and page.viewport_size["width"] < 640:
        page.get_by_test_id("stSidebarCollapseButton").click()


def test_a_supervisor_creates_an_agent_on_the_admin_page_in_a_browser(dashboard_env: Seed, engine_for_dashboard: str,
                                                                      tmp_path: Path) -> None:
    """The agents page in Chromium at desktop and phone widths: a new agent with markup in its name
    is created (success alert, the name shown as typed), the same e-mail again is refused naming
    the field; screenshots of both widths go to the test's tmp dir."""
    sync_api = chromium()
    name = "Nina <b>Bold</b> ![x](http://127.0.0.1:1/x.png)"
    with running_dashboard(dashboard_env, tmp_path) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for width, email in ((1280, "nina@demo.test"), (390, "nina.phone@demo.test")):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(url)
                sign_in(page)
                page.get_by_role("heading", name="Live overview").wait_for(timeout=30_000)
                open_page(page, "Agents and supervisors")
                page.get_by_text("New agent").click()
                form = page.get_by_test_id("stForm").first
                form.get_by_label("Name").fill(name)
                form.get_by_label("E-mail").fill(email)
                form.get_by_label("Password", exact=True).fill("a-long-password")
                form.get_by_role("button", name="Create").click()
                sync_api.expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text(
                    "Agent Nina <b>Bold</b> ![x](http:", timeout=30_000)
                assert f"Agent {name} created." in shown_text(page)
                nothing_made_of_markup(page)
                page.screenshot(path=str(tmp_path / f"dashboard-admin-agents-{width}.png"), full_page=True)
                if not form.get_by_label("Name").is_visible():
                    page.get_by_text("New agent").click()
                form.get_by_label("Name").fill("Nina Again")
                form.get_by_label("E-mail").fill(email.upper())
                form.get_by_label("Password", exact=True).fill("a-long-password")
                form.get_by_role("button", name="Create").click()
                sync_api.expect(page.get_by_test_id("stAlertContentError")).to_contain_text(
                    "E-mail: another staff member has this e-mail address", timeout=30_000)
                page.screenshot(path=str(tmp_path / f"dashboard-admin-agents-refused-{width}.png"), full_page=True)
                open_page(page, "Queues")
                page.get_by_test_id("stDataFrame").first.get_by_test_id("data-grid-canvas").wait_for(timeout=30_000)
                page.screenshot(path=str(tmp_path / f"dashboard-admin-queues-{width}.png"), full_page=True)
                page.close()
        finally:
            browser.close()
    assert dashboard_env.sql("SELECT count(*) FROM staff WHERE name = %s", name) == [(2,)]
    print(f"screenshots: {tmp_path}")


# ---- the session: reloads, deep links, sign-out ----------------------------------------------------

def test_the_session_survives_a_reload_honours_deep_links_and_ends_at_sign_out(seed: Seed, tmp_path: Path) -> None:
    """Signed in, the supervisor reloads and opens a transcript link in a new tab without signing in
    again (an HttpOnly, SameSite=Strict cookie); after sign-out a reload shows the sign-in form. A
    transcript link opened signed out shows the sign-in form (no "Page not found") and, once signed
    in, the transcript. Screenshots at 1280 and 390 wide go to the test's tmp dir."""
    sync_api = chromium()
    transcript_url_path = f"/conversations?conversation={seed.c_ended}"
    with running_dashboard(seed, tmp_path) as url, plain_asyncio(), sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for width in (1280, 390):
                context = browser.new_context(viewport={"width": width, "height": 900})
                page = context.new_page()
                page.goto(url)
                # right after sign-in the page asks the server to set the cookie
                with page.expect_response(lambda r: r.url.endswith("/_frontdesk/session"), timeout=30_000) as set_it:
                    sign_in(page)
                assert set_it.value.status == 204
                page.get_by_role("heading", name="Live overview").wait_for(timeout=30_000)
                cookie = {c["name"]: c for c in context.cookies()}["frontdesk_dashboard"]
                assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
                page.screenshot(path=str(tmp_path / f"dashboard-overview-{width}.png"), full_page=True)

                page.reload()
                page.get_by_role("heading", name="Live overview").wait_for(timeout=30_000)
                assert page.get_by_label("Password", exact=True).count() == 0

                tab = context.new_page()
                tab.goto(url + transcript_url_path)
                tab.get_by_text("My parcel never arrived.").wait_for(timeout=30_000)
                assert "Page not found" not in shown_text(tab)
                tab.screenshot(path=str(tmp_path / f"dashboard-transcript-{width}.png"), full_page=True)
                tab.close()

                expand = page.get_by_test_id("stExpandSidebarButton")
                if expand.is_visible():
                    expand.click()
                page.get_by_role("button", name="Sign out").click()
                page.get_by_label("Password", exact=True).wait_for(timeout=30_000)
                page.reload()
                page.get_by_label("Password", exact=True).wait_for(timeout=30_000)
                assert page.get_by_role("heading", name="Live overview").count() == 0
                context.close()

            # a deep link opened signed out: the sign-in form, then the transcript
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(url + transcript_url_path)
            page.get_by_label("Password", exact=True).wait_for(timeout=30_000)
            page.screenshot(path=str(tmp_path / "dashboard-deep-link-sign-in.png"), full_page=True)
            assert "Page not found" not in shown_text(page)
            sign_in(page)
            page.get_by_text("My parcel never arrived.").wait_for(timeout=30_000)
            assert "Page not found" not in shown_text(page)
            assert f"conversation={seed.c_ended}" in page.url
            context.close()
        finally:
            browser.close()
    assert seed.sql("SELECT count(*) FROM tokens WHERE kind = 'supervisor'") == [(1,)]   # the last one, live
    print(f"screenshots: {tmp_path}")
