"""Sales orders, invoices and purchase orders: numbering, lines, totals, status changes.

Lines are only changed through add_line / update_line / remove_line, and each of them
asks `pricing_lock_reason()` first, so a rule that freezes products and prices (a
payment applied in the accounting package, say) is enforced here, whatever the client
sends, and shown by the templates through the same function.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..models import (
    Customer, Invoice, InvoiceLine, Organisation, Product, PurchaseOrder, PurchaseOrderLine,
    SalesOrder, SalesOrderLine, Supplier,
)
from ..money import line_amounts
from . import ServiceError

LINE_FIELDS = ("product_id", "description", "quantity", "unit_price", "discount_percent", "tax_rate")
LINE_CLASSES = {SalesOrder: SalesOrderLine, PurchaseOrder: PurchaseOrderLine}


# --- numbers --------------------------------------------------------------------------

def _take_number(organisation_id: int, counter: str, prefix: str) -> str:
    """The next number of a series. The counter is moved on in the database first
    (UPDATE … SET n = n + 1): that holds the organisation's row lock on PostgreSQL, and
    the write lock on SQLite, until the transaction ends, so two requests never take the
    same number, and a transaction that rolls back gives its number back (the series
    stays gapless). The value is then read afresh from the row, never from an
    Organisation the session loaded earlier (which may be stale)."""
    column = getattr(Organisation, counter)
    db.session.execute(update(Organisation).where(Organisation.id == organisation_id)
                       .values({column: column + 1}).execution_options(synchronize_session=False))
    value = db.session.scalar(select(column).where(Organisation.id == organisation_id)) - 1
    loaded = db.session.identity_map.get(db.session.identity_key(Organisation, organisation_id))
    if loaded is not None:
        db.session.expire(loaded, [counter])
    return f"{prefix}-{value:04d}"


def _move_status(doc, sources: set[str], target: str) -> bool:
    """Change the status only if it is still one of `sources` in the database (an
    UPDATE … WHERE status IN …, which waits for a concurrent change of the same
    document): of two identical requests at once, one moves it and the other is told."""
    model = type(doc)
    moved = db.session.execute(update(model).where(model.id == doc.id, model.status.in_(sources))
                               .values(status=target).execution_options(synchronize_session=False)).rowcount
    if moved:
        set_committed_value(doc, "status", target)
    return bool(moved)


# --- locks ----------------------------------------------------------------------------

def pricing_lock_reason(doc) -> str | None:
    """Why the products and prices of this document can't change now, or None."""
    if isinstance(doc, SalesOrder) and doc.invoice is not None:
        from ..accounting.payments import lock_reason_for
        reason = lock_reason_for(doc.invoice)
        if reason:
            return reason
    if doc.status == "cancelled":
        return f"This {'order' if isinstance(doc, SalesOrder) else 'purchase order'} is cancelled."
    if isinstance(doc, PurchaseOrder) and doc.status == "received":
        return "This purchase order has been received."
    return None


def _require_unlocked(doc) -> None:
    reason = pricing_lock_reason(doc)
    if reason:
        raise ServiceError(f"Products and prices can't be changed: {reason}")


# --- totals ---------------------------------------------------------------------------

def _apply_amounts(line) -> None:
    amounts = line_amounts(line.quantity, line.unit_price, line.discount_percent, line.tax_rate)
    line.line_subtotal, line.line_tax, line.line_total = amounts.subtotal, amounts.tax, amounts.total


def recalculate(doc) -> None:
    """Recompute every line and the document totals, and bump the version."""
    for line in doc.lines:
        _apply_amounts(line)
    doc.subtotal = sum((l.line_subtotal for l in doc.lines), Decimal("0"))
    doc.tax_total = sum((l.line_tax for l in doc.lines), Decimal("0"))
    doc.total = doc.subtotal + doc.tax_total
    doc.version = (doc.version or 0) + 1
    if isinstance(doc, SalesOrder) and doc.invoice is not None:
        _copy_lines_to_invoice(doc, doc.invoice)
    db.session.flush()
    _push_changes(doc)


def _push_changes(doc) -> None:
    """A document already on its way to (or in) the accounting package follows the edit."""
    from ..accounting.push import request_push
    if isinstance(doc, SalesOrder) and doc.invoice is not None:
        request_push("invoice", doc.invoice, only_if_sent=True)
    elif isinstance(doc, PurchaseOrder) and doc.status != "draft":
        request_push("purchase", doc, only_if_sent=True)


