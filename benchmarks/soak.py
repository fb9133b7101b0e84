"""Soak: pushing invoices to the accounting package (the Xero sandbox) through faults,
token expiries and killed workers, then checking that each one arrived exactly once.

    python benchmarks/soak.py [--invoices N] [--database-url URL] [--budget CALLS] [--keep]

What it does, all on this machine:
1. starts the Xero sandbox in-process (rate limits raised, OpenAPI validation off), Redis
   (REDIS_URL if set -- that Redis database is FLUSHED, since real workers listen on its
   default queue -- else an embedded one) and a fresh database (a temp SQLite file, or a new
   PostgreSQL database factory_bench_<pid> on the server of --database-url, dropped at the end);
2. signs up an organisation, connects it through the consent page, runs the "sync" and
   "import_customers" runs in-process, maps accounts and tax (200 / OUTPUT / EXEMPTOUTPUT) and
   turns automatic sending of approved invoices on -- what tests/test_push.py's `ready` does;
3. starts a real worker (`worker.py`, RQ worker with scheduler) as a subprocess and creates N
   invoices through the service functions (create_order, add_line, update_line,
   set_order_status, create_invoice) in batches, one commit per batch (the commit enqueues the
   push jobs), a new batch once all but half a batch are sent. Before each batch it queues
   faults for ~20% of the calls the batch takes (a call carries up to the adapter's
   documents_per_call invoices; at least one fault a batch) on /api.xro/2.0/Invoices (500, 503, 429, timeouts, dropped connections); it expires the access
   tokens twice and SIGKILLs the worker three times (its whole process tree: the worker, its
   work-horse in the middle of a job, its scheduler), starting a new worker after each kill;
4. lets everything settle, running `resend_stuck()` once a minute as `rq cron` would;
5. reads every invoice back from the sandbox (GET /api.xro/2.0/Invoices, paged, with the
   connection's token) and checks: exactly N of Factory's invoices (by InvoiceNumber = Factory's
   invoice number), no duplicates, every total equal to Factory's, every push "sent".

The workers get Factory's per-minute call budget and HTTP timeout through the environment
(ACCOUNTING_CALLS_PER_MINUTE, ACCOUNTING_HTTP_TIMEOUT); `--budget 0` keeps Factory's own
budget (58 calls a minute) and timeout (20 s).

The last line printed is one JSON object with the headline figures.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HARBOUR_ID = "11569994-bd21-5311-9427-ca910d2543de"
CLIENT_ID, CLIENT_SECRET = "factory-bench", "bench-secret"
CALLBACK = "http://localhost/settings/integrations/xero/callback"
PASSWORD = "correct horse battery staple"
INVOICES_PATH = "/api.xro/2.0/Invoices"
# the sandbox must not be what limits the run; Factory's budget (--budget) paces the calls
LIMITS = {"per_minute": 100_000, "concurrent": 50, "per_day": 10**9, "app_per_minute": 10**9}
FAULT_MIX = ["503", "500", "429", "drop", "timeout", "503", "500", "429", "drop", "503"]
HTTP_TIMEOUT = 2.0  # the worker's ACCOUNTING_HTTP_TIMEOUT; a "timeout" fault holds the answer longer


# --- real worker processes ------------------------------------------------------------------

PACKAGE = "xero"  # what --package defaults to in every benchmark


def package_choice(parser) -> None:
    """--package: which accounting package (and sandbox face) the benchmark runs against."""
    from factory_app.accounting import REGISTRY
    parser.add_argument("--package", default=PACKAGE, choices=sorted(REGISTRY),
                        help=f"the accounting package, through its sandbox face (default {PACKAGE})")


def package_settings(sandbox_url: str, package: str = PACKAGE, client_id: str = CLIENT_ID,
                     client_secret: str = CLIENT_SECRET) -> dict[str, str]:
    """The settings that point Factory's adapter for `package` at its face of the sandbox
    running at `sandbox_url` (the adapter knows its face's prefix)."""
    from factory_app.accounting import REGISTRY
    return REGISTRY[package].sandbox_settings(sandbox_url, client_id, client_secret, "", CALLBACK)


def worker_env(*, database_url: str, redis_url: str, token_key: str, api_url: str, instance_path,
               client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET, budget: int | None = None,
               http_timeout: float | None = None, package: str = PACKAGE) -> dict:
    """The environment of a worker process; `api_url` is the sandbox's root."""
    env = dict(os.environ)
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, FACTORY_TOKEN_KEY=token_key,
               FACTORY_INSTANCE_PATH=str(instance_path),
               SECRET_KEY=env.get("SECRET_KEY") or "benchmark-only-secret-key", PYTHONUNBUFFERED="1",
               **package_settings(api_url, package, client_id, client_secret))
    env.pop("ACCOUNTING_CALLS_PER_MINUTE", None)
    env.pop("ACCOUNTING_HTTP_TIMEOUT", None)
    if budget:
        env["ACCOUNTING_CALLS_PER_MINUTE"] = str(int(budget))
    if http_timeout:
        env["ACCOUNTING_HTTP_TIMEOUT"] = str(http_timeout)
    return env


