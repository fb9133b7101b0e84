"""The sandbox's identity service: discovery, consent, tokens, revocation, connections."""
from __future__ import annotations

import base64
import json

import requests

from ..support.sandbox import (CALLBACK, CLIENT, HARBOUR_ID, SCOPE, SECOND_ID, Api, authorise, connect, control,
                              exchange, pkce_pair, query, refresh, server)  # noqa: F401


def test_discovery(server):
    doc = requests.get(f"{server.url}/xero/.well-known/openid-configuration", timeout=5).json()
    assert doc["authorization_endpoint"] == f"{server.url}/xero/identity/connect/authorize"
    assert doc["token_endpoint"] == f"{server.url}/xero/connect/token"
    assert doc["revocation_endpoint"] == f"{server.url}/xero/connect/revocation"
    assert doc["code_challenge_methods_supported"] == ["S256", "plain"]
    assert "client_secret_post" in doc["token_endpoint_auth_methods_supported"]
    assert "offline_access" in doc["scopes_supported"] and "accounting.invoices" in doc["scopes_supported"]


def test_consent_page_allow_two_organisations(server):
    page = requests.get(f"{server.url}/xero/identity/connect/authorize", timeout=5, params={
        "response_type": "code", "client_id": CLIENT, "redirect_uri": CALLBACK, "scope": SCOPE, "state": "s"})
    assert page.status_code == 200
    assert "Harbour Sheet Metal (Sandbox)" in page.text and "Second Brand Pty Ltd" in page.text
    assert "Allow access" in page.text and "Cancel" in page.text and "Signed in as priya@" in page.text
    assert "type='checkbox'" in page.text
    tokens = connect(server.url, (HARBOUR_ID, SECOND_ID))
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 1800 and tokens["scope"] == SCOPE
    header, claims, _ = tokens["id_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(claims + "=="))
    assert claims["aud"] == CLIENT and claims["email"].startswith("priya@")
    rows = requests.get(f"{server.url}/xero/connections", headers={"Authorization": f"Bearer {tokens['access_token']}"},
                        timeout=5).json()
    assert {r["tenantId"] for r in rows} == {HARBOUR_ID, SECOND_ID}
    assert all(r["tenantType"] == "ORGANISATION" and r["authEventId"] for r in rows)
    upper = requests.get(f"{server.url}/xero/Connections", timeout=5,
                         params={"authEventId": rows[0]["authEventId"]},
                         headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert len(upper) == 2


def test_cancel_none_chosen_and_bad_requests(server):
    cancelled = authorise(server.url, action="cancel")
    assert cancelled.status_code == 302
    assert query(cancelled.headers["Location"]) == {"error": "access_denied", "state": "st4te"}
    none = authorise(server.url, tenants=())
    assert none.status_code == 200 and "at least one organisation" in none.text
    bad_client = requests.get(f"{server.url}/xero/identity/connect/authorize", timeout=5, params={
        "response_type": "code", "client_id": "nobody", "redirect_uri": CALLBACK, "scope": SCOPE})
    assert bad_client.status_code == 400 and "Location" not in bad_client.headers
    no_redirect = requests.get(f"{server.url}/xero/identity/connect/authorize", timeout=5, params={
        "response_type": "code", "client_id": CLIENT, "scope": SCOPE})
    assert no_redirect.status_code == 400
    bad_scope = authorise(server.url, scope="openid accounting.everything")
    assert query(bad_scope.headers["Location"])["error"] == "invalid_scope"
    bad_type = authorise(server.url, response_type="token")
    assert query(bad_type.headers["Location"])["error"] == "unsupported_response_type"


def test_pkce_and_code_reuse(server):
    verifier, challenge = pkce_pair()
    code = query(authorise(server.url, code_challenge=challenge, code_challenge_method="S256")
                 .headers["Location"])["code"]
    wrong = exchange(server.url, code, code_verifier="w" * 50)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    code = query(authorise(server.url, code_challenge=challenge, code_challenge_method="S256")
                 .headers["Location"])["code"]
    assert exchange(server.url, code, code_verifier=verifier).status_code == 200
    reused = exchange(server.url, code, code_verifier=verifier)
    assert reused.status_code == 400 and reused.json() == {"error": "invalid_grant"}
    other_redirect = query(authorise(server.url).headers["Location"])["code"]
    assert exchange(server.url, other_redirect, redirect_uri="http://localhost/elsewhere").status_code == 400


def test_code_expires_after_five_minutes(server):
    code = query(authorise(server.url).headers["Location"])["code"]
    control(server.url, "clock", advance_seconds=301)
    assert exchange(server.url, code).json()["error"] == "invalid_grant"


def test_bad_client_credentials(server):
    code = query(authorise(server.url).headers["Location"])["code"]
    response = requests.post(f"{server.url}/xero/connect/token", auth=(CLIENT, "wrong"), timeout=5,
                             data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK})
    assert response.status_code == 401 and response.json() == {"error": "invalid_client"}
    posted = requests.post(f"{server.url}/xero/connect/token", timeout=5, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
        "client_id": CLIENT, "client_secret": "test-secret"})
    assert posted.status_code == 200  # client_secret_post works too


