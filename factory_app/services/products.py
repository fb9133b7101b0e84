from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Product
from . import ServiceError

FIELDS = ("sku", "name", "description", "sale_price", "purchase_cost", "unit", "taxable", "archived")


def sku_taken(organisation_id: int, sku: str, exclude_id: int | None = None) -> bool:
    query = select(Product.id).where(
        Product.organisation_id == organisation_id, func.lower(Product.sku) == sku.strip().lower())
    if exclude_id:
        query = query.where(Product.id != exclude_id)
    return db.session.scalar(query) is not None


def save_product(product: Product, data: dict) -> Product:
    sku = data["sku"].strip()
    if sku_taken(product.organisation_id, sku, product.id):
        raise ServiceError(f"Another product already uses the code {sku}.", "sku")
    for field in FIELDS:
        if field in data:
            value = data[field]
            setattr(product, field, value.strip() or None if isinstance(value, str) else value)
    product.sku, product.name = sku, data["name"].strip()
    db.session.add(product)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:  # a concurrent save took the code first
        raise ServiceError(f"Another product already uses the code {sku}.", "sku") from exc
    return product
