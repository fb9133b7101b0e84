"""Customers and suppliers: one set of routes serving both kinds.

URLs are /customers/... and /suppliers/...; `plural` picks the kind.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, FieldList, Form, FormField, HiddenField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from ..accounting import connections as conn_service
from ..accounting import links as link_service
from ..accounting import provider as get_provider
from ..accounting import runs as run_service
from ..accounting.base import ProviderError
from .. import once
from .. import listing
from ..extensions import db, htmx
from ..forms import TrimmedStringField, parse_id
from ..models import ADDRESS_KINDS, Customer, Supplier
from ..services import parties as party_service
from ..web import get_or_404, org_id, org_select, redirect_to, refusal, render_invalid

bp = Blueprint("parties", __name__)
KIND_BY_PLURAL = {"customers": Customer, "suppliers": Supplier}
PLURALS = "<any(customers, suppliers):plural>"
MAX_PEOPLE = 50


def optional_text(label, max_length):
    return TrimmedStringField(label, [Optional(), Length(max=max_length)])


class AddressForm(Form):
    line1 = optional_text("Address line 1", 255)
    line2 = optional_text("Address line 2", 255)
    city = optional_text("City", 100)
    region = optional_text("State / region", 100)
    postcode = optional_text("Postcode", 20)
    country = optional_text("Country", 100)


class PersonForm(Form):
    id = HiddenField()
    name = optional_text("Name", 255)
    email = EmailField("Email", [Optional(), Email(check_deliverability=False), Length(max=255)])
    phone = optional_text("Phone", 50)


class PartyForm(FlaskForm):
    name = TrimmedStringField("Name", [DataRequired(), Length(max=255)])
    email = EmailField("Email", [Optional(), Email(check_deliverability=False), Length(max=255)],
                       filters=[lambda v: v.strip() if isinstance(v, str) else v])
    phone = optional_text("Phone", 50)
    website = optional_text("Website", 255)
    tax_number = optional_text("Tax number (ABN / GST)", 50)
    notes = TextAreaField("Notes", [Optional(), Length(max=5000)])
    archived = BooleanField("Archived")
    also_create = BooleanField("Also create in the accounting package")
    postal = FormField(AddressForm, "Postal address")
    street = FormField(AddressForm, "Delivery / street address")
    people = FieldList(FormField(PersonForm), min_entries=0, max_entries=MAX_PEOPLE)

    def to_data(self) -> dict:
        people = []
        for entry in self.people:
            raw_id = entry.form.id.data
            people.append({
                "id": parse_id(raw_id),
                "name": entry.form.name.data, "email": entry.form.email.data,
                "phone": entry.form.phone.data,
            })
        return {
            "name": self.name.data, "email": self.email.data, "phone": self.phone.data,
            "website": self.website.data, "tax_number": self.tax_number.data,
            "notes": self.notes.data, "archived": self.archived.data,
            "addresses": {kind: getattr(self, kind).data for kind in ADDRESS_KINDS},
            "people": people,
        }


class InlinePartyForm(FlaskForm):
    """The short form opened inside an order or purchase."""
    name = TrimmedStringField("Name", [DataRequired(), Length(max=255)])
    email = EmailField("Email", [Optional(), Email(check_deliverability=False), Length(max=255)],
                       filters=[lambda v: v.strip() if isinstance(v, str) else v])
    phone = optional_text("Phone", 50)
    also_create = BooleanField("Also create in the accounting package")
    field = HiddenField()

    def to_data(self) -> dict:
        return {"name": self.name.data, "email": self.email.data, "phone": self.phone.data}


def kind_of(plural: str):
    return KIND_BY_PLURAL[plural]


def form_for(party=None) -> PartyForm:
    """The full form, filled from the record on GET (addresses and people included)."""
    addresses = {kind: party.address(kind) for kind in ADDRESS_KINDS} if party is not None else {}
    form = PartyForm(obj=party, **addresses)
    if request.method == "GET" and len(form.people) == 0:
        form.people.append_entry()
    return form


def search_query(model, text: str, show_archived: bool):
    """The organisation's customers or suppliers matching a name, email or phone."""
    query = org_select(model)
    if not show_archived:
        query = query.where(model.archived.is_(False))
    if text:
        query = query.where(listing.matching(text.strip()[:100], model.name, model.email, model.phone))
    return query


@bp.route(f"/{PLURALS}")
def index(plural):
    model = kind_of(plural)
    args = {"q": listing.arg("q"), "archived": "1" if request.args.get("archived") == "1" else ""}
    page = listing.paginate("parties.index", search_query(model, args["q"], bool(args["archived"])), {
        "name": listing.by(model.name, model.id), "email": listing.by(model.email, model.id),
        "added": listing.by(model.id)}, "name", args, options=(listing.beside(model.city, party_service.shown_city(model)),),
        searched=len(args["q"]) >= listing.TRIGRAM, plural=plural)
    context = dict(model=model, plural=plural, listing=page, rows=page.rows, q=args["q"],
                   show_archived=bool(args["archived"]))
    if htmx and htmx.target == "party-rows":
        return render_template("parties/_rows.html", **context)
    return render_template("parties/index.html", **context)


