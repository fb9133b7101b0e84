"""Sign up, log in, log out, your account (change password), forgot and reset password."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from .. import limits, mail
from ..extensions import db
from ..forms import TrimmedStringField
from ..limits import limited
from ..services import ServiceError
from ..services import orgs as org_service
from ..services import passwords
from ..web import redirect_to, render_invalid, safe_next

bp = Blueprint("auth", __name__)


def _new_password(label: str = "New password"):
    return PasswordField(label, [DataRequired(), Length(min=8, max=200)])


def _repeat(label: str = "Repeat the new password"):
    return PasswordField(label, [DataRequired(), EqualTo("password", "The passwords differ.")])


class SignupForm(FlaskForm):
    organisation = TrimmedStringField("Business name", [DataRequired(), Length(max=120)])
    name = TrimmedStringField("Your name", [DataRequired(), Length(max=120)])
    email = EmailField("Email", [DataRequired(), Email(check_deliverability=False), Length(max=255)])
    password = _new_password("Password")
    confirm = _repeat("Repeat password")


class LoginForm(FlaskForm):
    email = EmailField("Email", [DataRequired(), Length(max=255)])
    password = PasswordField("Password", [DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me logged in")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", [DataRequired(), Email(check_deliverability=False), Length(max=255)])


class ResetPasswordForm(FlaskForm):
    password = _new_password()
    confirm = _repeat()


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", [DataRequired(), Length(max=200)])
    password = _new_password()
    confirm = _repeat()


@bp.route("/signup", methods=["GET", "POST"])
@limited(limits.SIGNUP_PER_ADDRESS)
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = SignupForm()
    if form.validate_on_submit():
        limits.count_attempt()  # created, or told the email is taken: both count
        try:
            user = org_service.sign_up(form.organisation.data, form.name.data, form.email.data,
                                       form.password.data)
        except ServiceError as exc:
            db.session.rollback()
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
@limited(limits.LOGIN_PER_ADDRESS, limits.LOGIN_PER_ACCOUNT)
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
        limits.count_attempt()
        form.password.errors.append("That email and password don't match an account.")
    if request.method == "POST":
        return render_invalid("auth/login.html", form=form)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    org_service.end_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    flash("You have logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@limited(limits.PASSWORD_PER_USER)
def account():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            passwords.change_password(user, form.current.data, form.password.data)
        except ServiceError as exc:
            db.session.rollback()
            limits.count_attempt()
            getattr(form, exc.field).errors.append(exc.message)
        else:
            db.session.commit()
            # Every session ended with the old password; this browser carries on with the new token.
            remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
            login_user(user, remember=remembered)
            flash("Your password was changed. Any other browser you used is logged out.", "success")
            return redirect_to(url_for("auth.account"))
    if request.method == "POST":
        return render_invalid("auth/account.html", form=form)
    return render_template("auth/account.html", form=form)


@bp.route("/forgot-password", methods=["GET", "POST"])
@limited(limits.RESET_PER_ADDRESS, limits.RESET_PER_ACCOUNT)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        limits.count_attempt()
        user = org_service.active_user_by_email(form.email.data)
        if user is not None:
            link = current_app.config["FACTORY_EXTERNAL_URL"] + url_for(
                "auth.reset_password", token=passwords.reset_token(user))
            mail.send(user.email, "Choose a new Factory password", "auth/mail/reset_password.txt",
                      user=user, link=link, hours=current_app.config["PASSWORD_RESET_MAX_AGE"] // 3600)
        # The same answer whether or not the email has an account.
        flash(f"If {form.email.data} has a Factory account, a link to choose a new password is on its way. "
              "It works for an hour.", "info")
        return redirect(url_for("auth.login"))
    if request.method == "POST":
        return render_invalid("auth/forgot_password.html", form=form)
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token):
    user = passwords.user_for_reset_token(token)
    if user is None:
        return render_template("auth/reset_password.html", form=None), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        passwords.reset_password(user, form.password.data)
        db.session.commit()
        login_user(user)
        flash("Your new password is set, and you are logged in.", "success")
        return redirect(url_for("dashboard.index"))
    if request.method == "POST":
        return render_invalid("auth/reset_password.html", form=form, user=user)
    return render_template("auth/reset_password.html", form=form, user=user)


@bp.record_once
def _bring_extensions(state) -> None:
    """The rate limiter and mail that these views use come with them into every app."""
    limits.init_app(state.app)
    mail.init_app(state.app)
