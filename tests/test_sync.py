"""Importing customers and suppliers, the review list, re-import, rename via the sync,
"Update accounting data" joining a running sync — against the sandbox over real HTTP."""
from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from factory_app.accounting import connections as conn_service
from factory_app.accounting import mapping as mapping_service
from factory_app.accounting import provider as get_provider
from factory_app.accounting import importer
from factory_app.accounting import runs
from factory_app.accounting import text
from factory_app.accounting.base import RemoteContact
from factory_app.extensions import db
from factory_app.jobs import redis_connection
from factory_app.models import (AccountingConnection, Customer, ExternalLink, ImportReview, RemoteRecord, Supplier,
                                SyncFailure, SyncRun)

from . import factories
from .conftest import HTMX
from .test_integrations import MAPPING, admin, connect, sandbox, xero_app  # noqa: F401  (fixtures)


def work(app):
    """Run every queued job, in this process, as a worker would."""
    with app.app_context():
        conn = redis_connection()
        SimpleWorker([Queue("default", connection=conn)], connection=conn).work(burst=True)


@pytest.fixture()
def factory_customers(xero_app, tenant):
    with xero_app.app_context():
        ids = {}
        for name, email in [("Coastal Kitchens Pty Ltd", "accounts@coastalkitchens.example"),
                            ("Ridgeline Builders", "ap@ridgeline.example"),
                            ("Bayside Air Conditioning", "office@baysideair.example"),
                            ("Northern Rail Maintenance", "purchasing@nrm.example"),
                            ("Precision Laser Cutting", "sales@precisionlaser.example")]:
            ids[name] = factories.customer(tenant.org_id, name, email=email).id
        ids["supplier:Fastenings"] = factories.supplier(tenant.org_id, "Fastenings Direct",
                                                        email="other@fastenings.example").id
        return ids


@pytest.fixture()
def connected(xero_app, admin, tenant, redis_conn):  # noqa: F811
    connect(admin, ["Harbour"])
    return admin


def start(admin, kind):
    response = admin.post("/settings/integrations/runs", data={"kind": kind}, headers=HTMX)
    assert response.status_code == 200, response.data
    return response.get_data(as_text=True)


def last_run(app, kind) -> SyncRun:
    with app.app_context():
        run = db.session.scalar(select(SyncRun).where(SyncRun.kind == kind).order_by(SyncRun.id.desc()))
        db.session.expunge(run)
        return run


def test_import_customers_links_creates_and_asks(xero_app, connected, tenant, factory_customers):
    body = start(connected, "import_customers")
    assert 'hx-trigger="load delay:700ms"' in body  # the progress component polls itself
    work(xero_app)
    run = last_run(xero_app, "import_customers")
    assert run.status == "done", run.message
    assert (run.linked, run.review, run.skipped, run.failed) == (4, 1, 1, 0)
    assert run.created == 16
    done = connected.get(f"/settings/integrations/runs/{run.id}").get_data(as_text=True)
    assert "16 imported, 4 linked to existing, 1 need review" in done and "hx-trigger" not in done
    # the progress component's last poll brings the review list and the log along (item 18)
    last_poll = connected.get(f"/settings/integrations/runs/{run.id}", headers=HTMX).get_data(as_text=True)
    assert '<section class="card" id="reviews" hx-swap-oob="true">' in last_poll
    assert "Bayside Air Conditioning" in last_poll and '<div id="sync-log" hx-swap-oob="true">' in last_poll
    with xero_app.app_context():
        coastal = db.session.get(Customer, factory_customers["Coastal Kitchens Pty Ltd"])
        assert coastal.remote_state == "linked" and coastal.phone == "02 9555 0101"
        assert coastal.address("street").city == "Manly" and [p.name for p in coastal.people] == ["Grace Lin"]
        kiama = db.session.scalar(select(Customer).where(Customer.name == "Kiama Marine Services"))
        assert kiama.email == "office@kiamamarine.example" and kiama.address("street").region == "NSW"
        assert db.session.scalar(select(func.count()).select_from(Customer).where(Customer.name.like("Tasman%"))) == 0
        review = db.session.scalar(select(ImportReview))
        assert review.remote_name == "Bayside Air Conditioning" and review.reason == "Same name, different email."
        assert db.session.scalar(select(func.count()).select_from(RemoteRecord).where(RemoteRecord.kind == "contact")) >= 30

    # the review list: side by side, then link
    page = connected.get("/settings/integrations").get_data(as_text=True)
    assert "accounts@bayside-air.example" in page and "office@baysideair.example" in page
    linked = connected.post(f"/settings/integrations/reviews/{review.id}", headers=HTMX,
                            data={"action": "link", "local_id": str(factory_customers["Bayside Air Conditioning"])})
    body = linked.get_data(as_text=True)
    assert linked.status_code == 200 and "Linked" in body
    # that was the last one: the list says so, and its "all" buttons are gone (item 18)
    assert "Reviewed" in body and "Create all as new" not in body and "Need review" not in body

    # importing again tomorrow creates nothing
    before = _counts(xero_app)
    start(connected, "import_customers")
    work(xero_app)
    again = last_run(xero_app, "import_customers")
    assert (again.created, again.linked, again.review) == (0, 0, 0)
    assert _counts(xero_app) == before


