"""Which accounts and tax rates of the package Factory's documents use: chosen by an
administrator for sales and purchases apart, proposed from the package's own defaults
after connecting, and required before sending is switched on.

Tax rates of the synced list say which side they apply to (RemoteRecord.is_customer:
sales, is_supplier: purchases, for kind "tax_rate"), so a bill never takes a sales rate.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from ..extensions import db
from ..models import AccountingConnection, Organisation, RemoteRecord
from . import provider as get_provider
from .base import Rejected, RemoteAccount, RemoteTaxRate


@dataclass(frozen=True)
class Field:
    name: str
    side: str   # "sales" | "purchases"
    kind: str   # "account" | "tax_rate"
    label: str


FIELDS = (
    Field("sales_account_code", "sales", "account", "Sales account"),
    Field("sales_tax_taxable", "sales", "tax_rate", "Tax rate for taxable sales"),
    Field("sales_tax_free", "sales", "tax_rate", "Tax rate for tax-free sales"),
    Field("purchase_account_code", "purchases", "account", "Purchases account"),
    Field("purchase_tax_taxable", "purchases", "tax_rate", "Tax rate for taxable purchases"),
    Field("purchase_tax_free", "purchases", "tax_rate", "Tax rate for tax-free purchases"),
)
SIDES = {"invoice": "sales", "purchase": "purchases"}


def records(connection: AccountingConnection, kind: str, side: str | None = None) -> list[RemoteRecord]:
    """The synced accounts or tax rates (not archived); tax rates of one side when given."""
    query = select(RemoteRecord).where(
        RemoteRecord.organisation_id == connection.organisation_id, RemoteRecord.provider == connection.provider,
        RemoteRecord.remote_org_id == connection.remote_org_id, RemoteRecord.kind == kind,
        RemoteRecord.archived.is_(False))
    if kind == "tax_rate" and side is not None:
        query = query.where(RemoteRecord.is_customer.is_(True) if side == "sales" else RemoteRecord.is_supplier.is_(True))
    return list(db.session.scalars(query.order_by(RemoteRecord.code)))


def options(connection: AccountingConnection) -> dict[str, list[RemoteRecord]]:
    """What each field may be set to."""
    accounts = records(connection, "account")
    rates = {side: records(connection, "tax_rate", side) for side in ("sales", "purchases")}
    return {f.name: accounts if f.kind == "account" else rates[f.side] for f in FIELDS}


def proposed(connection: AccountingConnection) -> dict[str, str]:
    try:
        value = json.loads(connection.mapping_proposed or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def missing(connection: AccountingConnection, side: str) -> list[str]:
    """The labels of this side's fields that are not set."""
    return [f.label for f in FIELDS if f.side == side and not getattr(connection, f.name)]


def save(connection: AccountingConnection, values: dict[str, str | None]) -> None:
    """An administrator's mapping. Every value must be one of the field's options; a
    field that sending needs can't be emptied while that sending is on."""
    allowed = options(connection)
    for f in FIELDS:
        value = values.get(f.name) or None
        if value is not None and value not in {o.code for o in allowed[f.name]}:
            raise Rejected(f"Choose the {f.label.lower()} from the list (press Update accounting data if it is empty).")
    for f in FIELDS:
        setattr(connection, f.name, values.get(f.name) or None)
    for side, on in (("sales", connection.send_invoices), ("purchases", connection.send_purchases)):
        gaps = missing(connection, side)
        if on and gaps:
            raise Rejected(f"Sending {'invoices' if side == 'sales' else 'purchases'} is on, so it needs: "
                           + ", ".join(g.lower() for g in gaps) + ".")
    db.session.flush()


def set_sending(connection: AccountingConnection, send_invoices: bool, send_purchases: bool) -> None:
    """Switch sending on or off; on only with its side's mapping saved (which is missing
    is said, so an administrator knows what to choose before anything fails on staff)."""
    for side, wanted, what in (("sales", send_invoices, "invoices"), ("purchases", send_purchases, "purchases")):
        gaps = missing(connection, side)
        if wanted and gaps:
            raise Rejected(f"Before {what} can be sent, save the account and tax mapping: "
                           + ", ".join(g.lower() for g in gaps) + " missing.")
    connection.send_invoices, connection.send_purchases = send_invoices, send_purchases
    db.session.flush()


def propose(connection: AccountingConnection) -> dict[str, str]:
    """After an update: the package's defaults for the fields not saved yet (the adapter
    knows them: its standard accounts and tax types), kept for an administrator to confirm.
    What can't be told is left out."""
    accounts = [RemoteAccount(remote_id=r.remote_id, code=r.code, name=r.name, kind=r.data or "")
                for r in records(connection, "account")]
    rates = [RemoteTaxRate(code=r.code or r.remote_id, name=r.name, rate=_rate(r), applies_to_sales=r.is_customer,
                           applies_to_purchases=r.is_supplier, remote_id=r.remote_id)
             for r in records(connection, "tax_rate")]
    org = db.session.get(Organisation, connection.organisation_id)
    suggestion = get_provider(connection.provider).propose_mapping(accounts, rates, org.default_tax_rate)
    wanted = {f.name for f in FIELDS if not getattr(connection, f.name)}
    proposal = {name: code for name, code in suggestion.items() if name in wanted and code}
    connection.mapping_proposed = json.dumps(proposal) if proposal else None
    return proposal


def _rate(record: RemoteRecord) -> Decimal:
    try:
        return Decimal(record.data or "0")
    except ArithmeticError:
        return Decimal("0")


def rates_by_code(connection: AccountingConnection, tax_rates: list[RemoteRecord] | None = None
                  ) -> dict[str, tuple[Decimal, bool, bool]]:
    """code -> (rate, applies to sales, applies to purchases), for building documents (of
    `tax_rates` when the caller has read them already)."""
    return {r.code or r.remote_id: (_rate(r), r.is_customer, r.is_supplier)
            for r in (records(connection, "tax_rate") if tax_rates is None else tax_rates)}
