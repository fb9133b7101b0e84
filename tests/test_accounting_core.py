"""The package-neutral core (issue 12): one lookup rule for a package's settings, one
webhook route handed to the package's adapter, events the engines read without knowing
the package, and call budgets kept apart per package."""
from __future__ import annotations

import json

from factory_app.accounting import REGISTRY, provider as get_provider
from factory_app.accounting.base import WebhookEvent
from factory_app.accounting.providers.xero import webhooks as xero_webhooks
from factory_app.accounting.ratelimit import Budget
from factory_app.accounting.settings import override, setting
from factory_app.extensions import db
from factory_app.models import DocumentPush

from .conftest import make_app
from .test_push import sign


def test_a_packages_own_setting_wins_then_every_packages_then_the_default():
    config = {"XERO_HTTP_TIMEOUT": 7, "ACCOUNTING_HTTP_TIMEOUT": 20, "ACCOUNTING_APP_NAME": "Factory",
              "XERO_APP_NAME": "", "XERO_SCOPES": None}
    assert setting("xero", "HTTP_TIMEOUT", 30, config) == 7
    assert setting("otherbooks", "HTTP_TIMEOUT", 30, config) == 20  # no setting of its own
    assert setting("xero", "APP_NAME", "x", config) == "Factory"  # empty counts as unset
    assert setting("xero", "SCOPES", "default", config) == "default"
    changed = override(config, "xero", "HTTP_TIMEOUT", 3)
    assert setting("xero", "HTTP_TIMEOUT", 30, changed) == 3 and config["XERO_HTTP_TIMEOUT"] == 7


def test_the_adapter_reads_its_settings_by_the_rule():
    adapter = get_provider("xero", {"ACCOUNTING_HTTP_TIMEOUT": 4, "XERO_API_URL": "http://books.test/",
                                    "XERO_WEBHOOK_KEY": "k"})
    assert adapter.timeout == 4.0 and adapter.api_url == "http://books.test" and adapter.webhook_key == "k"
    assert get_provider("xero", {"ACCOUNTING_HTTP_TIMEOUT": 4, "XERO_HTTP_TIMEOUT": 9}).timeout == 9.0


def _signed(key: str, payload) -> tuple[dict, bytes]:
    body = json.dumps(payload).encode()
    return {"x-xero-signature": sign(body, key)}, body


def test_xero_webhooks_become_package_neutral_events():
    headers, body = _signed("k", {"events": [
        {"eventCategory": "INVOICE", "eventType": "UPDATE", "tenantId": "t1", "resourceId": "inv-1"},
        {"eventCategory": "CONTACT", "eventType": "CREATE", "tenantId": "t1", "resourceId": "c-1"},
        {"eventCategory": "INVOICE", "tenantId": "t1"},  # no resource: nothing to read
        {"eventCategory": "SUBSCRIPTION", "tenantId": "t1", "resourceId": "s"}, "not an event", None]})
    assert xero_webhooks.events("k", headers, body) == [
        WebhookEvent(WebhookEvent.DOCUMENT, "t1", "inv-1"), WebhookEvent(WebhookEvent.CONTACT, "t1", "c-1")]
    assert xero_webhooks.events("other key", headers, body) is None
    assert xero_webhooks.events("", headers, body) is None  # no key set: nothing is trusted
    assert xero_webhooks.events("k", {}, body) is None
    headers, _ = _signed("k", {})
    assert xero_webhooks.events("k", {"x-xero-signature": headers["x-xero-signature"]}, b"{}") == []
    bad = b"not json"
    assert xero_webhooks.events("k", {"x-xero-signature": sign(bad, "k")}, bad) == []  # signed, unreadable
    headers, body = _signed("k", ["a list"])
    assert xero_webhooks.events("k", headers, body) == []


def test_one_webhook_route_for_every_package(app, database_url, redis_url, tenant, redis_conn):
    hooked = make_app(database_url, redis_url, XERO_WEBHOOK_KEY="k")
    client = hooked.test_client()
    assert client.post("/webhooks/nosuchbooks", data=b"{}", content_type="application/json").status_code == 404
    assert client.get("/webhooks/xero").status_code == 405
    assert "xero" in REGISTRY
    with hooked.app_context():
        for doc_id, provider in ((1, "xero"), (2, "otherbooks")):
            db.session.add(DocumentPush(organisation_id=tenant.org_id, provider=provider, remote_org_id="t1",
                                        doc_type="invoice", doc_id=doc_id, state="sent", remote_id="inv-1"))
        db.session.commit()
    headers, body = _signed("k", {"events": [
        {"eventCategory": "INVOICE", "eventType": "UPDATE", "tenantId": "t1", "resourceId": "inv-1"}]})
    assert client.post("/webhooks/xero", data=body, headers={"x-xero-signature": "wrong"}).status_code == 401
    response = client.post("/webhooks/xero", data=body, headers=headers)
    assert response.status_code == 200 and response.data == b""
    from rq import Queue
    jobs = [j for j in Queue("default", connection=redis_conn).jobs
            if j.func_name == "factory_app.accounting.tasks.refresh_payment"]
    with hooked.app_context():
        xero_push = db.session.scalars(db.select(DocumentPush).where(DocumentPush.provider == "xero")).one()
    # only Xero's push of that document is read again: another package's ids are its own
    assert [j.args for j in jobs] == [(xero_push.id,)]


