"""Settings: organisation details and users (administrators only)."""
from __future__ import annotations

from decimal import Decimal
from zoneinfo import available_timezones

from flask import Blueprint, flash, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, IntegerField, PasswordField, SelectField
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from ..extensions import db
from ..forms import ExactDecimalField, TrimmedStringField, choices
from ..models import ROLES, User
from ..services import ServiceError
from ..services import orgs as org_service
from ..services import passwords
from ..web import admin_required, get_or_404, org_select, redirect_to, render_invalid

bp = Blueprint("settings", __name__, url_prefix="/settings")

CURRENCIES = ("AUD", "NZD", "GBP", "USD", "EUR", "CAD", "SGD", "HKD", "ZAR", "IEP", "JPY", "CHF",
              "SEK", "NOK", "DKK", "INR", "MYR", "PHP", "THB", "AED")
TIMEZONES = sorted(available_timezones())
MAX_NUMBER = 99_999_999


@bp.before_request
@admin_required
def only_admins():
    return None


class OrganisationForm(FlaskForm):
    name = TrimmedStringField("Business name", [DataRequired(), Length(max=120)])
    base_currency = SelectField("Base currency", choices=choices((c, c) for c in CURRENCIES))
    timezone = SelectField("Time zone", choices=choices((t, t.replace("_", " ")) for t in TIMEZONES))
    default_tax_rate = ExactDecimalField("Default tax rate (%)",
                                         [InputRequired("Enter a rate (0 is fine).")],
                                         places=3, minimum=Decimal(0), maximum=Decimal(100), shown_places=0)
    payment_terms_days = IntegerField("Invoice due after (days)", [
        InputRequired("Enter a number of days."), NumberRange(0, 365)])
    next_order_number = IntegerField("Next order number (SO-…)", [Optional(), NumberRange(1, MAX_NUMBER)])
    next_invoice_number = IntegerField("Next invoice number (INV-…)", [Optional(), NumberRange(1, MAX_NUMBER)])
    next_purchase_number = IntegerField("Next purchase order number (PO-…)", [Optional(), NumberRange(1, MAX_NUMBER)])

    DETAILS = ("name", "base_currency", "timezone", "default_tax_rate", "payment_terms_days")
    NUMBERS = ("next_order_number", "next_invoice_number", "next_purchase_number")


class UserForm(FlaskForm):
    name = TrimmedStringField("Name", [DataRequired(), Length(max=120)])
    email = EmailField("Email", [DataRequired(), Email(check_deliverability=False), Length(max=255)])
    role = SelectField("Role", choices=choices((r, r.capitalize()) for r in ROLES))
    password = PasswordField("Temporary password", [DataRequired(), Length(min=8, max=200)])


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=choices((r, r.capitalize()) for r in ROLES))
    active = BooleanField("Can log in")


class SetPasswordForm(FlaskForm):
    password = PasswordField("New password", [DataRequired(), Length(min=8, max=200)])


@bp.route("", methods=["GET", "POST"])
def organisation():
    org = current_user.organisation
    form = OrganisationForm(obj=org)
    if form.validate_on_submit():
        # the counters move only through the service (forward, atomically), the rest as typed
        refused = org_service.move_numbers_forward(org.id, {name: form[name].data for name in form.NUMBERS
                                                            if form[name].data is not None})
        if not refused:
            for name in form.DETAILS:
                setattr(org, name, form[name].data)
            db.session.commit()
            flash("Organisation details were saved.", "success")
            return redirect_to(url_for("settings.organisation"))
        db.session.rollback()
        for name, current in refused.items():
            form[name].errors.append(f"Numbers below {current} are taken already: choose {current} or more.")
    if request.method == "POST":
        return render_invalid("settings/organisation.html", form=form)
    return render_template("settings/organisation.html", form=form)


@bp.route("/users", methods=["GET", "POST"])
def users():
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = org_service.add_user(current_user.organisation, form.name.data, form.email.data,
                                        form.role.data, form.password.data)
        except ServiceError as exc:
            db.session.rollback()
            getattr(form, exc.field).errors.append(exc.message)
        else:
            db.session.commit()
            flash(f"{user.name} can now log in as {user.email}.", "success")
            return redirect_to(url_for("settings.users"))
    if request.method == "POST":
        return render_invalid("settings/users.html", **_users_page(form))
    return render_template("settings/users.html", **_users_page(form))


def _users_page(form: UserForm, refused: tuple[int, SetPasswordForm] | None = None) -> dict:
    """The users page's context; `refused` is a user's password form to show with its errors."""
    people = db.session.scalars(org_select(User).order_by(User.name)).all()
    password_forms = {u.id: SetPasswordForm(formdata=None) for u in people}
    if refused:
        password_forms[refused[0]] = refused[1]
    return dict(form=form, people=people, password_forms=password_forms,
                role_forms={u.id: RoleForm(obj=u, formdata=None) for u in people})


@bp.route("/users/<int:user_id>", methods=["POST"])
def update_user(user_id):
    user = get_or_404(User, user_id)
    form = RoleForm()
    if form.validate():
        try:
            org_service.change_role(current_user, user, form.role.data, form.active.data)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(f"{user.name} was updated.", "success")
    else:
        flash("Choose a role.", "error")
    return redirect_to(url_for("settings.users"))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def set_password(user_id):
    """An administrator gives another user a new password (and logs them out everywhere)."""
    user = get_or_404(User, user_id)
    form = SetPasswordForm()
    if form.validate():
        try:
            passwords.set_password(current_user, user, form.password.data)
        except ServiceError as exc:
            db.session.rollback()
            form.password.errors.append(exc.message)
        else:
            db.session.commit()
            flash(f"{user.name} has a new password. Share it with them; they were logged out everywhere.", "success")
            return redirect_to(url_for("settings.users"))
    return render_invalid("settings/users.html", **_users_page(UserForm(formdata=None), (user.id, form)))
