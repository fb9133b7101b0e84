"""Intuit's OAuth2 server over the sandbox's identity state: the discovery document (all
six keys Intuit's own client reads), the consent page (one company per connection; the
redirect carries `code`, `state` and `realmId`), the token endpoint (HTTP Basic only;
access tokens for an hour; the refresh token keeps its value for a day of use, then a new
one is given and the old one still works for a grace period), revoke (JSON body, which
removes the app from the company's connected apps), userinfo and jwks. Every API call
passes `guard`: a live access token of this face, a connected realm, its rate limits."""
from __future__ import annotations

import secrets
import uuid
from html import escape

from flask import Flask, Response, g, request

from ...core.html import error_page, page
from ...core.oauth import (
    SigningKey, client_authenticated, json_response, jwt, redirect_to, revoke_grant, token_error, token_row,
)
from ...core.util import loads
from ...ledger import seed
from . import LIMITS, fault

FACE = "quickbooks"
ACCESS_LIFETIME = 3600
REFRESH_LIFETIME = 8726400  # 101 days, rolling (x_refresh_token_expires_in)
REFRESH_KEEPS = 86400  # the refresh token's value changes about once a day
REFRESH_GRACE = 1800
CODE_LIFETIME = 600
ACCOUNTING = "com.intuit.quickbooks.accounting"
SCOPES = [ACCOUNTING, "com.intuit.quickbooks.payment", "openid", "profile", "email", "phone", "address"]
REALM_START = 9341452980000001
USER = {"sub": seed.sid("user", "priya", "intuit"), "email": seed.SANDBOX_USER, "givenName": "Priya",
        "familyName": "Raman"}


def realm_of(store, tenant: str) -> str:
    """The company's realm id (a number, as Intuit's are): numbered in the books' order of
    organisations, so the demo company is always the first."""
    for organisation in store.organisations():
        store.face_number(FACE, "", "company", organisation["tenant_id"], start=REALM_START)
    return str(store.face_number(FACE, "", "company", tenant, start=REALM_START))


def tenant_of_realm(store, realm: str) -> str | None:
    return store.face_record(FACE, "", "company", realm)


def auth_fault(detail: str, status: int = 401) -> Response:
    """Intuit's 401: the lower-case `fault` body its gateway answers."""
    return json_response({"warnings": None, "intuitObject": None, "fault": {"error": [{
        "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401", "detail": detail,
        "code": "3200", "element": None}], "type": "AUTHENTICATION"}, "report": None, "queryResponse": None,
        "batchItemResponse": [], "attachableResponse": [], "syncErrorResponse": None, "requestId": None,
        "time": None, "status": None, "cdcresponse": []}, status, {"WWW-Authenticate": 'Bearer realm="Intuit"'})


def consent_page(form, organisations, scopes, error: str | None = None) -> Response:
    keep = ("response_type", "client_id", "redirect_uri", "scope", "state")
    hidden = "".join(f"<input type='hidden' name='{k}' value='{escape(form.get(k, ''), quote=True)}'>"
                     for k in keep if form.get(k) is not None)
    options = "".join(
        f"<label class='org'><input type='radio' name='company' value='{escape(o['tenant_id'], quote=True)}'"
        f"{' checked' if i == 0 else ''}> {escape(o['name'])}</label>" for i, o in enumerate(organisations))
    alert = f"<p class='error' role='alert'>{escape(error)}</p>" if error else ""
    body = f"""
<div class='card'>
  <p class='muted'>Signed in as {escape(USER["email"])} (sandbox)</p>
  <h1>Connect Factory to QuickBooks</h1>
  <p>The app <b>{escape(form.get('client_id', ''))}</b> wants to read and change your company's accounting data
  ({escape(", ".join(scopes))}).</p>
  {alert}
  <form method='post' action='{escape(request.script_root, quote=True)}/connect/oauth2'>
    {hidden}
    <fieldset style='border:0;padding:0'><legend><b>Company to connect</b></legend>{options}</fieldset>
    <p style='display:flex;gap:8px'>
      <button type='submit' name='action' value='allow'>Connect</button>
      <button type='submit' name='action' value='cancel' class='secondary'>Cancel</button>
    </p>
  </form>
</div>"""
    return page("QuickBooks | Connect an app", body, brand="Intuit", note="not the real QuickBooks")


