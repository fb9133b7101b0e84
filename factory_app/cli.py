"""The `factory-app` command: serve (all-in-one local run), seed-demo, worker, migrate."""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

import click

DEMO_PASSWORD = "factory-demo"


def _app():
    from . import create_app
    return create_app()


def upgrade_database(app) -> None:
    from flask_migrate import upgrade
    with app.app_context():
        upgrade()


def cmd_migrate(args) -> int:
    upgrade_database(_app())
    print("Database is up to date.")
    return 0


def cmd_seed_demo(args) -> int:
    from .demo import seed_demo
    app = _app()
    upgrade_database(app)
    with app.app_context():
        created, email = seed_demo(DEMO_PASSWORD)
    print(("Demo organisation created." if created else "Demo organisation already exists."))
    print(f"Demo login: {email} / {DEMO_PASSWORD}")
    return 0


def cron_argv(redis_url: str) -> list[str]:
    return [sys.executable, "-m", "rq.cli", "cron", "factory_app.cron", "--url", redis_url]


def cmd_cron(args) -> int:
    """`rq cron factory_app.cron`, kept running: rq's cron scheduler exits on its first
    Redis error; this starts it again (backoff up to 30 s) until stopped. Run exactly one."""
    url = os.environ.get("REDIS_URL")
    if not url:
        raise SystemExit("factory-app cron: set REDIS_URL.")
    supervisor = Supervisor()
    supervisor.start("rq cron", cron_argv(url), dict(os.environ))
    return supervisor.wait()


def cmd_worker(args) -> int:
    from .jobs import run_worker
    run_worker()
    return 0


RESTART_BACKOFF = (1, 2, 5, 10, 20, 30)  # seconds before starting a dead process again


class Supervisor:
    """Starts processes and keeps them running: one that dies is started again after a
    backoff (1 s, then longer while it keeps dying, at most 30 s; its count resets once
    it has run a minute). Ctrl-C / SIGTERM stops them all."""

    def __init__(self):
        self.children: list[dict] = []
        self.stopping = False

    def start(self, name: str, argv: list[str], env: dict) -> None:
        self.children.append({"name": name, "argv": argv, "env": env, "deaths": 0, "due": None,
                              "started": time.monotonic(),
                              "process": subprocess.Popen(argv, env=env, start_new_session=True)})

    def wait(self) -> int:
        def on_signal(signum, frame):
            self.stopping = True
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        while not self.stopping:
            self.tend()
            time.sleep(0.2)
        return self.stop()

    def tend(self) -> None:
        now = time.monotonic()
        for child in self.children:
            process = child["process"]
            if child["due"] is None and process.poll() is not None:
                if now - child["started"] > 60:
                    child["deaths"] = 0
                delay = RESTART_BACKOFF[min(child["deaths"], len(RESTART_BACKOFF) - 1)]
                child["deaths"] += 1
                child["due"] = now + delay
                print(f"factory-app: {child['name']} exited with {process.returncode}; starting it again in {delay} s.",
                      file=sys.stderr)
            elif child["due"] is not None and now >= child["due"]:
                child.update(due=None, started=now,
                             process=subprocess.Popen(child["argv"], env=child["env"], start_new_session=True))

    def stop(self, timeout: float = 10.0) -> int:
        processes = [child["process"] for child in self.children]
        for process in processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        for process in processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        return 0


def _wait_for_http(url: str, timeout: float = 30.0) -> bool:
    import urllib.request
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def _start_sandbox(supervisor: "Supervisor", env: dict, folder, host: str, port: int) -> str:
    """The local sandbox for the demo, with the adapter of each package it has a face for
    pointed at that face."""
    import secrets

    from sandbox import FACES

    from .accounting import REGISTRY
    from .localredis import free_port
    from .instance import private_file
    secret_file = private_file(folder / "sandbox_client_secret", secrets.token_urlsafe(32))
    webhook_file = private_file(folder / "sandbox_webhook_key", secrets.token_urlsafe(32))
    webhook_key = webhook_file.read_text().strip()
    sandbox_port = free_port()
    url = f"http://127.0.0.1:{sandbox_port}"
    client_id, client_secret = "factory-demo", secret_file.read_text().strip()
    supervisor.start("sandbox", [
        sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(sandbox_port),
        "--data", str(folder / "sandbox.db"), "--client-id", client_id, "--client-secret", client_secret,
        "--webhook-url", f"http://{host}:{port}/webhooks/{{face}}", "--webhook-key", webhook_key,
    ], env)
    if not _wait_for_http(f"{url}/ledger"):
        raise SystemExit("factory-app: the accounting sandbox did not start.")
    settings = {"FACTORY_SANDBOX_URL": url}
    for key in FACES:
        if key in REGISTRY:
            settings.update(REGISTRY[key].sandbox_settings(
                url, client_id, client_secret, webhook_key, f"http://{host}:{port}/settings/integrations/{key}/callback"))
    env.update(settings)
    os.environ.update(settings)
    names = ", ".join(REGISTRY[key].display_name for key in FACES if key in REGISTRY)
    print(f"factory-app: accounting sandbox ({names}) on {url}/ (its ledger page plays the bookkeeper)")
    return url


