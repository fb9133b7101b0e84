"""Configuration from the environment, with safe local defaults.

DATABASE_URL  default: SQLite file in the instance folder
REDIS_URL     default: none here; `factory-app serve` starts an embedded Redis and sets it
SECRET_KEY    default: generated once into the instance folder
SESSION_COOKIE_SECURE=1  behind HTTPS (the remember-me cookie follows it)
FACTORY_EXTERNAL_URL     the address people open Factory at, for links in mails
                         (default http://127.0.0.1:5000)
MAIL_SERVER, MAIL_PORT, MAIL_USERNAME, MAIL_PASSWORD, MAIL_USE_TLS, MAIL_USE_SSL,
MAIL_DEFAULT_SENDER      SMTP for password-reset mails; with no MAIL_SERVER the link is
                         written to the server log instead
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path


def instance_path() -> Path:
    override = os.environ.get("FACTORY_INSTANCE_PATH")
    if override:
        return Path(override).resolve()
    return (Path(__file__).resolve().parent.parent / "instance").resolve()


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs that name no driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _secret_key(folder: Path) -> str:
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    key_file = folder / "secret_key"
    if not key_file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def from_environment(folder: Path) -> dict:
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder / 'factory.db'}"
    secure_cookies = os.environ.get("SESSION_COOKIE_SECURE", "") == "1"
    return {
        "SECRET_KEY": _secret_key(folder),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "RQ_QUEUES": ["default"],
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        # "Keep me logged in" (Flask-Login): the same protections as the session cookie;
        # the cookie carries the user's session token, so logging out ends it everywhere.
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_DURATION": timedelta(days=30),
        # Links in mails are built on this address, never on the request's Host header.
        "FACTORY_EXTERNAL_URL": (os.environ.get("FACTORY_EXTERNAL_URL") or "http://127.0.0.1:5000").rstrip("/"),
        "PASSWORD_RESET_MAX_AGE": 3600,  # seconds a reset link works
        # Rate limits (Flask-Limiter): counters in REDIS_URL under this prefix (factory_app/limits.py).
        "RATELIMIT_KEY_PREFIX": "factory",
        # Mail (Flask-Mailman over SMTP). No MAIL_SERVER: mails go to the server log.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT") or 25),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _flag("MAIL_USE_TLS"),
        "MAIL_USE_SSL": _flag("MAIL_USE_SSL"),
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER") or "Factory <factory@localhost>",
        "MAIL_TIMEOUT": 10,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # Accounting packages. Empty client ids leave a package "not set up".
        "FACTORY_TOKEN_KEY": os.environ.get("FACTORY_TOKEN_KEY", ""),
        # every package's own settings (<KEY>_CLIENT_ID, <KEY>_API_URL, ...), as set; the
        # adapter gives the defaults (accounting/settings.py has the lookup rule)
        **package_settings(os.environ),
        # per organisation; leave unset for the package's own limits
        **({"ACCOUNTING_CALLS_PER_MINUTE": int(os.environ["ACCOUNTING_CALLS_PER_MINUTE"])}
           if os.environ.get("ACCOUNTING_CALLS_PER_MINUTE") else {}),
        "ACCOUNTING_HTTP_TIMEOUT": float(os.environ.get("ACCOUNTING_HTTP_TIMEOUT") or 20),
        # Set by `factory-app serve` when it runs the local sandbox (demo only).
        "SANDBOX_URL": os.environ.get("FACTORY_SANDBOX_URL", ""),
    }


def package_settings(environ) -> dict:
    """The variables of every registered package, named <KEY>_<NAME> (XERO_CLIENT_ID):
    each package's adapter reads its own through accounting.settings.setting."""
    from .accounting import REGISTRY
    prefixes = tuple(f"{key.upper()}_" for key in REGISTRY)
    return {name: value for name, value in environ.items() if name.startswith(prefixes) and value != ""}


# Planner settings for Factory's own PostgreSQL sessions. random_page_cost: a random read
# costs little more than a sequential one when the data is in memory or on an SSD, as a
# business's books are (PostgreSQL's default of 4 dates from spinning disks, and made
# the orders list search read all 50,000 orders rather than a customer's few through
# their index: 16 ms against 6.6 ms). FACTORY_POSTGRES_OPTIONS replaces them ("" for
# the server's own).
POSTGRES_OPTIONS = "-c random_page_cost=1.1"


def tune_postgres(config: dict) -> None:
    """Passes POSTGRES_OPTIONS to every new PostgreSQL connection (libpq's `options`,
    applied as the session starts: no statement of its own)."""
    if not config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    options = os.environ.get("FACTORY_POSTGRES_OPTIONS", POSTGRES_OPTIONS).strip()
    if options:
        engine = config["SQLALCHEMY_ENGINE_OPTIONS"] = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        engine["connect_args"] = {"options": options, **engine.get("connect_args", {})}

