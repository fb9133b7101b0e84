"""Sign up, log in, log out."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..extensions import db
from ..forms import TrimmedStringField
from ..services import ServiceError
from ..services import orgs as org_service
from ..web import render_invalid, safe_next

bp = Blueprint("auth", __name__)


class SignupForm(FlaskForm):
    organisation = TrimmedStringField("Business name", [DataRequired(), Length(max=120)])
    name = TrimmedStringField("Your name", [DataRequired(), Length(max=120)])
    email = EmailField("Email", [DataRequired(), Email(check_deliverability=False), Length(max=255)])
    password = PasswordField("Password", [DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField("Repeat password", [DataRequired(), EqualTo("password", "The passwords differ.")])


class LoginForm(FlaskForm):
    email = EmailField("Email", [DataRequired(), Length(max=255)])
    password = PasswordField("Password", [DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me logged in")


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = org_service.sign_up(form.organisation.data, form.name.data, form.email.data,
                                       form.password.data)
        except ServiceError as exc:
            getattr(form, exc.field).errors.append(exc.message)
        else:
            db.session.commit()
            login_user(user)
            flash(f"Welcome to Factory, {user.name}.", "success")
            return redirect(url_for("dashboard.index"))
    if request.method == "POST":
        return render_invalid("auth/signup.html", form=form)
    return render_template("auth/signup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    target = safe_next(request.args.get("next"), url_for("dashboard.index"))
    if current_user.is_authenticated:
        return redirect(target)
    form = LoginForm()
    if form.validate_on_submit():
        user = org_service.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            return redirect(target)
        form.password.errors.append("That email and password don't match an account.")
    if request.method == "POST":
        return render_invalid("auth/login.html", form=form)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash("You have logged out.", "info")
    return redirect(url_for("auth.login"))
