"""What sales orders and purchase orders share on the web: the header form, the
in-place line editor (htmx) and its routes. `sales` and `purchases` each describe
their document with a DocKind and call `register_document_routes`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Callable

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import DateField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ..accounting import package_states
from ..accounting import payments as payment_service
from .. import once
from ..extensions import db, htmx
from ..forms import ExactDecimalField, IdField, TrimmedStringField, parse_id
from .. import listing
from ..models import Invoice, SalesOrder
from ..services import ServiceError
from ..services import documents as doc_service
from ..web import (
    get_or_404, org_id, org_select, owned_or_none, redirect_to, refusal, render_invalid, toast_header,
)

HUNDRED = Decimal(100)
# A line's amount must fit NUMERIC(18, 2): 10^7 × 10^8 stays below 10^16.
MAX_QTY = Decimal("10000000")
MAX_PRICE = Decimal("99999999")


@dataclass(frozen=True)
class DocKind:
    model: type
    party_model: type
    party_field: str          # "customer_id" / "supplier_id"
    party_plural: str         # "customers" / "suppliers"
    endpoint: str             # blueprint name
    title: str                # "Order" / "Purchase order"
    price_label: str          # "Unit price" / "Unit cost"
    show_discount: bool
    date_field: str           # the second date: delivery_date / expected_date
    date_label: str
    statuses: tuple[str, ...]
    create: Callable          # service: (organisation_id, data) -> document
    set_status: Callable      # service: (document, action) -> None
    plural_title: str = ""
    push_type: str | None = None  # how the document itself goes to the accounting package, if it does


class LineForm(FlaskForm):
    """One line of the editor; the CSRF token travels in the X-CSRFToken header."""
    product_id = IdField("Product", [Optional()])
    description = TrimmedStringField("Description", [Optional(), Length(max=500)])
    quantity = ExactDecimalField("Quantity", [InputRequired("Enter a quantity.")], places=4,
                                 minimum=Decimal(0), exclusive_minimum=True, maximum=MAX_QTY,
                                 shown_places=0)
    unit_price = ExactDecimalField("Price", [InputRequired("Enter a price (0 is fine).")], places=4,
                                   minimum=Decimal(0), maximum=MAX_PRICE)
    discount_percent = ExactDecimalField("Discount %", [Optional()], places=2,
                                         minimum=Decimal(0), maximum=HUNDRED, shown_places=0)
    tax_rate = ExactDecimalField("Tax %", [InputRequired("Enter a tax rate (0 is fine).")],
                                 places=3, minimum=Decimal(0), maximum=HUNDRED, shown_places=0)


def line_form(line=None, formdata=None) -> LineForm:
    return LineForm(formdata=formdata, obj=line, meta={"csrf": False})


def register_document_routes(bp: Blueprint, kind: DocKind, header_form_class) -> None:
    """List, new, edit page (GET shows, POST saves the header), status actions and the
    line editor routes."""

    @bp.route("", endpoint="index")
    def index():
        """The list: search (number, reference, the customer's or supplier's name),
        filters (status, one customer or supplier, a date range, the state in the
        accounting package), sort (date, number, total), a page at a time."""
        model, party_model = kind.model, kind.party_model
        args = {"q": listing.arg("q"), "status": listing.arg("status", 20), "from": listing.arg("from", 10),
                "to": listing.arg("to", 10), "package": listing.arg("package", 20),
                kind.party_field: listing.arg(kind.party_field, 20)}
        query = org_select(model)
        if args["q"]:
            query = query.where(listing.document_matching(args["q"], model, party_model,
                                                          getattr(model, kind.party_field), org_id()))
        if args["status"] in kind.statuses:
            query = query.where(model.status == args["status"])
        party = owned_or_none(party_model, parse_id(args[kind.party_field]))
        if party is not None:
            query = query.where(getattr(model, kind.party_field) == party.id)
        query = listing.within_dates(query, model.order_date)
        push_type = "invoice" if model is SalesOrder else "purchase"
        through = (Invoice.order_id, Invoice.id) if model is SalesOrder else None  # an order goes as its invoice
        query = package_states.where_package_status(query, push_type, org_id(), args["package"], through=through)
        party_id = getattr(model, kind.party_field)  # a row shows its party's name only
        options = (listing.beside(model.party_name, select(party_model.name).where(party_model.id == party_id)),)
        page = listing.paginate(f"{kind.endpoint}.index", query, {
            "date": listing.by(model.order_date, model.id), "number": listing.by(model.id),
            "total": listing.by(model.total, model.id)}, "-number", args, options=options)
        statuses = package_states.package_statuses(org_id(), push_type, [d.id for d in page.rows], through=through)
        template = "documents/_rows.html" if htmx and htmx.target == "doc-rows" else "documents/index.html"
        return render_template(template, listing=page, docs=page.rows, status=args["status"], kind=kind,
                               package=args["package"], package_statuses=statuses, party=party, args=args)

    @bp.route("/new", methods=["GET", "POST"], endpoint="new")
    def new():
        form = header_form_class()
        party_field = getattr(form, kind.party_field)
        if request.method == "GET":
            form.order_date.data = date.today()
            party_field.data = parse_id(request.args.get(kind.party_field))
        if form.validate_on_submit():
            try:
                once.claim()
                doc = kind.create(org_id(), form.to_data())
            except once.Duplicate as duplicate:
                return once.answer(duplicate, url_for(f"{kind.endpoint}.index"))
            except ServiceError as exc:
                db.session.rollback()
                party_field.errors.append(exc.message)
            else:
                url = url_for(f"{kind.endpoint}.edit", doc_id=doc.id)
                once.record(url)
                db.session.commit()
                flash(f"{kind.title} {doc.number} was created. Add its lines below.", "success")
                return redirect_to(url)
        if request.method == "POST":
            return render_invalid("documents/new.html", form=form, kind=kind)
        return render_template("documents/new.html", form=form, kind=kind)

    @bp.route("/<int:doc_id>/status", methods=["POST"], endpoint="change_status")
    def change_status(doc_id):
        doc = get_or_404(kind.model, doc_id)
        try:
            kind.set_status(doc, request.form.get("action", ""))
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(f"{kind.title} {doc.number} is now {doc.status}.", "success")
        return redirect_to(url_for(f"{kind.endpoint}.edit", doc_id=doc.id))

    def editor_context(doc, invalid: dict | None = None):
        forms = {line.id: line_form(line) for line in doc.lines}
        forms.update(invalid or {})
        return {"doc": doc, "kind": kind, "lock_reason": doc_service.pricing_lock_reason(doc),
                "line_forms": forms}

    def render_editor(doc, status: int = 200, invalid: dict | None = None):
        doc = load_for_editing(kind.model, doc.id)  # lines with their products in one go
        return render_template("documents/_line_editor.html", **editor_context(doc, invalid)), status

    def render_line_update(doc, line, form, status: int = 200):
        """Out-of-band swaps of one line's amount and error slots, and the totals; the
        inputs are left as the user typed them."""
        fields = [f for f in doc_service.LINE_FIELDS if kind.show_discount or f != "discount_percent"]
        body = render_template("documents/_line_update.html", doc=doc, line=line, line_form=form,
                               error_fields=fields, kind=kind)
        return body, status, {"HX-Reswap": "none"}

    def refused(exc: ServiceError):
        """A change the rules refuse (locked lines): say so, swap nothing."""
        return refusal(exc.message)

    @bp.route("/<int:doc_id>", methods=["GET", "POST"], endpoint="edit")
    def edit(doc_id):
        doc = load_for_editing(kind.model, doc_id)
        note = None
        invoice = getattr(doc, "invoice", None)
        if request.method == "GET" and invoice is not None and payment_service.payment_check_due(invoice):
            # has a payment been applied meanwhile? Its commit expires what is loaded, so
            # the page is loaded again; a look taken within the minute commits nothing
            note = payment_service.check_payment_if_stale(invoice)
            db.session.commit()
            doc = load_for_editing(kind.model, doc_id)
        form = header_form_class(obj=doc)
        if request.method == "POST":
            if form.validate():
                try:
                    doc_service.update_document_header(doc, form.to_data())
                except ServiceError as exc:
                    db.session.rollback()
                    doc = get_or_404(kind.model, doc_id)
                    target = getattr(form, exc.field, None) if exc.field else None
                    (target.errors if target is not None else form.form_errors).append(exc.message)
                else:
                    db.session.commit()
                    flash(f"{kind.title} {doc.number} was saved.", "success")
                    return redirect_to(url_for(f"{kind.endpoint}.edit", doc_id=doc.id))
            return render_template("documents/edit.html", form=form, **editor_context(doc), **push_context(doc)), 422
        return render_template("documents/edit.html", form=form, payment_note=note, **editor_context(doc),
                               **push_context(doc))

    @bp.route("/<int:doc_id>/lines", methods=["POST"], endpoint="add_line")
    def add_line(doc_id):
        doc = get_or_404(kind.model, doc_id)
        try:
            once.claim()
            doc_service.add_line(doc)
        except once.Duplicate:  # a double click: the line is there already
            return render_editor(get_or_404(kind.model, doc_id))
        except ServiceError as exc:
            db.session.rollback()
            return refused(exc)
        db.session.commit()
        return render_editor(doc)

    @bp.route("/<int:doc_id>/lines/<int:line_id>", methods=["POST"], endpoint="update_line")
    def update_line(doc_id, line_id):
        doc = get_or_404(kind.model, doc_id)
        line = next((l for l in doc.lines if l.id == line_id), None)
        if line is None:
            message = "That line was removed meanwhile. The lines below are current."
            return render_editor(doc, 200)[0], 200, toast_header("error", message)
        form = line_form(line, formdata=request.form)
        if not form.validate():
            return render_line_update(doc, line, form, 422)
        data = {f: getattr(form, f).data for f in doc_service.LINE_FIELDS}
        if not kind.show_discount:
            data.pop("discount_percent")
        elif data["discount_percent"] is None:
            data["discount_percent"] = Decimal(0)
        product_changed = request.form.get("changed") == "product_id"
        try:
            doc_service.update_line(doc, line, data, product_changed=product_changed)
        except ServiceError as exc:
            db.session.rollback()
            if not exc.field:
                return refused(exc)
            doc = get_or_404(kind.model, doc_id)
            line = next(l for l in doc.lines if l.id == line_id)
            getattr(form, exc.field).errors.append(exc.message)
            return render_line_update(doc, line, form, 422)
        db.session.commit()
        if product_changed:  # description, price and tax came from the product: show them
            return render_editor(doc)
        return render_line_update(doc, line, line_form(line))

    @bp.route("/<int:doc_id>/lines/<int:line_id>/delete", methods=["POST"], endpoint="remove_line")
    def remove_line(doc_id, line_id):
        doc = get_or_404(kind.model, doc_id)
        line = next((l for l in doc.lines if l.id == line_id), None)
        if line is not None:  # already gone: removing twice is fine
            try:
                doc_service.remove_line(doc, line)
            except ServiceError as exc:
                db.session.rollback()
                return refused(exc)
            db.session.commit()
        return render_editor(doc)


def load_for_editing(model, doc_id: int):
    """The document with what its page shows (lines and their products, its party, its
    invoice) in a few queries, however many lines it has."""
    line_model = doc_service.LINE_CLASSES.get(model)
    options = [selectinload(model.lines).joinedload(line_model.product)] if line_model else []
    party = "customer" if model is SalesOrder else "supplier"
    options.append(joinedload(getattr(model, party)))
    if model is SalesOrder:
        options.append(joinedload(model.invoice))  # one to one: in the order's own query
    doc = db.session.get(model, doc_id, options=options, populate_existing=True)
    if doc is None or doc.organisation_id != org_id():
        abort(404)
    return doc


def push_context(doc) -> dict:
    if getattr(doc, "invoice", None) is not None:
        return {"push_doc_type": "invoice", "push_doc": doc.invoice, **package_states.push_view("invoice", doc.invoice)}
    if doc.kind == "purchase":
        return {"push_doc_type": "purchase", "push_doc": doc, **package_states.push_view("purchase", doc)}
    return {}


class HeaderFormBase(FlaskForm):
    order_date = DateField("Order date", [InputRequired("Enter a date.")])
    reference = TrimmedStringField("Reference", [Optional(), Length(max=100)])
    notes = TextAreaField("Notes", [Optional(), Length(max=5000)])
    delivery_notes = TextAreaField("Delivery notes", [Optional(), Length(max=5000)])

    party_model: type = None
    party_field: str = ""

    def current_party(self, doc=None):
        """The customer or supplier the picker shows: the one chosen (if it is the
        organisation's), else the document's."""
        party = owned_or_none(self.party_model, getattr(self, self.party_field).data)
        if party is not None:
            return party
        return getattr(doc, "party", None) if doc is not None else None

    def to_data(self) -> dict:
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}
