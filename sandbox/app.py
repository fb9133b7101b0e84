"""The sandbox Flask app: Xero's identity service, connections and accounting API on one
host, with test controls, rate limits, faults, webhooks and a ledger page."""
from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import random
import secrets
import socket
import threading
import time
import uuid
from collections import deque
from datetime import datetime, timezone
from urllib.parse import urlencode, urlsplit, urlunsplit, parse_qsl

from flask import Flask, Response, g, request

from . import books, ledger, seed, specval
from .limits import RateLimiter
from .store import Store
from .util import Clock, dumps, iso_utc, loads, ms_date, parse_moment
from .webhooks import WebhookSender, intent_to_receive

API = "/api.xro/2.0"
SPEC_BODY = "sandbox.spec_body"  # environ key: the answer as the spec checker sees it (without raw records)
ACCESS_LIFETIME = 1800
CODE_LIFETIME = 300
REFRESH_GRACE = 1800
REFRESH_IDLE = 60 * 86400
PROVIDER_NAME = "Factory"
SCOPES = ["openid", "profile", "email", "offline_access",
          "accounting.transactions", "accounting.transactions.read", "accounting.contacts",
          "accounting.contacts.read", "accounting.settings", "accounting.settings.read",
          "accounting.attachments", "accounting.attachments.read", "accounting.reports.read",
          "accounting.journals.read", "accounting.budgets.read",
          "accounting.invoices", "accounting.invoices.read", "accounting.payments", "accounting.payments.read",
          "accounting.banktransactions", "accounting.banktransactions.read", "accounting.manualjournals",
          "accounting.manualjournals.read", "accounting.reports.aged.read", "accounting.reports.balancesheet.read",
          "accounting.reports.profitandloss.read", "accounting.reports.trialbalance.read"]
USER = {"sub": seed.sid("user", "priya"), "email": seed.SANDBOX_USER, "given_name": "Priya",
        "family_name": "Raman", "name": "Priya Raman"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims: dict, secret: str) -> str:
    """HS256 JWT signed with the client secret."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


def json_response(value, status: int = 200, headers: dict | None = None) -> Response:
    return Response(dumps(value), status=status, headers=headers, mimetype="application/json")


def problem(status: int, title: str, detail: str, headers: dict | None = None) -> Response:
    """Xero's identity-style error (401/403)."""
    return json_response({"Type": None, "Title": title, "Status": status, "Detail": detail,
                          "Instance": str(uuid.uuid4()), "Extensions": {}}, status, headers)


class Rollback(Exception):
    def __init__(self, response):
        self.response = response


class Sandbox:
    """Everything one sandbox app holds besides Flask: store, clock, limits, faults, log."""

    def __init__(self, data_path, client_id, client_secret, webhook_url, webhook_key, test_controls,
                 validate_spec, limits, redirect_uris):
        self.clock = Clock()
        self.store = Store(data_path, self.clock)
        self.client_id, self.client_secret = client_id, client_secret
        self.redirect_uris = list(redirect_uris or [])
        self.test_controls = test_controls
        self.validate_spec = validate_spec
        self.limiter = RateLimiter(self.clock, limits)
        self.faults: list[dict] = []
        self.faults_lock = threading.Lock()
        # a misbehaviour started on the bookkeeper's page, for a while: {"kind", "until" (clock
        # time), "rate" (the share of requests it takes), "seconds" (slow)}; None when it behaves
        self.spell: dict | None = None
        self.requests: deque = deque(maxlen=500)
        self.spec_violations: list[str] = []
        self.spec_exempted: list[str] = []  # what the records stored raw broke (not counted as violations)
        self.webhook_key = webhook_key
        self.webhooks = WebhookSender(webhook_url, webhook_key, self.clock) if webhook_url and webhook_key else None
        self.local = threading.local()
        self.store.on_event = self._on_event
        self.base_url = ""
        if validate_spec:  # load the big spec now, not on the first request
            specval.load("xero_accounting.yaml")
            specval.load("xero-identity.yaml")

    # events are held per request and sent after the transaction commits
    def _on_event(self, tenant, category, kind, resource_id):
        pending = getattr(self.local, "pending", None)
        if pending is not None:
            pending.append((tenant, category, kind, resource_id))

    def begin_events(self):
        self.local.pending = []

    def flush_events(self, base_url: str):
        pending, self.local.pending = getattr(self.local, "pending", None) or [], None
        if self.webhooks:
            for tenant, category, kind, resource_id in pending:
                self.webhooks.event(base_url, tenant, category, kind, resource_id)

    def take_fault(self, path: str) -> dict | None:
        if path == "/" or path.startswith(("/ledger", "/__sandbox")):
            return None  # the page that plays the bookkeeper, and the test controls, always answer
        spell = self.spell
        if spell is not None:
            if self.clock.now() >= spell["until"]:
                self.spell = None
            elif random.random() < spell["rate"]:
                return {"kind": spell["kind"], "count": 1, "path": "/", "retry_after": 30,
                        "seconds": spell.get("seconds", 5), "problem": "minute"}
        with self.faults_lock:
            for fault in self.faults:
                if path.startswith(fault.get("path") or "/") and not path.startswith("/__sandbox"):
                    fault["count"] -= 1
                    if fault["count"] <= 0:
                        self.faults.remove(fault)
                    return dict(fault)
        return None

    def close(self):
        if self.webhooks:
            self.webhooks.stop()
        self.store.close()


