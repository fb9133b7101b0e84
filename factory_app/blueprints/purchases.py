"""Purchase orders to suppliers."""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request
from wtforms import DateField
from wtforms.validators import Optional

from ..accounting import push as push_service
from ..accounting import package_states
from ..extensions import db
from ..forms import IdField, RequiredChoice
from ..models import PURCHASE_STATUSES, PurchaseOrder, Supplier
from ..services import documents as doc_service
from ..web import get_or_404
from .documents import DocKind, HeaderFormBase, register_document_routes

bp = Blueprint("purchases", __name__, url_prefix="/purchases")

KIND = DocKind(
    model=PurchaseOrder, party_model=Supplier, party_field="supplier_id", party_plural="suppliers",
    endpoint="purchases", title="Purchase order", plural_title="Purchase orders",
    price_label="Unit cost", show_discount=False, date_field="expected_date",
    date_label="Expected date", statuses=PURCHASE_STATUSES,
    create=doc_service.create_purchase, set_status=doc_service.set_purchase_status, push_type="purchase",
)


class PurchaseForm(HeaderFormBase):
    party_model, party_field = Supplier, "supplier_id"
    supplier_id = IdField("Supplier", [RequiredChoice("Choose a supplier.")])
    expected_date = DateField("Expected date", [Optional()])


register_document_routes(bp, KIND, PurchaseForm)


@bp.route("/<int:doc_id>/push", methods=["GET", "POST"])
def purchase_push(doc_id):
    """The bill's state in the package (polls itself while queued); POST sends it now."""
    purchase = get_or_404(PurchaseOrder, doc_id)
    if request.method == "POST":
        if purchase.status == "draft":
            flash("Send the purchase order first; drafts stay in Factory.", "error")
        elif push_service.request_push("purchase", purchase, force=True) is None:
            flash("Connect an accounting package first (Settings > Integrations).", "error")
        db.session.commit()
    return render_template("documents/_push.html", doc_type="purchase", doc=purchase,
                           **package_states.push_view("purchase", purchase))
