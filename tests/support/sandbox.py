"""Helpers for the sandbox's own tests: drive the consent page and get tokens."""
from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox.ledger.seed import HARBOUR_ID, SECOND_ID  # noqa: F401 - re-exported for tests
from sandbox.core.testing import SandboxServer

CLIENT, SECRET = "test-client", "test-secret"
CALLBACK = "http://localhost/callback"
SCOPE = "openid profile email offline_access accounting.contacts accounting.settings accounting.transactions"


@pytest.fixture()
def server(tmp_path):
    with SandboxServer(tmp_path / "sandbox.db", CLIENT, SECRET, test_controls=True) as running:
        yield running


def query(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def authorise(url: str, tenants=(HARBOUR_ID,), action="allow", scope=SCOPE, **extra) -> requests.Response:
    data = {"response_type": "code", "client_id": CLIENT, "redirect_uri": CALLBACK, "scope": scope,
            "state": "st4te", "action": action, "tenant": list(tenants), **extra}
    return requests.post(f"{url}/xero/identity/connect/authorize", data=data, allow_redirects=False, timeout=10)


def exchange(url: str, code: str, **extra) -> requests.Response:
    return requests.post(f"{url}/xero/connect/token", auth=(CLIENT, SECRET), timeout=10,
                         data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, **extra})


def refresh(url: str, token: str) -> requests.Response:
    return requests.post(f"{url}/xero/connect/token", auth=(CLIENT, SECRET), timeout=10,
                         data={"grant_type": "refresh_token", "refresh_token": token})


def connect(url: str, tenants=(HARBOUR_ID,)) -> dict:
    response = authorise(url, tenants)
    assert response.status_code == 302, response.text
    tokens = exchange(url, query(response.headers["Location"])["code"])
    assert tokens.status_code == 200, tokens.text
    return tokens.json()


def pkce_pair(verifier: str = "v" * 50) -> tuple[str, str]:
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class Api:
    """requests against the Xero face's /api.xro/2.0 with the token and tenant header
    (`url` is the sandbox's)."""

    def __init__(self, url: str, access_token: str, tenant: str = HARBOUR_ID):
        self.base = f"{url}/xero/api.xro/2.0"
        self.headers = {"Authorization": f"Bearer {access_token}", "xero-tenant-id": tenant,
                        "Accept": "application/json"}

    def call(self, method: str, path: str, json=None, params=None, headers=None) -> requests.Response:
        return requests.request(method, self.base + path, json=json, params=params, timeout=10,
                                headers={**self.headers, **(headers or {})})

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def put(self, path, json, **kw):
        return self.call("PUT", path, json=json, **kw)

    def post(self, path, json, **kw):
        return self.call("POST", path, json=json, **kw)


def control(url: str, endpoint: str, **body) -> dict:
    response = requests.post(f"{url}/__sandbox/{endpoint}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def api_for(server, tenants=(HARBOUR_ID,)) -> Api:
    return Api(server.url, connect(server.url, tenants)["access_token"], tenants[0])
