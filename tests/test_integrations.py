"""Connecting and disconnecting Xero, against the sandbox (a real local server that
speaks Xero's API; every request and response is checked against Xero's OpenAPI files)."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import requests
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from factory_app.accounting import connections as conn_service
from factory_app.accounting import provider as get_provider
from factory_app.accounting.base import RateLimited, ReconnectNeeded, Rejected, RetriableError
from factory_app.accounting.crypto import decrypt
from factory_app.extensions import db
from factory_app.models import AccountingConnection, ExternalLink, PendingAuthorisation

from .conftest import PASSWORD, make_app
from .support.consent import consent, local_path, query

CALLBACK = "http://localhost/settings/integrations/xero/callback"
# the Harbour organisation's accounts and tax rates, as an administrator maps them
MAPPING = {"sales_account_code": "200", "sales_tax_taxable": "OUTPUT", "sales_tax_free": "EXEMPTOUTPUT",
           "purchase_account_code": "300", "purchase_tax_taxable": "INPUT", "purchase_tax_free": "EXEMPTEXPENSES"}


@pytest.fixture()
def sandbox(tmp_path):
    from sandbox.core.testing import SandboxServer
    server = SandboxServer(str(tmp_path / "sandbox.db"), client_id="factory-test", client_secret="test-secret",
                           test_controls=True, validate_spec=True).start()
    yield server
    server.stop()
    assert server.spec_violations == [], server.spec_violations


@pytest.fixture()
def xero_app(app, database_url, redis_url, sandbox):
    return make_app(database_url, redis_url, XERO_CLIENT_ID="factory-test", XERO_CLIENT_SECRET="test-secret",
                    XERO_IDENTITY_URL=sandbox.face_url("xero"), XERO_API_URL=sandbox.face_url("xero"), XERO_REDIRECT_URI=CALLBACK,
                    FACTORY_TOKEN_KEY=Fernet.generate_key().decode(), ACCOUNTING_HTTP_TIMEOUT=3)


def login(xero_app, email):
    client = xero_app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


@pytest.fixture()
def admin(xero_app, tenant):
    return login(xero_app, tenant.admin_email)


def control(sandbox, endpoint, **body):
    response = requests.post(f"{sandbox.url}/__sandbox/{endpoint}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def sandbox_state(sandbox):
    return requests.get(f"{sandbox.url}/__sandbox/state", timeout=10).json()


def connect(admin, organisations=None, allow=True):
    """Press Connect, go through the consent page, come back; returns the last response."""
    start = admin.post("/settings/integrations/xero/connect")
    assert start.status_code == 302, start.data
    back = consent(start.headers["Location"], organisations, allow)
    assert back.startswith(CALLBACK)
    return admin.get(local_path(back)), back


def the_connection(xero_app, tenant) -> AccountingConnection | None:
    with xero_app.app_context():
        row = conn_service.current_connection(tenant.org_id)
        if row is not None:
            db.session.expunge(row)
        return row


def test_connect_one_organisation(xero_app, admin, tenant, sandbox):
    response, _ = connect(admin, ["Harbour"])
    assert response.status_code == 302 and response.headers["Location"] == "/settings/integrations"
    page = admin.get("/settings/integrations").get_data(as_text=True)
    assert "Connected to Harbour Sheet Metal" in page and "Disconnect accounting package" in page
    row = the_connection(xero_app, tenant)
    assert row.status == "active" and row.remote_org_name.startswith("Harbour")
    with xero_app.app_context():
        access = decrypt(row.access_token_enc)
        assert access and access not in row.access_token_enc and row.refresh_token_enc.startswith("gAAAA")
        # the stored token really works
        orgs = get_provider("xero").organisations(access)
        assert [o.remote_id for o in orgs] == [row.remote_org_id]
        assert db.session.scalar(select(func.count()).select_from(PendingAuthorisation)) == 0
    authorise = [r for r in sandbox_state(sandbox)["requests"] if "/connect/token" in r["path"]]
    assert authorise, "the code was exchanged at the token endpoint"


def test_several_organisations_are_picked_on_our_page(xero_app, admin, tenant):
    response, _ = connect(admin, None)
    assert response.status_code == 302 and "/settings/integrations/choose/" in response.headers["Location"]
    choose_url = response.headers["Location"]
    page = admin.get(choose_url).get_data(as_text=True)
    assert "Harbour Sheet Metal" in page and "Second Brand" in page
    with xero_app.app_context():
        pending = db.session.scalar(select(PendingAuthorisation))
        second = next(c for c in conn_service.ConnectOutcome(pending=pending).choices if "Second" in c.name)
    bad = admin.post(choose_url, data={"remote_org_id": "not-one-of-them"})
    assert bad.status_code == 422
    done = admin.post(choose_url, data={"remote_org_id": second.remote_id})
    assert done.status_code == 302
    assert the_connection(xero_app, tenant).remote_org_name.startswith("Second Brand")


def test_callback_state_checks_and_reused_code(xero_app, admin, tenant):
    response, back = connect(admin, ["Harbour"])
    assert the_connection(xero_app, tenant) is not None
    again = admin.get(local_path(back), follow_redirects=True)  # the same code and state again
    assert "did not start here" in again.get_data(as_text=True) or "already used" in again.get_data(as_text=True)
    for url in ("/settings/integrations/xero/callback?code=abc",
                "/settings/integrations/xero/callback?code=abc&state=forged"):
        page = admin.get(url, follow_redirects=True).get_data(as_text=True)
        assert "did not start here" in page
    with xero_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AccountingConnection)) == 1


def test_code_reused_with_a_fresh_state_is_refused(xero_app, admin, tenant, sandbox):
    start = admin.post("/settings/integrations/xero/connect")
    back = consent(start.headers["Location"], ["Harbour"])
    code = query(back)["code"]
    # spend the code directly at the token endpoint, as an attacker replaying it would
    spent = requests.post(f"{sandbox.url}/xero/connect/token", auth=("factory-test", "test-secret"),
                          data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
                          timeout=10)
    assert spent.status_code in (200, 400)
    page = admin.get(local_path(back), follow_redirects=True).get_data(as_text=True)
    assert "refused this sign-in" in page or "Connect to Xero again" in page
    assert the_connection(xero_app, tenant) is None


def test_cancel_and_error_parameters(xero_app, admin, tenant):
    response, _ = connect(admin, ["Harbour"], allow=False)
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "You cancelled at Xero; nothing was connected." in page
    start = admin.post("/settings/integrations/xero/connect")
    state = query(start.headers["Location"])["state"]
    page = admin.get(f"/settings/integrations/xero/callback?state={state}&error=server_error",
                     follow_redirects=True).get_data(as_text=True)
    assert "Xero did not connect: server_error." in page
    assert the_connection(xero_app, tenant) is None


def test_no_organisation_left_after_consent(xero_app, admin, tenant, sandbox):
    start = admin.post("/settings/integrations/xero/connect")
    back = consent(start.headers["Location"], ["Harbour"])
    control(sandbox, "connections/remove")  # the organisation is gone before we list it
    page = admin.get(local_path(back), follow_redirects=True).get_data(as_text=True)
    assert "has no organisation that Factory may use" in page
    assert the_connection(xero_app, tenant) is None


def test_refresh_ahead_of_expiry_and_rotation(xero_app, admin, tenant, sandbox):
    connect(admin, ["Harbour"])
    with xero_app.app_context():
        row = conn_service.current_connection(tenant.org_id)
        old_refresh = decrypt(row.refresh_token_enc)
        row.access_expires_at = datetime.now(timezone.utc) + timedelta(seconds=30)  # inside the margin
        db.session.commit()
        accounts = conn_service.call(row, get_provider("xero").accounts)
        assert any(a.code == "200" for a in accounts.items)
        db.session.refresh(row)
        assert decrypt(row.refresh_token_enc) != old_refresh  # the rotated token was saved
        assert row.access_expires_at > datetime.now(timezone.utc) + timedelta(minutes=20)


def test_expired_access_token_is_refreshed_once_and_retried(xero_app, admin, tenant, sandbox):
    connect(admin, ["Harbour"])
    control(sandbox, "tokens/expire")
    with xero_app.app_context():
        row = conn_service.current_connection(tenant.org_id)
        rates = conn_service.call(row, get_provider("xero").tax_rates)
        assert any(r.code == "OUTPUT" for r in rates.items)
        assert row.status == "active"


def test_refresh_rejected_needs_reconnect_with_banner(xero_app, admin, tenant, sandbox):
    connect(admin, ["Harbour"])
    control(sandbox, "tokens/revoke")
    with xero_app.app_context():
        row = conn_service.current_connection(tenant.org_id)
        row.access_expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
        db.session.commit()
        with pytest.raises(ReconnectNeeded):
            conn_service.call(row, get_provider("xero").accounts)
        assert row.status == "needs_reconnect"
    page = admin.get("/customers").get_data(as_text=True)
    assert "no longer accepts Factory's connection" in page and "Reconnect" in page
    staff = login(xero_app, tenant.staff_email)
    seen = staff.get("/customers").get_data(as_text=True)  # staff see it too, without the action
    assert "no longer accepts" in seen and "an administrator must reconnect" in seen
    assert 'href="/settings/integrations">Reconnect' not in seen
    # reconnecting replaces the broken connection
    connect(admin, ["Harbour"])
    assert the_connection(xero_app, tenant).status == "active"


def test_connection_removed_in_xero_needs_reconnect(xero_app, admin, tenant, sandbox):
    connect(admin, ["Harbour"])
    control(sandbox, "connections/remove")
    with xero_app.app_context():
        row = conn_service.current_connection(tenant.org_id)
        with pytest.raises(ReconnectNeeded):
            conn_service.call(row, get_provider("xero").accounts)
        assert row.status == "needs_reconnect"


def test_two_refreshes_racing_spend_the_refresh_token_once(xero_app, admin, tenant, sandbox):
    connect(admin, ["Harbour"])
    with xero_app.app_context():
        row = conn_service.current_connection(tenant.org_id)
        row.access_expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
        db.session.commit()
        connection_id = row.id
    before = len([r for r in sandbox_state(sandbox)["requests"] if r["path"].endswith("/connect/token")])
    tokens, errors = [], []
    barrier = threading.Barrier(2)

    def worker():
        with xero_app.app_context():
            try:
                connection = db.session.get(AccountingConnection, connection_id)
                barrier.wait()
                tokens.append(conn_service.api_session(connection).access_token)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and len(tokens) == 2 and tokens[0] == tokens[1]
    after = len([r for r in sandbox_state(sandbox)["requests"] if r["path"].endswith("/connect/token")])
    assert after - before == 1


def test_disconnect_removes_factory_from_connected_apps(xero_app, admin, tenant, sandbox):
    connect(admin, ["Harbour"])
    assert len(sandbox_state(sandbox)["connections"]) == 1
    response = admin.post("/settings/integrations/disconnect", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Factory is no longer a connected app in Xero" in page
    assert sandbox_state(sandbox)["connections"] == []
    assert the_connection(xero_app, tenant) is None
    assert "Connect Xero" in admin.get("/settings/integrations").get_data(as_text=True)
    with xero_app.app_context():
        closed = db.session.scalar(select(AccountingConnection))
        assert closed.status == "disconnected" and closed.access_token_enc is None and closed.refresh_token_enc is None


def test_disconnect_when_the_package_is_down_still_closes_locally(xero_app, admin, tenant, sandbox):
    connect(admin, ["Harbour"])
    sandbox.stop()
    page = admin.post("/settings/integrations/disconnect", follow_redirects=True).get_data(as_text=True)
    assert "Disconnected from Harbour" in page and "could not be removed" in page and "could not be revoked" in page
    assert the_connection(xero_app, tenant) is None


def test_links_return_when_reconnecting_to_the_same_organisation(xero_app, admin, tenant, sandbox):
    connect(admin, ["Harbour"])
    with xero_app.app_context():
        row = conn_service.current_connection(tenant.org_id)
        db.session.add(ExternalLink(organisation_id=tenant.org_id, provider="xero", remote_org_id=row.remote_org_id,
                                    local_type="customer", local_id=1, remote_id="abc", remote_name="Coastal"))
        db.session.commit()
    admin.post("/settings/integrations/disconnect")
    connect(admin, ["Harbour"])
    with xero_app.app_context():
        row = conn_service.current_connection(tenant.org_id)
        assert [l.remote_id for l in db.session.scalars(conn_service.links_for(row, "customer"))] == ["abc"]
    admin.post("/settings/integrations/disconnect")
    # another organisation is connected only once the switch is confirmed (issue 10 item 12)
    response, _ = connect(admin, ["Second Brand"])
    assert response.status_code == 302 and "/settings/integrations/choose/" in response.headers["Location"]
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "linked to Harbour Sheet Metal (Sandbox), not to Second Brand Pty Ltd" in page
    assert the_connection(xero_app, tenant) is None  # nothing connected yet
    with xero_app.app_context():
        pending = db.session.scalar(select(PendingAuthorisation))
        [second] = conn_service.ConnectOutcome(pending=pending).choices
    unconfirmed = admin.post(response.headers["Location"], data={"remote_org_id": second.remote_id})
    assert unconfirmed.status_code == 200 and 'name="confirm_switch"' in unconfirmed.get_data(as_text=True)
    assert the_connection(xero_app, tenant) is None
    done = admin.post(response.headers["Location"], data={"remote_org_id": second.remote_id, "confirm_switch": "yes"})
    assert done.status_code == 302
    with xero_app.app_context():
        row = conn_service.current_connection(tenant.org_id)
        assert row.remote_org_name == "Second Brand Pty Ltd"
        assert db.session.scalars(conn_service.links_for(row, "customer")).all() == []
        assert db.session.scalar(select(func.count()).select_from(ExternalLink)) == 1  # kept, not deleted


@pytest.mark.parametrize("kind, expected", [("429", RetriableError), ("500", RetriableError),
                                            ("malformed", RetriableError), ("drop", RetriableError),
                                            ("timeout", RetriableError)])
def test_failures_are_classified_once(xero_app, admin, tenant, sandbox, kind, expected):
    connect(admin, ["Harbour"])
    control(sandbox, "faults", kind=kind, count=1, path="/api.xro/2.0/Accounts", retry_after=2, seconds=5)
    with xero_app.app_context():
        row = conn_service.current_connection(tenant.org_id)
        with pytest.raises(expected) as caught:
            conn_service.call(row, get_provider("xero").accounts)
        if kind == "429":
            assert caught.value.retry_after == 2
        assert row.status == "active"  # a passing fault never asks for a reconnect
        assert conn_service.call(row, get_provider("xero").accounts).items  # and the next call works


def test_a_429_pauses_every_call_for_the_organisation_as_long_as_asked(xero_app, admin, tenant, sandbox, redis_conn):
    """Xero refuses a call for a rate limit and says "retry after 2 s": no other call for
    the organisation goes out before then (an invoice sent meanwhile would only be refused
    too); one that can't wait is told when to try again, one that can waits its turn."""
    import time
    connect(admin, ["Harbour"])
    control(sandbox, "faults", kind="429", count=1, path="/api.xro/2.0/Accounts", retry_after=2, seconds=5)
    with xero_app.app_context():
        adapter = get_provider("xero")
        row = conn_service.current_connection(tenant.org_id)
        with pytest.raises(RateLimited):
            conn_service.call(row, adapter.accounts)
        sent = len(sandbox_state(sandbox)["requests"])
        with pytest.raises(RetriableError) as caught:
            conn_service.call(row, adapter.tax_rates, wait=0.5)  # as a web request would
        assert 1 < caught.value.retry_after <= 2 and caught.value.reached is False
        assert "asked Factory to wait" in caught.value.message
        assert len(sandbox_state(sandbox)["requests"]) == sent  # not sent
        started = time.monotonic()
        assert conn_service.call(row, adapter.tax_rates, wait=10).items  # as a job would: waits, then goes
        assert 1 < time.monotonic() - started < 5


