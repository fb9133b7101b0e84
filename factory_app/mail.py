"""Mail: Flask-Mailman over SMTP, configured from the environment (see config.py).

With no MAIL_SERVER (the demo, a laptop) nothing is sent: the mail, links and all, goes
to the server log at WARNING, where whoever runs Factory can read it.
"""
from __future__ import annotations

import smtplib

from flask import Flask, current_app, render_template
from flask_mailman import EmailMessage

from .extensions import mail


def init_app(app: Flask) -> None:
    mail.init_app(app)


def send(to: str, subject: str, template: str, **context) -> bool:
    """Send a plain-text mail rendered from `template`. False (and logged) when the SMTP
    server is unreachable or refuses it: the caller's answer should not depend on it."""
    body = render_template(template, **context)
    if not current_app.config.get("MAIL_SERVER"):
        current_app.logger.warning("No MAIL_SERVER is set, so this mail was not sent.\nTo: %s\nSubject: %s\n\n%s",
                                   to, subject, body)
        return False
    try:
        EmailMessage(subject, body, to=[to]).send()
    except (smtplib.SMTPException, OSError):
        current_app.logger.exception("Mail to %s (%s) could not be sent", to, subject)
        return False
    return True
