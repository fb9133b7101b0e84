"""What the templates have beyond Jinja's own: the money and quantity filters, the
status labels, the badges and a list's row URLs.

A list page renders fifty rows, and Jinja's macros and `url_for` are the dearest things a
row does (a macro call is a new frame, a context and an escape of every piece): what
every row repeats is therefore made here, once per value, in Python. A badge is made once
per status and kept (the statuses are a fixed set; the cache is capped anyway), and a
row's URL is the list's URL built once around a marker id.
"""
from __future__ import annotations

from flask import Flask, url_for
from markupsafe import Markup

from .accounting.package_states import PACKAGE_STATUSES
from .money import format_money

STATUS_LABELS = {
    "draft": "Draft", "confirmed": "Confirmed", "invoiced": "Invoiced",
    "cancelled": "Cancelled", "sent": "Sent", "received": "Received",
}
NOT_SENT = Markup('<span class="muted">—</span>')
_MARKER = 1234567891  # an id no list shows twice in one URL (it is <= MAX_ID, so the route takes it)
_BADGES_KEPT = 64


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["qty"] = format_quantity
    app.jinja_env.globals.update(ORG_STATUS_LABELS=STATUS_LABELS, PACKAGE_STATUSES=PACKAGE_STATUSES,
                                 status_badge=status_badge, package_badge=package_badge, row_urls=row_urls)


def format_quantity(value) -> str:
    if value is None:
        return ""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


_badges: dict[tuple[str, str], Markup] = {}


def _badge(css: str, key, label: str) -> Markup:
    """<span class="badge <css><key>"><label></span>, made once per (css, key) and kept."""
    badge = _badges.get((css, key))
    if badge is None:
        badge = Markup('<span class="badge {}{}">{}</span>').format(css, key, label)
        if len(_badges) < _BADGES_KEPT:
            _badges[(css, key)] = badge
    return badge


def status_badge(status) -> Markup:
    """<span class="badge badge-confirmed">Confirmed</span> for a document's status."""
    status = str(status)
    return _badge("badge-", status, STATUS_LABELS.get(status, status.capitalize()))


def package_badge(key) -> Markup:
    """A document's state in the accounting package (a key of PACKAGE_STATUSES), or a dash
    for one never sent."""
    if not key:
        return NOT_SENT
    return _badge("badge-package-", key, PACKAGE_STATUSES.get(key, key))


def row_urls(endpoint: str, id_name: str, **values):
    """url_for(endpoint, <id_name>=id, **values) for each row of a list at the cost of
    one url_for: the URL is built once around a marker id and each row's id put in its
    place (fifty url_for calls were a millisecond of every list page)."""
    url = url_for(endpoint, **{id_name: _MARKER}, **values)
    if url.count(str(_MARKER)) != 1:
        return lambda row_id: url_for(endpoint, **{id_name: row_id}, **values)
    before, after = url.split(str(_MARKER))
    return lambda row_id: f"{before}{int(row_id)}{after}"
