"""A write of a face's API as the package makes it: in one transaction (rolled back when
the answer is an error), at most once per idempotency key (the same key answers the first
answer again, whatever the body), and its webhooks sent after the commit."""
from __future__ import annotations

from flask import Response, request

from .state import Rollback


def write_once(sb, tenant: str, key: str | None, handler) -> Response:
    """`handler()` answers the write; `key` is the idempotency key as the face stores it
    (None: no key)."""
    store = sb.store
    with store.lock:
        if key:
            row = store.one("SELECT status, body FROM idempotency WHERE tenant_id=? AND key=?", (tenant, key))
            if row:
                return Response(row["body"], status=row["status"], mimetype="application/json")
        sb.begin_events()
        try:
            with store.tx():
                response = handler()
                if response.status_code >= 400:
                    raise Rollback(response)
        except Rollback as rollback:
            response = rollback.response
            sb.drop_events()
        if key:
            store.run("INSERT OR REPLACE INTO idempotency (tenant_id, key, status, body, created) VALUES (?,?,?,?,?)",
                      (tenant, key, response.status_code, response.get_data(as_text=True), sb.clock.now()))
    sb.flush_events(request.host_url.rstrip("/"))
    return response
