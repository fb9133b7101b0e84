"""The demo story's books planted into an empty store (seed.py holds the data): both
organisations with their contacts, chart of accounts, tax rates and items, and
Harbour's invoices from before it took up Factory, made through the books' own rules."""
from __future__ import annotations

from ..core.util import dumps
from . import books, seed


def plant(store, db) -> None:
    now_ms = store.clock.now_ms()
    base = now_ms - 90 * 86400_000
    for position, org in enumerate(seed.ORGANISATIONS):
        db.execute("INSERT INTO orgs (tenant_id, name, position, doc) VALUES (?,?,?,?)",
                   (org["tenant_id"], org["name"], position,
                    dumps(seed.organisation_doc(org, base - 400 * 86400_000))))
        tenant = org["tenant_id"]
        rows = seed.HARBOUR_CONTACTS if tenant == seed.HARBOUR_ID else seed.SECOND_CONTACTS
        for i, row in enumerate(rows):
            store.put_contact(tenant, seed.contact_doc(tenant, row, base + i * 3600_000))
        for row in seed.ACCOUNTS:
            doc = seed.account_doc(tenant, row, base)
            db.execute("INSERT INTO accounts (account_id, tenant_id, code, updated_ms, doc) VALUES (?,?,?,?,?)",
                       (doc["AccountID"], tenant, doc["Code"], base, dumps(doc)))
        for row in seed.TAX_RATES:
            doc = seed.tax_rate_doc(row)
            db.execute("INSERT INTO taxrates (tenant_id, tax_type, doc) VALUES (?,?,?)",
                       (tenant, doc["TaxType"], dumps(doc)))
        items = seed.HARBOUR_ITEMS if tenant == seed.HARBOUR_ID else seed.SECOND_ITEMS
        for row in items:
            doc = seed.item_doc(tenant, row, base)
            db.execute("INSERT INTO items (item_id, tenant_id, code, updated_ms, doc) VALUES (?,?,?,?,?)",
                       (doc["ItemID"], tenant, doc["Code"], base, dumps(doc)))
    books.seed_invoices(store, seed.HARBOUR_ID, seed.harbour_invoices())
    store.set_meta(f"invno:{seed.HARBOUR_ID}", str(seed.HARBOUR_NEXT_INVOICE_NUMBER))
