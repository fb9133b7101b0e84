"""Tokens are encrypted at rest with Fernet. The key comes from FACTORY_TOKEN_KEY, or is
generated once into the instance folder (the demo). Losing the key means reconnecting."""
from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _key() -> bytes:
    configured = current_app.config.get("FACTORY_TOKEN_KEY")
    if configured:
        return configured.encode() if isinstance(configured, str) else configured
    path = Path(current_app.instance_path) / "token_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
    return path.read_bytes().strip()


def encrypt(value: str | None) -> str | None:
    if value is None:
        return None
    return Fernet(_key()).encrypt(value.encode()).decode()


def decrypt(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return Fernet(_key()).decrypt(value.encode()).decode()
    except InvalidToken:
        return None  # a changed key: treated like a lost token (reconnect)
