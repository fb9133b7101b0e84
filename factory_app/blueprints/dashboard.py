"""The dashboard: counts (each an index-served COUNT), what needs attention (orders to
invoice, documents waiting or refused in the accounting package) and the latest orders."""
from flask import Blueprint, g, render_template
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from .. import counts
from ..accounting import package_states
from ..extensions import db
from ..models import Customer, Product, PurchaseOrder, SalesOrder, Supplier
from ..web import org_id, org_select

bp = Blueprint("dashboard", __name__)


@bp.route("/")
def index():
    def count(model, *where):
        return (select(func.count()).select_from(model).where(model.organisation_id == org_id(), *where)
                .scalar_subquery())

    # one statement for the six counts (one round trip, one plan), each served by an index,
    # remembered until the organisation's rows change
    figures = counts.remembered(org_id(), select(
        count(Customer, Customer.archived.is_(False)).label("customers"),
        count(Supplier, Supplier.archived.is_(False)).label("suppliers"),
        count(Product, Product.archived.is_(False)).label("products"),
        count(SalesOrder, SalesOrder.status.in_(("draft", "confirmed"))).label("open_orders"),
        count(SalesOrder, SalesOrder.status == "confirmed").label("to_invoice"),
        count(PurchaseOrder, PurchaseOrder.status.in_(("draft", "sent"))).label("open_purchases"),
    ))
    attention = g.attention = package_states.attention(org_id())  # the banner's counts too (one query)
    # the latest documents, with their party's name (all a row shows of it)
    recent_orders = db.session.scalars(
        org_select(SalesOrder).options(joinedload(SalesOrder.customer).load_only(Customer.name))
        .order_by(SalesOrder.id.desc()).limit(8)).all()
    recent_purchases = db.session.scalars(
        org_select(PurchaseOrder).options(joinedload(PurchaseOrder.supplier).load_only(Supplier.name))
        .order_by(PurchaseOrder.id.desc()).limit(5)).all()
    return render_template("dashboard/index.html", counts=figures, recent_orders=recent_orders,
                           recent_purchases=recent_purchases, attention=attention)
