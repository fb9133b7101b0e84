"""Importing contacts, the daily sync, "Update accounting data" and "Also create in the
accounting package".

A run is a SyncRun row (counts, stage, progress) and one RQ job that takes its id. The
job builds its own app context, commits after every page it stores, and is safe to run
twice: a finished run is left alone, an interrupted one goes on from where it stopped.
Matching never guesses: doubtful cases go to the review list.
"""
from __future__ import annotations

import dataclasses
import json
import re
import time
import unicodedata
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Callable, NamedTuple

from redis.exceptions import RedisError
from rq import Retry
from sqlalchemy import bindparam, delete, insert, select, type_coerce, update
from sqlalchemy.orm import selectinload
from sqlalchemy.types import NullType

from ..bulk import (among, as_stored, commit_redoable, gc_frozen, insert_rows, insert_with_ids, loaded_across_commits,
                    raw_rows)
from ..extensions import db
from ..jobs import enqueue_after_commit, hold_until_commit, job_alive, job_context, redis_connection
from ..models import (
    ACTIVE, AccountingConnection, Address, ContactPerson, Customer, ExternalLink, ImportReview, Party,
    RemoteRecord, Supplier, SyncFailure, SyncRun,
)
from ..models.types import utcnow
from . import connections as conn_service
from .mapping import propose as propose_mapping
from . import provider as get_provider
from . import tasks
from .base import Page, ProviderError, ReconnectNeeded, RecordProblem, Rejected, RemoteContact, RetriableError, Unreachable

KINDS = {"customer": Customer, "supplier": Supplier}
RETRY_INTERVALS = [5, 15, 30, 60, 120, 300]
JOB_GRACE = timedelta(seconds=15)  # a new run's job is enqueued just after its commit
RUN_KINDS = ("import_customers", "import_suppliers", "sync", "create_contact")
SUFFIX_WORDS = {"pty", "ltd", "limited", "proprietary", "inc", "incorporated", "llc", "corp", "corporation",
                "co", "company", "plc", "gmbh", "pl"}
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --- names and clean text ---------------------------------------------------------------

def normalise_name(name: str | None) -> str:
    """Case, accents, punctuation, whitespace and company suffixes ignored."""
    text = name or ""
    if not text.isascii():  # plain ASCII is its own NFKD form
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = text.lower()
    words = re.sub(r"[^a-z0-9]+", " ", text.replace("&", " and ")).split()
    while words and words[-1] in SUFFIX_WORDS:
        words.pop()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def clean(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    if type(value) is not str:
        value = str(value)
    if not (value.isascii() and value.isprintable()):  # plain text needs neither step (the common case)
        value = CONTROL.sub("", unicodedata.normalize("NFC", value))
    return value.strip()[:limit] or None


def log_unreadable(run: SyncRun, package: str, noun: str, problems: list[RecordProblem], logged: set,
                   local_type: str | None = None) -> None:
    """Records of a list the adapter could not read (Page.failures): each is skipped, in
    the run's log with its id, its name if it has one and why, and counted as failed.
    `logged`: what the run logged already (logged_failures), so that a list read twice, or
    a run resumed after a retry, logs each record once."""
    for problem in problems:
        entry = (clean(problem.remote_id, 100), clean(problem.name, 255),
                 f"Skipped: {package} sent this {noun} in a shape Factory can't read ({clean(problem.reason, 200)}).")
        if entry in logged:
            continue
        logged.add(entry)
        remote_id, name, message = entry
        db.session.add(SyncFailure(organisation_id=run.organisation_id, run_id=run.id, remote_id=remote_id,
                                   local_type=local_type, name=name, message=message))
        run.failed += 1


def logged_failures(run: SyncRun) -> set[tuple]:
    """(remote id, name, message) of the failures the run has logged so far."""
    return {tuple(row) for row in db.session.execute(select(SyncFailure.remote_id, SyncFailure.name,
                                                            SyncFailure.message).where(SyncFailure.run_id == run.id))}


def problem_with(contact: RemoteContact) -> str | None:
    name = clean(contact.name, 10_000)
    if not name:
        return "It has no name."
    if len(name) > 255:
        return f"Its name is {len(name)} characters long; Factory keeps at most 255."
    return None


# --- runs -------------------------------------------------------------------------------

def start_run(organisation_id: int, user_id: int | None, kind: str, subject_id: int | None = None) -> SyncRun:
    """Queue a run, or join the one of the same kind that is already queued or running."""
    if kind not in RUN_KINDS:
        raise ValueError(kind)
    connection = conn_service.current_connection(organisation_id)
    if connection is None:
        raise ReconnectNeeded("No accounting package is connected.")
    lock = redis_connection().lock(f"factory:start-run:{organisation_id}:{kind}:{subject_id}", timeout=30,
                                   blocking_timeout=30)
    try:
        acquired = lock.acquire()
    except (RedisError, OSError):
        # Redis is away: the run is recorded all the same (its job is queued by the outbox
        # sweep once Redis is back); without the lock two clicks at once may make two runs
        acquired = None
    if acquired is False:
        raise RetriableError("Another request is starting the same run. Try again in a moment.", reached=False)
    if acquired:
        hold_until_commit(lock)  # the check below and the caller's commit happen under one lock
    existing = db.session.scalar(select(SyncRun).where(
        # a run of an earlier connection (closed since) is not joined: it fails when it runs
        SyncRun.organisation_id == organisation_id, SyncRun.connection_id == connection.id, SyncRun.kind == kind,
        SyncRun.subject_id.is_(None) if subject_id is None else SyncRun.subject_id == subject_id,
        SyncRun.status.in_(("queued", "running"))).order_by(SyncRun.id.desc()))
    if existing is not None and (existing.created_at > utcnow() - JOB_GRACE or job_alive(job_id(existing))):
        return existing  # its job will run it (or is running it): join
    if existing is not None:  # its worker died or its job was lost: go on from where it stopped
        return resume_interrupted(existing, user_id)
    run = SyncRun(organisation_id=organisation_id, connection_id=connection.id, kind=kind,
                  subject_id=subject_id, requested_by_id=user_id, status="queued", stage="Waiting to start")
    db.session.add(run)
    db.session.flush()
    _enqueue_run(run)
    return run


def job_id(run: SyncRun) -> str:
    return f"sync-run-{run.id}"


def _enqueue_run(run: SyncRun) -> None:
    # committed by the caller before this is enqueued; the job id makes a double enqueue harmless
    enqueue_after_commit(tasks.RUN_SYNC, run.id, job_id=job_id(run),
                         unique=True, retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS))


