"""Rate limits on logging in, signing up and asking for a reset link (issue 10, item 4).

Each test gets an app of its own whose counters have a prefix of their own in Redis, so
no test uses up another's allowance (the rest of the suite logs in from 127.0.0.1 too).
"""
import json
import logging
import uuid

import pytest

from factory_app.localredis import free_port

from .conftest import HTMX, PASSWORD, make_app


@pytest.fixture()
def limited_app(app, database_url, redis_url):
    return make_app(database_url, redis_url, RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}")


def log_in(client, email, password, address="127.0.0.1", **kwargs):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address}, **kwargs)


def test_sixty_wrong_passwords_then_the_right_one_is_refused(limited_app, tenant):
    client = limited_app.test_client()
    answers = [log_in(client, tenant.admin_email, f"guess-{i}").status_code for i in range(60)]
    assert answers == [422] * 5 + [429] * 55
    right = log_in(client, tenant.admin_email, PASSWORD)
    assert right.status_code == 429
    assert 800 < int(right.headers["Retry-After"]) <= 900  # the first failure leaves the window in 15 minutes
    body = right.get_data(as_text=True)
    assert "Too many failed logins to this account. Try again in 15 minutes." in body
    assert "<html" in body  # a page, rendered by a template


def test_the_account_limit_follows_the_account_not_the_address_or_spelling(limited_app, tenant):
    client = limited_app.test_client()
    spellings = [tenant.admin_email, tenant.admin_email.upper(), f"  {tenant.admin_email} "]
    for i in range(5):
        assert log_in(client, spellings[i % 3], "wrong", address=f"10.0.0.{i}").status_code == 422
    assert log_in(client, tenant.admin_email, PASSWORD, address="10.0.0.99").status_code == 429
    # the other accounts are not affected
    assert log_in(limited_app.test_client(), tenant.staff_email, PASSWORD).status_code == 302


def test_an_address_trying_many_accounts_is_stopped(limited_app, tenant):
    client = limited_app.test_client()
    for i in range(10):
        assert log_in(client, f"guess{i}@acme.example", "wrong", address="10.9.9.9").status_code == 422
    refused = log_in(client, tenant.admin_email, PASSWORD, address="10.9.9.9")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert "Too many failed logins from your address" in refused.get_data(as_text=True)
    # the same person from elsewhere logs in
    assert log_in(limited_app.test_client(), tenant.admin_email, PASSWORD, address="10.9.9.10").status_code == 302


def test_logging_in_correctly_is_never_counted(limited_app, tenant):
    for _ in range(12):  # more than either limit allows failures
        assert log_in(limited_app.test_client(), tenant.admin_email, PASSWORD).status_code == 302
    for _ in range(4):
        assert log_in(limited_app.test_client(), tenant.admin_email, "wrong").status_code == 422
    assert log_in(limited_app.test_client(), tenant.admin_email, PASSWORD).status_code == 302


def test_an_htmx_request_is_told_by_a_toast(limited_app, tenant):
    client = limited_app.test_client()
    for _ in range(5):
        log_in(client, tenant.admin_email, "wrong")
    refused = log_in(client, tenant.admin_email, PASSWORD, headers=HTMX)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    toast = json.loads(refused.headers["HX-Trigger"])["toast"]["messages"][0]
    assert toast["level"] == "error" and "Try again in 15 minutes" in toast["text"]
    assert refused.data == b""


def test_sign_ups_are_limited_per_address_but_typos_are_free(limited_app):
    client = limited_app.test_client()
    for i in range(20):  # refused forms do no work and are not counted
        assert client.post("/signup", data={"organisation": "x", "email": "bad"}).status_code == 422
    for i in range(10):
        response = client.post("/signup", data={
            "organisation": f"Shop {i}", "name": "Sam", "email": f"sam{i}@shop.example",
            "password": "long-enough", "confirm": "long-enough"})
        assert response.status_code == 302, i
        client.post("/logout")
    refused = client.post("/signup", data={
        "organisation": "Shop 11", "name": "Sam", "email": "sam11@shop.example",
        "password": "long-enough", "confirm": "long-enough"})
    assert refused.status_code == 429
    assert "Too many sign-ups from your address" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 3000


def test_reset_requests_are_limited_per_account_and_address(limited_app, tenant):
    client = limited_app.test_client()
    for _ in range(3):
        assert client.post("/forgot-password", data={"email": tenant.admin_email}).status_code == 302
    refused = client.post("/forgot-password", data={"email": tenant.admin_email.upper()})
    assert refused.status_code == 429
    assert "Too many password reset requests for this email" in refused.get_data(as_text=True)
    # an email with no account is limited the same way (the refusal tells nothing)
    for _ in range(2):
        assert client.post("/forgot-password", data={"email": "nobody@acme.example"}).status_code == 302
    assert client.post("/forgot-password", data={"email": "x@acme.example"}).status_code == 429


def test_a_redis_outage_does_not_take_the_login_page_down(app, database_url, tenant, caplog):
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    down_app = make_app(database_url, dead, RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}")
    client = down_app.test_client()
    with caplog.at_level(logging.WARNING):
        assert client.get("/login").status_code == 200
        assert log_in(client, tenant.admin_email, "wrong").status_code == 422
        assert log_in(client, tenant.admin_email, PASSWORD).status_code == 302
    assert any("storage unreachable" in r.getMessage() for r in caplog.records)
    # meanwhile the process counts on its own: guessing is still stopped
    other = down_app.test_client()
    for _ in range(4):
        assert log_in(other, tenant.staff_email, "wrong").status_code == 422
    assert log_in(other, tenant.staff_email, "wrong").status_code == 422
    assert log_in(other, tenant.staff_email, PASSWORD).status_code == 429
