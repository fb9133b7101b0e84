"""What every face's webhook sender shares: events queued by the request that made them
(after its transaction commits), gathered into batches by a background thread, each batch
POSTed with retries and a back-off; what was sent is kept for /__sandbox/state. A face
gives the batch's body and headers (its payload shape and its signature); nothing here
can crash the sandbox."""
from __future__ import annotations

import logging
import queue
import threading

log = logging.getLogger("sandbox.webhooks")


def post(url: str, body: bytes, headers: dict, timeout: float = 5.0) -> int:
    import requests
    return requests.post(url, data=body, timeout=timeout, headers=headers).status_code


class BatchSender:
    """Subclasses give `body(events) -> (bytes, info)` and `headers(body) -> dict`, and
    queue events with `put(event)`."""
    batch_size = 50
    thread_name = "sandbox-webhooks"

    def __init__(self, url: str, key: str, clock, retries: int = 3, backoff: float = 0.5):
        self.url, self.key, self.clock = url, key, clock
        self.retries, self.backoff = retries, backoff
        self.queue: queue.Queue = queue.Queue()
        self.deliveries: list[dict] = []  # what was sent, for /__sandbox/state
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self.thread.start()

    def put(self, event: dict) -> None:
        self.queue.put(event)

    def body(self, events: list[dict]) -> tuple[bytes, dict]:
        raise NotImplementedError

    def headers(self, body: bytes) -> dict:
        raise NotImplementedError

    def stop(self):
        self.stopped.set()
        self.queue.put(None)

    def _run(self):
        while not self.stopped.is_set():
            first = self.queue.get()
            if first is None:
                return
            events = [first]
            try:
                while len(events) < self.batch_size:
                    more = self.queue.get(timeout=0.05)
                    if more is None:
                        self.stopped.set()
                        break
                    events.append(more)
            except queue.Empty:
                pass
            try:
                self._deliver(events)
            except Exception:  # noqa: BLE001 - a webhook must never take the sandbox down
                log.exception("webhook delivery failed")

    def _deliver(self, events: list[dict]):
        body, info = self.body(events)
        status, attempt = None, 0
        for attempt in range(1, self.retries + 1):
            try:
                status = post(self.url, body, self.headers(body))
                if 200 <= status < 300:
                    break
            except Exception as exc:  # noqa: BLE001
                status = f"error: {exc.__class__.__name__}"
            if self.stopped.wait(self.backoff * attempt):
                break
        self.deliveries.append({"events": len(events), **info, "status": status, "attempts": attempt})
        del self.deliveries[:-100]
