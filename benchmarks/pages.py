"""Factory at real size (issue 11): the pages people use, with 10,000 customers, 2,000
suppliers (each with an address and a person), 2,000 products, 50,000 sales orders of 3
lines (30,000 invoiced, each sent to Xero, a third paid) and 5,000 purchase orders, on
PostgreSQL, gunicorn with 2 workers x 4 threads, 16 Locust users with no think time.

    python benchmarks/pages.py [--duration 60] [--users 16] [--only NAME,...]
                               [--bare-seconds 20] [--database-url URL] [--keep-database]

- PostgreSQL: the machine's server (--database-url, default postgres@127.0.0.1:5432), a
  database of its own (factory_bench_<pid>, dropped at the end unless --keep-database).
  The data is made by the server itself (INSERT ... SELECT over generate_series, the rows
  never travel): seconds, not minutes.
- Redis: a redis-server of its own on a free port (the rate limits and the sessions'
  nothing else; no worker runs: the pages are measured, not the sync).
- gunicorn: `--workers 2 --threads 4 --worker-class gthread`, configured through the
  environment as the README says.

For each page: p50/p95/p99 (ms), requests/s, failures, the ratio of its p95 to the bare
route's (/healthz) p95, queries per request and HTML size (one request through Factory's
own app with a statement counter), the CPU seconds gunicorn and PostgreSQL used while
Locust asked for it, and from them the CPU milliseconds a request cost and that cost's
ratio to the bare route's. The bare route is measured again (--bare-seconds, 20 s) just
before each page, and the page is compared with that: on a shared machine the speed
drifts (two runs of the same code half an hour apart on a 2-core VM: the customer page
cost 4.5 and 6.0 ms of CPU a request, the bare route 0.75 and 0.54 ms), so a page is
compared with the bare route under the same conditions. Targets: p95 <= 10x the bare
route's, the picker's search <= 5x, <= 20 queries, <= 150 KB. Also checked: order
SO-30000 is reachable from the orders list by page, by search and by filter.

The last line printed is one JSON object:
{"bare_p95_ms" (the first), "pages": {name: {"p50_ms", "p95_ms", "p99_ms", "rps", "failures",
 "bare_p95_ms" (its reference), "ratio", "queries", "html_kb", "cpu_gunicorn_s", "cpu_postgres_s",
 "cpu_ms_per_request", "cpu_ratio"}}, "reachable": {...}, "met": bool}
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.contacts_import import Database, banner, code_version, reset_schema  # noqa: E402
from benchmarks.faults import RedisServer, Web  # noqa: E402

EMAIL, PASSWORD = "maria@wholesale-size.example", "correct horse battery staple"
SIZES = {"customers": 10_000, "suppliers": 2_000, "products": 2_000, "orders": 50_000, "invoiced": 30_000,
         "purchases": 5_000, "lines": 3}
TARGET_RATIO, PICKER_RATIO, MAX_QUERIES, MAX_KB = 10.0, 5.0, 20, 150


# --- the data ------------------------------------------------------------------------------

SEED_SQL = """
INSERT INTO organisations (id, name, base_currency, timezone, default_tax_rate, payment_terms_days,
                           next_order_number, next_invoice_number, next_purchase_number, created_at)
VALUES (1, 'Wholesale Size Pty Ltd', 'AUD', 'Australia/Melbourne', 10, 30, {orders} + 1, {invoiced} + 1,
        {purchases} + 1, now());
SELECT setval('organisations_id_seq', 1);

-- customers then suppliers: names people search for, an email and phone each
INSERT INTO parties (organisation_id, kind, name, email, phone, archived, created_at, updated_at)
SELECT 1, kind, name, lower(regexp_replace(name, '[^A-Za-z0-9]+', '.', 'g')) || '@example.com',
       '03 9' || lpad((i * 7919 % 10000000)::text, 7, '0'), false, now(), now()
