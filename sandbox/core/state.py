"""Everything one sandbox holds besides Flask, shared by every face and the bookkeeper's
page: the store (one set of books and the identity state), the clock, the rate limiter,
the faults and misbehaviour queued by tests or by the bookkeeper, the request log, and
the webhook events of the request in progress (sent after its transaction commits, by
the sender of each face that has one)."""
from __future__ import annotations

import random
import threading
from collections import deque

from .limits import RateLimiter
from .store import Store
from .util import Clock


class Rollback(Exception):
    """Raised inside a transaction to undo it and answer `response` instead."""

    def __init__(self, response):
        self.response = response


class Sandbox:
    def __init__(self, data_path, client_id, client_secret, webhook_url, webhook_key, test_controls,
                 validate_spec, limits, redirect_uris, faces=(), seeder=None):
        self.clock = Clock()
        self.store = Store(data_path, self.clock, seeder)
        self.client_id, self.client_secret = client_id, client_secret
        self.redirect_uris = list(redirect_uris or [])
        self.test_controls = test_controls
        self.validate_spec = validate_spec
        self.limiter = RateLimiter(self.clock, limits)
        self.faults: list[dict] = []
        self.faults_lock = threading.Lock()
        # a misbehaviour started on the bookkeeper's page, for a while: {"kind", "until" (clock
        # time), "rate" (the share of requests it takes), "seconds" (slow)}; None when it behaves
        self.spell: dict | None = None
        self.requests: deque = deque(maxlen=500)
        self.spec_violations: list[str] = []
        self.spec_exempted: list[str] = []  # what the records stored raw broke (not counted as violations)
        self.webhook_url, self.webhook_key = webhook_url, webhook_key
        self.faces = list(faces)  # the face modules mounted (sandbox.faces.<key>)
        self.face_names = [face.DISPLAY_NAME for face in self.faces]
        # each face with webhooks sends its own (signed its way), when a receiver is configured;
        # "{face}" in the receiver's URL is the face's key (Factory listens at /webhooks/<package>);
        # a URL without it is one receiver's: the first face's with webhooks only
        sending = [face for face in self.faces if getattr(face, "webhook_sender", None)] \
            if webhook_url and webhook_key else []
        if webhook_url and "{face}" not in webhook_url:
            sending = sending[:1]
        self.senders = [face.webhook_sender(webhook_url.replace("{face}", face.KEY), webhook_key, self.clock,
                                            self.store) for face in sending]
        self.webhooks = self.senders[0] if self.senders else None
        self.local = threading.local()
        self.store.on_event = self._on_event
        if validate_spec:  # load the big specs now, not on the first request
            for face in self.faces:
                face.load_specs()

    # events are held per request and sent after the transaction commits
    def _on_event(self, tenant, category, kind, resource_id):
        pending = getattr(self.local, "pending", None)
        if pending is not None:
            pending.append((tenant, category, kind, resource_id))

    def begin_events(self):
        self.local.pending = []

    def drop_events(self):
        self.local.pending = []

    def flush_events(self, root_url: str):
        """Send what the request's committed transaction changed; `root_url` is the sandbox's
        own (each face's sender adds its prefix)."""
        pending, self.local.pending = getattr(self.local, "pending", None) or [], None
        for sender in self.senders:
            for tenant, category, kind, resource_id in pending:
                sender.event(root_url, tenant, category, kind, resource_id)

    def take_fault(self, path: str) -> dict | None:
        """The fault (queued by a test) or misbehaviour (started by the bookkeeper) this
        request to a face meets, if any. `path` is the face's own path."""
        spell = self.spell
        if spell is not None:
            if self.clock.now() >= spell["until"]:
                self.spell = None
            elif random.random() < spell["rate"]:
                return {"kind": spell["kind"], "count": 1, "path": "/", "retry_after": 30,
                        "seconds": spell.get("seconds", 5), "problem": "minute"}
        with self.faults_lock:
            for fault in self.faults:
                if path.startswith(fault.get("path") or "/"):
                    fault["count"] -= 1
                    if fault["count"] <= 0:
                        self.faults.remove(fault)
                    return dict(fault)
        return None

    def close(self):
        for sender in self.senders:
            sender.stop()
        self.store.close()