def _counts(app):
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Customer)),
                db.session.scalar(select(func.count()).select_from(ExternalLink)))


def test_import_suppliers_and_a_business_that_is_both(xero_app, connected, tenant, factory_customers):
    start(connected, "import_customers")
    start(connected, "import_suppliers")
    work(xero_app)
    run = last_run(xero_app, "import_suppliers")
    assert run.status == "done"
    with xero_app.app_context():
        laser_customer = db.session.scalar(select(Customer).where(Customer.name == "Precision Laser Cutting"))
        laser_supplier = db.session.scalar(select(Supplier).where(Supplier.name == "Precision Laser Cutting"))
        assert laser_supplier is not None and laser_customer.id != laser_supplier.id
        links = {l.local_type: l.remote_id for l in db.session.scalars(
            select(ExternalLink).where(ExternalLink.local_id.in_([laser_customer.id, laser_supplier.id])))}
        assert links["customer"] == links["supplier"]  # one remote contact, two Factory records
        # "Fastenings Direct" vs "Fastenings Direct Pty. Ltd." with another email: asked, not guessed
        review = db.session.scalar(select(ImportReview).where(ImportReview.local_type == "supplier"))
        assert review.remote_name.startswith("Fastenings Direct")


def test_update_accounting_data_renames_and_joins_a_running_sync(xero_app, connected, tenant, factory_customers):
    with xero_app.app_context():  # connecting started the first update by itself
        assert db.session.scalar(select(SyncRun.status).where(SyncRun.kind == "sync")) == "queued"
    start(connected, "import_customers")
    work(xero_app)
    first = start(connected, "sync")
    second = start(connected, "sync")  # a second click (or tab) joins the same run
    with xero_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SyncRun).where(SyncRun.kind == "sync")) == 2
    assert first.split('id="')[1][:20] == second.split('id="')[1][:20]
    work(xero_app)
    run = last_run(xero_app, "sync")
    assert run.status == "done", run.message
    page = connected.get("/settings/integrations").get_data(as_text=True)
    assert "Last update" in page and "200 — Sales" in page and "OUTPUT — GST on Income" in page

    # Priya renames a customer in Xero; Maria presses Update accounting data
    with xero_app.app_context():
        connection = conn_service.current_connection(tenant.org_id)
        adapter = get_provider("xero")
        remote_id = db.session.scalar(select(ExternalLink.remote_id).where(
            ExternalLink.local_id == factory_customers["Coastal Kitchens Pty Ltd"]))
        conn_service.call(connection, lambda s: adapter.save_contact(
            s, RemoteContact(remote_id=remote_id, name="x"), name="Coastal Kitchens & Bathrooms Pty Ltd"))
    start(connected, "sync")
    work(xero_app)
    with xero_app.app_context():
        assert db.session.get(Customer, factory_customers["Coastal Kitchens Pty Ltd"]).name == \
            "Coastal Kitchens & Bathrooms Pty Ltd"
    # an immediate second sync changes nothing
    start(connected, "sync")
    work(xero_app)
    assert last_run(xero_app, "sync").updated == 0


def test_mapping_from_the_synced_lists(xero_app, connected, tenant):
    """Issue 10 items 13 and 14: sales and purchases are mapped apart, the package's
    defaults are proposed after an update, and sending waits for a saved mapping."""
    start(connected, "sync")
    work(xero_app)
    with xero_app.app_context():
        connection = conn_service.current_connection(tenant.org_id)
        assert mapping_service.proposed(connection) == {
            "sales_account_code": "200", "sales_tax_taxable": "OUTPUT", "sales_tax_free": "EXEMPTOUTPUT",
            "purchase_account_code": "300", "purchase_tax_taxable": "INPUT", "purchase_tax_free": "EXEMPTEXPENSES"}
        assert connection.sales_account_code is None  # proposed, not saved
        options = mapping_service.options(connection)
        assert "OUTPUT" in {o.code for o in options["sales_tax_taxable"]}
        assert "OUTPUT" not in {o.code for o in options["purchase_tax_taxable"]}  # a bill never takes GST on income
    page = connected.get("/settings/integrations").get_data(as_text=True)
    assert 'id="mapping-proposed"' in page and '<option value="INPUT" selected>' in page
    refused = connected.post("/settings/integrations/sending", data={"send_invoices": "y"}, follow_redirects=True)
    assert "Before invoices can be sent, save the account and tax mapping: sales account" in refused.get_data(as_text=True)
    bad = connected.post("/settings/integrations/mapping", data={"sales_account_code": "nope"}, follow_redirects=True)
    assert "Choose the sales account from the list" in bad.get_data(as_text=True)
    bills_with_sales_gst = connected.post("/settings/integrations/mapping", follow_redirects=True,
                                          data={**MAPPING, "purchase_tax_taxable": "OUTPUT"})
    assert "Choose the tax rate for taxable purchases from the list" in bills_with_sales_gst.get_data(as_text=True)
    connected.post("/settings/integrations/mapping", data=MAPPING)
    assert connected.post("/settings/integrations/sending", data={"send_invoices": "y", "send_purchases": "y"}
                          ).status_code == 302
    with xero_app.app_context():
        connection = conn_service.current_connection(tenant.org_id)
        assert {f: getattr(connection, f) for f in MAPPING} == MAPPING
        assert connection.send_invoices and connection.send_purchases and connection.mapping_proposed is None
    emptied = connected.post("/settings/integrations/mapping", data={**MAPPING, "purchase_tax_free": ""},
                             follow_redirects=True)
    assert "Sending purchases is on, so it needs: tax rate for tax-free purchases" in emptied.get_data(as_text=True)


