"""Connecting, disconnecting and using a connection to an accounting package.

Service functions: they flush and leave the commit to the caller, with one deliberate
exception: rotated tokens. A refresh spends the old refresh token, so the new pair is
committed at once, in a transaction of its own, under a lock (Redis, plus a row lock
where the database has them), so two workers never spend the same refresh token.
Callers get their ApiSession before writing anything in the same transaction.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Mapping, TypeVar

from flask import current_app, g, has_request_context
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import ObjectDeletedError

from ..extensions import db
from ..jobs import redis_connection
from ..models import (
    ACTIVE, DISCONNECTED, NEEDS_RECONNECT, AccountingConnection, DocumentPush, ExternalLink, PendingAuthorisation,
)
from ..models.types import utcnow
from . import provider as get_provider
from .base import (
    AccessTokenExpired, ApiSession, DisconnectResult, ProviderError, ReconnectNeeded, Rejected,
    RemoteOrganisation, RetriableError, TokenSet,
)
from .crypto import decrypt, encrypt
from .ratelimit import Budget
from .settings import setting

REFRESH_MARGIN = timedelta(minutes=2)
CARRIED_OVER = ("bookmarks", "sales_account_code", "sales_tax_taxable", "sales_tax_free",
                "purchase_account_code", "purchase_tax_taxable", "purchase_tax_free", "mapping_proposed",
                "send_invoices", "send_purchases", "approve_documents", "document_numbers", "last_update_at")
PENDING_LIFETIME = timedelta(minutes=15)
T = TypeVar("T")


class ConnectError(Exception):
    """A connect attempt that ended without a connection; `message` is for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class ConnectOutcome:
    connection: AccountingConnection | None = None
    pending: PendingAuthorisation | None = None  # set when the user must pick (or confirm) an organisation
    problems: list[str] = field(default_factory=list)  # what could not be tidied in the package

    @property
    def choices(self) -> list[RemoteOrganisation]:
        if self.pending is None:
            return []
        return [RemoteOrganisation(**c) for c in json.loads(self.pending.choices_json or "[]")]


@dataclass
class Switch:
    """What connecting a different remote organisation than the last one changes: the
    links, sent documents and settings of Factory belong to the last one."""
    previous_name: str
    chosen_name: str
    customers: int
    suppliers: int
    products: int
    documents: int

    @property
    def has_links(self) -> bool:
        return bool(self.customers or self.suppliers or self.products or self.documents)


def last_remote_org(organisation_id: int, provider_key: str) -> AccountingConnection | None:
    """The connection this organisation last had to this package (open or closed)."""
    return db.session.scalar(select(AccountingConnection).where(
        AccountingConnection.organisation_id == organisation_id, AccountingConnection.provider == provider_key)
        .order_by(AccountingConnection.id.desc()))


def switch_for(organisation_id: int, provider_key: str, chosen: RemoteOrganisation) -> Switch | None:
    """None when connecting `chosen` changes nothing linked (the same organisation as last
    time, or nothing was ever linked); else what would change."""
    last = last_remote_org(organisation_id, provider_key)
    if last is None or last.remote_org_id == chosen.remote_id:
        return None
    counts = dict(db.session.execute(
        select(ExternalLink.local_type, func.count()).where(
            ExternalLink.organisation_id == organisation_id, ExternalLink.provider == provider_key,
            ExternalLink.remote_org_id == last.remote_org_id).group_by(ExternalLink.local_type)).all())
    documents = db.session.scalar(select(func.count()).select_from(DocumentPush).where(
        DocumentPush.organisation_id == organisation_id, DocumentPush.provider == provider_key,
        DocumentPush.remote_org_id == last.remote_org_id))
    switch = Switch(previous_name=last.remote_org_name, chosen_name=chosen.name, customers=counts.get("customer", 0),
                    suppliers=counts.get("supplier", 0), products=counts.get("product", 0), documents=documents or 0)
    return switch if switch.has_links else None


# --- reading ----------------------------------------------------------------------------

