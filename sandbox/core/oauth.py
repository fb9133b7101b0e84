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


def token_row(db, face: str, table: str, token: str, client_id: str | None = None):
    """The row of a token (`table`: "refresh_tokens" or "access_tokens") that this face
    issued (to that client, when given), or None."""
    sql = (f"SELECT t.* FROM {table} t JOIN auth_events e ON e.id=t.auth_event_id "  # noqa: S608 - fixed names
           "WHERE t.token=? AND e.face=?")
    args = [token, face]
    if client_id is not None:
        sql += " AND t.client_id=?"
        args.append(client_id)
    return db.execute(sql, args).fetchone()


def revoke_grant(db, event: str) -> None:
    """Everything one consent gave: its tokens revoked, its connections removed (the app
    leaves the organisation's connected apps)."""
    db.execute("UPDATE refresh_tokens SET revoked=1 WHERE auth_event_id=?", (event,))
    db.execute("UPDATE access_tokens SET revoked=1 WHERE auth_event_id=?", (event,))
    db.execute("DELETE FROM connections WHERE auth_event_id=?", (event,))


def client_authenticated(sb) -> bool:
    """The request carries the registered client's id and secret (Basic, or in the form)."""
    auth = request.authorization
    if auth and auth.type == "basic":
        client_id, secret = auth.username, auth.password
    else:
        client_id, secret = request.form.get("client_id"), request.form.get("client_secret")
    return (client_id == sb.client_id and secret is not None
            and hmac.compare_digest(str(secret), sb.client_secret))


class SigningKey:
    """An RSA key for RS256 JWTs (id tokens a client checks against the face's JWKS), kept
    in the store's meta so that tokens outlive a restart."""

    def __init__(self, store):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        pem = store.meta("rsa_signing_key")
        if pem is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
            store.set_meta("rsa_signing_key", pem)
        self.key = serialization.load_pem_private_key(pem.encode(), password=None)
        numbers = self.key.public_key().public_numbers()
        self.kid = b64url(hashlib.sha256(str(numbers.n).encode()).digest()[:12])
        self.jwk = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid,
                    "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
                    "e": b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big"))}

    def jwt(self, claims: dict) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": self.kid}).encode())
        payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = self.key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{payload}.{b64url(signature)}"
