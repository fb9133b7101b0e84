"""A list's total and the dashboard's figures are remembered in Redis until the
organisation's rows change (factory_app/counts.py): asked again, they cost no COUNT;
after any write (a request's, a job's, a bulk UPDATE) they are counted afresh; another
organisation's writes leave them be; without Redis they are counted every time."""
from __future__ import annotations

import re

import pytest
from redis import Redis

from factory_app import counts
from factory_app.extensions import db
from factory_app.models import Customer, SalesOrder

from . import factories
from .test_query_counts import counting


def total(page: str) -> int:
    """The total a list page states ("1–50 of 112 orders")."""
    return int(re.search(r"of\s+(\d+)\s+\w+", page).group(1))


def counts_run(statements: list[str]) -> int:
    """The totals counted (not the banner's grouped counts of documents waiting)."""
    return sum(1 for s in statements if "count(" in s.lower() and "group by" not in s.lower())


@pytest.fixture(autouse=True)
def _counts_on_redis(app):
    counts._paused_until = 0.0
    yield
    counts._paused_until = 0.0
    app.extensions.pop("factory_counts_redis", None)


def visit(app, client, path: str) -> tuple[str, int]:
    """The page's text and how many COUNTs it ran."""
    with app.app_context(), counting() as seen:
        page = client.get(path).get_data(as_text=True)
    return page, counts_run(seen)


def test_a_total_asked_again_costs_no_count_and_any_write_counts_it_afresh(app, tenant):
    with app.app_context():
        customer_id = factories.customer(tenant.org_id).id
        for _ in range(3):
            factories.order(tenant.org_id, customer_id)
    client = tenant.client()
    page, ran = visit(app, client, "/orders")
    assert total(page) == 3 and ran == 1
    page, ran = visit(app, client, "/orders")
    assert total(page) == 3 and ran == 0                      # remembered

    client.post("/orders/new", data={"customer_id": customer_id, "order_date": "2026-12-01"})  # a request's write
    page, ran = visit(app, client, "/orders")
    assert total(page) == 4 and ran == 1

    with app.app_context():                                   # a job's write (no request, no user)
        factories.order(tenant.org_id, customer_id)
    page, ran = visit(app, client, "/orders")
    assert total(page) == 5 and ran == 1

    with app.app_context():                                   # a bulk UPDATE, outside any request
        db.session.execute(db.update(SalesOrder).where(SalesOrder.organisation_id == tenant.org_id)
                           .values(status="confirmed"))
        db.session.commit()
    page, ran = visit(app, client, "/orders?status=confirmed")
    assert total(page) == 5 and ran == 1


def test_a_rolled_back_write_changes_nothing_and_another_organisations_write_leaves_the_count_be(app, tenant, other_tenant):
    with app.app_context():
        factories.customer(tenant.org_id, "Coastal Kitchens")
        factories.customer(other_tenant.org_id, "Harbour Air")
    client = tenant.client()
    assert visit(app, client, "/customers")[1] == 1
    with app.app_context():
        db.session.add(Customer(organisation_id=tenant.org_id, name="Never Saved"))
        db.session.flush()
        db.session.rollback()
        factories.customer(other_tenant.org_id, "Ridgeline Builders")  # the other organisation's row
    page, ran = visit(app, client, "/customers")
    assert ran == 0 and "Never Saved" not in page
    other = other_tenant.client()
    page, ran = visit(app, other, "/customers")
    assert ran == 1 and total(page) == 2


def test_the_dashboards_figures_follow_a_status_change(app, tenant):
    with app.app_context():
        customer = factories.customer(tenant.org_id)
        product = factories.product(tenant.org_id)
        order_id = factories.order(tenant.org_id, customer.id, [(product.id, 2, "10.00", "0", "10")]).id
    client = tenant.client()

    def to_invoice(page: str) -> int:
        return int(re.search(r"<strong>(\d+)</strong><span>to invoice</span>", page).group(1))

    first, ran = visit(app, client, "/")
    assert ran >= 1 and to_invoice(first) == 0
    again, ran = visit(app, client, "/")
    assert ran == 0 and to_invoice(again) == 0
    assert client.post(f"/orders/{order_id}/status", data={"action": "confirm"}).status_code in (200, 302)
    after, ran = visit(app, client, "/")
    assert ran >= 1
    with app.app_context():
        assert db.session.get(SalesOrder, order_id).status == "confirmed"
    assert to_invoice(after) == 1


def test_without_redis_every_total_is_counted_and_the_page_still_shows(app, tenant):
    with app.app_context():
        factories.customer(tenant.org_id)
    client = tenant.client()
    from factory_app.localredis import free_port
    app.extensions["factory_counts_redis"] = Redis(port=free_port(), socket_timeout=0.2, socket_connect_timeout=0.2)
    page, ran = visit(app, client, "/customers")
    assert total(page) == 1 and ran == 1
    assert counts._paused_until > 0                            # Redis is left alone for a while
    page, ran = visit(app, client, "/customers")
    assert total(page) == 1 and ran == 1


def test_a_count_is_kept_per_organisation_and_per_filter(app, tenant):
    with app.app_context():
        customer = factories.customer(tenant.org_id)
        product = factories.product(tenant.org_id)
        factories.order(tenant.org_id, customer.id)
        factories.order(tenant.org_id, customer.id, [(product.id, 2, "10.00", "0", "10")], status="confirmed")
    client = tenant.client()
    assert total(visit(app, client, "/orders")[0]) == 2
    assert total(visit(app, client, "/orders?status=confirmed")[0]) == 1
    assert total(visit(app, client, "/orders?status=draft")[0]) == 1