def test_validation_errors_keep_the_packages_message(xero_app, admin, tenant, sandbox):
    connect(admin, ["Harbour"])
    adapter = get_provider("xero", xero_app.config)
    with xero_app.app_context():
        row = conn_service.current_connection(tenant.org_id)
        first = conn_service.call(row, lambda s: adapter.save_contact(s, None, name="Brand New Pty Ltd"))
        assert first.remote_id and first.name == "Brand New Pty Ltd"
        with pytest.raises(Rejected) as caught:
            conn_service.call(row, lambda s: adapter.save_contact(s, None, name="brand new pty ltd"))
        assert "already assigned to another contact" in caught.value.message


def test_staff_cannot_manage_integrations(xero_app, tenant):
    staff = login(xero_app, tenant.staff_email)
    assert staff.get("/settings/integrations").status_code == 403
    assert staff.post("/settings/integrations/xero/connect").status_code == 403
    assert staff.post("/settings/integrations/disconnect").status_code == 403


def test_not_configured_package_says_so(app, tenant):
    page = tenant.client().get("/settings/integrations").get_data(as_text=True)
    assert "Not set up on this server" in page
    response = tenant.client().post("/settings/integrations/xero/connect", follow_redirects=True)
    assert "not set up on this Factory server" in response.get_data(as_text=True)