def test_items_and_tax_rates_keep_their_sales_and_purchase_details(xero_app, connected, tenant):
    import json
    from decimal import Decimal

    work(xero_app)  # the update Connect started
    with xero_app.app_context():
        records = {(r.kind, r.code): r for r in db.session.scalars(select(RemoteRecord).where(
            RemoteRecord.kind.in_(["item", "tax_rate"])))}
    panel = json.loads(records["item", "PNL-1200"].data)
    assert (panel["sales_account_code"], panel["sales_tax_type"], panel["purchase_account_code"],
            panel["purchase_tax_type"]) == ("200", "OUTPUT", "300", "INPUT")
    labour = json.loads(records["item", "FAB-HR"].data)
    assert (labour["sales_account_code"], labour["purchase_account_code"], labour["purchase_tax_type"]) == \
        ("200", None, None)
    # a tax rate's flags: is_customer = offered on sales, is_supplier = on purchases; data is the rate
    flags = {code: (r.is_customer, r.is_supplier, r.data) for (kind, code), r in records.items() if kind == "tax_rate"}
    assert flags["OUTPUT"] == (True, False, "10") and flags["INPUT"] == (False, True, "10")
    assert flags["EXEMPTOUTPUT"] == (True, False, "0") and flags["EXEMPTEXPENSES"] == (False, True, "0")
    assert flags["BASEXCLUDED"] == (True, True, "0")
    assert Decimal(flags["OUTPUT"][2]) == Decimal("10")  # what push reads


def test_malformed_remote_contact_is_logged_and_skipped(xero_app, tenant):
    with xero_app.app_context():
        run = SyncRun(organisation_id=tenant.org_id, kind="import_customers", status="running")
        db.session.add(run)
        db.session.flush()

        class Matcher:  # nothing local to match against
            linked, reviews, by_email, by_name, by_id, created = {}, {}, {}, {}, {}, set()
            unlinked = staticmethod(lambda parties: [])
        outcomes = [importer.import_one(run, Matcher, contact, "customer") for contact in (
            RemoteContact(remote_id="a", name="", is_customer=True),
            RemoteContact(remote_id="b", name="N" * 300, is_customer=True),
            RemoteContact(remote_id="c", name="\x00\x07  ", is_customer=True))]
        assert outcomes == ["failed", "failed", "failed"]
        messages = [f.message for f in db.session.scalars(select(SyncFailure))]
        assert "Skipped: It has no name." in messages and any("300 characters" in m for m in messages)
        db.session.rollback()


@pytest.mark.parametrize("name, expected", [
    ("Coastal Kitchens Pty. Ltd.", "coastal kitchens"), ("  COASTAL   kitchens ", "coastal kitchens"),
    ("Abrasives & Tooling Co", "abrasives and tooling"), ("The Café Group Inc", "cafe group"),
    ("Ltd", ""),
])
def test_normalised_names(name, expected):
    assert text.normalise_name(name) == expected


def test_also_create_in_package_then_linked(xero_app, connected, tenant):
    page = connected.get("/customers/new").get_data(as_text=True)
    assert "Also create in Xero" in page and "checked" not in page.split("Also create in Xero")[0][-300:]
    response = connected.post("/customers/new", data={"name": "Wollongong Lift Services", "email": "ops@wls.example",
                                                      "also_create": "y"})
    assert response.status_code == 302
    with xero_app.app_context():
        party = db.session.scalar(select(Customer).where(Customer.name == "Wollongong Lift Services"))
        assert party.remote_state == "pending"
        party_id = party.id
    pending = connected.get(f"/customers/{party_id}/remote").get_data(as_text=True)
    assert "Creating in Xero" in pending and 'hx-trigger="load delay:1s"' in pending
    work(xero_app)
    linked = connected.get(f"/customers/{party_id}/remote").get_data(as_text=True)
    assert "Linked to Xero" in linked and "Wollongong Lift Services" in linked and "hx-trigger" not in linked
    # unlink, then find it again with the link control
    connected.post("/settings/integrations/runs", data={"kind": "sync"}, headers=HTMX)
    work(xero_app)
    unlinked = connected.post(f"/customers/{party_id}/remote", data={"action": "unlink"}, headers=HTMX)
    assert "Not linked to Xero" in unlinked.get_data(as_text=True)
    results = connected.get(f"/customers/{party_id}/remote/search?q=lift", headers=HTMX).get_data(as_text=True)
    assert "Wollongong Lift Services" in results
    remote_id = results.split('"remote_id": "')[1].split('"')[0]
    relinked = connected.post(f"/customers/{party_id}/remote", data={"action": "link", "remote_id": remote_id}, headers=HTMX)
    assert "Linked to Xero" in relinked.get_data(as_text=True)
    bogus = connected.post(f"/customers/{party_id}/remote", data={"action": "link", "remote_id": "nope"}, headers=HTMX)
    assert bogus.status_code == 409


