"""Import customers / Import suppliers: every remote contact of that kind is linked to
the Factory record it matches (by email, then by normalised name), created when none
does, or put on the review list when the match is doubtful; matching never guesses.

Pages are read ahead while earlier ones are stored (READ_AHEAD), everything a page needs
is loaded once per run (_Matcher), and each stored page is committed, so an interrupted
import goes on from the next one. A contact changed while the list is read moves to its
end: ShiftWatch sees that and reads the pass again.
"""
from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..bulk import among, commit_redoable, gc_frozen, insert_rows, insert_with_ids, loaded_across_commits
from ..extensions import db
from ..models import (
    AccountingConnection, Address, ContactPerson, Customer, ExternalLink, ImportReview, Party, Supplier, SyncFailure,
    SyncRun,
)
from . import connections as conn_service
from . import provider as get_provider
from .base import Page, RemoteContact
from .records import contact_json, contact_stamps, remember_contacts
from .runlog import log_unreadable, logged_failures
from .text import clean, normalise_name, problem_with


KINDS = {"customer": Customer, "supplier": Supplier}


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
        """The records that matching these contacts may look at or update (as import_one
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
    return _Prepared(party_values(contact), address_values(contact), people_values(contact),
                     problem_with(contact), normalise_name(contact.name))


def _prepared_page(page: Page, local_type: str) -> tuple[Page, dict[str, _Prepared]]:
    """The page, and the prepared values of the contacts an import of `local_type` takes."""
    wanted = "is_customer" if local_type == "customer" else "is_supplier"
    return page, {c.remote_id: _prepare(c) for c in page.items if getattr(c, wanted) and not c.archived}


# What Factory keeps of a remote contact, cleaned to its columns' lengths: plain tuples in
# column order (built for every contact of an import; written as they are by write_page)
PARTY_FIELDS = ("name", "email", "phone", "website", "tax_number")


PERSON_FIELDS = ("name", "email", "phone")


def party_values(contact: RemoteContact) -> tuple:
    return (clean(contact.name, 255), clean(contact.email, 255), clean(contact.phone, 50),
            clean(contact.website, 255), clean(contact.tax_number, 50))


def address_values(contact: RemoteContact) -> dict[str, tuple]:
    """{kind: fields in Address.FIELDS order}; of two remote addresses of one kind, the last wins."""
    return {a.kind: (clean(a.line1, 255), clean(a.line2, 255), clean(a.city, 100), clean(a.region, 100),
                     clean(a.postcode, 20), clean(a.country, 100))
            for a in contact.addresses}


def people_values(contact: RemoteContact) -> list[tuple]:
    """(name, email, phone) of each contact person that has a name."""
    people = [(clean(p.name, 255), clean(p.email, 255), clean(p.phone, 50)) for p in contact.people]
    return [p for p in people if p[0]]


def apply_contact(party: Party, contact: RemoteContact, fill_only: bool = False) -> bool:
    """Copy a remote contact onto a Factory record; returns whether anything changed.
    fill_only keeps what Factory already has (used when linking an existing record)."""
    changed = False
    for field, value in zip(PARTY_FIELDS, party_values(contact)):
        current = getattr(party, field)
        if value is None or current == value or (fill_only and current):
            continue
        setattr(party, field, value)
        changed = True
    for kind, fields in address_values(contact).items():
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
    wanted = people_values(contact)
    have = [(p.name, p.email, p.phone) for p in party.people]
    if wanted and wanted != have and not (fill_only and have):
        party.people[:] = [ContactPerson(name=n, email=e, phone=ph) for n, e, ph in wanted]
        changed = True
    return changed


READ_AHEAD = 2  # pages in flight at once: the one needed next and one more (never past the adapter's concurrent_calls)


RECHECK_CONNECTION = 1.0  # seconds: an import notices a disconnect made meanwhile within about this long


def import_contacts(run: SyncRun, connection: AccountingConnection, local_type: str) -> None:
    adapter = get_provider(connection.provider)
    contact_list = adapter.contact_list_for(local_type)  # its own bookmark: set once it is read whole
    label = "customers" if local_type == "customer" else "suppliers"
    cursor = run.next_page  # the page to read (the adapter's cursor; None: the first)
    whole_list_here = cursor is None  # a resumed import can't know what shifted before it
    in_flight = max(1, min(READ_AHEAD, adapter.concurrent_calls))
    with ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="read-ahead") as reader:
        # Pages are read while earlier ones are stored, up to READ_AHEAD at once, so the
        # package is never idle waiting for Factory. Only pages the list is known to have
        # (the adapter's Page.ahead, from its page count) are asked for ahead: the calls
        # stay one per page.
        ahead: dict[str | None, Callable[[], tuple[Page, dict[str, _Prepared]]]] = {}

        def read(at: str | None) -> None:
            if at not in ahead:
                ahead[at] = conn_service.call_ahead(
                    connection, lambda s: _prepared_page(adapter.contacts(s, page=at, list_name=contact_list),
                                                          local_type), reader)
        read(cursor)
        # loaded while the first page is on its way: the local records, the synced list's stamps
        matcher = _Matcher(connection, local_type)
        stamps = contact_stamps(connection)
        unreadable = logged_failures(run)
        # from here on, the collector looks only at what the pages make; and what is loaded
        # stays loaded across the page commits (no reload of the run, the connection and
        # every matched record after each page: a query per record)
        with gc_frozen(), loaded_across_commits(db.session()):
            shifts = ShiftWatch()
            checked = time.monotonic()
            more = True
            while more:
                run.stage = f"Reading {label}, page {run.pages_done + 1}"
                page, prepared = ahead.pop(cursor)()
                # whether an unreadable contact is one of this kind can't be read either: logged
                log_unreadable(run, adapter.display_name, "contact", page.failures, unreadable, local_type)
                passes = shifts.passes
                more, next_cursor = shifts.next_page(page)
                if more:
                    if shifts.passes != passes:  # a new pass: what was read ahead belongs to the last one
                        ahead.clear()
                    read(next_cursor)
                    for later in page.ahead[:in_flight - 1]:  # none after a list's last page
                        read(later)
                with db.session.no_autoflush:
                    changed = remember_contacts(connection, page.items, stamps)
                    # a contact met before in this run (a re-read pass) counts once, and is
                    # looked at again only if it changed since: no second failure logged
                    todo = [c for c in page.items if c.remote_id in shifts.first_met or c.remote_id in changed]
                    run.seen += len(shifts.first_met)
                    matcher.reread(matcher.touched(todo, prepared, changed))
                    outcomes = Counter(import_one(run, matcher, contact, local_type, changed,
                                                   prepared.get(contact.remote_id)) for contact in todo)
                    for count, n in outcomes.items():
                        if count is not None:
                            setattr(run, count, getattr(run, count) + n)
                    other = "supplier" if local_type == "customer" else "customer"
                    update_linked(run, connection, other, [c for c in page.items if c.remote_id in changed])
                db.session.flush()
                matcher.write_page()
                run.pages_done += 1
                run.total_pages = page.page_count or run.total_pages
                run.next_page = next_cursor if more else None
                if not more and whole_list_here and shifts.settled and page.bookmark:
                    # every contact has been read (oldest change first), the list and every
                    # linked record of both kinds are up to date: the next sync starts here
                    # (unless a sync meanwhile got further: read as stored now)
                    db.session.refresh(connection, ["bookmarks"], with_for_update=True)
                    stored = connection.bookmark(contact_list)
                    if stored is None or page.bookmark > stored:
                        connection.set_bookmark(contact_list, page.bookmark)
                commit_redoable(db.session)  # the page is stored: an interrupted import goes on from the next one
                if time.monotonic() - checked >= RECHECK_CONNECTION:
                    # the connection, though, is read again now and then: a disconnect shows
                    db.session.expire(connection)
                    checked = time.monotonic()
                cursor = next_cursor
    run.stage = "Finished"


class ShiftWatch:
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

    def next_page(self, page) -> tuple[bool, str | None]:
        """(whether a page follows, its cursor: None for the first page of a new pass)."""
        ids = [c.remote_id for c in page.items]
        self.shifted = self.shifted or not self.seen.isdisjoint(ids)
        self.seen.update(ids)
        self.first_met = set(ids) - self.met
        self.met.update(ids)
        if page.next_page is None and self.shifted and self.passes < self.PASSES:
            self.passes, self.seen, self.shifted = self.passes + 1, set(), False
            return True, None
        return page.next_page is not None, page.next_page

    @property
    def settled(self) -> bool:
        """The last pass met no contact twice: nothing was hidden from it."""
        return not self.shifted


def update_linked(run: SyncRun, connection: AccountingConnection, local_type: str,
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


def import_one(run: SyncRun, matcher: _Matcher, contact: RemoteContact, local_type: str,
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
        remote_data=contact_json(contact),
        candidate_ids=",".join(str(p.id) for p in candidates), reason=reason)
    db.session.add(review)
    matcher.reviews[contact.remote_id] = review
    return "review"