def test_refresh_rotation_grace_and_revocation(server):
    first = connect(server.url)
    second = refresh(server.url, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    # the old one still works inside the 30-minute grace period
    again = refresh(server.url, first["refresh_token"])
    assert again.status_code == 200
    control(server.url, "clock", advance_seconds=1801)
    late = refresh(server.url, first["refresh_token"])
    assert late.status_code == 400 and late.json() == {"error": "invalid_grant"}
    third = refresh(server.url, second["refresh_token"])
    assert third.status_code == 200
    assert refresh(server.url, "made-up").json() == {"error": "invalid_grant"}
    control(server.url, "tokens/revoke")
    assert refresh(server.url, third.json()["refresh_token"]).json() == {"error": "invalid_grant"}


def test_revocation_removes_connections(server):
    tokens = connect(server.url, (HARBOUR_ID, SECOND_ID))
    response = requests.post(f"{server.url}/xero/connect/revocation", auth=(CLIENT, "test-secret"), timeout=5,
                             data={"token": tokens["refresh_token"]})
    assert response.status_code == 200
    state = requests.get(f"{server.url}/__sandbox/state", timeout=5).json()
    assert state["connections"] == []
    assert refresh(server.url, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    bad = requests.post(f"{server.url}/xero/connect/revocation", auth=(CLIENT, "nope"), timeout=5, data={"token": "x"})
    assert bad.status_code == 401


def test_delete_connection_then_404_and_tenant_checks(server):
    tokens = connect(server.url, (HARBOUR_ID, SECOND_ID))
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    rows = requests.get(f"{server.url}/xero/connections", headers=auth, timeout=5).json()
    second = next(r for r in rows if r["tenantId"] == SECOND_ID)
    assert requests.delete(f"{server.url}/xero/connections/{second['id']}", headers=auth, timeout=5).status_code == 204
    assert requests.delete(f"{server.url}/xero/connections/{second['id']}", headers=auth, timeout=5).status_code == 404
    assert requests.delete(f"{server.url}/xero/connections/{SECOND_ID}", headers=auth, timeout=5).status_code == 404
    assert Api(server.url, tokens["access_token"], SECOND_ID).get("/Organisation").status_code == 403
    assert Api(server.url, tokens["access_token"], HARBOUR_ID).get("/Organisation").status_code == 200
    missing = requests.get(f"{server.url}/xero/api.xro/2.0/Organisation", headers=auth, timeout=5)
    assert missing.status_code == 403 and missing.json()["Title"] == "Forbidden"
    control(server.url, "connections/remove", tenantId=HARBOUR_ID)
    assert Api(server.url, tokens["access_token"], HARBOUR_ID).get("/Organisation").status_code == 403


def test_expired_and_invalid_access_tokens(server):
    tokens = connect(server.url)
    api = Api(server.url, tokens["access_token"])
    assert api.get("/Organisation").status_code == 200
    control(server.url, "tokens/expire")
    expired = api.get("/Organisation")
    assert expired.status_code == 401
    assert expired.json()["Title"] == "Unauthorized" and expired.json()["Detail"].startswith("TokenExpired: ")
    fresh = refresh(server.url, tokens["refresh_token"]).json()
    assert Api(server.url, fresh["access_token"]).get("/Organisation").status_code == 200
    control(server.url, "clock", advance_seconds=1801)
    assert Api(server.url, fresh["access_token"]).get("/Organisation").status_code == 401
    assert Api(server.url, "garbage").get("/Organisation").status_code == 401
    assert requests.get(f"{server.url}/xero/connections", timeout=5).status_code == 401
