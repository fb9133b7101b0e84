"""OAuth2 with Authlib, as every package's sign-in needs it: the identity server's
discovery document (kept an hour), the authorisation URL with PKCE (S256) and a state,
the code exchange and the refresh (their refusals turned into the interface's errors,
in the package's name), and revocation. The package gives its endpoints' discovery URL,
its client, scopes, how it wants the client authenticated and any extra parameters of
its authorisation URL."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from ..base import Authorisation, ReconnectNeeded, Rejected, RetriableError, TokenSet, Unreachable
from .http import JsonHttp

DISCOVERY_SECONDS = 3600
_discovered: dict[str, tuple[float, dict]] = {}
# the token endpoint's errors that mean the grant is gone: only connecting again mends them
GRANT_GONE = ("invalid_grant", "unauthorized_client", "invalid_client")


class OAuthClient:
    def __init__(self, http: JsonHttp, *, client_id: str, client_secret: str, scopes: str, discovery_url: str,
                 client_auth: str = "client_secret_basic", default_expires_in: int = 1800,
                 authorise_params: dict | None = None):
        self.http, self.package = http, http.package
        self.client_id, self.client_secret, self.scopes = client_id, client_secret, scopes
        self.discovery_url, self.client_auth = discovery_url, client_auth
        self.default_expires_in = default_expires_in
        self.authorise_params = dict(authorise_params or {})

    def metadata(self) -> dict:
        """The identity server's OpenID configuration (kept for an hour)."""
        kept = _discovered.get(self.discovery_url)
        if kept and kept[0] > time.monotonic():
            return kept[1]
        metadata = self.http.call("GET", self.discovery_url)
        _discovered[self.discovery_url] = (time.monotonic() + DISCOVERY_SECONDS, metadata)
        return metadata

    def session(self, redirect_uri: str | None = None) -> OAuth2Session:
        return OAuth2Session(self.client_id, self.client_secret, scope=self.scopes, redirect_uri=redirect_uri,
                             code_challenge_method="S256", token_endpoint_auth_method=self.client_auth,
                             revocation_endpoint_auth_method=self.client_auth)

    def authorisation(self, redirect_uri: str) -> Authorisation:
        verifier, state = generate_token(64), generate_token(32)
        url, _ = self.session(redirect_uri).create_authorization_url(
            self.metadata()["authorization_endpoint"], state=state, code_verifier=verifier, **self.authorise_params)
        return Authorisation(url=url, state=state, code_verifier=verifier)

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None) -> TokenSet:
        endpoint, session = self.metadata()["token_endpoint"], self.session(redirect_uri)
        return self._token_call(lambda: session.fetch_token(
            endpoint, grant_type="authorization_code", code=code, code_verifier=code_verifier,
            timeout=self.http.timeout))

    def refresh(self, refresh_token: str) -> TokenSet:
        endpoint, session = self.metadata()["token_endpoint"], self.session()
        return self._token_call(lambda: session.refresh_token(endpoint, refresh_token=refresh_token,
                                                              timeout=self.http.timeout))

    def revoke(self, token: str, hint: str = "refresh_token", fallback_endpoint: str | None = None) -> requests.Response:
        """The revocation endpoint's answer (requests' errors pass through: the caller
        says what could not be done)."""
        endpoint = self.metadata().get("revocation_endpoint") or fallback_endpoint
        return self.session().revoke_token(endpoint, token=token, token_type_hint=hint, timeout=self.http.timeout)

    def _token_call(self, call) -> TokenSet:
        name = self.package
        try:
            token = call()
        except OAuthError as exc:
            if exc.error in GRANT_GONE:
                raise ReconnectNeeded(f"{name} refused the authorisation ({exc.error}). "
                                      f"Connect to {name} again.") from exc
            raise Rejected(f"{name} refused the sign-in: {exc.description or exc.error}") from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise Unreachable(f"{name}'s sign-in service did not answer. Try again in a moment.") from exc
        except ValueError as exc:  # not JSON
            raise RetriableError(f"{name}'s sign-in service sent an unreadable answer.") from exc
        if not token.get("access_token") or not token.get("refresh_token"):
            raise Rejected(f"{name} did not grant offline access; allow it to keep the connection.")
        try:
            expires_in = int(token.get("expires_in") or self.default_expires_in)  # some send it as text
        except (TypeError, ValueError) as exc:
            raise RetriableError(f"{name}'s sign-in service sent an unreadable answer.") from exc
        return TokenSet(access_token=token["access_token"], refresh_token=token["refresh_token"],
                        expires_at=datetime.now(timezone.utc) + timedelta(seconds=expires_in),
                        scope=token.get("scope", ""))
