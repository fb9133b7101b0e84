"""Accounting-package integration: the provider interface (base.py), one adapter per
package (xero.py), and the registry the rest of the app uses."""
from __future__ import annotations

from flask import current_app

from .base import AccountingProvider
from .xero import XeroProvider

REGISTRY: dict[str, type[AccountingProvider]] = {XeroProvider.key: XeroProvider}


def provider(key: str, config: dict | None = None) -> AccountingProvider:
    return REGISTRY[key](config if config is not None else current_app.config)


def providers(config: dict | None = None) -> list[AccountingProvider]:
    return [cls(config if config is not None else current_app.config) for cls in REGISTRY.values()]
