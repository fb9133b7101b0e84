"""Browser: Maria connects Xero (the sandbox) through its consent page, picks her
organisation, reads "Connected to ...", then disconnects; the sandbox's connected apps
no longer hold Factory."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from playwright.sync_api import expect
from redis import Redis

from factory_app.localredis import free_port

from .conftest import make_app, serving
from .test_integrations import MAPPING
from .test_browser import page, pick, settled, shot, sign_up  # noqa: F401  (fixture and helpers)

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def sandbox(tmp_path):
    from sandbox.core.testing import SandboxServer
    server = SandboxServer(str(tmp_path / "sandbox.db"), client_id="factory-browser", client_secret="browser-secret",
                           test_controls=True, validate_spec=True).start()
    yield server
    server.stop()
    assert server.spec_violations == [], server.spec_violations


TOKEN_KEY = Fernet.generate_key().decode()


@pytest.fixture()
def live_xero(app, database_url, redis_url, sandbox):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    live_app = make_app(database_url, redis_url, WTF_CSRF_ENABLED=True, TESTING=False,
                        XERO_CLIENT_ID="factory-browser", XERO_CLIENT_SECRET="browser-secret",
                        XERO_IDENTITY_URL=sandbox.face_url("xero"), XERO_API_URL=sandbox.face_url("xero"), SANDBOX_URL=sandbox.url,
                        XERO_REDIRECT_URI=f"{base}/settings/integrations/xero/callback",
                        FACTORY_TOKEN_KEY=TOKEN_KEY)
    with serving(live_app, port):
        yield base


def test_connect_pick_organisation_disconnect(live_xero, sandbox, page):  # noqa: F811
    base = live_xero
    sign_up(page, base, "Harbour Sheet Metal", "Maria Rossi", "maria@harbour.example")

    page.goto(f"{base}/settings/integrations")
    expect(page.locator("#integration-panel")).to_contain_text("Connect your accounting package")
    connect_harbour(page, base, sandbox)  # through the package's consent page
    expect(page).to_have_url(f"{base}/settings/integrations")
    expect(page.locator("dl.details")).to_contain_text("Maria Rossi")
    shot(page, "integrations.png")
    state = requests.get(f"{sandbox.url}/__sandbox/state", timeout=10).json()
    assert len(state["connections"]) == 1

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Disconnect accounting package')")
    expect(page.locator(".toast")).to_contain_text("Factory is no longer a connected app in Xero")
    expect(page.locator("#integration-panel")).to_contain_text("Connect your accounting package")
    state = requests.get(f"{sandbox.url}/__sandbox/state", timeout=10).json()
    assert state["connections"] == []


@pytest.fixture()
def worker(database_url, redis_url, sandbox, tmp_path):
    """A real worker process (worker.py), configured like the live server."""
    env = {k: v for k, v in os.environ.items()}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, FACTORY_TOKEN_KEY=TOKEN_KEY,
               XERO_CLIENT_ID="factory-browser", XERO_CLIENT_SECRET="browser-secret",
               XERO_IDENTITY_URL=sandbox.face_url("xero"), XERO_API_URL=sandbox.face_url("xero"),
               FACTORY_INSTANCE_PATH=str(tmp_path / "worker-instance"))
    Redis.from_url(redis_url).flushdb()
    process = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield process
    process.terminate()
    process.wait(15)


def connect_harbour(page, base, sandbox):
    page.goto(f"{base}/settings/integrations")
    page.click("button:has-text('Connect Xero')")
    expect(page).to_have_url(re.compile(re.escape(sandbox.url) + ".*"))
    expect(page).to_have_url(re.compile(re.escape(sandbox.url) + ".*"))
    boxes = page.locator("input[type=checkbox]")
    for i in range(boxes.count()):
        boxes.nth(i).uncheck()
    page.locator("label", has_text="Harbour Sheet Metal").locator("input").check()
    page.locator("button, input[type=submit]", has_text="Allow access").first.click()
    expect(page.locator("#integration-panel")).to_contain_text("Connected to Harbour Sheet Metal")


def test_import_customers_then_a_new_customer_on_the_fly_gets_linked(live_xero, sandbox, worker, page):  # noqa: F811
    base = live_xero
    sign_up(page, base, "Harbour Sheet Metal", "Maria Rossi", "maria@harbour.example")
    connect_harbour(page, base, sandbox)

    # Bringing contacts over: the progress component runs and ends with the counts
    settled(page)
    page.click("button:has-text('Import customers')")
    expect(page.locator("#run-import_customers")).to_contain_text("imported", timeout=30_000)
    expect(page.locator("#run-import_customers")).to_contain_text("21 imported, 0 linked to existing, 0 need review")
    page.goto(f"{base}/customers?q=Coastal")
    page.click("text=Coastal Kitchens Pty Ltd")
    expect(page.locator("dl.details")).to_contain_text("14 Pittwater Rd, Manly, NSW, 2095")
    expect(page.locator("section.card", has_text="Contact people")).to_contain_text("Grace Lin")
    expect(page.locator("#remote-link")).to_contain_text("Linked to Xero")

    # A new customer on the fly, with "Also create in Xero" ticked
    page.goto(f"{base}/orders/new")
    settled(page)
    page.click("button:has-text('+ New customer')")
    inline = page.locator("form.inline-form")
    settled(page)
    inline.locator("#name").fill("Thirroul Surf Club")
    inline.locator("#email").fill("treasurer@thirroulsurf.example")
    inline.locator("input[name=also_create]").check()
    inline.locator("button:has-text('Save customer')").click()
    expect(page.locator("#customer_id-search")).to_have_value("Thirroul Surf Club")
    page.goto(f"{base}/customers?q=Thirroul")
    page.click("text=Thirroul Surf Club")
    expect(page.locator("#remote-link")).to_contain_text("Linked to Xero", timeout=20_000)
    shot(page, "customer-linked.png")
    state = requests.get(f"{sandbox.url}/__sandbox/state", timeout=10).json()
    harbour = next(o for o in state["organisations"] if o["name"].startswith("Harbour"))
    assert harbour["contacts"] >= 34  # the new contact is in the package


WEBHOOK_KEY = "browser-webhook-key"


@pytest.fixture()
def payment_world(app, database_url, redis_url, tmp_path):
    """Sandbox posting signed webhooks to a live Factory, and a real worker."""
    from sandbox.core.testing import SandboxServer
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    sandbox = SandboxServer(str(tmp_path / "sandbox.db"), client_id="factory-browser", client_secret="browser-secret",
                            test_controls=True, validate_spec=True, webhook_url=f"{base}/webhooks/xero",
                            webhook_key=WEBHOOK_KEY).start()
    config = dict(XERO_CLIENT_ID="factory-browser", XERO_CLIENT_SECRET="browser-secret", XERO_IDENTITY_URL=sandbox.face_url("xero"),
                  XERO_API_URL=sandbox.face_url("xero"), SANDBOX_URL=sandbox.url, XERO_WEBHOOK_KEY=WEBHOOK_KEY,
                  XERO_REDIRECT_URI=f"{base}/settings/integrations/xero/callback", FACTORY_TOKEN_KEY=TOKEN_KEY)
    live_app = make_app(database_url, redis_url, WTF_CSRF_ENABLED=True, TESTING=False, **config)
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url,
               FACTORY_INSTANCE_PATH=str(tmp_path / "worker-instance"), SANDBOX_URL=sandbox.url,
               **{k: v for k, v in config.items() if k.startswith(("XERO_", "FACTORY_"))})
    Redis.from_url(redis_url).flushdb()
    with serving(live_app, port):
        worker_process = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        yield base, sandbox
        worker_process.terminate()
        worker_process.wait(15)
    sandbox.stop()
    assert sandbox.spec_violations == [], sandbox.spec_violations


def test_invoice_sent_then_paid_in_xero_locks_the_order(payment_world, page):  # noqa: F811
    base, sandbox = payment_world
    sign_up(page, base, "Harbour Sheet Metal", "Maria Rossi", "maria@harbour.example")
    connect_harbour(page, base, sandbox)
    settled(page)
    page.click("button:has-text('Update accounting data')")
    expect(page.locator("#run-sync")).to_contain_text("Last update", timeout=30_000)
    settled(page)
    page.click("button:has-text('Import customers')")
    expect(page.locator("#run-import_customers")).to_contain_text("imported", timeout=30_000)
    page.reload()
    for field, code in MAPPING.items():
        page.select_option(f"#{field}", code)
    page.click("button:has-text('Save mapping')")
    page.check("input[name=send_invoices]")
    page.check("input[name=status][value=approved]")
    page.click("button:has-text('Save sending settings')")
    expect(page.locator(".toast").last).to_contain_text("Sending settings saved")

    # Tom's order for Coastal Kitchens: confirm, invoice, and it reaches Xero
    page.goto(f"{base}/orders/new")
    pick(page, page.locator("#customer_id-search"), "Coast", "Coastal Kitchens Pty Ltd", keyboard=True)
    page.click("button:has-text('Create order')")
    expect(page.locator("h1")).to_contain_text("Order SO-")
    settled(page)  # htmx is loaded (deferred) before its buttons are pressed
    page.click("button:has-text('+ Add line')")
    expect(page.locator("#lines tr[id^=line-]")).to_have_count(1)
    settled(page)
    row = page.locator("#lines tr[id^=line-]").first
    row.locator("input[name=description]").fill("Zincalume panels")
    page.keyboard.press("Tab")
    page.keyboard.type("10")
    page.keyboard.press("Tab")
    page.keyboard.type("100")
    page.keyboard.press("Tab")
    expect(page.locator("[data-total=total]")).to_have_text("$1,100.00")
    order_url = page.url
    page.click("button:has-text('Confirm order')")
    page.click("button:has-text('Create invoice')")
    expect(page.locator(".push")).to_contain_text("Sent", timeout=20_000)
    number = page.locator(".push strong").inner_text()
    assert number.startswith("INV-")

    # Priya applies a part payment in Xero (the sandbox's ledger page)
    page.goto(f"{sandbox.url}/ledger")
    ledger_row = page.locator("tr", has_text=number).first
    ledger_row.locator("input[name=amount]").fill("500.00")
    ledger_row.locator("button:has-text('Apply payment')").click()
    expect(page.locator("tr", has_text=number).first).to_contain_text("500.00")

    # Tom opens the order again: products and prices are locked, notes still save
    for _ in range(40):  # the webhook reaches Factory, a worker reads the payment
        page.goto(order_url)
        if page.locator(".alert-lock").count():
            break
        page.wait_for_timeout(500)
    expect(page.locator(".alert-lock")).to_contain_text("Payment of $500.00 applied in Xero")
    expect(page.locator("#lines input[name=quantity]")).to_have_count(0)
    expect(page.locator(".push")).to_contain_text("Part-paid")
    page.fill("#delivery_notes", "Leave at the side gate.")
    page.click("button:has-text('Save details')")
    expect(page.locator(".toast").last).to_contain_text("was saved")
    expect(page.locator("#delivery_notes")).to_have_value("Leave at the side gate.")
    shot(page, "order-locked.png")