def resume_interrupted(run: SyncRun, user_id: int | None = None) -> SyncRun:
    """A run whose job is gone (Redis lost it, its worker was killed): it is marked
    interrupted, and a new run of the same kind goes on from where it stopped (the page
    it was at, its counts so far; what was stored stays stored). Both say so in the log."""
    at = run.next_page or 1
    resumed = SyncRun(organisation_id=run.organisation_id, connection_id=run.connection_id, kind=run.kind,
                      subject_id=run.subject_id, requested_by_id=user_id or run.requested_by_id, status="queued",
                      stage=f"Resuming at page {at}", next_page=run.next_page, pages_done=run.pages_done,
                      total_pages=run.total_pages, seen=run.seen, created=run.created, updated=run.updated,
                      linked=run.linked, review=run.review, skipped=run.skipped, failed=run.failed,
                      message=f"Resumed after an interruption at page {at}.")
    db.session.add(resumed)
    db.session.flush()
    run.status, run.finished_at, run.stage = "interrupted", utcnow(), "Interrupted"
    run.message = f"Interrupted at page {at} (its job stopped with its worker, or was lost); resumed by the next run."
    _enqueue_run(resumed)
    return resumed


def run_job(run_id: int) -> str:
    """The RQ job: runs (or resumes) one SyncRun."""
    with job_context():
        run = db.session.get(SyncRun, run_id)
        if run is None or run.status in ("done", "failed", "interrupted"):
            return "nothing to do"  # an interrupted run was resumed by another
        connection = db.session.get(AccountingConnection, run.connection_id) if run.connection_id else None
        if connection is None or connection.status != ACTIVE:
            return _finish(run, "failed", "The accounting package is not connected.")
        run.status, run.started_at = "running", run.started_at or utcnow()
        db.session.commit()
        try:
            if run.kind in ("import_customers", "import_suppliers"):
                _import_contacts(run, connection, run.kind.removeprefix("import_")[:-1])
            elif run.kind == "sync":
                _sync(run, connection)
            elif run.kind == "create_contact":
                _create_contact(run, connection)
        except RetriableError as exc:
            db.session.rollback()
            run = db.session.get(SyncRun, run_id)
            if isinstance(exc, Unreachable):
                conn_service.note_unreachable(db.session.get(AccountingConnection, run.connection_id))
            if not _retries_left():
                return _finish(run, "failed", f"Gave up after several tries: {exc.message}")
            run.stage = f"Waiting: {exc.message}"
            db.session.commit()
            raise  # RQ retries the job; it goes on from the last stored page
        except ProviderError as exc:
            db.session.rollback()
            return _finish(db.session.get(SyncRun, run_id), "failed", exc.message)
        except Exception:
            db.session.rollback()
            _finish(db.session.get(SyncRun, run_id), "failed", "An unexpected error stopped it; see the worker log.")
            raise  # recorded as a failed job too
        return _finish(run, "done", None)


def _retries_left() -> bool:
    from rq import get_current_job
    job = get_current_job()
    return bool(job is not None and job.retries_left)


def _finish(run: SyncRun, status: str, message: str | None) -> str:
    run.status, run.finished_at = status, utcnow()
    run.stage = "Finished" if status == "done" else "Stopped"
    if message:
        run.message = message
    if run.kind == "create_contact" and status == "failed" and run.subject_id:
        party = db.session.get(Party, run.subject_id)
        if party is not None:
            party.remote_state, party.remote_message = "failed", message
    db.session.commit()
    return status


def summary(run: SyncRun) -> str:
    parts = [f"{run.created} imported" if run.kind.startswith("import") else f"{run.updated} updated"]
    if run.kind.startswith("import"):
        parts += [f"{run.linked} linked to existing", f"{run.review} need review"]
        if run.updated:
            parts.append(f"{run.updated} updated")
    if run.failed:
        parts.append(f"{run.failed} failed")
    return ", ".join(parts)


# --- import -----------------------------------------------------------------------------