def test_inline_form_tickbox_and_the_unique_name_rule(xero_app, connected, tenant):
    connected.post("/settings/integrations/runs", data={"kind": "sync"}, headers=HTMX)
    work(xero_app)
    form = connected.get("/customers/inline?field=customer_id", headers=HTMX).get_data(as_text=True)
    assert "Also create in Xero" in form
    saved = connected.post("/customers/inline", headers=HTMX, data={
        "name": "Kiama Marine Services Pty Ltd", "field": "customer_id", "also_create": "y"})
    assert saved.status_code == 200
    work(xero_app)
    with xero_app.app_context():
        party = db.session.scalar(select(Customer).where(Customer.name == "Kiama Marine Services Pty Ltd"))
        assert party.remote_state == "failed"
        party_id = party.id
    state = connected.get(f"/customers/{party_id}/remote").get_data(as_text=True)
    assert "already exists" in state and "Link to existing “Kiama Marine Services”" in state
    remote_id = state.split('"action": "link", "remote_id": "')[1].split('"')[0]
    linked = connected.post(f"/customers/{party_id}/remote", data={"action": "link", "remote_id": remote_id}, headers=HTMX)
    assert "Linked to Xero" in linked.get_data(as_text=True)
    with xero_app.app_context():  # no second remote contact was made
        connection = conn_service.current_connection(tenant.org_id)
        contacts = conn_service.call(connection, lambda s: get_provider("xero").contacts(s))
        assert sum(1 for c in contacts.items if "kiama" in c.name.lower()) == 1


def test_daily_cron_enqueues_one_sync_per_connection(xero_app, connected, tenant, redis_conn):
    import importlib

    from rq import cron
    importlib.import_module("factory_app.cron")
    from factory_app.accounting import tasks
    assert any(j["func"] is tasks.daily_sync and j["cron"] for j in cron._job_data_registry)
    with xero_app.app_context():
        assert runs.daily_sync() == 1
        assert runs.daily_sync() == 1  # joins the queued run
        queued = db.session.scalars(select(SyncRun).where(SyncRun.kind == "sync")).all()
        assert len(queued) == 1
        assert Queue("default", connection=redis_conn).count == 1
    work(xero_app)
    assert last_run(xero_app, "sync").status == "done"


def test_a_fault_mid_sync_is_retried_and_resumes(xero_app, connected, tenant, sandbox):
    import requests as http
    http.post(f"{sandbox.url}/__sandbox/faults", json={"kind": "503", "count": 1, "path": "/api.xro/2.0/Items"}, timeout=5)
    connected.post("/settings/integrations/runs", data={"kind": "sync"}, headers=HTMX)
    work(xero_app)  # contacts stored, items failed: the job is scheduled for a retry
    run = last_run(xero_app, "sync")
    assert run.status == "running" and run.stage.startswith("Waiting") and run.pages_done == 1
    with xero_app.app_context():
        bookmark = conn_service.current_connection(tenant.org_id).bookmark("contacts")
        assert bookmark is not None  # the stored page moved the bookmark
        from factory_app.accounting.runs import run_job
        assert run_job(run.id) == "done"  # what the retry does
    assert last_run(xero_app, "sync").status == "done"


def test_products_link_to_items_several_to_one(xero_app, connected, tenant):
    with xero_app.app_context():
        first = factories.product(tenant.org_id, "PNL-1200-A").id
        second = factories.product(tenant.org_id, "PNL-1200-B").id
    connected.post("/settings/integrations/runs", data={"kind": "sync"}, headers=HTMX)
    work(xero_app)
    page = connected.get(f"/products/{first}").get_data(as_text=True)
    assert "PNL-1200 — " in page
    with xero_app.app_context():
        item = db.session.scalar(select(RemoteRecord).where(RemoteRecord.kind == "item", RemoteRecord.code == "PNL-1200"))
    for product_id in (first, second):
        assert connected.post(f"/products/{product_id}/remote", data={"remote_id": item.remote_id}).status_code == 302
    with xero_app.app_context():
        links = db.session.scalars(select(ExternalLink).where(ExternalLink.local_type == "product")).all()
        assert {l.local_id for l in links} == {first, second} and {l.remote_id for l in links} == {item.remote_id}
    connected.post(f"/products/{first}/remote", data={"remote_id": ""})
    with xero_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExternalLink).where(ExternalLink.local_type == "product")) == 1


