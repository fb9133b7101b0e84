from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, flash, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from ..accounting import connections as conn_service
from ..accounting import links as link_service
from ..accounting.base import ProviderError
from .. import once
from .. import listing
from ..extensions import db, htmx
from ..forms import ExactDecimalField, TrimmedStringField
from ..models import Product, RemoteRecord
from ..services import ServiceError
from ..services import products as product_service
from ..web import get_or_404, org_id, org_select, redirect_to, render_invalid

bp = Blueprint("products", __name__, url_prefix="/products")
MAX_PRICE = Decimal("99999999")


class ProductForm(FlaskForm):
    sku = TrimmedStringField("Code / SKU", [
        DataRequired(), Length(max=50),
        Regexp(r"^[\w.\-/ ]+$", message="Use letters, digits, spaces and . - / _ only.")])
    name = TrimmedStringField("Name", [DataRequired(), Length(max=255)])
    description = TextAreaField("Description", [Optional(), Length(max=5000)])
    sale_price = ExactDecimalField("Sale price", [InputRequired("Enter a sale price (0 is fine).")],
                                   places=4, minimum=Decimal(0), maximum=MAX_PRICE)
    purchase_cost = ExactDecimalField("Purchase cost", [InputRequired("Enter a cost (0 is fine).")],
                                      places=4, minimum=Decimal(0), maximum=MAX_PRICE)
    unit = TrimmedStringField("Unit", [Optional(), Length(max=20)])
    taxable = BooleanField("Taxable", default=True)
    archived = BooleanField("Archived")


def _data(form: ProductForm) -> dict:
    return {f: getattr(form, f).data for f in product_service.FIELDS}


@bp.route("")
def index():
    """Products: search by code or name, archived or not, sorted by code, name or price."""
    args = {"q": listing.arg("q"), "archived": "1" if request.args.get("archived") == "1" else ""}
    query = org_select(Product)
    if not args["archived"]:
        query = query.where(Product.archived.is_(False))
    if args["q"]:
        query = query.where(listing.matching(args["q"], Product.sku, Product.name))
    page = listing.paginate("products.index", query, {
        "code": listing.by(Product.sku, Product.id), "name": listing.by(Product.name, Product.id),
        "price": listing.by(Product.sale_price, Product.id)}, "code", args, searched=len(args["q"]) >= listing.TRIGRAM)
    context = dict(listing=page, rows=page.rows, q=args["q"], show_archived=bool(args["archived"]))
    if htmx and htmx.target == "product-rows":
        return render_template("products/_rows.html", **context)
    return render_template("products/index.html", **context)


def _save(product: Product | None):
    form = ProductForm(obj=product)
    if product is None and request.method == "GET":
        form.sale_price.data = form.purchase_cost.data = None
    if form.validate_on_submit():
        target = product or Product(organisation_id=org_id())
        try:
            if product is None:
                once.claim()
            product_service.save_product(target, _data(form))
        except once.Duplicate as duplicate:
            return once.answer(duplicate, url_for("products.index"))
        except ServiceError as exc:
            db.session.rollback()
            getattr(form, exc.field).errors.append(exc.message)
        else:
            once.record(url_for("products.edit", product_id=target.id))
            db.session.commit()
            flash(f"{target.name} was saved.", "success")
            return redirect_to(url_for("products.index"))
    context = item_link_context(product)
    if request.method == "POST":
        return render_invalid("products/form.html", form=form, product=product, **context)
    return render_template("products/form.html", form=form, product=product, **context)


@bp.route("/new", methods=["GET", "POST"])
def new():
    return _save(None)


@bp.route("/<int:product_id>", methods=["GET", "POST"])
def edit(product_id):
    return _save(get_or_404(Product, product_id))


@bp.route("/<int:product_id>/remote", methods=["POST"])
def remote(product_id):
    """Link a product to an item of the accounting package (several products may share one)."""
    product = get_or_404(Product, product_id)
    connection = conn_service.current_connection(org_id())
    if connection is None or connection.status != "active":
        flash("No accounting package is connected.", "error")
        return redirect_to(url_for("products.edit", product_id=product.id))
    remote_id = request.form.get("remote_id", "")
    try:
        if remote_id:
            link_service.link(connection, product, remote_id)
        else:
            link_service.unlink(connection, product)
    except ProviderError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect_to(url_for("products.edit", product_id=product.id))
    db.session.commit()
    flash("The item link was saved." if remote_id else "The product is no longer linked.", "success")
    return redirect_to(url_for("products.edit", product_id=product.id))


def item_link_context(product: Product | None) -> dict:
    connection = conn_service.current_connection(org_id())
    if product is None or connection is None or connection.status != "active":
        return {}
    items = db.session.scalars(link_service.remote_records(connection, "item").order_by(RemoteRecord.code)).all()
    return {"item_link": link_service.link_of(connection, product), "remote_items": items}
