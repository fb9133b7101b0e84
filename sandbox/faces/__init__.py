"""The faces of the sandbox: one package each, over the same books. A face is a module
`sandbox.faces.<key>` with KEY, DISPLAY_NAME, PREFIX, build(sandbox) -> Flask app and
what the core's middleware asks of it (see sandbox/core/middleware.py)."""
from __future__ import annotations

import importlib

FACES = ("xero", "quickbooks")  # every face the sandbox can serve, in the order it mounts them


def load(key: str):
    if key not in FACES:
        raise ValueError(f"the sandbox has no face {key!r} (it has {', '.join(FACES)})")
    return importlib.import_module(f"{__name__}.{key}")
