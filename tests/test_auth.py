import re

import pytest
from sqlalchemy import select

from factory_app.extensions import db
from factory_app.models import ROLE_ADMIN, Organisation, User

from .conftest import HTMX, PASSWORD, count_rows


@pytest.fixture(autouse=True)
def _fresh_limits(app):
    """Failed logins here must not use up the allowance of the tests that follow."""
    yield
    app.extensions["factory_limiter"].reset()


def signup(client, **over):
    data = {"organisation": "Harbour Sheet Metal", "name": "Maria Rossi",
            "email": "maria@harbour.example", "password": "s3cret-pass", "confirm": "s3cret-pass"}
    data.update(over)
    return client.post("/signup", data=data)


def test_signup_creates_organisation_and_administrator(app):
    client = app.test_client()
    response = signup(client)
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "maria@harbour.example"))
        assert user.role == ROLE_ADMIN
        assert user.organisation.name == "Harbour Sheet Metal"
        assert user.password_hash != "s3cret-pass" and user.check_password("s3cret-pass")
    assert b"Harbour Sheet Metal" in client.get("/").data


def test_signup_errors_keep_what_was_typed_and_create_nothing(app, tenant):
    client = app.test_client()
    response = signup(client, email=tenant.admin_email.upper(), confirm="other")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "The passwords differ." in body
    assert 'value="Harbour Sheet Metal"' in body
    response = signup(client, email=tenant.admin_email.upper())
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    assert count_rows(app, Organisation) == 1


def test_login_logout_and_wrong_password(app, tenant):
    client = app.test_client()
    bad = client.post("/login", data={"email": tenant.admin_email, "password": "nope"})
    assert bad.status_code == 422
    assert "match an account" in bad.get_data(as_text=True)
    assert client.get("/").status_code == 302
    good = client.post("/login", data={"email": tenant.admin_email.upper(), "password": PASSWORD})
    assert good.status_code == 302
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_deactivated_user_cannot_log_in(app, tenant):
    with app.app_context():
        db.session.get(User, tenant.staff_id).active = False
        db.session.commit()
    client = app.test_client()
    response = client.post("/login", data={"email": tenant.staff_email, "password": PASSWORD})
    assert response.status_code == 422


def test_next_parameter_is_guarded_against_open_redirects(app, tenant):
    for target, expected in [
        ("/customers?q=a", "/customers?q=a"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ]:
        client = app.test_client()
        response = client.post(f"/login?next={target}", data={
            "email": tenant.admin_email, "password": PASSWORD})
        assert response.status_code == 302
        assert response.headers["Location"] == expected, target


def test_anonymous_page_request_redirects_to_login_with_next(app):
    response = app.test_client().get("/customers?q=abc")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_expired_session_on_htmx_request_gets_401_with_hx_redirect(app):
    response = app.test_client().post(
        "/orders/1/lines", headers={**HTMX, "HX-Current-URL": "http://localhost/orders/1"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/orders/1"
    assert b"<html" not in response.data


def test_staff_cannot_open_settings(app, tenant):
    staff = tenant.client(as_staff=True)
    assert staff.get("/settings").status_code == 403
    assert staff.post("/settings/users", data={"name": "x"}).status_code == 403
    assert b"Settings" not in staff.get("/").data.split(b"<main")[0]
    assert tenant.client().get("/settings").status_code == 200


def test_session_cookie_is_httponly_and_samesite_lax(app, tenant):
    client = app.test_client()
    response = client.post("/login", data={"email": tenant.admin_email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# --- the same work for every email (issue 10, item 5) ------------------------------------

@pytest.fixture()
def hash_checks(monkeypatch):
    """Counts the password-hash checks made (the expensive part of a login)."""
    from factory_app.models import org
    calls = []
    real = org.check_password_hash

    def counting(pwhash, password):
        calls.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(org, "check_password_hash", counting)
    return calls


def test_unknown_or_inactive_email_costs_one_hash_check_like_a_known_one(app, tenant, hash_checks):
    from factory_app.services.orgs import authenticate
    with app.app_context():
        staff = db.session.get(User, tenant.staff_id)
        staff.active = False
        db.session.commit()
        for email, password in [(tenant.admin_email, PASSWORD), (tenant.admin_email, "wrong"),
                                ("nobody@nowhere.example", PASSWORD), (tenant.staff_email, PASSWORD)]:
            before = len(hash_checks)
            result = authenticate(email, password)
            assert len(hash_checks) == before + 1, email
            assert (result is not None) == (email == tenant.admin_email and password == PASSWORD)
        admin = db.session.get(User, tenant.admin_id)
        dummy = hash_checks[2]
        assert dummy != admin.password_hash
        assert dummy.split("$")[0] == admin.password_hash.split("$")[0]  # same method and cost
        assert hash_checks[3] == dummy  # made once


def test_login_page_answers_an_unknown_email_exactly_like_a_wrong_password(app, tenant, hash_checks):
    client = app.test_client()
    wrong = client.post("/login", data={"email": tenant.admin_email, "password": "not it"})
    unknown = client.post("/login", data={"email": "nobody@acme.example", "password": "not it"})
    assert wrong.status_code == unknown.status_code == 422
    assert len(hash_checks) == 2

    def page(r):  # what was typed and the CSRF token (it carries a timestamp) aside
        return re.sub(r'value="[^"]*"|"X-CSRFToken": "[^"]*"', "", r.get_data(as_text=True))
    assert page(wrong) == page(unknown)