def current_connection(organisation_id: int) -> AccountingConnection | None:
    """The organisation's connection (any state but disconnected), or None. A request
    asks this several times (the banner, the page, its lists): the one found is kept for
    the rest of the request while it is still in the session and not disconnected (a
    commit expires it, and reading its status then reads it afresh). None is never kept,
    so a connection made during the request is found."""
    kept = g.setdefault("_connections", {}) if has_request_context() else {}
    connection = kept.get(organisation_id)
    if connection is not None and connection in db.session:
        try:
            if connection.status != DISCONNECTED:
                return connection
        except ObjectDeletedError:
            pass
    connection = db.session.scalar(
        select(AccountingConnection)
        .where(AccountingConnection.organisation_id == organisation_id,
               AccountingConnection.status != DISCONNECTED)
        .order_by(AccountingConnection.id.desc()))
    if connection is not None:
        kept[organisation_id] = connection
    return connection


def links_for(connection: AccountingConnection, local_type: str):
    """SELECT of the links that belong to this connection's remote organisation."""
    return select(ExternalLink).where(
        ExternalLink.organisation_id == connection.organisation_id,
        ExternalLink.provider == connection.provider,
        ExternalLink.remote_org_id == connection.remote_org_id,
        ExternalLink.local_type == local_type)


# --- connecting -------------------------------------------------------------------------

def start_connect(organisation_id: int, user_id: int, provider_key: str, redirect_uri: str) -> str:
    """The package's authorise URL; state and PKCE verifier are kept here, not in the browser."""
    adapter = get_provider(provider_key)
    if not adapter.is_configured():
        raise ConnectError(f"{adapter.display_name} is not set up on this Factory server yet.")
    db.session.execute(delete(PendingAuthorisation).where(
        PendingAuthorisation.created_at < utcnow() - PENDING_LIFETIME))
    try:
        auth = adapter.authorisation(redirect_uri)
    except ProviderError as exc:
        raise ConnectError(f"{adapter.display_name} could not be reached: {exc.message}") from exc
    db.session.add(PendingAuthorisation(organisation_id=organisation_id, user_id=user_id,
                                        provider=provider_key, state=auth.state,
                                        code_verifier_enc=encrypt(auth.code_verifier)))
    db.session.flush()
    return auth.url


def _pending(organisation_id: int, user_id: int, state: str | None) -> PendingAuthorisation:
    pending = db.session.scalar(select(PendingAuthorisation).where(
        PendingAuthorisation.state == (state or ""))) if state else None
    if (pending is None or pending.organisation_id != organisation_id or pending.user_id != user_id
            or pending.created_at < utcnow() - PENDING_LIFETIME):
        raise ConnectError("This sign-in did not start here or has expired. Press Connect to try again.")
    return pending


def finish_connect(organisation_id: int, user_id: int, provider_key: str, callback: Mapping[str, str], *,
                   redirect_uri: str) -> ConnectOutcome:
    """The OAuth callback (`callback`: every parameter the package sent back): check
    state, exchange the code, find the organisations (the adapter reads what else its
    package sent, such as the company chosen)."""
    state, code, error = callback.get("state"), callback.get("code"), callback.get("error")
    adapter = get_provider(provider_key)
    pending = _pending(organisation_id, user_id, state)
    if pending.provider != provider_key or pending.code_verifier_enc is None:
        raise ConnectError("This sign-in was already used. Press Connect to try again.")
    verifier = decrypt(pending.code_verifier_enc)
    pending.code_verifier_enc = None  # single use, whatever happens next
    if error:
        db.session.delete(pending)
        if error == "access_denied":
            raise ConnectError(f"You cancelled at {adapter.display_name}; nothing was connected.")
        raise ConnectError(f"{adapter.display_name} did not connect: {error}.")
    if not code:
        db.session.delete(pending)
        raise ConnectError(f"{adapter.display_name} sent no authorisation code. Press Connect to try again.")
    try:
        tokens = adapter.exchange_code(code, redirect_uri, verifier)
    except ReconnectNeeded as exc:
        db.session.delete(pending)
        raise ConnectError(f"{adapter.display_name} refused this sign-in (it may have been used already). "
                           "Press Connect to try again.") from exc
    except ProviderError as exc:
        db.session.delete(pending)
        raise ConnectError(exc.message) from exc
    try:
        choices = adapter.organisations(tokens.access_token, callback)
    except ProviderError as exc:
        db.session.delete(pending)
        raise ConnectError(f"{adapter.display_name} did not list your organisations: {exc.message}") from exc
    if not choices:
        db.session.delete(pending)
        _revoke_quietly(adapter, tokens)
        raise ConnectError(f"Your {adapter.display_name} login has no organisation that Factory may use. "
                           "Choose an organisation on the consent page.")
    if len(choices) == 1 and switch_for(organisation_id, provider_key, choices[0]) is None:
        db.session.delete(pending)
        return ConnectOutcome(connection=_open_connection(organisation_id, user_id, provider_key, tokens, choices[0]))
    # several organisations to choose from, or one that isn't the one the links belong to:
    # the user chooses, or confirms the switch, on Factory's page
    pending.access_token_enc = encrypt(tokens.access_token)
    pending.refresh_token_enc = encrypt(tokens.refresh_token)
    pending.access_expires_at = tokens.expires_at
    pending.scopes = tokens.scope
    pending.choices_json = json.dumps([{**c.__dict__, "data": dict(c.data)} for c in choices])
    db.session.flush()
    return ConnectOutcome(pending=pending)


