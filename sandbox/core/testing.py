"""Running the sandbox in-process for tests:

    with SandboxServer(tmp_path / "sandbox.db", test_controls=True, validate_spec=True) as sandbox:
        requests.get(f"{sandbox.face_url('xero')}/.well-known/openid-configuration")
        assert sandbox.spec_violations == []
"""
from __future__ import annotations

import socket
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from .. import create_app


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QuietHandler(WSGIRequestHandler):
    """No access log on stderr (tests stay readable); errors still go to the log."""

    def log_request(self, *args, **kwargs):
        pass


class SandboxServer:
    def __init__(self, data_path, client_id: str = "test-client", client_secret: str = "test-secret",
                 **create_app_kwargs):
        self.data_path = str(data_path)
        self.client_id, self.client_secret = client_id, client_secret
        self.kwargs = create_app_kwargs
        self.app = None
        self.url = None
        self.port = None
        self._server = None
        self._thread = None

    def face_url(self, key: str) -> str:
        """Where the face of package `key` is served (the sandbox's URL and the face's prefix)."""
        return f"{self.url}/{key}"

    @property
    def sandbox(self):
        return self.app.config["SANDBOX"] if self.app is not None else None

    @property
    def spec_violations(self) -> list[str]:
        return self.sandbox.spec_violations if self.app is not None else []

    def start(self) -> "SandboxServer":
        if self._server is not None:
            return self
        if self.app is None:
            self.app = create_app(self.data_path, self.client_id, self.client_secret, **self.kwargs)
        last_error = None
        for _ in range(5):
            port = self.port or free_port()
            try:
                self._server = make_server("127.0.0.1", port, self.app, threaded=True,
                                           request_handler=QuietHandler)
                break
            except OSError as exc:  # the port was taken in between; try another
                last_error = exc
                if self.port:
                    raise
        else:
            raise last_error
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-server", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop serving (idempotent). The app and its data stay: start() again serves on the same port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(10)
            self._server = None
            self._thread = None

    def close(self):
        self.stop()
        if self.app is not None:
            self.sandbox.close()
            self.app = None

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc):
        self.close()
