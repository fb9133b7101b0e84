"""SQLite storage: one file holds the books of every organisation and the identity state
(codes, tokens, connections), so the sandbox survives restarts. One connection guarded by
a lock; documents are stored as JSON (exact decimals) next to indexed columns."""
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
CREATE TABLE IF NOT EXISTS auth_events (id TEXT PRIMARY KEY, client_id TEXT, scope TEXT, user TEXT, created REAL);
CREATE TABLE IF NOT EXISTS codes (code TEXT PRIMARY KEY, client_id TEXT, redirect_uri TEXT, scope TEXT,
    auth_event_id TEXT, challenge TEXT, method TEXT, nonce TEXT, expires_at REAL, used INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS connections (id TEXT PRIMARY KEY, client_id TEXT, tenant_id TEXT,
    auth_event_id TEXT, created REAL, updated REAL, UNIQUE (client_id, tenant_id));
CREATE TABLE IF NOT EXISTS refresh_tokens (token TEXT PRIMARY KEY, auth_event_id TEXT, client_id TEXT,
    scope TEXT, issued REAL, rotated_at REAL, revoked INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS access_tokens (token TEXT PRIMARY KEY, auth_event_id TEXT, client_id TEXT,
    scope TEXT, expires_at REAL, revoked INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS idempotency (tenant_id TEXT, key TEXT, status INTEGER, body TEXT, created REAL,
    PRIMARY KEY (tenant_id, key));
CREATE TABLE IF NOT EXISTS raw_records (seq INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id TEXT, kind TEXT,
    record_id TEXT, updated_ms INTEGER, doc TEXT);
"""

TABLES = ["orgs", "contacts", "items", "accounts", "taxrates", "invoices", "payments", "auth_events", "codes",
          "connections", "refresh_tokens", "access_tokens", "idempotency", "meta", "raw_records"]


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

    def meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key=?", (key,))
        return row["value"] if row else None

    def set_meta(self, key: str, value: str):
        self.run("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # --- documents ------------------------------------------------------------------

    @staticmethod
    def doc(row) -> dict:
        return loads(row["doc"])

    def put_contact(self, tenant: str, doc: dict):
        self.run("INSERT OR REPLACE INTO contacts (contact_id, tenant_id, name_lower, email_lower, status, "
                 "is_customer, is_supplier, updated_ms, doc) VALUES (?,?,?,?,?,?,?,?,?)",
                 (doc["ContactID"], tenant, (doc.get("Name") or "").strip().lower(),
                  (doc.get("EmailAddress") or "").strip().lower(), doc.get("ContactStatus", "ACTIVE"),
                  int(bool(doc.get("IsCustomer"))), int(bool(doc.get("IsSupplier"))), doc["UpdatedDateUTC"],
                  dumps(doc)))

    def put_contacts_bulk(self, tenant: str, docs: list[dict]):
        with self.tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO contacts (contact_id, tenant_id, name_lower, email_lower, status, "
                "is_customer, is_supplier, updated_ms, doc) VALUES (?,?,?,?,?,?,?,?,?)",
                [(d["ContactID"], tenant, d["Name"].strip().lower(), (d.get("EmailAddress") or "").lower(),
                  d.get("ContactStatus", "ACTIVE"), int(d["IsCustomer"]), int(d["IsSupplier"]),
                  d["UpdatedDateUTC"], dumps(d)) for d in docs])

    def get_contact(self, tenant: str, contact_id: str) -> dict | None:
        row = self.one("SELECT doc FROM contacts WHERE tenant_id=? AND contact_id=?", (tenant, str(contact_id).lower()))
        return self.doc(row) if row else None

    def put_invoice(self, tenant: str, doc: dict, seq: int | None = None):
        self.run("INSERT OR REPLACE INTO invoices (invoice_id, tenant_id, type, number, status, contact_id, "
                 "reference, updated_ms, seq, doc) VALUES (?,?,?,?,?,?,?,?,?,?)",
                 (doc["InvoiceID"], tenant, doc["Type"], doc.get("InvoiceNumber") or "", doc["Status"],
                  doc["Contact"]["ContactID"], doc.get("Reference") or "", doc["UpdatedDateUTC"], seq, dumps(doc)))

    def get_invoice(self, tenant: str, invoice_id: str) -> dict | None:
        row = self.one("SELECT doc FROM invoices WHERE tenant_id=? AND invoice_id=?", (tenant, str(invoice_id).lower()))
        return self.doc(row) if row else None

    def put_payment(self, tenant: str, doc: dict):
        self.run("INSERT OR REPLACE INTO payments (payment_id, tenant_id, invoice_id, updated_ms, doc) "
                 "VALUES (?,?,?,?,?)", (doc["PaymentID"], tenant, doc["Invoice"]["InvoiceID"],
                                        doc["UpdatedDateUTC"], dumps(doc)))

    def put_raw(self, tenant: str, kind: str, record_id: str | None, value) -> None:
        """A record kept exactly as a test gave it (books.Raw): listed as it is, whatever its shape."""
        self.run("INSERT INTO raw_records (tenant_id, kind, record_id, updated_ms, doc) VALUES (?,?,?,?,?)",
                 (tenant, kind, record_id, self.clock.now_ms(), dumps(value)))

    def raw_records(self, tenant: str, kind: str) -> list[tuple[str | None, int, object]]:
        """(record id, when it was stored in ms, the value) of the raw records of a kind, as stored."""
        return [(r["record_id"], r["updated_ms"], loads(r["doc"])) for r in self.query(
            "SELECT record_id, updated_ms, doc FROM raw_records WHERE tenant_id=? AND kind=? ORDER BY seq",
            (tenant, kind))]

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
            self.set_meta("clock_offset", str(self.clock.offset))