class _Matcher:
    """Everything a page needs to match, loaded once per run (no per-row queries)."""

    def __init__(self, connection: AccountingConnection, local_type: str):
        model = KINDS[local_type]
        self.connection, self.local_type, self.model = connection, local_type, model
        parties = db.session.scalars(select(model).where(model.organisation_id == connection.organisation_id)
                                     .options(selectinload(model.addresses), selectinload(model.people))).all()
        by_id = {p.id: p for p in parties}
        self.linked: dict[str, Party] = {}
        self.linked_parties: set[Party] = set()
        self.new_links: list[tuple[int, str, str | None]] = []  # (local id, remote id, remote name)
        # records to create, written in bulk once the page is read: (prepared values, remote id)
        self.new_parties: list[tuple[_Prepared, str]] = []
        # remote ids created in this run (a page shift may repeat one): their ids once written
        self.created: dict[str, int | None] = {}
        for link in db.session.scalars(conn_service.links_for(connection, local_type)):
            party = by_id.get(link.local_id)
            if party is not None:
                self.linked[link.remote_id] = party
                self.linked_parties.add(party)
        self.by_email: dict[str, list[Party]] = {}
        self.by_name: dict[str, list[Party]] = {}
        for party in parties:
            self._index(party)
        self.reviews = {r.remote_id: r for r in db.session.scalars(select(ImportReview).where(
            ImportReview.organisation_id == connection.organisation_id, ImportReview.local_type == local_type,
            ImportReview.remote_org_id == connection.remote_org_id))}

    def _index(self, party: Party) -> None:
        if party.email:
            self.by_email.setdefault(party.email.lower(), []).append(party)
        self.by_name.setdefault(normalise_name(party.name), []).append(party)

    def touched(self, contacts: list[RemoteContact], prepared: dict[str, _Prepared], changed: set[str]) -> set[Party]:
        """The records that matching these contacts may look at or update (as _import_one
        does): the linked record of a changed contact, the candidates by email and name."""
        parties: set[Party] = set()
        linked, by_email, by_name = self.linked, self.by_email, self.by_name
        for contact in contacts:
            values = prepared.get(contact.remote_id)
            if values is None:  # not for this import, or archived
                continue
            party = linked.get(contact.remote_id)
            if party is not None:
                if contact.remote_id in changed:
                    parties.add(party)
                continue
            if contact.email:
                parties.update(by_email.get(contact.email.strip().lower(), ()))
            parties.update(by_name.get(values.name_key, ()))
        return parties

    def reread(self, parties: set[Party]) -> None:
        """Read these records again, in one query (with their addresses and people): what
        the run loaded stays loaded across its page commits, and since then someone may
        have edited, archived or deleted one. A deleted one is matched no more."""
        if not parties:
            return
        model = self.model
        found = set(db.session.scalars(
            select(model).where(among(model.id, [p.id for p in parties]))
            .options(selectinload(model.addresses), selectinload(model.people))
            .execution_options(populate_existing=True)))
        for party in parties - found:
            self.linked = {remote_id: p for remote_id, p in self.linked.items() if p is not party}
            self.linked_parties.discard(party)
            for index in (self.by_email, self.by_name):
                for candidates in index.values():
                    if party in candidates:
                        candidates.remove(party)
            db.session.expunge(party)

    def unlinked(self, parties: list[Party]) -> list[Party]:
        return [p for p in parties if p not in self.linked_parties and not p.archived]

    def link(self, party: Party, contact: RemoteContact) -> None:
        self.new_links.append((party.id, contact.remote_id, clean(contact.name, 255)))
        self.linked[contact.remote_id] = party
        self.linked_parties.add(party)
        if party.remote_state != "linked" or party.remote_message is not None:
            party.remote_state, party.remote_message = "linked", None

    def create(self, contact: RemoteContact, prepared: _Prepared | None = None) -> None:
        """A new Factory record for this remote contact, written with the page's others.
        It is linked at once, so it never matches a later contact of the same run."""
        self.new_parties.append((prepared or _prepare(contact), contact.remote_id))
        self.created[contact.remote_id] = None

    def update_created(self, contact: RemoteContact) -> bool:
        """A contact created in this run came up again, changed: the newer data wins."""
        party_id = self.created.get(contact.remote_id)
        if party_id is None:  # still waiting in this page's rows: replace them
            self.new_parties = [entry for entry in self.new_parties if entry[1] != contact.remote_id]
            self.create(contact)
            return True
        party = db.session.get(self.model, party_id)
        return party is not None and apply_contact(party, contact)

    def write_page(self) -> None:
        """After the page's flush: the new records, their addresses, people and links, one
        bulk insert per table (bulk.insert_rows)."""
        if self.new_parties:
            new, self.new_parties = self.new_parties, []
            scope = (self.connection.organisation_id, self.local_type, "linked")
            ids = insert_with_ids(Party.__table__, [(*scope, *values.party) for values, _ in new],
                                  columns=("organisation_id", "kind", "remote_state", *PARTY_FIELDS))
            insert_rows(Address.__table__, [(party_id, kind, *fields) for party_id, (values, _) in zip(ids, new)
                                            for kind, fields in values.addresses.items()],
                        columns=("party_id", "kind", *Address.FIELDS))
            insert_rows(ContactPerson.__table__, [(party_id, *person) for party_id, (values, _) in zip(ids, new)
                                                  for person in values.people],
                        columns=("party_id", *PERSON_FIELDS))
            self.new_links.extend((party_id, remote_id, values.party[0])
                                  for party_id, (values, remote_id) in zip(ids, new))
            self.created.update((remote_id, party_id) for party_id, (_, remote_id) in zip(ids, new))
        if self.new_links:
            scope = (self.connection.organisation_id, self.connection.provider, self.connection.remote_org_id,
                     self.local_type)
            insert_rows(ExternalLink.__table__, [(*scope, *link) for link in self.new_links],
                        columns=("organisation_id", "provider", "remote_org_id", "local_type", "local_id",
                                 "remote_id", "remote_name"))
            self.new_links = []


