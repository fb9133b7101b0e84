"""Driving the sandbox's consent page the way a browser would, for tests without one."""
from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests


class _Form(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action = None
        self.fields: list[tuple[str, str]] = []
        self.choices: list[tuple[str, str, str]] = []  # (name, value, label text)
        self.buttons: list[tuple[str, str, str]] = []  # (name, value, text)
        self._in_form = False
        self._label_for_last = None
        self._button = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method", "get").lower() == "post") and self.action is None:
            self.action, self._in_form = a.get("action", ""), True
        if not self._in_form:
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "hidden":
                self.fields.append((a.get("name", ""), a.get("value", "")))
            elif kind in ("checkbox", "radio"):
                self.choices.append((a.get("name", ""), a.get("value", ""), ""))
                self._label_for_last = len(self.choices) - 1
            elif kind == "submit":
                self.buttons.append((a.get("name", ""), a.get("value", ""), a.get("value", "")))
        if tag == "button":
            self._button = [a.get("name", ""), a.get("value", ""), ""]

    def handle_data(self, data):
        if self._button is not None:
            self._button[2] += data
        elif self._label_for_last is not None and data.strip():
            name, value, label = self.choices[self._label_for_last]
            self.choices[self._label_for_last] = (name, value, (label + " " + data.strip()).strip())

    def handle_endtag(self, tag):
        if tag == "button" and self._button is not None:
            self.buttons.append(tuple(self._button))
            self._button = None
        if tag == "label":
            self._label_for_last = None
        if tag == "form":
            self._in_form = False


def consent(authorise_url: str, organisations: list[str] | None = None, allow: bool = True) -> str:
    """Open the consent page, tick the organisations whose names contain the given texts
    (all when None), press Allow access (or Cancel); return where the browser is sent."""
    page = requests.get(authorise_url, timeout=10)
    assert page.status_code == 200, page.text[:500]
    form = _Form()
    form.feed(page.text)
    assert form.action is not None, "no consent form on the page"
    data = list(form.fields)
    for name, value, label in form.choices:
        if organisations is None or any(o.lower() in (label or value).lower() for o in organisations):
            data.append((name, value))
    wanted = "allow" if allow else "cancel"
    button = next((b for b in form.buttons if wanted in b[2].lower() or wanted in b[1].lower()), None)
    assert button is not None, f"no {wanted} button among {form.buttons}"
    if button[0]:
        data.append((button[0], button[1]))
    response = requests.post(urljoin(authorise_url, form.action or authorise_url), data=data,
                             allow_redirects=False, timeout=10)
    assert response.status_code in (301, 302, 303), (response.status_code, response.text[:500])
    return response.headers["Location"]


def local_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def query(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
