"""Ending sessions (issue 10, item 6): logging out, a new password or being deactivated ends
every session and remember-me cookie of that user, in every browser."""
import pytest
from sqlalchemy import select, text

from factory_app import config as config_module
from factory_app.extensions import db
from factory_app.models import User
from factory_app.sessions import load_user

from .conftest import PASSWORD

REMEMBER = "remember_token"


def log_in(app, email, remember=False):
    client = app.test_client()
    data = {"email": email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    assert client.post("/login", data=data).status_code == 302
    return client


def cookie(client, name):
    found = client.get_cookie(name)
    return found.value if found else None


def with_cookie(app, name, value):
    client = app.test_client()
    client.set_cookie(name, value)
    return client


def logged_in(client) -> bool:
    return client.get("/").status_code == 200


def test_the_old_session_cookie_is_dead_after_logout(app, tenant):
    client = log_in(app, tenant.admin_email)
    old = cookie(client, "session")
    assert logged_in(with_cookie(app, "session", old))
    assert client.post("/logout").status_code == 302
    assert not logged_in(with_cookie(app, "session", old))


def test_the_remember_cookie_is_dead_after_logout_and_new_at_every_login(app, tenant):
    first = log_in(app, tenant.admin_email, remember=True)
    old = cookie(first, REMEMBER)
    assert old and logged_in(with_cookie(app, REMEMBER, old))  # it works on its own
    first.post("/logout")
    assert not logged_in(with_cookie(app, REMEMBER, old))
    new = cookie(log_in(app, tenant.admin_email, remember=True), REMEMBER)
    assert new != old
    assert logged_in(with_cookie(app, REMEMBER, new))


def test_logging_out_ends_the_sessions_of_that_user_in_every_browser(app, tenant):
    laptop, phone = log_in(app, tenant.admin_email), log_in(app, tenant.admin_email, remember=True)
    colleague = log_in(app, tenant.staff_email)
    laptop.post("/logout")
    assert not logged_in(phone)
    assert logged_in(colleague)


def test_deactivating_a_user_ends_their_sessions(app, tenant):
    staff = log_in(app, tenant.staff_email, remember=True)
    remembered = cookie(staff, REMEMBER)
    admin = tenant.client()
    response = admin.post(f"/settings/users/{tenant.staff_id}", data={"role": "staff"})  # "Can log in" unticked
    assert response.status_code == 302
    assert not logged_in(staff)
    assert not logged_in(with_cookie(app, REMEMBER, remembered))
    assert logged_in(admin)
    # let back in, they log in afresh: the old cookies stay dead
    admin.post(f"/settings/users/{tenant.staff_id}", data={"role": "staff", "active": "y"})
    assert not logged_in(staff)
    assert not logged_in(with_cookie(app, REMEMBER, remembered))
    # a role change alone keeps them logged in
    staff = log_in(app, tenant.staff_email)
    admin.post(f"/settings/users/{tenant.staff_id}", data={"role": "administrator", "active": "y"})
    assert logged_in(staff)


def test_user_loader_takes_only_the_current_token(app, tenant):
    with app.app_context():
        user = db.session.get(User, tenant.admin_id)
        assert load_user(user.get_id()) is user
        for stale in (str(user.id), f"{user.id}:", f"{user.id}:{user.session_token}x", f"x:{user.session_token}",
                      f"{tenant.staff_id}:{user.session_token}", "", "9" * 40 + ":t", "1:é"):
            assert load_user(stale) is None, stale
        user.active = False
        assert load_user(user.get_id()) is None


def test_remember_cookie_follows_the_session_cookie(app, tenant, monkeypatch, tmp_path):
    for secure in ("", "1"):
        monkeypatch.setenv("SESSION_COOKIE_SECURE", secure)
        settings = config_module.from_environment(tmp_path)
        for part in ("SECURE", "HTTPONLY", "SAMESITE"):
            assert settings[f"REMEMBER_COOKIE_{part}"] == settings[f"SESSION_COOKIE_{part}"], part
    response = app.test_client().post("/login", data={
        "email": tenant.admin_email, "password": PASSWORD, "remember": "y"})
    remember = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(REMEMBER)][0]
    assert "HttpOnly" in remember and "SameSite=Lax" in remember


@pytest.fixture()
def at_revision(app):
    """Run migrations down and up again; the schema is back at head afterwards."""
    from flask_migrate import downgrade, upgrade

    def go(revision):
        db.session.remove()
        db.engine.dispose()
        downgrade(revision=revision)

    with app.app_context():
        try:
            yield go
        finally:
            db.session.remove()
            db.engine.dispose()
            upgrade()


def test_migration_gives_every_existing_user_a_token_of_their_own(app, at_revision):
    from flask_migrate import upgrade
    at_revision("0006")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO organisations (id, name, base_currency, timezone, default_tax_rate, "
                          "payment_terms_days, next_order_number, next_invoice_number, next_purchase_number, "
                          "created_at) VALUES (1, 'Old Co', 'AUD', 'UTC', '10', 30, 1, 1, 1, CURRENT_TIMESTAMP)"))
        for i in (1, 2, 3):
            conn.execute(text("INSERT INTO users (id, organisation_id, name, email, password_hash, role, active, "
                              f"created_at) VALUES ({i}, 1, 'U{i}', 'u{i}@old.example', 'x', 'staff', true, "
                              "CURRENT_TIMESTAMP)"))
    upgrade(revision="0007")
    tokens = db.session.scalars(select(User.session_token).order_by(User.id)).all()
    assert len(tokens) == 3 and len(set(tokens)) == 3
    assert all(len(t) >= 40 for t in tokens)
