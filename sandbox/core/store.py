"""SQLite storage: one file holds the books of every organisation and the identity state
(codes, tokens, connections), so the sandbox survives restarts. One connection guarded by
a lock; the books' records (package-neutral: sandbox/ledger/) are stored as JSON (exact
decimals) next to indexed columns. Raw records are a face's own, stored as a test gave them."""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager

from .util import dumps, loads

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS orgs (tenant_id TEXT PRIMARY KEY, name TEXT, position INTEGER, doc TEXT);
CREATE TABLE IF NOT EXISTS contacts (contact_id TEXT PRIMARY KEY, tenant_id TEXT, name_lower TEXT,
    email_lower TEXT, status TEXT, is_customer INTEGER, is_supplier INTEGER, updated_ms INTEGER, doc TEXT);
CREATE INDEX IF NOT EXISTS contacts_updated ON contacts (tenant_id, updated_ms);
CREATE INDEX IF NOT EXISTS contacts_name ON contacts (tenant_id, name_lower);
CREATE INDEX IF NOT EXISTS contacts_email ON contacts (tenant_id, email_lower);
CREATE TABLE IF NOT EXISTS items (item_id TEXT PRIMARY KEY, tenant_id TEXT, code TEXT, updated_ms INTEGER, doc TEXT);
CREATE TABLE IF NOT EXISTS accounts (account_id TEXT PRIMARY KEY, tenant_id TEXT, code TEXT, updated_ms INTEGER, doc TEXT);
CREATE TABLE IF NOT EXISTS taxrates (tenant_id TEXT, tax_type TEXT, doc TEXT, PRIMARY KEY (tenant_id, tax_type));
CREATE TABLE IF NOT EXISTS invoices (invoice_id TEXT PRIMARY KEY, tenant_id TEXT, type TEXT, number TEXT,
    status TEXT, contact_id TEXT, reference TEXT, updated_ms INTEGER, seq INTEGER, doc TEXT);
CREATE INDEX IF NOT EXISTS invoices_updated ON invoices (tenant_id, updated_ms);
CREATE INDEX IF NOT EXISTS invoices_number ON invoices (tenant_id, number);
CREATE TABLE IF NOT EXISTS payments (payment_id TEXT PRIMARY KEY, tenant_id TEXT, invoice_id TEXT,
    updated_ms INTEGER, doc TEXT);
CREATE INDEX IF NOT EXISTS payments_invoice ON payments (invoice_id);
CREATE TABLE IF NOT EXISTS auth_events (id TEXT PRIMARY KEY, face TEXT, client_id TEXT, scope TEXT, user TEXT,
    created REAL);