def test_sync_log_filters_and_pages(xero_app, connected, tenant):
    with xero_app.app_context():
        for i in range(25):
            db.session.add(SyncRun(organisation_id=tenant.org_id, kind="sync", status="failed" if i % 5 == 0 else "done",
                                   message="Xero was down" if i % 5 == 0 else None))
        db.session.commit()
    failed = connected.get("/settings/integrations/log?status=failed", headers=HTMX).get_data(as_text=True)
    assert failed.count("Xero was down") == 5 and "Older" not in failed
    first = connected.get("/settings/integrations/log", headers=HTMX).get_data(as_text=True)
    assert "Older →" in first
    assert connected.get("/settings/integrations/log?page=2", headers=HTMX).status_code == 200


def test_a_run_that_gives_up_is_marked_failed_and_does_not_block(xero_app, connected, tenant, sandbox):
    import requests as http
    http.post(f"{sandbox.url}/__sandbox/faults", json={"kind": "503", "count": 50, "path": "/api.xro/2.0/Contacts"},
              timeout=5)
    connected.post("/settings/integrations/runs", data={"kind": "sync"}, headers=HTMX)
    run = last_run(xero_app, "sync")
    with xero_app.app_context():
        from factory_app.accounting.runs import run_job
        assert run_job(run.id) == "failed"  # outside a worker there are no retries left
    failed = last_run(xero_app, "sync")
    assert failed.status == "failed" and "Gave up" in failed.message
    http.delete(f"{sandbox.url}/__sandbox/faults", timeout=5)
    connected.post("/settings/integrations/runs", data={"kind": "sync"}, headers=HTMX)
    assert last_run(xero_app, "sync").id != run.id  # a new run, not the dead one


def test_review_conflicts_are_refused_not_500(xero_app, connected, tenant, factory_customers):
    connected.post("/settings/integrations/runs", data={"kind": "import_customers"}, headers=HTMX)
    work(xero_app)
    with xero_app.app_context():
        review = db.session.scalar(select(ImportReview))
        bayside = factory_customers["Bayside Air Conditioning"]
        coastal_remote = db.session.scalar(select(ExternalLink.remote_id).where(
            ExternalLink.local_id == factory_customers["Coastal Kitchens Pty Ltd"]))
        # Bayside gets linked by hand meanwhile
        db.session.add(ExternalLink(organisation_id=tenant.org_id, provider="xero", remote_org_id=review.remote_org_id,
                                    local_type="customer", local_id=bayside, remote_id=coastal_remote + "-x"))
        db.session.commit()
        review_id = review.id
    response = connected.post(f"/settings/integrations/reviews/{review_id}", headers=HTMX,
                              data={"action": "link", "local_id": str(bayside)})
    assert response.status_code == 409 and "linked to another contact" in response.headers["HX-Trigger"]
    everything = connected.post("/settings/integrations/reviews", data={"action": "create"})
    assert everything.status_code == 302
    assert connected.get("/settings/integrations/log?page=99999999999999999999").status_code == 200
    assert connected.get("/customers?page=99999999999999999999").status_code == 200


def test_an_import_keeps_the_other_kind_current_and_the_next_sync_reads_one_page(
        xero_app, connected, tenant, factory_customers, sandbox):
    start(connected, "import_customers")
    start(connected, "import_suppliers")
    work(xero_app)
    with xero_app.app_context():
        laser = db.session.scalar(select(Supplier).where(Supplier.name == "Precision Laser Cutting"))
        remote_id = db.session.scalar(select(ExternalLink.remote_id).where(ExternalLink.local_id == laser.id))
        connection = conn_service.current_connection(tenant.org_id)
        assert connection.bookmark("contacts") is not None  # the import read every contact
        conn_service.call(connection, lambda s: get_provider("xero").save_contact(
            s, RemoteContact(remote_id=remote_id, name="x"), name="Precision Laser Cutting Group"))
    # a customer import (not a sync) meets the renamed contact: the linked supplier follows too
    start(connected, "import_customers")
    work(xero_app)
    with xero_app.app_context():
        assert db.session.get(Supplier, laser.id).name == "Precision Laser Cutting Group"
        assert db.session.scalar(select(Customer.name).where(Customer.id.in_(
            select(ExternalLink.local_id).where(ExternalLink.remote_id == remote_id,
                                                ExternalLink.local_type == "customer")))) == \
            "Precision Laser Cutting Group"
    # and the sync after it reads the contacts changed since the import: one page, nothing to write
    before = len(sandbox.sandbox.requests)
    start(connected, "sync")
    work(xero_app)
    contact_calls = [r for r in list(sandbox.sandbox.requests)[before:] if r["path"] == "/api.xro/2.0/Contacts"]
    run = last_run(xero_app, "sync")
    assert len(contact_calls) == 1 and run.updated == 0
    assert run.seen <= 1  # only what changed since the import (at most the renamed contact again), not all ~33


