"""Browser: Maria connects Xero (the sandbox) through its consent page, picks her
organisation, reads "Connected to ...", then disconnects; the sandbox's connected apps
no longer hold Factory."""
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from playwright.sync_api import expect
from redis import Redis
from werkzeug.serving import make_server

from factory_app.localredis import free_port

from .conftest import make_app
from .test_browser import page, settled, shot  # noqa: F401  (fixture and helpers)

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def sandbox(tmp_path):
    from sandbox.testing import SandboxServer
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
                        XERO_IDENTITY_URL=sandbox.url, XERO_API_URL=sandbox.url, SANDBOX_URL=sandbox.url,
                        XERO_REDIRECT_URI=f"{base}/settings/integrations/xero/callback",
                        FACTORY_TOKEN_KEY=TOKEN_KEY)
    server = make_server("127.0.0.1", port, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    thread.join(5)


def test_connect_pick_organisation_disconnect(live_xero, sandbox, page):  # noqa: F811
    base = live_xero
    page.goto(f"{base}/signup")
    page.fill("#organisation", "Harbour Sheet Metal")
    page.fill("#name", "Maria Rossi")
    page.fill("#email", "maria@harbour.example")
    page.fill("#password", "sheet-metal-22")
    page.fill("#confirm", "sheet-metal-22")
    page.click("button:has-text('Create account')")

    page.goto(f"{base}/settings/integrations")
    expect(page.locator("#integration-panel")).to_contain_text("Connect your accounting package")
    page.click("button:has-text('Connect Xero')")
    # the package's consent page: pick the organisation, allow access
    expect(page).to_have_url(re.compile(re.escape(sandbox.url) + ".*"))
    boxes = page.locator("input[type=checkbox]")
    for i in range(boxes.count()):
        boxes.nth(i).uncheck()
    page.locator("label", has_text="Harbour Sheet Metal").locator("input").check()
    page.locator("button, input[type=submit]", has_text="Allow access").first.click()

    expect(page).to_have_url(f"{base}/settings/integrations")
    expect(page.locator("#integration-panel")).to_contain_text("Connected to Harbour Sheet Metal")
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
               XERO_IDENTITY_URL=sandbox.url, XERO_API_URL=sandbox.url,
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
    boxes = page.locator("input[type=checkbox]")
    for i in range(boxes.count()):
        boxes.nth(i).uncheck()
    page.locator("label", has_text="Harbour Sheet Metal").locator("input").check()
    page.locator("button, input[type=submit]", has_text="Allow access").first.click()
    expect(page.locator("#integration-panel")).to_contain_text("Connected to Harbour Sheet Metal")


def test_import_customers_then_a_new_customer_on_the_fly_gets_linked(live_xero, sandbox, worker, page):  # noqa: F811
    base = live_xero
    page.goto(f"{base}/signup")
    page.fill("#organisation", "Harbour Sheet Metal")
    page.fill("#name", "Maria Rossi")
    page.fill("#email", "maria@harbour.example")
    page.fill("#password", "sheet-metal-22")
    page.fill("#confirm", "sheet-metal-22")
    page.click("button:has-text('Create account')")
    connect_harbour(page, base, sandbox)

    # Bringing contacts over: the progress component runs and ends with the counts
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
    page.click("button:has-text('+ New customer')")
    inline = page.locator("form.inline-form")
    settled(page)
    inline.locator("#name").fill("Thirroul Surf Club")
    inline.locator("#email").fill("treasurer@thirroulsurf.example")
    inline.locator("input[name=also_create]").check()
    inline.locator("button:has-text('Save customer')").click()
    expect(page.locator("#customer_id option:checked")).to_have_text("Thirroul Surf Club")
    page.goto(f"{base}/customers?q=Thirroul")
    page.click("text=Thirroul Surf Club")
    expect(page.locator("#remote-link")).to_contain_text("Linked to Xero", timeout=20_000)
    shot(page, "customer-linked.png")
    state = requests.get(f"{sandbox.url}/__sandbox/state", timeout=10).json()
    harbour = next(o for o in state["organisations"] if o["name"].startswith("Harbour"))
    assert harbour["contacts"] >= 34  # the new contact is in the package