def register(app: Flask, sb) -> None:
    store = sb.store
    face = FACE
    signing: list[SigningKey] = []  # made on first use (the store's meta keeps it)

    def signer() -> SigningKey:
        if not signing:
            with store.lock:
                signing.append(SigningKey(store))
        return signing[0]

    def base() -> str:
        return request.url_root.rstrip("/")

    @app.get("/.well-known/openid_configuration")
    def discovery():
        b = base()
        return json_response({
            "issuer": f"{b}/op/v1", "authorization_endpoint": f"{b}/connect/oauth2",
            "token_endpoint": f"{b}/oauth2/v1/tokens/bearer", "userinfo_endpoint": f"{b}/v1/openid_connect/userinfo",
            "revocation_endpoint": f"{b}/v2/oauth2/tokens/revoke", "jwks_uri": f"{b}/op/v1/jwks",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"], "scopes_supported": SCOPES,
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"]})

    @app.get("/op/v1/jwks")
    def jwks():
        return json_response({"keys": [signer().jwk]})

    @app.route("/connect/oauth2", methods=["GET", "POST"])
    def authorize():
        form = request.values
        client_id, redirect_uri, state = form.get("client_id", ""), form.get("redirect_uri", ""), form.get("state")
        if client_id != sb.client_id:
            return error_page("Unknown app", f"No app with client id “{client_id}” is registered with this sandbox.",
                              brand="Intuit", note="not the real QuickBooks"), 400
        if not redirect_uri or (sb.redirect_uris and redirect_uri not in sb.redirect_uris):
            return error_page("Invalid redirect URI", "The redirect_uri is missing or not registered for this app.",
                              brand="Intuit", note="not the real QuickBooks"), 400
        if form.get("response_type") != "code":
            return redirect_to(redirect_uri, {"error": "unsupported_response_type", "state": state})
        scopes = form.get("scope", "").split()
        if ACCOUNTING not in scopes or any(s not in SCOPES for s in scopes):
            return redirect_to(redirect_uri, {"error": "invalid_scope", "state": state})
        organisations = store.organisations()
        if request.method == "GET":
            return consent_page(form, organisations, scopes)
        if form.get("action") != "allow":
            return redirect_to(redirect_uri, {"error": "access_denied", "state": state})
        tenant = form.get("company", "")
        if tenant not in {o["tenant_id"] for o in organisations}:
            return consent_page(form, organisations, scopes, error="Choose the company to connect.")
        now, event, code = sb.clock.now(), str(uuid.uuid4()), secrets.token_urlsafe(32)
        with store.tx() as db:
            db.execute("INSERT INTO auth_events (id, face, client_id, scope, user, created) VALUES (?,?,?,?,?,?)",
                       (event, face, client_id, " ".join(scopes), USER["email"], now))
            db.execute("DELETE FROM connections WHERE face=? AND client_id=? AND tenant_id=?", (face, client_id, tenant))
            db.execute("INSERT INTO connections (id, face, client_id, tenant_id, auth_event_id, created, updated) "
                       "VALUES (?,?,?,?,?,?,?)", (str(uuid.uuid4()), face, client_id, tenant, event, now, now))
            db.execute("INSERT INTO codes (code, client_id, redirect_uri, scope, auth_event_id, expires_at) "
                       "VALUES (?,?,?,?,?,?)", (code, client_id, redirect_uri, " ".join(scopes), event,
                                                now + CODE_LIFETIME))
        return redirect_to(redirect_uri, {"code": code, "state": state, "realmId": realm_of(store, tenant)})

    def issue(db, event: str, scope: str, refresh: str | None = None) -> dict:
        now = sb.clock.now()
        access = jwt({"iss": f"{base()}/op/v1", "sub": USER["sub"], "aud": sb.client_id, "iat": int(now),
                      "exp": int(now) + ACCESS_LIFETIME, "jti": secrets.token_hex(16)}, sb.client_secret)
        db.execute("INSERT INTO access_tokens (token, auth_event_id, client_id, scope, expires_at) VALUES (?,?,?,?,?)",
                   (access, event, sb.client_id, scope, now + ACCESS_LIFETIME))
        if refresh is None:
            refresh = "RT1-" + secrets.token_urlsafe(40)
            db.execute("INSERT INTO refresh_tokens (token, auth_event_id, client_id, scope, issued) VALUES (?,?,?,?,?)",
                       (refresh, event, sb.client_id, scope, now))
        body = {"token_type": "bearer", "access_token": access, "refresh_token": refresh,
                "expires_in": ACCESS_LIFETIME, "x_refresh_token_expires_in": REFRESH_LIFETIME}
        if "openid" in scope.split():
            tenant = db.execute("SELECT tenant_id FROM connections WHERE auth_event_id=?", (event,)).fetchone()
            body["id_token"] = signer().jwt({"iss": f"{base()}/op/v1", "sub": USER["sub"], "aud": [sb.client_id],
                                             "realmid": realm_of(store, tenant["tenant_id"]) if tenant else None,
                                             "auth_time": int(now), "iat": int(now), "exp": int(now) + 3600})
        return body

    @app.post("/oauth2/v1/tokens/bearer")
    def token():
        if not client_authenticated(sb):
            return token_error("invalid_client", 401)
        grant, now = request.form.get("grant_type"), sb.clock.now()
        with store.tx() as db:
            if grant == "authorization_code":
                row = db.execute("SELECT * FROM codes WHERE code=?", (request.form.get("code", ""),)).fetchone()
                if row is None or row["used"] or row["expires_at"] < now \
                        or row["redirect_uri"] != request.form.get("redirect_uri"):
                    return token_error("invalid_grant")
                db.execute("UPDATE codes SET used=1 WHERE code=?", (row["code"],))
                body = issue(db, row["auth_event_id"], row["scope"])
            elif grant == "refresh_token":
                row = token_row(db, face, "refresh_tokens", request.form.get("refresh_token", ""))
                if row is None or row["revoked"] or now > row["issued"] + REFRESH_LIFETIME \
                        or (row["rotated_at"] is not None and now > row["rotated_at"] + REFRESH_GRACE):
                    return token_error("invalid_grant", description="Incorrect or invalid refresh token")
                keep = row["rotated_at"] is None and now < row["issued"] + REFRESH_KEEPS
                if not keep and row["rotated_at"] is None:
                    db.execute("UPDATE refresh_tokens SET rotated_at=? WHERE token=?", (now, row["token"]))
                body = issue(db, row["auth_event_id"], row["scope"], row["token"] if keep else None)
            else:
                return token_error("unsupported_grant_type")
        return json_response(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    @app.post("/v2/oauth2/tokens/revoke")
    def revoke():
        if not client_authenticated(sb):
            return token_error("invalid_client", 401)
        try:
            value = str((loads(request.get_data() or b"{}") or {}).get("token") or "")
        except (ValueError, AttributeError):
            return token_error("invalid_request", description="The body must be JSON: {\"token\": ...}")
        with store.tx() as db:
            row = token_row(db, face, "refresh_tokens", value) or token_row(db, face, "access_tokens", value)
            if row is None:
                return token_error("invalid_request", description="Token is invalid or already revoked")
            revoke_grant(db, row["auth_event_id"])
        return Response(status=200)

    def authenticate():
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return None, auth_fault("Authentication failed: no bearer token")
        with store.lock:
            row = token_row(store.db, face, "access_tokens", header[7:].strip())
        if row is None or row["revoked"]:
            return None, auth_fault("Token revocation or token invalid")
        if row["expires_at"] <= sb.clock.now():
            return None, auth_fault("Token expired: the access token has expired")
        return row, None

    @app.get("/v1/openid_connect/userinfo")
    def userinfo():
        row, failure = authenticate()
        if failure is not None:
            return failure
        return json_response({**USER, "emailVerified": True})

    @app.before_request
    def guard():
        g.limit_key = None
        if not request.path.startswith("/v3/company/"):
            return None
        row, failure = authenticate()
        if failure is not None:
            return failure
        realm = request.path.split("/")[3]
        tenant = tenant_of_realm(store, realm)
        connected = tenant and store.one("SELECT 1 FROM connections WHERE face=? AND client_id=? AND tenant_id=? "
                                         "AND auth_event_id=?", (face, sb.client_id, tenant, row["auth_event_id"]))
        if not connected:
            return json_response(fault(403, "3100", "message=ApplicationAuthorizationFailed; errorCode=003100; "
                                       "statusCode=403", "This app is not connected to that company.",
                                       "SECURITY"), 403)
        g.tenant, g.realm = tenant, realm
        problem_name, _retry, _headers = sb.limiter.acquire(f"{face}:{realm}", LIMITS)
        if problem_name:
            return json_response(fault(429, "3001", "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                                       f"The request limit was reached ({problem_name}).", "SERVICE"), 429)
        g.limit_key = f"{face}:{realm}"
        return None

    @app.teardown_request
    def release(_exc=None):
        key = getattr(g, "limit_key", None)
        if key:
            sb.limiter.release(key)
            g.limit_key = None