@pytest.mark.parametrize("kind", ["sync", "import_customers"])
def test_a_contact_changed_while_the_list_is_read_does_not_hide_the_next_one(
        xero_app, connected, tenant, monkeypatch, kind):
    from factory_app.accounting.providers.xero import adapter as xero

    work(xero_app)  # the update Connect started: every contact stored, the bookmark set
    monkeypatch.setattr(xero, "PAGE_SIZE", 5)
    original = xero.XeroProvider.contacts
    with xero_app.app_context():
        connection = conn_service.current_connection(tenant.org_id)
        adapter = get_provider("xero")
        customers = list(db.session.scalars(select(RemoteRecord).where(
            RemoteRecord.kind == "contact", RemoteRecord.is_customer.is_(True)).order_by(RemoteRecord.name).limit(8)))
        for record in customers:  # Priya edits eight customers: the sync has 8 changed contacts, two pages
            conn_service.call(connection, lambda s, r=record: adapter.save_contact(
                s, RemoteContact(remote_id=r.remote_id, name="x"), name=f"{r.name} (edited)"))
        wanted = {r.remote_id: f"{r.name} (edited)" for r in customers}
    edited_meanwhile = []

    def contacts_with_an_edit_between_pages(self, session, page=None, modified_since=None, list_name=None):
        result = original(self, session, page=page, modified_since=modified_since, list_name=list_name)
        if not edited_meanwhile and result.items:
            # ...and, while Factory reads, edits the first of page 1 again: it moves to the end
            first = result.items[0]
            original_save = xero.XeroProvider.save_contact
            again = original_save(self, session, RemoteContact(remote_id=first.remote_id, name="x"),
                                  name=f"{wanted.get(first.remote_id, first.name)} again")
            wanted[first.remote_id] = again.name
            edited_meanwhile.append(first.remote_id)
        return result
    monkeypatch.setattr(xero.XeroProvider, "contacts", contacts_with_an_edit_between_pages)
    start(connected, kind)
    work(xero_app)
    run = last_run(xero_app, kind)
    assert run.status == "done"
    with xero_app.app_context():
        stored = dict(db.session.execute(select(RemoteRecord.remote_id, RemoteRecord.name).where(
            RemoteRecord.remote_id.in_(list(wanted)), RemoteRecord.kind == "contact")).all())
        every_contact = db.session.scalar(select(func.count()).select_from(RemoteRecord).where(
            RemoteRecord.kind == "contact"))
    assert stored == wanted  # none skipped, the one edited meanwhile included
    # the list was read twice (a second pass after the shift); each contact counts once
    assert run.seen == (every_contact if kind == "import_customers" else len(wanted))
    if kind == "import_customers":  # the one created, then edited meanwhile, carries the newer name
        moved = edited_meanwhile[0]
        with xero_app.app_context():
            name = db.session.scalar(select(Customer.name).join(ExternalLink, ExternalLink.local_id == Customer.id)
                                     .where(ExternalLink.remote_id == moved, ExternalLink.local_type == "customer"))
        assert name == wanted[moved]


