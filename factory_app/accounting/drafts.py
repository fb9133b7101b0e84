"""The document as the package should hold it (a DocumentDraft): the linked contact, linked
items where products are linked, the accounts and tax rates mapped for its side, and
Factory's own amounts.
"""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from ..extensions import db
from ..models import AccountingConnection, ExternalLink, Organisation, RemoteRecord
from . import connections as conn_service
from . import mapping as mapping_service
from .base import DocumentDraft, DocumentLine, Rejected, RetriableError


def build_draft(connection: AccountingConnection, doc_type: str, doc, new: bool = True) -> DocumentDraft:
    """The document as the package should hold it: linked contact, linked items where
    products are linked, the accounts and tax rates mapped for its side (sales or
    purchases; a linked item's own account and tax type for that side win), Factory's
    own amounts. `new`: not in the package yet; only then does the "approved" setting
    apply (a document already there keeps the status it has there). The order's own
    reference (the customer's PO number) is the package's Reference; Factory's number is
    the package's number unless the package numbers documents itself."""
    party = doc.customer if doc_type == "invoice" else doc.supplier
    link = db.session.scalar(conn_service.links_for(connection, party.kind).where(ExternalLink.local_id == party.id))
    if link is None and party.remote_state == "pending":
        # "Also create in the package" was ticked and the contact is on its way: wait for it
        raise RetriableError(f"Waiting for {party.name} to be created in the accounting package.", retry_after=3,
                             reached=False)
    if link is None:
        raise Rejected(f"Link this {party.kind} to the accounting package first: {party.name} is not linked.")
    side = mapping_service.SIDES[doc_type]
    gaps = mapping_service.missing(connection, side)
    if gaps:
        raise Rejected("The account and tax mapping is not complete (" + ", ".join(g.lower() for g in gaps)
                       + " missing): an administrator must save it under Settings > Integrations > Accounts and tax.")
    prefix = "sales" if side == "sales" else "purchase"
    account = getattr(connection, f"{prefix}_account_code")
    mapped = {True: getattr(connection, f"{prefix}_tax_taxable"), False: getattr(connection, f"{prefix}_tax_free")}
    tax_rates = mapping_service.records(connection, "tax_rate")
    rates = mapping_service.rates_by_code(connection, tax_rates)
    items = _linked_items(connection, [l.product_id for l in doc.lines if l.product_id])
    tax_ids = {r.code or r.remote_id: r.remote_id for r in tax_rates}
    account_ids = {r.code: r.remote_id for r in mapping_service.records(connection, "account") if r.code}
    lines = []
    for line in doc.lines:
        item = items.get(line.product_id) or {}
        own_tax = item.get(f"{prefix}_tax_type")
        if own_tax and own_tax in rates and rates[own_tax][0] == line.tax_rate and rates[own_tax][1 if side == "sales" else 2]:
            tax_code = own_tax  # the item's own tax type, when it gives the line's rate
        else:
            tax_code = _tax_code(rates, side, mapped[line.tax_rate > 0], line.tax_rate)
        account_code = item.get(f"{prefix}_account_code") or account
        lines.append(DocumentLine(
            description=line.description or (line.product.name if line.product else "Item"),
            quantity=line.quantity, unit_price=line.unit_price, discount_percent=line.discount_percent,
            tax_code=tax_code, account_code=account_code, item_code=item.get("code"), line_amount=line.line_subtotal,
            tax_id=tax_ids.get(tax_code), account_id=account_ids.get(account_code), item_id=item.get("remote_id")))
    if not lines:
        raise Rejected("The document has no lines.")
    approved = connection.approve_documents if new else None
    ours = connection.document_numbers != "package"
    if doc_type == "invoice":
        return DocumentDraft(kind="sales_invoice", contact_remote_id=link.remote_id, number=doc.number if ours and new else None,
                             reference=doc.reference, issue_date=doc.issue_date, due_date=doc.due_date,
                             currency=doc.currency, lines=tuple(lines), approved=approved)
    org = db.session.get(Organisation, doc.organisation_id)
    due = doc.expected_date or (doc.order_date + timedelta(days=org.payment_terms_days))
    return DocumentDraft(kind="bill", contact_remote_id=link.remote_id, number=doc.number if ours and new else None,
                         reference=doc.reference, issue_date=doc.order_date, due_date=due, currency=org.base_currency,
                         lines=tuple(lines), approved=approved)


def _linked_items(connection: AccountingConnection, product_ids: list[int]) -> dict[int, dict]:
    """product id -> what the synced list keeps of its linked item (its id and code, its
    own accounts and tax types), for the products given; one query."""
    if not product_ids:
        return {}
    items = {}
    for product_id, remote_id, code, data in db.session.execute(
            select(ExternalLink.local_id, RemoteRecord.remote_id, RemoteRecord.code, RemoteRecord.data)
            .join(RemoteRecord, RemoteRecord.remote_id == ExternalLink.remote_id)
            .where(ExternalLink.organisation_id == connection.organisation_id, ExternalLink.local_type == "product",
                   ExternalLink.remote_org_id == connection.remote_org_id, ExternalLink.local_id.in_(product_ids),
                   RemoteRecord.organisation_id == connection.organisation_id, RemoteRecord.kind == "item",
                   RemoteRecord.remote_org_id == connection.remote_org_id)):
        try:
            details = json.loads(data or "{}")
        except ValueError:
            details = {}
        items[product_id] = {**(details if isinstance(details, dict) else {}), "code": code, "remote_id": remote_id}
    return items


def _tax_code(rates: dict[str, tuple[Decimal, bool, bool]], side: str, mapped: str | None, rate: Decimal) -> str:
    """The mapped tax rate of this side when it is the line's rate; else the one rate of
    this side with the line's rate (refused when there is none, or several)."""
    usable = {code: r for code, (r, sales, purchases) in rates.items() if (sales if side == "sales" else purchases)}
    if mapped and usable.get(mapped) == rate:
        return mapped
    same = sorted(code for code, r in usable.items() if r == rate)
    if len(same) == 1:
        return same[0]
    kind = "sales" if side == "sales" else "purchase"
    if not same:
        raise Rejected(f"The accounting package has no {kind} tax rate of {rate.normalize()} %.")
    raise Rejected(f"Several {kind} tax rates of the package are {rate.normalize()} % ({', '.join(same)}): "
                   "an administrator must map the one to use under Settings > Integrations > Accounts and tax.")