# --- WSGI middleware: request log, faults, spec validation -------------------------------

class Middleware:
    def __init__(self, wsgi_app, sandbox: Sandbox):
        self.wsgi_app = wsgi_app
        self.sandbox = sandbox

    def __call__(self, environ, start_response):
        sb = self.sandbox
        path = environ.get("PATH_INFO", "")
        entry = {"method": environ.get("REQUEST_METHOD"), "path": path, "query": environ.get("QUERY_STRING", ""),
                 "tenant_id": environ.get("HTTP_XERO_TENANT_ID"),
                 "idempotency_key": environ.get("HTTP_IDEMPOTENCY_KEY"), "status": None}
        if not path.startswith("/__sandbox"):
            sb.requests.append(entry)
        fault = sb.take_fault(path)
        if fault:
            entry["fault"] = fault["kind"]
            answer = self._fault(fault, environ, start_response, entry)
            if answer is not None:
                return answer
        validating = sb.validate_spec and specval.target(path) is not None and not fault
        if not validating:
            captured = {}

            def recording_start(status, headers, exc_info=None):
                captured["status"] = status
                entry["status"] = int(status.split()[0])
                return start_response(status, headers, exc_info)
            return self.wsgi_app(environ, recording_start)
        # buffer both sides to check them against the spec
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        captured = {}

        def buffering_start(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None
        chunks = self.wsgi_app(environ, buffering_start)
        try:
            response_body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        status = int(captured["status"].split()[0])
        entry["status"] = status
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        response_type = next((v for k, v in captured["headers"] if k.lower() == "content-type"), "")
        if status not in (401, 403, 429):  # rejected before the operation ran: the spec does not cover these
            # an answer holding records stored raw (off-spec on purpose) is checked without them
            checked_body = environ.get(SPEC_BODY, response_body)
            try:
                found = specval.check(entry["method"], path, entry["query"], headers, body, status, checked_body,
                                      response_type.split(";")[0])
                if checked_body is not response_body:
                    sb.spec_exempted.extend(m for m in specval.check(
                        entry["method"], path, entry["query"], headers, body, status, response_body,
                        response_type.split(";")[0]) if m not in found)
            except Exception as exc:  # noqa: BLE001 - the checker must never break a response
                found = [f"{entry['method']} {path} checker error: {exc!r}"]
            sb.spec_violations.extend(found)
        start_response(captured["status"], captured["headers"])
        return [response_body]

    def _fault(self, fault, environ, start_response, entry):
        kind = fault["kind"]
        if kind == "timeout":
            time.sleep(float(fault.get("seconds") or 30))
            return None
        if kind == "drop":
            sock = environ.get("werkzeug.socket")
            entry["status"] = 0
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                start_response("500 Dropped", [("Content-Length", "0")])
                return []
            start_response("502 Bad Gateway", [("Content-Type", "text/plain")])
            return [b""]
        if kind == "malformed":
            entry["status"] = 200
            body = b'{"Id": "' + str(uuid.uuid4()).encode() + b'", "Status": "OK", "Contacts": [{"Name": "Trunc'
            start_response("200 OK", [("Content-Type", "application/json; charset=utf-8"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        status = int(kind)
        entry["status"] = status
        headers = [("Content-Type", "application/json; charset=utf-8")]
        if status == 429:
            headers += [("Retry-After", str(int(fault.get("retry_after") or 60))),
                        ("X-Rate-Limit-Problem", fault.get("problem") or "minute")]
            body = {"Title": "Too Many Requests", "Status": 429, "Detail": "Rate limit exceeded"}
        elif status == 503:
            body = {"Title": "Service Unavailable", "Status": 503,
                    "Detail": "The Xero API is currently unavailable. Please try again later."}
        else:
            body = {"Title": "An error occurred", "Status": status,
                    "Detail": "An error occurred in Xero. Check the API Status page "
                              "http://status.developer.xero.com for current service status."}
        data = json.dumps(body).encode()
        start_response(f"{status} {'Too Many Requests' if status == 429 else 'Error'}",
                       headers + [("Content-Length", str(len(data)))])
        return [data]


# --- the app ------------------------------------------------------------------------------

def build_app(sb: Sandbox) -> Flask:
    app = Flask("sandbox")
    app.config["SANDBOX"] = sb
    store = sb.store

    def base() -> str:
        return request.host_url.rstrip("/")

    # --- identity ------------------------------------------------------------------------

    @app.get("/.well-known/openid-configuration")
    def discovery():
        b = base()
        return json_response({
            "issuer": b, "authorization_endpoint": f"{b}/identity/connect/authorize",
            "token_endpoint": f"{b}/connect/token", "revocation_endpoint": f"{b}/connect/revocation",
            "userinfo_endpoint": f"{b}/connect/userinfo", "jwks_uri": f"{b}/.well-known/openid-configuration/jwks",
            "end_session_endpoint": f"{b}/connect/endsession",
            "scopes_supported": SCOPES, "claims_supported": ["sub", "email", "given_name", "family_name",
                                                             "xero_userid", "global_session_id"],
            "response_types_supported": ["code"], "response_modes_supported": ["query", "form_post"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["HS256"],
            "code_challenge_methods_supported": ["S256", "plain"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        })

    def redirect_to(uri: str, params: dict) -> Response:
        parts = urlsplit(uri)
        query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v is not None]
        return Response(status=302, headers={"Location": urlunsplit(parts._replace(query=urlencode(query)))})

    @app.route("/identity/connect/authorize", methods=["GET", "POST"])
    def authorize():
        form = request.values
        client_id, redirect_uri = form.get("client_id", ""), form.get("redirect_uri", "")
        state = form.get("state")
        if client_id != sb.client_id:
            return ledger.error_page("Unknown app", f"No app with client id “{client_id}” is registered "
                                     "with this sandbox."), 400
        if not redirect_uri or (sb.redirect_uris and redirect_uri not in sb.redirect_uris):
            return ledger.error_page("Invalid redirect URI", "The redirect_uri is missing or not registered "
                                     "for this app."), 400
        if form.get("response_type") != "code":
            return redirect_to(redirect_uri, {"error": "unsupported_response_type", "state": state})
        scopes = form.get("scope", "").split()
        if not scopes or any(s not in SCOPES for s in scopes):
            return redirect_to(redirect_uri, {"error": "invalid_scope", "state": state})
        method = form.get("code_challenge_method") or ("plain" if form.get("code_challenge") else None)
        if form.get("code_challenge") and method not in ("S256", "plain"):
            return redirect_to(redirect_uri, {"error": "invalid_request", "state": state})
        organisations = store.organisations()
        if request.method == "GET":
            return ledger.consent_page(sb, form, organisations, scopes)
        if form.get("action") != "allow":
            return redirect_to(redirect_uri, {"error": "access_denied", "state": state})
        chosen = [t for t in form.getlist("tenant") if t in {o["tenant_id"] for o in organisations}]
        if not chosen:
            return ledger.consent_page(sb, form, organisations, scopes,
                                       error="Choose at least one organisation to connect."), 200
        now = sb.clock.now()
        event = str(uuid.uuid4())
        code = secrets.token_urlsafe(32)
        with store.tx() as db:
            db.execute("INSERT INTO auth_events (id, client_id, scope, user, created) VALUES (?,?,?,?,?)",
                       (event, client_id, " ".join(scopes), USER["email"], now))
            for tenant in chosen:
                row = db.execute("SELECT id FROM connections WHERE client_id=? AND tenant_id=?",
                                 (client_id, tenant)).fetchone()
                if row:
                    db.execute("UPDATE connections SET auth_event_id=?, updated=? WHERE id=?", (event, now, row["id"]))
                else:
                    db.execute("INSERT INTO connections (id, client_id, tenant_id, auth_event_id, created, updated) "
                               "VALUES (?,?,?,?,?,?)", (str(uuid.uuid4()), client_id, tenant, event, now, now))
            db.execute("INSERT INTO codes (code, client_id, redirect_uri, scope, auth_event_id, challenge, method, "
                       "nonce, expires_at) VALUES (?,?,?,?,?,?,?,?,?)",
                       (code, client_id, redirect_uri, " ".join(scopes), event, form.get("code_challenge"),
                        method, form.get("nonce"), now + CODE_LIFETIME))
        return redirect_to(redirect_uri, {"code": code, "scope": " ".join(scopes), "state": state,
                                          "session_state": secrets.token_urlsafe(16)})

    def client_auth():
        auth = request.authorization
        if auth and auth.type == "basic":
            client_id, secret = auth.username, auth.password
        else:
            client_id, secret = request.form.get("client_id"), request.form.get("client_secret")
        return (client_id == sb.client_id and secret is not None
                and hmac.compare_digest(str(secret), sb.client_secret))

    def token_error(error: str, status: int = 400, description: str | None = None):
        body = {"error": error}
        if description:
            body["error_description"] = description
        return json_response(body, status, {"Cache-Control": "no-store"})

    def issue(db, event: str, scope: str, nonce: str | None = None) -> dict:
        now = sb.clock.now()
        scopes = scope.split()
        claims = {"nbf": int(now), "exp": int(now) + ACCESS_LIFETIME, "iss": base(), "aud": f"{base()}/resources",
                  "client_id": sb.client_id, "sub": USER["sub"], "auth_time": int(now), "xero_userid": USER["sub"],
                  "global_session_id": event.replace("-", ""), "sid": event.replace("-", "")[:32],
                  "jti": secrets.token_hex(16), "authentication_event_id": event, "scope": scopes}
        access = jwt(claims, sb.client_secret)
        db.execute("INSERT INTO access_tokens (token, auth_event_id, client_id, scope, expires_at) VALUES (?,?,?,?,?)",
                   (access, event, sb.client_id, scope, now + ACCESS_LIFETIME))
        body = {"access_token": access, "expires_in": ACCESS_LIFETIME, "token_type": "Bearer", "scope": scope}
        if "openid" in scopes:
            id_claims = {"nbf": int(now), "exp": int(now) + 300, "iss": base(), "aud": sb.client_id,
                         "iat": int(now), "at_hash": b64url(hashlib.sha256(access.encode()).digest()[:16]),
                         "sid": claims["sid"], "sub": USER["sub"], "auth_time": int(now), "xero_userid": USER["sub"],
                         "global_session_id": claims["global_session_id"], "preferred_username": USER["email"],
                         "email": USER["email"], "given_name": USER["given_name"],
                         "family_name": USER["family_name"], "name": USER["name"]}
            if nonce:
                id_claims["nonce"] = nonce
            body["id_token"] = jwt(id_claims, sb.client_secret)
        if "offline_access" in scopes:
            refresh = secrets.token_urlsafe(32)
            db.execute("INSERT INTO refresh_tokens (token, auth_event_id, client_id, scope, issued) VALUES (?,?,?,?,?)",
                       (refresh, event, sb.client_id, scope, now))
            body["refresh_token"] = refresh
        return body

    @app.post("/connect/token")
    def token():
        if not client_auth():
            return token_error("invalid_client", 401)
        grant = request.form.get("grant_type")
        now = sb.clock.now()
        with store.tx() as db:
            if grant == "authorization_code":
                row = db.execute("SELECT * FROM codes WHERE code=?", (request.form.get("code", ""),)).fetchone()
                if row is None or row["used"] or row["expires_at"] < now or row["client_id"] != sb.client_id \
                        or row["redirect_uri"] != request.form.get("redirect_uri"):
                    if row is not None and row["used"]:  # a replayed code: revoke what it gave
                        db.execute("UPDATE refresh_tokens SET revoked=1 WHERE auth_event_id=?", (row["auth_event_id"],))
                        db.execute("UPDATE access_tokens SET revoked=1 WHERE auth_event_id=?", (row["auth_event_id"],))
                    return token_error("invalid_grant")
                db.execute("UPDATE codes SET used=1 WHERE code=?", (row["code"],))
                if row["challenge"]:
                    verifier = request.form.get("code_verifier") or ""
                    expected = b64url(hashlib.sha256(verifier.encode()).digest()) if row["method"] == "S256" \
                        else verifier
                    if not verifier or not hmac.compare_digest(expected, row["challenge"]):
                        return token_error("invalid_grant", description="code_verifier does not match")
                body = issue(db, row["auth_event_id"], row["scope"], row["nonce"])
            elif grant == "refresh_token":
                row = db.execute("SELECT * FROM refresh_tokens WHERE token=?",
                                 (request.form.get("refresh_token", ""),)).fetchone()
                if row is None or row["revoked"] or row["client_id"] != sb.client_id \
                        or now > row["issued"] + REFRESH_IDLE \
                        or (row["rotated_at"] is not None and now > row["rotated_at"] + REFRESH_GRACE):
                    return token_error("invalid_grant")
                if row["rotated_at"] is None:
                    db.execute("UPDATE refresh_tokens SET rotated_at=? WHERE token=?", (now, row["token"]))
                body = issue(db, row["auth_event_id"], row["scope"])
            else:
                return token_error("unsupported_grant_type")
        if sb.validate_spec:
            sb.spec_violations.extend(f"POST /connect/token response: {m}"
                                      for m in specval.check_schema("xero-identity.yaml", "AccessToken", body))
        return json_response(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    @app.post("/connect/revocation")
    def revocation():
        if not client_auth():
            return token_error("invalid_client", 401)
        value = request.form.get("token", "")
        with store.tx() as db:
            row = db.execute("SELECT auth_event_id FROM refresh_tokens WHERE token=? AND client_id=?",
                             (value, sb.client_id)).fetchone() or \
                db.execute("SELECT auth_event_id FROM access_tokens WHERE token=? AND client_id=?",
                           (value, sb.client_id)).fetchone()
            if row:
                event = row["auth_event_id"]
                db.execute("UPDATE refresh_tokens SET revoked=1 WHERE auth_event_id=?", (event,))
                db.execute("UPDATE access_tokens SET revoked=1 WHERE auth_event_id=?", (event,))
                db.execute("DELETE FROM connections WHERE auth_event_id=?", (event,))
        return Response(status=200)

    # --- bearer-protected: connections and accounting -------------------------------------

    def authenticate():
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return None, problem(401, "Unauthorized", "AuthenticationUnsuccessful",
                                 {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        row = store.one("SELECT * FROM access_tokens WHERE token=?", (header[7:].strip(),))
        if row is None or row["revoked"]:
            return None, problem(401, "Unauthorized", "AuthenticationUnsuccessful",
                                 {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if row["expires_at"] <= sb.clock.now():
            at = datetime.fromtimestamp(row["expires_at"], tz=timezone.utc).strftime("%m/%d/%Y %H:%M:%S")
            return None, problem(401, "Unauthorized", f"TokenExpired: token expired at {at}",
                                 {"WWW-Authenticate": 'Bearer error="invalid_token", '
                                                      'error_description="The token expired"'})
        return row, None

    @app.before_request
    def guard():
        path = request.path
        g.limit_key = None
        is_api = path.startswith(API + "/") or path == API
        is_connections = path.lower().rstrip("/") == "/connections" or path.lower().startswith("/connections/")
        if not (is_api or is_connections):
            return None
        token_row, failure = authenticate()
        if failure is not None:
            return failure
        g.token = token_row
        if is_api:
            tenant = (request.headers.get("xero-tenant-id") or "").strip().lower()
            connected = tenant and store.one("SELECT 1 FROM connections WHERE client_id=? AND tenant_id=?",
                                             (sb.client_id, tenant))
            if not connected:
                return problem(403, "Forbidden", "AuthenticationUnsuccessful")
            g.tenant = tenant
            key = tenant
        else:
            key = f"app:{sb.client_id}"
        problem_name, retry, headers = sb.limiter.acquire(key)
        g.limit_headers = headers
        if problem_name:
            response = json_response({"Title": "Too Many Requests", "Status": 429,
                                      "Detail": f"Rate limit exceeded: {problem_name}"}, 429)
            response.headers["Retry-After"] = str(retry)
            response.headers["X-Rate-Limit-Problem"] = problem_name
            return response
        g.limit_key = key
        return None

    @app.after_request
    def limit_headers(response):
        for name, value in (getattr(g, "limit_headers", None) or {}).items():
            response.headers[name] = value
        return response

    @app.teardown_request
    def release(_exc=None):
        key = getattr(g, "limit_key", None)
        if key:
            sb.limiter.release(key)
            g.limit_key = None

    @app.get("/connections")
    @app.get("/Connections")
    def connections():
        sql, args = "SELECT c.*, o.name FROM connections c JOIN orgs o ON o.tenant_id=c.tenant_id WHERE c.client_id=?", \
            [sb.client_id]
        if request.args.get("authEventId"):
            sql += " AND c.auth_event_id=?"
            args.append(request.args["authEventId"].lower())
        rows = store.query(sql + " ORDER BY c.created, o.position", args)
        return json_response([connection_out(r) for r in rows])

    @app.delete("/connections/<cid>")
    @app.delete("/Connections/<cid>")
    def delete_connection(cid):
        with store.tx() as db:
            gone = db.execute("DELETE FROM connections WHERE id=? AND client_id=?", (cid.lower(), sb.client_id))
        return Response(status=204 if gone.rowcount else 404)

    # --- accounting: helpers ------------------------------------------------------------------

    def envelope(**parts) -> dict:
        return {"Id": str(uuid.uuid4()), "Status": "OK", "ProviderName": PROVIDER_NAME,
                "DateTimeUTC": ms_date(sb.clock.now_ms()).replace("+0000", ""), **parts}

    def listing(field: str, records: list, **parts) -> Response:
        """A list answer. Records stored raw (books.Raw) go out as they were given; the spec
        checker is shown the same answer without them."""
        body = envelope(**parts, **{field: [r.value if isinstance(r, books.Raw) else r for r in records]})
        if any(isinstance(r, books.Raw) for r in records):
            request.environ[SPEC_BODY] = dumps(
                {**body, field: [r for r in records if not isinstance(r, books.Raw)]}).encode()
        return json_response(body)

    def raw_one(kind: str, field: str, record_id: str) -> Response | None:
        """GET by id of a record stored raw, if there is one with this id."""
        wanted = record_id.lower()
        found = [books.Raw(value) for rid, _, value in store.raw_records(g.tenant, kind) if rid == wanted]
        return listing(field, found[-1:]) if found else None

    def since() -> float | None:
        return parse_moment(request.headers.get("If-Modified-Since"))

    def query_error(exc) -> Response:
        return json_response({"ErrorNumber": 16, "Type": "QueryParseException", "Message": str(exc)}, 400)

    def validation_error(elements) -> Response:
        return json_response({"ErrorNumber": 10, "Type": "ValidationException",
                              "Message": "A validation exception occurred", "Elements": elements}, 400)

    def not_found() -> Response:
        return json_response({"Title": "Not Found", "Status": 404,
                              "Detail": "The resource you're looking for cannot be found"}, 404)

    def read_body():
        try:
            return loads(request.get_data() or b"{}"), None
        except ValueError as exc:
            return None, json_response({"ErrorNumber": 17, "Type": "PostDataInvalidException",
                                        "Message": f"The request body is not valid JSON: {exc}"}, 400)

    def summarize() -> bool:
        return request.args.get("summarizeErrors", "true").lower() != "false"

    def write(handler):
        """Run a write once per Idempotency-Key, in one transaction, then send its webhooks."""
        key = request.headers.get("Idempotency-Key")
        if key is not None and len(key) > 128:
            return validation_error([{"ValidationErrors": [
                {"Message": "The Idempotency-Key header must not be longer than 128 characters."}]}])
        tenant = g.tenant
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
                sb.local.pending = []
            if key:
                store.run("INSERT OR REPLACE INTO idempotency (tenant_id, key, status, body, created) VALUES (?,?,?,?,?)",
                          (tenant, key, response.status_code, response.get_data(as_text=True), sb.clock.now()))
        sb.flush_events(base())
        return response

    def batch(elements, save, render, id_field, error_flag):
        """Apply save() to each element; Xero's summarizeErrors semantics."""
        if not isinstance(elements, list):
            return validation_error([{"ValidationErrors": [{"Message": "The request body must hold a list."}]}])
        results, failed = [], []
        for element in elements:
            store.run("SAVEPOINT element")
            pending = len(getattr(sb.local, "pending", None) or [])
            doc, errors = save(element)
            if errors:
                store.run("ROLLBACK TO element")
                if sb.local.pending is not None:
                    del sb.local.pending[pending:]
                failed_element = dict(element) if isinstance(element, dict) else {}
                failed_element.update({error_flag: True, "StatusAttributeString": "ERROR",
                                       "ValidationErrors": [{"Message": m} for m in errors]})
                failed.append(failed_element)
                results.append(failed_element)
            else:
                results.append(dict(render(doc), StatusAttributeString="OK"))
            store.run("RELEASE element")
        if failed and summarize():
            return validation_error([{k: v for k, v in f.items() if k not in ("StatusAttributeString", error_flag)}
                                     for f in failed])
        return json_response(envelope(**{id_field: results}))

    def wrapped(body, name):
        if isinstance(body, dict) and name in body:
            return body[name]
        if isinstance(body, list):
            return body
        return [body]

    # --- accounting: reads ------------------------------------------------------------

    @app.get(f"{API}/Organisation")
    def get_organisation():
        return json_response(envelope(Organisations=[store.organisation(g.tenant)]))

    @app.get(f"{API}/Contacts")
    def get_contacts():
        try:
            contacts, pagination = books.list_contacts(store, g.tenant, request.args, since())
        except books.QueryError as exc:
            return query_error(exc)
        parts = {"pagination": pagination} if pagination else {}
        return listing("Contacts", contacts, **parts)

    @app.get(f"{API}/Contacts/<contact_id>")
    def get_contact(contact_id):
        doc = store.get_contact(g.tenant, contact_id)
        if doc is None:
            row = store.one("SELECT doc FROM contacts WHERE tenant_id=? AND doc LIKE ?",
                            (g.tenant, '%"ContactNumber":' + dumps(contact_id) + "%"))
            doc = loads(row["doc"]) if row else None
        if doc is None:
            return raw_one("contact", "Contacts", contact_id) or not_found()
        return json_response(envelope(Contacts=[books.contact_out(doc)]))

    def simple_list(table: str, field: str, order: str, raw_kind: str):
        moment = since()
        if table == "taxrates":
            moment = None
        rows = store.query(f"SELECT doc FROM {table} WHERE tenant_id=? ORDER BY {order}", (g.tenant,))  # noqa: S608
        docs = [loads(r["doc"]) for r in rows]
        if moment is not None:
            docs = [d for d in docs if d.get("UpdatedDateUTC", 0) >= moment * 1000]
        try:
            where = books.parse_where(request.args.get("where"))
        except books.QueryError as exc:
            return query_error(exc)
        docs = [d for d in docs if books.matches(d, where)]
        for d in docs:
            if "UpdatedDateUTC" in d:
                d["UpdatedDateUTC"] = ms_date(d["UpdatedDateUTC"])
        return listing(field, docs + books.raw_listed(store, g.tenant, raw_kind, moment, where))

    @app.get(f"{API}/Items")
    def get_items():
        return simple_list("items", "Items", "code", "item")

    @app.get(f"{API}/Accounts")
    def get_accounts():
        return simple_list("accounts", "Accounts", "code", "account")

    @app.get(f"{API}/TaxRates")
    def get_tax_rates():
        return simple_list("taxrates", "TaxRates", "rowid", "tax_rate")

    # --- accounting: contacts ------------------------------------------------------------

    def contact_writes(mode, path_id=None):
        body, failure = read_body()
        if failure:
            return failure
        elements = wrapped(body, "Contacts")
        if path_id and len(elements) != 1:
            return validation_error([{"ValidationErrors": [{"Message": "Send exactly one contact."}]}])
        return write(lambda: batch(elements, lambda e: books.save_contact(store, g.tenant, e, mode, path_id),
                                   books.contact_out, "Contacts", "HasValidationErrors"))

    @app.put(f"{API}/Contacts")
    def create_contacts():
        return contact_writes("create")

    @app.post(f"{API}/Contacts")
    def update_or_create_contacts():
        return contact_writes("upsert")

    @app.post(f"{API}/Contacts/<contact_id>")
    def update_contact(contact_id):
        if store.get_contact(g.tenant, contact_id) is None:
            return not_found()
        return contact_writes("update", contact_id.lower())

    # --- accounting: invoices --------------------------------------------------------------

    @app.get(f"{API}/Invoices")
    def get_invoices():
        try:
            invoices, pagination = books.list_invoices(store, g.tenant, request.args, since())
        except books.QueryError as exc:
            return query_error(exc)
        parts = {"pagination": pagination} if pagination else {}
        return listing("Invoices", invoices, **parts)

    @app.get(f"{API}/Invoices/<invoice_id>")
    def get_invoice(invoice_id):
        doc = store.get_invoice(g.tenant, invoice_id)
        if doc is None:
            row = store.one("SELECT doc FROM invoices WHERE tenant_id=? AND number=?", (g.tenant, invoice_id))
            doc = loads(row["doc"]) if row else None
        if doc is None:
            return raw_one("invoice", "Invoices", invoice_id) or not_found()
        return json_response(envelope(Invoices=[books.invoice_out(doc)]))

    def invoice_writes(mode, path_id=None):
        body, failure = read_body()
        if failure:
            return failure
        elements = wrapped(body, "Invoices")
        if path_id and len(elements) != 1:
            return validation_error([{"ValidationErrors": [{"Message": "Send exactly one invoice."}]}])
        return write(lambda: batch(elements, lambda e: books.save_invoice(store, g.tenant, e, mode, path_id),
                                   books.invoice_out, "Invoices", "HasErrors"))

    @app.put(f"{API}/Invoices")
    def create_invoices():
        return invoice_writes("create")

    @app.post(f"{API}/Invoices")
    def update_or_create_invoices():
        return invoice_writes("upsert")

    @app.post(f"{API}/Invoices/<invoice_id>")
    def update_invoice(invoice_id):
        if store.get_invoice(g.tenant, invoice_id) is None:
            return not_found()
        return invoice_writes("update", invoice_id.lower())

    # --- accounting: payments ------------------------------------------------------------------

    @app.route(f"{API}/Payments", methods=["PUT", "POST"])
    def create_payments():
        body, failure = read_body()
        if failure:
            return failure
        elements = wrapped(body, "Payments")
        return write(lambda: batch(elements, lambda e: books.create_payment(store, g.tenant, e),
                                   books.payment_out, "Payments", "HasValidationErrors"))

    @app.get(f"{API}/Payments")
    def get_payments():
        try:
            payments, pagination = books.list_payments(store, g.tenant, request.args, since())
        except books.QueryError as exc:
            return query_error(exc)
        parts = {"pagination": pagination} if pagination else {}
        return json_response(envelope(**parts, Payments=payments))

    @app.get(f"{API}/Payments/<payment_id>")
    def get_payment(payment_id):
        row = store.one("SELECT doc FROM payments WHERE tenant_id=? AND payment_id=?", (g.tenant, payment_id.lower()))
        return json_response(envelope(Payments=[books.payment_out(loads(row["doc"]))])) if row else not_found()

    # --- ledger pages (Priya, the bookkeeper) -------------------------------------------------

    @app.get("/")
    @app.get("/ledger")
    def ledger_page():
        return ledger.ledger_page(sb, request.args.get("message"))

    def bookkeeper(change, done: str, refused: str) -> Response:
        """One change made on the ledger page as the bookkeeper would in the package: in
        one transaction (rolled back when the books refuse it), with its webhooks; back to
        the page with what happened."""
        sb.begin_events()
        errors: list[str] = []
        with store.lock:
            try:
                with store.tx():
                    errors = change()
                    if errors:
                        raise Rollback(None)
            except Rollback:
                sb.local.pending = []
        sb.flush_events(base())
        message = done if not errors else f"{refused}: " + " ".join(errors)
        return Response(status=303, headers={"Location": "/ledger?" + urlencode({"message": message})})

    @app.post("/ledger/payments")
    def ledger_payment():
        form = request.form
        tenant, invoice_id = form.get("tenant_id", ""), form.get("invoice_id", "")
        return bookkeeper(lambda: books.create_payment(store, tenant, {
            "Invoice": {"InvoiceID": invoice_id}, "Account": {"Code": form.get("account") or "090"},
            "Date": form.get("date") or None, "Amount": form.get("amount"),
            "Reference": form.get("reference") or "Ledger page"})[1], "Payment applied.", "Payment refused")

    INVOICE_ACTIONS = {"approve": ("AUTHORISED", "Approved."), "void": ("VOIDED", "Voided."),
                       "delete": ("DELETED", "Deleted.")}

    @app.post("/ledger/invoices/<invoice_id>/<action>")
    def ledger_invoice(invoice_id, action):
        if action not in INVOICE_ACTIONS:
            return not_found()
        status, done = INVOICE_ACTIONS[action]
        tenant = request.form.get("tenant_id", "")
        return bookkeeper(lambda: books.save_invoice(store, tenant, {"Status": status}, "update", invoice_id)[1],
                          done, "Refused")

    @app.post("/ledger/contacts/<contact_id>/<action>")
    def ledger_contact(contact_id, action):
        tenant, form = request.form.get("tenant_id", ""), request.form
        changes = {"archive": {"ContactStatus": "ARCHIVED"}, "restore": {"ContactStatus": "ACTIVE"},
                   "rename": {"Name": (form.get("name") or "").strip()}}.get(action)
        if changes is None:
            return not_found()
        done = {"archive": "Archived.", "restore": "Restored.", "rename": "Renamed."}[action]
        if action == "rename" and not changes["Name"]:
            return bookkeeper(lambda: ["A contact needs a name."], done, "Refused")
        return bookkeeper(lambda: books.save_contact(store, tenant, changes, "update", contact_id)[1], done, "Refused")

    @app.post("/ledger/payments/<payment_id>/remove")
    def ledger_remove_payment(payment_id):
        tenant = request.form.get("tenant_id", "")
        return bookkeeper(lambda: books.delete_payment(store, tenant, payment_id)[1], "Payment removed.", "Refused")

    SPELLS = {"down": ("503", 1.0, "down (503 to every call)"), "slow": ("timeout", 1.0, "slow (5 s a call)"),
              "limited": ("429", 1.0, "over its rate limit (429 to every call)"),
              "flaky": ("500", 0.3, "flaky (500 to 3 calls in 10)")}

    @app.post("/ledger/misbehave")
    def ledger_misbehave():
        kind = request.form.get("kind", "")
        try:
            minutes = min(max(float(request.form.get("minutes") or 5), 0.1), 120)
        except ValueError:
            minutes = 5
        if kind == "stop":
            sb.spell = None
            message = "The package behaves again."
        elif kind == "revoke":
            with store.tx() as db:
                db.execute("UPDATE refresh_tokens SET revoked=1")
            message = "Every refresh token was revoked: apps must be connected again once their access token ends."
        elif kind in SPELLS:
            fault, rate, words = SPELLS[kind]
            sb.spell = {"kind": fault, "rate": rate, "until": sb.clock.now() + minutes * 60, "seconds": 5,
                        "name": kind}
            message = f"The package is {words} for {minutes:g} minutes."
        else:
            message = "Choose how the package should misbehave."
        return Response(status=303, headers={"Location": "/ledger?" + urlencode({"message": message})})

    @app.post("/ledger/apps/<cid>/remove")
    def ledger_remove_app(cid):
        def remove():
            gone = store.run("DELETE FROM connections WHERE id=?", (cid.lower(),))
            return [] if gone.rowcount else ["That app is not connected."]
        return bookkeeper(remove, "Factory was removed from the connected apps: it can no longer reach these books.",
                          "Not removed")

    # --- test controls ------------------------------------------------------------------------

    if sb.test_controls:
        register_controls(app, sb, base)
    return app


def connection_out(row) -> dict:
    return {"id": row["id"], "authEventId": row["auth_event_id"], "tenantId": row["tenant_id"],
            "tenantType": "ORGANISATION", "tenantName": row["name"], "createdDateUtc": iso_utc(row["created"]),
            "updatedDateUtc": iso_utc(row["updated"])}


def register_controls(app: Flask, sb: Sandbox, base):
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
        return json_response({"connections": [connection_out(r) for r in rows], "organisations": organisations,
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
        inserted = books.bulk_contacts(store, tenant, count, int(data.get("customers") or 0),
                                       int(data.get("suppliers") or 0), int(data.get("both") or 0))
        return json_response({"inserted": inserted})

    @app.post("/__sandbox/raw-records")
    def store_raw_records():
        """Store records exactly as given, whatever their shape: {"kind": "contact" | "item" |
        "account" | "tax_rate" | "invoice", "records": [...] (or "record": one), "tenantId"?}.
        The API lists them as they are (after its own records; If-Modified-Since, IDs= and
        where= apply, their change time being when they were stored), and Contacts/{id},
        Invoices/{id} return them by id. They are off Xero's schema on purpose: the spec
        checker is shown each answer without them (what they break: sandbox.spec_exempted).
        DELETE (or /__sandbox/reset) removes them."""
        try:
            data = loads(request.get_data() or b"{}")  # numbers kept exactly as written
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return json_response({"error": "the body must be a JSON object"}, 400)
        kind = data.get("kind")
        if kind not in books.RAW_KINDS:
            return json_response({"error": f"kind must be one of {', '.join(books.RAW_KINDS)}"}, 400)
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
            store.put_raw(tenant, kind, books.raw_id(kind, value), value)
        return json_response({"stored": len(records), "kind": kind})

    @app.delete("/__sandbox/raw-records")
    def clear_raw_records():
        return json_response({"removed": store.run("DELETE FROM raw_records").rowcount})

    @app.post("/__sandbox/webhooks/intent")
    def intent():
        if not sb.webhooks:
            return json_response({"error": "no webhook_url / webhook_key configured"}, 400)
        return json_response(intent_to_receive(sb.webhooks.url, sb.webhook_key))
