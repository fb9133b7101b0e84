"""Benchmark: how fast an invoice reaches the accounting package (the Xero sandbox), and
how many API calls a backlog of invoices costs.

    python benchmarks/push.py [--invoices N] [--backlog M] [--interval S] [--limit-scale K]
                              [--database-url URL] [--keep]

What it does, all on this machine (set-up as benchmarks/soak.py: in-process sandbox, fresh
database, Redis, an organisation connected through the consent page, customers imported,
accounts and tax mapped, sending of approved invoices on):
1. direct call: the adapter's `save_document` (one POST /Invoices) timed on its own, with the
   connection's token and a draft built by Factory (`build_draft`): median of 20 after warm-up;
2. latency: one real worker process (`worker.py`); N invoices created one at a time, one every
   S seconds (paced, not all at once); for each, the time from the commit that creates it (and
   enqueues its push) to its push row turning "sent" (polled every 10 ms on a connection of its
   own) -- the worker commits "sent" only after the package answered the create;
3. backlog: the worker is stopped (the connection has no one to send for it), M invoices are
   created, then a worker is started again; the API calls it makes until all M are sent are
   counted from the sandbox's request log, with any 429 answers.

Limits: Xero allows 60 calls a minute and 5 at once per organisation; Factory's budget is 58 a
minute. So that the run takes minutes, not a quarter of an hour, both per-minute figures are
multiplied by K (default 10: the sandbox allows 600 a minute, Factory budgets 580); the
concurrency limit stays at 5. --limit-scale 1 gives Xero's own figures (and a slow backlog).
The worker gets its budget through ACCOUNTING_CALLS_PER_MINUTE in its environment.

The last line printed is one JSON object with the headline figures.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

XERO_PER_MINUTE, FACTORY_PER_MINUTE, XERO_CONCURRENT = 60, 58, 5
PER_CALL = 50  # Xero takes up to 50 invoices in one POST /Invoices
DIRECT_REPEATS = 20


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class SentWatcher:
    """Polls document_pushes on its own connection and notes when each push turns sent."""

    def __init__(self, database_url: str, interval: float = 0.01):
        from sqlalchemy import create_engine

        from factory_app.config import normalise_database_url
        self.engine = create_engine(normalise_database_url(database_url))
        self.interval = interval
        self.sent_at: dict[int, float] = {}  # doc_id -> time.time() first seen sent
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sent-watcher", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        from sqlalchemy import text
        query = text("SELECT doc_id FROM document_pushes WHERE doc_type = 'invoice' AND state = 'sent'")
        while not self._stop.is_set():
            try:
                with self.engine.connect() as conn:
                    rows = conn.execute(query).scalars().all()
                now = time.time()
                for doc_id in rows:
                    self.sent_at.setdefault(doc_id, now)
            except Exception:  # noqa: BLE001 - SQLite busy for a moment: poll again
                pass
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        self.engine.dispose()


def make_invoice(org_id: int, customer_id: int, rng: random.Random):
    from decimal import Decimal

    from factory_app.services import documents as docs
    order = docs.create_order(org_id, {"customer_id": customer_id})
    for _ in range(rng.randint(1, 3)):
        line = docs.add_line(order, None)
        docs.update_line(order, line, {
            "product_id": None, "description": "Panels", "quantity": Decimal(rng.randint(1, 20)),
            "unit_price": Decimal(rng.randint(100, 50_000)) / 100, "discount_percent": Decimal(0),
            "tax_rate": Decimal(rng.choice([10, 0]))})
    docs.set_order_status(order, "confirm")
    return docs.create_invoice(order)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    from benchmarks.soak import package_choice
    package_choice(parser)
    parser.add_argument("--invoices", type=int, default=200, help="invoices for the latency figures (default 200)")
    parser.add_argument("--backlog", type=int, default=1000, help="invoices in the backlog (default 1000)")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between invoices (default 0.25)")
    parser.add_argument("--limit-scale", type=int, default=10,
                        help="multiply Xero's and Factory's per-minute limits by this (default 10)")
    parser.add_argument("--database-url", help="default: a new SQLite file in a temp folder; a PostgreSQL URL "
                        "names the server on which a fresh database factory_bench_<pid> is made and dropped")
    parser.add_argument("--backlog-timeout", type=float, default=1200)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="factory-pushbench-"))
    os.environ["FACTORY_INSTANCE_PATH"] = str(folder / "instance")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key")

    from cryptography.fernet import Fernet

    from benchmarks.contacts_import import Database, banner, code_version, reset_schema, tear_down
    from benchmarks.soak import (
        CLIENT_ID,
        CLIENT_SECRET,
        Worker,
        app_config,
        keep_full_request_log,
        push_states,
        queue_sizes,
        sandbox_requests,
        setup_factory,
        start_redis,
        worker_env,
    )
    from sandbox.core.testing import SandboxServer

    scale = max(1, args.limit_scale)
    limits = {"per_minute": XERO_PER_MINUTE * scale, "concurrent": XERO_CONCURRENT}
    budget = FACTORY_PER_MINUTE * scale
    database = Database(args.database_url, folder, reuse=False)
    redis_server = sandbox = app = watcher = None
    workers: list[Worker] = []
    created_database = False
    try:
        redis_server, redis_url, redis_description = start_redis(folder)
        sandbox = SandboxServer(folder / "sandbox.db", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                test_controls=True, limits=limits).start()
        keep_full_request_log(sandbox)
        database.create()
        created_database = True

        from flask_migrate import upgrade

        from factory_app import create_app
        from factory_app.accounting import connections as conn_service
        from factory_app.accounting import provider as get_provider
        from factory_app.accounting.drafts import build_draft
        from factory_app.extensions import db

        token_key = Fernet.generate_key().decode()
        app = create_app(app_config(database.url, redis_url, sandbox.url, token_key, package=args.package,
                                    ACCOUNTING_CALLS_PER_MINUTE=budget))
        env = worker_env(package=args.package, database_url=database.url, redis_url=redis_url, token_key=token_key, api_url=sandbox.url,
                         instance_path=folder / "worker-instance", budget=budget)

        banner("Push latency and backlog benchmark")
        print(f"latency:         {args.invoices} invoices, one every {args.interval} s, one worker process")
        print(f"backlog:         {args.backlog} invoices created with no worker running, then one worker")
        print(f"database:        {database.description}")
        print(f"redis:           {redis_description}")
        print(f"sandbox:         {sandbox.url}, in this process; limits {limits} (Xero's per-minute limit x{scale}); "
              "validation off")
        print(f"Factory budget:  {budget} calls/minute (Factory's {FACTORY_PER_MINUTE} x{scale}), set in the worker "
              "through ACCOUNTING_CALLS_PER_MINUTE")
        print(f"code measured:   {code_version()}")

        with app.app_context():
            reset_schema(db)
            upgrade()
            db.session.remove()
        org_id, customers = setup_factory(app, sandbox.url, "Push Bench Fabrication")
        rng = random.Random(11)

        # --- 1. one direct API call ------------------------------------------------------------
        banner("Direct call: adapter.save_document, one PUT /Invoices")
        with app.app_context():
            invoice = make_invoice(org_id, customers[0], rng)
            db.session.commit()  # its push job waits in the queue for the worker started below
            connection = conn_service.current_connection(org_id)
            draft = build_draft(connection, "invoice", invoice)
            session = conn_service.api_session(connection)
            db.session.commit()
            db.session.remove()
        adapter = get_provider("xero", dict(app.config))
        timings = []
        for i in range(DIRECT_REPEATS + 3):
            d = replace(draft, number=f"DIRECT-{i}", reference=f"DIRECT-{i}")
            started = time.perf_counter()
            state = adapter.save_document(session, d, None, f"bench-direct-{i}")
            elapsed = time.perf_counter() - started
            assert state.remote_id
            if i >= 3:  # warm-up
                timings.append(elapsed)
        direct = statistics.median(timings)
        print(f"median of {DIRECT_REPEATS}: {direct * 1000:.1f} ms (min {min(timings) * 1000:.1f}, "
              f"max {max(timings) * 1000:.1f})")

        # --- 2. latency, paced ---------------------------------------------------------------------
        banner("Latency: commit -> push sent, paced, one worker")
        watcher = SentWatcher(database.url).start()
        workers.append(Worker(env, folder / "worker-1.log"))
        deadline = time.monotonic() + 60
        while push_states(app).get("sent", 0) < 1:  # the worker is up and has sent the first one
            assert time.monotonic() < deadline, "the worker sent nothing in 60 s"
            time.sleep(0.05)
        log_start = len(sandbox_requests(sandbox))
        committed: dict[int, float] = {}
        next_at = time.monotonic()
        for _ in range(args.invoices):
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            next_at += args.interval
            with app.app_context():
                invoice = make_invoice(org_id, customers[rng.randrange(len(customers))], rng)
                doc_id = invoice.id
                db.session.commit()
                committed[doc_id] = time.time()
                db.session.remove()
        deadline = time.monotonic() + 120
        while not all(d in watcher.sent_at for d in committed) and time.monotonic() < deadline:
            time.sleep(0.05)
        latencies = [watcher.sent_at[d] - t for d, t in committed.items() if d in watcher.sent_at]
        unsent = len(committed) - len(latencies)
        latency_log = sandbox_requests(sandbox)[log_start:]
        latency_calls = [r for r in latency_log if r["path"].startswith("/api.xro/")]
        p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
        print(f"{len(latencies)} of {len(committed)} sent; p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
              f"max {max(latencies) * 1000:.0f} ms; API calls {len(latency_calls)} "
              f"{dict(Counter(r['status'] for r in latency_calls))}")
        workers[-1].stop()

        # --- 3. the backlog ----------------------------------------------------------------------
        banner(f"Backlog: {args.backlog} invoices created with no worker, then one worker")
        created_started = time.monotonic()
        remaining = args.backlog
        while remaining:
            size = min(100, remaining)
            with app.app_context():
                for _ in range(size):
                    make_invoice(org_id, customers[rng.randrange(len(customers))], rng)
                db.session.commit()
                db.session.remove()
            remaining -= size
        print(f"created in {time.monotonic() - created_started:.1f} s; queue {queue_sizes(app)}")
        total = args.invoices + 1 + args.backlog
        log_start = len(sandbox_requests(sandbox))
        released = time.monotonic()
        workers.append(Worker(env, folder / "worker-2.log"))
        last = 0.0
        while True:
            states = push_states(app)
            if states.get("sent", 0) >= total:
                break
            if time.monotonic() - released > args.backlog_timeout:
                print(f"NOT DONE after {args.backlog_timeout:.0f} s: {dict(states)}")
                break
            if time.monotonic() - last >= 10:
                last = time.monotonic()
                print(f"  +{last - released:4.0f} s: pushes {dict(states)}", flush=True)
            time.sleep(0.2)
        backlog_s = time.monotonic() - released
        time.sleep(0.5)
        backlog_log = sandbox_requests(sandbox)[log_start:]
        workers[-1].stop()
        backlog_calls = [r for r in backlog_log if r["path"].startswith("/api.xro/")]
        backlog_sent = push_states(app).get("sent", 0) - (args.invoices + 1)
        min_calls = math.ceil(args.backlog / PER_CALL)
        statuses = Counter(r["status"] for r in backlog_calls)
        endpoints = Counter(f"{r['method']} {r['path'].replace('/api.xro/2.0/', '')}" for r in backlog_calls)
        all_api = [r for r in sandbox_requests(sandbox) if r["path"].startswith("/api.xro/")]
        http_429 = sum(1 for r in all_api if r["status"] == 429)
        print(f"{backlog_sent} of {args.backlog} sent in {backlog_s:.1f} s; API calls {len(backlog_calls)} "
              f"{dict(endpoints)}; statuses {dict(statuses)}")

        # --- figures -------------------------------------------------------------------------------
        banner("Figures")
        target_p95 = 2 * direct + 0.5
        print(f"direct API create call:   {direct * 1000:.1f} ms (median of {DIRECT_REPEATS})")
        print(f"push latency p50 / p95:   {p50 * 1000:.0f} ms / {p95 * 1000:.0f} ms over {len(latencies)} invoices "
              f"({unsent} not sent in time)")
        print(f"backlog of {args.backlog}:         {len(backlog_calls)} API calls (minimum {min_calls} = "
              f"ceil({args.backlog}/{PER_CALL})), {backlog_s:.0f} s to send")
        print(f"HTTP 429 answers:         {http_429} over the whole run "
              f"({sum(1 for r in backlog_calls if r['status'] == 429)} during the backlog)")
        banner("Targets")
        checks = [
            ("p95 <= 2 x direct call + 0.5 s", p95 <= target_p95 and unsent == 0,
             f"{p95:.3f} s vs {target_p95:.3f} s"),
            (f"backlog calls <= ceil({args.backlog}/{PER_CALL}) + 5", len(backlog_calls) <= min_calls + 5,
             f"{len(backlog_calls)} vs {min_calls + 5}"),
            ("zero 429s", http_429 == 0, f"{http_429}"),
        ]
        for name, ok, detail in checks:
            print(f"[{'MET' if ok else 'NOT MET'}] {name}: {detail}")
        print(json.dumps({"package": args.package, "p50_s": round(p50, 3), "p95_s": round(p95, 3), "direct_call_s": round(direct, 4),
                          "backlog_invoices": args.backlog, "backlog_calls": len(backlog_calls),
                          "min_calls": min_calls, "http_429": http_429}), flush=True)
        return 0
    finally:
        if watcher is not None:
            watcher.stop()
        tear_down(app=app, sandbox=sandbox, database=database, created_database=created_database,
                  redis_server=redis_server, folder=folder, keep=args.keep, workers=workers)


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill tears down too (workers, Redis, files)
    sys.exit(main())
