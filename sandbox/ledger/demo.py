"""The demo story's books planted into an empty store (seed.py holds the data): both
organisations with their contacts, chart of accounts, tax codes and items, and
Harbour's invoices and bills from before it took up Factory, made through the books' own
rules (so their totals compute)."""
from __future__ import annotations

from decimal import Decimal

from ..core.util import day_from_ms, dumps
from . import catalogue, contacts, documents, payments, seed


def plant(store, db) -> None:
    now_ms = store.clock.now_ms()
    base = now_ms - 90 * 86400_000
    for position, org in enumerate(seed.ORGANISATIONS):
        tenant = org["tenant_id"]
        db.execute("INSERT INTO orgs (tenant_id, name, position, doc) VALUES (?,?,?,?)",
                   (tenant, org["name"], position, dumps(seed.organisation_record(org, base - 400 * 86400_000))))
        rows = seed.HARBOUR_CONTACTS if tenant == seed.HARBOUR_ID else seed.SECOND_CONTACTS
        store.put_contacts_bulk(tenant, [seed.contact_record(tenant, row, base + i * 3600_000)
                                         for i, row in enumerate(rows)])
        for row in seed.ACCOUNTS:
            catalogue.put_account(db, tenant, seed.account_record(tenant, row, base))
        for row in seed.TAX_RATES:
            catalogue.put_tax_code(db, tenant, seed.tax_code_record(tenant, row))
        for row in seed.HARBOUR_ITEMS if tenant == seed.HARBOUR_ID else seed.SECOND_ITEMS:
            catalogue.put_item(db, tenant, seed.item_record(tenant, row, base))
    plant_documents(store, seed.HARBOUR_ID, seed.harbour_invoices())
    store.set_meta(f"invno:{seed.HARBOUR_ID}", str(seed.HARBOUR_NEXT_INVOICE_NUMBER))


def plant_documents(store, tenant: str, specs: list[dict]) -> None:
    """Documents (and their payments) as seed.harbour_invoices gives them, without webhooks."""
    today = store.clock.now_ms() // 86400_000 * 86400_000
    hook, store.on_event = getattr(store, "on_event", None), None
    try:
        for spec in specs:
            contact = contacts.by_name(store, tenant, spec["contact"])
            changes = {k: v for k, v in spec.items() if k not in ("date_days", "due_days", "payment", "contact")}
            changes.update(contact_id=contact["id"], date=day_from_ms(today + spec["date_days"] * 86400_000),
                           due_date=day_from_ms(today + spec["due_days"] * 86400_000))
            record, problems = documents.save(store, tenant, changes)
            assert not problems, problems
            if spec.get("payment"):
                amount = record["due"] if spec["payment"] == "full" else Decimal(spec["payment"])
                _, problems = payments.apply(store, tenant, record["id"], "090", amount,
                                             day_from_ms(today - 3 * 86400_000), "EFT")
                assert not problems, problems
    finally:
        store.on_event = hook