class _Prepared(NamedTuple):
    """What matching and creating need of a remote contact: worked out for a whole page on
    the read-ahead thread (pure functions of the contact), where it overlaps the waits
    for the database instead of adding to them."""
    party: tuple  # in PARTY_FIELDS order
    addresses: dict[str, tuple]  # {kind: fields in Address.FIELDS order}
    people: list[tuple]  # in PERSON_FIELDS order
    problem: str | None
    name_key: str


def _prepare(contact: RemoteContact) -> _Prepared:
    return _Prepared(_party_values(contact), _address_values(contact), _people_values(contact),
                     problem_with(contact), normalise_name(contact.name))


def _prepared_page(page: Page, local_type: str) -> tuple[Page, dict[str, _Prepared]]:
    """The page, and the prepared values of the contacts an import of `local_type` takes."""
    wanted = "is_customer" if local_type == "customer" else "is_supplier"
    return page, {c.remote_id: _prepare(c) for c in page.items if getattr(c, wanted) and not c.archived}


# What Factory keeps of a remote contact, cleaned to its columns' lengths: plain tuples in
# column order (built for every contact of an import; written as they are by write_page)
PARTY_FIELDS = ("name", "email", "phone", "website", "tax_number")
PERSON_FIELDS = ("name", "email", "phone")


def _party_values(contact: RemoteContact) -> tuple:
    return (clean(contact.name, 255), clean(contact.email, 255), clean(contact.phone, 50),
            clean(contact.website, 255), clean(contact.tax_number, 50))


def _address_values(contact: RemoteContact) -> dict[str, tuple]:
    """{kind: fields in Address.FIELDS order}; of two remote addresses of one kind, the last wins."""
    return {a.kind: (clean(a.line1, 255), clean(a.line2, 255), clean(a.city, 100), clean(a.region, 100),
                     clean(a.postcode, 20), clean(a.country, 100))
            for a in contact.addresses}


def _people_values(contact: RemoteContact) -> list[tuple]:
    """(name, email, phone) of each contact person that has a name."""
    people = [(clean(p.name, 255), clean(p.email, 255), clean(p.phone, 50)) for p in contact.people]
    return [p for p in people if p[0]]


