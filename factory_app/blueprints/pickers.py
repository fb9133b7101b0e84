"""The pickers' search: customers, suppliers and products, 20 matches at a time, for
the combobox that the order and purchase forms, the line editor and the link controls
use (templates/_combobox.html). A page carries only the current choice, never a list of
thousands."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from .. import listing
from ..extensions import db
from ..models import Customer, Product, Supplier
from ..web import org_select

bp = Blueprint("pickers", __name__, url_prefix="/pick")
MATCHES = 20
KINDS = {"customers": Customer, "suppliers": Supplier, "products": Product}


@bp.route("/<any(customers, suppliers, products):kind>")
def search(kind):
    """The first matches of what was typed (the name first; then email, phone, code):
    the listbox's options, each with a detail that tells namesakes apart."""
    model = KINDS[kind]
    text = (request.args.get("q") or "").strip()[:100]
    listbox = request.args.get("list", "")
    if not listbox.replace("-", "").replace("_", "").isalnum() or len(listbox) > 80:
        abort(400)
    query = org_select(model).where(model.archived.is_(False))
    if text:
        if model is Product:
            query = query.where(listing.matching(text, Product.sku, Product.name))
            query = query.order_by(listing.starting(text, Product.sku).desc(), Product.sku)
        else:
            query = query.where(listing.matching(text, model.name, model.email, model.phone))
            query = query.order_by(listing.starting(text, model.name).desc(), model.name, model.id)
    else:
        query = query.order_by(Product.sku if model is Product else model.name, model.id)
    rows = db.session.scalars(query.limit(MATCHES + 1)).all()
    return render_template("_combobox_options.html", rows=rows[:MATCHES], more=len(rows) > MATCHES,
                           kind=kind, listbox=listbox, q=text)