CREATE TABLE IF NOT EXISTS codes (code TEXT PRIMARY KEY, client_id TEXT, redirect_uri TEXT, scope TEXT,
    auth_event_id TEXT, challenge TEXT, method TEXT, nonce TEXT, expires_at REAL, used INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS connections (id TEXT PRIMARY KEY, face TEXT, client_id TEXT, tenant_id TEXT,
    auth_event_id TEXT, created REAL, updated REAL, UNIQUE (face, client_id, tenant_id));
CREATE TABLE IF NOT EXISTS refresh_tokens (token TEXT PRIMARY KEY, auth_event_id TEXT, client_id TEXT,
    scope TEXT, issued REAL, rotated_at REAL, revoked INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS access_tokens (token TEXT PRIMARY KEY, auth_event_id TEXT, client_id TEXT,
    scope TEXT, expires_at REAL, revoked INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS idempotency (tenant_id TEXT, key TEXT, status INTEGER, body TEXT, created REAL,
    PRIMARY KEY (tenant_id, key));
CREATE TABLE IF NOT EXISTS face_ids (face TEXT, tenant_id TEXT, kind TEXT, record_id TEXT, number INTEGER,
    PRIMARY KEY (face, tenant_id, kind, number), UNIQUE (face, tenant_id, kind, record_id));
CREATE TABLE IF NOT EXISTS raw_records (seq INTEGER PRIMARY KEY AUTOINCREMENT, face TEXT, tenant_id TEXT,
    kind TEXT, record_id TEXT, updated_ms INTEGER, doc TEXT);
"""

# the records' shape: a file written by an older sandbox (whose books kept one package's
# JSON) is planted again on opening, since the books are demo data
FORMAT = "neutral-3"  # each face's connections and tokens apart (a `face` column); face_ids

TABLES = ["orgs", "contacts", "items", "accounts", "taxrates", "invoices", "payments", "auth_events", "codes",
          "connections", "refresh_tokens", "access_tokens", "idempotency", "meta", "raw_records", "face_ids"]


class Store:
    def __init__(self, path: str, clock, seeder=None):
        self.seeder = seeder  # (store, db): plants the books on first use and on reset
        self.path = path
        self.clock = clock
        self.lock = threading.RLock()
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        if self.meta_table() and self.meta("seeded") and self.meta("format") != FORMAT:
            for table in TABLES:  # their columns changed with the format: made again, then planted
                self.db.execute(f"DROP TABLE IF EXISTS {table}")  # noqa: S608 - fixed names
        self.db.executescript(SCHEMA)
        offset = self.meta("clock_offset")
        if offset:
            clock.offset = float(offset)
        if not self.meta("seeded"):
            self.reseed()

    def close(self):
        with self.lock:
            self.db.close()

    # --- plumbing -------------------------------------------------------------------

    @contextmanager
    def tx(self):
        """One transaction (re-entrant: a nested tx joins the outer one)."""
        with self.lock:
            if self.db.in_transaction:
                yield self.db
                return
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            else:
                self.db.execute("COMMIT")

    def query(self, sql: str, args=()) -> list[sqlite3.Row]:
        with self.lock:
            return self.db.execute(sql, args).fetchall()

    def one(self, sql: str, args=()):
        with self.lock:
            return self.db.execute(sql, args).fetchone()

    def run(self, sql: str, args=()):
        with self.lock:
            return self.db.execute(sql, args)

    def meta_table(self) -> bool:
        return self.one("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'") is not None

    def meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key=?", (key,))
        return row["value"] if row else None

    def set_meta(self, key: str, value: str):
        self.run("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # --- documents ------------------------------------------------------------------

    @staticmethod
    def doc(row) -> dict:
        return loads(row["doc"])

    def put_contact(self, tenant: str, record: dict):
        self.put_contacts_bulk(tenant, [record])

    def put_contacts_bulk(self, tenant: str, records: list[dict]):
        """Contacts of the books (sandbox/ledger/contacts.py) with their indexed columns."""
        with self.tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO contacts (contact_id, tenant_id, name_lower, email_lower, status, "
                "is_customer, is_supplier, updated_ms, doc) VALUES (?,?,?,?,?,?,?,?,?)",
                [(r["id"], tenant, (r.get("name") or "").strip().lower(), (r.get("email") or "").strip().lower(),
                  r.get("status", "active"), int(bool(r.get("is_customer"))), int(bool(r.get("is_supplier"))),
                  r["updated_ms"], dumps(r)) for r in records])

    def get_contact(self, tenant: str, contact_id: str) -> dict | None:
        row = self.one("SELECT doc FROM contacts WHERE tenant_id=? AND contact_id=?", (tenant, str(contact_id).lower()))
        return self.doc(row) if row else None

    def put_invoice(self, tenant: str, record: dict, seq: int | None = None):
        """A document of the books (sandbox/ledger/documents.py): its kind in `type`."""
        self.run("INSERT OR REPLACE INTO invoices (invoice_id, tenant_id, type, number, status, contact_id, "
                 "reference, updated_ms, seq, doc) VALUES (?,?,?,?,?,?,?,?,?,?)",
                 (record["id"], tenant, record["kind"], record.get("number") or "", record["status"],
                  record["contact_id"], record.get("reference") or "", record["updated_ms"], seq, dumps(record)))

    def get_invoice(self, tenant: str, invoice_id: str) -> dict | None:
        row = self.one("SELECT doc FROM invoices WHERE tenant_id=? AND invoice_id=?", (tenant, str(invoice_id).lower()))
        return self.doc(row) if row else None

    def put_payment(self, tenant: str, record: dict):
        self.run("INSERT OR REPLACE INTO payments (payment_id, tenant_id, invoice_id, updated_ms, doc) "
                 "VALUES (?,?,?,?,?)", (record["id"], tenant, record["document_id"], record["updated_ms"],
                                        dumps(record)))

    def put_raw(self, face: str, tenant: str, kind: str, record_id: str | None, value) -> None:
        """A record of one face's API kept exactly as a test gave it: that face lists it as
        it is, whatever its shape."""
        self.run("INSERT INTO raw_records (face, tenant_id, kind, record_id, updated_ms, doc) VALUES (?,?,?,?,?,?)",
                 (face, tenant, kind, record_id, self.clock.now_ms(), dumps(value)))

    def raw_records(self, face: str, tenant: str, kind: str) -> list[tuple[str | None, int, object]]:
        """(record id, when it was stored in ms, the value) of a face's raw records of a kind."""
        return [(r["record_id"], r["updated_ms"], loads(r["doc"])) for r in self.query(
            "SELECT record_id, updated_ms, doc FROM raw_records WHERE face=? AND tenant_id=? AND kind=? ORDER BY seq",
            (face, tenant, kind))]

    def face_number(self, face: str, tenant: str, kind: str, record_id: str, start: int = 1) -> int:
        """The number a face shows for a record of the books (a face whose package has
        numeric ids: QuickBooks), given the first time it is asked for, in order."""
        with self.lock:
            row = self.one("SELECT number FROM face_ids WHERE face=? AND tenant_id=? AND kind=? AND record_id=?",
                           (face, tenant, kind, record_id))
            if row:
                return row["number"]
            top = self.one("SELECT max(number) AS n FROM face_ids WHERE face=? AND tenant_id=? AND kind=?",
                           (face, tenant, kind))["n"]
            number = max(start, (top or 0) + 1)
            self.run("INSERT INTO face_ids (face, tenant_id, kind, record_id, number) VALUES (?,?,?,?,?)",
                     (face, tenant, kind, record_id, number))
            return number

    def face_record(self, face: str, tenant: str, kind: str, number) -> str | None:
        """The books' record a face's number stands for, if it gave that number."""
        try:
            number = int(str(number).strip())
        except ValueError:
            return None
        row = self.one("SELECT record_id FROM face_ids WHERE face=? AND tenant_id=? AND kind=? AND number=?",
                       (face, tenant, kind, number))
        return row["record_id"] if row else None

    def organisations(self) -> list[dict]:
        return [dict(tenant_id=r["tenant_id"], name=r["name"]) for r in
                self.query("SELECT tenant_id, name FROM orgs ORDER BY position")]

    def organisation(self, tenant: str) -> dict | None:
        row = self.one("SELECT doc FROM orgs WHERE tenant_id=?", (tenant,))
        return self.doc(row) if row else None

    # --- seed -----------------------------------------------------------------------

    def reseed(self):
        """Empty every table and plant the books again (the seeder's), in one transaction."""
        with self.tx() as db:
            for table in TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
            if self.seeder is not None:
                self.seeder(self, db)
            self.set_meta("seeded", "1")
            self.set_meta("format", FORMAT)
            self.set_meta("clock_offset", str(self.clock.offset))
