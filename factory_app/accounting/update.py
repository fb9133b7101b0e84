"""The "Update accounting data" button and the daily sync: the contacts changed since the bookmark
update the records linked to them, then items, accounts, invoice payments and tax rates
are read, and the account and tax mapping is proposed where it is not set.
"""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone

from sqlalchemy import select

from ..extensions import db
from ..models import AccountingConnection, DocumentPush, SyncRun
from . import connections as conn_service
from .mapping import propose as propose_mapping
from . import provider as get_provider
from .base import RecordProblem

ITEMS = "items"  # the items list's bookmark
from .importer import KINDS, ShiftWatch, update_linked
from .payments import store_payment_state
from .records import remember_contacts, upsert_records
from .runlog import log_unreadable, logged_failures
from .text import clean


def run_update(run: SyncRun, connection: AccountingConnection) -> None:
    adapter = get_provider(connection.provider)
    package, unreadable = adapter.display_name, logged_failures(run)
    for contact_list in adapter.contact_lists:
        _update_contacts(run, connection, adapter, contact_list, unreadable)
    run.stage = "Items"
    items = conn_service.call(connection, lambda s: adapter.items(s, modified_since=connection.bookmark(ITEMS)))
    log_unreadable(run, package, "item", items.failures, unreadable)
    upsert_records(connection, "item", [dict(remote_id=i.remote_id, code=i.code, name=clean(i.name or i.code, 255) or i.code,
                                              email=None, data=json.dumps(dataclasses.asdict(i), default=str),
                                              remote_updated_at=i.updated_at) for i in items.items])
    if items.bookmark:
        connection.set_bookmark(ITEMS, items.bookmark)
    run.pages_done += 1
    db.session.commit()
    run.stage = "Accounts"
    accounts = conn_service.call(connection, adapter.accounts)
    log_unreadable(run, package, "account", accounts.failures, unreadable)
    # the lists are read whole: what is not in them is gone, but one that could not be read
    # is still there (its last reading is kept)
    upsert_records(connection, "account", [dict(remote_id=a.remote_id, code=a.code, name=clean(a.name, 255) or "",
                                                 email=None, archived=a.archived, data=a.kind)
                                            for a in accounts.items], replace=True, keep=_ids(accounts.failures))
    run.pages_done += 1
    db.session.commit()
    run.stage = "Invoice payments"
    refresh_payments(run, connection, adapter, unreadable)
    db.session.commit()
    run.stage = "Tax rates"
    rates = conn_service.call(connection, adapter.tax_rates)
    log_unreadable(run, package, "tax rate", rates.failures, unreadable)
    # a tax rate's data is its rate; is_customer / is_supplier: offered on sales / purchases
    upsert_records(connection, "tax_rate", [dict(remote_id=r.remote_id, code=r.code, name=clean(r.name, 255) or r.code,
                                                  email=None, archived=r.archived, data=str(r.rate),
                                                  is_customer=r.applies_to_sales, is_supplier=r.applies_to_purchases)
                                             for r in rates.items], replace=True, keep=_ids(rates.failures))
    run.pages_done += 1
    # what is not mapped yet is proposed from the package's defaults, for an administrator to confirm
    db.session.flush()
    propose_mapping(connection)
    connection.last_update_at = datetime.now(timezone.utc)
    db.session.commit()


def _update_contacts(run: SyncRun, connection: AccountingConnection, adapter, contact_list: str,
                     unreadable: set) -> None:
    """The contacts of one list changed since its bookmark: the synced list and the
    records linked to them updated, page by page, the bookmark moved on after each."""
    since = connection.bookmark(contact_list)  # fixed for this pass, so the pages stay stable
    cursor, more, number = None, True, 1
    shifts = ShiftWatch()
    while more:
        which = f" ({contact_list})" if len(adapter.contact_lists) > 1 else ""
        run.stage = f"Contacts changed since the last update{which}, page {number}"
        page = conn_service.call(connection, lambda s: adapter.contacts(
            s, page=cursor, modified_since=since, list_name=contact_list))
        log_unreadable(run, adapter.display_name, "contact", page.failures, unreadable)
        passes = shifts.passes
        more, cursor = shifts.next_page(page)
        number = 1 if shifts.passes != passes else number + 1
        with db.session.no_autoflush:
            changed = remember_contacts(connection, page.items)
            run.seen += len(shifts.first_met)  # once, a re-read pass or not
            # re-read but unchanged (the bookmark's own second): nothing to write
            fresh = [c for c in page.items if c.remote_id in changed]
            for local_type in KINDS:
                update_linked(run, connection, local_type, fresh)
        run.pages_done += 1
        run.total_pages = (page.page_count or 1) + 3
        stored = connection.bookmark(contact_list)
        if page.bookmark and (stored is None or page.bookmark > stored):
            # pages come oldest change first: once this page is stored, a resumed sync
            # may start after it
            connection.set_bookmark(contact_list, page.bookmark)
        if not more and not shifts.settled:
            # still shifting after every pass: the next update reads this stretch again
            connection.set_bookmark(contact_list, since)
        db.session.commit()


def _ids(problems: list[RecordProblem]) -> set[str]:
    return {p.remote_id for p in problems if p.remote_id}


def refresh_payments(run: SyncRun, connection: AccountingConnection, adapter, logged: set) -> None:
    """Unpaid invoices Factory sent: their payment state, for those changed since the
    last update (50 per call). One the package sends unreadable is logged and left as it was."""
    pushes = {p.remote_id: p for p in db.session.scalars(select(DocumentPush).where(
        DocumentPush.organisation_id == connection.organisation_id, DocumentPush.to(connection),
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
                store_payment_state(pushes[state.remote_id], state)
