"""End to end: ``frontdesk dashboard`` as a real server, driven by headless Chromium (Debian's
``chromium`` package through Playwright, which never downloads a browser here): sign in as the
demo supervisor and find the live overview. A screenshot is saved to the test's tmp dir."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashkit import Seed, plain_asyncio, seed_fixture  # noqa: F401  (fixtures)

CHROMIUM = Path(os.environ.get("FRONTDESK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dashboard_url(seed: Seed, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "FRONTDESK_DATA_DIR": str(seed.data_dir)}
    log = (tmp_path / "dashboard.log").open("wb")
    # its own session, so the Streamlit child of `frontdesk dashboard` goes down with it
    proc = subprocess.Popen([sys.executable, "-m", "frontdesk.engine", "dashboard", "--port", str(port),
                             "--database-url", seed.url], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert proc.poll() is None, (tmp_path / "dashboard.log").read_text()
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


def test_supervisor_signs_in_and_sees_the_live_overview_in_a_browser(dashboard_url: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package (.ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
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
