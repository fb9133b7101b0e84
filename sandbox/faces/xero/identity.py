"""Xero's identity service over the sandbox's identity state: OpenID discovery, the
consent page (login.xero.com's), the authorisation code with PKCE, the token endpoint
(rotating refresh tokens with a grace period, replayed codes revoking what they gave),
revocation, and the connections API (the tenants an app may reach). Every call to the
accounting API or the connections passes `guard`: a live access token, a connected
tenant, and the tenant's rate limits."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timezone
from html import escape

from flask import Flask, Response, g, request

from ...core.html import error_page, page
from ...core.oauth import (
    b64url, client_authenticated, json_response, jwt, redirect_to, revoke_grant, token_error, token_row,
)
from ...core.util import iso_utc
from ...ledger import seed
from . import specval

API = "/api.xro/2.0"
FACE = "xero"  # this face's rows of the shared identity state (auth events, connections)
ACCESS_LIFETIME = 1800
CODE_LIFETIME = 300
REFRESH_GRACE = 1800
REFRESH_IDLE = 60 * 86400
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


def problem(status: int, title: str, detail: str, headers: dict | None = None) -> Response:
    """Xero's identity-style error (401/403)."""
    return json_response({"Type": None, "Title": title, "Status": status, "Detail": detail,
                          "Instance": str(uuid.uuid4()), "Extensions": {}}, status, headers)


def xero_error(title: str, detail: str) -> Response:
    return error_page(title, detail, brand="Xero", note="not the real Xero")


def connection_out(row) -> dict:
    return {"id": row["id"], "authEventId": row["auth_event_id"], "tenantId": row["tenant_id"],
            "tenantType": "ORGANISATION", "tenantName": row["name"], "createdDateUtc": iso_utc(row["created"]),
            "updatedDateUtc": iso_utc(row["updated"])}


SCOPE_TEXT = {
    "openid": "Verify your identity", "profile": "See your name", "email": "See your email address",
    "offline_access": "Keep access when you are not using the app",
    "accounting.contacts": "View and manage your contacts", "accounting.contacts.read": "View your contacts",
    "accounting.settings": "View and manage your organisation settings",
    "accounting.settings.read": "View your organisation settings",
    "accounting.transactions": "View and manage your business transactions",
    "accounting.transactions.read": "View your business transactions",
    "accounting.invoices": "View and manage your invoices, bills and items",
    "accounting.invoices.read": "View your invoices, bills and items",
    "accounting.payments": "View and manage your payments", "accounting.payments.read": "View your payments",
}


def consent_page(sb, form, organisations, scopes, error: str | None = None) -> Response:
    keep = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
            "code_challenge_method", "nonce")
    hidden = "".join(f"<input type='hidden' name='{k}' value='{escape(form.get(k, ''), quote=True)}'>"
                     for k in keep if form.get(k) is not None)
    chosen = set(form.getlist("tenant")) if error is None and form.getlist("tenant") else set()
    boxes = "".join(
        f"<label class='org'><input type='checkbox' name='tenant' value='{o['tenant_id']}'"
        f"{' checked' if (o['tenant_id'] in chosen or (not chosen and i == 0 and error is None)) else ''}> "
        f"{escape(o['name'])}</label>" for i, o in enumerate(organisations))
    items = "".join(f"<li>{escape(SCOPE_TEXT.get(s, s))} <span class='muted'>({escape(s)})</span></li>" for s in scopes)
    alert = f"<p class='error' role='alert'>{escape(error)}</p>" if error else ""
    body = f"""
<div class='card'>
  <p class='muted'>Signed in as {escape(USER["email"])} (sandbox)</p>
  <h1>Factory wants to connect to Xero</h1>
  <p>The app <b>{escape(form.get('client_id', ''))}</b> is asking to:</p>
  <ul>{items}</ul>
  {alert}
  <form method='post' action='{escape(request.script_root, quote=True)}/identity/connect/authorize'>
    {hidden}
    <fieldset style='border:0;padding:0'><legend><b>Organisations to connect</b></legend>{boxes}</fieldset>
    <p style='display:flex;gap:8px'>
      <button type='submit' name='action' value='allow'>Allow access</button>
      <button type='submit' name='action' value='cancel' class='secondary'>Cancel</button>
    </p>
  </form>
</div>"""
    return page("Xero | Authorise app", body, brand="Xero", note="not the real Xero")