def cmd_serve(args) -> int:
    from .accounting import REGISTRY
    from .config import instance_path
    from .localredis import EmbeddedRedis

    env = dict(os.environ)
    env.setdefault("FACTORY_EXTERNAL_URL", f"http://{args.host}:{args.port}")
    os.environ.setdefault("FACTORY_EXTERNAL_URL", env["FACTORY_EXTERNAL_URL"])
    folder = instance_path()
    embedded = None
    if not env.get("REDIS_URL"):
        embedded = EmbeddedRedis(folder / "redis")
        env["REDIS_URL"] = os.environ["REDIS_URL"] = embedded.url
        print(f"factory-app: embedded Redis on {embedded.url}")
    supervisor = Supervisor()
    gunicorn_extra = []
    from gunicorn.config import KNOWN_SETTINGS
    if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS):
        gunicorn_extra.append("--no-control-socket")  # a socket in ~/.gunicorn is not wanted locally
    try:
        if args.sandbox and not any(env.get(f"{key.upper()}_CLIENT_ID") for key in REGISTRY):
            folder.mkdir(parents=True, exist_ok=True)
            _start_sandbox(supervisor, env, folder, args.host, args.port)
        app = _app()  # also writes the secret key, so every process shares it
        upgrade_database(app)
        supervisor.start("worker", [sys.executable, "-m", "factory_app", "worker"], env)
        supervisor.start("cron", cron_argv(env["REDIS_URL"]), env)
        supervisor.start("web", [
            sys.executable, "-m", "gunicorn", "--bind", f"{args.host}:{args.port}",
            "--workers", str(args.workers), "--threads", "4", "--access-logfile", "-",
            "--logger-class", "factory_app.logs.GunicornLogger",
            "--graceful-timeout", "5", *gunicorn_extra, "factory_app:create_app()",
        ], env)
        print(f"factory-app: Factory is at http://{args.host}:{args.port}/  (Ctrl-C stops everything)")
        with app.app_context():
            from .demo import demo_login
            login = demo_login()
        if login:
            print(f"factory-app: demo login  {login} / {DEMO_PASSWORD}")
        return supervisor.wait()
    finally:
        supervisor.stop()
        if embedded is not None:
            embedded.stop()
        print("factory-app: stopped.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="factory-app", description="Factory")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run web + worker (+ embedded Redis unless REDIS_URL is set)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--workers", type=int, default=2)
    serve.add_argument("--no-sandbox", dest="sandbox", action="store_false",
                       help="don't start the local accounting sandbox (it never starts when a package's <KEY>_CLIENT_ID is set)")
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("seed-demo", help="migrate and create the demo organisation").set_defaults(func=cmd_seed_demo)
    sub.add_parser("worker", help="run one RQ worker with the scheduler").set_defaults(func=cmd_worker)
    sub.add_parser("cron", help="run `rq cron factory_app.cron`, started again whenever it stops (run exactly one)"
                   ).set_defaults(func=cmd_cron)
    sub.add_parser("migrate", help="upgrade the database").set_defaults(func=cmd_migrate)
    args = parser.parse_args(argv)
    return args.func(args)


def register_flask_commands(app) -> None:
    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Create the demo organisation (once)."""
        from .demo import seed_demo
        created, email = seed_demo(DEMO_PASSWORD)
        click.echo(f"{'Created' if created else 'Already there'}: {email} / {DEMO_PASSWORD}")
