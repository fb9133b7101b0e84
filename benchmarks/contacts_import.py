"""Benchmark: importing contacts from the accounting package (the Xero sandbox).

    python benchmarks/contacts_import.py [--contacts N] [--database-url URL] [--profile FILE]

What it does, all on this machine:
1. starts the Xero sandbox in a process of its own, as the real package is (with
   --sandbox-in-process: in this process, where its work competes with Factory's for the
   interpreter), rate limits raised so nothing is throttled, and seeds its
   "Harbour Sheet Metal" organisation with N contacts (a third customers, a third suppliers,
   a third both) on top of the ~33 it already holds;
2. builds Factory on a fresh database (a temporary SQLite file by default; with a
   PostgreSQL URL a new database factory_bench_<pid> on that server, dropped at the end),
   signs up an organisation and connects it to the sandbox through the consent page;
3. fetch baseline: reads every page of Contacts exactly as the adapter does (same URL,
   parameters, page size and headers, plain `requests`, JSON-decoded, nothing stored);
4. the import: an import_customers run, then an import_suppliers run (each reads every
   page, so the minimum number of calls is 2 x pages), each run as its RQ job body, with
   a fetch pass before, between and after them (this machine's speed drifts, so the two
   are timed side by side); --repeats times (default 3), what the import made emptied in
   between; the repeat with the median ratio is reported;
5. the resync: a "sync" run started straight after the import; its API calls and the rows
   it writes (INSERT/UPDATE/DELETE, counted at the database cursor).
   A second sync follows, for information only.

The last line printed is one JSON object with the headline figures.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # so that `sandbox`, `factory_app` and `tests.support` import

HARBOUR_ID = "11569994-bd21-5311-9427-ca910d2543de"
CLIENT_ID, CLIENT_SECRET = "factory-bench", "bench-secret"
CALLBACK = "http://localhost/settings/integrations/xero/callback"
PASSWORD = "correct horse battery staple"
# no throttling: the benchmark measures Factory, not Xero's rate limits
LIMITS = {"per_minute": 100_000, "concurrent": 50, "per_day": 10**9, "app_per_minute": 10**9}
BOOKKEEPING_TABLES = {"sync_runs", "accounting_connections"}  # the run's own progress, tokens, bookmarks
TARGET_RATIO = 1.3


# --- counting HTTP calls -----------------------------------------------------------------

class HttpCounter:
    """Wraps requests.Session.request (requests.get/put/... and Authlib's OAuth2Session all
    end there) and records every call made by this process while `active`."""

    def __init__(self):
        import requests
        self._requests = requests
        self._original = requests.sessions.Session.request
        self.active = False
        self.calls: list[tuple[str, str, int, float]] = []  # method, path, status, seconds
        counter = self

        def request(session, method, url, *args, **kwargs):
            if not counter.active:
                return counter._original(session, method, url, *args, **kwargs)
            started = time.perf_counter()
            status = 0
            try:
                response = counter._original(session, method, url, *args, **kwargs)
                status = response.status_code
                return response
            finally:
                counter.calls.append((method.upper(), urlsplit(url).path, status, time.perf_counter() - started))

        requests.sessions.Session.request = request

    def restore(self):
        self._requests.sessions.Session.request = self._original

    @contextmanager
    def counting(self):
        self.calls = []
        self.active = True
        try:
            yield self
        finally:
            self.active = False

    @property
    def seconds(self) -> float:
        return sum(c[3] for c in self.calls)

    def by_endpoint(self) -> Counter:
        return Counter(f"{m} {p.replace('/api.xro/2.0/', '')}" for m, p, _, _ in self.calls)


# --- counting database statements and rows written ------------------------------------------

_TABLE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
_VALUES = re.compile(r"\bVALUES\s*\(", re.IGNORECASE)
_FROM = re.compile(r'\bFROM\s+"?(\w+)"?', re.IGNORECASE)


class StatementCounter:
    """Counts statements (by verb and table) and rows written, at the DBAPI cursor."""

    def __init__(self, engine):
        from sqlalchemy import event
        self.engine = engine
        self.active = False
        self.statements: Counter = Counter()
        self.rows: Counter = Counter()
        self._pending: dict[int, tuple[str, str, int]] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def detach(self):
        from sqlalchemy import event
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    @contextmanager
    def counting(self):
        self.statements, self.rows = Counter(), Counter()
        self.active = True
        try:
            yield self
        finally:
            self.active = False

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if not self.active:
            return
        match = _TABLE.match(statement)
        if match is None:
            if statement.lstrip()[:6].upper() == "SELECT":
                found = _FROM.search(statement)
                self.statements[("SELECT", found.group(1) if found else "?")] += 1
            return
        verb, table = match.group(1).split()[0].upper(), match.group(2).lower()
        self.statements[(verb, table)] += 1
        sets = len(parameters) if executemany and isinstance(parameters, list) and parameters \
            and isinstance(parameters[0], (tuple, list, dict)) else 1
        estimate = sets
        if verb == "INSERT" and _VALUES.search(statement):
            # a "VALUES (...), (...)" batch (SQLAlchemy's insertmanyvalues) holds several rows
            estimate = (statement.count("), (") + 1) * sets
        self._pending[id(cursor)] = (verb, table, estimate, "RETURNING" in statement.upper())

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        pending = self._pending.pop(id(cursor), None)
        if pending is None:
            return
        verb, table, estimate, returning = pending
        count = cursor.rowcount
        # SQLite's rowcount is not final for INSERT/UPDATE ... RETURNING before the rows are fetched
        reliable = count is not None and count >= 0 and not (returning and conn.dialect.name == "sqlite")
        self.rows[(verb, table)] += count if reliable else estimate

    def written(self, business_only: bool) -> int:
        return sum(n for (verb, table), n in self.rows.items()
                   if not (business_only and table in BOOKKEEPING_TABLES))

    def statements_written(self, business_only: bool) -> int:
        return sum(n for (verb, table), n in self.statements.items() if verb != "SELECT"
                   and not (business_only and table in BOOKKEEPING_TABLES))

    def selects(self) -> str:
        found = sorted(((t, n) for (v, t), n in self.statements.items() if v == "SELECT"), key=lambda kv: -kv[1])
        return f"{sum(n for _, n in found)} (" + ", ".join(f"{t}: {n}" for t, n in found) + ")"

    def describe(self, rows: bool = True) -> str:
        source = self.rows if rows else self.statements
        parts = [f"{verb} {table}: {n}" for (verb, table), n in sorted(source.items(), key=lambda kv: (-kv[1], kv[0]))]
        return ", ".join(parts) or "none"


# --- the database --------------------------------------------------------------------------

class Database:
    """The benchmark's database: a temp SQLite file, a new PostgreSQL database, or (with
    --reuse-database) the given one with its schema reset."""

    def __init__(self, url: str | None, folder: Path, reuse: bool):
        from sqlalchemy.engine import make_url
        self.created_name = None
        self.admin_url = None
        if url is None:
            self.url = f"sqlite:///{folder / 'factory-bench.db'}"
            self.description = f"SQLite, a new file in {folder}"
            return
        from factory_app.config import normalise_database_url
        parsed = make_url(normalise_database_url(url))
        if parsed.get_backend_name() == "postgresql" and not reuse:
            self.admin_url = parsed
            self.created_name = f"factory_bench_{os.getpid()}"
            self.url = parsed.set(database=self.created_name).render_as_string(hide_password=False)
            self.description = (f"PostgreSQL, new database {self.created_name} on "
                                f"{parsed.host or 'localhost'}:{parsed.port or 5432} (dropped at the end)")
        else:
            self.url = parsed.render_as_string(hide_password=False)
            self.description = f"{parsed.get_backend_name()} database {parsed.database} as given (schema reset)"
        self.reuse = reuse

    def create(self):
        if self.created_name is None:
            return
        from sqlalchemy import create_engine, text
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.created_name}"'))
            conn.execute(text(f'CREATE DATABASE "{self.created_name}"'))
        engine.dispose()

    def drop(self):
        if self.created_name is None:
            return
        from sqlalchemy import create_engine, text
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.created_name}" WITH (FORCE)'))
        engine.dispose()


def reset_schema(db):
    from sqlalchemy import text
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        db.drop_all()
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


# --- helpers -------------------------------------------------------------------------------

def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def banner(text: str):
    print(f"\n== {text} " + "=" * max(0, 76 - len(text)), flush=True)


def code_version() -> str:
    """Which code was measured (read-only git commands; the tree may hold uncommitted work)."""
    import subprocess
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "factory_app"],
                               capture_output=True, text=True, timeout=10).stdout.split("\n")
        changed = [line[3:] for line in dirty if line.strip()]
    except (OSError, subprocess.SubprocessError):
        return "unknown (git not available)"
    if not head:
        return "unknown (not a git checkout)"
    return head + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")


LAST_CPU = [0.0]  # CPU seconds of this process (all its threads) in the last run_job_timed


class OtherCPU:
    """CPU seconds used by the other processes the import keeps busy on this machine: the
    sandbox (when it runs as a process of its own) and PostgreSQL's processes (when the
    server runs here). Read from /proc; None where that can't be seen. They share this
    machine's cores with Factory, which the real package's servers would not."""

    def __init__(self, sandbox_pid: int | None, postgres: bool):
        self.sandbox_pid, self.postgres = sandbox_pid, postgres and os.path.isdir("/proc")
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def _cpu(self, pid) -> float:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / self.tick
        except (OSError, IndexError, ValueError):
            return 0.0

    def read(self) -> tuple[float | None, float | None]:
        sandbox = self._cpu(self.sandbox_pid) if self.sandbox_pid and os.path.isdir("/proc") else None
        postgres = None
        if self.postgres:
            postgres = 0.0
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/comm") as comm:
                        if comm.read().strip() != "postgres":
                            continue
                except OSError:
                    continue
                postgres += self._cpu(pid)
        return sandbox, postgres

    @staticmethod
    def since(before, after) -> tuple[float | None, float | None]:
        return tuple(None if a is None or b is None else b - a for a, b in zip(before, after))

    @staticmethod
    def describe(used) -> str:
        sandbox, postgres = used
        parts = ([f"sandbox {sandbox:.2f} s"] if sandbox is not None else []) + \
                ([f"PostgreSQL {postgres:.2f} s"] if postgres is not None else [])
        return ", ".join(parts)


def run_job_timed(run_id: int, profiler=None) -> float:
    """The job body of one SyncRun, in this process (what an RQ worker runs), timed."""
    from factory_app.accounting import runs as sync
    started, cpu_started = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    try:
        outcome = sync.run_job(run_id)
    finally:
        if profiler is not None:
            profiler.disable()
    elapsed = time.perf_counter() - started
    LAST_CPU[0] = time.process_time() - cpu_started
    if outcome != "done":
        raise SystemExit(f"run {run_id} ended {outcome!r}")
    return elapsed


def start_and_unqueue(org_id: int, user_id: int, kind: str) -> int:
    """start_run + commit (which enqueues the job), then take the job off the queue again:
    the benchmark runs the job body itself, so no worker elsewhere may pick it up."""
    from rq.job import Job
    from factory_app.accounting import runs as sync
    from factory_app.extensions import db
    from factory_app.jobs import queue, redis_connection
    run = sync.start_run(org_id, user_id, kind)
    db.session.commit()
    run_id = run.id
    job_id = f"sync-run-{run_id}"
    queue().remove(job_id)
    try:
        Job.fetch(job_id, connection=redis_connection()).delete()
    except Exception:  # noqa: BLE001 - already gone
        pass
    return run_id


def reset_import(org_id: int) -> None:
    """Empty what an import made (customers, suppliers, their addresses, people and links,
    reviews, failures, import runs), so the next repeat imports the same contacts anew.
    The synced list of remote contacts stays, as it would between two real imports."""
    from sqlalchemy import delete, select
    from factory_app.extensions import db
    from factory_app.models import (
        Address, ContactPerson, ExternalLink, ImportReview, Party, SyncFailure, SyncRun,
    )
    parties = select(Party.id).where(Party.organisation_id == org_id)
    for statement in (
        delete(Address).where(Address.party_id.in_(parties)),
        delete(ContactPerson).where(ContactPerson.party_id.in_(parties)),
        delete(ExternalLink).where(ExternalLink.organisation_id == org_id,
                                   ExternalLink.local_type.in_(("customer", "supplier"))),
        delete(ImportReview).where(ImportReview.organisation_id == org_id),
        delete(SyncFailure).where(SyncFailure.organisation_id == org_id),
        delete(SyncRun).where(SyncRun.organisation_id == org_id, SyncRun.kind.in_(("import_customers",
                                                                                    "import_suppliers"))),
        delete(Party).where(Party.organisation_id == org_id),
    ):
        db.session.execute(statement.execution_options(synchronize_session=False))
    db.session.commit()
    db.session.remove()


def remote_kinds() -> dict:
    from sqlalchemy import func, select
    from factory_app.extensions import db
    from factory_app.models import RemoteRecord
    return dict(db.session.execute(select(RemoteRecord.kind, func.count()).group_by(RemoteRecord.kind)).all())


def run_summary(run_id: int) -> str:
    from factory_app.extensions import db
    from factory_app.models import SyncRun
    db.session.expire_all()
    run = db.session.get(SyncRun, run_id)
    return (f"{run.kind}: status {run.status}, pages {run.pages_done}, seen {run.seen}, created {run.created}, "
            f"linked {run.linked}, updated {run.updated}, review {run.review}, skipped {run.skipped}, "
            f"failed {run.failed}")


def fetch_all_pages(api_url: str, token: str, tenant: str, pages: int) -> tuple[float, int]:
    """Every Contacts page as the adapter asks for it, JSON-decoded as it does; nothing stored.
    `api_url` is the face's root (the sandbox's URL and /xero)."""
    from decimal import Decimal

    import requests
    from factory_app.accounting.providers.xero.adapter import PAGE_SIZE
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "xero-tenant-id": tenant}
    rows = 0
    started = time.perf_counter()
    for page in range(1, pages + 1):
        response = requests.get(f"{api_url}/api.xro/2.0/Contacts", headers=headers, timeout=20, params={
            "page": page, "pageSize": PAGE_SIZE, "includeArchived": "true", "order": "UpdatedDateUTC ASC"})
        response.raise_for_status()
        data = json.loads(response.content or b"null", parse_float=Decimal)
        rows += len(data.get("Contacts") or [])
    return time.perf_counter() - started, rows


def print_profile(profiler, limit: int, path: str | None):
    import io
    import pstats
    if path:
        profiler.dump_stats(path)
        print(f"profile written to {path} (open with: python -m pstats {path})")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order)
        stats.print_stats(limit)
        print(f"-- top {limit} by {order} --")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip()
                        and not line.startswith(("   Ordered by", "   List reduced"))))
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(r"factory_app[/\\]accounting[/\\]sync\.py")
    print("-- factory_app/accounting/importer.py, by cumulative time --")
    print("\n".join(line for line in out.getvalue().splitlines() if "importer.py" in line or "ncalls" in line))


# --- the benchmark -------------------------------------------------------------------------

SANDBOX_LAUNCHER = r"""
import json, sys
from werkzeug.serving import make_server
from sandbox import create_app
from sandbox.core.testing import QuietHandler
data, client_id, secret, limits = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
app = create_app(data, client_id, secret, test_controls=True, limits=limits)
server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
print(server.server_port, flush=True)
server.serve_forever()
"""


class SandboxProcess:
    """The sandbox as a separate process, like the real package: its CPU work doesn't
    share this interpreter with Factory's."""

    def __init__(self, data_path, log_path):
        self.data_path, self.log_path = str(data_path), log_path
        self.process = self.url = None

    def start(self) -> "SandboxProcess":
        import subprocess
        self.process = subprocess.Popen(
            [sys.executable, "-c", SANDBOX_LAUNCHER, self.data_path, CLIENT_ID, CLIENT_SECRET, json.dumps(LIMITS)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=open(self.log_path, "w"), text=True)
        port = self.process.stdout.readline().strip()
        if not port.isdigit():
            raise SystemExit(f"the sandbox did not start: see {self.log_path}")
        self.url = f"http://127.0.0.1:{port}"
        return self

    def close(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


def tear_down(*, app, sandbox, database, created_database: bool, redis_server, folder, keep: bool,
              workers=()) -> None:
    """What every benchmark leaves behind, removed: worker processes, the app's database
    connections, the sandbox, the database it created, the embedded Redis, the temp folder."""
    for worker in workers:
        try:
            worker.stop(5)
        except Exception as exc:  # noqa: BLE001 - say so, don't hide the benchmark's own error
            print(f"could not stop worker {worker.pid}: {exc}", file=sys.stderr)
    if app is not None:
        from factory_app.extensions import db as _db
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()
    if sandbox is not None:
        sandbox.close()
    if created_database:
        try:
            database.drop()
        except Exception as exc:  # noqa: BLE001 - say so, don't hide the benchmark's own error
            print(f"could not drop database {database.created_name}: {exc}", file=sys.stderr)
    if redis_server is not None:
        redis_server.stop()
    if keep:
        print(f"kept {folder}", file=sys.stderr)
    else:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    from benchmarks.soak import package_choice
    package_choice(parser)
    parser.add_argument("--contacts", type=int, default=10_000, help="contacts to add to the sandbox (default 10000)")
    parser.add_argument("--database-url", help="default: a new SQLite file in a temp folder; a PostgreSQL URL "
                        "names the server on which a fresh database factory_bench_<pid> is made and dropped")
    parser.add_argument("--reuse-database", action="store_true",
                        help="use --database-url as given and RESET ITS SCHEMA (drops every table in it)")
    parser.add_argument("--profile", metavar="FILE", nargs="?", const="",
                        help="profile the import runs and the first resync with cProfile (their timings then "
                             "include the profiler's cost); optionally dump the stats to FILE and FILE.sync")
    parser.add_argument("--profile-lines", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=3,
                        help="import this many times (emptied in between), each beside its own fetch passes; the "
                             "median repeat is reported (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (and say where it is)")
    parser.add_argument("--sandbox-in-process", action="store_true",
                        help="run the sandbox in this process (its work then counts against Factory's)")
    args = parser.parse_args(argv)
    if args.contacts < 0:
        parser.error("--contacts must be 0 or more")
    if args.repeats < 1:
        parser.error("--repeats must be 1 or more")

    folder = Path(tempfile.mkdtemp(prefix="factory-bench-"))
    os.environ["FACTORY_INSTANCE_PATH"] = str(folder / "instance")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key")

    from cryptography.fernet import Fernet

    from sandbox.core.testing import SandboxServer

    database = Database(args.database_url, folder, args.reuse_database)
    redis_server = sandbox = http = statements = app = None
    created_database = False
    try:
        # --- Redis, sandbox, database --------------------------------------------------------
        redis_url = os.environ.get("REDIS_URL")
        if redis_url:
            redis_description = f"{redis_url} (REDIS_URL)"
        else:
            from factory_app.localredis import EmbeddedRedis
            redis_server = EmbeddedRedis(folder / "redis", persist=False)
            redis_url = redis_server.url
            redis_description = f"embedded, {redis_url}"
        if args.sandbox_in_process:
            sandbox = SandboxServer(folder / "sandbox.db", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                    test_controls=True, limits=LIMITS).start()
        else:
            sandbox = SandboxProcess(folder / "sandbox.db", folder / "sandbox.log").start()
        database.create()
        created_database = True

        import requests
        from flask_migrate import upgrade
        from sqlalchemy import func, inspect, select

        from factory_app import create_app
        from factory_app.accounting import connections as conn_service
        from factory_app.accounting.providers.xero.adapter import PAGE_SIZE
        from factory_app.extensions import db
        from factory_app.models import (
            Address, ContactPerson, Customer, ExternalLink, ImportReview, RemoteRecord, Supplier, SyncFailure,
        )
        from factory_app.services.orgs import sign_up
        from benchmarks.soak import package_settings
        from tests.support.consent import consent, local_path

        app = create_app({
            "SQLALCHEMY_DATABASE_URI": database.url, "REDIS_URL": redis_url, "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": None, **package_settings(sandbox.url, args.package),
            "FACTORY_TOKEN_KEY": Fernet.generate_key().decode(),
            # Factory's own call budget (58 a minute, Xero's limit with a margin) would hold
            # the repeats back: one import is 22 calls, three repeats and the syncs are more
            "ACCOUNTING_CALLS_PER_MINUTE": 100_000,
        })

        banner("Contacts import benchmark")
        print(f"contacts added:  {args.contacts} ({args.contacts // 3} customers, {args.contacts // 3} suppliers, "
              f"{args.contacts - 2 * (args.contacts // 3)} both) to 'Harbour Sheet Metal (Sandbox)'")
        print(f"database:        {database.description}")
        print(f"redis:           {redis_description}")
        where = "in this process" if args.sandbox_in_process else "a process of its own"
        print(f"sandbox:         {sandbox.url}, {where}; rate limits raised to {LIMITS} so nothing is "
              "throttled; OpenAPI validation off")
        print(f"page size:       {PAGE_SIZE} (factory_app/accounting/providers/xero/adapter.py PAGE_SIZE)")
        print(f"code measured:   {code_version()}")

        # --- seed the sandbox ----------------------------------------------------------------
        third = args.contacts // 3
        if args.contacts:
            seeded = requests.post(f"{sandbox.url}/__sandbox/contacts/bulk", timeout=300, json={
                "tenantId": HARBOUR_ID, "count": args.contacts, "customers": third, "suppliers": third,
                "both": args.contacts - 2 * third}).json()
            assert seeded.get("inserted") == args.contacts, seeded
        state = requests.get(f"{sandbox.url}/__sandbox/state", timeout=30).json()
        remote_total = next(o["contacts"] for o in state["organisations"] if o["tenantId"] == HARBOUR_ID)
        pages = max(1, math.ceil(remote_total / PAGE_SIZE))
        print(f"sandbox holds:   {remote_total} contacts in the organisation -> {pages} pages of {PAGE_SIZE}")

        # --- Factory: schema, organisation, connection ----------------------------------------
        with app.app_context():
            if database.created_name is None and args.database_url is not None:
                if inspect(db.engine).get_table_names() and not args.reuse_database:
                    raise SystemExit("the database given already has tables; pass --reuse-database to reset "
                                     "its schema (everything in it is dropped)")
                reset_schema(db)
            elif database.created_name is None:
                reset_schema(db)
            upgrade()
            admin = sign_up("Bench Fabrication", "Bench Admin", "admin@bench-fabrication.example", PASSWORD)
            db.session.commit()
            org_id, user_id = admin.organisation_id, admin.id
            db.session.remove()
        client = app.test_client()
        login = client.post("/login", data={"email": "admin@bench-fabrication.example", "password": PASSWORD})
        assert login.status_code == 302, login.data
        start = client.post("/settings/integrations/xero/connect")
        assert start.status_code == 302, start.data
        back = consent(start.headers["Location"], ["Harbour"])
        assert back.startswith(CALLBACK), back
        done = client.get(local_path(back))
        assert done.status_code == 302 and done.headers["Location"] == "/settings/integrations", done.data

        http = HttpCounter()
        with app.app_context():
            statements = StatementCounter(db.engine)
            connection = conn_service.current_connection(org_id)
            assert connection is not None and connection.remote_org_id == HARBOUR_ID
            session = conn_service.api_session(connection)
            token, tenant = session.access_token, session.remote_org_id
            db.session.remove()

            # --- the first update, which connecting starts by itself ----------------------------
            from rq.job import Job
            from factory_app.jobs import queue, redis_connection
            from factory_app.models import SyncRun
            first_sync = db.session.scalar(select(SyncRun.id).where(SyncRun.organisation_id == org_id,
                                                                    SyncRun.kind == "sync"))
            assert first_sync is not None, "connecting did not start an update"
            queue().remove(f"sync-run-{first_sync}")
            try:
                Job.fetch(f"sync-run-{first_sync}", connection=redis_connection()).delete()
            except Exception:  # noqa: BLE001 - already gone
                pass
            db.session.remove()
            with http.counting():
                seconds = run_job_timed(first_sync)
            db.session.remove()
            print(f"first update after connecting (started by Connect): {fmt_s(seconds)}, {len(http.calls)} API "
                  f"calls; remote lists now {remote_kinds()}")
            db.session.remove()

            # --- fetch baseline and import, interleaved, args.repeats times ---------------------
            # This machine's speed drifts by tens of percent from one minute to the next, so
            # the two are measured side by side: a fetch pass before each import run and one
            # after the last; each repeat's ratio uses the median of its own three passes.
            banner("Fetch baseline: every Contacts page, plain requests + JSON decode, nothing stored")
            fetch_all_pages(f"{sandbox.url}/xero", token, tenant, pages)  # warm-up

            from sqlalchemy.engine import make_url
            local_postgres = (db.engine.dialect.name == "postgresql"
                              and make_url(database.url).host in (None, "", "127.0.0.1", "localhost", "::1"))
            others = OtherCPU(sandbox.process.pid if isinstance(sandbox, SandboxProcess) else None, local_postgres)
            fetch_others = []

            def fetch_pass() -> tuple[float, float]:
                cpu_started, others_before = time.process_time(), others.read()
                seconds, rows = fetch_all_pages(f"{sandbox.url}/xero", token, tenant, pages)
                assert rows == remote_total, (rows, remote_total)
                fetch_others.append(others.since(others_before, others.read()))
                return seconds, time.process_time() - cpu_started

            profiler = None
            if args.profile is not None:
                import cProfile
                profiler = cProfile.Profile()
                print("(profiling the first repeat: its import timings include cProfile's overhead)")
            repeats = []
            for repeat in range(args.repeats):
                first_repeat = repeat == 0
                if not first_repeat:
                    reset_import(org_id)
                banner(f"Repeat {repeat + 1} of {args.repeats}: import_customers, then import_suppliers (each reads "
                       "every page), a fetch pass before each and after")
                import_others, fetch_others[:] = [0.0, 0.0], []
                passes = [fetch_pass()]
                import_s, calls, http_s, import_cpu = 0.0, 0, 0.0, 0.0
                import_rows, import_statements = Counter(), Counter()
                for kind in ("import_customers", "import_suppliers"):
                    run_id = start_and_unqueue(org_id, user_id, kind)
                    db.session.remove()
                    with http.counting(), statements.counting():
                        others_before = others.read()
                        seconds = run_job_timed(run_id, profiler if first_repeat else None)
                        used = others.since(others_before, others.read())
                    db.session.remove()
                    passes.append(fetch_pass())
                    import_s += seconds
                    calls += len(http.calls)
                    http_s += http.seconds
                    import_cpu += LAST_CPU[0]
                    import_others = [None if u is None else (t or 0.0) + u for t, u in zip(import_others, used)]
                    import_rows.update(statements.rows)
                    import_statements.update(statements.statements)
                    print(f"{kind}: {fmt_s(seconds)} (CPU {fmt_s(LAST_CPU[0])}), {len(http.calls)} API calls "
                          f"(their own times add up to {http.seconds:.2f} s), "
                          f"{sum(n for (v, _), n in statements.statements.items() if v == 'SELECT')} SELECTs, "
                          f"{statements.statements_written(False)} write statements, "
                          f"{statements.written(False)} rows written")
                    if first_repeat:
                        print(f"    {run_summary(run_id)}")
                        print(f"    calls: {dict(http.by_endpoint())}")
                one_pass = statistics.median(seconds for seconds, _ in passes)
                fetch_s = 2 * one_pass  # the import reads every page twice (once per run)
                ratio = import_s / fetch_s if fetch_s else float("inf")
                median_fetch_others = tuple(
                    None if any(o[i] is None for o in fetch_others) else 2 * statistics.median(o[i] for o in fetch_others)
                    for i in range(2))
                repeats.append(dict(import_others=tuple(import_others), fetch_others=median_fetch_others,
                                    import_s=import_s, fetch_s=fetch_s, ratio=ratio, calls=calls, http_s=http_s,
                                    import_cpu=import_cpu, fetch_cpu=2 * statistics.median(c for _, c in passes)))
                print(f"fetch passes ({pages} pages, {remote_total} contacts): "
                      f"{', '.join(f'{seconds:.2f}' for seconds, _ in passes)} s (CPU of this process: "
                      f"{', '.join(f'{cpu:.2f}' for _, cpu in passes)} s) -> fetch {fmt_s(fetch_s)}")
                print(f"import {fmt_s(import_s)} (CPU {fmt_s(import_cpu)}) / fetch {fmt_s(fetch_s)} = {ratio:.2f}x")
                if first_repeat:
                    statements.rows, statements.statements = import_rows, import_statements
                    print(f"statements during the import:       {statements.describe(rows=False)}")
                    print(f"rows written during the import:     {statements.describe(rows=True)}")
                    if db.engine.dialect.name == "postgresql":
                        print("    (on PostgreSQL new records go in by COPY, which the cursor count does not see: "
                              "the table counts below have them)")
                    print(f"SELECTs during the import:          {statements.selects()}")
                    counts = {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                              for model in (Customer, Supplier, Address, ContactPerson, ExternalLink, RemoteRecord,
                                            ImportReview, SyncFailure)}
                    db.session.remove()
                    print(f"rows in Factory afterwards:         {counts}")
                    if profiler is not None:
                        banner("Profile of the first repeat's two import runs")
                        print_profile(profiler, args.profile_lines, args.profile or None)

            # the repeat with the median ratio speaks for all (each repeat's figures are its own)
            chosen = sorted(repeats, key=lambda r: r["ratio"])[len(repeats) // 2]
            import_s, fetch_s, ratio, http_s = chosen["import_s"], chosen["fetch_s"], chosen["ratio"], chosen["http_s"]
            import_cpu, fetch_cpu = chosen["import_cpu"], chosen["fetch_cpu"]
            calls = max(r["calls"] for r in repeats)
            min_calls = 2 * pages

            # --- the resync, and a second one ------------------------------------------------
            banner("Resync: a 'sync' run straight after the import")
            resync = {}
            for label in ("sync right after the import", "a second sync right after that"):
                run_id = start_and_unqueue(org_id, user_id, "sync")
                db.session.remove()
                sync_profiler = None
                if args.profile is not None and label.startswith("sync right"):
                    import cProfile
                    sync_profiler = cProfile.Profile()
                with http.counting(), statements.counting():
                    seconds = run_job_timed(run_id, sync_profiler)
                db.session.remove()
                resync[label] = dict(calls=len(http.calls), by_endpoint=dict(http.by_endpoint()),
                                     raw=statements.written(False), business=statements.written(True),
                                     seconds=seconds, rows=statements.describe(True))
                print(f"{label}: {fmt_s(seconds)}, {len(http.calls)} API calls {dict(http.by_endpoint())}")
                print(f"    rows written: {statements.written(True)} business rows, {statements.written(False)} "
                      f"in all (incl. bookkeeping in {', '.join(sorted(BOOKKEEPING_TABLES))})")
                print(f"    by table: {statements.describe(True)}")
                print(f"    SELECTs: {statements.selects()}; remote_records by kind now: {remote_kinds()}")
                print(f"    {run_summary(run_id)}")
                if sync_profiler is not None:
                    banner(f"Profile of the {label} (timing above includes cProfile's overhead)")
                    print_profile(sync_profiler, args.profile_lines,
                                  f"{args.profile}.sync" if args.profile else None)
            first, second = resync["sync right after the import"], resync["a second sync right after that"]

        # --- figures ---------------------------------------------------------------------------
        banner("Figures")
        print(f"API calls for the import:          {calls}  (minimum possible: {min_calls} = 2 runs x {pages} pages)")
        print(f"import wall time:                  {fmt_s(import_s)}  (the API calls' own times add up to {fmt_s(http_s)}; "
              "they overlap the storing and each other)")
        print(f"import CPU time (this process):    {fmt_s(import_cpu)}  (all threads: storing, and reading ahead; "
              f"the fetch: {fmt_s(fetch_cpu)})")
        if OtherCPU.describe(chosen["import_others"]):
            print(f"CPU of the other processes:        {OtherCPU.describe(chosen['import_others'])} during the import; "
                  f"{OtherCPU.describe(chosen['fetch_others'])} during the fetch  (on this machine's "
                  f"{os.cpu_count()} cores, with Factory's)")
        print(f"fetch wall time (same pages):      {fmt_s(fetch_s)}  (2 x the median of the 3 passes around the import)")
        all_ratios = ", ".join(f"{r['ratio']:.2f}" for r in repeats)
        print(f"ratio import / fetch:              {ratio:.2f}x  (the median repeat; all repeats: {all_ratios})")
        print(f"import throughput:                 {2 * remote_total / import_s:.0f} contacts/s read and handled "
              f"(fetch alone: {2 * remote_total / fetch_s:.0f}/s)" if import_s and fetch_s else "")
        print(f"resync calls:                      {first['calls']}  (target: 4, one per list: Contacts, Items, "
              "Accounts, TaxRates)")
        print(f"resync rows written:               {first['business']} business rows ({first['raw']} in all)  "
              "(target: 0; the JSON carries the business rows)")
        print(f"second sync (after a sync):        {second['calls']} calls, {second['business']} business rows "
              f"({second['raw']} in all), {fmt_s(second['seconds'])}  (not in the JSON)")
        banner("Targets")
        checks = [
            ("calls = pages exactly", calls == min_calls, f"{calls} vs {min_calls}"),
            (f"import <= {TARGET_RATIO} x fetch", ratio <= TARGET_RATIO, f"{ratio:.2f}x"),
            ("resync right after the import makes one call per list (4)", first["calls"] == 4,
             f"{first['calls']} calls"),
            ("resync right after the import writes 0 rows", first["business"] == 0,
             f"{first['business']} business rows, {first['raw']} counting the run's own bookkeeping"),
        ]
        for name, ok, detail in checks:
            print(f"[{'MET' if ok else 'NOT MET'}] {name}: {detail}")
        print("for information, a sync run right after a sync: "
              f"{'one call per list' if second['calls'] == 4 else 'NOT one call per list'} ({second['calls']} calls), "
              f"{second['business']} business rows written ({second['raw']} counting bookkeeping)")
        print(json.dumps({"package": args.package, "contacts": args.contacts, "calls": calls, "min_calls": min_calls,
                          "import_s": round(import_s, 3), "fetch_s": round(fetch_s, 3), "ratio": round(ratio, 3),
                          "resync_calls": first["calls"], "resync_rows_written": first["business"]}), flush=True)
        return 0
    finally:
        if http is not None:
            http.restore()
        if statements is not None:
            statements.detach()
        tear_down(app=app, sandbox=sandbox, database=database, created_database=created_database,
                  redis_server=redis_server, folder=folder, keep=args.keep)


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill tears down too (workers, Redis, files)
    sys.exit(main())