# --- sales orders ---------------------------------------------------------------------

def _check_party(model, organisation_id: int, party_id: int | None):
    party = db.session.get(model, party_id) if party_id else None
    if party is None or party.organisation_id != organisation_id:
        label = "customer" if model is Customer else "supplier"
        raise ServiceError(f"Choose a {label}.", f"{label}_id")
    return party


def create_order(organisation_id: int, data: dict) -> SalesOrder:
    customer = _check_party(Customer, organisation_id, data.get("customer_id"))
    order = SalesOrder(
        organisation_id=organisation_id,
        number=_take_number(organisation_id, "next_order_number", "SO"),
        customer=customer, order_date=data.get("order_date") or date.today(),
    )
    db.session.add(order)
    update_document_header(order, data)
    return order


def create_purchase(organisation_id: int, data: dict) -> PurchaseOrder:
    supplier = _check_party(Supplier, organisation_id, data.get("supplier_id"))
    purchase = PurchaseOrder(
        organisation_id=organisation_id,
        number=_take_number(organisation_id, "next_purchase_number", "PO"),
        supplier=supplier, order_date=data.get("order_date") or date.today(),
    )
    db.session.add(purchase)
    update_document_header(purchase, data)
    return purchase


HEADER_FIELDS = {
    SalesOrder: ("order_date", "delivery_date", "reference", "notes", "delivery_notes"),
    PurchaseOrder: ("order_date", "expected_date", "reference", "notes", "delivery_notes"),
}


def update_document_header(doc, data: dict) -> None:
    """Dates, reference, notes; the customer/supplier counts as pricing (it is invoiced)."""
    party_field = "customer_id" if isinstance(doc, SalesOrder) else "supplier_id"
    new_party = data.get(party_field)
    if new_party and new_party != getattr(doc, party_field):
        _require_unlocked(doc)
        model = Customer if isinstance(doc, SalesOrder) else Supplier
        party = _check_party(model, doc.organisation_id, new_party)
        setattr(doc, "customer" if model is Customer else "supplier", party)
        if isinstance(doc, SalesOrder) and doc.invoice is not None:
            doc.invoice.customer = party
            doc.invoice.version += 1
        db.session.flush()
        _push_changes(doc)
    reference = doc.reference
    for field in HEADER_FIELDS[type(doc)]:
        if field in data:
            value = data[field]
            if isinstance(value, str):
                value = value.strip() or None
            if field == "order_date" and value is None:
                continue
            setattr(doc, field, value)
    if doc.reference != reference and getattr(doc, "invoice", None) is not None:
        # the customer's reference is on the invoice too (and in the package): it follows
        doc.invoice.reference = doc.reference
        doc.invoice.version += 1
        db.session.flush()
        _push_changes(doc)
    elif doc.reference != reference and isinstance(doc, PurchaseOrder) and doc.status != "draft":
        doc.version += 1
        db.session.flush()
        _push_changes(doc)
    db.session.flush()


def _check_product(doc, product_id: int | None) -> Product | None:
    if not product_id:
        return None
    product = db.session.get(Product, product_id)
    if product is None or product.organisation_id != doc.organisation_id:
        raise ServiceError("Choose one of your products.", "product_id")
    return product


def default_tax_rate(doc, product: Product | None) -> Decimal:
    if product is not None and not product.taxable:
        return Decimal("0")
    org = db.session.get(Organisation, doc.organisation_id)
    return org.default_tax_rate


def add_line(doc, product_id: int | None = None):
    _require_unlocked(doc)
    product = _check_product(doc, product_id)
    line = LINE_CLASSES[type(doc)](
        position=max((l.position for l in doc.lines), default=0) + 1,
        description="", quantity=Decimal("1"), unit_price=Decimal("0"),
        discount_percent=Decimal("0"), tax_rate=default_tax_rate(doc, product),
    )
    if product is not None:
        _fill_from_product(doc, line, product)
    doc.lines.append(line)
    recalculate(doc)
    return line


def _fill_from_product(doc, line, product: Product) -> None:
    line.product = product
    line.description = product.name if not product.description else f"{product.name} — {product.description}"[:500]
    line.unit_price = product.sale_price if isinstance(doc, SalesOrder) else product.purchase_cost
    line.tax_rate = default_tax_rate(doc, product)


