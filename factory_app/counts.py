"""Counts remembered until what they count changes.

A list's total and the dashboard's figures are COUNTs over thousands of rows (50,000
orders: 3 ms; 30,000 invoices by their state in the package: 15 ms), asked on every
visit, while the rows change a few times an hour. Each organisation has a generation in
Redis; every commit that wrote its rows gives it a new value (never one used before),
and a count is kept under the generation it was made in, so a write makes every older
count unreachable at once. No write is missed by a race: the generation changes after
the commit, so a count made before the commit is filed under the old generation and
never seen again, and one filed under the new generation was made after the commit
(PostgreSQL's read committed: each statement sees what was committed before it began;
SQLite, the newcomer's database, keeps a transaction's first snapshot, so there a count
made in a request that began before another's commit can be up to TTL seconds old).

Whose rows a commit wrote: in a request, the signed-in user's organisation (a request
writes no other's, see web.org_select); elsewhere (jobs, the command line) each flushed
row's organisation_id, and where a row has none or a statement wrote in bulk, every
organisation's counts (the shared generation).

Redis is a cache here, never needed: when it fails, counts are made from the database
and Redis is left alone for a while (a frozen Redis costs one short timeout, not one per
request). A commit whose generation could not be moved (Redis down at that moment)
leaves counts at most TTL seconds old.
"""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from typing import Any, Iterable

from flask import current_app, has_app_context, has_request_context
from flask_login import current_user
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db

log = logging.getLogger(__name__)
TTL = 120  # seconds a count is kept at most
TIMEOUT = 0.25  # seconds: a slow Redis costs a request this once, then is left alone
PAUSE = 15.0  # seconds Redis is left alone after a failure
ALL = "all"  # the shared generation: moved when a commit's organisations can't be told
_TOUCHED = "factory_counts_touched"
_shapes: dict[Any, str] = {}  # a statement's cache key -> a digest of its SQL (per process)
_MAX_SHAPES = 2000
_paused_until = 0.0


def remembered(organisation_id: int, statement) -> dict[str, int]:
    """The one row of `statement` (counts: {label: number}), from the cache when its
    organisation's rows haven't changed since it was made."""
    key = _key(organisation_id, statement)
    client = _client() if key else None
    if client is not None:
        try:
            org_gen, all_gen = client.mget(_gen_key(organisation_id), _gen_key(ALL))
            full = f"{key}:{(org_gen or b'-').decode()}:{(all_gen or b'-').decode()}"
            cached = client.get(full)
            if cached is not None:
                return json.loads(cached)
        except (RedisError, OSError) as exc:
            _pause(exc)
            client = None
    row = db.session.execute(statement).one()._asdict()
    if client is not None:
        try:
            client.set(full, json.dumps(row), ex=TTL)
        except (RedisError, OSError) as exc:
            _pause(exc)
    return row


def count(organisation_id: int, statement) -> int:
    return int(next(iter(remembered(organisation_id, statement).values())))


def _key(organisation_id: int, statement) -> str | None:
    """The statement's SQL and values, digested; None for one SQLAlchemy can't key."""
    cache_key = statement._generate_cache_key()  # what SQLAlchemy's own statement cache keys on
    if cache_key is None:
        return None
    shape = _shapes.get(cache_key.key)
    if shape is None:
        if len(_shapes) >= _MAX_SHAPES:
            _shapes.clear()
        sql = str(statement.compile(dialect=db.engine.dialect))  # once per shape and process
        shape = _shapes[cache_key.key] = hashlib.sha1(sql.encode()).hexdigest()[:20]
    values = hashlib.sha1(repr([p.effective_value for p in cache_key.bindparams]).encode()).hexdigest()[:20]
    return f"factory:count:{organisation_id}:{shape}:{values}"


def _gen_key(organisation_id: int | str) -> str:
    return f"factory:count-gen:{organisation_id}"


def _client() -> Redis | None:
    if time.monotonic() < _paused_until or not has_app_context():
        return None
    app = current_app._get_current_object()
    client = app.extensions.get("factory_counts_redis")
    if client is None:
        url = app.config.get("REDIS_URL")
        if not url or not app.config.get("COUNTS_CACHE", True):
            return None
        client = Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
        app.extensions["factory_counts_redis"] = client
    return client


def _pause(exc: Exception) -> None:
    global _paused_until
    _paused_until = time.monotonic() + PAUSE
    log.warning("counts made without Redis for %.0f s: %s", PAUSE, exc)


# --- what a commit wrote -----------------------------------------------------------------

def _touch(session: Session, organisations: Iterable) -> None:
    session.info.setdefault(_TOUCHED, set()).update(organisations)


def _request_organisation() -> int | None:
    if has_request_context():
        try:
            if current_user.is_authenticated:
                return current_user.organisation_id
        except Exception:  # the user can't be loaded (database down): can't tell
            return None
    return None


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, flush_context) -> None:
    org = _request_organisation()
    if org is not None:
        _touch(session, (org,))
        return
    seen = set()
    for row in (*session.new, *session.dirty, *session.deleted):
        seen.add(getattr(row, "organisation_id", None) or ALL)
    _touch(session, seen)


@event.listens_for(Session, "do_orm_execute")
def _executed(state) -> None:
    if not state.is_select:  # an UPDATE, DELETE or INSERT of many rows at once
        _touch(state.session, (_request_organisation() or ALL,))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    touched = session.info.pop(_TOUCHED, None)
    if not touched:
        return
    client = _client()
    if client is None:
        return
    try:
        generation = f"{time.time_ns()}.{secrets.randbelow(10**6)}"  # never one used before, even after Redis lost it
        client.mset({_gen_key(organisation): generation for organisation in touched})
    except (RedisError, OSError) as exc:
        _pause(exc)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_TOUCHED, None)
