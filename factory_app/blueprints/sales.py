"""Sales orders and their invoices."""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request, url_for
from sqlalchemy import select
from wtforms import DateField
from wtforms.validators import Optional

from ..accounting import push as push_service
from ..accounting import package_states
from .. import listing
from ..extensions import db, htmx
from ..forms import IdField, RequiredChoice, parse_id
from ..models import ORDER_STATUSES, Customer, Invoice, SalesOrder
from ..services import ServiceError
from ..services import documents as doc_service
from ..web import get_or_404, org_id, org_select, owned_or_none, redirect_to
from .documents import DocKind, HeaderFormBase, register_document_routes

bp = Blueprint("sales", __name__, url_prefix="/orders")

KIND = DocKind(
    model=SalesOrder, party_model=Customer, party_field="customer_id", party_plural="customers",
    endpoint="sales", title="Order", plural_title="Sales orders", price_label="Unit price",
    show_discount=True, date_field="delivery_date", date_label="Delivery date",
    statuses=ORDER_STATUSES, create=doc_service.create_order, set_status=doc_service.set_order_status,
)


class OrderForm(HeaderFormBase):
    party_model, party_field = Customer, "customer_id"
    customer_id = IdField("Customer", [RequiredChoice("Choose a customer.")])
    delivery_date = DateField("Delivery date", [Optional()])


register_document_routes(bp, KIND, OrderForm)


@bp.route("/<int:doc_id>/invoice", methods=["POST"])
def create_invoice(doc_id):
    order = get_or_404(SalesOrder, doc_id)
    try:
        invoice = doc_service.create_invoice(order)
    except doc_service.AlreadyInvoiced:
        db.session.rollback()
        order = get_or_404(SalesOrder, doc_id)
        if order.invoice is not None:  # a double click: show the invoice the first one made
            flash(f"Invoice {order.invoice.number} was created already.", "info")
            return redirect_to(url_for("sales.invoice", invoice_id=order.invoice.id))
        flash("This order was changed meanwhile; this is how it stands now.", "error")
        return redirect_to(url_for("sales.edit", doc_id=order.id))
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect_to(url_for("sales.edit", doc_id=order.id))
    db.session.commit()
    flash(f"Invoice {invoice.number} was created.", "success")
    return redirect_to(url_for("sales.invoice", invoice_id=invoice.id))


@bp.route("/invoices")
def invoices():
    """Invoices: search (number, reference, customer), filters (customer, issue dates,
    state in the accounting package), sort (date, number, due, total), a page at a time."""
    args = {"q": listing.arg("q"), "from": listing.arg("from", 10), "to": listing.arg("to", 10),
            "package": listing.arg("package", 20), "customer_id": listing.arg("customer_id", 20)}
    query = org_select(Invoice)
    if args["q"]:
        query = query.where(listing.document_matching(args["q"], Invoice, Customer, Invoice.customer_id, org_id()))
    customer = owned_or_none(Customer, parse_id(args["customer_id"]))
    if customer is not None:
        query = query.where(Invoice.customer_id == customer.id)
    query = listing.within_dates(query, Invoice.issue_date)
    query = package_states.where_package_status(query, "invoice", org_id(), args["package"])
    page = listing.paginate("sales.invoices", query, {
        "date": listing.by(Invoice.issue_date, Invoice.id), "number": listing.by(Invoice.id),
        "due": listing.by(Invoice.due_date, Invoice.id), "total": listing.by(Invoice.total, Invoice.id)},
        "-number", args,  # a row shows its customer's name and its order's number, nothing else of them
        options=(listing.beside(Invoice.party_name, select(Customer.name).where(Customer.id == Invoice.customer_id)),
                 listing.beside(Invoice.order_number, select(SalesOrder.number).where(SalesOrder.id == Invoice.order_id))))
    template = "sales/_invoice_rows.html" if htmx and htmx.target == "invoice-rows" else "sales/invoices.html"
    return render_template(template, listing=page, invoices=page.rows, package=args["package"], args=args,
                           customer=customer,
                           package_statuses=package_states.package_statuses(org_id(), "invoice", [i.id for i in page.rows]))


@bp.route("/invoices/<int:invoice_id>")
def invoice(invoice_id):
    invoice = get_or_404(Invoice, invoice_id)
    return render_template("sales/invoice.html", invoice=invoice, **package_states.push_view("invoice", invoice))


@bp.route("/invoices/<int:invoice_id>/push", methods=["GET", "POST"])
def invoice_push(invoice_id):
    """The invoice's state in the package (polls itself while queued); POST sends it now."""
    invoice = get_or_404(Invoice, invoice_id)
    if request.method == "POST":
        if push_service.request_push("invoice", invoice, force=True) is None:
            flash("Connect an accounting package first (Settings > Integrations).", "error")
        db.session.commit()
    return render_template("documents/_push.html", doc_type="invoice", doc=invoice,
                           **package_states.push_view("invoice", invoice))
