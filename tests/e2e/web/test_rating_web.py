"""The post-chat form (PROTOCOL.md §9): after a live chat ends, or once a messaging conversation is
resolved, the customer page asks for 1–5 stars and an optional comment — by keyboard or mouse, in
English or German, with an error state, a thank-you state and no second prompt once rated, also
after a reload; the account page invites a rating of a resolved conversation and shows the score.

Headless Chromium against a real ``frontdesk serve``, as in test_web_e2e.py (whose helpers these
tests use); screens are photographed at 1280 and 390 wide into /tmp/fd-shots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Postgres
from playwright.sync_api import Browser, Page, Route, expect
from test_account_web import mailed_code
from test_web_e2e import (
    CHROMIUM,
    DESKTOP,
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

PHONE_390 = {"width": 390, "height": 844}
EMAIL = "ria.reader@example.com"



@pytest.fixture
def engine(postgres: Postgres, tmp_path: Path) -> Iterator[WebEngine]:
    web = WebEngine(postgres, tmp_path)
    web.start()
    try:
        yield web
    finally:
        web.stop()


def shoot(page: Page, name: str) -> None:
    """A screenshot 1280 and 390 wide (the whole page: the form sits under the conversation)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE_390)):
        page.set_viewport_size(size)  # type: ignore[arg-type]
        settle(page)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"))
    page.set_viewport_size(DESKTOP)
    settle(page)


def refuse_posts(route: Route) -> None:
    if route.request.method == "POST":
        route.abort("connectionfailed")
    else:
        route.continue_()


def test_after_the_end_the_customer_rates_by_keyboard_once_also_after_a_reload(
        browser: Browser, engine: WebEngine) -> None:
    base = engine.base
    watch = Watch()
    agent = new_page(browser, watch)
    customer = new_page(browser, watch)
    sign_in(agent, base)
    start_chat(customer, base, "Cora Customer", "Where is my order?")
    agent.locator(".offer").get_by_role("button", name="Accept").click()
    expect(agent.locator(".conv:visible .log")).to_contain_text("Where is my order?")
    expect(customer.locator("#chat-banner")).to_be_hidden()
    rating = customer.locator("#rating")
    expect(rating).to_be_hidden()                       # no form while the chat runs

    customer.locator("#end-button").click()
    customer.locator("#end-confirm").click()
    expect(customer.locator("#ended-text")).to_have_text("You ended the chat.")
    expect(rating).to_be_visible()
    expect(rating.get_by_role("group", name="How was this conversation?")).to_be_visible()
    shoot(customer, "rating-form")

    # sending without stars says so at the stars
    rating.get_by_role("button", name="Send rating").click()
    expect(customer.locator("#rating-score-error")).to_have_text("Please choose 1 to 5 stars.")
    expect(customer.locator("#rating-stars")).to_have_attribute("aria-invalid", "true")
    shoot(customer, "rating-form-no-score")

    # the stars are a radio group: arrow keys move between them
    first = rating.get_by_role("radio", name="1 star: very poor")
    first.focus()
    first.press("Space")
    for _ in range(3):
        customer.keyboard.press("ArrowRight")
    expect(rating.get_by_role("radio", name="4 stars: good")).to_be_checked()
    expect(customer.locator("#rating-chosen")).to_have_text("Good")
    expect(customer.locator(".star--on")).to_have_count(4)
    rating.get_by_label("Anything you would like to tell us? (optional)").fill(f"Quick help.\n{XSS}")

    # a failed request says so and keeps what was chosen
    customer.route("**/api/conversations/*/rating", refuse_posts)
    rating.get_by_role("button", name="Send rating").click()
    expect(customer.locator("#rating-error")).to_have_text("Your rating could not be sent. Please try again.")
    shoot(customer, "rating-form-failed")
    customer.unroute("**/api/conversations/*/rating")

    rating.get_by_role("button", name="Send rating").click()
    done = customer.locator("#rating-done")
    expect(done).to_have_text("Thank you for your rating! You rated this conversation 4 of 5 stars.")
    expect(done).to_be_focused()
    expect(customer.locator("#rating-form")).to_be_hidden()
    shoot(customer, "rating-thanks")
    stored = engine.sql("SELECT score, via, comment FROM ratings;")
    assert "4 | customer | Quick help." in stored and XSS in stored

    customer.reload()
    expect(customer.locator("#ended")).to_be_visible()
    expect(done).to_have_text("You rated this conversation 4 of 5 stars.")
    expect(customer.locator("#rating-form")).to_be_hidden()
    assert customer.locator("img").count() == 0
    watch.check()


def test_a_resolved_conversation_is_rated_in_german_from_the_account_page(browser: Browser,
                                                                          engine: WebEngine) -> None:
    base = engine.base
    with httpx.Client(base_url=base) as http:
        token = http.post("/api/agents/login", json={"email": "agent1@demo.test",
                                                     "password": "demo-password"}).json()["token"]
        r = http.post("/api/conversations", headers={"Authorization": f"Bearer {token}"},
                      json={"email": EMAIL, "queue": "messages", "text": "Your new card is ready."})
        assert r.status_code == 201, r.text
    watch = Watch()
    page = new_page(browser, watch, locale="de-DE")
    page.goto(f"{base}/account?lang=de")
    page.locator("#si-email").fill(EMAIL)
    page.locator("#si-submit").click()
    page.locator("#si-code").fill(mailed_code(engine))
    page.locator("#si-code").press("Enter")
    item = page.locator(".conversation")
    expect(item).to_have_count(1)
    expect(item.locator(".rate-hint")).to_have_count(0)     # open: nothing to rate yet

    item.click()
    expect(page).to_have_url(re.compile(r"/chat/c/[0-9a-f-]{36}"))
    expect(page.get_by_text("Your new card is ready.")).to_be_visible()
    page.get_by_role("button", name="Als erledigt markieren").click()
    page.locator("#end-confirm").click()
    rating = page.locator("#rating")
    expect(rating.get_by_role("group", name="Wie war dieses Gespräch?")).to_be_visible()
    shoot(page, "rating-form-de")

    # not rated now: the account's list invites it, and the conversation asks again
    page.goto(f"{base}/account?lang=de")
    expect(item.locator(".rate-hint")).to_have_text("☆ Bewerten")
    shoot(page, "rating-account-unrated-de")
    item.click()
    expect(rating).to_be_visible()
    rating.locator("label[for=rating-5]").click()           # the mouse picks a star
    expect(rating.get_by_role("radio", name="5 Sterne: sehr gut")).to_be_checked()
    expect(page.locator("#rating-chosen")).to_have_text("Sehr gut")
    rating.get_by_role("button", name="Bewertung senden").click()
    expect(page.locator("#rating-done")).to_have_text(
        "Vielen Dank für Ihre Bewertung! Sie haben dieses Gespräch mit 5 von 5 Sternen bewertet.")
    assert "5 | link" in engine.sql("SELECT score, via FROM ratings;")

    page.goto(f"{base}/account?lang=de")
    expect(item.locator(".rated")).to_contain_text("★ 5/5")
    expect(item.locator(".rate-hint")).to_have_count(0)
    shoot(page, "rating-account-rated-de")
    watch.check()