@bp.route(f"/{PLURALS}/new", methods=["GET", "POST"])
def new(plural):
    model = kind_of(plural)
    form = form_for()
    if form.validate_on_submit():
        try:
            once.claim()
        except once.Duplicate as duplicate:
            return once.answer(duplicate, url_for("parties.index", plural=plural))
        party = party_service.create_party(org_id(), model.label, form.to_data())
        also_create(party, form.also_create.data)
        url = url_for("parties.show", plural=plural, party_id=party.id)
        once.record(url)
        db.session.commit()
        flash(f"{party.name} was added.", "success")
        return redirect_to(url)
    if request.method == "POST":
        return render_invalid("parties/form.html", form=form, model=model, plural=plural, party=None)
    return render_template("parties/form.html", form=form, model=model, plural=plural, party=None)


@bp.route(f"/{PLURALS}/<int:party_id>")
def show(plural, party_id):
    party = get_or_404(kind_of(plural), party_id)
    return render_template("parties/show.html", party=party, plural=plural, model=kind_of(plural))


@bp.route(f"/{PLURALS}/<int:party_id>/edit", methods=["GET", "POST"])
def edit(plural, party_id):
    model = kind_of(plural)
    party = get_or_404(model, party_id)
    form = form_for(party)
    if form.validate_on_submit():
        party_service.update_party(party, form.to_data())
        db.session.commit()
        flash(f"{party.name} was saved.", "success")
        return redirect_to(url_for("parties.show", plural=plural, party_id=party.id))
    if request.method == "POST":
        return render_invalid("parties/form.html", form=form, model=model, plural=plural, party=party)
    return render_template("parties/form.html", form=form, model=model, plural=plural, party=party)


@bp.route(f"/{PLURALS}/person-row")
def person_row(plural):
    """One more blank contact-person row for the form (htmx)."""
    try:
        index = int(request.args.get("index", 0))
    except ValueError:
        abort(400)
    if not 0 <= index < MAX_PEOPLE:
        return "", 204
    form = PartyForm(formdata=None)
    form.people.last_index = index - 1
    entry = form.people.append_entry()
    return render_template("parties/_person_row.html", entry=entry, index=index)


@bp.route(f"/{PLURALS}/inline", methods=["GET", "POST"])
def inline(plural):
    """The short creation form that opens inside an order or purchase (htmx partial).

    On save the new record is selected in the document's picker (an out-of-band swap)
    and the form closes; on errors the form is re-rendered in place with 422.
    """
    model = kind_of(plural)
    form = InlinePartyForm()
    if request.method == "GET":
        form.field.data = request.args.get("field", f"{model.label}_id")
        return render_template("parties/_inline_form.html", form=form, model=model, plural=plural)
    if form.field.data not in ("customer_id", "supplier_id"):
        form.field.data = f"{model.label}_id"
    if not form.validate():
        return render_invalid("parties/_inline_form.html", form=form, model=model, plural=plural)
    try:
        once.claim()
    except once.Duplicate:
        return refusal("That was saved already.", 409, "info")
    party = party_service.create_party(org_id(), model.label, form.to_data())
    also_create(party, form.also_create.data)
    db.session.commit()
    flash(f"{party.name} was added and selected.", "success")
    return render_template("parties/_inline_saved.html", model=model, plural=plural,
                           field=form.field.data, party=party)


def also_create(party, ticked: bool) -> None:
    """The tickbox: the record is committed first, then a job creates the remote contact."""
    if ticked and conn_service.current_connection(org_id()) is not None:
        run_service.request_remote_contact(party, current_user.id)


# --- the link to the accounting package ------------------------------------------------

def remote_context(party):
    connection = conn_service.current_connection(org_id())
    active = connection if connection is not None and connection.status == "active" else None
    return {"party": party, "link_state": link_service.state_of(active, party), "connection": active,
            "package": get_provider(active.provider).display_name if active else None}


@bp.route(f"/{PLURALS}/<int:party_id>/remote")
def remote_state(plural, party_id):
    """The link badge and control; it polls itself while the remote contact is being made."""
    party = get_or_404(kind_of(plural), party_id)
    return render_template("parties/_remote.html", plural=plural, **remote_context(party))


@bp.route(f"/{PLURALS}/<int:party_id>/remote/search")
def remote_search(plural, party_id):
    party = get_or_404(kind_of(plural), party_id)
    connection = conn_service.current_connection(org_id())
    results = link_service.search(connection, "contact", request.args.get("q", "")) if connection else []
    return render_template("parties/_remote_results.html", plural=plural, party=party, results=results)


@bp.route(f"/{PLURALS}/<int:party_id>/remote", methods=["POST"])
def remote_change(plural, party_id):
    party = get_or_404(kind_of(plural), party_id)
    connection = conn_service.current_connection(org_id())
    action = request.form.get("action", "")
    if connection is None or connection.status != "active":
        return refusal("No accounting package is connected.")
    try:
        if action == "link":
            link_service.link(connection, party, request.form.get("remote_id", ""))
        elif action == "unlink":
            link_service.unlink(connection, party)
        elif action == "create":
            run_service.request_remote_contact(party, current_user.id)
        else:
            abort(400)
    except ProviderError as exc:
        db.session.rollback()
        return refusal(exc.message)
    db.session.commit()
    return render_template("parties/_remote.html", plural=plural, **remote_context(party))