def apply_contact(party: Party, contact: RemoteContact, fill_only: bool = False) -> bool:
    """Copy a remote contact onto a Factory record; returns whether anything changed.
    fill_only keeps what Factory already has (used when linking an existing record)."""
    changed = False
    for field, value in zip(PARTY_FIELDS, _party_values(contact)):
        current = getattr(party, field)
        if value is None or current == value or (fill_only and current):
            continue
        setattr(party, field, value)
        changed = True
    for kind, fields in _address_values(contact).items():
        address = party.address(kind)
        if address is not None and fill_only:
            continue
        values = dict(zip(Address.FIELDS, fields))
        if address is None:
            party.addresses.append(Address(kind=kind, **values))
            changed = True
        elif any(getattr(address, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(address, f, v)
            changed = True
    wanted = _people_values(contact)
    have = [(p.name, p.email, p.phone) for p in party.people]
    if wanted and wanted != have and not (fill_only and have):
        party.people[:] = [ContactPerson(name=n, email=e, phone=ph) for n, e, ph in wanted]
        changed = True
    return changed


READ_AHEAD = 2  # pages requested before they are needed (Xero allows 5 calls at once)
RECHECK_CONNECTION = 1.0  # seconds: an import notices a disconnect made meanwhile within about this long


def _import_contacts(run: SyncRun, connection: AccountingConnection, local_type: str) -> None:
    adapter = get_provider(connection.provider)
    label = "customers" if local_type == "customer" else "suppliers"
    page_number = run.next_page or 1
    whole_list_here = page_number == 1  # a resumed import can't know what shifted before it
    with ThreadPoolExecutor(max_workers=READ_AHEAD, thread_name_prefix="read-ahead") as reader:
        # Pages are read while earlier ones are stored, up to READ_AHEAD at once, so the
        # package is never idle waiting for Factory. Only pages the list is known to have
        # (its page count) are asked for ahead: the calls stay one per page.
        ahead: dict[int, Callable[[], tuple[Page, dict[str, _Prepared]]]] = {}

        def read(number: int) -> None:
            if number not in ahead:
                ahead[number] = conn_service.call_ahead(
                    connection, lambda s: _prepared_page(adapter.contacts(s, page=number), local_type), reader)
        read(page_number)
        # loaded while the first page is on its way: the local records, the synced list's stamps
        matcher = _Matcher(connection, local_type)
        stamps = _contact_stamps(connection)
        unreadable = logged_failures(run)
        # from here on, the collector looks only at what the pages make; and what is loaded
        # stays loaded across the page commits (no reload of the run, the connection and
        # every matched record after each page: a query per record)
        with gc_frozen(), loaded_across_commits(db.session()):
            shifts = _ShiftWatch()
            checked = time.monotonic()
            while page_number:
                run.stage = f"Reading {label}, page {page_number}"
                page, prepared = ahead.pop(page_number)()
                # whether an unreadable contact is one of this kind can't be read either: logged
                log_unreadable(run, adapter.display_name, "contact", page.failures, unreadable, local_type)
                next_number = shifts.next_page(page)
                if next_number:
                    if next_number <= page_number:  # a new pass: what was read ahead belongs to the last one
                        ahead.clear()
                    read(next_number)
                    for number in range(next_number + 1, min(next_number + READ_AHEAD, (page.page_count or 0) + 1)):
                        read(number)
                with db.session.no_autoflush:
                    changed = _remember_contacts(connection, page.items, stamps)
                    # a contact met before in this run (a re-read pass) counts once, and is
                    # looked at again only if it changed since: no second failure logged
                    todo = [c for c in page.items if c.remote_id in shifts.first_met or c.remote_id in changed]
                    run.seen += len(shifts.first_met)
                    matcher.reread(matcher.touched(todo, prepared, changed))
                    outcomes = Counter(_import_one(run, matcher, contact, local_type, changed,
                                                   prepared.get(contact.remote_id)) for contact in todo)
                    for count, n in outcomes.items():
                        if count is not None:
                            setattr(run, count, getattr(run, count) + n)
                    other = "supplier" if local_type == "customer" else "customer"
                    _update_linked(run, connection, other, [c for c in page.items if c.remote_id in changed])
                db.session.flush()
                matcher.write_page()
                run.pages_done += 1
                run.total_pages = page.page_count or run.total_pages
                run.next_page = next_number or 0
                if not next_number and whole_list_here and shifts.settled and page.bookmark:
                    # every contact has been read (oldest change first), the list and every
                    # linked record of both kinds are up to date: the next sync starts here
                    # (unless a sync meanwhile got further: read as stored now)
                    db.session.refresh(connection, ["contacts_bookmark"], with_for_update=True)
                    if connection.contacts_bookmark is None or page.bookmark > connection.contacts_bookmark:
                        connection.contacts_bookmark = page.bookmark
                commit_redoable(db.session)  # the page is stored: an interrupted import goes on from the next one
                if time.monotonic() - checked >= RECHECK_CONNECTION:
                    # the connection, though, is read again now and then: a disconnect shows
                    db.session.expire(connection)
                    checked = time.monotonic()
                page_number = next_number
    run.stage = "Finished"


class _ShiftWatch:
    """Lists are read page by page, oldest change first. A contact changed while a pass
    reads them moves to the end of the list, so every later position moves up one and
    the contact that was next in line is skipped. The moved contact then comes up a
    second time in the same pass: when that is seen, the pass is read again (at most
    three passes; a rare event, and a read costs one call per page). `first_met`: the
    page's contacts not met before in the whole run (a re-read pass meets the others again)."""

    PASSES = 3

    def __init__(self):
        self.passes, self.seen, self.shifted = 1, set(), False
        self.met: set[str] = set()
        self.first_met: set[str] = set()

    def next_page(self, page) -> int | None:
        ids = [c.remote_id for c in page.items]
        self.shifted = self.shifted or not self.seen.isdisjoint(ids)
        self.seen.update(ids)
        self.first_met = set(ids) - self.met
        self.met.update(ids)
        if page.next_page is None and self.shifted and self.passes < self.PASSES:
            self.passes, self.seen, self.shifted = self.passes + 1, set(), False
            return 1
        return page.next_page

    @property
    def settled(self) -> bool:
        """The last pass met no contact twice: nothing was hidden from it."""
        return not self.shifted


def _update_linked(run: SyncRun, connection: AccountingConnection, local_type: str,
                   contacts: list[RemoteContact]) -> None:
    """Changed remote contacts update the Factory records of this kind linked to them
    (the sync, and an import for the other kind, so that a customer import keeps linked
    suppliers current): one query for the links, one for the records, only those."""
    usable = {c.remote_id: c for c in contacts if not c.archived and not problem_with(c)}
    if not usable:
        return
    model = KINDS[local_type]
    links = dict(db.session.execute(conn_service.links_for(connection, local_type)
                                    .where(among(ExternalLink.remote_id, usable))
                                    .with_only_columns(ExternalLink.local_id, ExternalLink.remote_id)).all())
    if not links:
        return
    for party in db.session.scalars(select(model).where(among(model.id, links), model.organisation_id == run.organisation_id)
                                    .options(selectinload(model.addresses), selectinload(model.people))
                                    .execution_options(populate_existing=True)):  # loaded earlier in the run, perhaps
        if apply_contact(party, usable[links[party.id]]):
            run.updated += 1


def _import_one(run: SyncRun, matcher: _Matcher, contact: RemoteContact, local_type: str,
                changed: set[str] | None = None, prepared: _Prepared | None = None) -> str | None:
    """Match, link, queue for creating or for review; returns what happened, as the name
    of the run's count it adds to (None: nothing to count; the caller adds them up)."""
    wanted = contact.is_customer if local_type == "customer" else contact.is_supplier
    if not wanted:
        return None
    if contact.archived:
        return "skipped"
    prepared = prepared or _prepare(contact)
    problem = prepared.problem
    if contact.remote_id in matcher.created:
        # created earlier in this run and met again (the list shifted): changed meanwhile?
        if (changed is None or contact.remote_id in changed) and not problem and matcher.update_created(contact):
            return "updated"
        return None
    if problem:
        db.session.add(SyncFailure(organisation_id=run.organisation_id, run_id=run.id, remote_id=contact.remote_id,
                                   local_type=local_type, name=clean(contact.name, 255),
                                   message=f"Skipped: {problem}"))
        return "failed"
    party = matcher.linked.get(contact.remote_id)
    if party is not None:
        if (changed is None or contact.remote_id in changed) and apply_contact(party, contact):
            return "updated"
        return None
    review = matcher.reviews.get(contact.remote_id)
    if review is not None and review.status in ("open", "skipped"):
        return None  # already waiting for a person, or skipped by one
    email = (contact.email or "").strip().lower()
    by_email = matcher.unlinked(matcher.by_email.get(email, [])) if email else []
    if len(by_email) == 1:
        matcher.link(by_email[0], contact)
        apply_contact(by_email[0], contact, fill_only=True)
        return "linked"
    if len(by_email) > 1:
        return _review(run, matcher, contact, by_email, "Several Factory records have this email.")
    by_name = matcher.unlinked(matcher.by_name.get(prepared.name_key, []))
    if len(by_name) == 1:
        local = by_name[0]
        if local.email and email and local.email.lower() != email:
            return _review(run, matcher, contact, by_name, "Same name, different email.")
        matcher.link(local, contact)
        apply_contact(local, contact, fill_only=True)
        return "linked"
    if len(by_name) > 1:
        return _review(run, matcher, contact, by_name, "Several Factory records have this name.")
    matcher.create(contact, prepared)
    return "created"


def _review(run, matcher: _Matcher, contact: RemoteContact, candidates: list[Party], reason: str) -> str:
    review = ImportReview(
        organisation_id=run.organisation_id, run_id=run.id, provider=matcher.connection.provider,
        remote_org_id=matcher.connection.remote_org_id, local_type=matcher.local_type,
        remote_id=contact.remote_id, remote_name=clean(contact.name, 255), remote_email=clean(contact.email, 255),
        remote_data=_contact_json(contact),
        candidate_ids=",".join(str(p.id) for p in candidates), reason=reason)
    db.session.add(review)
    matcher.reviews[contact.remote_id] = review
    return "review"


def _contact_json(contact: RemoteContact) -> str:
    return json.dumps({**vars(contact), "addresses": [vars(a) for a in contact.addresses],
                       "people": [vars(p) for p in contact.people]}, default=str)


def _remember_contacts(connection: AccountingConnection, contacts: list[RemoteContact],
                       stamps: dict[str, object] | None = None) -> set[str]:
    """Keep the synced list of remote contacts (what the link control searches); returns
    the ids of those that are new or changed. The package stamps every change, so a
    contact whose change time is the one stored is unchanged: only the stamps are
    compared (`stamps`: all of them, loaded once by `_contact_stamps` and kept current
    here; else the page's are read), and rows with their JSON are made for the others."""
    table = RemoteRecord.__table__
    if stamps is None:
        stamps = _contact_stamps(connection, [c.remote_id for c in contacts])
    stored = as_stored(table.c.remote_updated_at, db.session.get_bind().dialect)
    fresh = [c for c in contacts if c.updated_at is None or stamps.get(c.remote_id) != stored(c.updated_at)]
    if not fresh:
        return set()
    changed = _upsert_records(connection, "contact", [
        dict(remote_id=c.remote_id, code=None, name=clean(c.name, 255) or "(no name)", email=clean(c.email, 255),
             is_customer=c.is_customer, is_supplier=c.is_supplier, archived=c.archived,
             data=_contact_json(c), remote_updated_at=c.updated_at)
        for c in fresh])
    stamps.update((c.remote_id, stored(c.updated_at) if c.updated_at else None) for c in fresh)
    return changed


def _contact_stamps(connection: AccountingConnection, remote_ids: list[str] | None = None) -> dict[str, object]:
    """remote id -> the stored change time of the synced contacts (those given, or all),
    as the database keeps it (not turned into datetimes: thousands of them per page)."""
    table = RemoteRecord.__table__
    query = select(table.c.remote_id, type_coerce(table.c.remote_updated_at, NullType())).where(
        *_records_scope(connection, "contact"))
    if remote_ids is not None:
        query = query.where(among(table.c.remote_id, remote_ids))
    return dict(raw_rows(query))


def _records_scope(connection: AccountingConnection, kind: str) -> tuple:
    table = RemoteRecord.__table__
    return (table.c.organisation_id == connection.organisation_id, table.c.provider == connection.provider,
            table.c.remote_org_id == connection.remote_org_id, table.c.kind == kind)


def _upsert_records(connection: AccountingConnection, kind: str, rows: list[dict], replace: bool = False,
                    keep: set[str] = frozenset()) -> set[str]:
    """Store a page of the package's list of `kind` (Core statements, compared as plain
    values: one SELECT, then one INSERT and one UPDATE for whatever is new or different).
    Returns the remote ids that are new or changed. replace: the page is the whole list,
    what it doesn't hold is deleted (except the remote ids in `keep`)."""
    table = RemoteRecord.__table__
    fields = [field for field in rows[0] if field != "remote_id"] if rows else []  # every row names the same
    query = select(table.c.id, table.c.remote_id, *(table.c[f] for f in fields)).where(*_records_scope(connection, kind))
    if not replace:
        query = query.where(among(table.c.remote_id, [row["remote_id"] for row in rows]))
    existing = {r.remote_id: r for r in db.session.execute(query)}
    changed: set[str] = set()
    new, updates = [], []
    for row in rows:
        record = existing.pop(row["remote_id"], None)
        if record is None:
            new.append(dict(organisation_id=connection.organisation_id, provider=connection.provider,
                            remote_org_id=connection.remote_org_id, kind=kind, **row))
            changed.add(row["remote_id"])
        elif any(getattr(record, f) != row[f] for f in fields):
            updates.append({"record_id": record.id, **{f: row[f] for f in fields}})
            changed.add(row["remote_id"])
    if new:
        db.session.execute(insert(table), new)
    if updates:
        db.session.execute(update(table).where(table.c.id == bindparam("record_id")), updates)
    gone = [r.id for remote_id, r in existing.items() if remote_id not in keep] if replace else []
    if gone:
        db.session.execute(delete(table).where(table.c.id.in_(gone)))
    return changed


# --- reviews ----------------------------------------------------------------------------

def _claim_review(review: ImportReview, status: str) -> bool:
    """Move the review out of "open" in the database first (an UPDATE ... WHERE status =
    'open', which waits for a concurrent resolve of the same review): of two identical
    requests at once, one resolves it and the other finds it resolved."""
    claimed = db.session.execute(update(ImportReview).where(ImportReview.id == review.id, ImportReview.status == "open")
                                 .values(status=status, resolved_at=utcnow())
                                 .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(review, ["status", "resolved_at"])
    return bool(claimed)


def resolve_review(review: ImportReview, action: str, local_id: int | None = None) -> Party | None:
    """Link to a candidate, create a new record, or skip."""
    if action not in ("skip", "link", "create"):
        raise Rejected("Unknown action.")
    if review.status != "open":
        return None
    connection = conn_service.current_connection(review.organisation_id)
    if action == "skip":
        _claim_review(review, "skipped")
        return None
    if connection is None or connection.remote_org_id != review.remote_org_id:
        raise Rejected("Reconnect to the same organisation to resolve this.")
    data = json.loads(review.remote_data)
    contact = RemoteContact(**{**data, "addresses": tuple(), "people": tuple(), "updated_at": None})
    from .base import RemoteAddress, RemotePerson
    contact = dataclasses.replace(contact, addresses=tuple(RemoteAddress(**a) for a in data.get("addresses") or []),
                                  people=tuple(RemotePerson(**p) for p in data.get("people") or []))
    model = KINDS[review.local_type]
    links = select(ExternalLink.id).where(
        ExternalLink.organisation_id == review.organisation_id, ExternalLink.provider == review.provider,
        ExternalLink.remote_org_id == review.remote_org_id, ExternalLink.local_type == review.local_type)
    if db.session.scalar(links.where(ExternalLink.remote_id == review.remote_id)) is not None:
        raise Rejected(f"{review.remote_name} is linked to a Factory record already.")
    if action == "link":
        allowed = {int(i) for i in review.candidate_ids.split(",") if i}
        party = db.session.get(model, local_id) if local_id in allowed else None
        if party is None or party.organisation_id != review.organisation_id:
            raise Rejected("Choose one of the suggested records.")
        if db.session.scalar(links.where(ExternalLink.local_id == party.id)) is not None:
            raise Rejected(f"{party.name} is linked to another contact already; unlink it first on its page.")
        if not _claim_review(review, "linked"):
            return None  # resolved a moment ago (a double click)
        fill_only = True
    else:
        if not _claim_review(review, "created"):
            return None
        party = model(organisation_id=review.organisation_id)
        db.session.add(party)
        fill_only = False
    apply_contact(party, contact, fill_only=fill_only)
    db.session.flush()
    db.session.add(ExternalLink(organisation_id=review.organisation_id, provider=review.provider,
                                remote_org_id=review.remote_org_id, local_type=review.local_type, local_id=party.id,
                                remote_id=review.remote_id, remote_name=review.remote_name))
    party.remote_state = "linked"
    db.session.flush()
    return party


# --- the sync ---------------------------------------------------------------------------

def _sync(run: SyncRun, connection: AccountingConnection) -> None:
    adapter = get_provider(connection.provider)
    since = connection.contacts_bookmark  # fixed for this pass, so the pages stay stable
    page_number = 1
    shifts = _ShiftWatch()
    package, unreadable = adapter.display_name, logged_failures(run)
    while page_number:
        run.stage = f"Contacts changed since the last update, page {page_number}"
        page = conn_service.call(connection, lambda s: adapter.contacts(s, page=page_number, modified_since=since))
        log_unreadable(run, package, "contact", page.failures, unreadable)
        next_number = shifts.next_page(page)
        with db.session.no_autoflush:
            changed = _remember_contacts(connection, page.items)
            run.seen += len(shifts.first_met)  # once, a re-read pass or not
            # re-read but unchanged (the bookmark's own second): nothing to write
            fresh = [c for c in page.items if c.remote_id in changed]
            for local_type in KINDS:
                _update_linked(run, connection, local_type, fresh)
        run.pages_done += 1
        run.total_pages = (page.page_count or 1) + 3
        if page.bookmark and (connection.contacts_bookmark is None or page.bookmark > connection.contacts_bookmark):
            # pages come oldest change first: once this page is stored, a resumed sync
            # may start after it
            connection.contacts_bookmark = page.bookmark
        if next_number is None and not shifts.settled:
            # still shifting after every pass: the next update reads this stretch again
            connection.contacts_bookmark = since
        db.session.commit()
        page_number = next_number
    run.stage = "Items"
    items = conn_service.call(connection, lambda s: adapter.items(s, modified_since=connection.items_bookmark))
    log_unreadable(run, package, "item", items.failures, unreadable)
    _upsert_records(connection, "item", [dict(remote_id=i.remote_id, code=i.code, name=clean(i.name or i.code, 255) or i.code,
                                              email=None, data=json.dumps(dataclasses.asdict(i), default=str),
                                              remote_updated_at=i.updated_at) for i in items.items])
    connection.items_bookmark = items.bookmark or connection.items_bookmark
    run.pages_done += 1
    db.session.commit()
    run.stage = "Accounts"
    accounts = conn_service.call(connection, adapter.accounts)
    log_unreadable(run, package, "account", accounts.failures, unreadable)
    # the lists are read whole: what is not in them is gone, but one that could not be read
    # is still there (its last reading is kept)
    _upsert_records(connection, "account", [dict(remote_id=a.remote_id, code=a.code, name=clean(a.name, 255) or "",
                                                 email=None, archived=a.archived, data=a.kind)
                                            for a in accounts.items], replace=True, keep=_ids(accounts.failures))
    run.pages_done += 1
    db.session.commit()
    run.stage = "Invoice payments"
    _refresh_payments(run, connection, adapter, unreadable)
    db.session.commit()
    run.stage = "Tax rates"
    rates = conn_service.call(connection, adapter.tax_rates)
    log_unreadable(run, package, "tax rate", rates.failures, unreadable)
    # a tax rate's data is its rate; is_customer / is_supplier: offered on sales / purchases
    _upsert_records(connection, "tax_rate", [dict(remote_id=r.code, code=r.code, name=clean(r.name, 255) or r.code,
                                                  email=None, archived=r.archived, data=str(r.rate),
                                                  is_customer=r.applies_to_sales, is_supplier=r.applies_to_purchases)
                                             for r in rates.items], replace=True, keep=_ids(rates.failures))
    run.pages_done += 1
    # what is not mapped yet is proposed from the package's defaults, for an administrator to confirm
    db.session.flush()
    propose_mapping(connection)
    connection.last_update_at = datetime.now(timezone.utc)
    db.session.commit()


def _ids(problems: list[RecordProblem]) -> set[str]:
    return {p.remote_id for p in problems if p.remote_id}


def _refresh_payments(run: SyncRun, connection: AccountingConnection, adapter, logged: set) -> None:
    """Unpaid invoices Factory sent: their payment state, for those changed since the
    last update (50 per call). One the package sends unreadable is logged and left as it was."""
    from ..models import DocumentPush
    from .push import _store_state
    pushes = {p.remote_id: p for p in db.session.scalars(select(DocumentPush).where(
        DocumentPush.organisation_id == connection.organisation_id, DocumentPush.remote_org_id == connection.remote_org_id,
        DocumentPush.doc_type == "invoice", DocumentPush.remote_id.is_not(None),
        (DocumentPush.amount_due.is_(None)) | (DocumentPush.amount_due != 0)))}
    ids = sorted(pushes)
    since = connection.last_update_at
    for start in range(0, len(ids), 50):
        chunk = ids[start:start + 50]
        states = conn_service.call(connection, lambda s: adapter.payment_states(s, chunk, since))
        log_unreadable(run, adapter.display_name, "invoice", states.failures, logged)
        for state in states.items:
            if state.remote_id in pushes:
                _store_state(pushes[state.remote_id], state)


def daily_sync() -> int:
    """Cron: one sync run per active connection (joined if one is already running)."""
    with job_context():
        count = 0
        for connection in db.session.scalars(select(AccountingConnection).where(AccountingConnection.status == ACTIVE)):
            start_run(connection.organisation_id, None, "sync")
            count += 1
        db.session.commit()
        return count


# --- "Also create in the accounting package" ---------------------------------------------

def request_remote_contact(party: Party, user_id: int | None) -> SyncRun:
    party.remote_state, party.remote_message = "pending", None
    return start_run(party.organisation_id, user_id, "create_contact", subject_id=party.id)


def _create_contact(run: SyncRun, connection: AccountingConnection) -> None:
    party = db.session.get(Party, run.subject_id)
    if party is None:
        return
    local_type = party.kind
    existing = db.session.scalar(conn_service.links_for(connection, local_type).where(ExternalLink.local_id == party.id))
    if existing is not None:
        party.remote_state = "linked"
        return
    adapter = get_provider(connection.provider)
    from .links import same_name
    clash = same_name(connection, party.name)
    if clash is not None:  # the package's unique-name rule: offer "Link to existing" instead
        party.remote_state = "failed"
        party.remote_message = f"A contact named “{clash.name}” already exists in the accounting package."
        run.failed += 1
        return
    try:
        contact = conn_service.call(connection, lambda s: adapter.save_contact(
            s, None, name=party.name, email=party.email, idempotency_key=f"factory-contact-{party.id}"))
    except Rejected as exc:
        party.remote_state, party.remote_message = "failed", exc.message
        run.failed += 1
        db.session.add(SyncFailure(organisation_id=run.organisation_id, run_id=run.id, local_type=local_type,
                                   local_id=party.id, name=party.name, message=exc.message))
        return
    db.session.add(ExternalLink(organisation_id=party.organisation_id, provider=connection.provider,
                                remote_org_id=connection.remote_org_id, local_type=local_type, local_id=party.id,
                                remote_id=contact.remote_id, remote_name=contact.name))
    party.remote_state, party.remote_message = "linked", None
    run.created += 1
