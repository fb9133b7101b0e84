"""Accounting-package integration: the provider interface (base.py), one folder per
package under providers/ (providers/xero/ now), and the registry the rest of the app
uses: the one place outside a package's folder that names it."""
from __future__ import annotations

from flask import current_app

from .base import AccountingProvider
from .providers.xero import XeroProvider

REGISTRY: dict[str, type[AccountingProvider]] = {XeroProvider.key: XeroProvider}


def provider(key: str, config: dict | None = None) -> AccountingProvider:
    return REGISTRY[key](config if config is not None else current_app.config)


def all_providers(config: dict | None = None) -> list[AccountingProvider]:
    return [cls(config if config is not None else current_app.config) for cls in REGISTRY.values()]
