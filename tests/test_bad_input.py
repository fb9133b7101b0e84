"""Issue 10, item 10: odd requests get a proper answer, never a 500. Ids no column can
hold, JSON bodies and files posted to forms, a webhook signature that isn't ASCII,
ids in forms that overflow the driver. The routes are read from the URL map."""
from __future__ import annotations

import io
import json

import pytest

from .conftest import HTMX
from .test_isolation import urls_with_ids, victim  # noqa: F401  (fixture)

HUGE = (2 ** 31, 2 ** 63, 2 ** 64, 10 ** 30)  # 2 ** 31: past PostgreSQL INTEGER ids


def post_routes(app):
    """Every POST route without an id, and the webhooks."""
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and not rule.arguments - {"plural", "provider_key"}:
            values = {a: ("customers" if a == "plural" else "xero") for a in rule.arguments}
            yield rule.endpoint, rule.build(values)[1]


def test_ids_no_column_can_hold_are_404(app, client, victim):  # noqa: F811
    checked = 0
    for method, path in urls_with_ids(app, victim):
        for huge in HUGE:
            bad = path
            for value in victim.values():
                bad = bad.replace(f"/{value}", f"/{huge}", 1) if f"/{value}" in bad else bad
            if bad == path:
                continue
            for headers in ({}, HTMX):
                response = client.open(bad, method=method, headers=headers, data={"name": "x"})
                assert response.status_code == 404, (method, bad, response.status_code)
                checked += 1
    assert checked > 50


def test_json_bodies_and_files_posted_to_forms_are_refused(app, client, victim):  # noqa: F811
    routes = [(e, p) for e, p in post_routes(app)] + [(None, p) for m, p in urls_with_ids(app, victim) if m == "POST"]
    assert len(routes) > 20
    for endpoint, path in routes:
        if endpoint and endpoint.startswith("webhooks."):
            continue
        for body in ([1, 2], {"name": {"a": 1}}, {"sku": 5, "sale_price": 5, "name": "x"}, "text", None):
            response = client.post(path, data=json.dumps(body), content_type="application/json")
            assert response.status_code == 415, (path, body, response.status_code)
        upload = client.post(path, content_type="multipart/form-data",
                             data={"name": (io.BytesIO(b"file"), "a.txt"), "email": "a@b.example"})
        assert upload.status_code == 400, (path, upload.status_code)
        plain = client.post(path, data="name=x", content_type="text/plain")
        assert plain.status_code == 415, (path, plain.status_code)


def test_ids_in_forms_and_query_strings_that_overflow_are_choice_errors(client, victim):  # noqa: F811
    for value in [str(h) for h in HUGE] + ["²", "٣", "-1", "0", "1e3", " 7 "]:
        response = client.post("/orders/new", data={"customer_id": value, "order_date": "2026-12-01"})
        assert response.status_code == 422, value
        assert client.get(f"/orders/new?customer_id={value}").status_code == 200
        line = client.post(f"/orders/{victim['sales']}/lines/{victim['sales_line']}", headers=HTMX,
                           data={"product_id": value, "quantity": "1", "unit_price": "1", "tax_rate": "0"})
        assert line.status_code in (409, 422), value  # the victim's order is invoiced: 409 when its lines are locked
        review = client.post(f"/settings/integrations/reviews/{victim['review_id']}", headers=HTMX,
                             data={"action": "link", "local_id": value})
        assert review.status_code == 409, value


@pytest.mark.parametrize("signature", ["é", "\u2603" * 44, "Zm9v\x7f", ""])
def test_a_webhook_signature_of_any_characters_is_401(app, signature):
    app.config["XERO_WEBHOOK_KEY"] = "webhook-key"
    try:
        response = app.test_client().post("/webhooks/xero", data=b'{"events": []}',
                                          headers={"x-xero-signature": signature.encode("utf-8").decode("latin-1")})
        assert response.status_code == 401
    finally:
        app.config["XERO_WEBHOOK_KEY"] = ""
