"""Alerts in the agent console: a ring that repeats while an offer waits and stops once it is
answered, mutable and remembered; a soft tone and a desktop notification for a customer's message
while the page is hidden; notifications asked for only by the agent's click; the title counting
offers and unread messages; Alt+A / Alt+R for the newest offer; offers docked above the tabs so they
never cover the active chat; and a sign-out that asks first when chats are open.

Headless Chromium against a real ``frontdesk serve`` (test_web_e2e.py's helpers). The Web Audio and
Notification calls are recorded by an init script (the tones still go to the real Web Audio API);
a hidden page is emulated by the same script. Screens go to /tmp/fd-shots/.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from test_web_e2e import (  # noqa: F401  (fixtures)
    CHROMIUM,
    SHOTS,
    Watch,
    WebEngine,
    browser_fixture,
    new_page,
    send,
    settle,
    sign_in,
    start_chat,
    web_engine_fixture,
)

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
    pytest.mark.timeout(300),
]

TITLE = "Frontdesk – Agent console"
RING = 880          # the first tone of the offer's ring (alerts.js)
SOFT = 523          # the message tone

SPY = """
(() => {
  const log = { tones: [], notes: [], asked: 0 };
  window.__alerts = log;
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) {
    log.tones.push(this.frequency.value);
    return start.apply(this, args);
  };
  class FakeNotification {
    static permission = 'default';
    static requestPermission() {
      log.asked += 1;
      FakeNotification.permission = 'granted';
      return Promise.resolve('granted');
    }
    constructor(title, options = {}) {
      this.title = title;
      this.body = options.body;
      this.onclick = null;
      log.notes.push(this);
    }
    close() {}
  }
  window.Notification = FakeNotification;
  // a hidden, unfocused page on demand: window.__hide(true)
  let hidden = false;
  Object.defineProperty(Document.prototype, 'visibilityState',
    { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
  const hasFocus = Document.prototype.hasFocus;
  Document.prototype.hasFocus = function () { return !hidden && hasFocus.call(this); };
  window.__hide = (on) => { hidden = on; document.dispatchEvent(new Event('visibilitychange')); };
})();
"""




def tones(page: Page, freq: int) -> int:
    return int(page.evaluate(f"() => window.__alerts.tones.filter((f) => f === {freq}).length"))


def notes(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate("() => window.__alerts.notes.map((n) => ({title: n.title, body: n.body}))"))


def hide(page: Page, on: bool) -> None:
    page.evaluate(f"() => window.__hide({'true' if on else 'false'})")


def overlaps(a: Locator, b: Locator) -> bool:
    x, y = a.bounding_box(), b.bounding_box()
    assert x and y
    return not (x["x"] + x["width"] <= y["x"] or y["x"] + y["width"] <= x["x"]
                or x["y"] + x["height"] <= y["y"] or y["y"] + y["height"] <= x["y"])


def test_offers_ring_notify_dock_and_answer_by_keyboard(browser: Browser, web_engine: WebEngine) -> None:
    base = web_engine.base
    watch = Watch()
    agent = new_page(browser, watch)
    agent.add_init_script(SPY)
    sign_in(agent, base, 1)
    expect(agent).to_have_title(TITLE)

    # notifications are asked for by the agent's click after sign-in, never on load
    notify = agent.locator("#alert-notify")
    expect(notify).to_have_text("Turn on desktop notifications")
    assert agent.evaluate("() => window.__alerts.asked") == 0
    notify.click()
    expect(notify).to_have_text("Desktop notifications on")
    expect(notify).to_have_attribute("aria-checked", "true")
    assert agent.evaluate("() => window.__alerts.asked") == 1
    expect(agent.locator("#alert-sound")).to_have_text("Sound on")

    # an offer while the page is hidden: it rings until answered, and a notification names the customer
    hide(agent, True)
    ann = new_page(browser, watch)
    start_chat(ann, base, "Ann Customer", "Where is my parcel?")
    offer = agent.locator(".offer")
    expect(offer).to_be_visible()
    expect(agent).to_have_title(f"(1) {TITLE}")
    agent.wait_for_function(f"() => window.__alerts.tones.filter((f) => f === {RING}).length >= 2")  # it repeats
    assert [n["body"] for n in notes(agent)] == ["Ann Customer"]
    agent.evaluate("() => window.__alerts.notes.at(-1).onclick()")     # focuses the tab and the offer
    expect(offer.get_by_role("button", name="Accept")).to_be_focused()
    hide(agent, False)
    offer.get_by_role("button", name="Accept").click()
    conv = agent.locator(".conv:visible")
    expect(conv.locator(".log")).to_contain_text("Where is my parcel?")
    expect(agent).to_have_title(TITLE)              # answered: nothing counted, and the ring stops with it
    rang = tones(agent, RING)

    # a second offer while Ann's chat is open: docked above the tabs, it covers none of the chat
    bob = new_page(browser, watch)
    start_chat(bob, base, "Bob Customer", "My invoice is wrong")
    second = agent.locator(".offer")
    expect(second).to_be_visible()
    assert tones(agent, RING) > rang
    for width in (1280, 390):
        agent.set_viewport_size({"width": width, "height": 800})
        settle(agent)
        for name in ("Invite", "End chat"):
            button = conv.get_by_role("button", name=name)
            assert button.is_visible(), f"{name} hidden at {width}"
            assert not overlaps(second, button), f"the offer covers {name} at {width}"
        newest = conv.locator(".log li").last
        newest.scroll_into_view_if_needed()
        assert not overlaps(second, newest), f"the offer covers the newest message at {width}"
        assert not overlaps(second, conv.locator(".composer__input")), f"the offer covers the composer at {width}"
        SHOTS.mkdir(parents=True, exist_ok=True)
        agent.screenshot(path=str(SHOTS / f"console-docked-offer-{width}.png"))
    agent.set_viewport_size({"width": 1280, "height": 800})

    # Alt+A from the composer accepts the newest offer and types nothing
    box = conv.locator(".composer__input")
    box.fill("hel")
    box.press("Alt+a")
    expect(agent.locator(".tab", has_text="Bob Customer")).to_have_attribute("aria-selected", "true")
    expect(agent.locator(".offer")).to_have_count(0)
    agent.locator(".tab", has_text="Ann Customer").click()
    expect(agent.locator(".conv:visible .composer__input")).to_have_value("hel")

    # Alt+R declines the newest one
    cleo = new_page(browser, watch)
    start_chat(cleo, base, "Cleo Customer", "Opening hours?")
    third = agent.locator(".offer")
    expect(third).to_be_visible()
    offer_id = third.get_attribute("data-offer-id")
    agent.keyboard.press("Alt+r")
    expect(agent.locator(f'.offer[data-offer-id="{offer_id}"]')).to_have_count(0)
    expect(agent).to_have_title(TITLE)

    # a customer message while the page is hidden: a soft tone, a notification, the title counts it
    soft = tones(agent, SOFT)
    hide(agent, True)
    send(ann, "Any news?")
    expect(agent).to_have_title(f"(1) {TITLE}")
    agent.wait_for_function(f"() => window.__alerts.tones.filter((f) => f === {SOFT}).length > {soft}")
    assert notes(agent)[-1] == {"title": "New message from Ann Customer", "body": "Any news?"}
    agent.locator(".tab", has_text="Bob Customer").click()
    agent.evaluate("() => window.__alerts.notes.at(-1).onclick()")  # brings Ann's conversation up
    expect(agent.locator(".tab", has_text="Ann Customer")).to_have_attribute("aria-selected", "true")
    hide(agent, False)
    expect(agent).to_have_title(TITLE)               # read now

    # visible and focused: a message in another tab counts, without a tone
    soft = tones(agent, SOFT)
    send(bob, "Hello?")
    expect(agent).to_have_title(f"(1) {TITLE}")
    expect(agent.locator(".tab", has_text="Bob Customer").locator(".badge")).to_have_text("1")
    assert tones(agent, SOFT) == soft

    # the sound is muted by a visible switch and stays muted after a reload
    agent.locator("#alert-sound").click()
    expect(agent.locator("#alert-sound")).to_have_text("Sound off")
    expect(agent.locator("#alert-sound")).to_have_attribute("aria-checked", "false")
    agent.reload()
    expect(agent.locator("#alert-sound")).to_have_text("Sound off")
    expect(agent.locator("#alert-notify")).to_have_text("Turn on desktop notifications")  # a new page asks again
    dan = new_page(browser, watch)
    start_chat(dan, base, "Dan Customer", "Muted?")
    expect(agent.locator(".offer")).to_be_visible()
    assert tones(agent, RING) == 0
    agent.screenshot(path=str(SHOTS / "console-muted-offer-1280.png"))
    watch.check()


def test_sign_out_with_open_chats_asks_first(browser: Browser, web_engine: WebEngine) -> None:
    base = web_engine.base
    watch = Watch()
    agent = new_page(browser, watch)
    sign_in(agent, base, 1)
    customer = new_page(browser, watch)
    start_chat(customer, base, "Eve Customer", "Can you help?")
    agent.locator(".offer").get_by_role("button", name="Accept").click()
    expect(agent.locator(".conv:visible .log")).to_contain_text("Can you help?")

    agent.get_by_role("button", name="Sign out").click()
    dialog = agent.get_by_role("dialog", name="Sign out with chats open?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("You have one chat open.")
    SHOTS.mkdir(parents=True, exist_ok=True)
    agent.screenshot(path=str(SHOTS / "console-sign-out-dialog-1280.png"))
    agent.set_viewport_size({"width": 390, "height": 800})
    agent.screenshot(path=str(SHOTS / "console-sign-out-dialog-390.png"))
    agent.set_viewport_size({"width": 1280, "height": 800})

    # away instead: still signed in, no new chats, the open one stays
    dialog.get_by_role("button", name="Set away and finish my chats").click()
    expect(agent.locator("#presence")).to_have_attribute("aria-checked", "false")
    expect(agent.locator("#me")).to_be_visible()
    expect(agent.locator("#console-note")).to_contain_text("You are away")
    expect(agent.locator(".conv:visible .log")).to_contain_text("Can you help?")

    # Cancel keeps everything as it is
    agent.get_by_role("button", name="Sign out").click()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(agent.locator("#me")).to_be_visible()

    # and signing out anyway: the sign-in screen, with no stale connection bar
    agent.get_by_role("button", name="Sign out").click()
    with agent.expect_response(f"{base}/api/agents/logout"):
        dialog.get_by_role("button", name="Sign out anyway").click()
    expect(agent.locator("#login-info")).to_have_text("You are signed out.")
    expect(customer.locator(".log")).to_contain_text("Can you help?")
    settle(agent)
    expect(agent.locator("#conn")).to_be_hidden()
    agent.screenshot(path=str(SHOTS / "console-signed-out-1280.png"))
    watch.check()


def invite(conv: Locator, agent_id: str) -> None:
    conv.get_by_role("button", name="Invite").click()
    conv.get_by_role("radio", name="Agent (id)").check()
    conv.get_by_role("combobox", name="Agent id or queue").fill(agent_id)
    conv.get_by_role("button", name="Send invitation").click()


def test_an_invitation_rings_and_is_answered_by_keyboard(browser: Browser, web_engine: WebEngine) -> None:
    base = web_engine.base
    watch = Watch()
    one = new_page(browser, watch)
    two = new_page(browser, watch)
    two.add_init_script(SPY)
    sign_in(one, base, 1)
    sign_in(two, base, 2)
    two.locator("#presence").click()            # away: the chat goes to agent one
    expect(two.locator("#presence")).to_have_attribute("aria-checked", "false")
    two_id = two.evaluate("() => JSON.parse(sessionStorage.getItem('frontdesk.agent')).agent.id")
    customer = new_page(browser, watch)
    start_chat(customer, base, "Fay Customer", "I need a specialist")
    one.locator(".offer").get_by_role("button", name="Accept").click()
    conv = one.locator(".conv:visible")
    expect(conv.locator(".log")).to_contain_text("I need a specialist")

    # the invitation rings on agent two's console until answered; Alt+R declines it
    invite(conv, two_id)
    card = two.locator(".invitation")
    expect(card).to_be_visible()
    expect(two).to_have_title(f"(1) {TITLE}")
    two.wait_for_function(f"() => window.__alerts.tones.filter((f) => f === {RING}).length >= 2")
    two.keyboard.press("Alt+r")
    expect(card).to_have_count(0)
    expect(two).to_have_title(TITLE)
    expect(conv.locator(".invite__result")).to_contain_text("declined")

    # asked again, Alt+A joins
    invite(conv, two_id)
    expect(card).to_be_visible()
    two.keyboard.press("Alt+a")
    expect(two.locator(".conv:visible .log")).to_contain_text("I need a specialist")
    expect(two).to_have_title(TITLE)
    watch.check()