def update_line(doc, line, data: dict, product_changed: bool = False) -> None:
    """Apply validated values to a line. When only the product changed, its defaults
    (description, price, tax) are taken from the product."""
    _require_unlocked(doc)
    product = _check_product(doc, data.get("product_id"))
    if product_changed and product is not None:
        _fill_from_product(doc, line, product)
    else:
        line.product = product
        for field in ("description", "quantity", "unit_price", "discount_percent", "tax_rate"):
            if field in data and data[field] is not None:
                setattr(line, field, data[field].strip() if isinstance(data[field], str) else data[field])
    recalculate(doc)


def remove_line(doc, line) -> None:
    _require_unlocked(doc)
    doc.lines.remove(line)
    recalculate(doc)


def set_order_status(order: SalesOrder, action: str) -> None:
    allowed = {
        "confirm": ({"draft"}, "confirmed"),
        "cancel": ({"draft", "confirmed"}, "cancelled"),
        "reopen": ({"cancelled"}, "draft"),
    }
    if action not in allowed:
        raise ServiceError("Unknown action.")
    sources, target = allowed[action]
    if order.status not in sources:
        raise ServiceError(f"A {order.status} order can't be {target}.")
    if action == "confirm" and not order.lines:
        raise ServiceError("Add at least one line before confirming the order.")
    if not _move_status(order, sources, target):
        raise ServiceError("This order was changed meanwhile; this is how it stands now.")
    db.session.flush()


def set_purchase_status(purchase: PurchaseOrder, action: str) -> None:
    allowed = {
        "send": ({"draft"}, "sent"),
        "receive": ({"sent"}, "received"),
        "cancel": ({"draft", "sent"}, "cancelled"),
        "reopen": ({"cancelled"}, "draft"),
    }
    if action not in allowed:
        raise ServiceError("Unknown action.")
    sources, target = allowed[action]
    if purchase.status not in sources:
        raise ServiceError(f"A {purchase.status} purchase order can't be marked {target}.")
    if action == "send" and not purchase.lines:
        raise ServiceError("Add at least one line before sending the purchase order.")
    if not _move_status(purchase, sources, target):
        raise ServiceError("This purchase order was changed meanwhile; this is how it stands now.")
    db.session.flush()
    if target == "sent":
        from ..accounting.push import request_push
        request_push("purchase", purchase)


# --- invoices -------------------------------------------------------------------------

def _copy_lines_to_invoice(order: SalesOrder, invoice: Invoice) -> None:
    invoice.lines[:] = [
        InvoiceLine(position=l.position, product_id=l.product_id,
                    **{f: getattr(l, f) for f in LINE_FIELDS if f != "product_id"},
                    line_subtotal=l.line_subtotal, line_tax=l.line_tax, line_total=l.line_total)
        for l in order.lines
    ]
    invoice.subtotal, invoice.tax_total, invoice.total = order.subtotal, order.tax_total, order.total
    invoice.version = (invoice.version or 0) + 1


class AlreadyInvoiced(ServiceError):
    """The order has its invoice (perhaps made a moment ago by an identical request)."""


def create_invoice(order: SalesOrder, issue_date: date | None = None) -> Invoice:
    if order.invoice is not None:
        raise AlreadyInvoiced(f"This order already has invoice {order.invoice.number}.")
    if order.status != "confirmed":
        raise ServiceError("Confirm the order before creating its invoice.")
    if not order.lines:
        raise ServiceError("An invoice needs at least one line.")
    if not _move_status(order, {"confirmed"}, "invoiced"):
        # a double click: the other request is invoicing it (or has); the caller rolls back and looks
        raise AlreadyInvoiced("This order was invoiced a moment ago.")
    org = db.session.get(Organisation, order.organisation_id)
    issue = issue_date or date.today()
    invoice = Invoice(
        organisation_id=order.organisation_id,
        number=_take_number(order.organisation_id, "next_invoice_number", "INV"),
        order=order, customer=order.customer, issue_date=issue,
        due_date=issue + timedelta(days=org.payment_terms_days),
        currency=org.base_currency, reference=order.reference, status="issued",
        version=0,
    )
    db.session.add(invoice)
    _copy_lines_to_invoice(order, invoice)
    db.session.flush()
    from ..accounting.push import request_push
    request_push("invoice", invoice)
    return invoice
