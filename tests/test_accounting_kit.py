"""What every adapter shares (accounting/kit/): Decimal-exact JSON, the JSON HTTP client
that names the package in its errors and hands each answer to the package's hook, and
the OAuth2 token calls' errors. Packages are named here by made-up names: the kit knows
none of them."""
from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests
from authlib.integrations.base_client import OAuthError

from factory_app.accounting.base import ReconnectNeeded, Rejected, RetriableError, Unreachable
from factory_app.accounting.kit import jsonmoney
from factory_app.accounting.kit.http import JsonHttp, body_of, retry_after
from factory_app.accounting.kit.oauth import OAuthClient


def test_money_goes_out_and_comes_back_exactly():
    body = jsonmoney.dumps({"UnitAmount": Decimal("48.50"), "Quantity": Decimal("0.3333"), "n": 3})
    assert jsonmoney.loads(body) == {"UnitAmount": Decimal("48.5"), "Quantity": Decimal("0.3333"), "n": 3}
    assert jsonmoney.loads(b"") is None
    with pytest.raises(ValueError, match="too many digits"):
        jsonmoney.dumps({"x": Decimal("1234567890.123456")})  # 16 digits: would be rounded
    with pytest.raises(TypeError):
        jsonmoney.dumps({"x": object()})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_client_names_the_package_when_it_cannot_be_reached_and_lets_the_package_classify():
    seen = []

    def classify(response, url):
        seen.append((response.status_code, url))
        if response.status_code >= 400:
            raise Rejected("refused by the books")
    http = JsonHttp("Otherbooks", classify, timeout=2)
    with pytest.raises(Unreachable, match="^Otherbooks could not be reached"):
        http.call("GET", f"http://127.0.0.1:{_free_port()}/x")
    assert seen == []  # nothing arrived: nothing to classify

    class Answer(requests.Response):
        def __init__(self, status, content):
            super().__init__()
            self.status_code, self._content = status, content
    assert http.json(Answer(200, b'{"Total": 10.10}')) == {"Total": Decimal("10.10")}
    with pytest.raises(RetriableError, match="^Otherbooks sent an unreadable answer"):
        http.json(Answer(200, b"<html>"))
    assert body_of(Answer(400, b"<html>")) is None and body_of(Answer(400, b'{"a": 1}')) == {"a": 1}
    assert (retry_after("12"), retry_after("-3"), retry_after("soon"), retry_after(None)) == (12.0, 0.0, None, None)


def _client() -> OAuthClient:
    return OAuthClient(JsonHttp("Otherbooks", lambda r, u: None, timeout=2), client_id="c", client_secret="s",
                       scopes="books", discovery_url="http://127.0.0.1:1/.well-known/openid-configuration")


def test_token_calls_turn_the_sign_in_services_answers_into_the_interfaces_errors():
    client = _client()
    before = datetime.now(timezone.utc)
    tokens = client._token_call(lambda: {"access_token": "a", "refresh_token": "r", "expires_in": "1200"})
    assert tokens.refresh_token == "r" and timedelta(seconds=1199) <= tokens.expires_at - before <= timedelta(seconds=1201)

    def raising(exc):
        def call():
            raise exc
        return call
    with pytest.raises(ReconnectNeeded, match=r"^Otherbooks refused the authorisation \(invalid_grant\)\. "
                                              r"Connect to Otherbooks again\."):
        client._token_call(raising(OAuthError(error="invalid_grant")))
    with pytest.raises(Rejected, match="^Otherbooks refused the sign-in: slow down"):
        client._token_call(raising(OAuthError(error="temporarily_unavailable", description="slow down")))
    with pytest.raises(Unreachable, match="^Otherbooks's sign-in service did not answer"):
        client._token_call(raising(requests.Timeout()))
    with pytest.raises(Rejected, match="did not grant offline access"):
        client._token_call(lambda: {"access_token": "a"})
    with pytest.raises(RetriableError, match="unreadable"):
        client._token_call(lambda: {"access_token": "a", "refresh_token": "r", "expires_in": "soon"})