def worker_command(env: dict) -> list[str]:
    """`python worker.py`: it reads ACCOUNTING_CALLS_PER_MINUTE / ACCOUNTING_HTTP_TIMEOUT from
    the environment (factory_app/config.py, since 7d94d9d)."""
    return [sys.executable, str(ROOT / "worker.py")]


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                found += [int(p) for p in fh.read().split()]
    except OSError:
        pass
    return found


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        for child in _children(todo.pop()):
            out.append(child)
            todo.append(child)
    return out


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


class Worker:
    """One `worker.py` subprocess in a session of its own. RQ forks a work-horse per job
    (in a process group of its own) and runs its scheduler as a child process."""

    def __init__(self, env: dict, log_path: Path):
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.process = subprocess.Popen(worker_command(env), cwd=ROOT, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def horses(self) -> list[int]:
        """Children in a process group of their own: work-horses running a job."""
        return [c for c in _children(self.pid) if _pgid(c) == c]

    def wait_for_horse(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.horses():
                return True
            if not self.alive():
                return False
            time.sleep(0.002)
        return False

    def kill(self) -> int:
        """SIGKILL the whole tree at once: worker, scheduler and the work-horse mid-job.
        (The tree is frozen with SIGSTOP first so nothing forks in between.)
        Returns how many processes were killed."""
        if not self.alive():
            return 0
        try:
            os.killpg(self.pid, signal.SIGSTOP)
        except ProcessLookupError:
            pass
        tree = _descendants(self.pid)
        for pid in tree:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)
        self.log.close()
        return 1 + len(tree)

    def stop(self, timeout: float = 20):
        """A graceful stop (SIGTERM, as a deploy would), then SIGKILL if it hangs."""
        if self.alive():
            tree = _descendants(self.pid)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
            for pid in tree:  # the scheduler child, should it outlive its parent
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if not self.log.closed:
            self.log.close()


# --- the sandbox's request log ------------------------------------------------------------------

def keep_full_request_log(server) -> None:
    """The in-process sandbox keeps its last 500 requests; keep them all for counting."""
    server.sandbox.requests = deque(server.sandbox.requests, maxlen=5_000_000)


def sandbox_requests(server) -> list[dict]:
    return list(server.sandbox.requests)


def control(base_url: str, endpoint: str, method: str = "post", **body) -> dict:
    import requests
    response = requests.request(method, f"{base_url}/__sandbox/{endpoint}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def queue_faults(base_url: str, kinds: list[str], http_timeout: float = HTTP_TIMEOUT) -> None:
    for kind in kinds:
        body = {"kind": kind, "count": 1, "path": INVOICES_PATH}
        if kind == "429":
            body["retry_after"] = 1
        if kind == "timeout":
            body["seconds"] = http_timeout + 1.5  # longer than the worker waits: the answer is lost
        control(base_url, "faults", **body)


# --- Factory side ---------------------------------------------------------------------------

def create_invoices(org_id: int, customer_ids: list[int], count: int, rng: random.Random) -> dict[str, Decimal]:
    """`count` confirmed orders, each invoiced; one commit at the end (which enqueues the
    push jobs). Returns {invoice number: total}."""
    from factory_app.extensions import db
    from factory_app.services import documents as docs
    made = []
    for i in range(count):
        order = docs.create_order(org_id, {"customer_id": customer_ids[i % len(customer_ids)]})
        for _ in range(rng.randint(1, 3)):
            line = docs.add_line(order, None)
            docs.update_line(order, line, {
                "product_id": None, "description": rng.choice(["Panels", "Brackets", "Duct", "Labour"]),
                "quantity": Decimal(rng.randint(1, 40)), "unit_price": Decimal(rng.randint(50, 99_999)) / 100,
                "discount_percent": Decimal(rng.choice([0, 0, 0, 5, 12.5])), "tax_rate": Decimal(rng.choice([10, 10, 0]))})
        docs.set_order_status(order, "confirm")
        made.append(docs.create_invoice(order))
    db.session.commit()
    out = {inv.number: inv.total for inv in made}
    db.session.remove()
    return out


def push_states(app) -> Counter:
    from sqlalchemy import func, select

    from factory_app.extensions import db
    from factory_app.models import DocumentPush
    with app.app_context():
        try:
            return Counter(dict(db.session.execute(select(DocumentPush.state, func.count()).where(
                DocumentPush.doc_type == "invoice").group_by(DocumentPush.state)).all()))
        finally:
            db.session.remove()


def package_invoices(api_url: str, org_id: int) -> list[dict]:
    """Every invoice the sandbox holds for the connected organisation, read page by page
    with the connection's own token (`api_url` is the sandbox's root; the face is at /xero)."""
    import requests

    from factory_app.accounting import connections as conn_service
    from factory_app.extensions import db
    connection = conn_service.current_connection(org_id)
    session = conn_service.api_session(connection)
    db.session.commit()
    db.session.remove()
    headers = {"Authorization": f"Bearer {session.access_token}", "Accept": "application/json",
               "xero-tenant-id": session.remote_org_id}
    rows, page = [], 1
    while True:
        for _ in range(30):  # the checker shares the organisation's minute limit with Factory: wait its turn
            response = requests.get(f"{api_url}/xero{INVOICES_PATH}", headers=headers, timeout=60,
                                    params={"page": page, "pageSize": 1000})
            if response.status_code != 429:
                break
            time.sleep(float(response.headers.get("Retry-After") or 2))
        response.raise_for_status()
        data = json.loads(response.content, parse_float=Decimal)
        rows += data.get("Invoices") or []
        if page >= (data.get("pagination") or {}).get("pageCount", page):
            return rows
        page += 1


def verify(api_url: str, org_id: int, expected: dict[str, Decimal]) -> dict:
    """Compare the package with Factory: by InvoiceNumber (= Factory's invoice number;
    Xero refuses a second invoice of one number, so a duplicate create would show as a
    push flagged with that refusal, counted in `flagged`)."""
    from sqlalchemy import select

    from factory_app.extensions import db
    from factory_app.models import DocumentPush, Invoice
    rows = package_invoices(api_url, org_id)
    ours = [r for r in rows if r.get("Type") == "ACCREC" and r.get("InvoiceNumber") in expected
            and r.get("Status") not in ("DELETED", "VOIDED")]
    by_reference = Counter(r["InvoiceNumber"] for r in ours)
    duplicates = sum(n - 1 for n in by_reference.values() if n > 1)
    lost = sorted(set(expected) - set(by_reference))
    wrong_total = sorted({r["InvoiceNumber"] for r in ours if Decimal(str(r["Total"])) != expected[r["InvoiceNumber"]]})
    pushes = db.session.execute(select(Invoice.number, DocumentPush.state, DocumentPush.message,
                                       DocumentPush.remote_id, DocumentPush.attempts)
                                .join(DocumentPush, (DocumentPush.doc_id == Invoice.id)
                                      & (DocumentPush.doc_type == "invoice"))
                                .where(Invoice.organisation_id == org_id)).all()
    db.session.remove()
    remote_ids = {r["InvoiceNumber"]: r["InvoiceID"] for r in ours}
    not_sent = sorted(p.number for p in pushes if p.state != "sent")
    flagged = sorted(p.number for p in pushes if p.message)
    id_mismatch = sorted(p.number for p in pushes if p.state == "sent" and remote_ids.get(p.number) != p.remote_id)
    return {"package_rows": len(rows), "in_package": len(by_reference), "duplicates": duplicates,
            "duplicated_refs": sorted(ref for ref, n in by_reference.items() if n > 1), "lost": lost,
            "wrong_total": wrong_total, "pushes": len(pushes), "not_sent": not_sent, "flagged": flagged,
            "remote_id_mismatch": id_mismatch, "attempts": Counter(p.attempts for p in pushes)}


FIRST_INVOICE_NUMBER = 10_001


def setup_factory(app, sandbox_url: str, org_name: str = "Soak Fabrication"):
    """Sign up, connect through the consent page, sync + import customers, map accounts
    and tax, sending on (approved). Returns (org_id, [linked customer ids])."""
    from sqlalchemy import select

    from benchmarks.contacts_import import run_job_timed, start_and_unqueue
    from factory_app.extensions import db
    from factory_app.models import ExternalLink
    from factory_app.services.orgs import sign_up
    from tests.support.consent import consent, local_path
    with app.app_context():
        admin = sign_up(org_name, "Soak Admin", "admin@soak-fabrication.example", PASSWORD)
        db.session.commit()
        org_id, user_id = admin.organisation_id, admin.id
        db.session.remove()
    client = app.test_client()
    assert client.post("/login", data={"email": "admin@soak-fabrication.example", "password": PASSWORD}).status_code == 302
    start = client.post("/settings/integrations/xero/connect")
    assert start.status_code == 302, start.data
    back = consent(start.headers["Location"], ["Harbour"])
    assert back.startswith(CALLBACK), back
    done = client.get(local_path(back))
    assert done.status_code == 302 and done.headers["Location"] == "/settings/integrations", done.data
    with app.app_context():
        for kind in ("sync", "import_customers"):
            run_id = start_and_unqueue(org_id, user_id, kind)
            db.session.remove()
            run_job_timed(run_id)
            db.session.remove()
        customers = list(db.session.scalars(select(ExternalLink.local_id).where(
            ExternalLink.organisation_id == org_id, ExternalLink.local_type == "customer").order_by(ExternalLink.local_id)))
        db.session.remove()
    assert customers, "import_customers linked no customers"
    mapped = client.post("/settings/integrations/mapping", data={
        "sales_account_code": "200", "sales_tax_taxable": "OUTPUT", "sales_tax_free": "EXEMPTOUTPUT",
        "purchase_account_code": "300", "purchase_tax_taxable": "INPUT", "purchase_tax_free": "EXEMPTEXPENSES"})
    assert mapped.status_code in (200, 302), mapped.data
    sending = client.post("/settings/integrations/sending", data={"send_invoices": "y", "status": "approved"})
    assert sending.status_code in (200, 302), sending.data
    with app.app_context():
        # the sandbox's Harbour has invoices numbered up to INV-0484 (made in Xero before
        # Factory): Factory's numbers start past anything the runs reach, as an
        # administrator would set them under Settings
        from factory_app.services.orgs import move_numbers_forward
        move_numbers_forward(org_id, {"next_invoice_number": FIRST_INVOICE_NUMBER})
        db.session.commit()
        from factory_app.accounting import connections as conn_service
        connection = conn_service.current_connection(org_id)
        assert connection.send_invoices and connection.approve_documents and connection.sales_account_code == "200"
        db.session.remove()
    return org_id, customers


def queue_sizes(app) -> dict:
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry

    from factory_app.jobs import queue
    with app.app_context():
        q = queue()
        return {"queued": q.count, "scheduled": ScheduledJobRegistry(queue=q).count,
                "started": StartedJobRegistry(queue=q).count}


def scheduler_lock_holder(app) -> str | None:
    from factory_app.jobs import redis_connection
    with app.app_context():
        value = redis_connection().get("rq:scheduler-lock:default")
        return value.decode() if value else None


# --- the benchmark -------------------------------------------------------------------------

def start_redis(folder) -> tuple:
    """(embedded server or None, url, description): REDIS_URL if set (flushed: use a
    database nothing else keeps), else an embedded Redis in the work folder."""
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        from redis import Redis
        Redis.from_url(redis_url).flushdb()
        return None, redis_url, f"{redis_url} (REDIS_URL; flushed)"
    from factory_app.localredis import EmbeddedRedis
    server = EmbeddedRedis(folder / "redis", persist=False)
    return server, server.url, f"embedded, {server.url}"


def app_config(database_url: str, redis_url: str, sandbox_url: str, token_key: str, package: str = PACKAGE,
               **extra) -> dict:
    """Factory's config for a benchmark: the sandbox's face of `package`, the benchmark's OAuth client."""
    return {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url, "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": None, "FACTORY_TOKEN_KEY": token_key, **package_settings(sandbox_url, package), **extra}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    package_choice(parser)
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--database-url", help="default: a new SQLite file in a temp folder; a PostgreSQL URL "
                        "names the server on which a fresh database factory_bench_<pid> is made and dropped")
    parser.add_argument("--budget", type=int, default=6000,
                        help="Factory's calls per minute in the workers (ACCOUNTING_CALLS_PER_MINUTE; default 6000); "
                             "0 keeps Factory's default (58) and starts plain worker.py")
    parser.add_argument("--batch", type=int, default=50, help="invoices per commit (default 50)")
    parser.add_argument("--fault-rate", type=float, default=0.2,
                        help="faults queued per batch, as a share of the calls it takes (at least one; default 0.2)")
    parser.add_argument("--settle-timeout", type=float, default=900)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (worker logs, databases)")
    args = parser.parse_args(argv)
    if args.invoices < 1:
        parser.error("--invoices must be 1 or more")

    folder = Path(tempfile.mkdtemp(prefix="factory-soak-"))
    os.environ["FACTORY_INSTANCE_PATH"] = str(folder / "instance")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key")

    from cryptography.fernet import Fernet

    from benchmarks.contacts_import import Database, banner, code_version, reset_schema, tear_down
    from sandbox.core.testing import SandboxServer

    database = Database(args.database_url, folder, reuse=False)
    redis_server = sandbox = app = None
    workers: list[Worker] = []
    created_database = False
    started_at = time.monotonic()
    try:
        redis_server, redis_url, redis_description = start_redis(folder)
        sandbox = SandboxServer(folder / "sandbox.db", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                test_controls=True, limits=LIMITS).start()
        keep_full_request_log(sandbox)
        database.create()
        created_database = True

        from flask_migrate import upgrade

        from factory_app import create_app
        from factory_app.accounting.push import resend_stuck
        from factory_app.extensions import db

        token_key = Fernet.generate_key().decode()
        config = app_config(database.url, redis_url, sandbox.url, token_key, package=args.package, ACCOUNTING_HTTP_TIMEOUT=HTTP_TIMEOUT)
        if args.budget:
            config["ACCOUNTING_CALLS_PER_MINUTE"] = args.budget
        app = create_app(config)
        env = worker_env(package=args.package, database_url=database.url, redis_url=redis_url, token_key=token_key, api_url=sandbox.url,
                         instance_path=folder / "worker-instance", budget=args.budget or None,
                         http_timeout=HTTP_TIMEOUT if args.budget else None)

        from factory_app.accounting import REGISTRY
        per_call = REGISTRY[args.package].documents_per_call
        banner("Push soak")
        print(f"invoices:        {args.invoices}, in commits of {args.batch}")
        print(f"database:        {database.description}")
        print(f"redis:           {redis_description}")
        print(f"sandbox:         {sandbox.url}, in this process; rate limits RAISED to {LIMITS}; validation off")
        if args.budget:
            print(f"Factory budget:  RAISED to {args.budget} calls/minute and HTTP timeout {HTTP_TIMEOUT} s in the "
                  "workers (ACCOUNTING_CALLS_PER_MINUTE / ACCOUNTING_HTTP_TIMEOUT in their environment)")
        else:
            print("Factory budget:  Factory's default (58 calls/minute, HTTP timeout 20 s)")
        print(f"faults:          ~{args.fault_rate:.0%} of each batch's calls ({per_call} invoices a call), at least "
              f"one a batch, on {INVOICES_PATH}, cycling {FAULT_MIX}")
        print(f"code measured:   {code_version()}")
        print(f"work folder:     {folder}")

        with app.app_context():
            reset_schema(db)
            upgrade()
            db.session.remove()
        org_id, customers = setup_factory(app, sandbox.url)
        print(f"connected; {len(customers)} linked customers to invoice")

        n, batch = args.invoices, max(1, args.batch)
        batches = math.ceil(n / batch)
        kill_at = {max(1, round(batches * f)) for f in (0.25, 0.5, 0.75)} if batches >= 4 else set(range(1, 4))
        expire_at = {max(1, round(batches * f)) for f in (0.35, 0.65)} if batches >= 3 else {1, 2}
        rng = random.Random(args.seed)
        expected: dict[str, Decimal] = {}
        kills, expiries, faults_queued, processes_killed = 0, 0, 0, 0
        fault_cycle = 0
        kill_notes = []

        banner("Creating invoices with faults, token expiries and worker kills")
        workers.append(Worker(env, folder / "worker-1.log"))
        created_started = time.monotonic()
        done = 0
        for b in range(1, batches + 1):
            size = min(batch, n - done)
            # keep pace with the sending, so each batch's faults land among its own calls
            # (queued all at once they would all hit the first calls, and the first retries):
            # a new batch once all but half a batch of the invoices so far are sent
            paced = time.monotonic() + 60
            while push_states(app).get("sent", 0) < done - batch // 2 and time.monotonic() < paced:
                time.sleep(0.05)
            # the faults are a share of the calls the batch takes (a call carries up to
            # documents_per_call invoices), at least one a batch: a fault per invoice would
            # be most of the calls, and every one of them costs the backlog a probe's wait
            calls = math.ceil(size / per_call)
            want = max(1, round(calls * args.fault_rate))
            kinds = [FAULT_MIX[(fault_cycle + i) % len(FAULT_MIX)] for i in range(want)]
            fault_cycle += want
            queue_faults(sandbox.url, kinds)
            faults_queued += len(kinds)
            with app.app_context():
                expected.update(create_invoices(org_id, customers, size, rng))
            done += size
            if b in expire_at:
                expired = control(sandbox.url, "tokens/expire")["expired"]
                expiries += 1
                print(f"  batch {b}: access tokens expired ({expired})")
            if b in kill_at and kills < 3:
                worker = workers[-1]
                caught = worker.wait_for_horse(10)
                horses = worker.horses()
                killed = worker.kill()
                processes_killed += killed
                kills += 1
                note = (f"batch {b}: SIGKILL worker {worker.pid} " +
                        (f"with its work-horse {horses} mid-job" if caught else "(no job running)") +
                        f", {killed} processes")
                kill_notes.append(note)
                print(f"  {note}; scheduler lock holder: {scheduler_lock_holder(app)}")
                workers.append(Worker(env, folder / f"worker-{len(workers) + 1}.log"))
            print(f"  batch {b}/{batches}: {done} invoices created, {len(kinds)} faults queued; "
                  f"pushes {dict(push_states(app))}; queue {queue_sizes(app)}", flush=True)
        created_s = time.monotonic() - created_started
        print(f"created {done} invoices in {created_s:.1f} s")

        banner("Settling (resend_stuck once a minute, as rq cron would)")
        settle_started = time.monotonic()
        last_cron = time.monotonic()
        last_report = 0.0
        cron_runs, resent = 0, 0
        while True:
            states = push_states(app)
            now = time.monotonic()
            if states.get("sent", 0) == n:
                break
            if now - settle_started > args.settle_timeout:
                print(f"NOT SETTLED after {args.settle_timeout:.0f} s: {dict(states)}")
                break
            if now - last_cron >= 60:
                with app.app_context():
                    count = resend_stuck()["pushes"]  # the outbox sweep's counts: pushes and runs given a job
                cron_runs += 1
                resent += count
                last_cron = now
                print(f"  resend_stuck(): {count} re-enqueued")
            if now - last_report >= 10:
                last_report = now
                print(f"  +{now - settle_started:5.0f} s: pushes {dict(states)}; queue {queue_sizes(app)}; "
                      f"scheduler lock: {scheduler_lock_holder(app)}", flush=True)
            if not workers[-1].alive():
                print(f"  worker {workers[-1].pid} exited ({workers[-1].process.returncode}); starting another")
                workers.append(Worker(env, folder / f"worker-{len(workers) + 1}.log"))
            time.sleep(0.5)
        settle_s = time.monotonic() - settle_started
        print(f"settled in {settle_s:.1f} s after the last batch; resend_stuck ran {cron_runs} times, "
              f"re-enqueued {resent}")
        time.sleep(1)  # anything still in flight (a job that found its push already sent)
        workers[-1].stop()

        banner("Checking the package against Factory")
        leftover = control(sandbox.url, "state", method="get")["faults"]
        control(sandbox.url, "faults", method="delete")
        log = sandbox_requests(sandbox)
        applied = Counter(r["fault"] for r in log if r.get("fault"))
        api = [r for r in log if r["path"].startswith("/api.xro/")]
        statuses = Counter(r["status"] for r in api)
        endpoints = Counter(f"{r['method']} {r['path'].replace('/api.xro/2.0/', '')}" for r in api
                            if not r["path"].startswith(INVOICES_PATH + "/"))
        token_calls = sum(1 for r in log if r["path"] == "/connect/token")
        replays = Counter(r.get("idempotency_key") for r in api if r["method"] == "POST" and r.get("idempotency_key"))
        with app.app_context():
            found = verify(sandbox.url, org_id, expected)

        print(f"faults queued {faults_queued}, applied {sum(applied.values())} {dict(applied)}, "
              f"left unused {sum(f['count'] for f in leftover)}")
        print(f"API calls by the run: {len(api)} {dict(endpoints)}; statuses {dict(statuses)}; "
              f"token endpoint calls {token_calls}")
        print(f"POSTs to Invoices sent with the same idempotency key more than once: "
              f"{sum(1 for k, c in replays.items() if c > 1)} keys")
        print(f"push attempts per invoice: {dict(sorted(found['attempts'].items()))}")
        for note in kill_notes:
            print(f"kill: {note}")
        print(f"Factory invoices:            {n}")
        print(f"in the package (by ref):     {found['in_package']} of {found['package_rows']} invoices it holds")
        print(f"duplicates:                  {found['duplicates']} {found['duplicated_refs'][:10]}")
        print(f"lost:                        {len(found['lost'])} {found['lost'][:10]}")
        print(f"totals differing:            {len(found['wrong_total'])} {found['wrong_total'][:10]}")
        print(f"pushes not 'sent':           {len(found['not_sent'])} {found['not_sent'][:10]}")
        print(f"pushes with a message:       {len(found['flagged'])} {found['flagged'][:10]}")
        print(f"remote id != package's:      {len(found['remote_id_mismatch'])}")
        ok = (found["in_package"] == n and found["duplicates"] == 0 and not found["lost"] and not found["wrong_total"]
              and not found["not_sent"] and found["pushes"] == n)
        print(f"[{'PASS' if ok else 'FAIL'}] exactly {n} in the package, no duplicates, totals equal, all sent")
        total_s = time.monotonic() - started_at
        print(f"wall time: {total_s:.0f} s (creating {created_s:.0f} s, settling {settle_s:.0f} s)")
        print(json.dumps({"package": args.package, "invoices": n, "in_package": found["in_package"], "duplicates": found["duplicates"],
                          "lost": len(found["lost"]), "worker_kills": kills,
                          "faults_injected": sum(applied.values()), "token_expiries": expiries,
                          "wrong_totals": len(found["wrong_total"]), "not_sent": len(found["not_sent"]),
                          "settle_s": round(settle_s, 1)}), flush=True)
        return 0 if ok else 1
    finally:
        tear_down(app=app, sandbox=sandbox, database=database, created_database=created_database,
                  redis_server=redis_server, folder=folder, keep=args.keep, workers=workers)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill tears down too (workers, Redis, files)
    sys.exit(main())