def test_reading_ahead_asks_for_each_page_once_and_no_page_past_the_end(
        xero_app, connected, tenant, monkeypatch, sandbox):
    from factory_app.accounting.providers.xero import adapter as xero

    work(xero_app)  # the update Connect started
    monkeypatch.setattr(xero, "PAGE_SIZE", 4)
    with xero_app.app_context():
        contacts = db.session.scalar(select(func.count()).select_from(RemoteRecord).where(
            RemoteRecord.kind == "contact"))
    pages = -(-contacts // 4)
    before = len(sandbox.sandbox.requests)
    start(connected, "import_suppliers")
    work(xero_app)
    asked = [r for r in list(sandbox.sandbox.requests)[before:] if r["path"] == "/api.xro/2.0/Contacts"]
    assert sorted(int(parse_qs(r["query"])["page"][0]) for r in asked) == list(range(1, pages + 1))
    run = last_run(xero_app, "import_suppliers")
    assert run.status == "done" and run.pages_done == pages and run.seen == contacts
    with xero_app.app_context():
        suppliers = db.session.scalar(select(func.count()).select_from(RemoteRecord).where(
            RemoteRecord.kind == "contact", RemoteRecord.is_supplier.is_(True), RemoteRecord.archived.is_(False)))
        linked = db.session.scalar(select(func.count()).select_from(ExternalLink).where(
            ExternalLink.local_type == "supplier"))
    assert linked == suppliers - run.failed  # every page stored, none twice


def customers_keyed_in_before_connecting(xero_app, tenant) -> dict[str, int]:
    """Maria's Factory customers, one for each active remote customer (same name and
    email), as if she had typed them in before connecting: {name: id}."""
    with xero_app.app_context():
        remote = db.session.execute(select(RemoteRecord.name, RemoteRecord.email).where(
            RemoteRecord.kind == "contact", RemoteRecord.is_customer.is_(True),
            RemoteRecord.archived.is_(False))).all()
        return {name: factories.customer(tenant.org_id, name, email=email).id for name, email in remote}


def test_an_import_reads_factory_records_per_page_not_one_query_per_record(
        xero_app, connected, tenant, monkeypatch):
    """Maria keyed her customers into Factory before connecting: the import links them all,
    page after page. What a page may match is read again in one go (someone may have
    edited it since the run started), never record by record."""
    from sqlalchemy import event

    from factory_app.accounting.providers.xero import adapter as xero

    work(xero_app)  # the update Connect started: the synced list
    monkeypatch.setattr(xero, "PAGE_SIZE", 10)
    local = customers_keyed_in_before_connecting(xero_app, tenant)
    with xero_app.app_context():
        engine = db.engine
    reads = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip()[:6].upper() == "SELECT" and any(
                f"FROM {table}" in statement for table in ("parties", "addresses", "contact_people")):
            reads.append(statement)
    start(connected, "import_customers")
    event.listen(engine, "before_cursor_execute", count)
    try:
        work(xero_app)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    run = last_run(xero_app, "import_customers")
    assert run.status == "done" and run.pages_done >= 3
    assert run.linked + run.review >= len(local) - 1 > 3 * run.pages_done  # several matched on each page
    # the records, their addresses, their people: at the start, then once per page at most
    assert len(reads) <= 3 * (1 + run.pages_done), reads


def test_the_values_kept_of_a_contact_fit_their_columns_in_column_order():
    """The import writes these tuples as they are: each value must be the right field,
    cut to its column's length."""
    from factory_app.accounting.base import RemoteAddress, RemotePerson
    from factory_app.models import Address, ContactPerson, Party

    def long(field):
        return field + "x" * 400
    contact = RemoteContact(remote_id="r", name=long("name"), email=long("email"), phone=long("phone"),
                            website=long("website"), tax_number=long("tax_number"),
                            addresses=(RemoteAddress("street", *map(long, Address.FIELDS)),),
                            people=(RemotePerson(long("name"), long("email"), long("phone")),))
    kept = [(Party.__table__, importer.PARTY_FIELDS, importer.party_values(contact)),
            (Address.__table__, Address.FIELDS, importer.address_values(contact)["street"]),
            (ContactPerson.__table__, importer.PERSON_FIELDS, importer.people_values(contact)[0])]
    for table, fields, values in kept:
        for field, value in zip(fields, values, strict=True):
            assert value.startswith(field) and len(value) == table.c[field].type.length, (table.name, field)


def _while_page_is_read(monkeypatch, number, action):
    """Run `action(page)` (in the reader's thread, committed on a connection of its own)
    while the import reads page `number`: after the run loaded Factory's records, before
    it matches that page."""
    from factory_app.accounting.providers.xero import adapter as xero
    original = xero.XeroProvider.contacts

    def contacts(self, session, page=None, modified_since=None, list_name=None):
        result = original(self, session, page=page, modified_since=modified_since, list_name=list_name)
        if int(page or 1) == number:
            action(result)
        return result
    monkeypatch.setattr(xero.XeroProvider, "contacts", contacts)


def test_an_edit_made_in_factory_while_the_import_runs_is_respected(xero_app, connected, tenant, monkeypatch):
    """Halfway through the import, Maria archives one customer and types the phone number
    of another. The import must not link the archived one, nor overwrite the phone."""
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from factory_app.accounting.providers.xero import adapter as xero

    work(xero_app)  # the update Connect started: the synced list
    monkeypatch.setattr(xero, "PAGE_SIZE", 4)
    local = customers_keyed_in_before_connecting(xero_app, tenant)
    with xero_app.app_context():
        engine = db.engine
    edited = {}

    def maria_edits(page):
        archive, phone = [c for c in page.items if c.is_customer and not c.archived and c.phone
                          and c.name in local][:2]
        edited.update(archived=(local[archive.name], archive.remote_id), phoned=local[phone.name])
        with Session(engine) as session:
            session.execute(update(Customer).where(Customer.id == local[archive.name]).values(archived=True))
            session.execute(update(Customer).where(Customer.id == local[phone.name]).values(phone="0400 111 222"))
            session.commit()
    _while_page_is_read(monkeypatch, 2, maria_edits)
    start(connected, "import_customers")
    work(xero_app)
    run = last_run(xero_app, "import_customers")
    assert run.status == "done" and edited
    with xero_app.app_context():
        archived_id, remote_id = edited["archived"]
        links = dict(db.session.execute(select(ExternalLink.remote_id, ExternalLink.local_id).where(
            ExternalLink.local_type == "customer")).all())
        assert archived_id not in links.values()  # not linked to the archived record...
        assert links[remote_id] not in local.values()  # ...a new customer was made for it
        phoned = db.session.get(Customer, edited["phoned"])
        assert phoned.phone == "0400 111 222" and phoned.id in links.values()  # linked, her phone kept


def test_a_disconnect_while_the_import_runs_stops_it(xero_app, connected, tenant, monkeypatch):
    """Someone presses Disconnect while a long import runs (and Xero could not be told, so
    the token still works there): the import stops within a page or two."""
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from factory_app.accounting.providers.xero import adapter as xero

    work(xero_app)
    monkeypatch.setattr(xero, "PAGE_SIZE", 4)
    monkeypatch.setattr(importer, "RECHECK_CONNECTION", 0)  # the sandbox reads a page in milliseconds
    with xero_app.app_context():
        contacts = db.session.scalar(select(func.count()).select_from(RemoteRecord).where(
            RemoteRecord.kind == "contact"))
        engine = db.engine

    def disconnect(page):
        with Session(engine) as session:
            session.execute(update(AccountingConnection).values(status="disconnected"))
            session.commit()
    _while_page_is_read(monkeypatch, 2, disconnect)
    start(connected, "import_customers")
    work(xero_app)
    run = last_run(xero_app, "import_customers")
    pages = -(-contacts // 4)
    assert pages >= 6
    assert run.status == "failed" and "disconnected" in run.message
    assert run.pages_done <= 4 < pages


def test_connecting_again_does_not_join_the_last_connections_queued_update(xero_app, connected, tenant):
    """Connect queues an update; Maria disconnects before a worker ran it and connects
    again: the new connection gets an update of its own (the queued one belongs to a
    closed connection and fails when it runs), not a place in the old one."""
    with xero_app.app_context():
        first = db.session.scalar(select(SyncRun).where(SyncRun.kind == "sync"))
        assert first.status == "queued"
        first_id, first_connection = first.id, first.connection_id
    connected.post("/settings/integrations/disconnect")
    connect(connected, ["Harbour"])
    with xero_app.app_context():
        runs = list(db.session.scalars(select(SyncRun).where(SyncRun.kind == "sync").order_by(SyncRun.id)))
        current = conn_service.current_connection(tenant.org_id)
        assert [r.id for r in runs][0] == first_id and len(runs) == 2
        assert current.id != first_connection and runs[1].connection_id == current.id
    work(xero_app)
    assert last_run(xero_app, "sync").status == "done"
    with xero_app.app_context():
        assert db.session.get(SyncRun, first_id).status == "failed"
        assert db.session.get(AccountingConnection, current.id).last_update_at is not None


def test_a_package_that_keeps_customers_and_suppliers_apart_is_read_list_by_list(xero_app, connected, tenant, monkeypatch):
    """The engines read whatever contact lists the adapter has, each with a bookmark of
    its own (QuickBooks keeps Customers and Vendors apart): here Xero's one list, served
    as two by an adapter that says it has two. An import reads its kind's list alone and
    sets that list's bookmark; the update reads every list from its own bookmark."""
    import dataclasses

    from factory_app import accounting
    from factory_app.accounting.providers.xero.adapter import XeroProvider
    asked = []

    class TwoLists(XeroProvider):
        contact_lists = ("customers", "suppliers")

        def contact_list_for(self, kind):
            return f"{kind}s"

        def contacts(self, session, page=None, modified_since=None, list_name=None):
            asked.append((list_name, page, modified_since is not None))
            result = super().contacts(session, page=page, modified_since=modified_since)
            wanted = "is_customer" if list_name == "customers" else "is_supplier"
            return dataclasses.replace(result, items=[c for c in result.items if getattr(c, wanted)])
    monkeypatch.setitem(accounting.REGISTRY, "xero", TwoLists)
    work(xero_app)  # the update Connect started: both lists, from no bookmark
    assert {name for name, *_ in asked} == {"customers", "suppliers"}
    with xero_app.app_context():
        marks = conn_service.current_connection(tenant.org_id).bookmarks
        assert {"customers", "suppliers", "items"} <= set(marks) and "contacts" not in marks
    asked.clear()
    start(connected, "import_suppliers")
    work(xero_app)
    assert last_run(xero_app, "import_suppliers").status == "done"
    assert {name for name, *_ in asked} == {"suppliers"}
    with xero_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Supplier).where(
            Supplier.organisation_id == tenant.org_id)) > 0
    asked.clear()
    start(connected, "sync")
    work(xero_app)
    assert last_run(xero_app, "sync").status == "done"
    assert sorted({(name, since) for name, _, since in asked}) == [("customers", True), ("suppliers", True)]


def test_pages_come_with_opaque_cursors_and_the_ones_after_them(xero_app, connected, tenant, monkeypatch):
    """The adapter's page cursor is text the engines pass back as they got it; a page
    also names the pages after the next one its page count tells of (no more than the
    package's calls at once), and the last page names none."""
    from factory_app.accounting.providers.xero import adapter as xero

    monkeypatch.setattr(xero, "PAGE_SIZE", 5)
    with xero_app.app_context():
        connection = conn_service.current_connection(tenant.org_id)
        adapter = get_provider("xero")
        first = conn_service.call(connection, lambda s: adapter.contacts(s))
        assert first.page_count >= 4 and first.next_page == "2"
        assert first.ahead == tuple(str(n) for n in range(3, min(first.page_count, 2 + adapter.concurrent_calls) + 1))
        second = conn_service.call(connection, lambda s: adapter.contacts(s, page=first.next_page))
        assert second.next_page == "3" and {c.remote_id for c in second.items}.isdisjoint(c.remote_id for c in first.items)
        last = conn_service.call(connection, lambda s: adapter.contacts(s, page=str(first.page_count)))
        assert last.items and last.next_page is None and last.ahead == ()
        db.session.rollback()