def register(app: Flask, sb) -> None:
    store = sb.store

    def base() -> str:
        return request.url_root.rstrip("/")

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

    @app.route("/identity/connect/authorize", methods=["GET", "POST"])
    def authorize():
        form = request.values
        client_id, redirect_uri = form.get("client_id", ""), form.get("redirect_uri", "")
        state = form.get("state")
        if client_id != sb.client_id:
            return xero_error("Unknown app", f"No app with client id “{client_id}” is registered "
                                     "with this sandbox."), 400
        if not redirect_uri or (sb.redirect_uris and redirect_uri not in sb.redirect_uris):
            return xero_error("Invalid redirect URI", "The redirect_uri is missing or not registered "
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
            return consent_page(sb, form, organisations, scopes)
        if form.get("action") != "allow":
            return redirect_to(redirect_uri, {"error": "access_denied", "state": state})
        chosen = [t for t in form.getlist("tenant") if t in {o["tenant_id"] for o in organisations}]
        if not chosen:
            return consent_page(sb, form, organisations, scopes,
                                       error="Choose at least one organisation to connect."), 200
        now = sb.clock.now()
        event = str(uuid.uuid4())
        code = secrets.token_urlsafe(32)
        with store.tx() as db:
            db.execute("INSERT INTO auth_events (id, face, client_id, scope, user, created) VALUES (?,?,?,?,?,?)",
                       (event, FACE, client_id, " ".join(scopes), USER["email"], now))
            for tenant in chosen:
                row = db.execute("SELECT id FROM connections WHERE face=? AND client_id=? AND tenant_id=?",
                                 (FACE, client_id, tenant)).fetchone()
                if row:
                    db.execute("UPDATE connections SET auth_event_id=?, updated=? WHERE id=?", (event, now, row["id"]))
                else:
                    db.execute("INSERT INTO connections (id, face, client_id, tenant_id, auth_event_id, created, "
                               "updated) VALUES (?,?,?,?,?,?,?)",
                               (str(uuid.uuid4()), FACE, client_id, tenant, event, now, now))
            db.execute("INSERT INTO codes (code, client_id, redirect_uri, scope, auth_event_id, challenge, method, "
                       "nonce, expires_at) VALUES (?,?,?,?,?,?,?,?,?)",
                       (code, client_id, redirect_uri, " ".join(scopes), event, form.get("code_challenge"),
                        method, form.get("nonce"), now + CODE_LIFETIME))
        return redirect_to(redirect_uri, {"code": code, "scope": " ".join(scopes), "state": state,
                                          "session_state": secrets.token_urlsafe(16)})

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
        if not client_authenticated(sb):
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
                row = token_row(db, FACE, "refresh_tokens", request.form.get("refresh_token", ""))
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
        if not client_authenticated(sb):
            return token_error("invalid_client", 401)
        value = request.form.get("token", "")
        with store.tx() as db:
            row = token_row(db, FACE, "refresh_tokens", value, sb.client_id) or \
                token_row(db, FACE, "access_tokens", value, sb.client_id)
            if row:
                revoke_grant(db, row["auth_event_id"])
        return Response(status=200)

    def authenticate():
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return None, problem(401, "Unauthorized", "AuthenticationUnsuccessful",
                                 {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        with store.lock:
            row = token_row(store.db, FACE, "access_tokens", header[7:].strip())
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
            connected = tenant and store.one("SELECT 1 FROM connections WHERE face=? AND client_id=? AND tenant_id=?",
                                             (FACE, sb.client_id, tenant))
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
        sql, args = "SELECT c.*, o.name FROM connections c JOIN orgs o ON o.tenant_id=c.tenant_id " \
            "WHERE c.face=? AND c.client_id=?", [FACE, sb.client_id]
        if request.args.get("authEventId"):
            sql += " AND c.auth_event_id=?"
            args.append(request.args["authEventId"].lower())
        rows = store.query(sql + " ORDER BY c.created, o.position", args)
        return json_response([connection_out(r) for r in rows])

    @app.delete("/connections/<cid>")
    @app.delete("/Connections/<cid>")
    def delete_connection(cid):
        with store.tx() as db:
            gone = db.execute("DELETE FROM connections WHERE id=? AND face=? AND client_id=?",
                              (cid.lower(), FACE, sb.client_id))
        return Response(status=204 if gone.rowcount else 404)