def test_call_budgets_are_kept_per_package(app, redis_conn):
    with app.app_context():
        one, other = Budget("xero", "same-id", 1, 5), Budget("otherbooks", "same-id", 1, 5)
        with one.call(wait=0):
            pass
        with other.call(wait=0):  # not refused: the other package's minute is its own
            pass


def test_jobs_are_queued_at_stable_paths_and_old_paths_still_run():
    import inspect
    import re
    from pathlib import Path

    from rq.utils import import_attribute

    from factory_app.accounting import tasks
    for old, new in tasks.OLD_PATHS.items():
        assert callable(import_attribute(old)), old  # a job queued by an earlier release still runs
        assert callable(import_attribute(new)), new
        # and takes what the old one took
        assert list(inspect.signature(import_attribute(old)).parameters) == \
            list(inspect.signature(import_attribute(new)).parameters), (old, new)
    for name in ("RUN_SYNC", "PUSH_DOCUMENTS", "REFRESH_PAYMENT", "PROBE"):
        assert callable(import_attribute(getattr(tasks, name)))
    # nothing is queued by an engine's own path: only tasks' names are written in the code
    root = Path(tasks.__file__).resolve().parent.parent
    written = {m for f in root.rglob("*.py") if f.name != "tasks.py"
               for m in re.findall(r"[\"'](factory_app\.accounting\.[a-z_.]+)[\"']", f.read_text())}
    assert written == set(), written


def test_a_queued_job_by_its_old_path_does_its_work(app, tenant, redis_conn):
    """A SyncRun queued under the path of the last release is run by a worker now (with
    no connection it ends as failed, saying so)."""
    from rq import Queue, SimpleWorker

    from factory_app.models import SyncRun
    with app.app_context():
        run = SyncRun(organisation_id=tenant.org_id, kind="sync", status="queued")
        db.session.add(run)
        db.session.commit()
        run_id = run.id
        queue = Queue("default", connection=redis_conn)
        job = queue.enqueue("factory_app.accounting.sync.run_job", run_id)
        assert SimpleWorker([queue], connection=redis_conn).work(burst=True)
        assert job.get_status() == "finished" and job.return_value() == "failed"
        db.session.expire_all()
        ran = db.session.get(SyncRun, run_id)
        assert (ran.status, ran.message) == ("failed", "The accounting package is not connected.")


def test_what_a_package_keeps_of_a_connection_reaches_every_call(app, tenant):
    """A package's own data of the connection (RemoteOrganisation.data at connect time,
    kept as package_data) is in the ApiSession each call gets."""
    from datetime import datetime, timedelta, timezone

    from factory_app.accounting import connections as conn_service
    from factory_app.accounting.crypto import encrypt
    from factory_app.models import AccountingConnection
    with app.app_context():
        connection = AccountingConnection(
            organisation_id=tenant.org_id, provider="xero", status="active", remote_org_id="t1", remote_org_name="Harbour",
            access_token_enc=encrypt("token"), refresh_token_enc=encrypt("refresh"),
            access_expires_at=datetime.now(timezone.utc) + timedelta(hours=1),
            package_data={"company_file": "https://books.test/files/7f3a", "country": "AU"})
        db.session.add(connection)
        db.session.commit()
        seen = conn_service.call(connection, lambda session: (session.access_token, dict(session.extras)))
        assert seen == ("token", {"company_file": "https://books.test/files/7f3a", "country": "AU"})


def test_a_documents_push_is_one_per_remote_organisation_of_each_package(app, tenant):
    """The push's key has the package in it: the same organisation id at another package
    is another push (never found for this connection), the same one twice is refused."""
    from types import SimpleNamespace

    import pytest
    from sqlalchemy.exc import IntegrityError

    from factory_app.accounting import push as push_service
    from factory_app.accounting import pushes
    from factory_app.models import AccountingConnection
    doc = SimpleNamespace(id=11, organisation_id=tenant.org_id)
    with app.test_request_context():
        ours = DocumentPush(organisation_id=tenant.org_id, provider="xero", remote_org_id="1234", doc_type="invoice",
                            doc_id=11, state="sent", attempts=0)
        theirs = DocumentPush(organisation_id=tenant.org_id, provider="otherbooks", remote_org_id="1234",
                              doc_type="invoice", doc_id=11, state="queued", attempts=0)
        db.session.add_all([ours, theirs])
        db.session.commit()
        xero = AccountingConnection(provider="xero", remote_org_id="1234")
        other = AccountingConnection(provider="otherbooks", remote_org_id="1234")
        assert pushes.push_for("invoice", doc, xero) is ours and ours.goes_to(xero) and not ours.goes_to(other)
        assert pushes.push_for("invoice", doc, other) is theirs
        db.session.add(DocumentPush(organisation_id=tenant.org_id, provider="xero", remote_org_id="1234",
                                    doc_type="invoice", doc_id=11, state="queued", attempts=0))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_a_tax_rate_has_an_id_of_its_own_which_is_its_code_unless_the_package_says_otherwise():
    from decimal import Decimal

    from factory_app.accounting.base import RemoteTaxRate
    from factory_app.accounting.providers.xero import mapping as xero_mapping
    assert RemoteTaxRate(code="GST", name="GST", rate=Decimal("10"), remote_id="17").remote_id == "17"
    assert RemoteTaxRate(code="GST", name="GST", rate=Decimal("10")).remote_id == "GST"
    rate = xero_mapping.tax_rate({"TaxType": "OUTPUT", "Name": "GST on Income", "Status": "ACTIVE", "EffectiveRate": 10})
    assert (rate.code, rate.remote_id) == ("OUTPUT", "OUTPUT")  # Xero's TaxType is both
