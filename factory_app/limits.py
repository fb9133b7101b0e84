"""Rate limits on the ways in: logging in, signing up, password resets (Flask-Limiter).

Counters live in the app's Redis (REDIS_URL), so every web process shares them, in moving
windows (a slot frees exactly when its attempt is a window old). A view names its rules
with `@limited(...)`; only the attempts the view counts (`count_attempt()`) are deducted,
so logging in correctly never uses anyone's allowance, however often it happens. A
refused request answers 429 with Retry-After and says when to try again.

If Redis can't be reached, the limits fall back to counters in the process's memory
(Flask-Limiter's in-memory fallback; logged) and Redis is tried again from time to time:
logging in keeps working through a Redis outage.

Behind a reverse proxy the address is `request.remote_addr`: wrap the app in werkzeug's
ProxyFix with the number of proxies you run, or every client shares the proxy's address.
X-Forwarded-For is never read directly (anybody can send one).

Flask-Limiter keeps its storage on the Limiter instance, so each app gets its own
(`app.extensions["factory_limiter"]`) and `limited` binds a view's rules to the app that
serves the request.
"""
from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass
from functools import wraps
from typing import Callable

from flask import Flask, current_app, g, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_login import current_user

from .extensions import htmx
from .web import toast_header

_LIMITER = "factory_limiter"
_BOUND = "factory_limited_views"
_COUNT = "factory_count_attempt"
_bind_lock = threading.Lock()


# --- whose attempts are counted ---------------------------------------------------------

def client_address() -> str:
    return request.remote_addr or "unknown"


def submitted_account() -> str:
    """The email typed into the form, normalised, hashed (a fixed-size key that keeps no
    address in Redis). An unknown email is counted like a known one: a refusal says
    nothing about which emails have accounts."""
    email = (request.form.get("email") or "").strip().lower()
    return "account:" + hashlib.sha256(email.encode()).hexdigest()


def logged_in_user() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else "anonymous"


@dataclass(frozen=True)
class Rule:
    limits: str            # Flask-Limiter notation, "10 per minute; 100 per day"
    key: Callable[[], str]
    scope: str             # the counter's name; views naming the same scope share it
    message: str           # "Too many failed logins": the refusal adds when to try again


# Why these numbers: a person who mistypes a password tries a handful of times, then
# resets it; guessing needs thousands of tries. Five failures per account per 15 minutes
# allow 480 guesses a day, against any password longer than the eight characters asked
# for; ten per address per minute lets an office behind one address mistype freely while
# an attacker spreading over accounts gets 100 a day. A locked-out person still has
# "Forgot password?", which has limits of its own (each request sends a mail).
LOGIN_PER_ADDRESS = Rule("10 per minute; 100 per day", client_address, "login-address", "Too many failed logins from your address")
LOGIN_PER_ACCOUNT = Rule("5 per 15 minutes", submitted_account, "login-account", "Too many failed logins to this account")
SIGNUP_PER_ADDRESS = Rule("10 per hour", client_address, "signup-address", "Too many sign-ups from your address")
RESET_PER_ADDRESS = Rule("5 per 15 minutes", client_address, "reset-address", "Too many password reset requests from your address")
RESET_PER_ACCOUNT = Rule("3 per hour", submitted_account, "reset-account", "Too many password reset requests for this email")
PASSWORD_PER_USER = Rule("5 per 15 minutes", logged_in_user, "password-user", "Too many wrong passwords")


def count_attempt() -> None:
    """The request being served counts against its view's limits (a failed login, a
    sign-up that reached the email check, a reset mail asked for)."""
    g.setdefault(_COUNT, True)


def _counted(response) -> bool:
    return bool(g.get(_COUNT))


# --- views --------------------------------------------------------------------------

def limited(*rules: Rule, methods: tuple[str, ...] = ("POST",)):
    """Limit the view's `methods` by `rules`, counting what the view `count_attempt()`s."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            return _bound(view, rules, methods)(*args, **kwargs)
        return wrapper
    return decorate


def _bound(view, rules: tuple[Rule, ...], methods: tuple[str, ...]):
    bound = current_app.extensions[_BOUND]
    if view not in bound:
        with _bind_lock:  # once per app and view: a rule added twice would count twice
            if view not in bound:
                limiter: Limiter = current_app.extensions[_LIMITER]
                wrapped = view
                for rule in rules:
                    wrapped = limiter.shared_limit(
                        rule.limits, rule.scope, key_func=rule.key, methods=list(methods),
                        deduct_when=_counted, error_message=rule.message)(wrapped)
                bound[view] = wrapped
    return bound[view]


# --- wiring -------------------------------------------------------------------------

def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 1})
    limiter = Limiter(
        key_func=client_address,
        strategy="moving-window",
        key_prefix=app.config.get("RATELIMIT_KEY_PREFIX", "factory"),
        swallow_errors=True,               # a storage error is logged, never a 500
        in_memory_fallback_enabled=True,   # and meanwhile each process counts on its own
        fail_on_first_breach=False,        # every breached limit is known: Retry-After waits for all
    )
    limiter.logger = app.logger.getChild("limits")  # an outage is logged where the app logs
    limiter.init_app(app)
    app.extensions[_LIMITER] = limiter
    app.extensions[_BOUND] = {}
    app.register_error_handler(RateLimitExceeded, too_many_attempts)


def too_many_attempts(error: RateLimitExceeded):
    seconds = _retry_after(error)
    text = f"{error.description}. Try again in {_duration(seconds)}."
    headers = {"Retry-After": str(seconds)}
    if htmx:
        return "", 429, {**headers, **toast_header("error", text), "HX-Reswap": "none"}
    return render_template("auth/too_many.html", message=text, back=request.path), 429, headers


def _retry_after(error: RateLimitExceeded) -> int:
    """Seconds until every breached limit has a free slot (its oldest counted attempt
    leaves the window)."""
    limiter: Limiter = current_app.extensions[_LIMITER]
    breached = [limit for limit in limiter.current_limits if limit.breached]
    try:
        reset_at = max(limit.window[0] for limit in breached)
    except Exception:  # noqa: BLE001 - none known, or the storage went away since the check
        return int(error.limit.limit.get_expiry())
    return max(1, math.ceil(reset_at - time.time()))


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{math.ceil(minutes / 60)} hours"
