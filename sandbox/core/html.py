"""The sandbox's HTML shell: one style, a page, an error page. No JavaScript; whatever a
caller puts in the body it has escaped (every name here came from an API client)."""
from __future__ import annotations

from html import escape

from flask import Response

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f4f6f8;color:#1d2b36}
header{background:#13b5ea;color:#fff;padding:12px 24px;display:flex;justify-content:space-between;align-items:center}
header b{font-size:1.2em} main{max-width:1100px;margin:24px auto;padding:0 16px}
.card{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:20px;margin-bottom:20px}
table{border-collapse:collapse;width:100%;font-size:.92em} th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e3e8ec}
th{background:#f7f9fa} td.num{text-align:right;font-variant-numeric:tabular-nums}
.status{font-size:.8em;padding:2px 6px;border-radius:4px;background:#e3e8ec}
.AUTHORISED{background:#fff3cd}.PAID{background:#d4edda}.VOIDED,.DELETED{background:#f8d7da}.DRAFT{background:#e2e3e5}
button{background:#13b5ea;color:#fff;border:0;border-radius:4px;padding:8px 14px;font-size:1em;cursor:pointer}
button.secondary{background:#fff;color:#1d2b36;border:1px solid #b5c0c8}
.error{background:#f8d7da;color:#721c24;padding:10px;border-radius:4px}
.message{background:#d4edda;color:#155724;padding:10px;border-radius:4px}
form.inline{display:flex;gap:4px;align-items:center} form.inline input{width:90px}
label.org{display:block;padding:8px;border:1px solid #e3e8ec;border-radius:4px;margin:6px 0}
.muted{color:#60707d;font-size:.9em}
"""


def page(title: str, body: str, status: int = 200, brand: str = "Sandbox books",
         note: str = "not a real accounting package") -> Response:
    html = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{STYLE}</style></head>"
            f"<body><header><b>{escape(brand)}</b><span>Sandbox — {escape(note)}</span></header><main>{body}</main></body></html>")
    return Response(html, status=status, mimetype="text/html")


def error_page(title: str, detail: str, **shell) -> Response:
    return page(title, f"<div class='card'><h1>{escape(title)}</h1><p class='error'>{escape(detail)}</p></div>", 400,
                **shell)


