"""CSRF is on for every POST in the real app (the other tests switch it off for brevity)."""
import re

import pytest

from factory_app.models import Customer

from .conftest import PASSWORD, count_rows, make_app


@pytest.fixture()
def csrf_app(app, database_url, redis_url):
    return make_app(database_url, redis_url, WTF_CSRF_ENABLED=True)


def token_from(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', html).group(1) or ""


def logged_in(csrf_app, tenant):
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page)
    response = client.post("/login", data={"email": tenant.admin_email, "password": PASSWORD,
                                           "csrf_token": match.group(1)})
    assert response.status_code == 302
    return client


def test_login_without_token_is_refused(csrf_app, tenant):
    response = csrf_app.test_client().post("/login", data={"email": tenant.admin_email, "password": PASSWORD})
    assert response.status_code == 400


def test_post_without_token_is_refused_and_changes_nothing(app, csrf_app, tenant):
    client = logged_in(csrf_app, tenant)
    response = client.post("/customers/new", data={"name": "No Token Ltd"})
    assert response.status_code == 400
    assert count_rows(app, Customer) == 0


def test_htmx_header_token_is_accepted(app, csrf_app, tenant):
    client = logged_in(csrf_app, tenant)
    page = client.get("/orders/new").get_data(as_text=True)
    header = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    response = client.post("/customers/inline", data={"name": "Header Token Ltd"},
                           headers={"X-CSRFToken": header, "HX-Request": "true"})
    assert response.status_code == 200
    assert count_rows(app, Customer) == 1
    refused = client.post("/customers/inline", data={"name": "Other"}, headers={"HX-Request": "true"})
    assert refused.status_code == 400
    assert "HX-Trigger" in refused.headers  # the user is told, as a toast