FROM (
  SELECT i, CASE WHEN i <= {customers} THEN 'customer' ELSE 'supplier' END AS kind,
         (ARRAY['Coastal','Harbour','Ridgeline','Bayside','Northern','Precision','Southern','Summit','Valley',
                'Metro','Pacific','Granite','Ironbark','Redgum','Eastern','Western','Central','Riverside','Hilltop',
                'Lakeside'])[1 + i % 20] || ' ' ||
         (ARRAY['Kitchens','Builders','Air','Rail','Laser','Steel','Joinery','Electrical','Plumbing','Roofing',
                'Fabrication','Cabinets','Windows','Glass','Ducting','Signs','Fencing','Marine','Mining',
                'Transport','Engineering','Interiors','Shopfitting','Welding','Coatings'])[1 + (i / 20) % 25] || ' ' ||
         (ARRAY['Pty Ltd','Co','Group','Services','Supplies','& Sons','Industries','Trading'])[1 + (i / 500) % 8] ||
         ' ' || i AS name
  FROM generate_series(1, {customers} + {suppliers}) AS i
) AS named ORDER BY i;

INSERT INTO addresses (party_id, kind, line1, city, region, postcode, country)
SELECT id, 'postal', (id % 400 + 1) || ' Industrial Drive',
       (ARRAY['Geelong','Dandenong','Ballarat','Bendigo','Laverton','Campbellfield'])[1 + id % 6], 'VIC',
       (3000 + id % 900)::text, 'Australia'
FROM parties WHERE organisation_id = 1;
INSERT INTO contact_people (party_id, name, email, phone)
SELECT id, (ARRAY['Sam','Alex','Jo','Chris','Pat','Robin','Lee','Kim'])[1 + id % 8] || ' ' ||
           (ARRAY['Nguyen','Smith','Patel','Brown','Wilson','Taylor','Chen','Kelly'])[1 + (id / 8) % 8],
       'accounts' || id || '@example.com', '04' || lpad((id * 104729 % 100000000)::text, 8, '0')
FROM parties WHERE organisation_id = 1;

INSERT INTO products (organisation_id, sku, name, sale_price, purchase_cost, unit, taxable, archived, created_at, updated_at)
SELECT 1, (ARRAY['PNL','BRK','DCT','FLG','SHT','RAL','TUB','ANG'])[1 + i % 8] || '-' || lpad(i::text, greatest(4, length(i::text)), '0'),
       (ARRAY['Panel','Bracket','Duct','Flange','Sheet','Rail','Tube','Angle'])[1 + i % 8] || ' ' ||
       (ARRAY['galvanised','stainless','zinc','powder-coated','aluminium'])[1 + (i / 8) % 5] || ' ' || (i % 97 + 1) || ' mm',
       round((5 + (i * 37 % 2000) / 10.0)::numeric, 2), round((2 + (i * 37 % 2000) / 25.0)::numeric, 2),
       (ARRAY['each','m','sheet'])[1 + i % 3], i % 10 <> 0, false, now(), now()
FROM generate_series(1, {products}) AS i;

-- sales orders over two years; the first {invoiced} are invoiced, then confirmed, drafts, cancelled
INSERT INTO sales_orders (organisation_id, customer_id, order_date, number, reference, status,
                          subtotal, tax_total, total, version, created_at, updated_at)
SELECT 1, (SELECT min(id) FROM parties WHERE kind = 'customer') + (i * 7919 % {customers}),
       date '2026-12-01' - ((({orders} - i) * 730 / {orders}))::int,
       'SO-' || lpad(i::text, greatest(4, length(i::text)), '0'), CASE WHEN i % 3 = 0 THEN 'PO ' || (100000 + i) END,
       CASE WHEN i <= {invoiced} THEN 'invoiced' WHEN i % 50 = 0 THEN 'cancelled'
            WHEN i % 5 = 0 THEN 'draft' ELSE 'confirmed' END,
       0, 0, 0, 1, now(), now()
FROM generate_series(1, {orders}) AS i;

INSERT INTO sales_order_lines (order_id, position, description, quantity, unit_price, discount_percent, tax_rate,
                               line_subtotal, line_tax, line_total, product_id)
