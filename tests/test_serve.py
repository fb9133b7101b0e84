"""`factory-app serve`: the all-in-one local run starts web + worker (+ embedded Redis),
serves pages, runs jobs, and on SIGTERM stops every process it started."""
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import redis
from rq import Queue

from factory_app.localredis import free_port

ROOT = Path(__file__).resolve().parent.parent


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_serve_runs_everything_and_stops_everything(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "SECRET_KEY")}
    env["FACTORY_INSTANCE_PATH"] = str(tmp_path / "instance")
    log = open(tmp_path / "serve.log", "w+")
    serve = subprocess.Popen([sys.executable, "-m", "factory_app", "serve", "--port", str(port), "--workers", "1"],
                             cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        def healthy():
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).status == 200
            except OSError:
                return False
        wait_for(healthy, what="the web process")
        output = (tmp_path / "serve.log").read_text()
        redis_url = re.search(r"embedded Redis on (redis://127\.0\.0\.1:\d+/0)", output).group(1)
        login = urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5).read()
        assert b"Log in" in login
        assert (tmp_path / "instance" / "factory.db").exists()  # migrated SQLite in the instance folder
        assert (tmp_path / "instance" / "secret_key").exists()

        conn = redis.Redis.from_url(redis_url)
        marker = tmp_path / "job-ran"
        Queue("default", connection=conn).enqueue("tests.jobs_for_tests.touch", str(marker))
        wait_for(marker.exists, what="the worker to run a job")
        conn.close()

        started = psutil.Process(serve.pid).children(recursive=True)
        redis_pids = [c.pid for c in psutil.net_connections("tcp")
                      if c.laddr and c.laddr.port == int(redis_url.rsplit(":", 1)[1].split("/")[0])
                      and c.status == psutil.CONN_LISTEN and c.pid]
        assert len(started) >= 2
    finally:
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=30) == 0
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert "factory-app: stopped." in output
    gone = [p for p in started + [psutil.Process(pid) for pid in redis_pids if psutil.pid_exists(pid)]
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert gone == [], gone
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
        raise AssertionError("the embedded Redis is still answering")
    except redis.ConnectionError:
        pass
