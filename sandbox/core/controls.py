"""The test controls (/__sandbox/..., only when the sandbox is started with them): queue
faults, expire or revoke tokens, remove connections, read the state and the request
log, reset the books, move the clock, add contacts in bulk, store records raw (off the
package's schema on purpose), and run a webhook receiver's intent-to-receive check."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Flask, request

from ..ledger import contacts, seed
from .oauth import json_response
from .util import iso_utc, loads


def connection_state(row) -> dict:
    """A connection as /__sandbox/state lists it."""
    return {"id": row["id"], "face": row["face"], "authEventId": row["auth_event_id"], "tenantId": row["tenant_id"],
            "tenantName": row["name"], "created": iso_utc(row["created"]), "updated": iso_utc(row["updated"])}


def register(app: Flask, sb) -> None:
    store = sb.store

    def body() -> dict:
        value = request.get_json(silent=True)
        return value if isinstance(value, dict) else {}

    @app.post("/__sandbox/faults")
    def add_faults():
        data = body()
        kind = str(data.get("kind", ""))
        if kind not in ("500", "503", "429", "timeout", "drop", "malformed"):
            return json_response({"error": "kind must be 500, 503, 429, timeout, drop or malformed"}, 400)
        count = max(1, int(data.get("count") or 1))
        fault = {"kind": kind, "count": count, "path": data.get("path") or "/",
                 "retry_after": data.get("retry_after", 2), "seconds": data.get("seconds", 30),
                 "problem": data.get("problem")}
        with sb.faults_lock:
            sb.faults.append(fault)
            queued = sum(f["count"] for f in sb.faults)
        return json_response({"queued": queued})

    @app.delete("/__sandbox/faults")
    def clear_faults():
        with sb.faults_lock:
            sb.faults.clear()
        return json_response({"queued": 0})

    @app.post("/__sandbox/tokens/expire")
    def expire_tokens():
        now = sb.clock.now()
        cursor = store.run("UPDATE access_tokens SET expires_at=? WHERE expires_at > ?", (now - 1, now - 1))
        return json_response({"expired": cursor.rowcount})

    @app.post("/__sandbox/tokens/revoke")
    def revoke_tokens():
        with store.tx() as db:
            refresh = db.execute("UPDATE refresh_tokens SET revoked=1 WHERE revoked=0").rowcount
            access = db.execute("UPDATE access_tokens SET revoked=1 WHERE revoked=0").rowcount
        return json_response({"revoked_refresh_tokens": refresh, "revoked_access_tokens": access})

    @app.post("/__sandbox/connections/remove")
    def remove_connections():
        tenant = body().get("tenantId")
        if tenant:
            cursor = store.run("DELETE FROM connections WHERE tenant_id=?", (str(tenant).lower(),))
        else:
            cursor = store.run("DELETE FROM connections")
        return json_response({"removed": cursor.rowcount})

    @app.get("/__sandbox/state")
    def state():
        rows = store.query("SELECT c.*, o.name FROM connections c JOIN orgs o ON o.tenant_id=c.tenant_id "
                           "ORDER BY c.created")
        organisations = []
        for org in store.organisations():
            t = org["tenant_id"]
            organisations.append({
                "tenantId": t, "name": org["name"],
                "contacts": store.one("SELECT count(*) AS n FROM contacts WHERE tenant_id=?", (t,))["n"],
                "invoices": store.one("SELECT count(*) AS n FROM invoices WHERE tenant_id=?", (t,))["n"]})
        return json_response({"connections": [connection_state(r) for r in rows], "organisations": organisations,
                              "requests": list(sb.requests), "clock_offset_seconds": sb.clock.offset,
                              "faults": list(sb.faults),
                              "webhooks": list(sb.webhooks.deliveries) if sb.webhooks else None})

    @app.post("/__sandbox/reset")
    def reset():
        sb.clock.offset = 0.0
        store.reseed()
        sb.limiter.reset()
        with sb.faults_lock:
            sb.faults.clear()
        sb.spell = None
        sb.requests.clear()
        return json_response({"reset": True})

    @app.post("/__sandbox/clock")
    def clock():
        seconds = float(body().get("advance_seconds") or 0)
        sb.clock.offset += seconds
        store.set_meta("clock_offset", str(sb.clock.offset))
        return json_response({"offset_seconds": sb.clock.offset,
                              "now": datetime.fromtimestamp(sb.clock.now(), tz=timezone.utc).isoformat()})

    @app.post("/__sandbox/contacts/bulk")
    def bulk():
        data = body()
        tenant = str(data.get("tenantId") or seed.HARBOUR_ID).lower()
        if store.organisation(tenant) is None:
            return json_response({"error": "unknown tenantId"}, 400)
        count = int(data.get("count") or 0)
        inserted = contacts.bulk(store, tenant, count, int(data.get("customers") or 0),
                                 int(data.get("suppliers") or 0), int(data.get("both") or 0))
        return json_response({"inserted": inserted})

    @app.post("/__sandbox/raw-records")
    def store_raw_records():
        """Store records of one face's API exactly as given, whatever their shape: {"kind":
        one of the face's RAW_KINDS (such as "contact" | "item" | "account" | "tax_rate" |
        "invoice"), "records": [...] (or "record": one), "tenantId"?, "face"? (a face's key;
        the first face that keeps raw records by default)}. That face's API lists them as
        they are (after its own records; its change filters, ids and queries apply, their
        change time being when they were stored) and returns them by id. They are off the face's schema on purpose: the spec
        checker is shown each answer without them (what they break: sandbox.spec_exempted).
        DELETE (or /__sandbox/reset) removes them."""
        try:
            data = loads(request.get_data() or b"{}")  # numbers kept exactly as written
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return json_response({"error": "the body must be a JSON object"}, 400)
        keeping = [face for face in sb.faces if getattr(face, "raw", None)]
        face = next((f for f in keeping if f.KEY == data.get("face", keeping[0].KEY if keeping else None)), None)
        if face is None:
            return json_response({"error": "face must be one of " + ", ".join(f.KEY for f in keeping)}, 400)
        kind = data.get("kind")
        if kind not in face.raw.RAW_KINDS:
            return json_response({"error": f"kind must be one of {', '.join(face.raw.RAW_KINDS)}"}, 400)
        tenant = str(data.get("tenantId") or seed.HARBOUR_ID).lower()
        if store.organisation(tenant) is None:
            return json_response({"error": "unknown tenantId"}, 400)
        if isinstance(data.get("records"), list):
            records = data["records"]
        elif "record" in data:
            records = [data["record"]]
        else:
            return json_response({"error": 'give the records as "records": [...], or one as "record"'}, 400)
        for value in records:
            store.put_raw(face.KEY, tenant, kind, face.raw.raw_id(kind, value), value)
        return json_response({"stored": len(records), "kind": kind})

    @app.delete("/__sandbox/raw-records")
    def clear_raw_records():
        return json_response({"removed": store.run("DELETE FROM raw_records").rowcount})

    @app.post("/__sandbox/webhooks/intent")
    def intent():
        if not sb.webhooks:
            return json_response({"error": "no webhook_url / webhook_key configured"}, 400)
        return json_response(sb.webhooks.intent_to_receive())