SELECT o.id, n, p.name, q, p.sale_price, d, t,
       round(q * p.sale_price * (100 - d) / 100, 2),
       round(round(q * p.sale_price * (100 - d) / 100, 2) * t / 100, 2),
       round(q * p.sale_price * (100 - d) / 100, 2) + round(round(q * p.sale_price * (100 - d) / 100, 2) * t / 100, 2),
       p.id
FROM sales_orders o CROSS JOIN generate_series(1, {lines}) AS n
CROSS JOIN LATERAL (SELECT (1 + (o.id * 13 + n * 7) % 40)::numeric AS q,
                           (ARRAY[0, 0, 0, 5, 12.5])[1 + (o.id + n) % 5]::numeric AS d,
                           (ARRAY[10, 10, 0])[1 + (o.id * n) % 3]::numeric AS t,
                           (SELECT min(id) FROM products) + (o.id * 31 + n * 17) % {products} AS pid) AS v
JOIN products p ON p.id = v.pid;

UPDATE sales_orders o SET subtotal = s.sub, tax_total = s.tax, total = s.sub + s.tax
FROM (SELECT order_id, sum(line_subtotal) AS sub, sum(line_tax) AS tax FROM sales_order_lines GROUP BY order_id) s
WHERE s.order_id = o.id;

INSERT INTO invoices (organisation_id, order_id, customer_id, issue_date, due_date, currency, number, reference,
                      status, subtotal, tax_total, total, version, created_at, updated_at)
SELECT 1, o.id, o.customer_id, o.order_date + 1, o.order_date + 31, 'AUD',
       'INV-' || lpad((row_number() OVER (ORDER BY o.id))::text, greatest(4, length((row_number() OVER (ORDER BY o.id))::text)), '0'), o.reference, 'issued',
       o.subtotal, o.tax_total, o.total, 1, now(), now()
FROM sales_orders o WHERE o.status = 'invoiced';

INSERT INTO invoice_lines (invoice_id, position, description, quantity, unit_price, discount_percent, tax_rate,
                           line_subtotal, line_tax, line_total, product_id)
SELECT i.id, l.position, l.description, l.quantity, l.unit_price, l.discount_percent, l.tax_rate,
       l.line_subtotal, l.line_tax, l.line_total, l.product_id
FROM invoices i JOIN sales_order_lines l ON l.order_id = i.order_id;

INSERT INTO purchase_orders (organisation_id, supplier_id, order_date, number, status, subtotal, tax_total, total,
                             version, created_at, updated_at)
SELECT 1, (SELECT min(id) FROM parties WHERE kind = 'supplier') + (i * 104729 % {suppliers}),
       date '2026-12-01' - ((({purchases} - i) * 730 / {purchases}))::int, 'PO-' || lpad(i::text, greatest(4, length(i::text)), '0'),
       (ARRAY['draft','sent','received','received'])[1 + i % 4], 0, 0, 0, 1, now(), now()
FROM generate_series(1, {purchases}) AS i;

INSERT INTO purchase_order_lines (purchase_id, position, description, quantity, unit_price, discount_percent, tax_rate,
                                  line_subtotal, line_tax, line_total, product_id)
SELECT po.id, n, p.name, q, p.purchase_cost, 0, 10, round(q * p.purchase_cost, 2),
       round(round(q * p.purchase_cost, 2) / 10, 2), round(q * p.purchase_cost, 2) + round(round(q * p.purchase_cost, 2) / 10, 2),
       p.id
FROM purchase_orders po CROSS JOIN generate_series(1, {lines}) AS n
CROSS JOIN LATERAL (SELECT (5 + (po.id * 11 + n) % 200)::numeric AS q,
                           (SELECT min(id) FROM products) + (po.id * 29 + n * 13) % {products} AS pid) AS v
JOIN products p ON p.id = v.pid;