def pending_choice(organisation_id: int, user_id: int, pending_id: int) -> ConnectOutcome:
    pending = db.session.get(PendingAuthorisation, pending_id)
    if (pending is None or pending.organisation_id != organisation_id or pending.user_id != user_id
            or not pending.choices_json or pending.created_at < utcnow() - PENDING_LIFETIME):
        raise ConnectError("That choice has expired. Press Connect to try again.")
    return ConnectOutcome(pending=pending)


class SwitchNeedsConfirming(ConnectError):
    """The chosen organisation isn't the one Factory's links belong to: say what changes."""

    def __init__(self, switch: Switch, chosen: RemoteOrganisation):
        super().__init__(f"Confirm that {chosen.name} should replace {switch.previous_name}.")
        self.switch, self.chosen = switch, chosen


def choose_organisation(organisation_id: int, user_id: int, pending_id: int, remote_org_id: str,
                        confirm_switch: bool = False) -> ConnectOutcome:
    """Connect the organisation chosen; the others the user ticked at the package's
    consent are removed from Factory's connections there (Factory keeps one), so none
    can be picked up by mistake later. Choosing another organisation than the one the
    links belong to needs `confirm_switch`."""
    outcome = pending_choice(organisation_id, user_id, pending_id)
    chosen = next((c for c in outcome.choices if c.remote_id == remote_org_id), None)
    if chosen is None:
        raise ConnectError("Choose one of the organisations listed.")
    pending = outcome.pending
    switch = switch_for(organisation_id, pending.provider, chosen)
    if switch is not None and not confirm_switch:
        raise SwitchNeedsConfirming(switch, chosen)
    tokens = TokenSet(access_token=decrypt(pending.access_token_enc), refresh_token=decrypt(pending.refresh_token_enc),
                      expires_at=pending.access_expires_at, scope=pending.scopes or "")
    db.session.delete(pending)
    connection = _open_connection(organisation_id, user_id, pending.provider, tokens, chosen)
    problems = _release_others(get_provider(pending.provider), tokens.access_token, outcome.choices, chosen)
    return ConnectOutcome(connection=connection, problems=problems)


def cancel_choice(organisation_id: int, user_id: int, pending_id: int) -> list[str]:
    """The user left the chooser: nothing is connected, and the organisations this
    sign-in reaches are removed from Factory's connections in the package, all but the
    one Factory is connected to now (a reconnect left half-way keeps what it had; the
    token is not revoked, since revoking may end the other connections of the login too).
    Returns what could not be removed."""
    outcome = pending_choice(organisation_id, user_id, pending_id)
    pending = outcome.pending
    current = current_connection(organisation_id)
    kept = RemoteOrganisation(remote_id=current.remote_org_id if current is not None else "", name="")
    access = decrypt(pending.access_token_enc)
    db.session.delete(pending)
    return _release_others(get_provider(pending.provider), access, outcome.choices, kept) if access else []


def _release_others(adapter, access_token: str, choices: list[RemoteOrganisation], kept: RemoteOrganisation) -> list[str]:
    problems = []
    for other in choices:
        if other.remote_id == kept.remote_id:
            continue
        try:
            adapter.release_organisation(access_token, other)
        except ProviderError as exc:
            problems.append(f"Factory could not remove its connection to {other.name} in {adapter.display_name} "
                            f"({exc.message}); remove it under Connected apps there.")
    return problems