def test_the_call_budget_is_shared_and_waits_or_says_when(xero_app, admin, tenant, sandbox, redis_conn):
    connect(admin, ["Harbour"])
    from factory_app.accounting.ratelimit import Budget
    with xero_app.app_context():
        row = conn_service.current_connection(tenant.org_id)
        budget = Budget(row.provider, row.remote_org_id, per_minute=3, concurrent=5)
        for _ in range(3):
            with budget.call(wait=0):
                pass
        with pytest.raises(RetriableError) as caught:
            with budget.call(wait=0):
                pass
        # a sliding 60-second window, as the package counts: the next place frees 60 s after
        # the oldest of the three calls (just now), whatever second of the clock's minute it is
        assert 59 < caught.value.retry_after <= 60.1
        assert caught.value.reached is False  # nothing was sent


def test_five_at_a_time_across_threads_means_no_429(xero_app, admin, tenant, sandbox, redis_conn):
    connect(admin, ["Harbour"])
    control(sandbox, "faults", kind="timeout", count=8, path="/api.xro/2.0/Accounts", seconds=1)
    errors = []

    def one_call():
        with xero_app.app_context():
            try:
                row = conn_service.current_connection(tenant.org_id)
                conn_service.call(row, get_provider("xero").accounts, wait=30)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()
    threads = [threading.Thread(target=one_call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    statuses = [r["status"] for r in sandbox_state(sandbox)["requests"] if r["path"].endswith("/Accounts")]
    assert len(statuses) == 8 and 429 not in statuses