UPDATE purchase_orders o SET subtotal = s.sub, tax_total = s.tax, total = s.sub + s.tax
FROM (SELECT purchase_id, sum(line_subtotal) AS sub, sum(line_tax) AS tax FROM purchase_order_lines GROUP BY purchase_id) s
WHERE s.purchase_id = o.id;

-- connected to Xero: every invoice sent (a third paid, a sixth part-paid), its payments
-- just read (opening an order doesn't ask the package again); the customers linked
INSERT INTO accounting_connections (organisation_id, provider, status, remote_org_id, remote_org_name, connected_at,
                                    updated_at, sales_account_code, sales_tax_taxable, sales_tax_free,
                                    purchase_account_code, purchase_tax_taxable, purchase_tax_free,
                                    send_invoices, send_purchases, approve_documents, document_numbers)
VALUES (1, 'xero', 'active', 'bench-tenant', 'Wholesale Size Pty Ltd', now(), now(), '200', 'OUTPUT', 'EXEMPTOUTPUT',
        '300', 'INPUT', 'EXEMPTEXPENSES', true, true, true, 'factory');

INSERT INTO document_pushes (organisation_id, provider, remote_org_id, doc_type, doc_id, state, remote_id,
                             remote_number, remote_status, pushed_version, wanted_version, attempts,
                             amount_paid, amount_due, payment_checked_at, created_at, updated_at)
SELECT 1, 'xero', 'bench-tenant', 'invoice', i.id, 'sent', md5('inv' || i.id), i.number,
       CASE WHEN i.id % 3 = 0 THEN 'PAID' ELSE 'AUTHORISED' END, 1, 1, 1,
       CASE WHEN i.id % 3 = 0 THEN i.total WHEN i.id % 6 = 1 THEN round(i.total / 2, 2) ELSE 0 END,
       CASE WHEN i.id % 3 = 0 THEN 0 WHEN i.id % 6 = 1 THEN i.total - round(i.total / 2, 2) ELSE i.total END,
       now() + interval '1 day', now(), now()
FROM invoices i;

INSERT INTO external_links (organisation_id, provider, remote_org_id, local_type, local_id, remote_id, remote_name, created_at)
SELECT 1, 'xero', 'bench-tenant', kind, id, md5('contact' || id), name, now() FROM parties WHERE organisation_id = 1;
"""


def seed(database_url: str, app) -> float:
    """The data set, made by PostgreSQL itself; returns the seconds it took."""
    from sqlalchemy import create_engine, text

    from factory_app.extensions import db
    from factory_app.models import User
    began = time.monotonic()
    engine = create_engine(database_url)
    with engine.begin() as conn:
        for statement in SEED_SQL.format(**SIZES).split(";\n"):
            if statement.strip():
                conn.execute(text(statement))
    engine.dispose()
    # what autovacuum would have done by now to tables this size (visibility map, statistics)
    vacuum = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with vacuum.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
    vacuum.dispose()
    with app.app_context():
        from factory_app.services.orgs import add_user
        from factory_app.models import Organisation
        from factory_app.models.org import ROLE_ADMIN
        add_user(db.session.get(Organisation, 1), "Maria Lopez", EMAIL, ROLE_ADMIN, PASSWORD)
        db.session.commit()
        assert db.session.query(User).count() == 1
        db.session.remove()
    return time.monotonic() - began


# --- the pages -------------------------------------------------------------------------------

def pages(app) -> dict[str, dict]:
    """Each page: the paths Locust picks from (random orders, customers, searches)."""
    from sqlalchemy import select

    from factory_app.extensions import db
    from factory_app.models import Customer, SalesOrder
    rng = random.Random(11)
    with app.app_context():
        invoiced = db.session.scalars(select(SalesOrder.id).where(SalesOrder.status == "invoiced")
                                      .order_by(SalesOrder.id)).all()
        customers = db.session.scalars(select(Customer.id).order_by(Customer.id)).all()
        names = db.session.scalars(select(Customer.name).order_by(Customer.id)).all()
        db.session.remove()
    words = sorted({w for n in names[:2000] for w in n.split()[:2]})
    return {
        "bare": {"paths": ["/healthz"]},
        "dashboard": {"paths": ["/"]},
        "orders": {"paths": ["/orders"]},
        "orders_deep_page": {"paths": [f"/orders?page={n}" for n in (400, 600, 800, 999)]},
        "orders_filtered": {"paths": ["/orders?status=confirmed&sort=-total", "/orders?package=paid",
                                      "/orders?from=2026-01-01&to=2026-03-31&status=invoiced",
                                      "/orders?q=Coastal"]},
        "order_edit": {"paths": [f"/orders/{i}" for i in rng.sample(invoiced, 500)]},
        "new_order": {"paths": ["/orders/new"]},
        "invoices": {"paths": ["/orders/invoices", "/orders/invoices?package=part_paid"]},
        "customers": {"paths": ["/customers"]},
        "customer_search": {"paths": [f"/customers?q={w}" for w in rng.sample(words, min(40, len(words)))]},
        "customer_page": {"paths": [f"/customers/{i}" for i in rng.sample(customers, 500)]},
        "products": {"paths": ["/products"]},
        "integrations": {"paths": ["/settings/integrations"]},
        "picker_search": {"paths": [f"/pick/customers?q={w[:3]}&list=customer_id-list" for w in
                                    rng.sample(words, min(40, len(words)))], "htmx": True},
    }


def queries_and_size(app, spec: dict) -> dict[str, tuple[float, float]]:
    """Per page: queries per request and HTML KB (mean over a few of its paths), through
    Factory's own app in this process with a statement counter."""
    from sqlalchemy import event

    from factory_app.extensions import db
    client = app.test_client()
    assert client.post("/login", data={"email": EMAIL, "password": PASSWORD}).status_code == 302
    out = {}
    for name, page in spec.items():
        counts, sizes = [], []
        for path in page["paths"][:5]:
            with app.app_context():
                seen = []
                listener = lambda *a: seen.append(1)  # noqa: E731
                event.listen(db.engine, "before_cursor_execute", listener)
                try:
                    response = client.get(path, headers={"HX-Request": "true"} if page.get("htmx") else {})
                finally:
                    event.remove(db.engine, "before_cursor_execute", listener)
            assert response.status_code == 200, (path, response.status_code)
            counts.append(len(seen))
            sizes.append(len(response.data) / 1024)
        out[name] = (max(counts), max(sizes))
    return out


def reachable(base: str, session: requests.Session, target: tuple) -> dict[str, bool | int]:
    """Order SO-30000 from the orders list: by page (sorted by number), by search, by filter."""
    found = {}
    per_page = 50
    position = SIZES["orders"] - 30_000  # newest first by number: SO-50000 is first
    page = position // per_page + 1
    text = session.get(f"{base}/orders?sort=-number&page={page}", timeout=30).text
    found["by_page"] = page if "SO-30000" in text else False
    found["by_search"] = "SO-30000" in session.get(f"{base}/orders?q=SO-30000", timeout=30).text
    customer_id, day = target
    text = session.get(f"{base}/orders?customer_id={customer_id}&from={day}&to={day}&status=invoiced", timeout=30).text
    found["by_filter"] = "SO-30000" in text  # its customer, its day, its status
    return found


# --- the processes -----------------------------------------------------------------------------

def gunicorn_cpu_seconds(web: Web) -> float:
    """CPU seconds used so far by gunicorn: its master and workers."""
    import psutil
    try:
        master = psutil.Process(web.process.pid)
        return sum(sum(p.cpu_times()[:2]) for p in (master, *master.children(recursive=True)))
    except psutil.Error:
        return 0.0


def postgres_cpu_seconds() -> float:
    import psutil
    total = 0.0
    for p in psutil.process_iter(["name"]):
        if (p.info["name"] or "").startswith("postgres"):
            try:
                total += sum(p.cpu_times()[:2])
            except psutil.Error:
                pass
    return total


def log_in(base: str, user_agent: str) -> dict:
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    page = session.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    data = {"email": EMAIL, "password": PASSWORD}
    if token:
        data["csrf_token"] = token.group(1)
    response = session.post(f"{base}/login", data=data, allow_redirects=False, timeout=30)
    assert response.status_code == 302, response.text[:300]
    return session


def run_locust(name: str, spec_path: Path, base: str, users: int, duration: int, folder: Path) -> dict:
    prefix = folder / f"locust-{name}"
    env = dict(os.environ, PAGES_SPEC=str(spec_path), PAGES_PAGE=name)
    locust = shutil.which("locust") or str(Path(sys.executable).with_name("locust"))
    subprocess.run([locust, "-f", str(ROOT / "benchmarks" / "pages_locust.py"), "--headless", "-u", str(users),
                    "-r", str(users), "-t", f"{duration}s", "--host", base, "--csv", str(prefix), "--only-summary",
                    "--loglevel", "WARNING"], env=env, cwd=ROOT, check=False, capture_output=True, timeout=duration + 120)
    with open(f"{prefix}_stats.csv") as fh:
        row = next(r for r in csv.DictReader(fh) if r["Name"] == name)
    return {"p50_ms": float(row["50%"]), "p95_ms": float(row["95%"]), "p99_ms": float(row["99%"]),
            "rps": round(float(row["Requests/s"]), 1), "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of Locust per page (default 60)")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--only", help="comma-separated pages (bare always runs)")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--bare-seconds", type=int, default=20,
                        help="seconds of the bare route again before each page, its reference (0: once, first)")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="factory-pages-"))
    os.environ["FACTORY_INSTANCE_PATH"] = str(folder / "instance")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key")
    database = Database(args.database_url, folder, reuse=False)
    redis = RedisServer(folder / "redis").start()
    web = None
    ok = False
    try:
        database.create()
        from cryptography.fernet import Fernet
        from flask_migrate import upgrade

        from factory_app import create_app
        from factory_app.extensions import db
        token_key = Fernet.generate_key().decode()
        app = create_app({"SQLALCHEMY_DATABASE_URI": database.url, "REDIS_URL": redis.url, "WTF_CSRF_ENABLED": False,
                          "FACTORY_TOKEN_KEY": token_key, "RATELIMIT_ENABLED": False})
        banner("Factory at real size (issue 11)")
        print(f"database:      {database.description}")
        print(f"code measured: {code_version()}")
        with app.app_context():
            reset_schema(db)
            upgrade()
            db.session.remove()
        seconds = seed(database.url, app)
        print(f"seeded:        {', '.join(f'{v:,} {k}' for k, v in SIZES.items() if k != 'lines')} "
              f"({SIZES['lines']} lines each) in {seconds:.1f} s")
        env = dict(os.environ, DATABASE_URL=database.url, REDIS_URL=redis.url, FACTORY_TOKEN_KEY=token_key,
                   PYTHONUNBUFFERED="1")
        web = Web(env, folder, workers=2, threads=4).start()
        user_agent = "factory-pages-benchmark/1"
        sessions = [log_in(web.url, user_agent) for _ in range(4)]  # under the login limit of 10 a minute
        spec = pages(app)
        chosen = ["bare", *[n for n in (args.only.split(",") if args.only else spec) if n != "bare"]]
        spec_path = folder / "spec.json"
        spec_path.write_text(json.dumps({"user_agent": user_agent, "pages": spec,
                                         "sessions": [requests.utils.dict_from_cookiejar(s.cookies) for s in sessions]}))
        with app.app_context():
            from sqlalchemy import select

            from factory_app.models import SalesOrder
            target = db.session.execute(select(SalesOrder.customer_id, SalesOrder.order_date)
                                        .where(SalesOrder.number == "SO-30000")).one()
            db.session.remove()
        found = reachable(web.url, sessions[0], (target[0], target[1].isoformat()))
        print(f"SO-30000:      by page {found['by_page']}, by search {found['by_search']}, by filter {found['by_filter']}")
        measured = queries_and_size(app, {n: spec[n] for n in chosen})
        print(f"gunicorn:      2 workers x 4 threads on {web.url}; Locust {args.users} users, {args.duration} s a page\n")
        print(f"{'page':18s} {'p50':>7s} {'p95':>7s} {'p99':>7s} {'req/s':>7s} {'fail':>5s} {'bare':>5s} {'x bare':>7s} "
              f"{'queries':>7s} {'KB':>6s} {'cpu gun':>8s} {'cpu pg':>7s} {'cpu/req':>8s} {'x bare':>7s}")
        results, bare = {}, None
        def measure(name: str, seconds: int) -> dict:
            gun, pg = gunicorn_cpu_seconds(web), postgres_cpu_seconds()
            figures = run_locust(name, spec_path, web.url, args.users, seconds, folder)
            figures["cpu_gunicorn_s"] = round(gunicorn_cpu_seconds(web) - gun, 1)
            figures["cpu_postgres_s"] = round(postgres_cpu_seconds() - pg, 1)
            # the work a request costs, whatever the queueing: what the p95 ratio stands for
            figures["cpu_ms_per_request"] = round(1000 * (figures["cpu_gunicorn_s"] + figures["cpu_postgres_s"])
                                                  / max(1, figures["requests"]), 2)
            figures["queries"], kb = measured[name]
            figures["html_kb"] = round(kb, 1)
            return figures

        reference = None
        for name in chosen:
            if name == "bare" or (args.bare_seconds and len(chosen) > 2):
                # the bare route again just before each page: a shared machine's speed drifts
                # over a run (other tenants, CPU credits), and a page is compared with the bare
                # route under the same conditions
                reference = measure("bare", args.duration if name == "bare" else args.bare_seconds)
                if name == "bare":
                    bare = max(reference["p95_ms"], 1.0)
            figures = reference if name == "bare" else measure(name, args.duration)
            figures["bare_p95_ms"] = max(reference["p95_ms"], 1.0)
            figures["ratio"] = round(figures["p95_ms"] / figures["bare_p95_ms"], 1)
            figures["cpu_ratio"] = round(figures["cpu_ms_per_request"] / max(reference["cpu_ms_per_request"], 0.01), 1)
            results[name] = figures
            print(f"{name:18s} {figures['p50_ms']:7.0f} {figures['p95_ms']:7.0f} {figures['p99_ms']:7.0f} "
                  f"{figures['rps']:7.1f} {figures['failures']:5d} {figures['bare_p95_ms']:5.0f} {figures['ratio']:6.1f}x "
                  f"{figures['queries']:7d} {figures['html_kb']:6.1f} {figures['cpu_gunicorn_s']:8.1f} "
                  f"{figures['cpu_postgres_s']:7.1f} {figures['cpu_ms_per_request']:8.2f} {figures['cpu_ratio']:6.1f}x",
                  flush=True)
        missed = []
        for name, f in results.items():
            limit = PICKER_RATIO if name == "picker_search" else TARGET_RATIO
            if name != "bare" and f["ratio"] > limit:
                missed.append(f"{name}: p95 {f['ratio']}x the bare route's (target {limit:.0f}x)")
            if f["queries"] > MAX_QUERIES:
                missed.append(f"{name}: {f['queries']} queries")
            if f["html_kb"] > MAX_KB:
                missed.append(f"{name}: {f['html_kb']} KB")
            if f["failures"]:
                missed.append(f"{name}: {f['failures']} failed requests")
        if not all(found.values()):
            missed.append(f"SO-30000 not reachable: {found}")
        ok = not missed
        print("\ntargets:       " + ("all met" if ok else "NOT MET: " + "; ".join(missed)))
        print(json.dumps({"bare_p95_ms": bare, "pages": results, "reachable": found, "met": ok}), flush=True)
        return 0 if ok else 1
    finally:
        if web is not None:
            web.stop()
        redis.stop()
        if not args.keep_database:
            database.drop()
        if ok:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"kept {folder}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