def _open_connection(organisation_id, user_id, provider_key, tokens: TokenSet,
                     remote: RemoteOrganisation) -> AccountingConnection:
    for old in db.session.scalars(select(AccountingConnection).where(
            AccountingConnection.organisation_id == organisation_id,
            AccountingConnection.status != DISCONNECTED)):
        _close(old)  # a reconnect replaces the connection that needed it
    connection = AccountingConnection(
        organisation_id=organisation_id, provider=provider_key, status=ACTIVE,
        remote_org_id=remote.remote_id, remote_org_name=remote.name, remote_connection_id=remote.connection_id,
        access_token_enc=encrypt(tokens.access_token), refresh_token_enc=encrypt(tokens.refresh_token),
        access_expires_at=tokens.expires_at, scopes=tokens.scope, connected_by_id=user_id,
        package_data=dict(remote.data))
    previous = db.session.scalar(select(AccountingConnection).where(
        AccountingConnection.organisation_id == organisation_id, AccountingConnection.provider == provider_key,
        AccountingConnection.remote_org_id == remote.remote_id).order_by(AccountingConnection.id.desc()))
    if previous is not None:  # the same organisation again: its settings come back with its links
        for field in CARRIED_OVER:
            setattr(connection, field, getattr(previous, field))
    db.session.add(connection)
    db.session.flush()
    return connection


def _close(connection: AccountingConnection) -> None:
    connection.status = DISCONNECTED
    connection.disconnected_at = utcnow()
    connection.access_token_enc = connection.refresh_token_enc = None
    connection.access_expires_at = None


def _revoke_quietly(adapter, tokens: TokenSet) -> None:
    try:
        adapter.disconnect(None, tokens.refresh_token, RemoteOrganisation(remote_id="", name=""))
    except ProviderError:
        pass


# --- disconnecting ----------------------------------------------------------------------

def disconnect(connection: AccountingConnection) -> DisconnectResult:
    """Remove Factory from the package's connected apps and revoke its access; the local
    connection closes even when the package can't be reached. Links are kept."""
    adapter = get_provider(connection.provider)
    access = refresh = None
    try:
        access = api_session(connection).access_token
    except ProviderError:
        pass  # try revoking with what we have
    refresh = decrypt(_fresh_row_token(connection.id))
    remote = RemoteOrganisation(remote_id=connection.remote_org_id, name=connection.remote_org_name,
                                connection_id=connection.remote_connection_id, data=dict(connection.package_data or {}))
    if connection.remote_connection_id is None and access:
        try:
            match = next((o for o in adapter.organisations(access) if o.remote_id == connection.remote_org_id), None)
            remote = match or remote
        except ProviderError:
            pass
    result = adapter.disconnect(access, refresh, remote)
    db.session.refresh(connection)
    _close(connection)
    connection.problem = "; ".join(result.problems) or None
    db.session.flush()
    return result


# --- using a connection -----------------------------------------------------------------

def _fresh_row_token(connection_id: int) -> str | None:
    with Session(db.engine) as session:
        row = session.get(AccountingConnection, connection_id)
        return row.refresh_token_enc if row else None


def _mark(connection_id: int, status: str, problem: str | None) -> None:
    with Session(db.engine) as session, session.begin():
        row = session.get(AccountingConnection, connection_id, with_for_update=True)
        if row is not None and row.status != DISCONNECTED:
            row.status = status
            row.problem = problem


def api_session(connection: AccountingConnection, force_refresh: bool = False) -> ApiSession:
    """A usable access token for this connection, refreshed ahead of expiry."""
    if connection.status == DISCONNECTED:
        raise ReconnectNeeded("The accounting package is disconnected.")
    if connection.status == NEEDS_RECONNECT:
        raise ReconnectNeeded(connection.problem or "The connection needs reconnecting.")
    if not force_refresh and connection.access_expires_at and \
            connection.access_expires_at - REFRESH_MARGIN > datetime.now(timezone.utc):
        token = decrypt(connection.access_token_enc)
        if token:
            return ApiSession(access_token=token, remote_org_id=connection.remote_org_id,
                              extras=dict(connection.package_data or {}))
    stale_token = connection.access_token_enc if force_refresh else None
    _refresh_under_lock(connection.id, stale_token)
    db.session.refresh(connection)
    if connection.status != ACTIVE:
        raise ReconnectNeeded(connection.problem or "The connection needs reconnecting.")
    return ApiSession(access_token=decrypt(connection.access_token_enc), remote_org_id=connection.remote_org_id,
                      extras=dict(connection.package_data or {}))


