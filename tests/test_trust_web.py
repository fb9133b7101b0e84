"""Issue 10, items 1-3, 8 and 9: what reaches the browser is never HTML made of data,
pages carry the security headers, secrets stay out of the logs and the instance folder
is private, and the OAuth redirect URI never follows the request's Host header."""
from __future__ import annotations

import json
import logging
import os
import re
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
from factory_app.extensions import db
from factory_app.models import ExternalLink, ImportReview

from . import factories
from .conftest import HTMX, make_app

ROOT = Path(__file__).resolve().parent.parent
EVIL = "<img src=x onerror=alert(1)>"


# --- 1. no view returns a raw string as HTML ---------------------------------------------

@pytest.fixture()
def linked_review(app, tenant):
    """A review whose remote contact (named with markup) is already linked meanwhile, so
    resolving it is refused with a message that carries the name."""
    with app.app_context():
        customer = factories.customer(tenant.org_id, EVIL)
        review = ImportReview(organisation_id=tenant.org_id, provider="xero", remote_org_id="t1",
                              local_type="customer", remote_id="r1", remote_name=EVIL,
                              remote_data=json.dumps({"remote_id": "r1", "name": EVIL, "is_customer": True}),
                              candidate_ids=str(customer.id), reason="Same name")
        db.session.add_all([review, ExternalLink(organisation_id=tenant.org_id, provider="xero", remote_org_id="t1",
                                                 local_type="customer", local_id=customer.id + 1000,
                                                 remote_id="r1", remote_name=EVIL)])
        from factory_app.models import AccountingConnection
        db.session.add(AccountingConnection(organisation_id=tenant.org_id, provider="xero", remote_org_id="t1",
                                            remote_org_name=EVIL))
        db.session.commit()
        return review.id, customer.id


def assert_toast_only(response, status, text):
    assert response.status_code == status
    assert response.mimetype == "text/plain" and response.get_data() == b""
    assert response.headers["HX-Reswap"] == "none"
    messages = json.loads(response.headers["HX-Trigger"])["toast"]["messages"]
    assert any(text in m["text"] for m in messages), messages


def test_a_refused_review_answers_a_toast_never_the_name_as_html(client, linked_review):
    review_id, customer_id = linked_review
    for data in ({"action": "create"}, {"action": "link", "local_id": str(customer_id)}):
        response = client.post(f"/settings/integrations/reviews/{review_id}", data=data, headers=HTMX)
        assert_toast_only(response, 409, EVIL)


def test_error_answers_to_htmx_are_toasts_with_an_empty_body(client, tenant, app):
    assert_toast_only(client.get("/orders/999999", headers=HTMX), 404, "couldn't find")
    staff = tenant.client(as_staff=True)
    assert_toast_only(staff.get("/settings", headers=HTMX), 403, "administrator")
    strict = make_app(app.config["SQLALCHEMY_DATABASE_URI"], app.config["REDIS_URL"], WTF_CSRF_ENABLED=True)
    anonymous = strict.test_client()
    assert_toast_only(anonymous.post("/login", data={"email": "a@b.c"}, headers=HTMX), 400, "expired")
    expired = anonymous.get("/orders", headers=HTMX)
    assert expired.status_code == 401 and expired.headers["HX-Redirect"].startswith("/login")
    assert expired.get_data() == b""


# --- 2. no data inside JavaScript ---------------------------------------------------------

INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=|\shx-on[:-]|javascript:|hx-vals=['\"]\s*js:", re.I)


def test_no_template_has_an_inline_handler_or_script():
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        if INLINE_HANDLER.search(text) or re.search(r"<script(?![^>]*\ssrc=)", text) or " style=" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_disconnect_question_is_a_data_attribute_with_the_name_as_text(client, linked_review):
    page = client.get("/settings/integrations").get_data(as_text=True)
    form = re.search(r'<form[^>]*action="/settings/integrations/disconnect"[^>]*>', page).group(0)
    assert "onsubmit" not in form and 'data-confirm="Disconnect Xero?' in form
    assert "&lt;img src=x onerror=alert(1)&gt;" in form and EVIL not in form


# --- 3. security headers -------------------------------------------------------------------

def assert_security_headers(response):
    csp = response.headers["Content-Security-Policy"]
    policy = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert policy["script-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_and_htmx_partials_carry_the_security_headers(client, app):
    page = client.get("/orders")
    partial = client.get("/orders", headers={**HTMX, "HX-Target": "doc-rows"})
    login = app.test_client().get("/login")
    for response in (page, partial, login):
        assert response.status_code == 200
        assert_security_headers(response)
        assert "Strict-Transport-Security" not in response.headers  # plain http here


def test_hsts_when_the_session_cookie_is_secure(app):
    secure = make_app(app.config["SQLALCHEMY_DATABASE_URI"], app.config["REDIS_URL"], SESSION_COOKIE_SECURE=True)
    response = secure.test_client().get("/login", base_url="https://factory.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert_security_headers(response)


# --- 8. secrets stay out of logs; the instance folder is private ---------------------------

def test_the_oauth_callback_and_reset_links_are_redacted_in_access_logs():
    from factory_app.logs import GunicornLogger, RedactingFilter
    logger = GunicornLogger(SimpleNamespace(errorlog="-", loglevel="info", accesslog=None, syslog=False,
                                            logconfig=None, logconfig_dict={}, logconfig_json=None,
                                            capture_output=False, access_log_format="", disable_redirect_access_to_syslog=False,
                                            user=0, group=0, dogstatsd_tags="", statsd_host=None))
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/settings/integrations/xero/callback?code=SECRETCODE&state=SECRETSTATE",
               "PATH_INFO": "/settings/integrations/xero/callback", "QUERY_STRING": "code=SECRETCODE&state=SECRETSTATE",
               "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_REFERER": "https://factory.example/reset-password/SECRETTOKEN"}
    response = SimpleNamespace(status="302 FOUND", sent=0, headers=[])
    from datetime import timedelta
    atoms = logger.atoms(response, SimpleNamespace(headers=[]), environ, timedelta(seconds=0))
    assert "SECRET" not in json.dumps(atoms, default=str)
    assert atoms["r"] == "GET /settings/integrations/xero/callback?[redacted] HTTP/1.1"
    # werkzeug's request log, as the development and test servers write it
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - [%s] "%s" %s %s',
                               ("127.0.0.1", "now", "GET /settings/integrations/xero/callback?code=SECRETCODE HTTP/1.1",
                                "302", "-"), None)
    RedactingFilter().filter(record)
    assert "SECRET" not in record.getMessage() and "[redacted]" in record.getMessage()
    untouched = "GET /customers?q=smith HTTP/1.1"
    from factory_app.logs import redact
    assert redact(untouched) == untouched


def test_the_werkzeug_log_filter_is_installed_by_create_app(app):
    from factory_app.logs import RedactingFilter
    assert any(isinstance(f, RedactingFilter) for f in logging.getLogger("werkzeug").filters)


def test_the_instance_folder_and_its_files_are_private(tmp_path, monkeypatch, redis_url):
    folder = tmp_path / "instance"
    monkeypatch.setenv("FACTORY_INSTANCE_PATH", str(folder))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    folder.mkdir(mode=0o755)
    (folder / "token_key").write_text("old")
    os.chmod(folder / "token_key", 0o644)
    app = make_app(f"sqlite:///{folder / 'factory.db'}", redis_url)
    with app.app_context():
        db.create_all()
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(folder) == 0o700
    for name in ("factory.db", "secret_key", "token_key"):
        assert mode(folder / name) == 0o600, name


# --- 9. the redirect URI comes from configuration ------------------------------------------

def test_the_redirect_uri_ignores_the_host_header(app, tenant):
    from factory_app.blueprints.integrations import redirect_uri
    configured = make_app(app.config["SQLALCHEMY_DATABASE_URI"], app.config["REDIS_URL"],
                          FACTORY_EXTERNAL_URL="https://factory.harbour.example/", XERO_REDIRECT_URI="")
    with configured.test_request_context("/settings/integrations", headers={"Host": "evil.example"}):
        assert redirect_uri("xero") == "https://factory.harbour.example/settings/integrations/xero/callback"
    explicit = make_app(app.config["SQLALCHEMY_DATABASE_URI"], app.config["REDIS_URL"],
                        XERO_REDIRECT_URI="https://other.example/cb")
    with explicit.test_request_context("/", headers={"Host": "evil.example"}):
        assert redirect_uri("xero") == "https://other.example/cb"
