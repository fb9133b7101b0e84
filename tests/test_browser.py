"""Browser test: Debian's chromium driven by Playwright against a live server.

Sign up, add a product, start an order, create its customer through the inline form,
add two lines and watch the totals change, confirm, create the invoice. Screenshots of
the three surfaces (order edit, inline customer form, settings) go to docs/screenshots/
(FACTORY_SCREENSHOTS overrides the folder).
"""
import contextlib
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright


from .conftest import make_app, serving

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("FACTORY_SCREENSHOTS") or ROOT / "docs" / "screenshots")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


@pytest.fixture()
def live_server(app, database_url, redis_url):
    with serving(make_app(database_url, redis_url, WTF_CSRF_ENABLED=True, TESTING=False)) as base:
        yield base


@contextlib.contextmanager
def browser_page(**context_options):
    """A Chromium page (context_options: viewport, touch...) that fails the test on any
    JavaScript error or anything the Content-Security-Policy refuses."""
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: the test command installs Debian's chromium "
        "(apt-get install -y --no-install-recommends chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        context = browser.new_context(locale="en-AU", **context_options)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # the Content-Security-Policy refuses what it must (inline script, eval, inline
        # style): Chromium says so on the console, and no page of Factory may need it
        page.on("console", lambda msg: errors.append(msg.text + " @ " + str(msg.location))
                if msg.type == "error" and "Content Security Policy" in msg.text else None)
        yield page
        context.close()
        browser.close()
        assert errors == [], errors  # no JavaScript errors and no refused script or style on any page


@pytest.fixture()
def page():
    with browser_page(viewport={"width": 1280, "height": 860}) as page:
        yield page


def settled(page):
    """htmx wires new content up when it settles (20 ms after the swap); a person is never
    that fast, Playwright is."""
    # a function, not an expression: Playwright would eval() an expression, which the
    # page's Content-Security-Policy refuses
    page.wait_for_function("() => document.readyState === 'complete' && !!window.htmx"
                           " && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def pick(page, combobox, typed: str, label: str, keyboard: bool = False):
    """Choose in a picker as a person does: type, wait for the matches, then click the one
    (or arrow down to it and press Enter)."""
    combobox.click()
    combobox.fill("")
    combobox.press_sequentially(typed, delay=30)
    listbox = page.locator(f"#{combobox.get_attribute('aria-controls')}")
    option = listbox.locator("[role=option]", has_text=label).first
    expect(option).to_be_visible()
    if keyboard:
        for _ in range(25):
            combobox.press("ArrowDown")
            if option.get_attribute("aria-selected") == "true":
                break
        combobox.press("Enter")
    else:
        option.click()
    expect(combobox).to_have_value(label)


def sign_up(page, base, organisation, name, email, password="panels-and-ducts"):
    page.goto(f"{base}/signup")
    page.fill("#organisation", organisation)
    page.fill("#name", name)
    page.fill("#email", email)
    page.fill("#password", password)
    page.fill("#confirm", password)
    page.click("button:has-text('Create account')")
    expect(page.locator("h1")).to_have_text(organisation)


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=False)