def _refresh_under_lock(connection_id: int, stale_access_token: str | None) -> None:
    lock = redis_connection().lock(f"factory:token-refresh:{connection_id}", timeout=60, blocking_timeout=60)
    if not lock.acquire():
        raise RetriableError("Another refresh of this connection is taking too long.", reached=False)
    try:
        with Session(db.engine) as session, session.begin():
            row = session.get(AccountingConnection, connection_id, with_for_update=True)
            if row is None or row.status != ACTIVE:
                return
            still_fresh = (row.access_expires_at and row.access_expires_at - REFRESH_MARGIN > datetime.now(timezone.utc)
                           and row.access_token_enc != stale_access_token)
            if still_fresh:
                return  # somebody refreshed while we waited for the lock
            adapter = get_provider(row.provider)
            refresh_token = decrypt(row.refresh_token_enc)
            if not refresh_token:
                row.status, row.problem = NEEDS_RECONNECT, "Factory no longer holds a valid authorisation."
                return
            try:
                tokens = adapter.refresh(refresh_token)
            except ReconnectNeeded as exc:
                row.status, row.problem = NEEDS_RECONNECT, exc.message
                return
            row.access_token_enc = encrypt(tokens.access_token)
            row.refresh_token_enc = encrypt(tokens.refresh_token)
            row.access_expires_at = tokens.expires_at
            row.scopes = tokens.scope or row.scopes
            row.problem = None
    finally:
        try:
            lock.release()
        except Exception:  # the lock expired meanwhile: nothing to release
            pass


def _budget(connection: AccountingConnection) -> Budget:
    adapter = get_provider(connection.provider)
    return Budget(connection.provider, connection.remote_org_id,
                  int(setting(connection.provider, "CALLS_PER_MINUTE", adapter.calls_per_minute)),
                  adapter.concurrent_calls)


def _default_wait() -> float:
    """How long a call waits for its place in the budget: jobs wait their turn, web
    requests don't wait long."""
    return 0.5 if has_request_context() else 90.0


def call_ahead(connection: AccountingConnection, fn: Callable[[ApiSession], T], executor) -> Callable[[], T]:
    """Start `fn` on the executor's thread now (to read the next page while this one is
    stored); returns a function that waits for its result. The thread only does HTTP (the
    token is taken here, the budget is the same); if its try fails in any way, the call
    is made again by call() in this thread, which refreshes, classifies and marks as usual."""
    try:
        session = api_session(connection)
        budget = _budget(connection)
    except ProviderError:
        return lambda: call(connection, fn)
    wait = _default_wait()

    def run():
        with budget.call(wait):
            return fn(session)
    future = executor.submit(run)

    def result() -> T:
        try:
            return future.result()
        except ProviderError:
            return call(connection, fn)
    return result


def call(connection: AccountingConnection, fn: Callable[[ApiSession], T], wait: float | None = None) -> T:
    """Run one API call with a fresh token, inside the organisation's shared call budget
    (jobs wait for their turn, web requests don't wait long): a refused access token is
    refreshed once and the call tried again; a connection the package no longer accepts
    is marked for reconnecting (committed at once) and the error passed on."""
    budget = _budget(connection)
    if wait is None:
        wait = _default_wait()

    def attempt(session_factory):
        with budget.call(wait):
            return fn(session_factory())
    try:
        try:
            result = attempt(lambda: api_session(connection))
        except AccessTokenExpired:
            result = attempt(lambda: api_session(connection, force_refresh=True))
    except AccessTokenExpired as exc:
        _mark(connection.id, NEEDS_RECONNECT, exc.message)
        db.session.refresh(connection)
        raise ReconnectNeeded(exc.message) from exc
    except ReconnectNeeded as exc:
        if connection.status == ACTIVE:
            _mark(connection.id, NEEDS_RECONNECT, exc.message)
            db.session.refresh(connection)
        raise
    if connection.unreachable_since is not None:
        connection.unreachable_since = None  # it answers again (committed with the caller's work)
    return result


def note_unreachable(connection: AccountingConnection) -> None:
    """The package did not answer a call (Unreachable): since when, kept on the connection
    for the banner and the Integrations page. Called by the job that handles the outage,
    after its rollback; committed with what it records."""
    if connection.unreachable_since is None:
        connection.unreachable_since = utcnow()
    db.session.flush()


__all__ = ["ConnectError", "ConnectOutcome", "Rejected", "RetriableError", "ReconnectNeeded", "api_session",
           "call", "choose_organisation", "current_connection", "disconnect", "finish_connect",
           "links_for", "pending_choice", "start_connect"]
