"""What every face's OAuth2 server shares: HS256 JWTs signed with the client secret,
redirects with parameters, the token endpoint's error answer, client authentication
(HTTP Basic or the form body), and JSON answers with exact decimals."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Response, request

from .util import dumps


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims: dict, secret: str) -> str:
    """HS256 JWT signed with the client secret."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier."""
    return b64url(hashlib.sha256(verifier.encode()).digest())


def json_response(value, status: int = 200, headers: dict | None = None) -> Response:
    return Response(dumps(value), status=status, headers=headers, mimetype="application/json")


def redirect_to(uri: str, params: dict) -> Response:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v is not None]
    return Response(status=302, headers={"Location": urlunsplit(parts._replace(query=urlencode(query)))})


def token_error(error: str, status: int = 400, description: str | None = None) -> Response:
    body = {"error": error}
    if description:
        body["error_description"] = description
    return json_response(body, status, {"Cache-Control": "no-store"})


def client_authenticated(sb) -> bool:
    """The request carries the registered client's id and secret (Basic, or in the form)."""
    auth = request.authorization
    if auth and auth.type == "basic":
        client_id, secret = auth.username, auth.password
    else:
        client_id, secret = request.form.get("client_id"), request.form.get("client_secret")
    return (client_id == sb.client_id and secret is not None
            and hmac.compare_digest(str(secret), sb.client_secret))