def test_sign_up_inline_customer_order_lines_totals_invoice(live_server, page):
    base = live_server
    sign_up(page, base, "Harbour Sheet Metal", "Tom Nguyen", "tom@harbour.example")
    expect(page.locator(".toast")).to_contain_text("Welcome to Factory")

    page.goto(f"{base}/products/new")
    page.fill("#sku", "PNL-1200")
    page.fill("#name", "Zincalume panel 1200 x 600")
    page.fill("#sale_price", "48.50")
    page.fill("#purchase_cost", "21.30")
    page.click("button:has-text('Save product')")
    expect(page.locator("table")).to_contain_text("PNL-1200")

    # a new order for a customer who has never bought before
    page.goto(f"{base}/orders/new")
    settled(page)
    page.click("button:has-text('+ New customer')")
    inline = page.locator("form.inline-form")
    expect(inline).to_be_visible()
    settled(page)
    inline.locator("button:has-text('Save customer')").click()
    expect(inline.locator(".error")).to_have_text("This field is required.")  # validated in place
    settled(page)  # htmx moves focus to the autofocus field when the swap settles
    inline.locator("#name").fill("Bayside Air Conditioning")
    inline.locator("#email").fill("office@baysideair.example")
    inline.locator("#phone").fill("03 9555 0142")
    shot(page, "inline-customer-form.png")
    inline.locator("button:has-text('Save customer')").click()
    expect(page.locator("form.inline-form")).to_have_count(0)
    expect(page.locator("#customer_id-search")).to_have_value("Bayside Air Conditioning")  # chosen in the picker
    assert page.locator("#customer_id").input_value().isdigit()
    assert page.url.endswith("/orders/new")  # no page reload happened
    page.fill("#reference", "Rooftop unit housings")
    page.click("button:has-text('Create order')")
    expect(page.locator("h1")).to_contain_text("Order SO-0001")

    # two lines; the totals follow every change
    total = page.locator("[data-total=total]")
    expect(total).to_have_text("$0.00")
    settled(page)  # htmx is loaded (deferred) before its buttons are pressed
    page.click("button:has-text('+ Add line')")
    expect(page.locator("#lines tr[id^=line-]")).to_have_count(1)
    settled(page)
    pick(page, page.locator("#lines tr[id^=line-]").nth(0).locator("[role=combobox]"), "PNL", "PNL-1200 — Zincalume panel 1200 x 600")
    expect(total).to_have_text("$53.35")
    settled(page)
    first = page.locator("#lines tr[id^=line-]").nth(0)
    first.locator("input[name=quantity]").fill("12")
    first.locator("input[name=quantity]").press("Tab")
    expect(total).to_have_text("$640.20")
    page.click("button:has-text('+ Add line')")
    expect(page.locator("#lines tr[id^=line-]")).to_have_count(2)
    settled(page)
    second = page.locator("#lines tr[id^=line-]").nth(1)
    # typed straight through, as a person would: each Tab saves, nothing typed is lost
    second.locator("input[name=description]").fill("Powder coat, charcoal")
    page.keyboard.press("Tab")
    page.keyboard.type("12")
    page.keyboard.press("Tab")
    page.keyboard.type("8.25")
    page.keyboard.press("Tab")
    expect(page.locator("[data-total=subtotal]")).to_have_text("$681.00")
    expect(page.locator("[data-total=tax]")).to_have_text("$68.10")
    expect(total).to_have_text("$749.10")

    # a bad quantity is refused in place; the totals stay
    second.locator("input[name=quantity]").fill("-3")
    second.locator("input[name=quantity]").press("Tab")
    expect(page.locator("#lines .error:not(:empty)")).to_have_text("Must be more than 0.")
    expect(second.locator("input[name=quantity]")).to_have_value("-3")  # kept as typed
    expect(total).to_have_text("$749.10")
    second.locator("input[name=quantity]").fill("12")
    second.locator("input[name=quantity]").press("Tab")
    expect(page.locator("#lines .error:not(:empty)")).to_have_count(0)
    page.fill("#delivery_notes", "Crane access from the lane.")
    shot(page, "order-edit.png")

    page.click("button:has-text('Confirm order')")
    expect(page.locator("h1")).to_contain_text("Confirmed")
    page.click("button:has-text('Create invoice')")
    expect(page.locator("h1")).to_have_text("Invoice INV-0001")
    expect(page.locator(".totals .grand").last).to_have_text("$749.10")
    expect(page.locator("table.lines")).to_contain_text("Powder coat, charcoal")

    page.goto(f"{base}/settings")
    expect(page.locator("#name")).to_have_value("Harbour Sheet Metal")
    shot(page, "settings.png")
    for name in ("order-edit.png", "inline-customer-form.png", "settings.png"):
        assert (SHOTS / name).stat().st_size > 10_000


def test_expired_session_sends_the_browser_to_login(live_server, page):
    base = live_server
    sign_up(page, base, "Ridgeline", "Maria", "maria@ridgeline.example")
    page.goto(f"{base}/customers")
    page.context.clear_cookies()
    page.fill("input[name=q]", "anything")
    page.wait_for_url(re.compile(r".*/login\?next=.*"))
    expect(page.locator("h2")).to_have_text("Log in")
