"""The dashboard: counts (each an index-served COUNT), what needs attention (orders to
invoice, documents waiting or refused in the accounting package) and the latest orders."""
from flask import Blueprint, render_template
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..accounting import push as push_service
from ..extensions import db
from ..models import Customer, Product, PurchaseOrder, SalesOrder, Supplier
from ..web import org_id, org_select

bp = Blueprint("dashboard", __name__)


@bp.route("/")
def index():
    def count(model, *where):
        query = select(func.count()).select_from(model).where(model.organisation_id == org_id(), *where)
        return db.session.scalar(query)

    counts = {
        "customers": count(Customer, Customer.archived.is_(False)),
        "suppliers": count(Supplier, Supplier.archived.is_(False)),
        "products": count(Product, Product.archived.is_(False)),
        "open_orders": count(SalesOrder, SalesOrder.status.in_(("draft", "confirmed"))),
        "to_invoice": count(SalesOrder, SalesOrder.status == "confirmed"),
        "open_purchases": count(PurchaseOrder, PurchaseOrder.status.in_(("draft", "sent"))),
    }
    attention = push_service.attention(org_id())
    recent_orders = db.session.scalars(org_select(SalesOrder).options(joinedload(SalesOrder.customer))
                                       .order_by(SalesOrder.id.desc()).limit(8)).all()
    recent_purchases = db.session.scalars(org_select(PurchaseOrder).options(joinedload(PurchaseOrder.supplier))
                                          .order_by(PurchaseOrder.id.desc()).limit(5)).all()
    return render_template("dashboard/index.html", counts=counts, recent_orders=recent_orders,
                           recent_purchases=recent_purchases, attention=attention)
